package theme

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func TestNew(t *testing.T) {
	if _, err := New("solarized", nil); err == nil || !strings.Contains(err.Error(), "default, mono, light") {
		t.Fatalf("unknown theme: %v", err)
	}
	for _, name := range Names {
		th, err := New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !th.Plain {
			t.Fatalf("%s on an Ascii renderer must be plain", name)
		}
		// State is never colour alone: a symbol and the word are in the text.
		for _, l := range []Level{LevelMuted, LevelInfo, LevelOK, LevelWarn, LevelBad} {
			got := ansi.Strip(th.State(l, "word"))
			if got != th.Symbol(l)+" word" || th.Symbol(l) == "" {
				t.Fatalf("%s level %d: %q", name, l, got)
			}
		}
	}
	mono, _ := New("mono", nil)
	if mono.Sym.Bad != "x" || mono.Sym.Cursor != ">" {
		t.Fatalf("mono must use ASCII symbols: %+v", mono.Sym)
	}
}

func TestColoursFollowTheRenderer(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	th, _ := New("default", r)
	if th.Plain || !th.Graph.Colors {
		t.Fatal("a true-colour session should get colours")
	}
	if out := th.Bad.Render("x"); !strings.Contains(out, "\x1b[") {
		t.Fatalf("no colour in %q", out)
	}
	plain, _ := New("default", nil)
	if out := plain.Bad.Render("x"); out != "x" || plain.Graph.Colors {
		t.Fatalf("an Ascii session got escapes: %q", out)
	}
	mono, _ := New("mono", r)
	if out := mono.OK.Render("x"); strings.Contains(out, "38;") {
		t.Fatalf("mono must not colour: %q", out)
	}
}

func TestBar(t *testing.T) {
	th, _ := New("mono", nil)
	for _, tc := range []struct {
		frac float64
		want string
	}{{0, "...."}, {0.5, "##.."}, {1, "####"}, {2, "####"}, {-1, "...."}} {
		if got := th.Bar(tc.frac, 4, th.Text); got != tc.want {
			t.Errorf("Bar(%v) = %q, want %q", tc.frac, got, tc.want)
		}
	}
}
