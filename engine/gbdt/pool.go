package gbdt

import (
	"sync"
	"sync/atomic"
)

// task is one parallel loop body; run(i) handles item i. Learner jobs are
// structs owned by the learner, so dispatching them allocates nothing.
type task interface{ run(i int) }

type funcTask func(int)

func (f funcTask) run(i int) { f(i) }

// pool is a persistent set of helper goroutines for the life of one Train
// call. The caller takes part in every loop, so Threads=1 has no helpers.
// Items are handed out dynamically, which is safe for determinism because
// every item writes only its own output and outputs are combined by the
// caller in item order.
type pool struct {
	threads int
	wake    chan struct{}
	done    sync.WaitGroup
	cur     task
	total   int64
	next    atomic.Int64
	stop    sync.Once
}

func newPool(threads int) *pool {
	p := &pool{threads: max(threads, 1)}
	if p.threads > 1 {
		p.wake = make(chan struct{})
		for range p.threads - 1 {
			go p.worker()
		}
	}
	return p
}

func (p *pool) worker() {
	for range p.wake {
		p.drain()
		p.done.Done()
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
	helpers := min(p.threads-1, n-1)
	if helpers <= 0 {
		for i := range n {
			t.run(i)
		}
		return
	}
	p.cur, p.total = t, int64(n)
	p.next.Store(0)
	p.done.Add(helpers)
	for range helpers {
		p.wake <- struct{}{}
	}
	p.drain()
	p.done.Wait()
	p.cur = nil
}

// parallel is run with a closure, for the few calls outside the per-node path.
func (p *pool) parallel(n int, f func(int)) { p.run(n, funcTask(f)) }

// close stops the helpers; the pool must not be used afterwards.
func (p *pool) close() {
	p.stop.Do(func() {
		if p.wake != nil {
			close(p.wake)
		}
	})
}
