package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"carvision/engine"
	"carvision/engine/features"
)

func init() {
	register(&Check{ID: "schema.config_vs_model", Title: "Config columns against the served model",
		Help:    "the features config.yaml (training.features, preprocessing.drop_columns) makes of a request against the served model's schema.",
		Timeout: 5 * time.Second, Run: runSchema})
}

// ConfigFeatures is what the config makes of the model's inputs: the listed
// training.features (or the default set) without drop_columns.
func ConfigFeatures(listed, drop []string) []string {
	if len(listed) == 0 {
		return features.Names(drop)
	}
	var out []string
	for _, n := range listed {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

func runSchema(ctx context.Context, in Input) Result {
	cfg := in.Env.Config()
	drop := cfg.Preprocessing.DropColumns
	want := ConfigFeatures(cfg.Training.Features, drop)
	m, err := in.Env.Client().Model(ctx)
	switch {
	case errors.Is(err, engine.ErrUnavailable):
		return Result{Verdict: Skipped, Finding: "this engine does not describe its model"}
	case err != nil:
		return Result{Verdict: Fail, Finding: "no served model to compare with: " + oneLine(err.Error()),
			Fix: &Fix{Runbook: "retrain-compare", Step: "repro", Hint: "train a model (repro) and promote it"}}
	}
	have := make([]string, len(m.Features))
	for i, f := range m.Features {
		have[i] = f.Name
	}
	var dropped, onlyModel, onlyConfig []string
	var ev Evidence
	ev.Row("feature", "model "+ver(m.Version), "config", "status")
	for _, f := range have {
		switch {
		case slices.Contains(drop, f):
			dropped = append(dropped, f)
			ev.Row(f, "yes", "dropped", "MISSING COLUMN")
		case !slices.Contains(want, f):
			onlyModel = append(onlyModel, f)
			ev.Row(f, "yes", "no", "next retrain drops it")
		default:
			ev.Row(f, "yes", "yes", "ok")
		}
	}
	for _, f := range want {
		if !slices.Contains(have, f) {
			onlyConfig = append(onlyConfig, f)
			ev.Row(f, "no", "yes", "model lacks it")
		}
	}
	ev.Add("model features", float64(len(have)), "count")
	ev.Add("config features", float64(len(want)), "count")
	ev.Line("config drop_columns: [" + strings.Join(drop, ", ") + "]")
	ev.Line(fmt.Sprintf("model %s trained with drop_columns: [%s]", ver(m.Version), strings.Join(m.DropColumns, ", ")))
	added, removed := setDiff(drop, m.DropColumns)
	var relevant []string
	for _, c := range append(slices.Clone(added), removed...) {
		if slices.Contains(have, c) || slices.Contains(features.DefaultNames, c) {
			relevant = append(relevant, c)
		}
	}
	switch {
	case len(dropped) > 0:
		return Result{Verdict: Fail,
			Finding: fmt.Sprintf("Missing column %q: model %s uses %s but config drop_columns removes %s",
				dropped[0], ver(m.Version), plural(len(dropped), "it", "them"), strings.Join(dropped, ", ")),
			Evidence: ev,
			Fix: &Fix{Runbook: "api-500-missing-column", Step: "reload-config",
				Hint: "remove " + strings.Join(dropped, ", ") + " from preprocessing.drop_columns and reload the config (or roll back to a model trained without it)"}}
	case len(onlyConfig) > 0 || len(onlyModel) > 0 || len(relevant) > 0:
		var parts []string
		if len(onlyConfig) > 0 {
			parts = append(parts, "config expects "+strings.Join(onlyConfig, ", ")+" which the model lacks")
		}
		if len(onlyModel) > 0 {
			parts = append(parts, "the next retrain would drop "+strings.Join(onlyModel, ", "))
		}
		if len(relevant) > 0 && len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("drop_columns changed since %s was trained (%s)", ver(m.Version), strings.Join(relevant, ", ")))
		}
		return Result{Verdict: Warn, Finding: strings.Join(parts, "; "), Evidence: ev,
			Fix: &Fix{Runbook: "retrain-compare", Step: "repro", Hint: "retrain so the model and the config agree again"}}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("config and model %s agree on %d features", ver(m.Version), len(have)), Evidence: ev}
}

// setDiff returns what b lacks of a (added) and what a lacks of b (removed).
func setDiff(a, b []string) (added, removed []string) {
	for _, x := range a {
		if !slices.Contains(b, x) {
			added = append(added, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
