package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/synth"
)

// rawRel is where the tests put the raw CSV (the settings' default).
const rawRel = "data/raw/vehicles_us.csv"

// smallSettings is DefaultSettings tuned so a full repro takes a second or
// two under -race: 1,500 rows, 60 trees, a short bootstrap, no backtest.
func smallSettings(root string) pipeline.Settings {
	s := pipeline.DefaultSettings(root)
	s.SynthRows, s.SynthSeed = 1500, 3
	s.GBDT.Trees, s.GBDT.EarlyStoppingRounds = 60, 10
	s.Bootstrap = 50
	s.TemporalFrac = 0
	return s
}

// writeRaw writes a synthetic raw CSV into the project.
func writeRaw(t testing.TB, root string, rows int, seed int64) {
	t.Helper()
	p := filepath.Join(root, rawRel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := synth.Generate(rows, seed).WriteCSVFile(p, false); err != nil {
		t.Fatal(err)
	}
}

// fakeRegistrar records what the pipeline tells the store.
type fakeRegistrar struct {
	mu         sync.Mutex
	started    []string
	finished   map[string]pipeline.RunRecord
	registered []string // sha256 of each registered model, in order
	versions   map[string]string
}

func newFakeRegistrar() *fakeRegistrar {
	return &fakeRegistrar{finished: map[string]pipeline.RunRecord{}, versions: map[string]string{}}
}

func (f *fakeRegistrar) StartRun(ctx context.Context, who, dataHash, configHash string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("run-%d", len(f.started)+1)
	f.started = append(f.started, id)
	return id, nil
}

func (f *fakeRegistrar) FinishRun(ctx context.Context, runID string, r pipeline.RunRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.finished[runID]; dup {
		return fmt.Errorf("run %s finished twice", runID)
	}
	f.finished[runID] = r
	return nil
}

func (f *fakeRegistrar) Register(ctx context.Context, runID string, m *model.Model, metrics map[string]float64, params map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.SHA256 == "" || m.Path == "" {
		return "", fmt.Errorf("register: model without path or sha256")
	}
	f.registered = append(f.registered, m.SHA256)
	v := fmt.Sprint(len(f.registered))
	f.versions[m.SHA256] = v
	return v, nil
}

func (f *fakeRegistrar) HasModel(ctx context.Context, sha string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.versions[sha]
	return v, ok, nil
}

func (f *fakeRegistrar) counts() (started, finished, registered int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started), len(f.finished), len(f.registered)
}

func (f *fakeRegistrar) last() pipeline.RunRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.finished[f.started[len(f.started)-1]]
}

// repro runs the pipeline and fails the test on error.
func repro(t testing.TB, opt pipeline.Options) *pipeline.Result {
	t.Helper()
	res, err := pipeline.Repro(context.Background(), opt)
	if err != nil {
		t.Fatalf("repro: %v", err)
	}
	return res
}

// statuses maps stage → status of a result.
func statuses(res *pipeline.Result) map[string]string {
	out := map[string]string{}
	for _, s := range res.Stages {
		out[s.Name] = s.Status
	}
	return out
}

func why(res *pipeline.Result, stage string) string {
	for _, s := range res.Stages {
		if s.Name == stage {
			return s.Why
		}
	}
	return ""
}

// snapshot hashes every file a run may touch, keyed by path relative to
// root. The repro lock file (never written), staging debris of a killed run
// and the store (its own tests cover it) are left out.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && strings.HasPrefix(name, ".staging-") {
			return filepath.SkipDir
		}
		if d.IsDir() || name == ".repro.lock" || strings.HasPrefix(name, "carvision.db") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameSnapshot fails the test with the files that differ.
func sameSnapshot(t testing.TB, before, after map[string]string, skip func(string) bool) {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if skip != nil && skip(k) {
			continue
		}
		if w, ok := after[k]; !ok {
			diffs = append(diffs, "removed "+k)
		} else if w != v {
			diffs = append(diffs, "changed "+k)
		}
	}
	for k := range after {
		if skip != nil && skip(k) {
			continue
		}
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("files changed by a run that should have changed nothing:\n  %s", strings.Join(diffs, "\n  "))
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
