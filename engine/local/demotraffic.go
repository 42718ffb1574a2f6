package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/demo"
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

// runDemo sends requests at the configured rate through real HTTP, so the
// monitor, the drift window and the logs see them as any client's.
func (s *serving) runDemo(ctx context.Context, url string, pool, future [][]byte) {
	rate := s.e.config().Console.Demo.Rate
	if rate <= 0 {
		rate = 20
	}
	script := demo.DefaultScript()
	if !s.e.config().Console.Demo.Episodes {
		script = demo.Script{Normal: time.Hour}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	defer s.slow.Store(0)
	start := time.Now()
	var last demo.Phase
	sem := make(chan struct{}, 8) // bounded in flight: a slow spell must not pile up goroutines
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ph := script.At(time.Since(start))
		if ph != last {
			last = ph
			s.demoPhase.Store(string(ph))
			if ph == demo.SlowSpell {
				s.slow.Store(int64(script.SlowLatency))
			} else {
				s.slow.Store(0)
			}
			s.e.log.Info("demo episode", "phase", string(ph))
		}
		body := demo.Next(ph, pool, future, i)
		select {
		case sem <- struct{}{}:
		default:
			continue // all slots busy: drop this tick rather than queue
		}
		go func() {
			defer func() { <-sem }()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "carvision-demo")
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
}
