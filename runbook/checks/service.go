package checks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"carvision/engine"
)

// ExpectedHealth is the one body a healthy service answers on GET /health
// (plus optional fields such as model_version).
const ExpectedHealth = `{"status":"healthy"}`

// SampleListing is the listing deploy.verify prices: an ordinary pickup
// every trained model knows.
func SampleListing() engine.Listing {
	return engine.Listing{Price: math.NaN(), ModelYear: 2015, Model: "ford f-150", Condition: "excellent",
		Cylinders: 8, Fuel: "gas", Odometer: 90000, Transmission: "automatic", Type: "pickup",
		PaintColor: "white", Is4WD: 1, DatePosted: "2019-01-15", DaysListed: 30}
}

func init() {
	register(&Check{ID: "health", Title: "Service health",
		Help:    "GET /health: status, readiness, served model version and how fast it answers.",
		Params:  []ParamSpec{{Name: "max_latency", Kind: KindDuration, Help: "a slower answer warns (default 1s)"}},
		Timeout: 5 * time.Second, Run: runHealth})
	register(&Check{ID: "deploy.verify", Title: "Deployment verified",
		Help: "health is " + ExpectedHealth + ", a sample /predict answers, and the served version is the champion.",
		Params: []ParamSpec{{Name: "wait", Kind: KindDuration, Help: "poll /health up to this long for the service to become healthy (default 0: once)"},
			{Name: "every", Kind: KindDuration, Help: "poll interval while waiting (default 500ms)"}},
		Timeout: 2 * time.Minute, Run: runDeployVerify})
	register(&Check{ID: "latency.slo", Title: "Latency against the SLO",
		Help: "p50/p95/p99 of the monitored window against serve SLOs (p99 < 200 ms, p95 < 500 ms).",
		Params: []ParamSpec{{Name: "window", Kind: KindDuration, Help: "monitor window (default 5m)"},
			{Name: "endpoint", Kind: KindString, Help: `endpoint to judge (default "/predict", else "all")`}},
		Timeout: 5 * time.Second, Run: runLatency})
	register(&Check{ID: "errors.rate", Title: "5xx error rate",
		Help: "share of 5xx answers in the monitored window against the SLO (1%).",
		Params: []ParamSpec{{Name: "window", Kind: KindDuration, Help: "monitor window (default 5m)"},
			{Name: "endpoint", Kind: KindString, Help: `endpoint to judge (default "/predict", else "all")`}},
		Timeout: 5 * time.Second, Run: runErrors})
}

func since(env Env, t0 time.Time) time.Duration {
	d := env.Now().Sub(t0)
	if d < 0 {
		return 0
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func runHealth(ctx context.Context, in Input) Result {
	env := in.Env
	t0 := env.Now()
	h, err := env.Client().Health(ctx)
	lat := since(env, t0)
	var ev Evidence
	ev.Add("latency", ms(lat), "ms")
	if err != nil {
		return Result{Verdict: Fail, Finding: "service unreachable: " + oneLine(err.Error()), Evidence: ev,
			Fix: &Fix{Runbook: "deploy-verify", Step: "start", Hint: "start the service and verify the deployment"}}
	}
	ev.Add("uptime", h.UptimeSeconds, "s")
	ev.Line("status: " + h.Status)
	ev.Line(fmt.Sprintf("ready: %v", h.Ready))
	ev.Line("model_version: " + orNone(h.ModelVersion))
	if h.Reason != "" {
		ev.Line("reason: " + h.Reason)
	}
	switch {
	case h.Status != "healthy":
		return Result{Verdict: Fail, Finding: fmt.Sprintf("service is %s: %s", orNone(h.Status), orNone(h.Reason)), Evidence: ev, Fix: healthFix(h)}
	case !h.Ready:
		return Result{Verdict: Warn, Finding: "service is up but not ready: " + orNone(h.Reason), Evidence: ev, Fix: healthFix(h)}
	}
	if max := in.Params.Duration("max_latency", time.Second); lat > max {
		return Result{Verdict: Warn, Finding: fmt.Sprintf("healthy (model %s) but /health took %s (> %s)", ver(h.ModelVersion), lat.Round(time.Millisecond), max),
			Evidence: ev, Fix: &Fix{Runbook: "high-latency", Hint: "find out why the service is slow"}}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("healthy, serving model %s", ver(h.ModelVersion)), Evidence: ev}
}

// healthFix names the runbook for an unhealthy answer by its reason.
func healthFix(h engine.Health) *Fix {
	r := strings.ToLower(h.Reason)
	switch {
	case strings.Contains(r, "missing column") || strings.Contains(r, "schema"):
		return &Fix{Runbook: "api-500-missing-column", Hint: "the model and the config disagree on the columns"}
	case strings.Contains(r, "model") || h.ModelVersion == "":
		return &Fix{Runbook: "retrain-compare", Step: "repro", Hint: "no model is loaded: train one (repro) and promote it"}
	}
	return &Fix{Runbook: "deploy-verify", Hint: "restart the service and verify the deployment"}
}

func runDeployVerify(ctx context.Context, in Input) Result {
	env, c := in.Env, in.Env.Client()
	var ev Evidence
	wait, every := in.Params.Duration("wait", 0), in.Params.Duration("every", 500*time.Millisecond)
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	var h engine.Health
	var err error
	polls := 0
	for {
		polls++
		h, err = c.Health(ctx)
		if err == nil && h.Status == "healthy" && h.Ready {
			break
		}
		if wait <= 0 || !time.Now().Before(deadline) {
			break
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{Verdict: Fail, Finding: fmt.Sprintf("not healthy after %d polls: %v", polls, ctx.Err()), Evidence: ev,
				Fix: &Fix{Runbook: "deploy-verify", Step: "start", Hint: "start the service"}}
		case <-t.C:
		}
	}
	ev.Add("health polls", float64(polls), "count")
	if err != nil {
		return Result{Verdict: Fail, Finding: "service unreachable: " + oneLine(err.Error()), Evidence: ev,
			Fix: &Fix{Runbook: "deploy-verify", Step: "start", Hint: "start the service"}}
	}
	ev.Line(fmt.Sprintf(`/health: {"status":%q,"model_version":%q,"ready":%v}`, h.Status, h.ModelVersion, h.Ready))
	if h.Status != "healthy" || !h.Ready {
		return Result{Verdict: Fail, Finding: fmt.Sprintf("/health is not %s: status %q, ready %v, %s", ExpectedHealth, h.Status, h.Ready, orNone(h.Reason)),
			Evidence: ev, Fix: healthFix(h)}
	}
	t0 := env.Now()
	p, err := c.Predict(ctx, SampleListing(), engine.PredictOptions{})
	ev.Add("sample predict", ms(since(env, t0)), "ms")
	if err != nil {
		return Result{Verdict: Fail, Finding: "sample /predict failed: " + oneLine(err.Error()), Evidence: ev,
			Fix: &Fix{Runbook: "api-500-missing-column", Hint: "the model cannot price a listing"}}
	}
	if math.IsNaN(p.Price) || math.IsInf(p.Price, 0) || p.Price <= 0 {
		return Result{Verdict: Fail, Finding: fmt.Sprintf("sample /predict answered a nonsensical price %v", p.Price), Evidence: ev,
			Fix: &Fix{Runbook: "retrain-compare", Step: "rollback", Hint: "roll back to the previous champion"}}
	}
	ev.Add("sample price", p.Price, "")
	ev.Line(fmt.Sprintf("/predict ford f-150 2015: $%.0f by model %s", p.Price, ver(p.ModelVersion)))
	aliases, err := modelAliases(ctx, c)
	switch {
	case errors.Is(err, engine.ErrUnavailable):
		return Result{Verdict: Pass, Finding: fmt.Sprintf("healthy and predicting with %s (champion unknown: no model store)", ver(h.ModelVersion)), Evidence: ev}
	case err != nil:
		return Result{Verdict: Error, Finding: "list models: " + oneLine(err.Error()), Evidence: ev}
	}
	champ, ok := aliases["champion"]
	ev.Line("champion: " + ver(champ))
	if !ok {
		return Result{Verdict: Warn, Finding: fmt.Sprintf("healthy and predicting with %s, but no model is champion", ver(h.ModelVersion)), Evidence: ev,
			Fix: &Fix{Runbook: "retrain-compare", Step: "promote", Hint: "promote a model to champion"}}
	}
	served := strings.TrimPrefix(h.ModelVersion, "v")
	if p.ModelVersion != "" && strings.TrimPrefix(p.ModelVersion, "v") != served {
		served = strings.TrimPrefix(p.ModelVersion, "v")
	}
	if served != champ {
		return Result{Verdict: Fail, Finding: fmt.Sprintf("serving v%s but the champion is v%s", served, champ), Evidence: ev,
			Fix: &Fix{Runbook: "deploy-verify", Step: "reload-config", Hint: "the service did not pick up the champion: reload or restart it"}}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("healthy, /predict answers, serving the champion v%s", champ), Evidence: ev}
}

// modelAliases maps alias → version from the registry.
func modelAliases(ctx context.Context, c engine.Client) (map[string]string, error) {
	vs, err := c.Models(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, v := range vs {
		for _, a := range v.Aliases {
			out[a] = strings.TrimPrefix(v.Version, "v")
		}
	}
	return out, nil
}

// pickLatency selects the endpoint's stats: the one named, else "all", else the first.
func pickLatency(ls []engine.LatencyStats, endpoint string) (engine.LatencyStats, bool) {
	for _, want := range []string{endpoint, "all"} {
		if i := slices.IndexFunc(ls, func(l engine.LatencyStats) bool { return l.Endpoint == want }); i >= 0 {
			return ls[i], true
		}
	}
	if len(ls) > 0 {
		return ls[0], true
	}
	return engine.LatencyStats{}, false
}

func snapshot(ctx context.Context, in Input) (engine.Snapshot, time.Duration, error) {
	w := in.Params.Duration("window", 5*time.Minute)
	s, err := in.Env.Client().Snapshot(ctx, w)
	return s, w, err
}

func runLatency(ctx context.Context, in Input) Result {
	s, w, err := snapshot(ctx, in)
	if err != nil {
		return errorf("snapshot: %s", oneLine(err.Error()))
	}
	l, ok := pickLatency(s.Latency, in.Params.String("endpoint", "/predict"))
	if !ok || l.Count == 0 {
		return Result{Verdict: Skipped, Finding: fmt.Sprintf("no requests in the last %s: nothing to judge", w)}
	}
	var ev Evidence
	ev.Add("requests", float64(l.Count), "count")
	ev.Add("rps", l.RPS, "")
	ev.Add("p50", l.P50MS, "ms")
	ev.Add("p95", l.P95MS, "ms")
	ev.Add("p99", l.P99MS, "ms")
	ev.Add("max", l.MaxMS, "ms")
	ev.Row("endpoint", "count", "p50", "p95", "p99", "max")
	for _, e := range s.Latency {
		ev.Row(e.Endpoint, fmt.Sprint(e.Count), fmtMS(e.P50MS), fmtMS(e.P95MS), fmtMS(e.P99MS), fmtMS(e.MaxMS))
	}
	slo := s.SLO
	fix := &Fix{Runbook: "high-latency", Hint: "find what makes requests slow (load, model size, disk)"}
	var over, near []string
	for _, q := range []struct {
		name     string
		v, limit float64
	}{{"p99", l.P99MS, slo.P99MS}, {"p95", l.P95MS, slo.P95MS}, {"p50", l.P50MS, slo.P50MS}} {
		switch {
		case q.limit <= 0:
		case q.v > q.limit:
			over = append(over, fmt.Sprintf("%s %s > %s", q.name, fmtMS(q.v), fmtMS(q.limit)))
		case q.v > 0.8*q.limit:
			near = append(near, fmt.Sprintf("%s %s near %s", q.name, fmtMS(q.v), fmtMS(q.limit)))
		}
	}
	where := fmt.Sprintf("%s over %s (%d requests)", l.Endpoint, w, l.Count)
	switch {
	case len(over) > 0:
		return Result{Verdict: Fail, Finding: "over the SLO: " + strings.Join(over, ", ") + " on " + where, Evidence: ev, Fix: fix}
	case len(near) > 0:
		return Result{Verdict: Warn, Finding: "close to the SLO: " + strings.Join(near, ", ") + " on " + where, Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("p95 %s, p99 %s within the SLO on %s", fmtMS(l.P95MS), fmtMS(l.P99MS), where), Evidence: ev}
}

func runErrors(ctx context.Context, in Input) Result {
	s, w, err := snapshot(ctx, in)
	if err != nil {
		return errorf("snapshot: %s", oneLine(err.Error()))
	}
	l, ok := pickLatency(s.Latency, in.Params.String("endpoint", "/predict"))
	if !ok || l.Count == 0 {
		return Result{Verdict: Skipped, Finding: fmt.Sprintf("no requests in the last %s: nothing to judge", w)}
	}
	var ev Evidence
	ev.Add("requests", float64(l.Count), "count")
	ev.Add("2xx", l.Rate2xx, "share")
	ev.Add("4xx", l.Rate4xx, "share")
	ev.Add("5xx", l.Rate5xx, "share")
	ev.Row("endpoint", "count", "2xx", "4xx", "5xx")
	for _, e := range s.Latency {
		ev.Row(e.Endpoint, fmt.Sprint(e.Count), pct(e.Rate2xx), pct(e.Rate4xx), pct(e.Rate5xx))
	}
	for _, a := range s.Alerts {
		if a.State == "firing" && strings.Contains(a.Name, "error") {
			ev.Line(fmt.Sprintf("alert %s firing since %s", a.Name, a.Since.Format(time.RFC3339)))
		}
	}
	limit := s.SLO.ErrorRate
	if limit <= 0 {
		limit = 0.01
	}
	rate := l.Rate5xx
	if rate == 0 && l.ErrorRate > 0 {
		rate = l.ErrorRate
	}
	fix := &Fix{Runbook: "error-rate", Hint: "read the failing requests' log lines; roll back if a new model causes them"}
	where := fmt.Sprintf("%s over %s (%d requests)", l.Endpoint, w, l.Count)
	switch {
	case rate > limit:
		return Result{Verdict: Fail, Finding: fmt.Sprintf("5xx rate %s > %s on %s", pct(rate), pct(limit), where), Evidence: ev, Fix: fix}
	case rate > limit/2:
		return Result{Verdict: Warn, Finding: fmt.Sprintf("5xx rate %s close to %s on %s", pct(rate), pct(limit), where), Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("5xx rate %s ≤ %s on %s", pct(rate), pct(limit), where), Evidence: ev}
}

func fmtMS(v float64) string { return Number{Value: v, Unit: "ms"}.Text() }
func pct(v float64) string   { return Number{Value: v, Unit: "share"}.Text() }

// ver prints a model version as "v7" whether it is stored as "7" or "v7".
func ver(s string) string {
	if s == "" {
		return "none"
	}
	return "v" + strings.TrimPrefix(s, "v")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// oneLine keeps the first line of a message, shortened.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return Shorten(s, 200)
}
