package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"carvision/engine"
	"carvision/engine/alerts"
	"carvision/engine/monitor"
	"carvision/engine/store"
)

// DemoTimeScale divides alert `for:` durations while demo traffic runs, so a
// ten-minute demo cycle shows an alert go pending and then fire. The console
// says so wherever the alert appears; real traffic never uses it.
const DemoTimeScale = 10

// alertLoop evaluates the alert rules on a ticker against the monitor, the
// drift report, the server's own health and the disk.
type alertLoop struct {
	e    *Engine
	s    *serving
	mu   sync.Mutex
	eng  *alerts.Engine
	hook *alerts.Webhook
	demo bool
}

func newAlertLoop(e *Engine, s *serving) *alertLoop {
	l := &alertLoop{e: e, s: s}
	if err := l.build(false); err != nil {
		e.log.Error("alert rules refused; alerting is off until the config is fixed", "err", err)
	}
	return l
}

func (l *alertLoop) rules(demo bool) []alerts.Rule {
	var out []alerts.Rule
	for _, r := range l.e.config().Alerts.Rules {
		ar := alerts.Rule{Name: r.Name, Expr: r.Expr, Op: r.Op, Threshold: r.Threshold, For: r.For,
			Severity: r.Severity, Runbook: r.Runbook, Description: r.Description}
		if demo {
			ar.For /= DemoTimeScale
			ar.Description += fmt.Sprintf(" (demo: for ÷%d)", DemoTimeScale)
		}
		out = append(out, ar)
	}
	return out
}

func (l *alertLoop) build(demo bool) error {
	notify := alerts.NotifierFunc(l.notify)
	ns := []alerts.Notifier{alerts.LogNotifier(l.e.log), notify}
	wh := l.e.config().Alerts.Webhook
	var hook *alerts.Webhook
	if wh.URL != "" {
		h, err := alerts.NewWebhook(alerts.WebhookConfig{URL: wh.URL, Timeout: wh.Timeout, Retries: wh.Retries, Logger: l.e.log})
		if err != nil {
			return err
		}
		hook = h
		ns = append(ns, h)
	}
	eng, err := alerts.NewEngine(l.rules(demo), ns...)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.hook
	l.eng, l.hook, l.demo = eng, hook, demo
	l.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// notify turns a transition into an event for every viewer and a row of alert history.
func (l *alertLoop) notify(t alerts.Transition) {
	kind := "alert"
	msg := fmt.Sprintf("%s %s → %s (value %.3g)", t.Rule, t.From, t.To, t.Value)
	if t.To == alerts.Firing {
		msg = fmt.Sprintf("%s FIRING: %s — runbook %s", t.Rule, t.Alert.Description, t.Alert.Runbook)
	}
	l.e.bus.publish(engine.Event{At: t.At, Kind: kind, Message: msg})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.e.st.RecordAlert(ctx, store.AlertRecord{Rule: t.Rule, State: string(t.To), Value: t.Value, Severity: t.Alert.Severity, At: t.At})
}

func (l *alertLoop) states() []engine.Alert {
	l.mu.Lock()
	eng := l.eng
	l.mu.Unlock()
	if eng == nil {
		return nil
	}
	return eng.Alerts()
}

// values gathers what the rules watch.
func (l *alertLoop) values() alerts.Values {
	v := alerts.Values{}
	cfg := l.e.config()
	wins := cfg.Monitor.Windows
	for i, w := range wins {
		st := l.s.mon.Stats(w)
		if len(st) > 0 {
			v.SetLatency(w, st[0], i == 0)
		}
	}
	h := l.s.srv.Health()
	v["health_ok"] = alerts.Bool(h.Status == "healthy")
	v.SetDrift(l.s.drift())
	used := 0.0
	for _, p := range []string{cfg.Paths.ArtifactsDir, cfg.Paths.LogPath} {
		if u, err := monitor.DiskUsage(l.e.abs(p)); err == nil && u > used {
			used = u
		}
	}
	v["disk_usage"] = used
	fail := 0.0
	if l.s.reload != nil && l.s.reload.LastReloadError() != nil {
		fail = 1
	}
	v["model_reload_failed"] = fail
	l.e.cfgMu.RLock()
	v["config_reload_failed"] = alerts.Bool(l.e.cfgErr != nil)
	l.e.cfgMu.RUnlock()
	return v
}

func (l *alertLoop) run(ctx context.Context) {
	every := l.e.config().Alerts.EvalInterval
	if every <= 0 {
		every = 15 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		demo := l.s.demoRunning()
		l.mu.Lock()
		rebuild := demo != l.demo
		l.mu.Unlock()
		if rebuild {
			if err := l.build(demo); err != nil {
				l.e.log.Error("alert rules", "err", err)
			}
		}
		l.mu.Lock()
		eng := l.eng
		l.mu.Unlock()
		if eng != nil {
			eng.Eval(l.e.now(), l.values())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *serving) demoRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.demoStop != nil
}
