// Package layout decides where every region of the console goes. It is a
// pure function of the terminal size and a little state, so it can be tested
// as ASCII box art at any size without a terminal.
package layout

import (
	"fmt"
	"strings"

	"carvision/tui/textblock"
)

// Mode is the console's arrangement for a terminal size.
type Mode int

// Modes, from smallest to largest.
const (
	TooSmall Mode = iota // a single wrapped message
	Compact              // one-line header, single column, shorter graphs
	Full                 // header with page tabs, multi-column pages
)

// String names the mode.
func (m Mode) String() string {
	return [...]string{"too-small", "compact", "full"}[m]
}

// Size limits: below Min the console shows the too-small screen; at or
// above Full in both directions it uses the full arrangement.
const (
	MinW, MinH   = 60, 15
	FullW, FullH = 100, 30
)

// Rect is a region in cells; the zero Rect is absent.
type Rect struct{ X, Y, W, H int }

// Empty reports whether the region has no cells.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// State is what, besides the size, changes the arrangement.
type State struct {
	HideHints bool // ctrl+e gives the hint row back to the page
}

// Frame is the console's regions for one size and state.
type Frame struct {
	Mode   Mode
	W, H   int
	Header Rect // health, model, uptime, req/s, alerts
	Tabs   Rect // page tabs (full mode only)
	Body   Rect // the page
	Hints  Rect // key hints from the key table
	Status Rect // flashes, running tasks
}

// Compute arranges a w×h terminal.
func Compute(w, h int, s State) Frame {
	f := Frame{W: max(w, 0), H: max(h, 0)}
	if w < MinW || h < MinH {
		f.Mode = TooSmall
		return f
	}
	f.Mode = Compact
	if w >= FullW && h >= FullH {
		f.Mode = Full
	}
	y := 0
	f.Header = Rect{0, y, w, 1}
	y++
	if f.Mode == Full {
		f.Tabs = Rect{0, y, w, 1}
		y++
	}
	bottom := 1 // status
	if !s.HideHints {
		bottom++
	}
	f.Body = Rect{0, y, w, h - y - bottom}
	y += f.Body.H
	if !s.HideHints {
		f.Hints = Rect{0, y, w, 1}
		y++
	}
	f.Status = Rect{0, y, w, 1}
	return f
}

// TooSmallText is the too-small message wrapped to the terminal's width and
// cut to its height, so it is readable even in a 20-column split.
func TooSmallText(w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	msg := fmt.Sprintf("terminal too small: need %d×%d, have %d×%d. Enlarge the window or press q to quit.", MinW, MinH, w, h)
	lines := textblock.WrapLines(msg, w)
	if len(lines) > h {
		lines = lines[:h]
	}
	return textblock.Center(strings.Join(lines, "\n"), w, h)
}

// Columns splits r into side-by-side regions by weight, gap cells apart.
func Columns(r Rect, gap int, weights ...int) []Rect {
	sizes := share(r.W, gap, weights)
	out := make([]Rect, len(sizes))
	x := r.X
	for i, s := range sizes {
		out[i] = Rect{x, r.Y, s, r.H}
		x += s + gap
	}
	return out
}

// Rows splits r into stacked regions by weight, gap rows apart.
func Rows(r Rect, gap int, weights ...int) []Rect {
	sizes := share(r.H, gap, weights)
	out := make([]Rect, len(sizes))
	y := r.Y
	for i, s := range sizes {
		out[i] = Rect{r.X, y, r.W, s}
		y += s + gap
	}
	return out
}

// Grid splits r into cols×rows cells, row by row.
func Grid(r Rect, cols, rows, gap int) []Rect {
	var out []Rect
	for _, row := range Rows(r, 0, repeat(1, rows)...) {
		out = append(out, Columns(row, gap, repeat(1, cols)...)...)
	}
	return out
}

func repeat(v, n int) []int {
	out := make([]int, max(n, 0))
	for i := range out {
		out[i] = v
	}
	return out
}

// share divides total-gaps among weights; the remainder goes to the last.
func share(total, gap int, weights []int) []int {
	if len(weights) == 0 {
		return nil
	}
	sum := 0
	for _, w := range weights {
		sum += max(w, 0)
	}
	avail := max(total-gap*(len(weights)-1), 0)
	out := make([]int, len(weights))
	used := 0
	for i, w := range weights {
		if sum > 0 {
			out[i] = avail * max(w, 0) / sum
		}
		used += out[i]
	}
	out[len(out)-1] += avail - used
	return out
}

// Art draws the frame's regions as labelled boxes: the layout goldens.
func (f Frame) Art() string {
	if f.W <= 0 || f.H <= 0 {
		return ""
	}
	if f.Mode == TooSmall {
		return TooSmallText(f.W, f.H)
	}
	return Art(f.W, f.H, map[string]Rect{"header": f.Header, "tabs": f.Tabs, "body": f.Body, "hints": f.Hints, "status": f.Status})
}

// Art draws named regions into a w×h canvas: one-row regions as a labelled
// line, taller ones as boxes.
func Art(w, h int, regions map[string]Rect) string {
	grid := make([][]rune, h)
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", w))
	}
	set := func(x, y int, r rune) {
		if y >= 0 && y < h && x >= 0 && x < w {
			grid[y][x] = r
		}
	}
	for name, r := range regions {
		if r.Empty() {
			continue
		}
		if r.H == 1 {
			for x := r.X; x < r.X+r.W; x++ {
				set(x, r.Y, '=')
			}
		} else {
			for x := r.X; x < r.X+r.W; x++ {
				set(x, r.Y, '-')
				set(x, r.Y+r.H-1, '-')
			}
			for y := r.Y; y < r.Y+r.H; y++ {
				set(r.X, y, '|')
				set(r.X+r.W-1, y, '|')
			}
			for _, c := range [][2]int{{r.X, r.Y}, {r.X + r.W - 1, r.Y}, {r.X, r.Y + r.H - 1}, {r.X + r.W - 1, r.Y + r.H - 1}} {
				set(c[0], c[1], '+')
			}
		}
		label := fmt.Sprintf(" %s %dx%d ", name, r.W, r.H)
		for i, c := range label {
			if i+2 < r.W {
				set(r.X+1+i, r.Y, c)
			}
		}
	}
	lines := make([]string, h)
	for i, row := range grid {
		lines[i] = string(row)
	}
	return strings.Join(lines, "\n")
}
