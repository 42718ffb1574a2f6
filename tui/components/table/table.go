// Package table renders aligned, scrollable tables with a visible cursor
// (a marker column as well as reverse video, so selection survives NO_COLOR)
// and keeps the cursor/scroll state of a list.
package table

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"carvision/tui/keys"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// Column is one column; Width 0 shares the remaining width.
type Column struct {
	Title string
	Width int
	Right bool
}

// Cursor is the selection and scroll position of a list of N rows shown H at a time.
type Cursor struct {
	Pos, Offset, N, H int
}

// SetN updates the row count, keeping the cursor in range.
func (c *Cursor) SetN(n int) {
	c.N = max(n, 0)
	c.clamp()
}

// Resize sets the row count and the visible height at once.
func (c *Cursor) Resize(n, h int) {
	c.N, c.H = max(n, 0), max(h, 1)
	c.clamp()
}

// SetH updates the visible height.
func (c *Cursor) SetH(h int) {
	c.H = max(h, 1)
	c.clamp()
}

// Move moves the cursor by d rows.
func (c *Cursor) Move(d int) {
	c.Pos += d
	c.clamp()
}

// To moves the cursor to row i.
func (c *Cursor) To(i int) {
	c.Pos = i
	c.clamp()
}

// Nav applies a navigation action; it reports whether it was one.
func (c *Cursor) Nav(action string) bool {
	switch action {
	case keys.Up:
		c.Move(-1)
	case keys.Down:
		c.Move(1)
	case keys.PgUp:
		c.Move(-max(c.H-1, 1))
	case keys.PgDown:
		c.Move(max(c.H-1, 1))
	case keys.Top:
		c.To(0)
	case keys.Bottom:
		c.To(c.N - 1)
	default:
		return false
	}
	return true
}

func (c *Cursor) clamp() {
	if c.H <= 0 {
		c.H = 1
	}
	c.Pos = min(max(c.Pos, 0), max(c.N-1, 0))
	if c.Pos < c.Offset {
		c.Offset = c.Pos
	}
	if c.Pos >= c.Offset+c.H {
		c.Offset = c.Pos - c.H + 1
	}
	c.Offset = min(max(c.Offset, 0), max(c.N-c.H, 0))
}

// Spec is one table to draw.
type Spec struct {
	Theme   *theme.Theme
	Columns []Column
	Rows    [][]string // cells may carry styles
	Cursor  *Cursor    // nil: no selection
	Marked  func(row int) bool
	W, H    int // including the header row
	Empty   string
}

// Render draws the table as exactly W×H cells.
func Render(s Spec) string {
	th := s.Theme
	if s.W <= 0 || s.H <= 0 {
		return ""
	}
	widths := widthsOf(s.Columns, s.W-2)
	lines := make([]string, 0, s.H)
	hdr := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		hdr[i] = c.Title
	}
	lines = append(lines, th.Muted.Render("  "+row(hdr, s.Columns, widths)))
	bodyH := s.H - 1
	if len(s.Rows) == 0 && s.Empty != "" {
		lines = append(lines, th.Muted.Render("  "+s.Empty))
	}
	off := 0
	if s.Cursor != nil {
		s.Cursor.Resize(len(s.Rows), bodyH)
		off = s.Cursor.Offset
	}
	for i := off; i < len(s.Rows) && i < off+bodyH; i++ {
		selected := s.Cursor != nil && i == s.Cursor.Pos
		mark := " "
		if s.Marked != nil && s.Marked(i) {
			mark = th.Accent.Render(th.Sym.Mark)
		}
		if selected {
			plain := make([]string, len(s.Rows[i]))
			for j, cell := range s.Rows[i] {
				plain[j] = ansi.Strip(cell)
			}
			lines = append(lines, th.Cursor(true)+mark+th.Selected.Render(row(plain, s.Columns, widths)))
			continue
		}
		lines = append(lines, " "+mark+row(s.Rows[i], s.Columns, widths))
	}
	if n := len(s.Rows); n > bodyH && len(lines) == s.H {
		// A scroll hint in the header's right corner, where the header
		// leaves room: where we are in the list.
		tag := scrollTag(off, bodyH, n)
		if free := s.W - textblock.Width(strings.TrimRight(ansi.Strip(lines[0]), " ")); free > len(tag)+1 {
			lines[0] = textblock.Fit(lines[0], s.W-len(tag)) + th.Muted.Render(tag)
		}
	}
	return textblock.Lines(lines, s.W, s.H)
}

func scrollTag(off, h, n int) string {
	return " " + strconv.Itoa(off+1) + "-" + strconv.Itoa(min(off+h, n)) + "/" + strconv.Itoa(n)
}

func row(cells []string, cols []Column, widths []int) string {
	var b strings.Builder
	for i, w := range widths {
		if i > 0 {
			b.WriteString("  ")
		}
		cell := ""
		if i < len(cells) {
			cell = cells[i]
		}
		if cols[i].Right {
			cw := textblock.Width(cell)
			if cw < w {
				b.WriteString(strings.Repeat(" ", w-cw))
				b.WriteString(cell)
				continue
			}
		}
		b.WriteString(textblock.Fit(cell, w))
	}
	return b.String()
}

func widthsOf(cols []Column, total int) []int {
	out := make([]int, len(cols))
	fixed, flex := 0, 0
	for i, c := range cols {
		if c.Width > 0 {
			out[i] = c.Width
			fixed += c.Width
		} else {
			flex++
		}
	}
	gaps := 2 * max(len(cols)-1, 0)
	rest := total - fixed - gaps
	if flex > 0 {
		each := max(rest/flex, 4)
		for i, c := range cols {
			if c.Width == 0 {
				out[i] = each
			}
		}
	} else if rest < 0 {
		// Too narrow: shrink the widest columns first.
		for rest < 0 {
			wi := 0
			for i := range out {
				if out[i] > out[wi] {
					wi = i
				}
			}
			if out[wi] <= 3 {
				break
			}
			out[wi]--
			rest++
		}
	}
	return out
}
