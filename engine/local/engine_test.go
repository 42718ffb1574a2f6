package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/local"
	"carvision/engine/registry"
	"carvision/engine/synth"
)

// testConfig is a small, fast config: a tiny forest, no bootstrap, no
// backtest, any free loopback port, logs under the project folder. The gate
// tolerates some regression so that a retrain with another learning rate
// can be promoted; the gate itself is tested in engine/registry.
const testConfig = `# engine/local test config
seed: 42
training:
  refit: false
  gbdt:
    trees: 40
    learning_rate: 0.1
    num_leaves: 15
    early_stopping_rounds: 10
evaluation:
  bootstrap:
    enabled: false
  temporal:
    enabled: false
gate:
  min_r2: 0.5
  max_rmse: 20000
  max_regression: 0.5
serve:
  addr: 127.0.0.1:0
  reload_debounce: 20ms
logging:
  daily_rotate: false
  compress: false
alerts:
  eval_interval: 1h
preprocessing:
  drop_columns: [price_per_mile, price_category]
`

// project writes config.yaml and 1,500 synthetic listings into a temp folder.
func project(t *testing.T) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	cfgPath = filepath.Join(dir, "config.yaml")
	writeConfig(t, cfgPath, testConfig)
	raw := filepath.Join(dir, "data", "raw", "vehicles_us.csv")
	if err := os.MkdirAll(filepath.Dir(raw), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := synth.Generate(1500, 21).WriteCSVFile(raw, false); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pickup() engine.Listing {
	l := engine.EmptyListing()
	l.ModelYear, l.Model, l.Condition, l.Cylinders, l.Fuel = 2014, "ford f-150", "excellent", 8, "gas"
	l.Odometer, l.Transmission, l.Type, l.PaintColor, l.Is4WD = 98000, "automatic", "pickup", "white", 1
	return l
}

func health(t *testing.T, e *local.Engine) engine.Health {
	t.Helper()
	h, err := e.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// httpHealth asks the real listener, as an orchestrator would.
func httpHealth(t *testing.T, addr string) (int, engine.Health) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h engine.Health
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/health body %q: %v", b, err)
	}
	return resp.StatusCode, h
}

func drain(t *testing.T, ch <-chan engine.PipelineEvent) []engine.PipelineEvent {
	t.Helper()
	var evs []engine.PipelineEvent
	for ev := range ch {
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		t.Fatal("retrain sent no events")
	}
	return evs
}

func TestEngineServesReloadsRetrainsAndSwaps(t *testing.T) {
	dir, cfgPath := project(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := local.Open(ctx, local.Options{ConfigPath: cfgPath, Quiet: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer e.Close()

	// A fresh project: the first repro trains and promotes v1.
	var boot []engine.PipelineEvent
	if err := e.EnsureChampion(ctx, func(ev engine.PipelineEvent) { boot = append(boot, ev) }); err != nil {
		t.Fatalf("ensure champion: %v", err)
	}
	if last := boot[len(boot)-1]; !last.Done || last.Version != "1" {
		t.Fatalf("bootstrap's last event %+v", last)
	}
	if v, ok, _ := e.Store().Alias(ctx, registry.Champion); !ok || v != "1" {
		t.Fatalf("champion after bootstrap: %q %v", v, ok)
	}
	// A second call has nothing to do.
	if err := e.EnsureChampion(ctx, func(engine.PipelineEvent) { t.Error("EnsureChampion re-ran the pipeline") }); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	addr, err := e.Serve(ctx, "")
	if err != nil || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") || e.Addr() != addr {
		t.Fatalf("serve on %q (Addr %q): %v", addr, e.Addr(), err)
	}
	if code, h := httpHealth(t, addr); code != http.StatusOK || h.Status != "healthy" || h.ModelVersion != "v1" {
		t.Fatalf("GET /health: %d %+v", code, h)
	}
	if h := health(t, e); h.Status != "healthy" || h.ModelVersion != "v1" || !h.Ready {
		t.Fatalf("health %+v", h)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "carvision.log")); err != nil {
		t.Fatalf("no log file in the project: %v", err)
	}

	t.Run("predict and snapshot", func(t *testing.T) {
		p, err := e.Predict(ctx, pickup(), engine.PredictOptions{Explain: true})
		if err != nil || !(p.Price > 0) || p.ModelVersion != "v1" || p.RequestID == "" || len(p.Contributions) == 0 || p.Latency <= 0 {
			t.Fatalf("predict: %+v %v", p, err)
		}
		bad := pickup()
		bad.ModelYear = math.NaN()
		if _, err := e.Predict(ctx, bad, engine.PredictOptions{}); err == nil || !strings.Contains(err.Error(), "model_year") {
			t.Fatalf("a listing without model_year: %v, want an error naming it", err)
		}
		snap, err := e.Snapshot(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, l := range snap.Latency {
			if l.Endpoint == "/predict" {
				n = l.Count
			}
		}
		if n != 2 || snap.Model.Version != "v1" || snap.Health.Status != "healthy" {
			t.Fatalf("snapshot: %d /predict requests (want 2), model %q, health %+v; latency %+v", n, snap.Model.Version, snap.Health, snap.Latency)
		}
		info, err := e.Model(ctx)
		if err != nil || info.Version != "v1" || info.Alias != registry.Champion || info.Metrics["test.rmse"] <= 0 {
			t.Fatalf("model info %+v %v", info, err)
		}
	})

	t.Run("invalid config keeps the old one", func(t *testing.T) {
		before, _ := e.Config(ctx)
		lines := strings.Split(testConfig, "\n")
		badLine := 0
		for i, l := range lines {
			if strings.TrimSpace(l) == "trees: 40" {
				lines[i], badLine = "    trees: lots", i+1
			}
		}
		writeConfig(t, cfgPath, strings.Join(lines, "\n"))
		st, err := e.ReloadConfig(ctx, engine.ActionRequest{Actor: engine.Actor{Name: "op", Role: "operator"}})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("line %d", badLine)) || !strings.Contains(err.Error(), "training.gbdt.trees") {
			t.Fatalf("ReloadConfig = %v, want an error naming line %d and the key", err, badLine)
		}
		if st.Valid || st.Line != badLine || st.Error == "" || !strings.Contains(st.Text, "trees: lots") {
			t.Fatalf("config state %+v", st)
		}
		if now, _ := e.Config(ctx); now.Valid || now.Line != badLine || now.Path != cfgPath {
			t.Fatalf("Config() after a refused reload: %+v", now)
		}
		if st.AppliedAt != before.AppliedAt || e.Settings().GBDT.Trees != 40 {
			t.Fatalf("the refused config was applied: trees %d", e.Settings().GBDT.Trees)
		}
		if h := health(t, e); h.Status != "healthy" {
			t.Fatalf("health after a refused config: %+v", h)
		}
		writeConfig(t, cfgPath, testConfig)
		if st, err := e.ReloadConfig(ctx, engine.ActionRequest{}); err != nil || !st.Valid {
			t.Fatalf("restoring the config: %+v %v", st, err)
		}
	})

	t.Run("dropping a model feature turns health unhealthy", func(t *testing.T) {
		writeConfig(t, cfgPath, strings.Replace(testConfig, "[price_per_mile, price_category]", "[price_per_mile, price_category, odometer]", 1))
		if _, err := e.ReloadConfig(ctx, engine.ActionRequest{}); err != nil {
			t.Fatalf("the config itself is valid: %v", err)
		}
		h := health(t, e)
		if h.Status != "unhealthy" || !strings.Contains(h.Reason, `Missing column "odometer"`) || h.ModelVersion != "v1" {
			t.Fatalf("health %+v, want unhealthy naming the missing column", h)
		}
		if code, hh := httpHealth(t, addr); code != http.StatusServiceUnavailable || hh.Status != "unhealthy" {
			t.Fatalf("GET /health: %d %+v, want 503", code, hh)
		}
		logs, _ := e.Logs(ctx, engine.LogQuery{Search: "Missing column", Level: "error", Limit: 10})
		if !slices.ContainsFunc(logs, func(l engine.LogLine) bool { return strings.HasPrefix(l.Message, `Missing column "odometer"`) }) {
			t.Errorf("the schema mismatch was not logged as an error: %+v", logs)
		}
		writeConfig(t, cfgPath, testConfig)
		if _, err := e.ReloadConfig(ctx, engine.ActionRequest{}); err != nil {
			t.Fatal(err)
		}
		if h := health(t, e); h.Status != "healthy" || h.ModelVersion != "v1" {
			t.Fatalf("health after restoring the config: %+v", h)
		}
	})

	t.Run("viewers and read-only engines change nothing", func(t *testing.T) {
		ro, err := local.Open(ctx, local.Options{ConfigPath: cfgPath, ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if !ro.Capabilities().ReadOnly {
			t.Error("a read-only engine does not say so")
		}
		operator := engine.ActionRequest{Actor: engine.Actor{Name: "op", Role: "operator"}, Force: true, Reason: "test"}
		viewer := engine.ActionRequest{Actor: engine.Actor{Name: "vi", Role: "viewer"}, Force: true, Reason: "test"}
		cases := []struct {
			name  string
			e     *local.Engine
			req   engine.ActionRequest
			check func(error) bool
		}{
			{"read-only", ro, operator, func(err error) bool { return errors.Is(err, engine.ErrReadOnly) }},
			{"viewer", e, viewer, func(err error) bool { return err != nil && strings.Contains(err.Error(), "viewer") }},
		}
		for _, tc := range cases {
			actions := map[string]func() error{
				"promote":  func() error { return tc.e.Promote(ctx, "1", tc.req) },
				"rollback": func() error { return tc.e.Rollback(ctx, tc.req) },
				"retrain": func() error {
					_, err := tc.e.Retrain(ctx, engine.RetrainRequest{ActionRequest: tc.req, Force: true})
					return err
				},
				"reload-config": func() error { _, err := tc.e.ReloadConfig(ctx, tc.req); return err },
			}
			for name, act := range actions {
				if err := act(); !tc.check(err) {
					t.Errorf("%s %s: %v", tc.name, name, err)
				}
			}
		}
		if v, _, _ := e.Store().Alias(ctx, registry.Champion); v != "1" {
			t.Fatalf("champion moved to %s", v)
		}
		if vs, _ := e.Models(ctx); len(vs) != 1 {
			t.Fatalf("%d versions after refused actions", len(vs))
		}
	})

	t.Run("retrain, promote without restart, roll back", func(t *testing.T) {
		writeConfig(t, cfgPath, strings.Replace(testConfig, "learning_rate: 0.1", "learning_rate: 0.15", 1))
		if _, err := e.ReloadConfig(ctx, engine.ActionRequest{}); err != nil {
			t.Fatal(err)
		}
		ps, err := e.PipelineStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps.InputsChanged) != 1 || ps.InputsChanged[0] != "train: changed params: training.params" {
			t.Fatalf("pipeline status says %q", ps.InputsChanged)
		}
		op := engine.ActionRequest{Actor: engine.Actor{Name: "op", Role: "operator"}}
		ch, err := e.Retrain(ctx, engine.RetrainRequest{ActionRequest: op})
		if err != nil {
			t.Fatal(err)
		}
		evs := drain(t, ch)
		last := evs[len(evs)-1]
		if !last.Done || last.Err != "" || last.Version != "2" || !strings.Contains(last.Message, "v2 registered as challenger") {
			t.Fatalf("retrain's last event %+v", last)
		}
		if v, _, _ := e.Store().Alias(ctx, registry.Challenger); v != "2" {
			t.Fatalf("challenger is %q", v)
		}
		if h := health(t, e); h.ModelVersion != "v1" {
			t.Fatalf("a retrain changed the served model: %+v", h)
		}
		if err := e.Promote(ctx, "2", op); err != nil {
			t.Fatalf("promote v2: %v", err)
		}
		if h := health(t, e); h.Status != "healthy" || h.ModelVersion != "v2" {
			t.Fatalf("after promoting v2: %+v", h)
		}
		snap, _ := e.Snapshot(ctx, time.Minute)
		if !slices.ContainsFunc(snap.Events, func(ev engine.Event) bool {
			return ev.Kind == "promote" && ev.Actor == "op" && ev.Message == "v2 promoted to champion"
		}) {
			t.Errorf("the promotion is not among the recent events: %+v", snap.Events)
		}
		if code, h := httpHealth(t, addr); code != http.StatusOK || h.ModelVersion != "v2" {
			t.Fatalf("GET /health after the swap: %d %+v", code, h)
		}
		if p, err := e.Predict(ctx, pickup(), engine.PredictOptions{}); err != nil || p.ModelVersion != "v2" {
			t.Fatalf("predict after the swap: %+v %v", p, err)
		}
		if err := e.Rollback(ctx, op); err != nil {
			t.Fatal(err)
		}
		if h := health(t, e); h.ModelVersion != "v1" {
			t.Fatalf("after rollback: %+v", h)
		}
		audit, err := e.Store().AuditLog(ctx, time.Time{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, a := range audit {
			seen[a.Action+"/"+a.Outcome] = true
		}
		for _, want := range []string{"retrain/ok", "promote/ok", "rollback/ok"} {
			if !seen[want] {
				t.Errorf("audit log lacks %s: %v", want, seen)
			}
		}
		// Nothing changed since: a retrain runs nothing and registers nothing.
		ch, err = e.Retrain(ctx, engine.RetrainRequest{ActionRequest: op})
		if err != nil {
			t.Fatal(err)
		}
		evs = drain(t, ch)
		if last := evs[len(evs)-1]; !last.Done || last.Version != "" || !strings.Contains(last.Message, "nothing changed") {
			t.Fatalf("idle retrain's last event %+v", last)
		}
	})
}

// The gate's regression check scores champion and challenger on the test
// split of the config in force, also after a reload moved the processed folder.
func TestGateUsesTheTestRowsOfTheConfigInForce(t *testing.T) {
	dir, cfgPath := project(t)
	ctx := context.Background()
	e, err := local.Open(ctx, local.Options{ConfigPath: cfgPath, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.EnsureChampion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(testConfig, "seed: 42\n", "seed: 42\npaths:\n  processed_dir: data/processed-v2\n", 1)
	writeConfig(t, cfgPath, moved)
	if _, err := e.ReloadConfig(ctx, engine.ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	op := engine.ActionRequest{Actor: engine.Actor{Name: "op", Role: "operator"}}
	ch, err := e.Retrain(ctx, engine.RetrainRequest{ActionRequest: op})
	if err != nil {
		t.Fatal(err)
	}
	if last := drain(t, ch); last[len(last)-1].Version != "2" {
		t.Fatalf("retrain: %+v", last[len(last)-1])
	}
	// The old split is gone; the gate must not need it.
	if err := os.RemoveAll(filepath.Join(dir, "data", "processed")); err != nil {
		t.Fatal(err)
	}
	d, err := e.CompareModels(ctx, "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(d.Gate.Reasons, func(r string) bool { return strings.Contains(r, "could not compare") }) {
		t.Fatalf("the gate read the old processed folder: %q", d.Gate.Reasons)
	}
	if !slices.ContainsFunc(d.Gate.Reasons, func(r string) bool { return strings.Contains(r, "on the same") }) {
		t.Fatalf("the gate did not compare on shared rows: %q", d.Gate.Reasons)
	}
}
