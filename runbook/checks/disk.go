package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	register(&Check{ID: "disk.usage", Title: "Disk usage of the data, artifact and log volumes",
		Help: "statfs of the volumes holding the data, the artifacts and the log against 85% (one call per path: bounded work).",
		Params: []ParamSpec{{Name: "max", Kind: KindNumber, Help: "fail above this used share (default 0.85)"},
			{Name: "warn", Kind: KindNumber, Help: "warn above this used share (default 0.75)"}},
		Timeout: 3 * time.Second, Run: runDisk})
}

// resolve makes a config path absolute against root.
func resolve(root, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func runDisk(ctx context.Context, in Input) Result {
	env := in.Env
	cfg := env.Config()
	paths := []struct{ what, path string }{
		{"data", filepath.Dir(env.DataPath())},
		{"artifacts", resolve(env.Root(), cfg.Paths.ArtifactsDir)},
		{"log", filepath.Dir(env.LogPath())},
	}
	maxShare, warnShare := in.Params.Number("max", 0.85), in.Params.Number("warn", 0.75)
	var ev Evidence
	ev.Row("volume of", "path", "used", "size", "use")
	seen := map[uint64]string{}
	var over, near []string
	worst := 0.0
	measured := 0
	for _, p := range paths {
		if ctx.Err() != nil {
			return errorf("disk usage: %v", ctx.Err())
		}
		du, err := env.DiskUsage(p.path)
		if err != nil {
			ev.Row(p.what, p.path, "—", "—", "error: "+oneLine(err.Error()))
			continue
		}
		measured++
		if prev, dup := seen[du.Dev]; dup && du.Dev != 0 {
			ev.Row(p.what, p.path, "", "", "same volume as "+prev)
			continue
		}
		seen[du.Dev] = p.what
		share := du.Share()
		worst = max(worst, share)
		ev.Row(p.what, p.path, Bytes(float64(du.Used)), Bytes(float64(du.Used+du.Avail)), pct(share))
		ev.Add(p.what+" volume used", share, "share")
		switch {
		case share > maxShare:
			over = append(over, fmt.Sprintf("%s volume %s full", p.what, pct(share)))
		case share > warnShare:
			near = append(near, fmt.Sprintf("%s volume %s full", p.what, pct(share)))
		}
	}
	if measured == 0 {
		return errorf("could not measure any volume")
	}
	fix := &Fix{Runbook: "disk-space", Step: "rotate-logs", Hint: "free space: rotate and prune old logs, remove superseded model files"}
	switch {
	case len(over) > 0:
		return Result{Verdict: Fail, Finding: strings.Join(over, ", ") + fmt.Sprintf(" (limit %s)", pct(maxShare)), Evidence: ev, Fix: fix}
	case len(near) > 0:
		return Result{Verdict: Warn, Finding: strings.Join(near, ", ") + fmt.Sprintf(" (warn %s, limit %s)", pct(warnShare), pct(maxShare)), Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("every volume under %s (fullest %s)", pct(warnShare), pct(worst)), Evidence: ev}
}
