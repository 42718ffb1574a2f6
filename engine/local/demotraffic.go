package local

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/demo"
	"carvision/engine/loadtest"
	"carvision/engine/synth"
)

// SetDemo implements engine.Client: scripted traffic against the served API.
func (e *Engine) SetDemo(ctx context.Context, on bool) error {
	s := e.serving
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		if s.demoStop != nil {
			s.demoStop()
			s.demoStop = nil
			e.Publish("demo", "", "demo traffic stopped")
		}
		return nil
	}
	if s.demoStop != nil {
		return nil
	}
	if s.addr == "" {
		return errors.New("demo: the API is not serving")
	}
	pool, future := e.demoPools()
	dctx, cancel := context.WithCancel(context.Background())
	s.demoStop = cancel
	go s.runDemo(dctx, "http://"+s.addr+"/predict", pool, future)
	e.Publish("demo", "", "demo traffic started")
	return nil
}

// demoPools are the replayed bodies: held-out test listings when a repro
// wrote them, else synthetic ones; and the same listings moved to 2024–2026.
func (e *Engine) demoPools() ([][]byte, [][]byte) {
	s := e.Settings()
	f, err := dataset.Load(s.Abs(filepath.Join(s.ProcessedDir, "test.csv")))
	if err != nil || f.Len() == 0 {
		f = synth.Generate(500, 7)
	}
	n := min(f.Len(), 2000)
	ls := make([]engine.Listing, n)
	for i := range ls {
		ls[i] = f.Row(i)
	}
	return demo.Bodies(ls), demo.Bodies(demo.Future(ls[:min(n, 300)]))
}

// runDemo replays listings through the load generator against the real
// HTTP API, so the monitor, the drift window and the logs see them as any
// client's; the script switches episodes as time passes.
func (s *serving) runDemo(ctx context.Context, url string, pool, future [][]byte) {
	rate := s.e.config().Console.Demo.Rate
	if rate <= 0 {
		rate = 20
	}
	script := demo.DefaultScript()
	if !s.e.config().Console.Demo.Episodes {
		script = demo.Script{Normal: time.Hour}
	}
	defer s.slow.Store(0)
	var last atomic.Value
	scenario := func(i int, t time.Duration) ([]byte, time.Duration) {
		ph := script.At(t)
		if prev, _ := last.Load().(demo.Phase); prev != ph {
			last.Store(ph)
			s.demoPhase.Store(string(ph))
			if ph == demo.SlowSpell {
				s.slow.Store(int64(script.SlowLatency))
			} else {
				s.slow.Store(0)
			}
			s.e.log.Info("demo episode", "phase", string(ph))
		}
		return demo.Next(ph, pool, future, i), 0
	}
	for ctx.Err() == nil {
		_, err := loadtest.Run(ctx, loadtest.Options{URL: url, Rate: rate, Concurrency: 16, Duration: loadtest.MaxDuration,
			MaxRequests: loadtest.DefaultMaxRequests, Scenario: scenario, Header: http.Header{"User-Agent": {"carvision-demo"}}})
		if err != nil && ctx.Err() == nil {
			s.e.log.Warn("demo traffic", "err", err)
			return
		}
	}
}
