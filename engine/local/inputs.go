package local

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchInputs tells every viewer when the raw data or config.yaml changed
// since the last repro, with the stages a repro would re-run (a dry run of
// the pipeline). It watches the folders, so an editor's rename-write or a
// file dropped in place is seen; bursts are debounced.
func (e *Engine) watchInputs(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		e.log.Warn("input watcher unavailable", "err", err)
		return
	}
	s := e.Settings()
	data := s.Abs(s.DataPath)
	targets := map[string]bool{filepath.Clean(data): true}
	if e.cfgPath != "" {
		if abs, err := filepath.Abs(e.cfgPath); err == nil {
			targets[filepath.Clean(abs)] = true
		}
	}
	for t := range targets {
		_ = w.Add(filepath.Dir(t)) // a missing folder (no raw data yet) is not an error
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		fire := make(chan struct{}, 1)
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !targets[filepath.Clean(ev.Name)] {
					continue
				}
				if timer != nil {
					timer.Stop()
				}
				timer = time.AfterFunc(500*time.Millisecond, func() {
					select {
					case fire <- struct{}{}:
					default:
					}
				})
			case <-w.Errors:
			case <-fire:
				e.reportInputs(ctx)
			}
		}
	}()
}

// reportInputs publishes which stages a repro would re-run and why.
func (e *Engine) reportInputs(ctx context.Context) {
	if e.retraining.Load() {
		return
	}
	st, err := e.PipelineStatus(ctx)
	if err != nil {
		e.log.Warn("inputs changed, but the dry run failed", "err", err)
		return
	}
	var stages []string
	for _, s := range st.Stages {
		if s.Status == "changed" {
			stages = append(stages, s.Name)
		}
	}
	if len(stages) == 0 {
		return
	}
	why := strings.Join(st.InputsChanged, "; ")
	e.Publish("inputs", "", "inputs changed since the last repro ("+why+"): a repro would re-run "+strings.Join(stages, ", "))
}
