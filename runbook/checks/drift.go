package checks

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"carvision/engine"
)

func init() {
	register(&Check{ID: "drift.vehicle_age", Title: "vehicle_age of recent requests against training",
		Help: "PSI and KS of the served requests' vehicle_age against the model's training reference, and the share of model years newer than any seen in training (the \"2025 cars\" case).",
		Params: []ParamSpec{{Name: "max_out_of_range", Kind: KindNumber, Help: "fail above this share of requests beyond the training years (default 0.05)"},
			{Name: "warn_out_of_range", Kind: KindNumber, Help: "warn above this share (default 0.01)"}},
		Timeout: 5 * time.Second, Run: runDriftAge})
	register(&Check{ID: "drift.dataset", Title: "Dataset drift and the retrain recommendation",
		Help:    "the drift report over every monitored feature: share of drifted features, the retrain recommendation and its reason.",
		Timeout: 5 * time.Second, Run: runDriftDataset})
}

func driftSummary(ctx context.Context, in Input) (engine.DriftSummary, *Result) {
	s, err := in.Env.Client().Snapshot(ctx, 5*time.Minute)
	if err != nil {
		r := errorf("snapshot: %s", oneLine(err.Error()))
		return s.Drift, &r
	}
	d := s.Drift
	switch d.Status {
	case "collecting", "":
		r := Result{Verdict: Skipped, Finding: fmt.Sprintf("collecting: %d of the %d requests a verdict needs", d.WindowSize, d.MinWindow)}
		return d, &r
	}
	return d, nil
}

func driftFix() *Fix {
	return &Fix{Runbook: "low-accuracy-drift", Step: "repro", Hint: "retrain with newer data that covers what users now ask about"}
}

func runDriftAge(ctx context.Context, in Input) Result {
	d, early := driftSummary(ctx, in)
	if early != nil {
		return *early
	}
	var f *engine.FeatureDrift
	for _, name := range []string{"vehicle_age", "model_year"} {
		for i := range d.Features {
			if d.Features[i].Feature == name && f == nil {
				f = &d.Features[i]
			}
		}
	}
	var ev Evidence
	ev.Add("window", float64(d.WindowSize), "count")
	ev.Add("out of range", d.OutOfRangeShare, "share")
	ev.Add("max training year", float64(d.MaxTrainYear), "")
	if f == nil {
		return Result{Verdict: Skipped, Finding: "the drift report has no vehicle_age (nor model_year) feature", Evidence: ev}
	}
	ev.Add("psi", f.PSI, "")
	ev.Add("ks", f.KS, "")
	ev.Add("ks p-value", f.KSP, "")
	if f.Wasserstein != 0 {
		ev.Add("wasserstein", f.Wasserstein, "")
	}
	if len(f.Bins) > 0 {
		ev.Row("bin", "training", "recent")
		for i, b := range f.Bins {
			ev.Row(b, pct(at(f.RefShare, i)), pct(at(f.CurShare, i)))
		}
	}
	maxOOR, warnOOR := in.Params.Number("max_out_of_range", 0.05), in.Params.Number("warn_out_of_range", 0.01)
	beyond := ""
	if d.OutOfRangeShare > 0 {
		beyond = fmt.Sprintf("%s of requests are model years after %d, beyond training", pct(d.OutOfRangeShare), d.MaxTrainYear)
	}
	test := fmt.Sprintf("%s %.3f vs limit %.2f", strings.ToUpper(orNone(f.Test)), f.Score, f.Threshold)
	switch {
	case f.Drifted || d.OutOfRangeShare > maxOOR:
		parts := []string{}
		if f.Drifted {
			parts = append(parts, f.Feature+" drifted: "+test)
		}
		if beyond != "" {
			parts = append(parts, beyond)
		}
		return Result{Verdict: Fail, Finding: strings.Join(parts, "; ") + ": concept drift", Evidence: ev, Fix: driftFix()}
	case d.OutOfRangeShare > warnOOR:
		return Result{Verdict: Warn, Finding: beyond + " (" + test + ")", Evidence: ev, Fix: driftFix()}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("%s stable: %s; %s beyond training", f.Feature, test, pct(d.OutOfRangeShare)), Evidence: ev}
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func runDriftDataset(ctx context.Context, in Input) Result {
	d, early := driftSummary(ctx, in)
	if early != nil {
		return *early
	}
	var ev Evidence
	ev.Add("window", float64(d.WindowSize), "count")
	ev.Add("drift share", d.DriftShare, "share")
	ev.Add("out of range", d.OutOfRangeShare, "share")
	fs := append([]engine.FeatureDrift(nil), d.Features...)
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Drifted != fs[j].Drifted {
			return fs[i].Drifted
		}
		return ratio(fs[i]) > ratio(fs[j])
	})
	var drifted []string
	ev.Row("feature", "test", "score", "limit", "verdict")
	for _, f := range fs {
		v := "ok"
		if f.Drifted {
			v = "drift"
			drifted = append(drifted, f.Feature)
		}
		ev.Row(f.Feature, f.Test, fmt.Sprintf("%.3f", f.Score), fmt.Sprintf("%.2f", f.Threshold), v)
	}
	if d.Reason != "" {
		ev.Line("recommendation: " + d.Reason)
	}
	n := len(d.Features)
	switch {
	case d.DatasetDrift || d.RecommendRetrain:
		why := fmt.Sprintf("%d of %d features drifted (%s)", len(drifted), n, strings.Join(drifted, ", "))
		if d.RecommendRetrain {
			why += "; retrain recommended: " + orNone(d.Reason)
		}
		return Result{Verdict: Fail, Finding: why, Evidence: ev, Fix: driftFix()}
	case len(drifted) > 0:
		return Result{Verdict: Warn, Finding: fmt.Sprintf("%d of %d features drifted (%s), below the dataset share %s",
			len(drifted), n, strings.Join(drifted, ", "), pct(d.DriftShare)), Evidence: ev, Fix: driftFix()}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("no drift over %d features (%d requests)", n, d.WindowSize), Evidence: ev}
}

func ratio(f engine.FeatureDrift) float64 {
	if f.Threshold <= 0 {
		return f.Score
	}
	return f.Score / f.Threshold
}
