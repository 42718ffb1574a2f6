package local

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/engine/drift"
	"carvision/engine/model"
	"carvision/engine/monitor"
	"carvision/engine/prep"
	"carvision/engine/registry"
	"carvision/engine/serve"
	"carvision/engine/store"
)

// served adapts a model file to what the server needs, with the schema
// check against the config in force and the demo's injected latency.
type served struct {
	m    *model.Model
	e    *Engine
	slow *atomic.Int64
}

func (s *served) Version() string { return s.m.Version() }

func (s *served) Info() engine.ModelInfo {
	info := s.m.Info()
	info.Alias = registry.Champion
	return info
}

func (s *served) Predict(l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	if d := s.slow.Load(); d > 0 {
		time.Sleep(time.Duration(d)) // the demo's slow spell: latency alerts need real latency
	}
	return s.m.Predict(l, opt)
}

func (s *served) SchemaCheck() error { return s.m.SchemaCheck(s.e.config().Preprocessing.DropColumns) }

// serving owns the API side of the engine: the served model, the server,
// the latency monitor, the drift window, the alert rules and demo traffic.
type serving struct {
	e      *Engine
	holder *serve.Holder
	srv    *serve.Server
	mon    *monitor.Monitor
	win    *drift.Window
	plog   *serve.PredictionLog
	reload *serve.Reloader
	alerts *alertLoop
	slow   atomic.Int64

	mu        sync.Mutex
	addr      string
	cancel    context.CancelFunc
	done      chan struct{}
	driftAt   time.Time
	driftSum  engine.DriftSummary
	demoStop  context.CancelFunc
	demoPhase atomic.Value // string
}

func newServing(e *Engine) *serving {
	cfg := e.config()
	s := &serving{e: e, holder: serve.NewHolder(nil)}
	s.mon = monitor.New(monitor.Options{Windows: cfg.Monitor.Windows, PerSecond: cfg.Monitor.History.PerSecond, PerMinute: cfg.Monitor.History.PerMinute})
	s.win = drift.NewWindow(cfg.Drift.Window, drift.DefaultSchema())
	pl := cfg.Serve.PredictionLog
	s.plog = serve.NewPredictionLog(serve.PredictionLogOptions{Ring: pl.Ring, SampleRate: pl.SampleRate, Queue: pl.Queue,
		Batch: pl.Batch, FlushInterval: pl.FlushInterval, Sink: predictionSink{e.st}, Logger: e.log})
	s.srv = serve.New(serve.Options{
		Addr: cfg.Serve.Addr, BodyLimit: int64(cfg.Serve.BodyLimit), BatchMax: cfg.Serve.BatchMax, StrictFields: cfg.Serve.StrictFields,
		ReadHeaderTimeout: cfg.Serve.ReadHeaderTimeout, ReadTimeout: cfg.Serve.ReadTimeout, WriteTimeout: cfg.Serve.WriteTimeout,
		IdleTimeout: cfg.Serve.IdleTimeout, MaxConcurrent: cfg.Serve.MaxConcurrent, DrainTimeout: cfg.Serve.DrainTimeout,
		Logger: e.log, Models: s.holder, Recorder: monitorRecorder{s.mon},
		Observer: serve.Observers(serve.ObserverFunc(s.observe), s.plog), PredictionLog: s.plog,
		SnapshotFunc: e.Snapshot, MarketFunc: e.Market, Version: Version,
	})
	s.alerts = newAlertLoop(e, s)
	s.registerGauges()
	return s
}

// Version is the build version reported by /metrics and `carvision version`.
var Version = "dev"

// monitorRecorder feeds the serve path's records to the monitor.
type monitorRecorder struct{ m *monitor.Monitor }

func (r monitorRecorder) Record(endpoint string, status int, latency time.Duration) {
	r.m.Record(monitor.EndpointOf(endpoint), status, latency)
}

// predictionSink writes sampled predictions to the store.
type predictionSink struct{ st *store.Store }

func (p predictionSink) InsertPredictions(ctx context.Context, recs []serve.PredictionRecord) error {
	rows := make([]store.PredictionRow, len(recs))
	for i, r := range recs {
		rows[i] = store.PredictionRow{At: r.At, ModelVersion: r.ModelVersion, Status: r.Status, Latency: r.Latency,
			FeaturesJSON: listingJSON(r.Listing), Price: r.Price}
	}
	return p.st.InsertPredictions(ctx, rows)
}

// observe feeds every served prediction into the drift window.
func (s *serving) observe(rec serve.PredictionRecord) {
	if rec.Status != 200 {
		return
	}
	l := rec.Listing
	year := s.e.config().DatasetYear
	if m := s.current(); m != nil {
		year = m.m.Spec.DatasetYear
	}
	var num [5]float64
	num[0] = prep.VehicleAge(l.ModelYear, year)
	num[1] = l.ModelYear
	num[2] = l.Odometer
	num[3] = l.Cylinders
	num[4] = rec.Price
	cat := [7]string{l.Model, prep.Brand(l.Model), l.Condition, l.Fuel, l.Transmission, l.Type, l.PaintColor}
	s.win.Add(num[:], cat[:])
}

func (s *serving) current() *served {
	if m, ok := s.holder.Current().(*served); ok {
		return m
	}
	return nil
}

// load reads, verifies and wraps a model file for serving. A registered
// model is labelled with its version and carries its evaluation metrics.
func (s *serving) load(path, label string, metrics map[string]float64) (serve.Model, error) {
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	if label != "" {
		m.Label = label
	}
	if len(metrics) > 0 {
		merged := map[string]float64{}
		for k, v := range m.Metrics {
			merged[k] = v
		}
		for k, v := range metrics {
			merged[k] = v
		}
		m.Metrics = merged
	}
	return &served{m: m, e: s.e, slow: &s.slow}, nil
}

// championPath resolves the champion alias to its file, label and metrics.
func (s *serving) championPath(ctx context.Context) (string, string, map[string]float64, error) {
	if p := s.e.opts.ModelFile; p != "" {
		return p, "", nil, nil
	}
	mv, ok, err := s.e.reg.Resolve(ctx, registry.Champion)
	if err != nil {
		return "", "", nil, err
	}
	if !ok {
		return "", "", nil, errors.New("no champion model yet: run `carvision repro` and promote a version")
	}
	return mv.Path, "v" + mv.Version, mv.Metrics, nil
}

// start loads the champion and starts the model reloader; it serves no
// HTTP until Serve.
func (s *serving) start(ctx context.Context) error {
	// Resolve and Load run one after the other under the reloader's lock.
	var label string
	var metrics map[string]float64
	r, err := serve.NewReloader(serve.ReloaderOptions{
		Holder: s.holder,
		Load:   func(p string) (serve.Model, error) { return s.load(p, label, metrics) },
		Resolve: func() (string, error) {
			p, l, m, err := s.championPath(ctx)
			label, metrics = l, m
			return p, err
		},
		Debounce: s.e.config().Serve.ReloadDebounce,
		Logger:   s.e.log,
		Registry: s.srv.Registry(),
		OnSwap: func(old, cur serve.Model) {
			if old != nil && cur != nil && old.Version() != cur.Version() {
				s.win.Reset()
				s.e.Publish("reload", "", fmt.Sprintf("now serving %s (was %s)", cur.Version(), old.Version()))
			}
		},
		OnRefuse: func(err error) {
			s.e.bus.publish(engine.Event{At: s.e.now(), Kind: "reload", Message: "model reload refused, previous model kept: " + err.Error()})
		},
	})
	if err != nil {
		return err
	}
	s.reload = r
	if err := r.Reload(); err != nil {
		s.e.log.Warn("no model served yet", "err", err)
	}
	go func() {
		if err := r.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.e.log.Warn("model watcher stopped", "err", err)
		}
	}()
	go s.alerts.run(ctx)
	go s.flushMonitor(ctx)
	go s.watchChampion(ctx)
	return nil
}

// reloadChampion swaps in the champion now (after a promote or rollback in
// this process); the store watcher catches moves made by other processes.
func (s *serving) reloadChampion(ctx context.Context) {
	if s.reload == nil {
		return
	}
	if err := s.reload.Reload(); err != nil {
		s.e.log.Warn("reload after alias move", "err", err)
	}
}

func (s *serving) configChanged(c *config.Config) {
	// The schema check reads the config in force on every probe; log the
	// verdict now so a config that breaks the served model is seen at once.
	_ = s.srv.Health()
}

func (s *serving) stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	if s.demoStop != nil {
		s.demoStop()
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	ctx, c := context.WithTimeout(context.Background(), 2*time.Second)
	defer c()
	_ = s.plog.Close(ctx)
}

// Start loads the champion and begins watching for new ones and evaluating
// alerts, without serving HTTP (commands such as `status` use it).
func (e *Engine) Start(ctx context.Context) error {
	e.watchConfig(ctx)
	e.watchInputs(ctx)
	return e.serving.start(ctx)
}

// Serve starts the HTTP API on addr (or the configured one) and returns the
// address it listens on; the API stops when ctx ends or Close is called.
func (e *Engine) Serve(ctx context.Context, addr string) (string, error) {
	s := e.serving
	if addr == "" {
		addr = e.opts.APIAddr
	}
	if addr == "" {
		addr = e.config().Serve.Addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("serve %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.mu.Lock()
	s.addr, s.cancel, s.done = ln.Addr().String(), cancel, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := s.srv.Serve(ctx, ln); err != nil {
			e.log.Error("api stopped", "err", err)
		}
	}()
	// Only a serving process writes predictions, so only it bounds them.
	go s.prunePredictions(ctx)
	e.log.Info("api listening", "addr", s.addr)
	return s.addr, nil
}

// Addr is the API's listen address ("" before Serve).
func (e *Engine) Addr() string {
	e.serving.mu.Lock()
	defer e.serving.mu.Unlock()
	return e.serving.addr
}

// Health implements engine.Client.
func (e *Engine) Health(ctx context.Context) (engine.Health, error) {
	return e.serving.srv.Health(), nil
}

// Model implements engine.Client.
func (e *Engine) Model(ctx context.Context) (engine.ModelInfo, error) {
	m := e.serving.holder.Current()
	if m == nil {
		return engine.ModelInfo{}, errors.New("no model loaded")
	}
	return m.Info(), nil
}

// Predict implements engine.Client: through the HTTP handler, so a console
// prediction is logged, measured and monitored like any other request.
func (e *Engine) Predict(ctx context.Context, l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	m := e.serving.holder.Current()
	if m == nil {
		return engine.Prediction{}, errors.New("no model loaded")
	}
	t0 := time.Now()
	p, err := e.serving.predictListing(ctx, l, opt)
	p.Latency = time.Since(t0)
	p.LatencyMS = float64(p.Latency.Microseconds()) / 1000
	return p, err
}

// Snapshot implements engine.Client.
func (e *Engine) Snapshot(ctx context.Context, window time.Duration) (engine.Snapshot, error) {
	s := e.serving
	if window <= 0 {
		window = 5 * time.Minute
	}
	ms := s.mon.Snapshot(window)
	snap := engine.Snapshot{At: e.now(), Health: s.srv.Health(), Window: window, Latency: ms.Latency, History: ms.History,
		Events: e.bus.latest(20), Dropped: int64(s.plog.Dropped())}
	snap.Demo = s.demoRunning()
	if m := s.holder.Current(); m != nil {
		snap.Model = m.Info()
	}
	snap.SLO = e.slo()
	snap.Drift = s.drift()
	snap.Alerts = s.alerts.states()
	return snap, nil
}

// slo reads the console's threshold lines from the alert rules in force.
func (e *Engine) slo() engine.SLO {
	a := e.config().Alerts
	slo := engine.SLO{P50MS: math.NaN(), P95MS: 500, P99MS: 200, ErrorRate: 0.01}
	if v, ok := a.Threshold("latency_p95"); ok {
		slo.P95MS = v * 1000
	}
	if v, ok := a.Threshold("latency_p99"); ok {
		slo.P99MS = v * 1000
	}
	if v, ok := a.Threshold("error_rate_5xx"); ok {
		slo.ErrorRate = v
	}
	slo.P50MS = 0
	return slo
}

// drift returns the live drift report, recomputed at most once a second:
// every console and SSH session polls it.
func (s *serving) drift() engine.DriftSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.e.now()
	if now.Sub(s.driftAt) < time.Second && !s.driftAt.IsZero() {
		return s.driftSum
	}
	cur := s.current()
	if cur == nil {
		return engine.DriftSummary{Status: "collecting"}
	}
	c := s.e.config().Drift
	th := drift.Thresholds{MinWindow: c.MinWindow, PSIThreshold: c.PSIThreshold, PSIRetrain: c.PSIRetrain,
		PSIRetrainFeatures: c.PSIRetrainFeatures, KSP: c.KSP, JSThreshold: c.JSThreshold,
		WassersteinThreshold: c.WassersteinThreshold, DatasetDriftShare: c.DatasetDriftShare, Features: c.Features}
	sum := s.win.Report(cur.m.Reference, th)
	if y := cur.m.MaxTrainYear(); !math.IsNaN(y) {
		sum.MaxTrainYear = int(y)
	}
	s.driftAt, s.driftSum = now, sum
	return sum
}

// ReloadAll re-reads config.yaml and the champion model (SIGHUP).
func (e *Engine) ReloadAll(ctx context.Context) {
	if e.cfgPath != "" {
		c, err := config.Load(e.cfgPath)
		e.applyConfig(c, err)
	}
	e.serving.reloadChampion(ctx)
}

// watchChampion reloads when the champion alias moves in another process
// (`carvision models promote` while `serve` runs). Polling the alias is one
// indexed read every two seconds; watching the database file instead would
// also wake on every write the server itself makes.
func (s *serving) watchChampion(ctx context.Context) {
	if s.e.opts.ModelFile != "" {
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, ok, err := s.e.st.Alias(ctx, registry.Champion)
		if err != nil || !ok {
			continue
		}
		if cur := s.holder.Current(); cur == nil || cur.Version() != "v"+v {
			s.reloadChampion(ctx)
		}
	}
}
