package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/registry"
	"carvision/engine/store"
)

// Safety: a failing stage records a failed run with its error, leaves
// carvision.lock and the last good artifacts byte-identical and registers
// nothing. The cases run one after the other on one project; after each the
// cause is undone and a repro must find everything up to date, which shows
// the failed run left no trace in the lock either.
func TestFailingStageKeepsTheLastGoodState(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	good := smallSettings(root)
	reg := newFakeRegistrar()
	repro(t, pipeline.Options{Settings: good, Registrar: reg})
	rawPath := filepath.Join(root, rawRel)
	rawGood := readFile(t, rawPath)
	processed := filepath.Join(root, "data", "processed")

	// saveDir/restoreDir move the processed folder aside and back.
	aside := filepath.Join(t.TempDir(), "processed")
	cases := []struct {
		name     string
		break_   func(t *testing.T, s *pipeline.Settings)
		undo     func(t *testing.T)
		stage    string   // the stage that must fail
		errHas   []string // what the error must say
		skipSnap func(string) bool
	}{
		{
			name: "schema error: a renamed column",
			break_: func(t *testing.T, _ *pipeline.Settings) {
				if err := os.WriteFile(rawPath, bytes.Replace(rawGood, []byte(",odometer,"), []byte(",mileage,"), 1), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			undo:     func(*testing.T) { os.WriteFile(rawPath, rawGood, 0o644) },
			stage:    "validate",
			errHas:   []string{"missing required column", "odometer"},
			skipSnap: func(p string) bool { return p == rawRel },
		},
		{
			name:   "every row filtered",
			break_: func(t *testing.T, s *pipeline.Settings) { s.Filters.MinYear = 2100 },
			stage:  "clean",
			errHas: []string{"min_year"},
		},
		{
			name: "write error: the models folder is a file",
			break_: func(t *testing.T, s *pipeline.Settings) {
				s.GBDT.LearningRate = 0.2 // so that train, evaluate and register run
				s.ModelsDir = "artifacts/not-a-folder"
				if err := os.WriteFile(filepath.Join(root, s.ModelsDir), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			undo:   func(*testing.T) { os.Remove(filepath.Join(root, "artifacts/not-a-folder")) },
			stage:  "register",
			errHas: []string{"not-a-folder"},
			skipSnap: func(p string) bool {
				return p == "artifacts/not-a-folder"
			},
		},
		{
			// Every stage succeeds in its staging folder; moving the outputs
			// into place fails half-way (validate.json is moved first).
			name: "write error: the processed folder is a file",
			break_: func(t *testing.T, _ *pipeline.Settings) {
				writeRaw(t, root, 1500, 2)
				if err := os.Rename(processed, aside); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(processed, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			undo: func(t *testing.T) {
				os.WriteFile(rawPath, rawGood, 0o644)
				os.Remove(processed)
				if err := os.Rename(aside, processed); err != nil {
					t.Fatal(err)
				}
			},
			stage:  "commit",
			errHas: []string{"data/processed"},
			skipSnap: func(p string) bool {
				return p == rawRel || strings.HasPrefix(p, "data/processed")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			lockBefore := readFile(t, s.Abs(s.LockPath))
			snap := snapshot(t, root)
			_, _, regBefore := reg.counts()
			tc.break_(t, &s)
			undone := tc.undo == nil
			defer func() {
				if !undone {
					tc.undo(t)
				}
			}()
			res, err := pipeline.Repro(context.Background(), pipeline.Options{Settings: s, Registrar: reg})
			if err == nil {
				t.Fatalf("repro succeeded: %+v", res.Stages)
			}
			for _, want := range append([]string{"stage " + tc.stage}, tc.errHas...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if last := res.Stages[len(res.Stages)-1]; last.Name != tc.stage || last.Status != "failed" {
				t.Errorf("last stage %+v, want %s failed", last, tc.stage)
			}
			rec := reg.last()
			if rec.Status != "failed" || !strings.HasPrefix(rec.Err, tc.stage+": ") {
				t.Errorf("run record: status %q error %q", rec.Status, rec.Err)
			}
			if _, _, n := reg.counts(); n != regBefore {
				t.Errorf("a failed run registered %d model(s)", n-regBefore)
			}
			if !bytes.Equal(readFile(t, s.Abs(s.LockPath)), lockBefore) {
				t.Error("a failed run changed carvision.lock")
			}
			sameSnapshot(t, snap, snapshot(t, root), tc.skipSnap)
			if !undone {
				undone = true
				tc.undo(t)
			}
			after := repro(t, pipeline.Options{Settings: good, Registrar: reg})
			if after.Ran() {
				t.Errorf("after undoing the cause, stages re-ran: %+v", after.Stages)
			}
			sameSnapshot(t, snap, snapshot(t, root), nil)
		})
	}
}

// Safety: two repros never interleave. The first holds the pipeline lock
// (its first progress event blocks until released); a second with Wait
// false is refused with ErrBusy, one with Wait true waits and then finds the
// first one's work done.
func TestConcurrentReprosNeverInterleave(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	reg := newFakeRegistrar()

	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	type outcome struct {
		res *pipeline.Result
		err error
	}
	first := make(chan outcome, 1)
	go func() {
		res, err := pipeline.Repro(context.Background(), pipeline.Options{Settings: s, Registrar: reg, OnEvent: func(engine.PipelineEvent) {
			once.Do(func() { close(started); <-release })
		}})
		first <- outcome{res, err}
	}()
	<-started

	for _, dry := range []bool{false, true} {
		_, err := pipeline.Repro(context.Background(), pipeline.Options{Settings: s, Registrar: reg, DryRun: dry})
		if !errors.Is(err, pipeline.ErrBusy) || !strings.Contains(err.Error(), "another repro is running") {
			t.Fatalf("second repro (dry run %v) while the first runs: %v, want ErrBusy", dry, err)
		}
	}
	if n, _, _ := reg.counts(); n != 1 {
		t.Fatalf("a refused repro started a run (%d runs)", n)
	}

	waiter := make(chan outcome, 1)
	go func() {
		res, err := pipeline.Repro(context.Background(), pipeline.Options{Settings: s, Registrar: reg, Wait: true})
		waiter <- outcome{res, err}
	}()
	select {
	case o := <-waiter:
		t.Fatalf("a waiting repro finished while the first held the lock: %+v %v", o.res, o.err)
	default:
	}
	close(release)
	a := <-first
	if a.err != nil || !a.res.Ran() || a.res.Version != "1" {
		t.Fatalf("first repro: %+v %v", a.res, a.err)
	}
	b := <-waiter
	if b.err != nil {
		t.Fatalf("waiting repro: %v", b.err)
	}
	if b.res.Ran() {
		t.Fatalf("the waiting repro re-ran stages the first had just run: %+v", b.res.Stages)
	}
	if _, finished, registered := reg.counts(); finished != 2 || registered != 1 {
		t.Fatalf("%d runs finished, %d models registered; want 2 and 1", finished, registered)
	}
}

// The child side of TestSIGKILLMidTraining: a repro with a forest far too
// big to finish, against the parent's project and store. It prints
// "TRAINING" once the train stage reports progress and then waits to be
// killed.
const childEnv = "CARVISION_CHILD"

func runChild(t *testing.T) {
	root := os.Getenv("CARVISION_CHILD_ROOT")
	st, err := store.Open(filepath.Join(root, "artifacts", "carvision.db"))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	s := killedSettings(root)
	s.GBDT.Trees, s.GBDT.EarlyStoppingRounds = 100000, 0
	var once sync.Once
	_, err = pipeline.Repro(context.Background(), pipeline.Options{Settings: s, Registrar: &registry.Registry{Store: st}, Who: "child",
		OnEvent: func(e engine.PipelineEvent) {
			if e.Stage == "train" && strings.HasPrefix(e.Message, "tree ") {
				once.Do(func() { fmt.Println("TRAINING"); os.Stdout.Sync() })
			}
		}})
	fmt.Println("ERROR repro ended:", err)
	os.Exit(3)
}

// killedSettings change a filter and the learning rate, so that the killed
// run has staged clean and split outputs when it dies in train.
func killedSettings(root string) pipeline.Settings {
	s := smallSettings(root)
	s.Filters.MinYear = 2003
	s.GBDT.LearningRate = 0.15
	return s
}

// Safety: a repro killed with SIGKILL in the middle of training registers
// nothing, leaves the lock and the last good artifacts untouched and the
// store consistent (its run is marked killed at the next open), and the
// next repro succeeds.
func TestSIGKILLMidTraining(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		runChild(t)
		return
	}
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	dbPath := filepath.Join(root, "artifacts", "carvision.db")
	st, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	first := repro(t, pipeline.Options{Settings: s, Registrar: &registry.Registry{Store: st}, Who: "parent"})
	if first.Version != "1" {
		t.Fatalf("first repro registered %q", first.Version)
	}
	st.Close()
	lockBefore := readFile(t, s.Abs(s.LockPath))
	snap := snapshot(t, root)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIGKILLMidTraining$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CARVISION_CHILD_ROOT="+root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	training := false
	for sc.Scan() {
		if sc.Text() == "TRAINING" {
			training = true
			break
		}
		t.Logf("child: %s", sc.Text())
	}
	if !training {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child never reached training; stderr:\n%s", stderr.String())
	}
	childPID := cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child exit: %v", err)
	}
	if ents, _ := filepath.Glob(filepath.Join(root, "artifacts", fmt.Sprintf(".staging-%d", childPID))); len(ents) != 1 {
		t.Fatalf("the child's staging folder is missing: it was not killed mid-run")
	}

	// Nothing of the killed run is in place.
	if !bytes.Equal(readFile(t, s.Abs(s.LockPath)), lockBefore) {
		t.Fatal("the killed run changed carvision.lock")
	}
	sameSnapshot(t, snap, snapshot(t, root), nil)

	// The store opens, holds one version, and the killed run is found.
	st, err = store.Open(dbPath)
	if err != nil {
		t.Fatalf("the store does not open after the kill: %v", err)
	}
	defer st.Close()
	bg := context.Background()
	vs, err := st.ModelVersions(bg)
	if err != nil || len(vs) != 1 {
		t.Fatalf("model versions after the kill: %d (%v), want 1", len(vs), err)
	}
	runs, err := st.ListRuns(bg, 10)
	if err != nil || len(runs) != 2 || runs[0].Status != store.RunRunning || runs[0].PID != childPID {
		t.Fatalf("runs after the kill: %+v (%v)", runs, err)
	}
	n, err := st.MarkStaleRuns(bg)
	if err != nil || n != 1 {
		t.Fatalf("MarkStaleRuns = %d, %v; want 1", n, err)
	}
	killed, err := st.GetRun(bg, runs[0].ID)
	if err != nil || killed.Status != store.RunKilled {
		t.Fatalf("killed run: %+v %v", killed, err)
	}

	// The next repro (the same change, a forest that finishes) succeeds.
	s = killedSettings(root)
	next := repro(t, pipeline.Options{Settings: s, Registrar: &registry.Registry{Store: st}, Who: "parent"})
	if next.Version != "2" || statuses(next)["clean"] != "ran" || statuses(next)["validate"] != "skipped" {
		t.Fatalf("next repro: version %q stages %+v", next.Version, next.Stages)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "artifacts", ".staging-*")); len(left) != 0 {
		t.Fatalf("staging debris left after the next repro: %v", left)
	}
	checkLock(t, s, stageOrder)
}

// Safety: a corrupted store file is detected at open with a clear error,
// and the model files stay loadable without it.
func TestCorruptStoreLeavesModelsUsable(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	dbPath := filepath.Join(root, "artifacts", "carvision.db")
	st, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	res := repro(t, pipeline.Options{Settings: s, Registrar: &registry.Registry{Store: st}})
	vs, err := st.ModelVersions(context.Background())
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions %v %v", vs, err)
	}
	st.Close()

	r := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 64<<10)
	for i := range junk {
		junk[i] = byte(r.UintN(256))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + suffix)
	}
	if err := os.WriteFile(dbPath, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(dbPath)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("opening random bytes: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{dbPath, "model files are untouched"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A repro needing the store cannot start, and says why.
	if _, err := store.Open(dbPath); err == nil {
		t.Fatal("second open of a corrupted store succeeded")
	}
	for _, p := range []string{res.ModelPath, vs[0].Path} {
		m, err := model.Load(p)
		if err != nil {
			t.Fatalf("model %s unusable after the store broke: %v", p, err)
		}
		if vs[0].SHA256 != m.SHA256 && p == vs[0].Path {
			t.Fatalf("registered file %s hashes to %s, the store said %s", p, m.SHA256, vs[0].SHA256)
		}
		pred, err := m.Predict(engine.Listing{ModelYear: 2014, Model: "ford f-150", Odometer: 90000, Cylinders: 8}, engine.PredictOptions{})
		if err != nil || pred.Price <= 0 {
			t.Fatalf("predict with %s: %v %v", p, pred.Price, err)
		}
	}
}

// A registered model file is the one the store's sha256 describes, for
// every version: a later retrain that reproduces the same trees (with new
// metadata: fit time, config hash) must not overwrite an earlier version's file.
func TestRegisteredFilesMatchTheStore(t *testing.T) {
	root := t.TempDir()
	writeRaw(t, root, 1500, 1)
	s := smallSettings(root)
	st, err := store.Open(filepath.Join(root, "artifacts", "carvision.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := &registry.Registry{Store: st}
	repro(t, pipeline.Options{Settings: s, Registrar: reg, ConfigHash: "a"})
	repro(t, pipeline.Options{Settings: s, Registrar: reg, ConfigHash: "b", Force: true})
	vs, err := st.ModelVersions(context.Background())
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions %+v %v", vs, err)
	}
	for _, v := range vs {
		h, err := pipeline.HashFile(v.Path)
		if err != nil || h.SHA256 != v.SHA256 {
			t.Errorf("v%s: file %s hashes to %s (%v), the store says %s", v.Version, v.Path, h.SHA256, err, v.SHA256)
		}
		m, err := model.Load(v.Path)
		if err != nil {
			t.Fatalf("v%s: %v", v.Version, err)
		}
		if want := map[string]string{"1": "a", "2": "b"}[v.Version]; m.ConfigHash != want {
			t.Errorf("v%s's file holds config hash %q, want %q", v.Version, m.ConfigHash, want)
		}
	}
}
