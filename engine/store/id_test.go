package store

import (
	"strings"
	"testing"
	"time"
)

func TestIDsSortInCreationOrder(t *testing.T) {
	tests := []struct {
		name  string
		clock func(i int) time.Time
	}{
		{"advancing clock", func(i int) time.Time { return time.UnixMilli(1_700_000_000_000 + int64(i)) }},
		{"frozen clock", func(int) time.Time { return time.UnixMilli(1_700_000_000_000) }},
		{"clock going back", func(i int) time.Time { return time.UnixMilli(1_700_000_000_000 - int64(i)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			g := newIDGen(func() time.Time { return tc.clock(i) })
			prev := ""
			for i = range 1000 {
				id := g.next()
				if len(id) != 26 || strings.Trim(id, crockford) != "" {
					t.Fatalf("id %q is not 26 Crockford characters", id)
				}
				if id <= prev {
					t.Fatalf("id %d %q not after %q", i, id, prev)
				}
				prev = id
			}
		})
	}
}

func TestEncodeULIDKnownValue(t *testing.T) {
	// The ULID spec's layout: max time and max randomness is 7ZZZ…Z.
	var ones [10]byte
	for i := range ones {
		ones[i] = 0xff
	}
	if got := encodeULID(1<<48-1, ones); got != "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Errorf("max ULID = %s", got)
	}
	// Time 1 ms, zero randomness: the time part ends in 1, the rest zeros.
	if got := encodeULID(1, [10]byte{}); got != "0000000001"+strings.Repeat("0", 16) {
		t.Errorf("ULID(1ms, 0) = %s", got)
	}
	if got := encodeULID(0, [10]byte{9: 1}); got != strings.Repeat("0", 25)+"1" {
		t.Errorf("ULID(0, 1) = %s", got)
	}
}
