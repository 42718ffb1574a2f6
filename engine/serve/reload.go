package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"carvision/engine"
)

// ReloaderOptions configures a Reloader.
type ReloaderOptions struct {
	Holder *Holder // where verified models are published (required)
	// Load reads and verifies a model file (format, checksum); required.
	Load func(path string) (Model, error)
	// Path is the model file, or Resolve finds it at each reload (the
	// champion alias in the store). One of them is required.
	Path    string
	Resolve func() (string, error)
	// Watch lists more files whose change triggers a reload, e.g. the
	// store's database (its -wal and -journal siblings match too).
	Watch    []string
	Debounce time.Duration   // quiet time after the last event (default 500 ms)
	WarmUp   *engine.Listing // warm-up listing (default: a typical pickup)
	Logger   *slog.Logger
	Registry prometheus.Registerer // exports reload counters when set
	OnSwap   func(old, cur Model)  // after a successful swap (old may be nil)
	OnRefuse func(err error)       // after a refused reload
}

// Reloader loads, verifies and publishes models: on demand (Reload, wired to
// SIGHUP) and on file changes (Start). A model that fails to load, disagrees
// with the config's schema, or fails its warm-up prediction is refused and
// the previous model keeps serving.
type Reloader struct {
	opt ReloaderOptions
	log *slog.Logger

	mu      sync.Mutex // one reload at a time
	curPath string
	curSum  string
	lastErr atomic.Pointer[error]

	// Plain atomics exported by Collect, rather than prometheus.Counters,
	// because Failures reads the count back and a Counter has no getter.
	failures atomic.Uint64
	reloads  atomic.Uint64
	done     chan struct{}
}

// DefaultWarmUp is the listing used for warm-up predictions.
var DefaultWarmUp = engine.Listing{
	Price: math.NaN(), ModelYear: 2014, Model: "ford f-150", Condition: "excellent", Cylinders: 8,
	Fuel: "gas", Odometer: 98000, Transmission: "automatic", Type: "pickup", PaintColor: "white",
	Is4WD: 1, DatePosted: "2019-03-15", DaysListed: math.NaN(),
}

// NewReloader checks the options; it loads nothing until Reload or Start.
func NewReloader(opt ReloaderOptions) (*Reloader, error) {
	switch {
	case opt.Holder == nil:
		return nil, errors.New("reloader: Holder is required")
	case opt.Load == nil:
		return nil, errors.New("reloader: Load is required")
	case opt.Path == "" && opt.Resolve == nil:
		return nil, errors.New("reloader: Path or Resolve is required")
	}
	if opt.Debounce <= 0 {
		opt.Debounce = 500 * time.Millisecond
	}
	r := &Reloader{opt: opt, log: opt.Logger, done: make(chan struct{})}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if opt.Registry != nil {
		if err := opt.Registry.Register(r); err != nil {
			return nil, fmt.Errorf("reloader: export metrics: %w", err)
		}
	}
	return r, nil
}

// Reload loads the model now, even if the file is unchanged (SIGHUP).
func (r *Reloader) Reload() error { return r.reload(true) }

// LastReloadError is the last reload's refusal, or nil after a success.
func (r *Reloader) LastReloadError() error {
	if p := r.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Failures counts refused reloads.
func (r *Reloader) Failures() uint64 { return r.failures.Load() }

var (
	descReloadFailures = prometheus.NewDesc(MetricReloadFailures, "Model reloads refused (load, schema or warm-up failure); the previous model kept serving.", nil, nil)
	descReloads        = prometheus.NewDesc(MetricReloads, "Models loaded, verified and swapped in.", nil, nil)
)

// Describe implements prometheus.Collector.
func (r *Reloader) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReloadFailures
	ch <- descReloads
}

// Collect implements prometheus.Collector: the reload counters.
func (r *Reloader) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descReloadFailures, prometheus.CounterValue, float64(r.failures.Load()))
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(r.reloads.Load()))
}

func (r *Reloader) path() (string, error) {
	if r.opt.Resolve != nil {
		p, err := r.opt.Resolve()
		if err != nil {
			return "", fmt.Errorf("resolve the model file: %w", err)
		}
		if p == "" {
			return "", errors.New("resolve the model file: no champion registered")
		}
		return p, nil
	}
	return r.opt.Path, nil
}

func (r *Reloader) reload(force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, err := r.path()
	if err != nil {
		return r.refuse(path, err)
	}
	sum, err := fileSum(path)
	if err != nil {
		return r.refuse(path, err)
	}
	if !force && path == r.curPath && sum == r.curSum && r.opt.Holder.Current() != nil {
		return nil // a touch or an unrelated write: nothing to do
	}
	m, err := r.load(path)
	if err != nil {
		return r.refuse(path, err)
	}
	if err := m.SchemaCheck(); err != nil {
		if strings.Contains(err.Error(), "Missing column") {
			// The runbook's "API returns 500 / Missing column" check greps
			// for this message.
			r.log.Error(err.Error(), "model_version", m.Version(), "path", path)
		}
		return r.refuse(path, fmt.Errorf("model %s: schema check: %w", m.Version(), err))
	}
	warm := DefaultWarmUp
	if r.opt.WarmUp != nil {
		warm = *r.opt.WarmUp
	}
	if _, err := predictOne(m, warm, engine.PredictOptions{}); err != nil {
		return r.refuse(path, fmt.Errorf("model %s: warm-up prediction: %w", m.Version(), err))
	}
	old := r.opt.Holder.Swap(m)
	r.curPath, r.curSum = path, sum
	r.lastErr.Store(nil)
	r.reloads.Add(1)
	oldVersion := ""
	if old != nil {
		oldVersion = old.Version()
	}
	r.log.Info("model reloaded", "model_version", m.Version(), "previous_version", oldVersion, "path", path, "sha256", sum[:16])
	if r.opt.OnSwap != nil {
		r.opt.OnSwap(old, m)
	}
	return nil
}

// load calls Load, turning a panic (a corrupted file tripping the decoder)
// into an error.
func (r *Reloader) load(path string) (m Model, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("load %s: panic: %v", path, p)
		}
	}()
	m, err = r.opt.Load(path)
	if err == nil && m == nil {
		err = fmt.Errorf("load %s: no model returned", path)
	}
	if err != nil && !strings.Contains(err.Error(), path) {
		err = fmt.Errorf("load %s: %w", path, err)
	}
	return m, err
}

func (r *Reloader) refuse(path string, err error) error {
	r.failures.Add(1)
	r.lastErr.Store(&err)
	kept := ""
	if m := r.opt.Holder.Current(); m != nil {
		kept = m.Version()
	}
	r.log.Error("reload refused", "path", path, "error", err.Error(), "serving_version", kept)
	if r.opt.OnRefuse != nil {
		r.opt.OnRefuse(err)
	}
	return err
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open model %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read model %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Start watches the model file's directory and the Watch files (fsnotify)
// until ctx ends; a burst of events triggers one reload after Debounce of
// quiet. Watches are in place when Start returns. Done is closed when the
// watcher has stopped.
func (r *Reloader) Start(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("reloader: watch: %w", err)
	}
	names := map[string]bool{} // base names that trigger (prefix match)
	dirs := map[string]bool{}
	add := func(p string) error {
		if p == "" {
			return nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		names[filepath.Base(abs)] = true
		dir := filepath.Dir(abs)
		if dirs[dir] {
			return nil
		}
		// Watch the directory, not the file: models are replaced by rename,
		// which would orphan a watch on the old inode.
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("reloader: watch %s: %w", dir, err)
		}
		dirs[dir] = true
		return nil
	}
	if p, err := r.path(); err == nil {
		if err := add(p); err != nil {
			w.Close()
			return err
		}
	}
	for _, p := range r.opt.Watch {
		if err := add(p); err != nil {
			w.Close()
			return err
		}
	}
	if len(dirs) == 0 {
		w.Close()
		return errors.New("reloader: nothing to watch (the model path did not resolve and Watch is empty)")
	}
	relevant := func(name string) bool {
		base := filepath.Base(name)
		for n := range names {
			if strings.HasPrefix(base, n) {
				return true
			}
		}
		return false
	}
	go func() {
		defer close(r.done)
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !relevant(ev.Name) || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(r.opt.Debounce)
				} else {
					timer.Reset(r.opt.Debounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				r.log.Warn("reloader: watch error", "error", err.Error())
			case <-fire:
				fire = nil
				_ = r.reload(false) // refusals are logged and counted
				if p, err := r.path(); err == nil {
					if err := add(p); err != nil { // a new champion may live elsewhere
						r.log.Warn("reloader: watch", "error", err.Error())
					}
				}
			}
		}
	}()
	return nil
}

// Done is closed when the watcher started by Start has stopped.
func (r *Reloader) Done() <-chan struct{} { return r.done }
