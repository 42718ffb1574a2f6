package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingSink holds every insert until release is closed.
type blockingSink struct {
	entered chan int
	release chan struct{}
	mu      sync.Mutex
	got     []PredictionRecord
	err     error
}

func (s *blockingSink) InsertPredictions(_ context.Context, recs []PredictionRecord) error {
	if s.entered != nil {
		s.entered <- len(recs)
	}
	if s.release != nil {
		<-s.release
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, recs...) // copied: the log reuses its batch
	return nil
}

func (s *blockingSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.got {
		out = append(out, r.RequestID)
	}
	return out
}

func rec(i int) PredictionRecord {
	return PredictionRecord{RequestID: fmt.Sprint("r", i), Price: float64(i), Status: 200, ModelVersion: "v1"}
}

func TestPredictionLogDropsWithoutBlocking(t *testing.T) {
	sink := &blockingSink{entered: make(chan int, 10), release: make(chan struct{})}
	pl := NewPredictionLog(PredictionLogOptions{Ring: 100, SampleRate: 1, Queue: 2, Batch: 1, Sink: sink})
	pl.ObservePrediction(rec(1))
	waitFor(t, sink.entered, "the writer to block in the sink")
	done := make(chan struct{})
	go func() {
		for i := 2; i <= 8; i++ { // 2 fit the queue, 5 are dropped
			pl.ObservePrediction(rec(i))
		}
		close(done)
	}()
	waitFor(t, done, "ObservePrediction to return while the sink is stuck")
	if got := pl.Dropped(); got != 5 {
		t.Errorf("dropped %d, want 5", got)
	}
	if got := len(pl.Recent(0)); got != 8 {
		t.Errorf("ring has %d records, want all 8 (drops only concern the store)", got)
	}
	close(sink.release)
	if err := pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sink.ids()); got != "[r1 r2 r3]" {
		t.Errorf("sink got %s, want [r1 r2 r3]", got)
	}
	if pl.Written() != 3 {
		t.Errorf("written %d", pl.Written())
	}
}

func TestPredictionLogSamplingAndBatching(t *testing.T) {
	tests := []struct {
		rate float64
		n    int
		want string
	}{
		{1, 3, "[r1 r2 r3]"},
		{0.25, 8, "[r4 r8]"},
		{0.5, 5, "[r2 r4]"},
		{0, 5, "[]"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			sink := &blockingSink{}
			pl := NewPredictionLog(PredictionLogOptions{SampleRate: tc.rate, Batch: 100, FlushInterval: time.Hour, Sink: sink})
			for i := 1; i <= tc.n; i++ {
				pl.ObservePrediction(rec(i))
			}
			if err := pl.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(sink.ids()); got != tc.want && !(tc.want == "[]" && got == "[]") {
				t.Errorf("sampled %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPredictionLogBatchesBySize(t *testing.T) {
	sink := &blockingSink{entered: make(chan int, 10), release: make(chan struct{})}
	pl := NewPredictionLog(PredictionLogOptions{SampleRate: 1, Batch: 3, FlushInterval: time.Hour, Sink: sink})
	for i := 1; i <= 7; i++ {
		pl.ObservePrediction(rec(i))
	}
	// The third record kicked the writer, which took one batch and is now
	// held in the sink; the other four wait in the queue.
	if n := waitFor(t, sink.entered, "first batch"); n != 3 {
		t.Errorf("first batch %d, want 3", n)
	}
	close(sink.release)
	if n := waitFor(t, sink.entered, "second batch"); n != 3 {
		t.Errorf("second batch %d, want 3", n)
	}
	if n := waitFor(t, sink.entered, "the remainder"); n != 1 {
		t.Errorf("remainder %d, want 1", n)
	}
	_ = pl.Close(context.Background())
	if got := fmt.Sprint(sink.ids()); got != "[r1 r2 r3 r4 r5 r6 r7]" {
		t.Errorf("written %s", got)
	}
}

func TestPredictionLogSinkError(t *testing.T) {
	sink := &blockingSink{err: errors.New("database is locked")}
	logs := &syncBuffer{}
	pl := NewPredictionLog(PredictionLogOptions{SampleRate: 1, Batch: 2, Sink: sink, Logger: newJSONLogger(logs)})
	for i := 0; i < 4; i++ {
		pl.ObservePrediction(rec(i))
	}
	_ = pl.Close(context.Background())
	if pl.Failed() != 4 || pl.Written() != 0 {
		t.Errorf("failed %d written %d", pl.Failed(), pl.Written())
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Error("sink error not logged")
	}
}

func TestPredictionLogRecent(t *testing.T) {
	pl := NewPredictionLog(PredictionLogOptions{Ring: 3})
	if got := pl.Recent(5); len(got) != 0 {
		t.Fatalf("empty ring returned %d", len(got))
	}
	for i := 1; i <= 5; i++ {
		pl.ObservePrediction(rec(i))
	}
	ids := func(rs []PredictionRecord) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.RequestID)
		}
		return fmt.Sprint(s)
	}
	if got := ids(pl.Recent(0)); got != "[r5 r4 r3]" {
		t.Errorf("Recent(0) %s", got)
	}
	if got := ids(pl.Recent(2)); got != "[r5 r4]" {
		t.Errorf("Recent(2) %s", got)
	}
	if err := pl.Close(context.Background()); err != nil {
		t.Errorf("close without sink: %v", err)
	}
}

func TestPredictionLogCloseTimeout(t *testing.T) {
	sink := &blockingSink{entered: make(chan int, 1), release: make(chan struct{})}
	defer close(sink.release)
	pl := NewPredictionLog(PredictionLogOptions{SampleRate: 1, Batch: 1, Sink: sink})
	pl.ObservePrediction(rec(1))
	waitFor(t, sink.entered, "sink")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pl.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("close with a stuck sink: %v", err)
	}
}

func BenchmarkPredictionLogObserve(b *testing.B) {
	pl := NewPredictionLog(PredictionLogOptions{SampleRate: 0.1, Sink: discardSink{}})
	defer pl.Close(context.Background())
	r := rec(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pl.ObservePrediction(r)
	}
}

type discardSink struct{}

func (discardSink) InsertPredictions(context.Context, []PredictionRecord) error { return nil }
