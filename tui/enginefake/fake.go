// Package enginefake is an engine.Client made of deterministic fake data:
// live-looking snapshots with scripted episodes (a drift wave, a slow spell,
// a burst of malformed requests), a retrain that reports progress, a model
// registry, a service log and a config file that can turn invalid. Every
// value is a function of an injectable clock, so tests get identical frames
// and the dev console (tui/cmd/tuidemo) gets life.
package enginefake

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"carvision/engine"
	"carvision/tui/components/ring"
)

// RetrainSteps is how many paced steps a full retrain takes: a test that
// drives the pacing clock advances it this many times.
const RetrainSteps = 12

// Options configure a Fake.
type Options struct {
	// Clock drives every value shown (default time.Now).
	Clock func() time.Time
	// After paces the retrain (default time.After); ManualClock.After in tests.
	After func(time.Duration) <-chan time.Time
	// Step is the pause between retrain progress events (default 250ms).
	Step time.Duration
	// Caps overrides the capabilities (default: everything available).
	Caps *engine.Capabilities
	// Demo starts with demo traffic on.
	Demo bool
}

// Fake implements engine.Client. It is safe for concurrent use.
type Fake struct {
	clock func() time.Time
	after func(time.Duration) <-chan time.Time
	step  time.Duration
	caps  engine.Capabilities
	start time.Time

	mu         sync.Mutex
	models     []engine.ModelVersion
	champion   string
	history    []string // previous champions, for rollback
	challenger string
	config     engine.ConfigState
	applied    string // text of the config in force
	logs       *ring.Ring[engine.LogLine]
	logUntil   time.Time
	events     *ring.Ring[engine.Event]
	subs       map[int]chan engine.Event
	nextSub    int
	demo       bool
	running    bool
	inputs     []string
	lastRun    string
	stages     []engine.StageStatus
	predictErr error
	calls      map[string]int
}

var _ engine.Client = (*Fake)(nil)

// New returns a fake engine with a registry of six versions (v6 champion),
// a valid config and a log backlog.
func New(o Options) *Fake {
	f := &Fake{clock: o.Clock, after: o.After, step: o.Step, demo: o.Demo,
		logs: ring.New[engine.LogLine](5000), events: ring.New[engine.Event](200),
		subs: map[int]chan engine.Event{}, calls: map[string]int{}}
	if f.clock == nil {
		f.clock = time.Now
	}
	if f.after == nil {
		f.after = time.After
	}
	if f.step <= 0 {
		f.step = 250 * time.Millisecond
	}
	f.caps = engine.Capabilities{Store: true, Logs: true, Config: true, Demo: true}
	if o.Caps != nil {
		f.caps = *o.Caps
	}
	now := f.clock()
	f.start = now.Add(-(3*time.Hour + 12*time.Minute + 5*time.Second))
	f.models = seedModels(now)
	f.champion = "6"
	f.history = []string{"5"}
	f.inputs = []string{"data/raw/vehicles_us.csv"}
	f.lastRun = "run-0006"
	f.stages = seedStages()
	f.config = engine.ConfigState{Path: "config.yaml", Text: defaultConfig, Valid: true, AppliedAt: now.Add(-47 * time.Minute)}
	f.applied = defaultConfig
	f.seedLogs(now)
	f.seedEvents(now)
	return f
}

// Calls returns how many times a method was called (for tests).
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *Fake) count(method string) {
	f.mu.Lock()
	f.calls[method]++
	f.mu.Unlock()
}

// FailPredict makes every following Predict fail with err (nil: succeed).
func (f *Fake) FailPredict(err error) {
	f.mu.Lock()
	f.predictErr = err
	f.mu.Unlock()
}

// Capabilities implements engine.Client.
func (f *Fake) Capabilities() engine.Capabilities { return f.caps }

// Health implements engine.Client.
func (f *Fake) Health(ctx context.Context) (engine.Health, error) {
	if err := ctx.Err(); err != nil {
		return engine.Health{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthLocked(), nil
}

func (f *Fake) healthLocked() engine.Health {
	return engine.Health{Status: "healthy", ModelVersion: "v" + f.champion, Ready: true,
		UptimeSeconds: f.clock().Sub(f.start).Seconds()}
}

// Model implements engine.Client.
func (f *Fake) Model(ctx context.Context) (engine.ModelInfo, error) {
	if err := ctx.Err(); err != nil {
		return engine.ModelInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.modelInfoLocked(), nil
}

func (f *Fake) modelInfoLocked() engine.ModelInfo {
	mv := f.versionLocked(f.champion)
	// Like the real engine: the registry numbers versions ("6"), the served
	// model is labelled "v6".
	return engine.ModelInfo{Version: "v" + mv.Version, Alias: "champion", TrainedAt: mv.CreatedAt, Kind: "gbdt",
		Trees: 420, Features: features(), Metrics: testMetrics(mv.Metrics), DataHash: "f018c23feba7",
		DropColumns: []string{"price", "date_posted"}, DatasetYear: 2019, Path: mv.Path}
}

func (f *Fake) versionLocked(v string) engine.ModelVersion {
	for _, m := range f.models {
		if m.Version == v {
			return m
		}
	}
	return engine.ModelVersion{}
}

// Models implements engine.Client.
func (f *Fake) Models(ctx context.Context) ([]engine.ModelVersion, error) {
	if err := f.need(ctx, f.caps.Store); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]engine.ModelVersion, len(f.models))
	for i, m := range f.models {
		m.Aliases = nil
		if m.Version == f.champion {
			m.Aliases = append(m.Aliases, "champion")
		}
		if m.Version == f.challenger {
			m.Aliases = append(m.Aliases, "challenger")
		}
		out[i] = m
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func (f *Fake) need(ctx context.Context, have bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !have {
		return fmt.Errorf("%s: %w", f.caps.Why, engine.ErrUnavailable)
	}
	return nil
}

// Promote implements engine.Client.
func (f *Fake) Promote(ctx context.Context, version string, req engine.ActionRequest) error {
	f.count("Promote")
	if err := f.need(ctx, f.caps.Store); err != nil {
		return err
	}
	if f.caps.ReadOnly {
		return engine.ErrReadOnly
	}
	f.mu.Lock()
	if f.versionLocked(version).Version == "" {
		f.mu.Unlock()
		return fmt.Errorf("promote: version %q: not in the registry", version)
	}
	if version == f.champion {
		f.mu.Unlock()
		return fmt.Errorf("promote: version %s is already the champion", version)
	}
	f.history = append(f.history, f.champion)
	f.champion = version
	if f.challenger == version {
		f.challenger = ""
	}
	f.mu.Unlock()
	f.publish(engine.Event{Kind: "promote", Actor: req.Actor.Name, Message: fmt.Sprintf("v%s promoted to champion (%s)", version, reasonOr(req.Reason))})
	f.logf("info", "model promoted", map[string]string{"version": version, "actor": req.Actor.Name})
	return nil
}

// PromoteElsewhere simulates a promote made by another process (a CLI
// `models promote`): the champion moves and, as in the engine, only the
// champion watcher's reload event says so.
func (f *Fake) PromoteElsewhere(version string) {
	f.mu.Lock()
	old := f.champion
	f.history = append(f.history, old)
	f.champion = version
	f.mu.Unlock()
	f.publish(engine.Event{Kind: "reload", Message: fmt.Sprintf("now serving v%s (was v%s)", version, old)})
}

// Rollback implements engine.Client.
func (f *Fake) Rollback(ctx context.Context, req engine.ActionRequest) error {
	f.count("Rollback")
	if err := f.need(ctx, f.caps.Store); err != nil {
		return err
	}
	if f.caps.ReadOnly {
		return engine.ErrReadOnly
	}
	f.mu.Lock()
	if len(f.history) == 0 {
		f.mu.Unlock()
		return errors.New("rollback: no previous champion to roll back to")
	}
	prev := f.history[len(f.history)-1]
	f.history = f.history[:len(f.history)-1]
	from := f.champion
	f.champion = prev
	f.mu.Unlock()
	f.publish(engine.Event{Kind: "rollback", Actor: req.Actor.Name, Message: fmt.Sprintf("champion rolled back v%s → v%s (%s)", from, prev, reasonOr(req.Reason))})
	f.logf("warn", "model rolled back", map[string]string{"from": from, "to": prev, "actor": req.Actor.Name})
	return nil
}

func reasonOr(r string) string {
	if r == "" {
		return "no reason given"
	}
	return r
}

// CompareModels implements engine.Client.
func (f *Fake) CompareModels(ctx context.Context, a, b string) (engine.ModelDiff, error) {
	if err := f.need(ctx, f.caps.Store); err != nil {
		return engine.ModelDiff{}, err
	}
	f.mu.Lock()
	ma, mb := f.versionLocked(a), f.versionLocked(b)
	f.mu.Unlock()
	if ma.Version == "" || mb.Version == "" {
		return engine.ModelDiff{}, fmt.Errorf("compare %s %s: unknown version", a, b)
	}
	return diff(ma, mb), nil
}

// Market implements engine.Client: the fake has no market analysis.
func (f *Fake) Market(ctx context.Context, mf engine.MarketFilter) (engine.MarketReport, error) {
	if err := ctx.Err(); err != nil {
		return engine.MarketReport{}, err
	}
	y := mf.Year
	if y == 0 {
		y = f.clock().Year()
	}
	return engine.MarketReport{ReferenceYear: y, Filter: mf}, nil
}

// SetDemo implements engine.Client.
func (f *Fake) SetDemo(ctx context.Context, on bool) error {
	if err := f.need(ctx, f.caps.Demo); err != nil {
		return err
	}
	f.mu.Lock()
	f.demo = on
	f.mu.Unlock()
	state := "stopped"
	if on {
		state = "started"
	}
	f.publish(engine.Event{Kind: "demo", Message: "demo traffic " + state})
	return nil
}

// Events implements engine.Client.
func (f *Fake) Events(ctx context.Context) (<-chan engine.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan engine.Event, 64)
	f.mu.Lock()
	id := f.nextSub
	f.nextSub++
	f.subs[id] = ch
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, id)
		close(ch)
		f.mu.Unlock()
	}()
	return ch, nil
}

// Publish records an event and sends it to every subscriber (tests use it
// to simulate another operator's action).
func (f *Fake) Publish(e engine.Event) { f.publish(e) }

func (f *Fake) publish(e engine.Event) {
	if e.At.IsZero() {
		e.At = f.clock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events.Push(e)
	for _, ch := range f.subs {
		select {
		case ch <- e:
		default: // a slow viewer loses events rather than stalling the engine
		}
	}
}

func seedModels(now time.Time) []engine.ModelVersion {
	base := []struct {
		rmse, mae, mape, r2 float64
		trees, lr, depth    string
		age                 time.Duration
	}{
		{4210, 2790, 31.2, 0.781, "200", "0.10", "6", 41 * 24 * time.Hour},
		{4105, 2721, 30.1, 0.792, "300", "0.08", "6", 33 * 24 * time.Hour},
		{3987, 2650, 29.4, 0.803, "300", "0.08", "7", 26 * 24 * time.Hour},
		{4012, 2668, 29.8, 0.801, "400", "0.05", "7", 19 * 24 * time.Hour},
		{3921, 2604, 28.9, 0.809, "420", "0.05", "8", 12 * 24 * time.Hour},
		{3874, 2571, 28.3, 0.814, "420", "0.05", "8", 5 * 24 * time.Hour},
	}
	out := make([]engine.ModelVersion, len(base))
	for i, b := range base {
		v := fmt.Sprint(i + 1)
		out[i] = engine.ModelVersion{Version: v, RunID: fmt.Sprintf("run-%04d", i+1),
			Path: fmt.Sprintf("models/carvision-v%s.model", v), CreatedAt: now.Add(-b.age).Truncate(time.Minute),
			Metrics: map[string]float64{"rmse": b.rmse, "mae": b.mae, "mape": b.mape, "r2": b.r2},
			Params:  map[string]string{"num_trees": b.trees, "learning_rate": b.lr, "max_depth": b.depth, "min_leaf": "20"}}
	}
	return out
}

func (f *Fake) seedEvents(now time.Time) {
	for _, e := range []engine.Event{
		{At: now.Add(-5 * 24 * time.Hour), Kind: "promote", Actor: "ana", Message: "v6 promoted to champion (better RMSE on March data)"},
		{At: now.Add(-47 * time.Minute), Kind: "config", Actor: "ana", Message: "config.yaml applied (alerts.latency_p95_ms 300)"},
		{At: now.Add(-12 * time.Minute), Kind: "reload", Message: "model v6 reloaded after file change"},
		{At: now.Add(-3 * time.Minute), Kind: "alert", Message: "LatencyP95High pending: p95 341 ms > 300 ms"},
	} {
		f.events.Push(e)
	}
}

// testMetrics names metrics as the engine's evaluation does ("test.rmse").
func testMetrics(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out["test."+k] = v
	}
	return out
}
