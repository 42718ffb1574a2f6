package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/runbook/checks"
)

var alice = engine.Actor{Name: "alice", Role: "operator"}

func mustParse(t testing.TB, body string) *Runbook {
	t.Helper()
	rb, err := Parse([]byte(doc(body)), "test.md")
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T) *checks.FakeEnv {
	t.Helper()
	env := checks.NewFakeEnv(t.TempDir())
	copyInto(t, fixture("logs", "clean.jsonl"), env.Log)
	return env
}

func states(e *Execution) string {
	var s []string
	for _, st := range e.Steps() {
		s = append(s, string(st.State))
	}
	return strings.Join(s, " ")
}

const diagnose = "why health\n```check {\"id\":\"health\"}\n```\n" +
	"why logs\n```check {\"id\":\"logs.missing_column\"}\n```\n" +
	"why echo\n```sh {\"name\":\"echo\"}\necho hello from $CARVISION_RUNBOOK/$CARVISION_STEP in $(pwd)\n```\n" +
	"why fix\n```action {\"do\":\"reload-config\",\"when\":\"failed\"}\n```\n" +
	"why again\n```check {\"id\":\"logs.missing_column\",\"name\":\"logs-after\",\"when\":\"passed:reload-config\"}\n```\n"

func TestRunAllHealthy(t *testing.T) {
	env := newEnv(t)
	rec := &MemRecorder{}
	r := NewRunner(env, rec)
	e := r.Start(mustParse(t, diagnose), alice, false)
	var seen []int
	out := e.RunAll(context.Background(), AllOptions{OnStep: func(i int, s StepRun) { seen = append(seen, i) }})
	if out.StoppedAt != -1 || states(e) != "pass pass pass skipped skipped" {
		t.Fatalf("outcome %+v states %s", out, states(e))
	}
	if len(seen) != 5 {
		t.Errorf("OnStep called for %v", seen)
	}
	sh := e.Step(2)
	if want := "hello from t/echo in " + env.Dir; strings.TrimSpace(sh.Output) != want || sh.ExitCode != 0 {
		t.Errorf("sh output %q exit %d, want %q", sh.Output, sh.ExitCode, want)
	}
	if n := e.Step(3).Note; n != "when failed: no earlier check failed" {
		t.Errorf("skip note = %q", n)
	}
	if e.ExitCode() != ExitOK {
		t.Errorf("exit = %d", e.ExitCode())
	}
	if calls := env.C.CallLog(); len(calls) != 0 {
		t.Errorf("an action ran: %v", calls)
	}
	// running + verdict for the three steps that ran, verdict for the two skipped.
	recs := rec.All()
	if len(recs) != 8 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	last := recs[len(recs)-1]
	if last.Who != "alice" || last.ExecutionID != e.ID || last.Runbook != "t" || last.Step != "logs-after" || last.Verdict != Skipped {
		t.Errorf("last record = %+v", last)
	}
	var ev Evidence
	if err := json.Unmarshal([]byte(recs[1].Evidence), &ev); err != nil || ev.Result == nil || ev.Result.Verdict != checks.Pass || ev.Kind != KindCheck {
		t.Errorf("evidence %s: %v", recs[1].Evidence, err)
	}
}

func TestFailurePointsToFixAndActionNeedsConfirmation(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("logs", "missing-column.jsonl"), env.Log)
	r := NewRunner(env, nil)
	e := r.Start(mustParse(t, diagnose), alice, false)
	out := e.RunAll(context.Background(), AllOptions{})
	if out.StoppedAt != 3 || states(e) != "pass fail pass pending pending" {
		t.Fatalf("stopped at %d, states %s", out.StoppedAt, states(e))
	}
	logs := e.Step(1)
	if logs.Next == nil || logs.Next.Step != 3 || logs.Next.Name != "reload-config" || !strings.Contains(logs.Next.String(), "→ step 4 reload-config: make preprocessing.drop_columns") {
		t.Errorf("pointer = %+v", logs.Next)
	}
	if e.ExitCode() != ExitFailed {
		t.Errorf("exit = %d", e.ExitCode())
	}

	// Running the action without confirmation is refused and changes nothing.
	_, err := e.Run(context.Background(), 3, RunOptions{})
	if !errors.Is(err, ErrNeedsConfirmation) || e.Step(3).State != Pending || len(env.C.CallLog()) != 0 {
		t.Fatalf("unconfirmed action: err %v state %s calls %v", err, e.Step(3).State, env.C.CallLog())
	}
	env.C.Set(func(c *checks.FakeClient) {
		c.OnReload = func() (engine.ConfigState, error) {
			copyInto(t, fixture("logs", "clean.jsonl"), env.Log) // the fix takes effect
			return engine.ConfigState{Path: "config.yaml", Valid: true}, nil
		}
	})
	sr, err := e.Run(context.Background(), 3, RunOptions{Confirmed: true})
	if err != nil || sr.State != Pass || !strings.Contains(sr.Output, "config reloaded from config.yaml") {
		t.Fatalf("confirmed action: %+v %v", sr, err)
	}
	if calls := env.C.CallLog(); len(calls) != 1 || calls[0] != "reload-config by alice" {
		t.Errorf("calls = %v", calls)
	}
	if sr, _ := e.Run(context.Background(), 4, RunOptions{}); sr.State != Pass {
		t.Errorf("verification = %+v", sr)
	}
	// The failed check was verified fixed by a later run of the same check.
	if e.ExitCode() != ExitOK {
		t.Errorf("exit after the fix = %d", e.ExitCode())
	}
}

func TestReadOnlyRefusesStateChanges(t *testing.T) {
	body := "a\n```check {\"id\":\"health\"}\n```\nb\n```sh {\"name\":\"safe\"}\necho ok\n```\n" +
		"c\n```sh {\"name\":\"wipe\",\"dangerous\":true}\necho wiped > wiped.txt\n```\nd\n```action {\"do\":\"rollback\"}\n```\n"
	for _, tc := range []struct {
		name     string
		actor    engine.Actor
		readOnly bool
		engineRO bool
		why      string
	}{
		{"viewer role", engine.Actor{Name: "val", Role: "viewer"}, false, false, "role viewer"},
		{"readonly flag", alice, true, false, "--readonly"},
		{"read-only engine", alice, false, true, "read-only engine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.C.Caps.ReadOnly = tc.engineRO
			r := NewRunner(env, nil)
			e := r.Start(mustParse(t, body), tc.actor, tc.readOnly)
			if !e.IsReadOnly() || e.Refusal(2) == "" || e.Refusal(1) != "" {
				t.Fatalf("IsReadOnly %v refusal(2) %q refusal(1) %q", e.IsReadOnly(), e.Refusal(2), e.Refusal(1))
			}
			for _, i := range []int{2, 3} {
				sr, err := e.Run(context.Background(), i, RunOptions{Confirmed: true})
				if !errors.Is(err, engine.ErrReadOnly) || sr.State != Skipped || !strings.Contains(sr.Note, tc.why) {
					t.Errorf("step %d: %+v %v", i+1, sr, err)
				}
			}
			if _, err := os.Stat(filepath.Join(env.Dir, "wiped.txt")); err == nil {
				t.Error("the dangerous step ran")
			}
			if len(env.C.CallLog()) != 0 {
				t.Errorf("engine called: %v", env.C.CallLog())
			}
			// Reads still work.
			if sr, err := e.Run(context.Background(), 1, RunOptions{}); err != nil || sr.State != Pass {
				t.Errorf("safe sh: %+v %v", sr, err)
			}
			e2 := r.Start(e.Runbook, tc.actor, tc.readOnly)
			out := e2.RunAll(context.Background(), AllOptions{Yes: true})
			if len(out.Refused) != 2 || out.StoppedAt != -1 || states(e2) != "pass pass skipped skipped" {
				t.Errorf("RunAll: %+v %s", out, states(e2))
			}
		})
	}
}

func TestEngineRefusalIsNotAFailure(t *testing.T) {
	// The session thinks it may act, the engine says read-only: the step
	// is refused (skipped), not failed.
	env := newEnv(t)
	r := NewRunner(env, nil)
	e := r.Start(mustParse(t, "x\n```action {\"do\":\"rollback\"}\n```\n"), alice, false)
	env.C.Set(func(c *checks.FakeClient) { c.OnRollback = func() error { return engine.ErrReadOnly } })
	sr, err := e.Run(context.Background(), 0, RunOptions{Confirmed: true})
	if err != nil || sr.State != Skipped || !strings.Contains(sr.Note, "refused") {
		t.Errorf("%+v %v", sr, err)
	}
}

func TestShellStep(t *testing.T) {
	env := newEnv(t)
	cfg := config.Default()
	cfg.Runbooks.ShOutputCap = config.KiB
	env.SetConfig(cfg)
	body := "big\n```sh {\"name\":\"big\"}\nhead -c 5000 /dev/zero | tr '\\0' 'a'; echo; echo END\n```\n" +
		"exit\n```sh {\"name\":\"exit3\"}\necho failing >&2; exit 3\n```\n" +
		"slow\n```sh {\"name\":\"slow\",\"timeout\":\"200ms\"}\nsleep 30 & wait\n```\n"
	r := NewRunner(env, nil)
	e := r.Start(mustParse(t, body), alice, false)
	big, _ := e.Run(context.Background(), 0, RunOptions{})
	if big.State != Pass || len(big.Output) > 1024 || !strings.HasSuffix(big.Output, "END\n") || big.Dropped != 5005-1024 {
		t.Errorf("capped output: state %s len %d dropped %d tail %q", big.State, len(big.Output), big.Dropped, big.Output[max(len(big.Output)-10, 0):])
	}
	ex, _ := e.Run(context.Background(), 1, RunOptions{})
	if ex.State != Fail || ex.ExitCode != 3 || ex.Note != "exit code 3" || ex.Output != "failing\n" {
		t.Errorf("exit step = %+v", ex)
	}
	start := time.Now()
	slow, _ := e.Run(context.Background(), 2, RunOptions{})
	if slow.State != Fail || slow.Note != "timed out after 200ms" {
		t.Errorf("slow step = %+v", slow)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the timeout did not kill the process group (took %s)", d)
	}
	if e.ExitCode() != ExitFailed {
		t.Errorf("exit = %d", e.ExitCode())
	}
}

func TestCapBuffer(t *testing.T) {
	b := newCapBuffer(8)
	b.Write([]byte("0123"))
	b.Write([]byte("456789"))
	if s, d := b.Snapshot(); s != "23456789" || d != 2 {
		t.Errorf("snapshot = %q, %d", s, d)
	}
	b.Write([]byte("abcdefghijklmnop"))
	if s, d := b.Snapshot(); s != "ijklmnop" || d != 18 {
		t.Errorf("snapshot = %q, %d", s, d)
	}
	u := newCapBuffer(4)
	u.Write([]byte("xxé€")) // é is 2 bytes, € is 3: the cut falls inside é
	if s, _ := u.Snapshot(); s != "€" {
		t.Errorf("utf-8 cut = %q", s)
	}
}

func TestBusyAndSkip(t *testing.T) {
	env := newEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	env.C.Set(func(c *checks.FakeClient) {
		c.OnRetrain = func(engine.RetrainRequest) ([]engine.PipelineEvent, error) {
			close(started)
			<-release
			return []engine.PipelineEvent{{Stage: "train", Status: "done", Done: true, Version: "9"}}, nil
		}
	})
	r := NewRunner(env, nil)
	e := r.Start(mustParse(t, "a\n```action {\"do\":\"repro\"}\n```\nb\n```check {\"id\":\"health\"}\n```\n"), alice, false)
	done := make(chan StepRun)
	go func() {
		sr, _ := e.Run(context.Background(), 0, RunOptions{Confirmed: true})
		done <- sr
	}()
	<-started
	if !e.Busy() || e.Step(0).State != Running {
		t.Errorf("busy %v state %s", e.Busy(), e.Step(0).State)
	}
	if _, err := e.Run(context.Background(), 1, RunOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("second run: %v", err)
	}
	if _, err := e.Skip(context.Background(), 0, ""); !errors.Is(err, ErrBusy) {
		t.Errorf("skip of the running step: %v", err)
	}
	if err := e.RunChecks(context.Background()); !errors.Is(err, ErrBusy) {
		t.Errorf("run checks while busy: %v", err)
	}
	close(release)
	sr := <-done
	if sr.State != Pass || !strings.Contains(sr.Output, "registered v9 as challenger") {
		t.Errorf("repro = %+v", sr)
	}
	sk, err := e.Skip(context.Background(), 1, "")
	if err != nil || sk.State != Skipped || sk.Note != "skipped by alice" {
		t.Errorf("skip = %+v %v", sk, err)
	}
}

func TestActions(t *testing.T) {
	cases := []struct {
		name, attrs string
		setup       func(c *checks.FakeClient)
		state       State
		note, call  string
	}{
		{"promote challenger", `{"do":"promote"}`, nil, Pass, "promote done", "promote 4 by alice"},
		{"promote version", `{"do":"promote","version":"v3"}`, nil, Pass, "promote done", "promote 3 by alice"},
		{"promote refused by gate", `{"do":"promote"}`, func(c *checks.FakeClient) {
			c.OnPromote = func(string) error { return errors.New("promotion gate failed") }
		},
			Fail, "promote: promotion gate failed", "promote 4 by alice"},
		{"promote without challenger", `{"do":"promote"}`, func(c *checks.FakeClient) { c.Versions = c.Versions[:1] }, Fail, "no model is challenger", ""},
		{"rollback", `{"do":"rollback"}`, nil, Pass, "rollback done", "rollback by alice"},
		{"reload invalid config", `{"do":"reload-config"}`, func(c *checks.FakeClient) {
			c.OnReload = func() (engine.ConfigState, error) {
				return engine.ConfigState{Path: "config.yaml", Valid: false, Line: 12, Error: "unknown key"}, nil
			}
		}, Fail, "config.yaml line 12: unknown key (the previous config stays in force)", "reload-config by alice"},
		{"repro failure", `{"do":"repro"}`, func(c *checks.FakeClient) {
			c.OnRetrain = func(engine.RetrainRequest) ([]engine.PipelineEvent, error) {
				return []engine.PipelineEvent{{Stage: "clean", Status: "failed", Done: true, Err: "filter min_year removed the last rows"}}, nil
			}
		}, Fail, "repro failed at clean: filter min_year removed the last rows", "retrain by alice"},
		{"repro without result", `{"do":"repro"}`, func(c *checks.FakeClient) {
			c.OnRetrain = func(engine.RetrainRequest) ([]engine.PipelineEvent, error) { return nil, nil }
		}, Fail, "ended without a result", "retrain by alice"},
		{"rotate logs", `{"do":"rotate-logs"}`, nil, Pass, "rotate-logs done", ""},
		{"unavailable", `{"do":"rollback"}`, func(c *checks.FakeClient) { c.OnRollback = func() error { return engine.ErrUnavailable } }, Errored, "not available", "rollback by alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.setup != nil {
				env.C.Set(tc.setup)
			}
			e := NewRunner(env, nil).Start(mustParse(t, "x\n```action "+tc.attrs+"\n```\n"), alice, false)
			sr, err := e.Run(context.Background(), 0, RunOptions{Confirmed: true})
			if err != nil || sr.State != tc.state || !strings.Contains(sr.Note, tc.note) {
				t.Errorf("= %+v %v, want %s %q", sr, err, tc.state, tc.note)
			}
			calls := env.C.CallLog()
			if tc.call != "" && (len(calls) != 1 || calls[0] != tc.call) {
				t.Errorf("calls = %v, want %q", calls, tc.call)
			}
		})
	}
	env := newEnv(t)
	e := NewRunner(env, nil).Start(mustParse(t, "x\n```action {\"do\":\"rotate-logs\"}\n```\n"), alice, false)
	e.Run(context.Background(), 0, RunOptions{Confirmed: true})
	if env.Rotations != 1 {
		t.Errorf("rotations = %d", env.Rotations)
	}
}

func TestResumeSkipsPassedSteps(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("logs", "missing-column.jsonl"), env.Log)
	rec := &MemRecorder{}
	r := NewRunner(env, rec)
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("api-500-missing-column")
	e := r.Start(rb, alice, false)
	e.RunAll(context.Background(), AllOptions{OnlyChecks: true})
	if got := e.Step(1).State; got != Fail {
		t.Fatalf("logs check = %s", got)
	}
	before := len(rec.All())

	// The log is cleaned up (rotated away); resume the same execution.
	copyInto(t, fixture("logs", "clean.jsonl"), env.Log)
	e2, err := r.Resume(context.Background(), lib, e.ID, engine.Actor{Name: "bob"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if e2.ID != e.ID || !e2.Step(0).Resumed || e2.Step(0).State != Pass || e2.Step(1).State != Pending || e2.Step(1).Note != "last run: fail" {
		t.Fatalf("resumed states: %s / %+v", states(e2), e2.Step(1))
	}
	if e2.Step(0).Result == nil || e2.Step(0).Result.Verdict != checks.Pass {
		t.Errorf("resumed evidence lost: %+v", e2.Step(0))
	}
	e2.RunAll(context.Background(), AllOptions{OnlyChecks: true})
	if e2.Step(1).State != Pass {
		t.Errorf("logs after resume = %+v", e2.Step(1))
	}
	for _, r := range rec.All()[before:] {
		if r.Step == "health" {
			t.Errorf("a passed step ran again: %+v", r)
		}
		if r.ExecutionID != e.ID || r.Who != "bob" {
			t.Errorf("resumed record = %+v", r)
		}
	}
	if _, err := r.Resume(context.Background(), lib, "nope", alice, false); err == nil {
		t.Error("resume of an unknown execution")
	}
}

func TestRunChecksMode(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("data", "good.csv"), env.Data)
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("pipeline-clean-fails")
	e := NewRunner(env, nil).Start(rb, alice, false)
	if err := e.RunChecks(context.Background()); err != nil {
		t.Fatal(err)
	}
	// schema and filters run; filters-after waits on reload-config; sh and actions stay pending.
	if got := states(e); got != "pass pass pending pending pending pending" {
		t.Errorf("states = %s", got)
	}
}

func TestRecorderFailureIsReported(t *testing.T) {
	env := newEnv(t)
	rec := &MemRecorder{Err: errors.New("database is locked")}
	e := NewRunner(env, rec).Start(mustParse(t, "x\n```check {\"id\":\"health\"}\n```\n"), alice, false)
	sr, err := e.Run(context.Background(), 0, RunOptions{})
	if err != nil || sr.State != Pass || sr.RecordErr != "database is locked" {
		t.Errorf("= %+v %v", sr, err)
	}
}

func TestCheckLibrary(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("data", "good.csv"), env.Data)
	env.Files = []string{}
	lib := mustLibrary(t, "")
	runs := NewRunner(env, nil).CheckLibrary(context.Background(), lib)
	seen := map[string]bool{}
	for _, r := range runs {
		key := r.Check + "|" + r.Params.Key()
		if seen[key] {
			t.Errorf("%s ran twice", key)
		}
		seen[key] = true
		if r.Result.Verdict == checks.Fail || r.Result.Verdict == checks.Error {
			t.Errorf("%s on a healthy fake: %s %s", r.Check, r.Result.Verdict, r.Result.Finding)
		}
	}
	for _, id := range checks.IDs() {
		found := false
		for _, r := range runs {
			found = found || r.Check == id
		}
		if !found {
			t.Errorf("check %s not run", id)
		}
	}
}
