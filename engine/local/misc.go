package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/logging"
	"carvision/engine/market"
	"carvision/engine/pipeline"
)

// setupLogging builds the structured logger: JSON lines to the rotated log
// file, to stdout unless the console owns the terminal, and to the ring the
// console's Logs page reads.
func (e *Engine) setupLogging() error {
	if e.opts.Logger != nil {
		e.log = e.opts.Logger
		return nil
	}
	c := e.config().Logging
	var stdout io.Writer = os.Stdout
	if e.opts.Quiet {
		stdout = io.Discard
	}
	log, rot, err := logging.Setup(logging.Options{
		Level: c.Level, Format: c.Format, File: e.abs(e.config().Paths.LogPath), MaxSizeMB: c.MaxSizeMB,
		MaxBackups: c.MaxBackups, MaxAgeDays: c.MaxAgeDays, Compress: c.Compress, DailyRotate: c.DailyRotate,
		Stdout: stdout,
	})
	if err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	e.log, e.rot = log, rot
	e.closers = append(e.closers, rot.Close)
	slog.SetDefault(log)
	return nil
}

// Logs implements engine.Client.
func (e *Engine) Logs(ctx context.Context, q engine.LogQuery) ([]engine.LogLine, error) {
	if e.rot == nil {
		return nil, fmt.Errorf("logs: %w", engine.ErrUnavailable)
	}
	return e.rot.Recent(q), nil
}

// RotateLogs rotates the log file now (the runbook's rotate-logs action).
func (e *Engine) RotateLogs(ctx context.Context, actor engine.Actor) error {
	if err := e.guard(actor, "rotate-logs"); err != nil {
		return err
	}
	if e.rot == nil {
		return fmt.Errorf("rotate logs: %w", engine.ErrUnavailable)
	}
	err := e.rot.Rotate()
	e.audit(ctx, actor, "rotate-logs", "", err)
	return err
}

// LogInfo describes the active log file (the runbook's logs.rotation check).
func (e *Engine) LogInfo() (logging.FileInfo, error) {
	if e.rot == nil {
		return logging.FileInfo{}, engine.ErrUnavailable
	}
	return e.rot.Info()
}

type marketCache struct {
	mu      sync.Mutex
	hash    string
	frame   *dataset.Frame
	reports map[string]engine.MarketReport // by filter, for the current hash
}

// Market implements engine.Client: the analysis of the cleaned listings of
// the last repro, cached per data hash and filter (every console and
// /market/summary asks for the same few reports).
func (e *Engine) Market(ctx context.Context, f engine.MarketFilter) (engine.MarketReport, error) {
	frame, err := e.cleanFrame()
	if err != nil {
		return engine.MarketReport{}, err
	}
	key, _ := json.Marshal(f)
	if f.Year == 0 {
		key = append(key, e.now().Format("2006")...) // the reference year moves on 1 January
	}
	e.market.mu.Lock()
	rep, ok := e.market.reports[string(key)]
	e.market.mu.Unlock()
	if ok {
		return rep, nil
	}
	rep, err = market.Analyze(frame, f)
	if err != nil {
		return rep, err
	}
	e.market.mu.Lock()
	if e.market.reports == nil || len(e.market.reports) > 64 {
		e.market.reports = map[string]engine.MarketReport{}
	}
	e.market.reports[string(key)] = rep
	e.market.mu.Unlock()
	return rep, nil
}

func (e *Engine) cleanFrame() (*dataset.Frame, error) {
	s := e.Settings()
	path := s.Abs(filepath.Join(s.ProcessedDir, pipeline.CleanCSV))
	h, err := pipeline.HashFile(path)
	if err != nil {
		return nil, fmt.Errorf("market: no cleaned data yet (run `carvision repro`): %w", err)
	}
	e.market.mu.Lock()
	defer e.market.mu.Unlock()
	if e.market.hash == h.SHA256 && e.market.frame != nil {
		return e.market.frame, nil
	}
	f, err := dataset.Load(path)
	if err != nil {
		return nil, err
	}
	e.market.hash, e.market.frame, e.market.reports = h.SHA256, f, nil
	return f, nil
}

// listingJSON is the compact form a sampled prediction's features take in the store.
func listingJSON(l engine.Listing) json.RawMessage {
	m := map[string]any{"model": l.Model}
	put := func(k string, v float64) {
		if !math.IsNaN(v) {
			m[k] = v
		}
	}
	put("model_year", l.ModelYear)
	put("odometer", l.Odometer)
	put("cylinders", l.Cylinders)
	put("is_4wd", l.Is4WD)
	for k, v := range map[string]string{"condition": l.Condition, "fuel": l.Fuel, "transmission": l.Transmission,
		"type": l.Type, "paint_color": l.PaintColor, "date_posted": l.DatePosted} {
		if v != "" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}
