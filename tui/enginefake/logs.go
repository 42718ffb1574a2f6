package enginefake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"carvision/engine"
)

var levelRank = map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3}

// logf appends one record to the fake service log.
func (f *Fake) logf(level, msg string, attrs map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	f.generateLocked(now) // keep the log in time order
	f.appendLocked(now, level, msg, attrs)
}

func (f *Fake) appendLocked(at time.Time, level, msg string, attrs map[string]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s level=%s msg=%q", at.UTC().Format(time.RFC3339), strings.ToUpper(level), msg)
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if attrs[k] == "" {
			delete(attrs, k)
			continue
		}
		fmt.Fprintf(&b, " %s=%s", k, attrs[k])
	}
	f.logs.Push(engine.LogLine{At: at, Level: level, Message: msg, Attrs: attrs, Raw: b.String()})
}

func (f *Fake) seedLogs(now time.Time) {
	f.appendLocked(now.Add(-3*time.Hour-12*time.Minute), "info", "service started", map[string]string{"addr": "127.0.0.1:8080", "model": "v6"})
	f.logUntil = now.Add(-2 * time.Minute)
	f.generateLocked(now)
}

// generateLocked writes the log lines of every second up to now: requests,
// and the episodes' warnings, as a function of time only.
func (f *Fake) generateLocked(now time.Time) {
	from := f.logUntil
	if now.Sub(from) > 5*time.Minute {
		from = now.Add(-5 * time.Minute)
	}
	for t := from.Truncate(time.Second).Add(time.Second); !t.After(now); t = t.Add(time.Second) {
		s := t.Unix()
		p := f.pointAt(t, f.demo)
		switch {
		case in(t, burstFrom, burstTo) && noise(s, 60) < 0.6:
			f.appendLocked(t, "warn", "request rejected", map[string]string{"status": "422", "path": "/predict",
				"error": "model_year: not a number", "request_id": fmt.Sprintf("req-%06x", s%0xffffff)})
		case in(t, slowFrom, slowTo) && noise(s, 61) < 0.3:
			f.appendLocked(t, "warn", "slow request", map[string]string{"path": "/predict",
				"latency_ms": fmt.Sprintf("%.0f", p.P99MS), "request_id": fmt.Sprintf("req-%06x", s%0xffffff)})
		default:
			f.appendLocked(t, "info", "request served", map[string]string{"method": "POST", "path": "/predict", "status": "200",
				"latency_ms": fmt.Sprintf("%.1f", p.P50MS), "request_id": fmt.Sprintf("req-%06x", s%0xffffff)})
		}
		if s%15 == 0 {
			f.appendLocked(t, "debug", "drift window updated", map[string]string{"size": "500", "features": "9"})
		}
		if s%97 == 0 {
			f.appendLocked(t, "error", "prediction log write failed", map[string]string{"error": "queue full", "dropped": "3"})
		}
	}
	if now.After(f.logUntil) {
		f.logUntil = now
	}
}

// Logs implements engine.Client: the newest q.Limit lines at or above
// q.Level containing q.Search, newest first (as the local engine answers).
func (f *Fake) Logs(ctx context.Context, q engine.LogQuery) ([]engine.LogLine, error) {
	if err := f.need(ctx, f.caps.Logs); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.generateLocked(f.clock())
	minRank := levelRank[q.Level]
	limit := q.Limit
	if limit <= 0 {
		limit = 500
	}
	var out []engine.LogLine
	for i := f.logs.Len() - 1; i >= 0 && len(out) < limit; i-- {
		l := f.logs.At(i)
		if levelRank[l.Level] < minRank {
			continue
		}
		if q.Search != "" && !strings.Contains(strings.ToLower(l.Raw), strings.ToLower(q.Search)) {
			continue
		}
		out = append(out, l)
	}
	return out, nil
}
