package runbook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carvision/engine/dataset/datasettest"
	"carvision/engine/synth"
	"carvision/runbook/checks"
)

// benchEnv is a FakeEnv shaped like a live deployment: the full dataset
// (the real one when present, else 51,525 synthetic rows), an 8 MiB service
// log with "Missing column" lines, rotated logs, and this repository for
// the secrets scan.
func benchEnv(b *testing.B) *checks.FakeEnv {
	b.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	env := checks.NewFakeEnv(root)
	env.Log = filepath.Join(tmp, "logs", "carvision.log")
	env.Data = datasettest.RealPath()
	if env.Data == "" {
		env.Data = filepath.Join(tmp, "vehicles_us.csv")
		if err := synth.WriteFile(env.Data, 51525, 42); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(env.Log), 0o755); err != nil {
		b.Fatal(err)
	}
	var log strings.Builder
	at := checks.FakeNow.Add(-2 * time.Hour)
	for i := 0; log.Len() < 8<<20; i++ {
		at = at.Add(100 * time.Millisecond)
		if i%5000 == 0 {
			fmt.Fprintf(&log, `{"time":%q,"level":"ERROR","msg":"Missing column \"odometer\": model v3 expects it","model_version":"3"}`+"\n", at.Format(time.RFC3339Nano))
			continue
		}
		fmt.Fprintf(&log, `{"time":%q,"level":"INFO","msg":"request","request_id":"r-%d","status":200,"latency_ms":3.2,"model_version":"3"}`+"\n", at.Format(time.RFC3339Nano), i)
	}
	if err := os.WriteFile(env.Log, []byte(log.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for d := 1; d <= 7; d++ {
		name := fmt.Sprintf("carvision-2025-01-%02dT00-00-00.000.log.gz", d)
		if err := os.WriteFile(filepath.Join(tmp, "logs", name), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return env
}

// BenchmarkRunAllChecks runs every distinct check of the shipped library
// once (the health sweep); the target is ≤ 1 s per sweep.
func BenchmarkRunAllChecks(b *testing.B) {
	env := benchEnv(b)
	lib := mustLibrary(b, "")
	r := NewRunner(env, nil)
	runs := r.CheckLibrary(context.Background(), lib)
	for _, run := range runs {
		if run.Result.Verdict == checks.Error {
			b.Fatalf("%s: %s", run.Check, run.Result.Finding)
		}
	}
	b.ReportMetric(float64(len(runs)), "checks")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.CheckLibrary(context.Background(), lib)
	}
}

// BenchmarkEachCheck times each built-in check alone on the same env.
func BenchmarkEachCheck(b *testing.B) {
	env := benchEnv(b)
	for _, id := range checks.IDs() {
		b.Run(id, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				checks.Run(context.Background(), id, checks.Input{Env: env, Memo: &checks.Memo{}})
			}
		})
	}
}

func BenchmarkParseLibrary(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Builtin(); err != nil {
			b.Fatal(err)
		}
	}
}
