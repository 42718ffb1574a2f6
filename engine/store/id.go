package store

import (
	"crypto/rand"
	"sync"
	"time"
)

// crockford is the ULID alphabet: no I, L, O, U, so IDs read aloud well.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes ULID-style IDs: 48 bits of milliseconds then 80 random bits,
// 26 characters that sort as text in creation order. Within one
// millisecond the random part is incremented, so IDs from one process are
// strictly increasing even with a coarse or frozen clock.
type idGen struct {
	mu     sync.Mutex
	now    func() time.Time
	lastMS uint64
	rnd    [10]byte
}

func newIDGen(now func() time.Time) *idGen { return &idGen{now: now} }

func (g *idGen) next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := uint64(max(g.now().UnixMilli(), 0))
	if ms <= g.lastMS && g.lastMS != 0 {
		ms = g.lastMS
		if !increment(g.rnd[:]) {
			ms++ // 2^80 IDs in one millisecond: borrow the next one
		}
	} else {
		_, _ = rand.Read(g.rnd[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	}
	g.lastMS = ms
	return encodeULID(ms, g.rnd)
}

// increment adds one to a big-endian number; false on wrap-around.
func increment(b []byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

func encodeULID(ms uint64, rnd [10]byte) string {
	// 128 bits as hi:lo; 26 base-32 digits cover 130 bits, the top two zero.
	hi := ms<<16 | uint64(rnd[0])<<8 | uint64(rnd[1])
	var lo uint64
	for _, b := range rnd[2:] {
		lo = lo<<8 | uint64(b)
	}
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
