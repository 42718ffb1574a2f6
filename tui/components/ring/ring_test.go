package ring

import (
	"slices"
	"testing"
)

func TestRingKeepsNewest(t *testing.T) {
	for _, tc := range []struct {
		cap, push int
		want      []int
	}{
		{3, 0, []int{}},
		{3, 2, []int{0, 1}},
		{3, 3, []int{0, 1, 2}},
		{3, 7, []int{4, 5, 6}},
		{0, 2, []int{1}}, // capacity is at least one
	} {
		r := New[int](tc.cap)
		for i := 0; i < tc.push; i++ {
			r.Push(i)
		}
		if got := r.Items(); !slices.Equal(got, tc.want) {
			t.Fatalf("cap %d push %d: items %v, want %v", tc.cap, tc.push, got, tc.want)
		}
		if r.Len() != len(tc.want) {
			t.Fatalf("Len %d, want %d", r.Len(), len(tc.want))
		}
	}
}

func TestNewestAndReset(t *testing.T) {
	r := New[string](4)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		r.Push(s)
	}
	if got := r.Newest(2); !slices.Equal(got, []string{"e", "d"}) {
		t.Fatalf("Newest(2) = %v", got)
	}
	if got := r.Newest(10); len(got) != 4 {
		t.Fatalf("Newest(10) returned %d items, want the 4 held", len(got))
	}
	r.Reset()
	if r.Len() != 0 || len(r.Items()) != 0 {
		t.Fatal("Reset left items")
	}
}
