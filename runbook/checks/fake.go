package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/engine/features"
)

// FakeNow is FakeEnv's default clock reading.
var FakeNow = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// FakeClient is an engine.Client whose answers are fields set by a test.
// Lock Mu (or use Set) to change them while checks run. State-changing
// calls are recorded in Calls and delegated to the On* hooks.
type FakeClient struct {
	Mu sync.Mutex

	Caps      engine.Capabilities
	HealthV   engine.Health
	HealthErr error
	// HealthSeq, when not empty, answers Health calls in order (its last
	// entry repeats) before HealthV is consulted.
	HealthSeq  []engine.Health
	HealthN    int // Health calls so far
	ModelV     engine.ModelInfo
	ModelErr   error
	PredictV   engine.Prediction
	PredictErr error
	Snap       engine.Snapshot
	SnapErr    error
	Versions   []engine.ModelVersion
	ModelsErr  error
	Diff       engine.ModelDiff
	DiffErr    error
	LogLines   []engine.LogLine
	ConfigV    engine.ConfigState

	// Calls records actions as "promote 4 by alice", "rollback by bob"…
	Calls []string

	OnRetrain  func(req engine.RetrainRequest) ([]engine.PipelineEvent, error)
	OnPromote  func(version string) error
	OnRollback func() error
	OnReload   func() (engine.ConfigState, error)
}

// Set changes the fake under its lock.
func (c *FakeClient) Set(f func(c *FakeClient)) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	f(c)
}

// CallLog returns a copy of the recorded calls.
func (c *FakeClient) CallLog() []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return append([]string(nil), c.Calls...)
}

func (c *FakeClient) record(format string, args ...any) {
	c.Calls = append(c.Calls, fmt.Sprintf(format, args...))
}

func (c *FakeClient) refuse(what string) error {
	if c.Caps.ReadOnly {
		return fmt.Errorf("%s: %w", what, engine.ErrReadOnly)
	}
	return nil
}

// Capabilities implements engine.Client.
func (c *FakeClient) Capabilities() engine.Capabilities {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.Caps
}

// Health implements engine.Client.
func (c *FakeClient) Health(context.Context) (engine.Health, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	c.HealthN++
	if n := len(c.HealthSeq); n > 0 {
		return c.HealthSeq[min(c.HealthN, n)-1], nil
	}
	return c.HealthV, c.HealthErr
}

// Model implements engine.Client.
func (c *FakeClient) Model(context.Context) (engine.ModelInfo, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.ModelV, c.ModelErr
}

// Predict implements engine.Client.
func (c *FakeClient) Predict(context.Context, engine.Listing, engine.PredictOptions) (engine.Prediction, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.PredictV, c.PredictErr
}

// Snapshot implements engine.Client.
func (c *FakeClient) Snapshot(context.Context, time.Duration) (engine.Snapshot, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.Snap, c.SnapErr
}

// Models implements engine.Client.
func (c *FakeClient) Models(context.Context) ([]engine.ModelVersion, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return append([]engine.ModelVersion(nil), c.Versions...), c.ModelsErr
}

// CompareModels implements engine.Client.
func (c *FakeClient) CompareModels(_ context.Context, a, b string) (engine.ModelDiff, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	d := c.Diff
	d.A, d.B = a, b
	return d, c.DiffErr
}

// Promote implements engine.Client: moves the champion alias unless OnPromote refuses.
func (c *FakeClient) Promote(_ context.Context, version string, req engine.ActionRequest) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.refuse("promote"); err != nil {
		return err
	}
	c.record("promote %s by %s", version, req.Actor.Name)
	if c.OnPromote != nil {
		if err := c.OnPromote(version); err != nil {
			return err
		}
	}
	c.moveAlias("champion", version)
	return nil
}

func (c *FakeClient) moveAlias(alias, version string) {
	for i := range c.Versions {
		v := &c.Versions[i]
		kept := v.Aliases[:0:0]
		for _, a := range v.Aliases {
			if a != alias {
				kept = append(kept, a)
			}
		}
		if strings.TrimPrefix(v.Version, "v") == strings.TrimPrefix(version, "v") {
			kept = append(kept, alias)
		}
		v.Aliases = kept
	}
}

// Rollback implements engine.Client.
func (c *FakeClient) Rollback(_ context.Context, req engine.ActionRequest) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.refuse("rollback"); err != nil {
		return err
	}
	c.record("rollback by %s", req.Actor.Name)
	if c.OnRollback != nil {
		return c.OnRollback()
	}
	return nil
}

// Retrain implements engine.Client: the events from OnRetrain (or one
// successful event) arrive on a closed, buffered channel.
func (c *FakeClient) Retrain(_ context.Context, req engine.RetrainRequest) (<-chan engine.PipelineEvent, error) {
	c.Mu.Lock()
	if err := c.refuse("retrain"); err != nil && !req.DryRun {
		c.Mu.Unlock()
		return nil, err
	}
	c.record("retrain by %s", req.Actor.Name)
	hook := c.OnRetrain
	c.Mu.Unlock()
	evs := []engine.PipelineEvent{{Stage: "train", Status: "done", Fraction: 1, Message: "trained", Done: true, Version: "5"}}
	if hook != nil {
		var err error
		if evs, err = hook(req); err != nil {
			return nil, err
		}
	}
	ch := make(chan engine.PipelineEvent, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	return ch, nil
}

// PipelineStatus implements engine.Client.
func (c *FakeClient) PipelineStatus(context.Context) (engine.PipelineStatus, error) {
	return engine.PipelineStatus{}, nil
}

// Logs implements engine.Client: lines containing q.Search.
func (c *FakeClient) Logs(_ context.Context, q engine.LogQuery) ([]engine.LogLine, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []engine.LogLine
	for _, l := range c.LogLines {
		if q.Search == "" || strings.Contains(l.Raw+l.Message, q.Search) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Config implements engine.Client.
func (c *FakeClient) Config(context.Context) (engine.ConfigState, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.ConfigV, nil
}

// ReloadConfig implements engine.Client.
func (c *FakeClient) ReloadConfig(_ context.Context, req engine.ActionRequest) (engine.ConfigState, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.refuse("reload config"); err != nil {
		return engine.ConfigState{}, err
	}
	c.record("reload-config by %s", req.Actor.Name)
	if c.OnReload != nil {
		return c.OnReload()
	}
	return c.ConfigV, nil
}

// Market implements engine.Client.
func (c *FakeClient) Market(context.Context, engine.MarketFilter) (engine.MarketReport, error) {
	return engine.MarketReport{}, engine.ErrUnavailable
}

// Events implements engine.Client: a channel closed when ctx ends.
func (c *FakeClient) Events(ctx context.Context) (<-chan engine.Event, error) {
	ch := make(chan engine.Event)
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

// SetDemo implements engine.Client.
func (c *FakeClient) SetDemo(context.Context, bool) error { return engine.ErrUnavailable }

// HealthyClient returns a FakeClient of a healthy service: champion v3
// serving, challenger v4 passing the gate, traffic within the SLO, no drift.
func HealthyClient() *FakeClient {
	cfg := config.Default()
	fs := features.Names(cfg.Preprocessing.DropColumns)
	mf := make([]engine.Feature, len(fs))
	for i, n := range fs {
		mf[i] = engine.Feature{Name: n, Kind: "numeric"}
	}
	return &FakeClient{
		Caps:     engine.Capabilities{Store: true, Logs: true, Config: true},
		HealthV:  engine.Health{Status: "healthy", ModelVersion: "3", UptimeSeconds: 3600, Ready: true},
		ModelV:   engine.ModelInfo{Version: "3", Kind: "gbdt", Trees: 400, Features: mf, DropColumns: cfg.Preprocessing.DropColumns, DatasetYear: 2019},
		PredictV: engine.Prediction{Price: 21450, ModelVersion: "3"},
		Snap: engine.Snapshot{
			Health: engine.Health{Status: "healthy", ModelVersion: "3", Ready: true},
			Latency: []engine.LatencyStats{
				{Endpoint: "all", Count: 1200, RPS: 4, P50MS: 3, P95MS: 9, P99MS: 14, MaxMS: 40, Rate2xx: 0.99, Rate4xx: 0.01},
				{Endpoint: "/predict", Count: 1000, RPS: 3.3, P50MS: 3.5, P95MS: 10, P99MS: 15, MaxMS: 40, Rate2xx: 0.995, Rate4xx: 0.005},
			},
			SLO: engine.SLO{P95MS: 500, P99MS: 200, ErrorRate: 0.01},
			Drift: engine.DriftSummary{Status: "ok", WindowSize: 1000, MinWindow: 200, MaxTrainYear: 2019, OutOfRangeShare: 0.002,
				Features: []engine.FeatureDrift{
					{Feature: "vehicle_age", Kind: "numeric", Test: "psi", Score: 0.03, Threshold: 0.1, PSI: 0.03, KS: 0.04, KSP: 0.4,
						Bins: []string{"0-3", "4-7", "8-12", "13+"}, RefShare: []float64{0.2, 0.3, 0.3, 0.2}, CurShare: []float64{0.21, 0.29, 0.3, 0.2}},
					{Feature: "predicted_price", Kind: "numeric", Test: "psi", Score: 0.02, Threshold: 0.1, PSI: 0.02},
					{Feature: "odometer", Kind: "numeric", Test: "psi", Score: 0.01, Threshold: 0.1, PSI: 0.01},
				}},
		},
		Versions: []engine.ModelVersion{
			{Version: "3", Aliases: []string{"champion"}, Metrics: map[string]float64{"test.rmse": 4100, "test.r2": 0.81}},
			{Version: "4", Aliases: []string{"challenger"}, Metrics: map[string]float64{"test.rmse": 4050, "test.r2": 0.82}},
		},
		Diff: engine.ModelDiff{
			Metrics: []engine.DiffRow{{Path: "test", Name: "rmse", Old: "4100", New: "4050", Change: "-1.2%"},
				{Path: "test", Name: "r2", Old: "0.810", New: "0.820", Change: "+0.010"}},
			Gate: engine.GateResult{Pass: true, Reasons: []string{"✓ R² 0.8200 ≥ 0.70", "✓ RMSE 4050 ≤ 6000", "✓ RMSE 4050 vs champion v3 4100 on the same 9000 rows (tolerance 2.0%)"}},
		},
		ConfigV: engine.ConfigState{Path: "config.yaml", Valid: true},
	}
}

// FakeEnv is an Env for tests: a FakeClient, a config that a test may
// replace, files under Dir, a fixed clock and scripted disk usage.
type FakeEnv struct {
	mu sync.Mutex
	C  *FakeClient

	cfg   *config.Config
	Dir   string
	Log   string // absolute log path (default Dir/logs/carvision.log)
	Data  string // absolute CSV path (default Dir/data/raw/vehicles_us.csv)
	Clock func() time.Time
	// Disks maps a path prefix to its usage; unmatched paths use 40 %
	// of a 100 GiB volume with Dev 1.
	Disks map[string]DiskUsage
	// Files are the tracked files (nil: walk Dir).
	Files []string
	// RotateErr fails RotateLogs; Rotations counts successful ones.
	RotateErr error
	Rotations int
	// OnRotate runs on a successful RotateLogs (e.g. to truncate the log).
	OnRotate func()
}

// NewFakeEnv returns a FakeEnv over a HealthyClient, the default config
// and the folder dir.
func NewFakeEnv(dir string) *FakeEnv {
	return &FakeEnv{C: HealthyClient(), cfg: config.Default(), Dir: dir,
		Log:  filepath.Join(dir, "logs", "carvision.log"),
		Data: filepath.Join(dir, "data", "raw", "vehicles_us.csv")}
}

// SetConfig replaces the config in force (what a reload-config does).
func (e *FakeEnv) SetConfig(c *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = c
}

// Client implements Env.
func (e *FakeEnv) Client() engine.Client { return e.C }

// Config implements Env.
func (e *FakeEnv) Config() *config.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg == nil {
		return config.Default()
	}
	return e.cfg
}

// Root implements Env.
func (e *FakeEnv) Root() string { return e.Dir }

// Now implements Env.
func (e *FakeEnv) Now() time.Time {
	if e.Clock == nil {
		return FakeNow
	}
	return e.Clock()
}

// LogPath implements Env.
func (e *FakeEnv) LogPath() string { return e.Log }

// DataPath implements Env.
func (e *FakeEnv) DataPath() string { return e.Data }

// DiskUsage implements Env from Disks (longest matching prefix).
func (e *FakeEnv) DiskUsage(path string) (DiskUsage, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	best, bestLen := DiskUsage{Total: 100 << 30, Used: 40 << 30, Avail: 60 << 30, Dev: 1}, -1
	for prefix, du := range e.Disks {
		if strings.HasPrefix(path, prefix) && len(prefix) > bestLen {
			best, bestLen = du, len(prefix)
		}
	}
	best.Path = path
	return best, nil
}

// TrackedFiles implements Env.
func (e *FakeEnv) TrackedFiles(ctx context.Context, max int) ([]string, error) {
	if e.Files != nil {
		return append([]string(nil), e.Files[:min(len(e.Files), max)]...), nil
	}
	return RepoFiles(ctx, e.Dir, max)
}

// RotateLogs implements Env.
func (e *FakeEnv) RotateLogs(ctx context.Context, req engine.ActionRequest) error {
	if e.C.Capabilities().ReadOnly {
		return fmt.Errorf("rotate logs: %w", engine.ErrReadOnly)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.RotateErr != nil {
		return e.RotateErr
	}
	e.Rotations++
	if e.OnRotate != nil {
		e.OnRotate()
	}
	return nil
}
