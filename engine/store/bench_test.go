package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFinishRun measures the target "store writes for one run with
// 50 metrics and 10 artifacts ≤ 20 ms": one FinishRun transaction.
func BenchmarkFinishRun(b *testing.B) {
	s, _ := openBench(b)
	ctx := context.Background()
	res := sampleResult(50, 10)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		id, err := s.StartRun(ctx, RunStart{Who: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.FinishRun(ctx, id, RunSucceeded, "", res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunLifecycle is StartRun + FinishRun, everything a run writes.
func BenchmarkRunLifecycle(b *testing.B) {
	s, _ := openBench(b)
	ctx := context.Background()
	res := sampleResult(50, 10)
	b.ReportAllocs()
	for b.Loop() {
		id, err := s.StartRun(ctx, RunStart{Who: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.FinishRun(ctx, id, RunSucceeded, "", res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertPredictions writes one batch of 256 sampled predictions.
func BenchmarkInsertPredictions(b *testing.B) {
	s, _ := openBench(b)
	ctx := context.Background()
	batch := make([]PredictionRow, 256)
	for i := range batch {
		batch[i] = PredictionRow{
			At: time.Unix(1_700_000_000, int64(i)), ModelVersion: "3", Status: 200, Latency: 700 * time.Microsecond,
			FeaturesJSON: fmt.Appendf(nil, `{"model_year":2011,"model":"ford f-150","condition":"good","cylinders":8,"fuel":"gas","odometer":%d,"transmission":"automatic","type":"truck","paint_color":"white","is_4wd":true}`, 90000+i),
			Price:        14000 + float64(i),
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.InsertPredictions(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/256, "ns/row")
}

// BenchmarkOpen measures Open (header check, quick_check, migrations
// already applied) on a store with history: it is paid by every CLI
// command, so it counts against "repro with nothing changed ≤ 100 ms".
func BenchmarkOpen(b *testing.B) {
	for _, preds := range []int{0, 50_000} {
		b.Run(fmt.Sprintf("runs=200,predictions=%d", preds), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "carvision.db")
			s, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for range 200 {
				id, _ := s.StartRun(ctx, RunStart{})
				if _, err := s.FinishRun(ctx, id, RunSucceeded, "", sampleResult(50, 10)); err != nil {
					b.Fatal(err)
				}
			}
			batch := make([]PredictionRow, 1000)
			for i := range batch {
				batch[i] = PredictionRow{Status: 200, FeaturesJSON: []byte(`{"model_year":2011,"model":"ford f-150","odometer":123456,"condition":"good"}`), Price: 1}
			}
			for range preds / 1000 {
				if err := s.InsertPredictions(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
			for b.Loop() {
				s, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

func openBench(b *testing.B) (*Store, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "carvision.db")
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, path
}
