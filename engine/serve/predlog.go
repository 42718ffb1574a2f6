package serve

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Sink stores sampled predictions (the store's prediction table, through an
// adapter the lead writes). It must not retain the slice.
type Sink interface {
	InsertPredictions(ctx context.Context, recs []PredictionRecord) error
}

// PredictionLogOptions configures a PredictionLog. Zero values take defaults,
// except SampleRate: 0 sends nothing to the sink (the ring still fills).
type PredictionLogOptions struct {
	Ring          int           // recent predictions kept in memory (default 10000)
	SampleRate    float64       // share of predictions sent to the sink, 0..1
	Queue         int           // records waiting for the writer (default 4096)
	Batch         int           // records per insert (default 256)
	FlushInterval time.Duration // longest wait before a partial batch is written (default 1s)
	WriteTimeout  time.Duration // per insert (default 5s)
	Sink          Sink          // nil: ring only
	Logger        *slog.Logger
}

// PredictionLog keeps the recent predictions in a ring and sends a sample,
// batched, to a Sink from its own goroutine. The request path never blocks
// on it: when the queue is full the record is dropped and counted.
type PredictionLog struct {
	opt PredictionLogOptions
	log *slog.Logger

	mu   sync.Mutex
	ring []PredictionRecord
	next int // ring slot written next
	full bool

	seen    atomic.Uint64
	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64

	q         chan PredictionRecord
	kick      chan struct{} // a batch is ready: wake the writer once, not per record
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewPredictionLog starts the writer when a Sink is given; Close stops it.
func NewPredictionLog(opt PredictionLogOptions) *PredictionLog {
	if opt.Ring <= 0 {
		opt.Ring = 10000
	}
	if opt.Queue <= 0 {
		opt.Queue = 4096
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	if math.IsNaN(opt.SampleRate) || opt.SampleRate < 0 {
		opt.SampleRate = 0
	}
	if opt.SampleRate > 1 {
		opt.SampleRate = 1
	}
	p := &PredictionLog{opt: opt, log: opt.Logger, ring: make([]PredictionRecord, opt.Ring),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	// Touch the ring now: fresh pages are mapped on first write, so a ring
	// filling over minutes would otherwise read as a slow leak in RSS.
	clear(p.ring)
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if opt.Sink != nil && opt.SampleRate > 0 {
		p.q = make(chan PredictionRecord, opt.Queue)
		go p.run()
	} else {
		close(p.done)
	}
	return p
}

// ObservePrediction records rec in the ring and, if sampled, queues it for
// the sink without blocking.
func (p *PredictionLog) ObservePrediction(rec PredictionRecord) {
	p.mu.Lock()
	p.ring[p.next] = rec
	p.next++
	if p.next == len(p.ring) {
		p.next, p.full = 0, true
	}
	p.mu.Unlock()
	if p.q == nil {
		return
	}
	// Deterministic sampling: record n is taken when n·rate crosses an
	// integer, so a rate of 0.1 takes exactly every tenth.
	n := p.seen.Add(1)
	r := p.opt.SampleRate
	if r < 1 && math.Floor(float64(n)*r) == math.Floor(float64(n-1)*r) {
		return
	}
	select {
	case p.q <- rec:
		// The writer sleeps until a batch is ready or the flush interval
		// passes, so a send never hands off to a parked goroutine.
		if len(p.q) >= p.opt.Batch {
			select {
			case p.kick <- struct{}{}:
			default:
			}
		}
	default:
		p.dropped.Add(1)
	}
}

// Recent returns up to n records, newest first (n <= 0: all in the ring).
func (p *PredictionLog) Recent(n int) []PredictionRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := p.next
	if p.full {
		size = len(p.ring)
	}
	if n <= 0 || n > size {
		n = size
	}
	out := make([]PredictionRecord, 0, n)
	for i, j := 0, p.next-1; i < n; i, j = i+1, j-1 {
		if j < 0 {
			j = len(p.ring) - 1
		}
		out = append(out, p.ring[j])
	}
	return out
}

// Dropped counts records not queued because the queue was full.
func (p *PredictionLog) Dropped() uint64 { return p.dropped.Load() }

// Written counts records the sink accepted.
func (p *PredictionLog) Written() uint64 { return p.written.Load() }

// Failed counts records lost to sink errors.
func (p *PredictionLog) Failed() uint64 { return p.failed.Load() }

// Close stops the writer after writing what is queued; ctx bounds the wait.
func (p *PredictionLog) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("prediction log: close: %w", ctx.Err())
	}
}

func (p *PredictionLog) run() {
	defer close(p.done)
	t := time.NewTicker(p.opt.FlushInterval)
	defer t.Stop()
	batch := make([]PredictionRecord, 0, p.opt.Batch)
	for {
		select {
		case <-t.C:
		case <-p.kick:
		case <-p.stop:
			p.drain(batch)
			return
		}
		batch = p.drain(batch)
	}
}

// drain writes everything queued, in batches of at most Batch.
func (p *PredictionLog) drain(batch []PredictionRecord) []PredictionRecord {
	for {
		select {
		case rec := <-p.q:
			batch = append(batch, rec)
			if len(batch) >= p.opt.Batch {
				batch = p.flush(batch)
			}
			continue
		default:
		}
		if len(batch) > 0 {
			batch = p.flush(batch)
		}
		return batch
	}
}

func (p *PredictionLog) flush(batch []PredictionRecord) []PredictionRecord {
	ctx, cancel := context.WithTimeout(context.Background(), p.opt.WriteTimeout)
	err := p.opt.Sink.InsertPredictions(ctx, batch)
	cancel()
	if err != nil {
		p.failed.Add(uint64(len(batch)))
		p.log.Warn("prediction log: insert failed", "records", len(batch), "error", err.Error())
	} else {
		p.written.Add(uint64(len(batch)))
	}
	return batch[:0]
}
