package runbook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/runbook/checks"
)

// One end-to-end test per troubleshooting case of the original runbook:
// induce the fault, run the shipped runbook, assert it names the cause,
// apply its action, assert the check now passes.

func scenarioConfig(t *testing.T, name string) *config.Config {
	t.Helper()
	c, err := config.Load(filepath.Join("..", "testdata", "config", "valid", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeCarvision puts a `carvision` stub on PATH for the sh steps.
func fakeCarvision(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	stub := "#!/bin/sh\necho \"carvision $*: (test stub)\"\n"
	if err := os.WriteFile(filepath.Join(dir, "carvision"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func stepByName(t *testing.T, e *Execution, name string) (int, StepRun) {
	t.Helper()
	s, ok := e.Runbook.Step(name)
	if !ok {
		t.Fatalf("runbook %s has no step %q", e.Runbook.ID, name)
	}
	return s.Index, e.Step(s.Index)
}

func TestScenarioMissingColumn(t *testing.T) {
	env := newEnv(t)
	// A config that drops odometer while the served model uses it.
	env.SetConfig(scenarioConfig(t, "drop-odometer.yaml"))
	var log strings.Builder
	for i, m := range []time.Duration{50, 20, 5} {
		fmt.Fprintf(&log, `{"time":%q,"level":"ERROR","msg":"Missing column \"odometer\": model v3 expects it but config preprocessing.drop_columns removes it (also: odometer)","model_version":"3","request_id":"r-%d"}`+"\n",
			checks.FakeNow.Add(-m*time.Minute).Format(time.RFC3339), i)
	}
	if err := os.WriteFile(env.Log, []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env.C.Set(func(c *checks.FakeClient) {
		c.HealthV = engine.Health{Status: "unhealthy", Reason: `Missing column "odometer": model v3 expects it`, ModelVersion: "3"}
		// The operator removes odometer from drop_columns, then reloads.
		c.OnReload = func() (engine.ConfigState, error) {
			env.SetConfig(config.Default())
			c.HealthV = engine.Health{Status: "healthy", Ready: true, ModelVersion: "3"}
			return engine.ConfigState{Path: "config.yaml", Valid: true}, nil
		}
	})
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("api-500-missing-column")
	e := NewRunner(env, nil).Start(rb, alice, false)
	e.RunAll(context.Background(), AllOptions{Yes: true})

	_, logs := stepByName(t, e, "logs.missing_column")
	if logs.State != Fail || !strings.Contains(logs.Summary(), `3 × Missing column "odometer"`) || !strings.Contains(logs.Summary(), "model v3") {
		t.Errorf("logs step = %s %q", logs.State, logs.Summary())
	}
	_, schema := stepByName(t, e, "schema")
	if schema.State != Fail || !strings.Contains(schema.Summary(), `Missing column "odometer"`) {
		t.Errorf("schema step = %s %q", schema.State, schema.Summary())
	}
	fix, _ := stepByName(t, e, "reload-config")
	if schema.Next == nil || schema.Next.Step != fix {
		t.Errorf("schema failure points to %+v, want step %d", schema.Next, fix+1)
	}
	if _, s := stepByName(t, e, "reload-config"); s.State != Pass {
		t.Errorf("reload = %+v", s)
	}
	if _, s := stepByName(t, e, "schema-after"); s.State != Pass {
		t.Errorf("schema after the fix = %s %q", s.State, s.Summary())
	}
	if _, s := stepByName(t, e, "rollback"); s.State != Skipped {
		t.Errorf("rollback should not run once the config is fixed: %+v", s)
	}
}

func TestScenarioNewModelYearBurst(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("data", "good.csv"), env.Data)
	env.C.Set(func(c *checks.FakeClient) {
		// A burst of 2025-model-year requests against a model trained to 2019.
		d := &c.Snap.Drift
		d.Status, d.OutOfRangeShare, d.DatasetDrift, d.RecommendRetrain, d.Reason = "drift", 0.42, true, true, "max_psi_ge_0_25"
		age := &d.Features[0]
		age.Drifted, age.Score, age.PSI, age.CurShare = true, 1.3, 1.3, []float64{0.62, 0.2, 0.1, 0.08}
		c.OnRetrain = func(engine.RetrainRequest) ([]engine.PipelineEvent, error) {
			c.Versions = append(c.Versions, engine.ModelVersion{Version: "5"})
			c.Versions[1].Aliases = nil
			c.Versions[2].Aliases = []string{"challenger"}
			return []engine.PipelineEvent{{Stage: "train", Status: "done", Done: true, Version: "5"}}, nil
		}
		c.OnPromote = func(v string) error {
			// The new champion was trained on data up to 2025.
			d.MaxTrainYear, d.OutOfRangeShare, d.DatasetDrift, d.RecommendRetrain, d.Status = 2025, 0, false, false, "ok"
			age.Drifted, age.Score, age.PSI = false, 0.04, 0.04
			return nil
		}
	})
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("low-accuracy-drift")
	e := NewRunner(env, nil).Start(rb, alice, false)
	e.RunAll(context.Background(), AllOptions{Yes: true})

	_, age := stepByName(t, e, "age")
	if age.State != Fail || !strings.Contains(age.Summary(), "42.00% of requests are model years after 2019, beyond training") {
		t.Errorf("age step = %s %q", age.State, age.Summary())
	}
	repro, _ := stepByName(t, e, "repro")
	if age.Next == nil || age.Next.Step != repro {
		t.Errorf("age failure points to %+v, want repro (step %d)", age.Next, repro+1)
	}
	if calls := env.C.CallLog(); strings.Join(calls, ";") != "retrain by alice;promote 5 by alice" {
		t.Errorf("calls = %v", calls)
	}
	if _, s := stepByName(t, e, "age-after"); s.State != Pass {
		t.Errorf("age after retrain = %s %q", s.State, s.Summary())
	}
	if e.ExitCode() != ExitOK {
		t.Errorf("exit = %d (states %s)", e.ExitCode(), states(e))
	}
}

func TestScenarioFiltersRemoveEverything(t *testing.T) {
	fakeCarvision(t)
	env := newEnv(t)
	copyInto(t, fixture("data", "good.csv"), env.Data)
	env.SetConfig(scenarioConfig(t, "filters-remove-all.yaml"))
	env.C.Set(func(c *checks.FakeClient) {
		c.OnReload = func() (engine.ConfigState, error) {
			env.SetConfig(config.Default()) // the operator relaxed min_year
			return engine.ConfigState{Path: "config.yaml", Valid: true}, nil
		}
	})
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("pipeline-clean-fails")
	e := NewRunner(env, nil).Start(rb, alice, false)
	e.RunAll(context.Background(), AllOptions{Yes: true})

	_, f := stepByName(t, e, "filters")
	if f.State != Fail || !strings.Contains(f.Summary(), "filter min_year removes every remaining row") {
		t.Errorf("filters step = %s %q", f.State, f.Summary())
	}
	reload, _ := stepByName(t, e, "reload-config")
	if f.Next == nil || f.Next.Step != reload || !strings.Contains(f.Next.Hint, "preprocessing.filters.min_year") {
		t.Errorf("pointer = %+v", f.Next)
	}
	if _, s := stepByName(t, e, "plan"); s.State != Pass || !strings.Contains(s.Output, "carvision repro --dry-run: (test stub)") {
		t.Errorf("plan step = %+v", s)
	}
	if _, s := stepByName(t, e, "filters-after"); s.State != Pass || !strings.Contains(s.Summary(), "11 of 12 rows survive") {
		t.Errorf("filters after the fix = %s %q", s.State, s.Summary())
	}
	if _, s := stepByName(t, e, "repro"); s.State != Pass {
		t.Errorf("repro = %+v", s)
	}
	if e.ExitCode() != ExitOK {
		t.Errorf("exit = %d", e.ExitCode())
	}
}

func TestScenarioRenamedColumn(t *testing.T) {
	env := newEnv(t)
	copyInto(t, fixture("data", "renamed-column.csv"), env.Data)
	rec := &MemRecorder{}
	r := NewRunner(env, rec)
	lib := mustLibrary(t, "")
	rb, _ := lib.Get("pipeline-clean-fails")
	e := r.Start(rb, alice, false)
	e.RunAll(context.Background(), AllOptions{OnlyChecks: true})

	_, s := stepByName(t, e, "schema")
	if s.State != Fail || !strings.Contains(s.Summary(), `required column "odometer" is missing`) || !strings.Contains(s.Summary(), `"mileage"`) {
		t.Errorf("schema step = %s %q", s.State, s.Summary())
	}
	// The runbook's fix for a CSV: rename the header back. Then resume.
	data, _ := os.ReadFile(env.Data)
	if err := os.WriteFile(env.Data, []byte(strings.Replace(string(data), "mileage", "odometer", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	e2, err := r.Resume(context.Background(), lib, e.ID, alice, false)
	if err != nil {
		t.Fatal(err)
	}
	e2.RunAll(context.Background(), AllOptions{OnlyChecks: true})
	if _, s := stepByName(t, e2, "schema"); s.State != Pass {
		t.Errorf("schema after the fix = %s %q", s.State, s.Summary())
	}
	if _, s := stepByName(t, e2, "filters"); s.State != Pass {
		t.Errorf("filters after the fix = %s %q", s.State, s.Summary())
	}
	if e2.ExitCode() != ExitOK {
		t.Errorf("exit = %d", e2.ExitCode())
	}
}
