package enginefake

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"carvision/engine"
)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestSnapshotIsAFunctionOfTheClock(t *testing.T) {
	at := EpisodeTime(290)
	a := New(Options{Clock: fixed(at)})
	b := New(Options{Clock: fixed(at)})
	ctx := context.Background()
	sa, _ := a.Snapshot(ctx, 5*time.Minute)
	sb, _ := b.Snapshot(ctx, 5*time.Minute)
	if !reflect.DeepEqual(sa, sb) {
		t.Fatal("two fakes on the same clock disagree")
	}
	if len(sa.History) != 120 || !sa.History[119].T.Equal(at) {
		t.Fatalf("history: %d points ending %v", len(sa.History), sa.History[len(sa.History)-1].T)
	}
}

func TestEpisodes(t *testing.T) {
	ctx := context.Background()
	state := func(s engine.Snapshot, name string) string {
		for _, a := range s.Alerts {
			if a.Name == name {
				return a.State
			}
		}
		return "missing"
	}
	for _, tc := range []struct {
		into                 int
		latency, drift, http string
		driftStatus          string
	}{
		{60, "inactive", "inactive", "inactive", "ok"},
		{250, "pending", "firing", "inactive", "drift"},
		{290, "firing", "firing", "inactive", "drift"},
		{470, "inactive", "inactive", "firing", "ok"},
	} {
		f := New(Options{Clock: fixed(EpisodeTime(tc.into))})
		s, err := f.Snapshot(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got := state(s, "LatencyP95High"); got != tc.latency {
			t.Errorf("%ds: latency alert %s, want %s", tc.into, got, tc.latency)
		}
		if got := state(s, "DriftVehicleAge"); got != tc.drift {
			t.Errorf("%ds: drift alert %s, want %s", tc.into, got, tc.drift)
		}
		if got := state(s, "ClientErrorsHigh"); got != tc.http {
			t.Errorf("%ds: 4xx alert %s, want %s", tc.into, got, tc.http)
		}
		if s.Drift.Status != tc.driftStatus {
			t.Errorf("%ds: drift %s, want %s", tc.into, s.Drift.Status, tc.driftStatus)
		}
		if s.Latency[0].ErrorRate > s.SLO.ErrorRate {
			t.Errorf("%ds: the malformed burst must stay 4xx, 5xx rate %v", tc.into, s.Latency[0].ErrorRate)
		}
	}
}

func TestRetrainIsPacedByTheClock(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	f := New(Options{Clock: fixed(EpisodeTime(10)), After: clock.After, Step: time.Second})
	ch, err := f.Retrain(context.Background(), engine.RetrainRequest{ActionRequest: engine.ActionRequest{Actor: engine.Actor{Name: "ana"}}})
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	if first.Stage != "validate" || first.Done {
		t.Fatalf("first event %+v", first)
	}
	if _, err := f.Retrain(context.Background(), engine.RetrainRequest{}); err == nil {
		t.Fatal("a second concurrent retrain was accepted")
	}
	var last engine.PipelineEvent
	n := 1
	for i := 0; i < RetrainSteps; i++ {
		clock.BlockUntil(1)
		clock.Advance(time.Second)
		last = <-ch
		n++
	}
	if _, open := <-ch; open {
		t.Fatal("channel not closed after the last event")
	}
	if n != RetrainSteps+1 || !last.Done || last.Version != "7" {
		t.Fatalf("%d events, last %+v", n, last)
	}
	ms, _ := f.Models(context.Background())
	if ms[0].Version != "7" || !reflect.DeepEqual(ms[0].Aliases, []string{"challenger"}) {
		t.Fatalf("newest version %+v", ms[0])
	}
	st, _ := f.PipelineStatus(context.Background())
	if st.Running || len(st.InputsChanged) != 0 || st.LastRun != "run-0007" {
		t.Fatalf("status after run %+v", st)
	}
	d, _ := f.CompareModels(context.Background(), "6", "7")
	if !d.Gate.Pass {
		t.Fatalf("the new model should pass the gate: %+v", d.Gate)
	}
}

func TestRetrainCancelled(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	f := New(Options{After: clock.After})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := f.Retrain(ctx, engine.RetrainRequest{})
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	cancel()
	var last engine.PipelineEvent
	for e := range ch {
		last = e
	}
	if last.Err != "cancelled" && last.Stage != "" {
		t.Fatalf("last event after cancel %+v", last)
	}
	if f.Retraining() {
		t.Fatal("still running after cancel")
	}
}

func TestPromoteRollback(t *testing.T) {
	f := New(Options{})
	ctx := context.Background()
	champion := func() string {
		ms, _ := f.Models(ctx)
		for _, m := range ms {
			for _, a := range m.Aliases {
				if a == "champion" {
					return m.Version
				}
			}
		}
		return ""
	}
	if err := f.Promote(ctx, "3", engine.ActionRequest{Reason: "test"}); err != nil || champion() != "3" {
		t.Fatalf("promote: %v, champion %s", err, champion())
	}
	if err := f.Promote(ctx, "42", engine.ActionRequest{}); err == nil {
		t.Fatal("unknown version promoted")
	}
	if err := f.Rollback(ctx, engine.ActionRequest{}); err != nil || champion() != "6" {
		t.Fatalf("rollback: %v, champion %s", err, champion())
	}
	remote := New(Options{Caps: &engine.Capabilities{Why: "attached to a remote API"}})
	if err := remote.Promote(ctx, "3", engine.ActionRequest{}); !errors.Is(err, engine.ErrUnavailable) || !strings.Contains(err.Error(), "remote API") {
		t.Fatalf("remote promote: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		valid bool
		line  int
	}{
		{"default", defaultConfig, true, 0},
		{"unknown key", defaultConfig + "bogus: 1\n", false, 24},
		{"bad yaml (line as yaml.v3 reports it)", "data:\n  raw: x\n\tbad: tab\n", false, 2},
		{"not a mapping", "- a\n- b\n", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New(Options{})
			f.WriteConfig(tc.text)
			st, _ := f.Config(context.Background())
			if st.Valid != tc.valid || st.Line != tc.line {
				t.Fatalf("valid %v line %d (%s), want %v line %d", st.Valid, st.Line, st.Error, tc.valid, tc.line)
			}
			if !tc.valid {
				_, err := f.ReloadConfig(context.Background(), engine.ActionRequest{})
				if err == nil || !strings.Contains(err.Error(), "line") {
					t.Fatalf("reload of an invalid file: %v", err)
				}
			}
		})
	}
}

func TestConfigChangePublishesEvent(t *testing.T) {
	f := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := f.Events(ctx)
	f.WriteConfig("bogus: 1\n")
	e := <-ch
	if e.Kind != "config" || !strings.Contains(e.Message, "line 1") {
		t.Fatalf("event %+v", e)
	}
}

func TestLogsFilterAndOrder(t *testing.T) {
	f := New(Options{Clock: fixed(EpisodeTime(470))})
	ctx := context.Background()
	all, _ := f.Logs(ctx, engine.LogQuery{Level: "debug", Limit: 10000})
	if len(all) < 100 {
		t.Fatalf("backlog too small: %d", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.After(all[i-1].At) {
			t.Fatalf("line %d out of order: the newest come first", i)
		}
	}
	warn, _ := f.Logs(ctx, engine.LogQuery{Level: "warn", Search: "422", Limit: 5})
	if len(warn) == 0 || len(warn) > 5 {
		t.Fatalf("%d warn lines", len(warn))
	}
	for _, l := range warn {
		if l.Level != "warn" || !strings.Contains(l.Raw, "422") {
			t.Fatalf("filtered line %+v", l)
		}
	}
}

func TestPredict(t *testing.T) {
	f := New(Options{Clock: fixed(EpisodeTime(0))})
	ctx := context.Background()
	l := engine.EmptyListing()
	if _, err := f.Predict(ctx, l, engine.PredictOptions{}); !IsFieldError(err) || !strings.Contains(err.Error(), "model") {
		t.Fatalf("missing model: %v", err)
	}
	l.Model, l.ModelYear, l.Odometer = "ford f-150", 2024, 88000
	p, err := f.Predict(ctx, l, engine.PredictOptions{Explain: true, Comparables: 5})
	if err != nil {
		t.Fatal(err)
	}
	sum := p.BaseValue
	for _, c := range p.Contributions {
		sum += c.Amount
	}
	if math.Abs(sum-p.Price) > 0.5 {
		t.Fatalf("contributions sum to %v, price %v", sum, p.Price)
	}
	if len(p.Comparables) != 5 || p.Interval == nil || p.Interval.Lower >= p.Price || p.Interval.Upper <= p.Price {
		t.Fatalf("insight parts: %+v", p)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "beyond the training range") {
		t.Fatalf("warnings %v", p.Warnings)
	}
}
