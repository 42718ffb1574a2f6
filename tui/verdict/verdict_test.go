package verdict

import (
	"errors"
	"testing"

	"carvision/engine"
	"carvision/tui/theme"
)

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		got, want theme.Level
		name      string
	}{
		{lvl(Health(engine.Health{Status: "healthy", Ready: true}, nil)), theme.LevelOK, "healthy"},
		{lvl(Health(engine.Health{Status: "healthy"}, nil)), theme.LevelWarn, "not ready"},
		{lvl(Health(engine.Health{Status: "unhealthy"}, nil)), theme.LevelBad, "unhealthy"},
		{lvl(Health(engine.Health{}, errors.New("down"))), theme.LevelBad, "unreachable"},
		{Alert("firing"), theme.LevelBad, "firing"},
		{Alert("pending"), theme.LevelWarn, "pending"},
		{Alert("inactive"), theme.LevelMuted, "inactive"},
		{lvl(VsLimit(310, 300)), theme.LevelBad, "over SLO"},
		{lvl(VsLimit(250, 300)), theme.LevelWarn, "near SLO"},
		{lvl(VsLimit(100, 300)), theme.LevelOK, "within SLO"},
		{lvl(VsLimit(100, 0)), theme.LevelMuted, "no SLO"},
		{lvl(Drift(engine.DriftSummary{Status: "drift"})), theme.LevelBad, "drift"},
		{Stage("failed"), theme.LevelBad, "failed stage"},
		{Stage("skipped"), theme.LevelOK, "cached stage"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: level %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func lvl(l theme.Level, _ string) theme.Level { return l }
