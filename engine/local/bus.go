package local

import (
	"context"
	"sync"

	"carvision/engine"
)

// bus fans events out to every subscriber (each console, each SSH session)
// and keeps the most recent ones for the Overview. A slow subscriber loses
// events rather than stalling the engine.
type bus struct {
	mu     sync.Mutex
	subs   map[chan engine.Event]struct{}
	recent []engine.Event // newest last, bounded
	limit  int
}

func newBus(limit int) *bus {
	return &bus{subs: map[chan engine.Event]struct{}{}, limit: limit}
}

func (b *bus) publish(e engine.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recent = append(b.recent, e)
	if len(b.recent) > b.limit {
		b.recent = append(b.recent[:0], b.recent[len(b.recent)-b.limit:]...)
	}
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (b *bus) subscribe(ctx context.Context) <-chan engine.Event {
	ch := make(chan engine.Event, 64)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}

// latest returns up to n events, newest first.
func (b *bus) latest(n int) []engine.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]engine.Event, 0, min(n, len(b.recent)))
	for i := len(b.recent) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, b.recent[i])
	}
	return out
}
