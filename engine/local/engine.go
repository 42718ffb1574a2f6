// Package local is the in-process engine: it owns the config, the store, the
// served model, the monitors and the pipeline, and implements engine.Client
// for the console and the SSH sessions that share it.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/engine/dataset"
	"carvision/engine/logging"
	"carvision/engine/pipeline"
	"carvision/engine/registry"
	"carvision/engine/store"
)

// Options configures an Engine.
type Options struct {
	ConfigPath string // "" or a missing config.yaml: built-in defaults
	ReadOnly   bool
	Logger     *slog.Logger // nil: set up from config (file + ring)
	APIAddr    string       // overrides serve.addr
	ModelFile  string       // serve this file instead of the champion
	Quiet      bool         // no log lines on stdout (the console owns the terminal)
	Now        func() time.Time
}

// Engine is the in-process engine.Client.
type Engine struct {
	opts    Options
	root    string
	cfgPath string
	now     func() time.Time
	started time.Time

	cfgMu     sync.RWMutex
	cfg       *config.Config
	cfgErr    error
	cfgLine   int
	cfgText   string
	appliedAt time.Time

	st  *store.Store
	reg *registry.Registry
	bus *bus
	log *slog.Logger

	retraining atomic.Bool
	serving    *serving
	rot        *logging.Rotator
	market     marketCache
	closers    []func() error
}

// Open loads the config, opens the store and prepares (but does not start) serving.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{opts: opts, now: opts.Now, bus: newBus(200)}
	e.started = e.now()
	cfg, root, text, err := loadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	e.cfg, e.root, e.cfgText, e.appliedAt = cfg, root, text, e.now()
	e.cfgPath = opts.ConfigPath
	if err := e.setupLogging(); err != nil {
		return nil, err
	}
	st, err := store.Open(e.abs(cfg.Paths.StorePath))
	if err != nil {
		return nil, err
	}
	e.st = st
	e.closers = append(e.closers, st.Close)
	if n, err := st.MarkStaleRuns(ctx); err == nil && n > 0 {
		e.log.Warn("runs left running by a killed process marked killed", "count", n)
	}
	e.reg = e.newRegistry(cfg)
	e.serving = newServing(e)
	return e, nil
}

// LoadConfig reads the config file and says which folder relative paths
// resolve against. A missing file named config.yaml means the built-in
// defaults (so the binary works from any folder); any other problem is an error.
func LoadConfig(path string) (*config.Config, string, error) {
	c, root, _, err := loadConfig(path)
	return c, root, err
}

func loadConfig(path string) (*config.Config, string, string, error) {
	if path == "" {
		wd, _ := os.Getwd()
		return config.Default(), wd, "", nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && filepath.Base(path) == "config.yaml" {
		abs, _ := filepath.Abs(path)
		return config.Default(), filepath.Dir(abs), "", nil
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, "", "", err
	}
	abs, _ := filepath.Abs(path)
	return c, filepath.Dir(abs), c.Source.Text, nil
}

func (e *Engine) newRegistry(cfg *config.Config) *registry.Registry {
	return &registry.Registry{
		Store: e.st,
		Gate:  registry.Gate{MinR2: cfg.Gate.MinR2, MaxRMSE: cfg.Gate.MaxRMSE, MaxRegression: cfg.Gate.MaxRegression},
		TestRows: func() (*dataset.Frame, error) {
			s := e.Settings() // the config in force, not the one at Open
			return dataset.Load(s.Abs(filepath.Join(s.ProcessedDir, "test.csv")))
		},
	}
}

// Config returns the config in force.
func (e *Engine) config() *config.Config {
	e.cfgMu.RLock()
	defer e.cfgMu.RUnlock()
	return e.cfg
}

func (e *Engine) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.root, p)
}

// Settings are the pipeline settings of the config in force.
func (e *Engine) Settings() pipeline.Settings { return pipeline.FromConfig(e.config(), e.root) }

// Store exposes the store for commands that read it directly (audit, runs).
func (e *Engine) Store() *store.Store { return e.st }

// Registry exposes the registry policy.
func (e *Engine) Registry() *registry.Registry { return e.reg }

// Logger is the engine's structured logger.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Close stops serving and closes the store.
func (e *Engine) Close() error {
	var errs []error
	if e.serving != nil {
		e.serving.stop()
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		if err := e.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Publish sends an event to every subscriber and records it in the store.
func (e *Engine) Publish(kind, actor, msg string) {
	ev := engine.Event{At: e.now(), Kind: kind, Actor: actor, Message: msg}
	e.bus.publish(ev)
	// Alias moves are recorded by the store in the same transaction as the
	// move itself; everything else is recorded here.
	if e.st != nil && kind != "promote" && kind != "rollback" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := e.st.AddEvent(ctx, store.Event{At: ev.At, Kind: kind, Actor: actor, Message: msg}); err != nil {
			e.log.Warn("record event", "err", err)
		}
	}
}

// Capabilities implements engine.Client.
func (e *Engine) Capabilities() engine.Capabilities {
	return engine.Capabilities{Store: true, Logs: true, Config: true, Demo: true, ReadOnly: e.opts.ReadOnly}
}

// guard refuses state changes in read-only mode or for a viewer: the one
// place that decides.
func (e *Engine) guard(actor engine.Actor, what string) error {
	if e.opts.ReadOnly {
		return fmt.Errorf("%s refused: %w", what, engine.ErrReadOnly)
	}
	if actor.Role == "viewer" {
		return fmt.Errorf("%s refused: role viewer is read-only (needs operator)", what)
	}
	return nil
}

// Events implements engine.Client.
func (e *Engine) Events(ctx context.Context) (<-chan engine.Event, error) {
	return e.bus.subscribe(ctx), nil
}

// Models implements engine.Client.
func (e *Engine) Models(ctx context.Context) ([]engine.ModelVersion, error) {
	vs, err := e.st.ModelVersions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]engine.ModelVersion, len(vs))
	for i, v := range vs {
		out[i] = v.Engine()
	}
	return out, nil
}

// CompareModels implements engine.Client.
func (e *Engine) CompareModels(ctx context.Context, a, b string) (engine.ModelDiff, error) {
	d, err := e.reg.Diff(ctx, a, b, false)
	if err != nil {
		return d, err
	}
	d.Gate, err = e.reg.Check(ctx, d.B)
	return d, err
}

// Promote implements engine.Client.
func (e *Engine) Promote(ctx context.Context, version string, req engine.ActionRequest) error {
	if err := e.guard(req.Actor, "promote"); err != nil {
		return err
	}
	gate, err := e.reg.Promote(ctx, version, req)
	e.audit(ctx, req.Actor, "promote", fmt.Sprintf("v%s %v", version, gate.Reasons), err)
	if err != nil {
		return err
	}
	e.Publish("promote", actorLabel(req.Actor), fmt.Sprintf("v%s promoted to champion", version))
	e.serving.reloadChampion(ctx)
	return nil
}

// Rollback implements engine.Client.
func (e *Engine) Rollback(ctx context.Context, req engine.ActionRequest) error {
	if err := e.guard(req.Actor, "rollback"); err != nil {
		return err
	}
	v, err := e.reg.Rollback(ctx, req)
	e.audit(ctx, req.Actor, "rollback", "to v"+v, err)
	if err != nil {
		return err
	}
	e.Publish("rollback", actorLabel(req.Actor), "champion rolled back to v"+v)
	e.serving.reloadChampion(ctx)
	return nil
}

func (e *Engine) audit(ctx context.Context, a engine.Actor, action, detail string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error: " + err.Error()
	}
	if aerr := e.st.Audit(ctx, store.AuditEntry{At: e.now(), Actor: actorLabel(a), Fingerprint: a.Fingerprint,
		Role: a.Role, Address: a.Address, Action: action, Detail: detail, Outcome: outcome}); aerr != nil {
		e.log.Warn("audit", "err", aerr)
	}
}

func actorLabel(a engine.Actor) string {
	if a.Name == "" {
		return "local"
	}
	return a.Name
}

// Retrain implements engine.Client: a repro in the background, its events
// on the returned channel and on the bus.
func (e *Engine) Retrain(ctx context.Context, req engine.RetrainRequest) (<-chan engine.PipelineEvent, error) {
	if !req.DryRun {
		if err := e.guard(req.Actor, "retrain"); err != nil {
			return nil, err
		}
	}
	if !e.retraining.CompareAndSwap(false, true) {
		return nil, errors.New("a retrain is already running")
	}
	ch := make(chan engine.PipelineEvent, 256)
	if !req.DryRun {
		e.Publish("retrain", actorLabel(req.Actor), "retrain started")
		e.audit(ctx, req.Actor, "retrain", fmt.Sprintf("force=%v", req.Force), nil)
	}
	go func() {
		defer e.retraining.Store(false)
		defer close(ch)
		send := func(ev engine.PipelineEvent) {
			select {
			case ch <- ev:
			default: // a slow reader loses progress ticks, never the final event (sent below)
			}
		}
		res, err := e.Repro(context.WithoutCancel(ctx), req.Force, req.DryRun, actorLabel(req.Actor), send)
		final := engine.PipelineEvent{At: e.now(), Stage: "done", Status: "done", Done: true, Fraction: 1}
		if err != nil {
			final.Status, final.Err = "failed", err.Error()
			e.Publish("retrain", actorLabel(req.Actor), "retrain failed: "+err.Error())
		} else if res != nil {
			final.RunID, final.Version = res.RunID, res.Version
			final.Message = "retrain finished"
			if res.Version != "" {
				final.Message = "retrain finished: v" + res.Version + " registered as challenger"
			} else if !res.Ran() {
				final.Message = "nothing changed: every stage up to date"
			}
			if !req.DryRun {
				e.Publish("retrain", actorLabel(req.Actor), final.Message)
			}
		}
		ch <- final
	}()
	return ch, nil
}

// Repro runs the pipeline with the config in force.
func (e *Engine) Repro(ctx context.Context, force, dryRun bool, who string, onEvent func(engine.PipelineEvent)) (*pipeline.Result, error) {
	cfg := e.config()
	return pipeline.Repro(ctx, pipeline.Options{
		Settings: pipeline.FromConfig(cfg, e.root), Force: force, DryRun: dryRun, Wait: true, Who: who,
		ConfigHash: cfg.Hash(), Registrar: e.reg, OnEvent: onEvent, Now: e.now,
	})
}

// EnsureChampion runs the pipeline when no champion exists yet and promotes
// the first model that passes the gate, so a fresh clone serves something.
func (e *Engine) EnsureChampion(ctx context.Context, onEvent func(engine.PipelineEvent)) error {
	if e.opts.ModelFile != "" {
		return nil
	}
	if _, ok, err := e.st.Alias(ctx, registry.Champion); err != nil || ok {
		return err
	}
	res, err := e.Repro(ctx, false, false, "bootstrap", onEvent)
	if err != nil {
		return err
	}
	v := res.Version
	if v == "" {
		if mv, ok, _ := e.reg.Resolve(ctx, registry.Challenger); ok {
			v = mv.Version
		}
	}
	if v == "" {
		return errors.New("the pipeline registered no model")
	}
	if _, err := e.reg.Promote(ctx, v, engine.ActionRequest{Actor: engine.Actor{Name: "bootstrap"}, Reason: "first model"}); err != nil {
		return fmt.Errorf("first model v%s not promoted: %w", v, err)
	}
	e.Publish("promote", "bootstrap", fmt.Sprintf("v%s promoted to champion (first model)", v))
	return nil
}

// PipelineStatus implements engine.Client: a dry run says what would re-run and why.
func (e *Engine) PipelineStatus(ctx context.Context) (engine.PipelineStatus, error) {
	st := engine.PipelineStatus{Running: e.retraining.Load()}
	if st.Running {
		return st, nil
	}
	res, err := e.Repro(ctx, false, true, "status", nil)
	if err != nil {
		return st, err
	}
	for _, s := range res.Stages {
		ss := engine.StageStatus{Name: s.Name, Status: s.Status, Why: s.Why, Cached: s.Status == "up-to-date"}
		if s.Status == "would-run" {
			ss.Status = "changed"
			if s.Why != "" && s.Why != "never ran" && len(st.InputsChanged) == 0 {
				st.InputsChanged = append(st.InputsChanged, s.Name+": "+s.Why)
			}
		}
		st.Stages = append(st.Stages, ss)
	}
	if runs, err := e.st.ListRuns(ctx, 1); err == nil && len(runs) > 0 {
		st.LastRun = runs[0].ID
	}
	return st, nil
}

// ConsoleTheme is the configured console theme.
func (e *Engine) ConsoleTheme() string { return e.config().Console.Theme }

// ConfigHash is the hash of the config in force (recorded with each run).
func (e *Engine) ConfigHash() string { return e.config().Hash() }

// ConfigSnapshot is the config in force (never modify it).
func (e *Engine) ConfigSnapshot() *config.Config { return e.config() }

// Abs resolves a path against the project root.
func (e *Engine) Abs(p string) string { return e.abs(p) }

// HasChampion reports whether a champion is registered (or a model file is
// served directly).
func (e *Engine) HasChampion(ctx context.Context) bool {
	if e.opts.ModelFile != "" {
		return true
	}
	_, ok, err := e.st.Alias(ctx, registry.Champion)
	return err == nil && ok
}

// DataSource names the raw data a repro reads: the configured CSV, or the
// synthetic default when it is absent.
func (e *Engine) DataSource() string {
	s := e.Settings()
	p := s.Abs(s.DataPath)
	if _, err := os.Stat(p); err == nil {
		return s.DataPath
	}
	return fmt.Sprintf("synthetic default (%s absent): %d rows, seed %d", s.DataPath, s.SynthRows, s.SynthSeed)
}
