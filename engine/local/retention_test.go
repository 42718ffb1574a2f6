package local

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"carvision/engine/store"
)

func TestPruneBoundsTheStoredPredictionLog(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	text := "serve:\n  prediction_log:\n    retention: 1h\n    max_rows: 1000\nlogging:\n  daily_rotate: false\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := Open(ctx, Options{ConfigPath: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := e.now()
	var rows []store.PredictionRow
	for i := range 300 { // past the retention
		rows = append(rows, store.PredictionRow{At: now.Add(-2*time.Hour + time.Duration(i)*time.Millisecond), Status: 200, Price: 1})
	}
	for i := range 1200 { // recent, 200 over the cap
		rows = append(rows, store.PredictionRow{At: now.Add(-time.Minute + time.Duration(i)*time.Millisecond), Status: 201, Price: 1})
	}
	if err := e.st.InsertPredictions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if n := e.serving.pruneOnce(ctx); n != 500 {
		t.Errorf("pruned %d rows, want 300 by age + 200 by count", n)
	}
	left, err := e.st.Predictions(ctx, time.Time{}, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1000 {
		t.Fatalf("%d rows left, want max_rows 1000", len(left))
	}
	// ids follow insertion: 300 old rows, then the 200 oldest recent ones go
	if oldest := left[len(left)-1]; oldest.Status != 201 || oldest.ID != 501 {
		t.Errorf("oldest row left = %+v, want id 501, the 201st recent one", oldest)
	}
	if n := e.serving.pruneOnce(ctx); n != 0 {
		t.Errorf("second prune removed %d rows, want 0", n)
	}
}
