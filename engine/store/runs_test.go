package store

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRunLifecycle(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	id, err := s.StartRun(ctx, RunStart{Kind: RunRepro, Who: "alice", DataHash: "d0", ConfigHash: "c1", LockHash: "l0"})
	if err != nil {
		t.Fatal(err)
	}
	started := clk.Now()

	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != RunRunning || !r.FinishedAt.IsZero() || r.Duration != 0 || !r.StartedAt.Equal(started) {
		t.Errorf("fresh run = %+v", r)
	}

	clk.Advance(1500 * time.Millisecond)
	res := RunResult{
		Params:    map[string]string{"training.gbdt.learning_rate": "0.1", "seed": "42"},
		Metrics:   []Metric{{"rmse", 5200, 0}, {"rmse", 4100.5, 2}, {"rmse", 4300, 1}, {"r2", 0.81, 0}},
		Artifacts: []Artifact{{"models/model.cvm", sha("m"), 12345}, {"metrics.json", sha("j"), 210}},
		DataHash:  "d1",
		LockHash:  "l1",
	}
	if v, err := s.FinishRun(ctx, id, RunSucceeded, "", res); err != nil || v != "" {
		t.Fatalf("FinishRun = %q, %v", v, err)
	}

	r, err = s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := Run{ID: id, Kind: RunRepro, Status: RunSucceeded, StartedAt: started, FinishedAt: started.Add(1500 * time.Millisecond),
		Duration: 1500 * time.Millisecond, Who: "alice", DataHash: "d1", ConfigHash: "c1", LockHash: "l1", Host: s.host, PID: os.Getpid()}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("finished run\n got %+v\nwant %+v", r, want)
	}
	params, err := s.RunParams(ctx, id)
	if err != nil || !reflect.DeepEqual(params, res.Params) {
		t.Errorf("params = %v, %v", params, err)
	}
	metrics, err := s.RunMetrics(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics := []Metric{{"r2", 0.81, 0}, {"rmse", 5200, 0}, {"rmse", 4300, 1}, {"rmse", 4100.5, 2}}
	if !reflect.DeepEqual(metrics, wantMetrics) {
		t.Errorf("metrics = %v, want %v", metrics, wantMetrics)
	}
	latest, err := s.LatestMetrics(ctx, id)
	if err != nil || !reflect.DeepEqual(latest, map[string]float64{"r2": 0.81, "rmse": 4100.5}) {
		t.Errorf("latest metrics = %v, %v", latest, err)
	}
	arts, err := s.RunArtifacts(ctx, id)
	wantArts := []Artifact{res.Artifacts[1], res.Artifacts[0]} // by path
	if err != nil || !reflect.DeepEqual(arts, wantArts) {
		t.Errorf("artifacts = %v, %v", arts, err)
	}

	// Hashes given at start stay when the result leaves them empty; a failed run keeps its error.
	clk.Advance(time.Second)
	id2 := mustStart(t, s)
	if _, err := s.FinishRun(ctx, id2, RunFailed, "clean: every row filtered out", RunResult{}); err != nil {
		t.Fatal(err)
	}
	r2, _ := s.GetRun(ctx, id2)
	if r2.Status != RunFailed || r2.Error != "clean: every row filtered out" || r2.DataHash != "d1" || r2.ConfigHash != "c1" {
		t.Errorf("failed run = %+v", r2)
	}

	runs, err := s.ListRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != id2 || runs[1].ID != id {
		t.Errorf("ListRuns should be newest first: %v", runs)
	}
	if runs, _ := s.ListRuns(ctx, 1); len(runs) != 1 {
		t.Errorf("ListRuns(1) returned %d runs", len(runs))
	}
	if _, err := s.GetRun(ctx, "01NOSUCHRUN"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRun(unknown) = %v, want ErrNotFound", err)
	}
}

func TestStartRunRejectsUnknownKind(t *testing.T) {
	s, _ := openTest(t)
	_, err := s.StartRun(context.Background(), RunStart{Kind: "deploy"})
	if err == nil || !strings.Contains(err.Error(), `"deploy"`) {
		t.Errorf("StartRun(kind deploy) = %v", err)
	}
	if n := countRows(t, s, "runs", ""); n != 0 {
		t.Errorf("%d runs written", n)
	}
}

func TestFinishRunRejectsBadInput(t *testing.T) {
	good := sampleResult(3, 2)
	tests := []struct {
		name   string
		status RunStatus
		mutate func(r *RunResult)
		runID  string // "" means the test's running run
		want   string
	}{
		{"status running", RunRunning, nil, "", `status "running"`},
		{"status unknown", "done", nil, "", `status "done"`},
		{"NaN metric", RunSucceeded, func(r *RunResult) { r.Metrics[1].Value = math.NaN() }, "", "is not finite"},
		{"Inf metric", RunSucceeded, func(r *RunResult) { r.Metrics[2].Value = math.Inf(-1) }, "", "is not finite"},
		{"empty metric key", RunSucceeded, func(r *RunResult) { r.Metrics[0].Key = "" }, "", "empty key"},
		{"negative step", RunSucceeded, func(r *RunResult) { r.Metrics[0].Step = -1 }, "", "negative step"},
		{"metric twice", RunSucceeded, func(r *RunResult) { r.Metrics = append(r.Metrics, r.Metrics[0]) }, "", "given twice"},
		{"empty param key", RunSucceeded, func(r *RunResult) { r.Params[""] = "x" }, "", "empty key"},
		{"bad sha", RunSucceeded, func(r *RunResult) { r.Artifacts[0].SHA256 = "abc" }, "", `sha256 "abc"`},
		{"negative bytes", RunSucceeded, func(r *RunResult) { r.Artifacts[1].Bytes = -5 }, "", "negative size"},
		{"artifact twice", RunSucceeded, func(r *RunResult) { r.Artifacts[1].Path = r.Artifacts[0].Path }, "", "given twice"},
		{"model on failed run", RunFailed, func(r *RunResult) {
			r.Model = &NewModel{Path: "m.cvm", SHA256: sha("m")}
		}, "", "only a succeeded run"},
		{"model with bad sha", RunSucceeded, func(r *RunResult) {
			r.Model = &NewModel{Path: "m.cvm", SHA256: "nope"}
		}, "", "model: sha256"},
		{"unknown run", RunSucceeded, nil, "01UNKNOWN", "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			id := mustStart(t, s)
			res := sampleResult(3, 2)
			res.Params = map[string]string{}
			for k, v := range good.Params {
				res.Params[k] = v
			}
			if tc.mutate != nil {
				tc.mutate(&res)
			}
			target := id
			if tc.runID != "" {
				target = tc.runID
			}
			_, err := s.FinishRun(ctx, target, tc.status, "", res)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FinishRun = %v, want an error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), target) {
				t.Errorf("error %q does not name the run", err)
			}
			r, _ := s.GetRun(ctx, id)
			if r.Status != RunRunning {
				t.Errorf("run status %s after a refused finish", r.Status)
			}
			for _, table := range []string{"params", "metrics", "artifacts", "model_versions"} {
				if n := countRows(t, s, table, ""); n != 0 {
					t.Errorf("%d rows in %s after a refused finish", n, table)
				}
			}
		})
	}
}

func TestFinishRunTwiceRefused(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id := mustStart(t, s)
	if _, err := s.FinishRun(ctx, id, RunSucceeded, "", sampleResult(2, 1)); err != nil {
		t.Fatal(err)
	}
	_, err := s.FinishRun(ctx, id, RunFailed, "late", sampleResult(2, 1))
	if err == nil || !strings.Contains(err.Error(), "already succeeded") {
		t.Fatalf("second FinishRun = %v", err)
	}
	if r, _ := s.GetRun(ctx, id); r.Status != RunSucceeded || r.Error != "" {
		t.Errorf("run changed by the refused second finish: %+v", r)
	}
	if n := countRows(t, s, "metrics", ""); n != 2 {
		t.Errorf("%d metrics, want 2", n)
	}
}

// FinishRun must be all or nothing even when the failure comes after
// some rows were already inserted in the transaction.
func TestFinishRunIsAtomic(t *testing.T) {
	for _, point := range []string{"finish.metrics", "finish.commit"} {
		t.Run(point, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			id := mustStart(t, s)
			boom := errors.New("disk full (injected)")
			s.failpoint = func(p string) error {
				if p == point {
					return boom
				}
				return nil
			}
			res := sampleResult(50, 10)
			res.Model = &NewModel{Path: "models/m.cvm", SHA256: sha("m"), Alias: AliasChallenger}
			_, err := s.FinishRun(ctx, id, RunSucceeded, "", res)
			if !errors.Is(err, boom) {
				t.Fatalf("FinishRun = %v, want the injected error", err)
			}
			if r, _ := s.GetRun(ctx, id); r.Status != RunRunning || !r.FinishedAt.IsZero() {
				t.Errorf("run = %+v, want still running", r)
			}
			for _, table := range []string{"params", "metrics", "artifacts", "model_versions", "aliases", "events"} {
				if n := countRows(t, s, table, ""); n != 0 {
					t.Errorf("%d rows in %s after a failed transaction", n, table)
				}
			}

			// The run can still be finished once the fault is gone.
			s.failpoint = nil
			v, err := s.FinishRun(ctx, id, RunSucceeded, "", res)
			if err != nil || v != "1" {
				t.Fatalf("FinishRun after the fault = %q, %v", v, err)
			}
			if n := countRows(t, s, "metrics", ""); n != 50 {
				t.Errorf("%d metrics, want 50", n)
			}
		})
	}
}

// The schema itself refuses non-finite metrics, for writers that bypass
// the Go validation (a hand-written INSERT, a future code path).
func TestMetricsTableRefusesNonFinite(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id := mustStart(t, s)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := s.w.ExecContext(ctx, `INSERT INTO metrics (run_id, key, value, step) VALUES (?, 'rmse', ?, 0)`, id, v)
		if err == nil {
			t.Errorf("metrics table accepted %v", v)
		}
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO metrics (run_id, key, value, step) VALUES (?, 'rmse', ?, 0)`, id, math.MaxFloat64); err != nil {
		t.Errorf("metrics table refused MaxFloat64: %v", err)
	}
}

func TestMarkStaleRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	ctx := context.Background()
	clk := newFakeClock()
	s, err := OpenWith(path, Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const livePID, deadPID = 4242, 4343
	s.alive = func(pid int) bool { return pid == livePID }
	// Another Store in this process stands in for the other processes;
	// their host and pid are then rewritten.
	other, err := OpenWith(path, Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	tests := []struct {
		name      string
		by        *Store
		host      string // "-" keeps what StartRun wrote
		pid       int
		finish    bool
		wantAfter RunStatus
	}{
		{"started by this store", s, "-", 0, false, RunRunning},
		{"this process, another store", other, "-", 0, false, RunRunning},
		{"live process on this host", other, s.host, livePID, false, RunRunning},
		{"dead process on this host", other, s.host, deadPID, false, RunKilled},
		{"another host", other, "build-box-7", livePID, false, RunKilled},
		{"written before runs had a pid", other, "", 0, false, RunKilled},
		{"already finished", other, s.host, deadPID, true, RunSucceeded},
	}
	ids := make([]string, len(tests))
	for i, tc := range tests {
		id, err := tc.by.StartRun(ctx, RunStart{Who: tc.name})
		if err != nil {
			t.Fatal(err)
		}
		if tc.finish {
			if _, err := tc.by.FinishRun(ctx, id, RunSucceeded, "", RunResult{}); err != nil {
				t.Fatal(err)
			}
		}
		if tc.host != "-" {
			if _, err := s.w.ExecContext(ctx, `UPDATE runs SET host = ?, pid = ? WHERE id = ?`, tc.host, tc.pid, id); err != nil {
				t.Fatal(err)
			}
		}
		ids[i] = id
	}

	clk.Advance(time.Hour)
	n, err := s.MarkStaleRuns(ctx)
	if err != nil || n != 3 {
		t.Fatalf("MarkStaleRuns = %d, %v; want 3", n, err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.GetRun(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.wantAfter {
				t.Fatalf("status %s, want %s", r.Status, tc.wantAfter)
			}
			if r.Status == RunKilled && (!r.FinishedAt.Equal(clk.Now()) || !strings.Contains(r.Error, "process ended") || r.Duration != 0) {
				t.Errorf("killed run = %+v", r)
			}
		})
	}
	if n, err := s.MarkStaleRuns(ctx); err != nil || n != 0 {
		t.Errorf("second MarkStaleRuns = %d, %v; want 0", n, err)
	}
	// A killed run cannot register a model nor be finished late.
	if _, err := s.RegisterModel(ctx, NewModel{RunID: ids[3], Path: "m", SHA256: sha("m")}); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("RegisterModel on a killed run = %v", err)
	}
	if _, err := other.FinishRun(ctx, ids[3], RunSucceeded, "", RunResult{}); err == nil || !strings.Contains(err.Error(), "already killed") {
		t.Errorf("FinishRun on a killed run = %v", err)
	}
}

// A real process killed in the middle of FinishRun's transaction: the
// store stays consistent, nothing of the result is visible, and the run
// is then marked killed.
func TestKilledProcessLeavesStoreConsistent(t *testing.T) {
	if path := os.Getenv("CARVISION_STORE_KILL_CHILD"); path != "" {
		killedChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "carvision.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessLeavesStoreConsistent$")
	cmd.Env = append(os.Environ(), "CARVISION_STORE_KILL_CHILD="+path)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != -1 {
		t.Fatalf("child should die by a signal; err=%v output:\n%s", err, out)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("open after the kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	runs, err := s.ListRuns(ctx, 10)
	if err != nil || len(runs) != 1 || runs[0].Status != RunRunning {
		t.Fatalf("runs after the kill = %+v, %v", runs, err)
	}
	for _, table := range []string{"params", "metrics", "artifacts", "model_versions"} {
		if n := countRows(t, s, table, ""); n != 0 {
			t.Errorf("%d rows in %s from the killed transaction", n, table)
		}
	}
	if n, err := s.MarkStaleRuns(ctx); err != nil || n != 1 {
		t.Fatalf("MarkStaleRuns = %d, %v", n, err)
	}
	// And the next run goes through.
	id := mustStart(t, s)
	if _, err := s.FinishRun(ctx, id, RunSucceeded, "", sampleResult(50, 10)); err != nil {
		t.Fatalf("next run: %v", err)
	}
}

func killedChild(path string) {
	s, err := Open(path)
	if err != nil {
		os.Exit(3)
	}
	ctx := context.Background()
	id, err := s.StartRun(ctx, RunStart{Who: "child"})
	if err != nil {
		os.Exit(4)
	}
	s.failpoint = func(p string) error {
		if p == "finish.metrics" {
			self, _ := os.FindProcess(os.Getpid())
			self.Kill() // SIGKILL: no deferred code, no rollback, no close
			select {}
		}
		return nil
	}
	res := sampleResult(50, 10)
	res.Model = &NewModel{Path: "m.cvm", SHA256: sha("m"), Alias: AliasChallenger}
	s.FinishRun(ctx, id, RunSucceeded, "", res)
	os.Exit(5) // not reached
}
