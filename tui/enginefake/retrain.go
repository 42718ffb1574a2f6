package enginefake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"carvision/engine"
)

var stageNames = []string{"validate", "clean", "split", "train", "evaluate", "register"}

func seedStages() []engine.StageStatus {
	d := []time.Duration{420 * time.Millisecond, 1100 * time.Millisecond, 380 * time.Millisecond,
		48 * time.Second, 2300 * time.Millisecond, 90 * time.Millisecond}
	out := make([]engine.StageStatus, len(stageNames))
	for i, n := range stageNames {
		out[i] = engine.StageStatus{Name: n, Status: "changed", Why: "data/raw/vehicles_us.csv changed", Duration: d[i]}
	}
	return out
}

// SetInputsChanged simulates the pipeline watcher seeing changed inputs.
func (f *Fake) SetInputsChanged(files ...string) {
	f.mu.Lock()
	f.inputs = files
	f.mu.Unlock()
	if len(files) > 0 {
		// The kind the real engine's watcher publishes (engine/local/inputs.go).
		f.publish(engine.Event{Kind: "inputs", Message: fmt.Sprintf("inputs changed since the last repro: %v", files)})
	}
}

// PipelineStatus implements engine.Client.
func (f *Fake) PipelineStatus(ctx context.Context) (engine.PipelineStatus, error) {
	if err := f.need(ctx, f.caps.Store); err != nil {
		return engine.PipelineStatus{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := engine.PipelineStatus{Running: f.running, LastRun: f.lastRun,
		InputsChanged: append([]string(nil), f.inputs...), Stages: append([]engine.StageStatus(nil), f.stages...)}
	return st, nil
}

// Retraining reports whether a retrain is running.
func (f *Fake) Retraining() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}

// Retrain implements engine.Client: a paced run through the six stages that
// registers a new challenger (unless DryRun).
func (f *Fake) Retrain(ctx context.Context, req engine.RetrainRequest) (<-chan engine.PipelineEvent, error) {
	f.count("Retrain")
	if err := f.need(ctx, f.caps.Store); err != nil {
		return nil, err
	}
	if f.caps.ReadOnly && !req.DryRun {
		return nil, engine.ErrReadOnly
	}
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return nil, errors.New("retrain: a run is already in progress")
	}
	f.running = !req.DryRun
	cached := len(f.inputs) == 0 && !req.Force
	next := len(f.models) + 1
	f.mu.Unlock()

	version := strconv.Itoa(next)
	runID := fmt.Sprintf("run-%04d", next)
	plan := f.plan(cached, version, runID, req.DryRun)
	ch := make(chan engine.PipelineEvent, 4)
	if !req.DryRun {
		f.publish(engine.Event{Kind: "retrain", Actor: req.Actor.Name, Message: "retrain started (" + runID + ")"})
	}
	go func() {
		defer close(ch)
		send := func(e engine.PipelineEvent) bool {
			e.At = f.clock()
			select {
			case ch <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i, e := range plan {
			if i > 0 {
				select {
				case <-f.after(f.step):
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				f.finish(false, "", "")
				select {
				case ch <- engine.PipelineEvent{At: f.clock(), Stage: e.Stage, Status: "failed", Done: true, Err: "cancelled", RunID: runID}:
				default:
				}
				return
			}
			if e.Done && !req.DryRun {
				f.finish(true, version, runID)
				f.publish(engine.Event{Kind: "retrain", Actor: req.Actor.Name,
					Message: fmt.Sprintf("retrain finished: v%s registered as challenger (%s)", version, runID)})
			}
			if !send(e) {
				f.finish(false, "", "")
				return
			}
		}
	}()
	return ch, nil
}

// plan is the list of events of a run: RetrainSteps+1 of them.
func (f *Fake) plan(cached bool, version, runID string, dry bool) []engine.PipelineEvent {
	total := RetrainSteps
	var out []engine.PipelineEvent
	took := map[string]time.Duration{}
	for i, s := range seedStages() {
		took[s.Name] = s.Duration
		if i == 3 {
			took[s.Name] = 51 * time.Second // early stopping: shorter than the seeded full run
		}
	}
	add := func(stage, status string, frac float64, msg string) {
		left := total - len(out)
		e := engine.PipelineEvent{Stage: stage, Status: status, Fraction: frac,
			ETA: time.Duration(left) * f.step, Message: msg, RunID: runID}
		if status == "done" {
			e.Took = took[stage]
		}
		out = append(out, e)
	}
	add("validate", "running", 0, "reading data/raw/vehicles_us.csv")
	if cached {
		add("validate", "skipped", 1, "up to date (cache hit)")
		add("clean", "skipped", 1, "up to date (cache hit)")
		add("split", "skipped", 1, "up to date (cache hit)")
	} else {
		add("validate", "done", 1, "51,525 rows × 13 columns, schema ok")
		add("clean", "done", 1, "filters kept 47,906 rows (−7.0 %)")
		add("split", "done", 1, "train 33,534 · valid 7,186 · test 7,186")
	}
	for i := 1; i <= 5; i++ {
		trees := i * 84
		add("train", "running", float64(i)/6, fmt.Sprintf("tree %d/504 · valid RMSE %s", trees, thousands(4450-float64(i)*110)))
	}
	add("train", "done", 1, "early stop at tree 468 · valid RMSE 3,861")
	add("evaluate", "running", 0.5, "scoring the test split")
	add("evaluate", "done", 1, "test RMSE 3,802 · MAE 2,533 · R² 0.821")
	msg := "registered v" + version + " as challenger"
	if dry {
		msg = "dry run: nothing registered"
	}
	add("register", "done", 1, msg)
	out[len(out)-1].Done = true
	if !dry {
		out[len(out)-1].Version = version
	}
	return out
}

func (f *Fake) finish(ok bool, version, runID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
	if !ok {
		return
	}
	now := f.clock()
	f.models = append(f.models, engine.ModelVersion{Version: version, RunID: runID,
		Path: "models/carvision-v" + version + ".model", CreatedAt: now.Truncate(time.Minute),
		Metrics: map[string]float64{"rmse": 3802, "mae": 2533, "mape": 27.6, "r2": 0.821},
		Params:  map[string]string{"num_trees": "468", "learning_rate": "0.05", "max_depth": "8", "min_leaf": "20"}})
	f.challenger = version
	f.inputs = nil
	f.lastRun = runID
	for i := range f.stages {
		// As the engine reports a stage after a run: up to date, so cached.
		f.stages[i].Status, f.stages[i].Why, f.stages[i].Cached = "up-to-date", "", true
	}
	f.stages[3].Duration = 51 * time.Second
}

func thousands(v float64) string {
	n := int64(math.Round(v))
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

// diff compares two versions like `carvision models diff`, with the gate:
// the challenger must not be worse on RMSE by more than 1 % nor on R².
func diff(a, b engine.ModelVersion) engine.ModelDiff {
	d := engine.ModelDiff{A: a.Version, B: b.Version}
	for _, k := range []string{"rmse", "mae", "mape", "r2"} {
		o, n := a.Metrics[k], b.Metrics[k]
		change := "—"
		if o != 0 {
			change = fmt.Sprintf("%+.1f%%", (n-o)/math.Abs(o)*100)
		}
		d.Metrics = append(d.Metrics, engine.DiffRow{Path: "metrics.json", Name: k, Old: fmtMetric(k, o), New: fmtMetric(k, n), Change: change})
	}
	for _, k := range []string{"num_trees", "learning_rate", "max_depth", "min_leaf"} {
		o, n := a.Params[k], b.Params[k]
		change := ""
		if o != n {
			change = "changed"
		}
		d.Params = append(d.Params, engine.DiffRow{Path: "params.yaml", Name: k, Old: o, New: n, Change: change})
	}
	pass := true
	var reasons []string
	if b.Metrics["rmse"] > a.Metrics["rmse"]*1.01 {
		pass = false
		reasons = append(reasons, fmt.Sprintf("RMSE %s is worse than %s by more than 1 %%", fmtMetric("rmse", b.Metrics["rmse"]), fmtMetric("rmse", a.Metrics["rmse"])))
	} else {
		reasons = append(reasons, fmt.Sprintf("RMSE %s ≤ %s × 1.01", fmtMetric("rmse", b.Metrics["rmse"]), fmtMetric("rmse", a.Metrics["rmse"])))
	}
	if b.Metrics["r2"] < a.Metrics["r2"]-0.005 {
		pass = false
		reasons = append(reasons, fmt.Sprintf("R² %.3f dropped below %.3f − 0.005", b.Metrics["r2"], a.Metrics["r2"]))
	} else {
		reasons = append(reasons, fmt.Sprintf("R² %.3f ≥ %.3f − 0.005", b.Metrics["r2"], a.Metrics["r2"]))
	}
	d.Gate = engine.GateResult{Pass: pass, Reasons: reasons}
	return d
}

func fmtMetric(k string, v float64) string {
	switch k {
	case "r2":
		return fmt.Sprintf("%.3f", v)
	case "mape":
		return fmt.Sprintf("%.1f%%", v)
	}
	return thousands(v)
}
