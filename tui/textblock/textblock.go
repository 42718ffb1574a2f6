// Package textblock cuts, pads, wraps and joins terminal text into blocks of
// an exact size, so that every region of the console occupies precisely the
// cells the layout gave it (no jitter, no overflow into the next panel).
package textblock

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Fit returns s cut or padded with spaces to exactly w cells. ANSI styling is
// preserved; a cut line ends with "…" so truncation is visible.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	switch {
	case sw == w:
		return s
	case sw < w:
		return s + strings.Repeat(" ", w-sw)
	default:
		t := ansi.Truncate(s, w, "…")
		if tw := ansi.StringWidth(t); tw < w {
			t += strings.Repeat(" ", w-tw)
		}
		return t
	}
}

// Cut returns s cut to at most w cells without padding.
func Cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// Width is the number of cells s occupies on one line.
func Width(s string) int { return ansi.StringWidth(s) }

// Block returns s as exactly h lines of exactly w cells.
func Block(s string, w, h int) string {
	if s == "" {
		return Lines(nil, w, h)
	}
	return Lines(strings.Split(s, "\n"), w, h)
}

// Lines returns the given lines as exactly h lines of exactly w cells.
func Lines(lines []string, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow((w + 1) * h)
	blank := strings.Repeat(" ", w)
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(Fit(lines[i], w))
		} else {
			b.WriteString(blank)
		}
	}
	return b.String()
}

// Wrap word-wraps s to w cells, breaking words longer than w.
func Wrap(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Wrap(s, w, "")
}

// WrapLines word-wraps s and returns its lines.
func WrapLines(s string, w int) []string {
	if s == "" {
		return nil
	}
	return strings.Split(Wrap(s, w), "\n")
}

// Col is one column of a horizontal join: its text and its exact width.
type Col struct {
	Text string
	W    int
}

// Join places the columns side by side, gap cells apart, as exactly h lines.
// Each column is fitted to its width, so the result is sum(W)+gaps wide.
func Join(h, gap int, cols ...Col) string {
	if h <= 0 {
		return ""
	}
	split := make([][]string, len(cols))
	for i, c := range cols {
		split[i] = strings.Split(c.Text, "\n")
	}
	sep := strings.Repeat(" ", max(gap, 0))
	var b strings.Builder
	for row := 0; row < h; row++ {
		if row > 0 {
			b.WriteByte('\n')
		}
		for i, c := range cols {
			if i > 0 {
				b.WriteString(sep)
			}
			line := ""
			if row < len(split[i]) {
				line = split[i][row]
			}
			b.WriteString(Fit(line, c.W))
		}
	}
	return b.String()
}

// Stack joins blocks vertically; an empty block is a blank line.
func Stack(blocks ...string) string { return strings.Join(blocks, "\n") }

// Center places s in the middle of a w×h block.
func Center(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	bw = min(bw, w)
	top := max((h-len(lines))/2, 0)
	left := strings.Repeat(" ", max((w-bw)/2, 0))
	out := make([]string, 0, h)
	for i := 0; i < top; i++ {
		out = append(out, "")
	}
	for _, l := range lines {
		out = append(out, left+l)
	}
	return Lines(out, w, h)
}
