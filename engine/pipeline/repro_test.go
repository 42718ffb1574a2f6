package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/pipeline"
)

var stageOrder = []string{"validate", "clean", "split", "train", "evaluate", "register"}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// inode identifies the file at p: a rename over it gives a new one.
func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// checkLock verifies carvision.lock's structure against the files on disk.
func checkLock(t *testing.T, s pipeline.Settings, stages []string) *pipeline.Lock {
	t.Helper()
	lockPath := s.Abs(s.LockPath)
	raw := readFile(t, lockPath)
	lock, err := pipeline.ReadLock(lockPath)
	if err != nil {
		t.Fatalf("read lock: %v", err)
	}
	if lock.Schema != pipeline.LockSchema {
		t.Fatalf("lock schema %d", lock.Schema)
	}
	var names []string
	for _, sl := range lock.Stages {
		names = append(names, sl.Name)
		if sl.Code < 1 || len(sl.Key) != 16 {
			t.Errorf("stage %s: code %d key %q", sl.Name, sl.Code, sl.Key)
		}
		if len(sl.Deps) == 0 {
			t.Errorf("stage %s records no inputs", sl.Name)
		}
		for _, d := range append(slices.Clone(sl.Deps), sl.Outs...) {
			if filepath.IsAbs(d.Path) || !hex64.MatchString(d.SHA256) || d.Bytes <= 0 {
				t.Errorf("stage %s: file entry %+v (want a relative path, sha256 and size)", sl.Name, d)
			}
		}
		for _, o := range sl.Outs {
			h, err := pipeline.HashFile(s.Abs(o.Path))
			if err != nil || h.SHA256 != o.SHA256 || h.Bytes != o.Bytes {
				t.Errorf("stage %s: out %s on disk is %+v (%v), lock says %+v", sl.Name, o.Path, h, err, o)
			}
		}
	}
	if !slices.Equal(names, stages) {
		t.Fatalf("lock stages %v, want %v in that order", names, stages)
	}
	pd, ad := filepath.ToSlash(s.ProcessedDir)+"/", filepath.ToSlash(s.ArtifactsDir)+"/"
	wantOuts := map[string][]string{
		"validate": {ad + "validate.json"},
		"clean":    {pd + "clean.csv", ad + "clean_report.json"},
		"split":    {pd + "train.csv", pd + "valid.csv", pd + "test.csv"},
		"train":    {ad + "model.cvm"},
		"evaluate": {ad + "metrics.json"},
		"register": nil,
	}
	wantParams := map[string]string{
		"validate": "paths.data_path", "clean": "preprocessing.filters", "split": "training.val_size",
		"train": "training.params", "evaluate": "evaluation.bootstrap",
	}
	for _, sl := range lock.Stages {
		var outs []string
		for _, o := range sl.Outs {
			outs = append(outs, o.Path)
		}
		if !slices.Equal(outs, wantOuts[sl.Name]) {
			t.Errorf("stage %s outs %v, want %v", sl.Name, outs, wantOuts[sl.Name])
		}
		if p := wantParams[sl.Name]; p != "" {
			if _, ok := sl.Params[p]; !ok {
				t.Errorf("stage %s params %v lack %s", sl.Name, sl.Params, p)
			}
		}
	}
	// Stable and diff-friendly: writing what was read gives the same bytes.
	again := filepath.Join(t.TempDir(), "again.lock")
	if err := pipeline.WriteLock(again, lock); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, again), raw) {
		t.Fatalf("the lock does not re-encode to the same bytes:\n%s", raw)
	}
	if !bytes.HasPrefix(raw, []byte("# carvision.lock")) || !bytes.Contains(raw, []byte("\nschema: 1\nstages:\n")) {
		t.Fatalf("lock layout:\n%s", raw)
	}
	return lock
}

func TestReproRunsEveryStageOnceThenNothing(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	reg := newFakeRegistrar()
	var events []engine.PipelineEvent
	res := repro(t, pipeline.Options{Settings: s, Registrar: reg, Who: "tester", OnEvent: func(e engine.PipelineEvent) { events = append(events, e) }})

	var names []string
	for _, st := range res.Stages {
		names = append(names, st.Name)
		if st.Status != "ran" || st.Why != "never ran" {
			t.Errorf("first run: stage %s %s (%s)", st.Name, st.Status, st.Why)
		}
	}
	if !slices.Equal(names, stageOrder) {
		t.Fatalf("stages %v, want %v", names, stageOrder)
	}
	if res.Version != "1" || res.RunID != "run-1" || res.Metrics["test.rmse"] <= 0 {
		t.Fatalf("result: version %q run %q metrics %v", res.Version, res.RunID, res.Metrics)
	}
	if res.ModelPath != filepath.Join(root, "artifacts", "model.cvm") {
		t.Fatalf("model path %s", res.ModelPath)
	}
	checkLock(t, s, stageOrder)

	// The run is recorded with the lock's hash, its metrics and artifacts.
	rec := reg.last()
	lockHash, _ := pipeline.HashFile(s.Abs(s.LockPath))
	if rec.Status != "succeeded" || rec.LockHash != lockHash.SHA256 || rec.Metrics["test.r2"] == 0 || len(rec.Artifacts) != 8 {
		t.Fatalf("run record %+v", rec)
	}
	if rec.Params["training.params"] == "" || rec.Params["preprocessing.filters"] == "" {
		t.Fatalf("run params %v", rec.Params)
	}
	// Events: every stage reports, train reports progress, the last is Done.
	last := events[len(events)-1]
	if !last.Done || last.Version != "1" || last.RunID != "run-1" {
		t.Fatalf("last event %+v", last)
	}
	progress := 0
	prevFrac := 0.0
	for _, e := range events {
		if e.Stage == "train" && strings.HasPrefix(e.Message, "tree ") {
			progress++
		}
		if e.Fraction < prevFrac-1e-9 || e.Fraction > 1 {
			t.Fatalf("overall fraction went %v → %v at %+v", prevFrac, e.Fraction, e)
		}
		prevFrac = e.Fraction
	}
	if progress == 0 {
		t.Fatal("train reported no progress")
	}

	// Nothing changed: nothing runs and the lock is not rewritten.
	lockPath := s.Abs(s.LockPath)
	before, ino := readFile(t, lockPath), inode(t, lockPath)
	snap := snapshot(t, root)
	res2 := repro(t, pipeline.Options{Settings: s, Registrar: reg})
	for _, st := range res2.Stages {
		if st.Status != "skipped" {
			t.Errorf("second run: stage %s %s (%s)", st.Name, st.Status, st.Why)
		}
	}
	if res2.Ran() || res2.Version != "" {
		t.Fatalf("second run ran something: %+v", res2)
	}
	if !bytes.Equal(readFile(t, lockPath), before) || inode(t, lockPath) != ino {
		t.Fatal("carvision.lock was rewritten by a run that changed nothing")
	}
	sameSnapshot(t, snap, snapshot(t, root), nil)
	if _, _, n := reg.counts(); n != 1 {
		t.Fatalf("%d models registered, want 1", n)
	}

	// A dry run agrees.
	dry := repro(t, pipeline.Options{Settings: s, Registrar: reg, DryRun: true})
	for _, st := range dry.Stages {
		if st.Status != "up-to-date" {
			t.Errorf("dry run: stage %s %s (%s)", st.Name, st.Status, st.Why)
		}
	}
	if started, _, _ := reg.counts(); started != 2 {
		t.Fatalf("a dry run started a run (%d runs)", started)
	}
}

func TestReproReRunsOnlyWhatChanged(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	reg := newFakeRegistrar()
	repro(t, pipeline.Options{Settings: s, Registrar: reg})

	type step struct {
		name   string
		change func(s *pipeline.Settings)
		force  bool
		ran    []string // stages that must run; the others must be skipped
		dryWhy map[string]string
	}
	steps := []step{
		{name: "only the raw file's mtime", change: func(*pipeline.Settings) {
			p := filepath.Join(root, rawRel)
			future := time.Now().Add(time.Hour)
			if err := os.Chtimes(p, future, future); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "filters", change: func(s *pipeline.Settings) { s.Filters.MinYear = 2003 },
			ran:    []string{"clean", "split", "train", "evaluate", "register"},
			dryWhy: map[string]string{"validate": "", "clean": "changed params: preprocessing.filters", "split": "upstream stage clean will run", "train": "upstream stage split will run"}},
		{name: "gbdt params", change: func(s *pipeline.Settings) { s.GBDT.LearningRate = 0.15 },
			ran:    []string{"train", "evaluate", "register"},
			dryWhy: map[string]string{"validate": "", "clean": "", "split": "", "train": "changed params: training.params"}},
		{name: "evaluation params", change: func(s *pipeline.Settings) { s.Bootstrap = 60 },
			ran:    []string{"evaluate", "register"},
			dryWhy: map[string]string{"train": "", "evaluate": "changed params: evaluation.bootstrap"}},
		{name: "raw content", change: func(*pipeline.Settings) { writeRaw(t, root, 1500, 2) },
			ran:    stageOrder,
			dryWhy: map[string]string{"validate": "changed deps: " + rawRel}},
		{name: "deleted metrics.json", change: func(*pipeline.Settings) { os.Remove(filepath.Join(root, "artifacts/metrics.json")) },
			ran:    []string{"evaluate"},
			dryWhy: map[string]string{"train": "", "evaluate": "missing output artifacts/metrics.json"}},
		{name: "deleted train.csv", change: func(*pipeline.Settings) { os.Remove(filepath.Join(root, "data/processed/train.csv")) },
			ran:    []string{"split"},
			dryWhy: map[string]string{"clean": "", "split": "missing output data/processed/train.csv"}},
		{name: "edited clean report", change: func(*pipeline.Settings) {
			os.WriteFile(filepath.Join(root, "artifacts/clean_report.json"), []byte("{}\n"), 0o644)
		},
			ran:    []string{"clean"},
			dryWhy: map[string]string{"clean": "modified output artifacts/clean_report.json"}},
		{name: "processed folder moved", change: func(s *pipeline.Settings) { s.ProcessedDir = "data/processed2" },
			ran: []string{"clean", "split", "train", "evaluate", "register"},
			dryWhy: map[string]string{"validate": "", "clean": "changed outs: data/processed2/clean.csv, artifacts/clean_report.json",
				"split": "upstream stage clean will run", "train": "upstream stage split will run"}},
		{name: "force", force: true, ran: stageOrder},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change(&s)
			}
			if st.dryWhy != nil {
				dry := repro(t, pipeline.Options{Settings: s, Registrar: reg, DryRun: true})
				for stage, want := range st.dryWhy {
					if got := why(dry, stage); got != want {
						t.Errorf("dry run: %s why %q, want %q", stage, got, want)
					}
				}
			}
			_, _, regBefore := reg.counts()
			res := repro(t, pipeline.Options{Settings: s, Registrar: reg, Force: st.force})
			got := statuses(res)
			for _, name := range stageOrder {
				want := "skipped"
				if slices.Contains(st.ran, name) {
					want = "ran"
				}
				if got[name] != want {
					t.Errorf("stage %s %s (%s), want %s", name, got[name], why(res, name), want)
				}
			}
			if st.force && why(res, "validate") != "forced" {
				t.Errorf("forced run says %q", why(res, "validate"))
			}
			_, _, regAfter := reg.counts()
			if ranRegister := slices.Contains(st.ran, "register"); ranRegister != (regAfter == regBefore+1) {
				t.Errorf("registered %d models (register ran: %v)", regAfter-regBefore, ranRegister)
			}
			checkLock(t, s, stageOrder)
			// And then it is up to date again.
			again := repro(t, pipeline.Options{Settings: s, Registrar: reg, DryRun: true})
			for _, a := range again.Stages {
				if a.Status != "up-to-date" {
					t.Errorf("after the run: %s %s (%s)", a.Name, a.Status, a.Why)
				}
			}
		})
	}
}

func TestReproWithoutRegistrarOrLock(t *testing.T) {
	// `carvision train` runs without a store and writes no lock; with the raw
	// file absent the pipeline generates the synthetic default.
	root := t.TempDir()
	s := smallSettings(root)
	res := repro(t, pipeline.Options{Settings: s, NoLock: true, Force: true})
	if got := len(res.Stages); got != 5 || res.Version != "" || res.RunID != "" {
		t.Fatalf("stages %d, version %q, run %q", got, res.Version, res.RunID)
	}
	if _, err := os.Stat(s.Abs(s.LockPath)); !os.IsNotExist(err) {
		t.Fatalf("NoLock wrote a lock: %v", err)
	}
	synthetic := readFile(t, s.Abs(pipeline.SynthPath))
	// The synthetic default is deterministic: same rows, same bytes.
	other := t.TempDir()
	repro(t, pipeline.Options{Settings: func() pipeline.Settings { o := smallSettings(other); o.GBDT.Trees = 5; return o }(), NoLock: true})
	if !bytes.Equal(readFile(t, filepath.Join(other, pipeline.SynthPath)), synthetic) {
		t.Fatal("the synthetic default differs between two projects")
	}
	if rows := bytes.Count(synthetic, []byte("\n")); rows != s.SynthRows+1 {
		t.Fatalf("synthetic default has %d lines, want %d", rows, s.SynthRows+1)
	}
	for _, f := range []string{"data/processed/train.csv", "data/processed/valid.csv", "data/processed/test.csv"} {
		b := readFile(t, filepath.Join(root, f))
		header, _, _ := bytes.Cut(b, []byte("\n"))
		if !slices.Contains(strings.Split(string(header), ","), "row_id") {
			t.Fatalf("%s header lacks row_id: %q", f, header)
		}
	}
}

func TestReproHonoursContextCancellation(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	reg := newFakeRegistrar()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := pipeline.Repro(ctx, pipeline.Options{Settings: s, Registrar: reg, OnEvent: func(e engine.PipelineEvent) {
		if e.Stage == "split" && e.Status == "done" {
			cancel()
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled repro: %v", err)
	}
	if res == nil || res.Stages[len(res.Stages)-1].Status != "failed" {
		t.Fatalf("result %+v", res)
	}
	if rec := reg.last(); rec.Status != "failed" || !strings.Contains(rec.Err, "context canceled") {
		t.Fatalf("run record %+v", rec)
	}
	if _, err := os.Stat(s.Abs(s.LockPath)); !os.IsNotExist(err) {
		t.Fatal("a cancelled first run wrote carvision.lock")
	}
	if _, err := os.Stat(filepath.Join(root, "data/processed/clean.csv")); !os.IsNotExist(err) {
		t.Fatal("a cancelled run moved its staged outputs into place")
	}
}

func TestReadLockRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text, want string
	}{
		{"newer schema", "schema: 9\nstages: []\n", "schema 9 is newer"},
		{"unknown key", "schema: 1\nstagez: []\n", "stagez"},
		{"not yaml", "schema: [1\n", "read lock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".lock")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := pipeline.ReadLock(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("ReadLock = %v, want an error naming %s and saying %q", err, p, tc.want)
			}
		})
	}
	l, err := pipeline.ReadLock(filepath.Join(dir, "absent.lock"))
	if err != nil || len(l.Stages) != 0 || l.Schema != pipeline.LockSchema {
		t.Fatalf("a missing lock is an empty lock: %+v %v", l, err)
	}
}

func TestTrainIntoAFolderOutsideTheRoot(t *testing.T) {
	// `carvision train --out DIR` keeps the config's folder as the root and
	// points every output at DIR, which may be anywhere.
	root, elsewhere := t.TempDir(), t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	out := filepath.Join(elsewhere, "run1")
	s.DataPath = filepath.Join(root, rawRel)
	s.ArtifactsDir, s.ProcessedDir, s.ModelsDir = out, filepath.Join(out, "processed"), filepath.Join(out, "models")
	repro(t, pipeline.Options{Settings: s, Force: true, NoLock: true})

	var got []string
	filepath.WalkDir(elsewhere, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(elsewhere, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	want := []string{".", "run1", "run1/.repro.lock", "run1/clean_report.json", "run1/metrics.json", "run1/model.cvm",
		"run1/processed", "run1/processed/clean.csv", "run1/processed/test.csv", "run1/processed/train.csv",
		"run1/processed/valid.csv", "run1/validate.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("the output folder holds\n  %v\nwant\n  %v", got, want)
	}
	snap := snapshot(t, root)
	if len(snap) != 1 {
		t.Fatalf("training elsewhere wrote into the project: %v", snap)
	}
}

func TestMetricsCountRowsAtEachStage(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	s.Filters.MinYear = 2005 // drop some rows so raw and clean differ
	s.TemporalFrac = 0.2     // and run the out-of-time backtest once
	res := repro(t, pipeline.Options{Settings: s, NoLock: true})
	m := res.Metrics
	if !(m["temporal.rmse"] > 0) || !(m["bootstrap.delta_rmse_ci95_low"] <= m["bootstrap.delta_rmse_ci95_high"]) {
		t.Errorf("backtest RMSE %v, bootstrap CI [%v, %v]", m["temporal.rmse"], m["bootstrap.delta_rmse_ci95_low"], m["bootstrap.delta_rmse_ci95_high"])
	}
	raw, clean := m["rows.raw"], m["rows.clean"]
	if raw != 1500 {
		t.Errorf("rows.raw = %v, want the raw file's 1500 rows", raw)
	}
	if !(clean > 0 && clean < raw) {
		t.Errorf("rows.clean = %v with rows.raw %v: the filter removed nothing?", clean, raw)
	}
	if sum := m["rows.train"] + m["rows.valid"] + m["rows.test"]; sum != clean {
		t.Errorf("train %v + valid %v + test %v = %v, want rows.clean %v", m["rows.train"], m["rows.valid"], m["rows.test"], sum, clean)
	}
	for _, k := range []string{"test.rmse", "test.mae", "test.mape", "test.r2", "baseline.rmse", "fit_seconds", "model.trees"} {
		if v, ok := m[k]; !ok || !(v > 0) {
			t.Errorf("metric %s = %v", k, v)
		}
	}
	if m["test.rmse"] >= m["baseline.rmse"] {
		t.Errorf("the model (RMSE %v) does not beat the median baseline (%v)", m["test.rmse"], m["baseline.rmse"])
	}
}

// carvision.lock is committed like dvc.lock: a clone of the project in
// another folder finds every stage up to date.
func TestLockSurvivesMovingTheProject(t *testing.T) {
	a := t.TempDir()
	writeRaw(t, a, 1500, 1)
	repro(t, pipeline.Options{Settings: smallSettings(a), Registrar: newFakeRegistrar()})
	b := filepath.Join(t.TempDir(), "clone", "of", "project")
	err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(b, rel), 0o755)
		}
		return os.WriteFile(filepath.Join(b, rel), readFile(t, p), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := smallSettings(b)
	dry := repro(t, pipeline.Options{Settings: s, DryRun: true})
	for _, st := range dry.Stages {
		if st.Status != "up-to-date" {
			t.Errorf("in the clone: %s %s (%s)", st.Name, st.Status, st.Why)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(a, "carvision.lock")), readFile(t, filepath.Join(b, "carvision.lock"))) {
		t.Fatal("the copy changed the lock")
	}
}
