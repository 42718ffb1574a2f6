// Package verdict maps engine states to the level (symbol, word and colour)
// the console shows, so every page judges "healthy", "firing" or "over SLO"
// the same way.
package verdict

import (
	"carvision/engine"
	"carvision/tui/theme"
)

// Health returns the level and word of the service health.
func Health(h engine.Health, err error) (theme.Level, string) {
	switch {
	case err != nil:
		return theme.LevelBad, "unreachable"
	case h.Status == "":
		return theme.LevelMuted, "connecting"
	case h.Status == "healthy" && h.Ready:
		return theme.LevelOK, "healthy"
	case h.Status == "healthy":
		return theme.LevelWarn, "not ready"
	}
	return theme.LevelBad, h.Status
}

// Alert returns the level of an alert state.
func Alert(state string) theme.Level {
	switch state {
	case "firing":
		return theme.LevelBad
	case "pending":
		return theme.LevelWarn
	}
	return theme.LevelMuted
}

// AlertRank orders alerts: firing, pending, then the rest.
func AlertRank(state string) int {
	switch state {
	case "firing":
		return 0
	case "pending":
		return 1
	}
	return 2
}

// VsLimit judges a value against an upper limit: over is bad, within 80 %
// of it is a warning (k9s pulses: warn 70–80 %, critical at the limit).
func VsLimit(v, limit float64) (theme.Level, string) {
	switch {
	case limit <= 0:
		return theme.LevelMuted, "no SLO"
	case v > limit:
		return theme.LevelBad, "over"
	case v > 0.8*limit:
		return theme.LevelWarn, "near"
	}
	return theme.LevelOK, "within"
}

// Drift returns the level and word of a drift summary.
func Drift(d engine.DriftSummary) (theme.Level, string) {
	switch d.Status {
	case "drift":
		return theme.LevelBad, "drift"
	case "ok":
		return theme.LevelOK, "no drift"
	case "collecting":
		return theme.LevelMuted, "collecting"
	}
	return theme.LevelMuted, "unknown"
}

// Stage returns the level of a pipeline stage or event status.
func Stage(status string) theme.Level {
	switch status {
	case "done", "up-to-date", "skipped":
		return theme.LevelOK
	case "running":
		return theme.LevelInfo
	case "changed", "never":
		return theme.LevelWarn
	case "failed":
		return theme.LevelBad
	}
	return theme.LevelMuted
}
