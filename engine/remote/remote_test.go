package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/serve"
)

// fakeModel records what reached it.
type fakeModel struct {
	version string
	schema  error
	mu      sync.Mutex
	last    engine.Listing
	lastOpt engine.PredictOptions
}

func (m *fakeModel) Version() string { return m.version }
func (m *fakeModel) Info() engine.ModelInfo {
	return engine.ModelInfo{Version: m.version, Kind: "gbdt", DataHash: "abc", DropColumns: []string{"days_listed"}}
}
func (m *fakeModel) SchemaCheck() error { return m.schema }
func (m *fakeModel) Predict(l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	m.mu.Lock()
	m.last, m.lastOpt = l, opt
	m.mu.Unlock()
	p := engine.Prediction{Price: 1000 + l.ModelYear, Interval: &engine.Interval{Lower: 900, Upper: 1100, Coverage: 0.8}}
	if l.Model == "mystery" {
		p.Warnings = []string{`unknown model "mystery"`}
	}
	if opt.Explain {
		p.Contributions = []engine.Contribution{{Feature: "model_year", Value: "2014", Amount: 12.5}}
	}
	return p, nil
}

type env struct {
	holder *serve.Holder
	client *Client
	http   *httptest.Server
	events chan []engine.Event
	filter chan engine.MarketFilter
	polls  chan struct{} // one value per /snapshot served
}

func newEnv(t *testing.T, m serve.Model, market bool) *env {
	t.Helper()
	e := &env{holder: serve.NewHolder(m), events: make(chan []engine.Event, 1), filter: make(chan engine.MarketFilter, 1), polls: make(chan struct{}, 1000)}
	opt := serve.Options{StrictFields: true, Models: e.holder,
		SnapshotFunc: func(_ context.Context, w time.Duration) (engine.Snapshot, error) {
			select {
			case e.polls <- struct{}{}:
			default:
			}
			s := engine.Snapshot{Latency: []engine.LatencyStats{{Endpoint: "all", P99MS: 0.7}}}
			select {
			case evs := <-e.events:
				s.Events = evs
			default:
			}
			return s, nil
		}}
	if market {
		opt.MarketFunc = func(_ context.Context, f engine.MarketFilter) (engine.MarketReport, error) {
			e.filter <- f
			return engine.MarketReport{ReferenceYear: 2019, Filter: f}, nil
		}
	}
	e.http = httptest.NewServer(serve.New(opt))
	t.Cleanup(e.http.Close)
	e.client = New(e.http.URL+"/", nil)
	return e
}

func TestHealthAndModel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &fakeModel{version: "v3"}, false)
	h, err := e.client.Health(ctx)
	if err != nil || h.Status != "healthy" || h.ModelVersion != "v3" || !h.Ready {
		t.Fatalf("health %+v, %v", h, err)
	}
	m, err := e.client.Model(ctx)
	if err != nil || m.Version != "v3" || m.DataHash != "abc" {
		t.Fatalf("model %+v, %v", m, err)
	}
	e.holder.Swap(&fakeModel{version: "v4", schema: errors.New(`Missing column "brand"`)})
	h, err = e.client.Health(ctx)
	if err != nil || h.Status != "unhealthy" || !strings.Contains(h.Reason, `Missing column "brand"`) {
		t.Fatalf("unhealthy health %+v, %v", h, err)
	}
	e.holder.Swap(nil)
	if _, err := e.client.Model(ctx); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("model without a model: %v", err)
	}
}

func TestPredict(t *testing.T) {
	ctx := context.Background()
	fm := &fakeModel{version: "v3"}
	e := newEnv(t, fm, false)
	l := engine.EmptyListing()
	l.ModelYear, l.Model, l.Odometer, l.Is4WD, l.Price, l.DaysListed = 2014, "ford f-150", 98000, 1, 12345, 17
	p, err := e.client.Predict(ctx, l, engine.PredictOptions{Explain: true, Comparables: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p.Price != 3014 || p.ModelVersion != "v3" || p.RequestID == "" || p.Warnings == nil || p.Interval == nil || p.Interval.Coverage != 0.8 {
		t.Errorf("prediction %+v", p)
	}
	if len(p.Contributions) != 1 || p.Contributions[0].Amount != 12.5 {
		t.Errorf("explain not forwarded: %+v", p.Contributions)
	}
	fm.mu.Lock()
	got, opt := fm.last, fm.lastOpt
	fm.mu.Unlock()
	if got.ModelYear != 2014 || got.Odometer != 98000 || got.Is4WD != 1 || !math.IsNaN(got.Cylinders) || got.Condition != "" ||
		!math.IsNaN(got.Price) || !math.IsNaN(got.DaysListed) || opt.Comparables != 3 || !opt.Explain {
		t.Errorf("model saw %+v %+v (missing must stay missing; price never sent)", got, opt)
	}
	l.Model = "mystery"
	if p, err := e.client.Predict(ctx, l, engine.PredictOptions{}); err != nil || len(p.Warnings) != 1 {
		t.Errorf("warning lost: %+v %v", p, err)
	}
}

func TestPredictErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &fakeModel{version: "v3"}, false)
	l := engine.EmptyListing()
	l.ModelYear, l.Model, l.Odometer = 1800, "x", -5
	_, err := e.client.Predict(ctx, l, engine.PredictOptions{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || len(ae.Fields) != 2 || ae.Fields[0].Field != "model_year" || ae.Fields[1].Field != "odometer" || ae.RequestID == "" {
		t.Fatalf("422: %#v", err)
	}
	if !strings.Contains(err.Error(), "model_year: Input should be greater than or equal to 1900") {
		t.Errorf("message %q", err)
	}
	e.holder.Swap(nil)
	l.ModelYear, l.Odometer = 2011, 5
	if _, err := e.client.Predict(ctx, l, engine.PredictOptions{}); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("no model: %v", err)
	}
	dead := New("http://127.0.0.1:1", nil)
	if _, err := dead.Health(ctx); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestSnapshotAndMarket(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &fakeModel{version: "v3"}, true)
	s, err := e.client.Snapshot(ctx, 90*time.Second)
	if err != nil || s.Window != 90*time.Second || s.Model.Version != "v3" || s.Health.Status != "healthy" || len(s.Latency) != 1 {
		t.Fatalf("snapshot %+v %v", s, err)
	}
	f := engine.MarketFilter{MinPrice: 1000, MaxPrice: 5e4, MinYear: 2005, MaxYear: 2018, Brands: []string{"ford", "bmw"}, Year: 2019}
	r, err := e.client.Market(ctx, f)
	if err != nil || r.ReferenceYear != 2019 {
		t.Fatalf("market %+v %v", r, err)
	}
	if got := <-e.filter; fmt.Sprint(got) != fmt.Sprint(f) {
		t.Errorf("server saw filter %+v, want %+v", got, f)
	}
	e2 := newEnv(t, &fakeModel{version: "v3"}, false)
	if _, err := e2.client.Market(ctx, engine.MarketFilter{}); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("market not served: %v", err)
	}
}

func TestStoreActionsUnavailable(t *testing.T) {
	ctx := context.Background()
	c := New("http://127.0.0.1:9", nil)
	req := engine.ActionRequest{}
	calls := map[string]func() error{
		"Models":         func() error { _, err := c.Models(ctx); return err },
		"CompareModels":  func() error { _, err := c.CompareModels(ctx, "a", "b"); return err },
		"Promote":        func() error { return c.Promote(ctx, "v1", req) },
		"Rollback":       func() error { return c.Rollback(ctx, req) },
		"Retrain":        func() error { _, err := c.Retrain(ctx, engine.RetrainRequest{}); return err },
		"PipelineStatus": func() error { _, err := c.PipelineStatus(ctx); return err },
		"Logs":           func() error { _, err := c.Logs(ctx, engine.LogQuery{}); return err },
		"Config":         func() error { _, err := c.Config(ctx); return err },
		"ReloadConfig":   func() error { _, err := c.ReloadConfig(ctx, req); return err },
		"SetDemo":        func() error { return c.SetDemo(ctx, true) },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, engine.ErrUnavailable) || !strings.Contains(err.Error(), "remote API") {
			t.Errorf("%s: %v", name, err)
		}
	}
	caps := c.Capabilities()
	if caps.Store || caps.Logs || caps.Config || caps.Demo || caps.Why == "" {
		t.Errorf("capabilities %+v", caps)
	}
}

func TestEventsFromPolling(t *testing.T) {
	e := newEnv(t, &fakeModel{version: "v1"}, false)
	e.client.PollInterval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := e.client.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want string) engine.Event {
		t.Helper()
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					t.Fatalf("channel closed waiting for %q", want)
				}
				if strings.Contains(ev.Message, want) {
					return ev
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no event %q", want)
			}
		}
	}
	// The second poll proves the first (which saw v1) was processed.
	for i := 0; i < 2; i++ {
		select {
		case <-e.polls:
		case <-time.After(10 * time.Second):
			t.Fatal("no poll")
		}
	}
	e.holder.Swap(&fakeModel{version: "v2"})
	if ev := next("model v1 → v2"); ev.Kind != "reload" {
		t.Errorf("kind %q", ev.Kind)
	}
	e.holder.Swap(nil)
	next("health: unhealthy (no model loaded)")
	e.events <- []engine.Event{{At: time.Now(), Kind: "promote", Actor: "ana", Message: "v2 promoted to champion"}}
	if ev := next("promoted"); ev.Actor != "ana" {
		t.Errorf("server event %+v", ev)
	}
	e.http.CloseClientConnections()
	e.http.Close()
	next("API unreachable")
	cancel()
	for range ch { // drains, then closes
	}
}

func TestPollStateDiff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := func(status, version string, evs ...engine.Event) engine.Snapshot {
		return engine.Snapshot{Health: engine.Health{Status: status}, Model: engine.ModelInfo{Version: version}, Events: evs}
	}
	ev := func(sec int, msg string) engine.Event {
		return engine.Event{At: t0.Add(time.Duration(sec) * time.Second), Kind: "promote", Message: msg}
	}
	steps := []struct {
		snap engine.Snapshot
		err  error
		want string
	}{
		{snap("healthy", "v1", ev(1, "old")), nil, ""}, // first poll: state only
		{snap("healthy", "v1", ev(1, "old")), nil, ""},
		{snap("healthy", "v2", ev(3, "b"), ev(2, "a"), ev(1, "old")), nil, "model v1 → v2|a|b"},
		{engine.Snapshot{}, errors.New("connection refused"), "API unreachable: connection refused"},
		{engine.Snapshot{}, errors.New("connection refused"), ""},
		{snap("unhealthy", "v2"), nil, "API reachable again|health: unhealthy"},
	}
	var st pollState
	for i, s := range steps {
		var got []string
		for _, e := range st.diff(s.snap, s.err, t0) {
			got = append(got, e.Message)
		}
		if strings.Join(got, "|") != s.want {
			t.Errorf("step %d: %q, want %q", i, strings.Join(got, "|"), s.want)
		}
	}
}
