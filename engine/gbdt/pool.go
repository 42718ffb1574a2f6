package gbdt

import (
	"runtime"
	"sync/atomic"
	"time"
)

// task is one parallel loop body; run(i) handles item i. Learner jobs are
// structs owned by the learner, so dispatching them allocates nothing.
type task interface{ run(i int) }

type funcTask func(int)

func (f funcTask) run(i int) { f(i) }

// pool is a persistent set of helper goroutines for the life of one Train
// call; the caller takes part in every loop, so Threads=1 has no helpers.
//
// Parallel sections in tree growth are short (tens of microseconds) and
// frequent. Helpers spin briefly on the section state before parking, and
// the caller never waits for a helper that has not joined a section: it
// runs the items itself, closes the section, and waits only for helpers
// already inside. So a descheduled or parked helper (the box is shared)
// costs parallelism, never latency.
//
// Items are handed out dynamically, which is safe for determinism because
// every item writes only its own output and the caller combines outputs in
// item order.
type pool struct {
	threads int
	// state: section generation << 32 | closed << 16 | helpers inside
	state    atomic.Uint64
	quit     atomic.Bool
	cur      task
	total    int64
	next     atomic.Int64
	sleeping []atomic.Bool
	wake     []chan struct{}
	// On a busy machine a helper can be descheduled in the middle of an
	// item and the caller then waits a whole OS time slice. When a wait
	// is long compared with the section, the caller works alone for the
	// next soloSections sections, then tries the helpers again.
	sections  uint64
	soloUntil uint64
}

const (
	stateClosed  = 1 << 16
	stateCount   = stateClosed - 1
	soloSections = 256
	// spinIters is how long an idle helper polls before parking (~0.2-0.5 ms):
	// longer than the sequential work between sections of one Train, so
	// helpers park only when training pauses or ends. A parked helper is
	// woken onto the caller's own P, where it cannot run in parallel.
	spinIters = 1 << 18
)

func newPool(threads int) *pool {
	// more helpers than Ps would only take turns spinning
	p := &pool{threads: max(min(threads, runtime.GOMAXPROCS(0)), 1)}
	h := p.threads - 1
	p.sleeping = make([]atomic.Bool, h)
	p.wake = make([]chan struct{}, h)
	p.state.Store(stateClosed)
	for i := range h {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

func (p *pool) worker(id int) {
	seen := uint64(0)
	for {
		s := p.await(id, seen)
		if p.quit.Load() {
			return
		}
		seen = s >> 32
		if p.join(s) {
			p.drain()
			p.state.Add(^uint64(0)) // leave: count - 1
		}
	}
}

// join enters the section of state s unless it has been closed since.
func (p *pool) join(s uint64) bool {
	gen := s >> 32
	for s>>32 == gen && s&stateClosed == 0 {
		if p.state.CompareAndSwap(s, s+1) {
			return true
		}
		s = p.state.Load()
	}
	return false
}

// await returns the state of the next open section after generation seen:
// spinning first, then parked until run or close wakes it.
func (p *pool) await(id int, seen uint64) uint64 {
	for i := 0; ; i++ {
		if s := p.state.Load(); s>>32 != seen && s&stateClosed == 0 || p.quit.Load() {
			return s
		}
		if i < spinIters {
			continue
		}
		p.sleeping[id].Store(true)
		if s := p.state.Load(); s>>32 != seen && s&stateClosed == 0 || p.quit.Load() {
			p.sleeping[id].Store(false)
			return s
		}
		<-p.wake[id] // may be a stale token: the loop re-checks
		i = 0
	}
}

func (p *pool) drain() {
	for {
		i := p.next.Add(1) - 1
		if i >= p.total {
			return
		}
		p.cur.run(int(i))
	}
}

// run calls t.run(i) for i in [0,n) on up to p.threads goroutines and
// returns when all are done.
func (p *pool) run(n int, t task) {
	if n <= 0 {
		return
	}
	p.sections++
	if p.threads == 1 || n == 1 || p.sections < p.soloUntil {
		for i := range n {
			t.run(i)
		}
		return
	}
	p.cur, p.total = t, int64(n)
	p.next.Store(0)
	gen := p.state.Load()>>32 + 1
	p.state.Store(gen << 32) // open, nobody inside
	for id := range p.wake {
		if p.sleeping[id].CompareAndSwap(true, false) {
			select {
			case p.wake[id] <- struct{}{}:
			default:
			}
		}
	}
	start := time.Now()
	p.drain()
	drained := time.Now()
	// close the section, then wait for helpers inside to finish their items
	for {
		s := p.state.Load()
		if p.state.CompareAndSwap(s, s|stateClosed) {
			break
		}
	}
	for i := 0; p.state.Load()&stateCount != 0; i++ {
		if i > 1000 {
			runtime.Gosched()
		}
	}
	if wait := time.Since(drained); wait > 200*time.Microsecond && wait > drained.Sub(start) {
		p.soloUntil = p.sections + soloSections
	}
	p.cur = nil
}

// parallel is run with a closure, for the few calls outside the per-node path.
func (p *pool) parallel(n int, f func(int)) { p.run(n, funcTask(f)) }

// close stops the helpers; the pool must not be used afterwards.
func (p *pool) close() {
	if p.quit.Swap(true) {
		return
	}
	for id := range p.wake {
		p.sleeping[id].Store(false)
		select {
		case p.wake[id] <- struct{}{}:
		default:
		}
	}
}
