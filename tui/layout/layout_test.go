package layout

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		w, h  int
		state State
		mode  Mode
		body  Rect
	}{
		{0, 0, State{}, TooSmall, Rect{}},
		{59, 40, State{}, TooSmall, Rect{}},
		{120, 14, State{}, TooSmall, Rect{}},
		{60, 15, State{}, Compact, Rect{0, 1, 60, 12}},
		{99, 40, State{}, Compact, Rect{0, 1, 99, 37}},
		{120, 29, State{}, Compact, Rect{0, 1, 120, 26}},
		{100, 30, State{}, Full, Rect{0, 2, 100, 26}},
		{120, 40, State{HideHints: true}, Full, Rect{0, 2, 120, 37}},
	} {
		f := Compute(tc.w, tc.h, tc.state)
		if f.Mode != tc.mode || f.Body != tc.body {
			t.Errorf("%dx%d %+v: mode %v body %+v, want %v %+v", tc.w, tc.h, tc.state, f.Mode, f.Body, tc.mode, tc.body)
		}
		if f.Mode == TooSmall {
			continue
		}
		// The regions tile the screen: every row belongs to exactly one.
		rows := f.Header.H + f.Tabs.H + f.Body.H + f.Hints.H + f.Status.H
		if rows != tc.h || f.Status.Y != tc.h-1 {
			t.Errorf("%dx%d: regions cover %d rows, status at %d", tc.w, tc.h, rows, f.Status.Y)
		}
	}
}

func TestTooSmallTextWraps(t *testing.T) {
	for _, sz := range [][2]int{{20, 8}, {40, 10}, {59, 3}, {1, 1}} {
		out := TooSmallText(sz[0], sz[1])
		lines := strings.Split(out, "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%v: %d lines", sz, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) != sz[0] {
				t.Fatalf("%v: line %q is %d wide", sz, l, ansi.StringWidth(l))
			}
		}
		if sz[0] >= 20 && !strings.Contains(strings.Join(strings.Fields(out), " "), "need 60×15") {
			t.Fatalf("%v: message lost:\n%s", sz, out)
		}
	}
}

func TestSplits(t *testing.T) {
	cols := Columns(Rect{W: 101, H: 5}, 3, 1, 1)
	if cols[0].W+cols[1].W+3 != 101 || cols[1].X != cols[0].W+3 {
		t.Fatalf("columns %+v", cols)
	}
	grid := Grid(Rect{W: 80, H: 20}, 2, 2, 2)
	if len(grid) != 4 || grid[2].Y != 10 || grid[3].X != grid[1].X {
		t.Fatalf("grid %+v", grid)
	}
	rows := Rows(Rect{H: 10}, 0, 2, 1, 1)
	if rows[0].H != 5 || rows[1].H+rows[2].H != 5 {
		t.Fatalf("rows %+v", rows)
	}
}
