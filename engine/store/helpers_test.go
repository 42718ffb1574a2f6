package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock; tests move it explicitly.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTest opens a fresh store in a temporary folder with a fake clock.
func openTest(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	s, err := OpenWith(filepath.Join(t.TempDir(), "state", "carvision.db"), Options{Clock: clk.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, clk
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// countRows counts rows of a table through the read pool.
func countRows(t testing.TB, s *Store, table, where string, args ...any) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := s.r.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// sampleResult is a run result of the size the targets talk about.
func sampleResult(metrics, artifacts int) RunResult {
	r := RunResult{Params: map[string]string{}}
	for i := range 8 {
		r.Params[fmt.Sprintf("training.gbdt.param_%d", i)] = fmt.Sprint(i * 3)
	}
	for i := range metrics {
		r.Metrics = append(r.Metrics, Metric{Key: fmt.Sprintf("metric_%02d", i%10), Value: float64(i) * 1.5, Step: int64(i / 10)})
	}
	for i := range artifacts {
		p := fmt.Sprintf("artifacts/file_%02d.bin", i)
		r.Artifacts = append(r.Artifacts, Artifact{Path: p, SHA256: sha(p), Bytes: int64(1000 + i)})
	}
	return r
}

func mustStart(t testing.TB, s *Store) string {
	t.Helper()
	id, err := s.StartRun(context.Background(), RunStart{Who: "tester", DataHash: "d1", ConfigHash: "c1"})
	if err != nil {
		t.Fatalf("start run: %v", err)
	}
	return id
}

func nan() float64 { return math.NaN() }
