package textblock

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		w        int
		want     string
	}{
		{"pad", "ab", 4, "ab  "},
		{"exact", "abcd", 4, "abcd"},
		{"cut shows ellipsis", "abcdef", 4, "abc…"},
		{"zero width", "abc", 0, ""},
		{"wide runes pad by cells", "✓ ok", 6, "✓ ok  "},
		{"ansi kept, width by cells", "\x1b[1mab\x1b[0m", 3, "\x1b[1mab\x1b[0m "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Fit(tc.in, tc.w)
			if got != tc.want {
				t.Fatalf("Fit(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
			}
			if w := ansi.StringWidth(got); w != tc.w {
				t.Fatalf("width %d, want %d", w, tc.w)
			}
		})
	}
}

func TestBlockIsExact(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w, h int
	}{
		{"", 5, 3},
		{"one", 5, 3},
		{"a\nb\nc\nd\ne", 2, 3},
		{"a very long line that must be cut", 10, 1},
	} {
		got := Block(tc.in, tc.w, tc.h)
		lines := strings.Split(got, "\n")
		if len(lines) != tc.h {
			t.Fatalf("Block(%q) has %d lines, want %d", tc.in, len(lines), tc.h)
		}
		for _, l := range lines {
			if ansi.StringWidth(l) != tc.w {
				t.Fatalf("Block(%q) line %q is %d wide, want %d", tc.in, l, ansi.StringWidth(l), tc.w)
			}
		}
	}
}

func TestJoin(t *testing.T) {
	got := Join(2, 1, Col{Text: "ab\ncd", W: 3}, Col{Text: "x", W: 2})
	want := "ab  x \ncd    "
	if got != want {
		t.Fatalf("Join = %q, want %q", got, want)
	}
}

func TestWrapLinesFitsWidth(t *testing.T) {
	lines := WrapLines("terminal too small: need 60×15, have 20×5", 12)
	if len(lines) < 3 {
		t.Fatalf("expected wrapping, got %q", lines)
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > 12 {
			t.Fatalf("line %q wider than 12", l)
		}
	}
}

func TestCenter(t *testing.T) {
	got := strings.Split(Center("hi", 6, 3), "\n")
	if len(got) != 3 || got[1] != "  hi  " {
		t.Fatalf("Center = %q", got)
	}
}
