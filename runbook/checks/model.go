package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"carvision/engine"
)

func init() {
	register(&Check{ID: "model.regression", Title: "Challenger against champion on the gate",
		Help:    "the promotion gate for the challenger: absolute thresholds and no regression against the champion on the same test rows.",
		Timeout: 30 * time.Second, Run: runRegression})
}

func runRegression(ctx context.Context, in Input) Result {
	c := in.Env.Client()
	aliases, err := modelAliases(ctx, c)
	switch {
	case errors.Is(err, engine.ErrUnavailable):
		return Result{Verdict: Skipped, Finding: "this engine has no model store"}
	case err != nil:
		return errorf("list models: %s", oneLine(err.Error()))
	}
	champ, hasChamp := aliases["champion"]
	chall, hasChall := aliases["challenger"]
	var ev Evidence
	ev.Line("champion: " + ver(champ))
	ev.Line("challenger: " + ver(chall))
	switch {
	case !hasChall:
		return Result{Verdict: Skipped, Finding: "no challenger to compare: retrain first", Evidence: ev,
			Fix: &Fix{Runbook: "retrain-compare", Step: "repro", Hint: "run repro to train a challenger"}}
	case hasChamp && champ == chall:
		return Result{Verdict: Pass, Finding: fmt.Sprintf("the challenger %s is already champion", ver(chall)), Evidence: ev}
	}
	base := champ
	if !hasChamp {
		base = chall
	}
	d, err := c.CompareModels(ctx, base, chall)
	if err != nil {
		return errorf("compare %s with %s: %s", ver(base), ver(chall), oneLine(err.Error()))
	}
	ev.Row("metric", ver(base), ver(chall), "change")
	for _, r := range d.Metrics {
		name := r.Name
		if r.Path != "" && !strings.Contains(name, ".") {
			name = r.Path + "." + r.Name
		}
		ev.Row(name, r.Old, r.New, r.Change)
	}
	for _, r := range d.Gate.Reasons {
		ev.Line("gate: " + r)
	}
	if !d.Gate.Pass {
		var failed []string
		for _, r := range d.Gate.Reasons {
			if !strings.HasPrefix(r, "✓") {
				failed = append(failed, strings.TrimSpace(strings.TrimPrefix(r, "✗")))
			}
		}
		return Result{Verdict: Fail, Finding: fmt.Sprintf("challenger %s fails the gate against %s: %s", ver(chall), ver(base), strings.Join(failed, "; ")),
			Evidence: ev, Fix: &Fix{Runbook: "retrain-compare", Step: "repro",
				Hint: "keep the champion; look at the data and filters, then retrain"}}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("challenger %s passes the gate against champion %s", ver(chall), ver(base)), Evidence: ev}
}
