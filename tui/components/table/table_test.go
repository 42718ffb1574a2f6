package table

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"carvision/tui/keys"
	"carvision/tui/theme"
)

func TestCursorNav(t *testing.T) {
	c := Cursor{}
	c.SetN(10)
	c.SetH(4)
	for _, tc := range []struct {
		action      string
		pos, offset int
	}{
		{keys.Down, 1, 0},
		{keys.PgDown, 4, 1},
		{keys.Bottom, 9, 6},
		{keys.Down, 9, 6},
		{keys.Top, 0, 0},
		{keys.Up, 0, 0},
	} {
		if !c.Nav(tc.action) {
			t.Fatalf("%s not handled", tc.action)
		}
		if c.Pos != tc.pos || c.Offset != tc.offset {
			t.Fatalf("after %s: pos %d offset %d, want %d %d", tc.action, c.Pos, c.Offset, tc.pos, tc.offset)
		}
	}
	if c.Nav("monitor.pause") {
		t.Fatal("a non-navigation action was handled")
	}
	c.SetN(0)
	if c.Pos != 0 || c.Offset != 0 {
		t.Fatalf("empty list: %+v", c)
	}
}

func TestRenderShowsSelectionWithoutColour(t *testing.T) {
	th, _ := theme.New("mono", nil) // Ascii profile: no attributes at all
	cur := &Cursor{Pos: 1}
	rows := [][]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}
	out := Render(Spec{Theme: th, W: 30, H: 3, Rows: rows, Cursor: cur,
		Columns: []Column{{Title: "name", Width: 8}, {Title: "n", Width: 3, Right: true}}})
	lines := strings.Split(out, "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for _, l := range lines {
		if ansi.StringWidth(l) != 30 {
			t.Fatalf("line %q not 30 wide", l)
		}
	}
	if !strings.HasPrefix(lines[2], ">") || !strings.Contains(lines[2], "b") {
		t.Fatalf("selected row lacks the text cursor: %q", lines[2])
	}
	if !strings.Contains(lines[0], "1-2/4") {
		t.Fatalf("scroll position missing in header: %q", lines[0])
	}
}
