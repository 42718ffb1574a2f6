// Package ring is a fixed-capacity buffer that keeps the newest items, so
// logs, events and prediction history stay bounded however long the console runs.
package ring

// Ring keeps at most Cap items; pushing onto a full ring drops the oldest.
type Ring[T any] struct {
	buf   []T
	start int
	n     int
}

// New returns a ring holding at most capacity items (at least 1).
func New[T any](capacity int) *Ring[T] {
	return &Ring[T]{buf: make([]T, max(capacity, 1))}
}

// Push appends v, dropping the oldest item when full.
func (r *Ring[T]) Push(v T) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = v
		r.n++
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % len(r.buf)
}

// Len is the number of items held.
func (r *Ring[T]) Len() int { return r.n }

// Cap is the capacity.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// At returns the i-th item, oldest first.
func (r *Ring[T]) At(i int) T { return r.buf[(r.start+i)%len(r.buf)] }

// Items returns a copy of the items, oldest first.
func (r *Ring[T]) Items() []T {
	out := make([]T, r.n)
	for i := range out {
		out[i] = r.At(i)
	}
	return out
}

// Newest returns up to n items, newest first.
func (r *Ring[T]) Newest(n int) []T {
	n = min(n, r.n)
	out := make([]T, n)
	for i := 0; i < n; i++ {
		out[i] = r.At(r.n - 1 - i)
	}
	return out
}

// Reset empties the ring.
func (r *Ring[T]) Reset() {
	clear(r.buf)
	r.start, r.n = 0, 0
}
