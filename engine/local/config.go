package local

import (
	"context"
	"fmt"
	"os"

	"carvision/engine"
	"carvision/engine/config"
)

// Config implements engine.Client: the file on disk, whether it is valid, and
// when the config in force was applied.
func (e *Engine) Config(ctx context.Context) (engine.ConfigState, error) {
	e.cfgMu.RLock()
	defer e.cfgMu.RUnlock()
	st := engine.ConfigState{Path: e.cfgPath, Text: e.cfgText, Valid: e.cfgErr == nil, AppliedAt: e.appliedAt, Line: e.cfgLine}
	if e.cfgErr != nil {
		st.Error = e.cfgErr.Error()
	}
	if st.Text == "" && e.cfgPath != "" {
		if b, err := os.ReadFile(e.cfgPath); err == nil {
			st.Text = string(b)
		}
	}
	return st, nil
}

// ReloadConfig implements engine.Client: re-read the file now.
func (e *Engine) ReloadConfig(ctx context.Context, req engine.ActionRequest) (engine.ConfigState, error) {
	if err := e.guard(req.Actor, "reload-config"); err != nil {
		return engine.ConfigState{}, err
	}
	if e.cfgPath == "" {
		return e.Config(ctx)
	}
	c, err := config.Load(e.cfgPath)
	e.applyConfig(c, err)
	st, _ := e.Config(ctx)
	if err != nil {
		return st, err
	}
	return st, nil
}

// applyConfig installs a valid config, or records why a new file was refused
// while the old config stays in force.
func (e *Engine) applyConfig(c *config.Config, err error) {
	text := ""
	if b, rerr := os.ReadFile(e.cfgPath); rerr == nil {
		text = string(b)
	}
	e.cfgMu.Lock()
	e.cfgText = text
	if err != nil {
		e.cfgErr, e.cfgLine = err, config.ErrorLine(err)
		e.cfgMu.Unlock()
		e.log.Error("config refused; the previous config stays in force", "path", e.cfgPath, "line", config.ErrorLine(err), "err", err)
		e.Publish("config", "", fmt.Sprintf("config invalid (line %d): old config kept", config.ErrorLine(err)))
		return
	}
	e.cfg, e.cfgErr, e.cfgLine, e.appliedAt = c, nil, 0, e.now()
	e.cfgMu.Unlock()
	e.reg.SetGate(e.newRegistry(c).Gate)
	e.log.Info("config applied", "path", e.cfgPath)
	e.Publish("config", "", "config applied")
	if e.serving != nil {
		e.serving.configChanged(c)
	}
}

// watchConfig applies edits to config.yaml as they land on disk.
func (e *Engine) watchConfig(ctx context.Context) {
	if e.cfgPath == "" {
		return
	}
	if _, err := os.Stat(e.cfgPath); err != nil {
		return
	}
	go func() {
		if err := config.Watch(ctx, e.cfgPath, e.config().Serve.ReloadDebounce, e.applyConfig); err != nil {
			e.log.Warn("config watcher stopped", "err", err)
		}
	}()
}
