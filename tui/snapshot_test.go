package tui

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"carvision/tui/enginefake"
	"carvision/tui/keys"
	"carvision/tui/layout"
)

// sizes of the layout snapshots.
var sizes = [][2]int{{40, 10}, {80, 24}, {120, 40}, {200, 60}}

// busy drives a console through every page (a prediction, a finished
// retrain, a model diff, logs, config) and returns it stopped: the fixed
// state the snapshots and benchmarks render.
func busy(tb testing.TB, r *lipgloss.Renderer) *Model {
	tb.Helper()
	h := start(tb, 120, 40, func(o *Options) {
		if r != nil {
			o.Renderer = r
		}
	})
	_ = h
	h.wait("Recent events")
	h.keys("2")
	h.wait("Endpoints (ms)")
	h.keys("3")
	h.wait("Features by severity")
	h.keys("4")
	h.wait("enter edits the listing")
	h.keys("enter")
	h.typ("f-150")
	h.keys("tab")
	h.typ("2015")
	h.keys("tab")
	h.typ("88000")
	h.keys("ctrl+s")
	h.wait("for ford f-150 (v6")
	h.keys("5")
	h.wait("inputs changed since the last repro")
	h.keys("n")
	h.wait("Type retrain to confirm.")
	h.typ("retrain")
	h.keys("enter")
	h.wait("reading data/raw/vehicles_us.csv")
	h.advance(enginefake.RetrainSteps)
	h.wait("gate passed")
	h.keys("6")
	h.wait("Versions · 7")
	h.keys("d")
	h.wait("Compare v6 → v7")
	h.keys("7")
	h.wait("following")
	h.keys("8")
	h.wait("valid · config.yaml")
	return h.final()
}

func TestLayoutSnapshots(t *testing.T) {
	m := busy(t, nil)
	t.Run("too_small_40x10", func(t *testing.T) {
		golden.RequireEqual(t, []byte(plain(viewAt(m, 40, 10))))
	})
	for _, p := range m.pages {
		for _, sz := range sizes[1:] {
			t.Run(fmt.Sprintf("%s_%dx%d", p.ID(), sz[0], sz[1]), func(t *testing.T) {
				m.show(p.ID())
				out := viewAt(m, sz[0], sz[1])
				requireExact(t, out, sz[0], sz[1])
				golden.RequireEqual(t, []byte(plain(out)))
			})
		}
	}
}

// requireExact checks a view fills its terminal exactly: no line longer
// (it would wrap and scroll) and no missing line (it would leave residue).
func requireExact(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Fatalf("line %d is %d cells, want %d: %q", i, lw, w, ansi.Strip(l))
		}
	}
}

func TestLayoutFrames(t *testing.T) {
	for _, sz := range sizes {
		for _, hide := range []bool{false, true} {
			name := fmt.Sprintf("%dx%d", sz[0], sz[1])
			if hide {
				name += "_nohints"
			}
			t.Run(name, func(t *testing.T) {
				f := layout.Compute(sz[0], sz[1], layout.State{HideHints: hide})
				golden.RequireEqual(t, []byte(plain(f.Art())))
			})
		}
	}
}

func TestEverySizeIsExact(t *testing.T) {
	m := busy(t, nil)
	for _, p := range m.pages {
		m.show(p.ID())
		for _, sz := range [][2]int{{0, 0}, {1, 1}, {59, 15}, {60, 15}, {61, 16}, {99, 29}, {100, 30}, {137, 43}, {250, 80}} {
			out := viewAt(m, sz[0], sz[1])
			if sz[0] == 0 {
				if out != "" {
					t.Fatalf("%s at 0x0 drew %q", p.ID(), out)
				}
				continue
			}
			t.Run(fmt.Sprintf("%s_%dx%d", p.ID(), sz[0], sz[1]), func(t *testing.T) { requireExact(t, out, sz[0], sz[1]) })
		}
	}
}

var labelRE = regexp.MustCompile(`^  (\S.{15}) `)

// The help overlay, the hint line and the docs come from the key table:
// every binding of a page's scopes is in its help, and nothing else is.
func TestHelpListsExactlyTheKeyTable(t *testing.T) {
	pace := enginefake.NewManualClock(at)
	m, err := newModel(newFake(pace, nil), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	m.resize(120, 40)
	for _, p := range m.pages {
		t.Run(p.ID(), func(t *testing.T) {
			m.show(p.ID())
			shown := map[string]int{}
			for _, l := range m.helpLines(300) {
				if mm := labelRE.FindStringSubmatch(l); mm != nil && !strings.HasPrefix(l, "  ★") {
					shown[strings.TrimSpace(mm[1])]++
				}
			}
			want := map[string]int{}
			for _, s := range []keys.Scope{keys.Scope(p.ID()), keys.Global, keys.Nav} {
				for _, b := range m.table.Scope(s) {
					want[b.Label()]++
				}
			}
			for k, n := range want {
				if shown[k] != n {
					t.Errorf("binding %q: in the table %d times, in help %d times", k, n, shown[k])
				}
			}
			for k := range shown {
				if want[k] == 0 {
					t.Errorf("help shows %q, which is not in the key table", k)
				}
			}
			hints := m.hints(1000)
			for _, b := range m.table.Hints(keys.Scope(p.ID())) {
				if !strings.Contains(hints, b.Keys[0]+" "+b.Short) {
					t.Errorf("hint %q %q missing from %q", b.Keys[0], b.Short, hints)
				}
			}
			if strings.Contains(hints, "refresh") {
				t.Errorf("a binding without Hint is in the hint line: %q", hints)
			}
		})
	}
}

// TestKeyDocs keeps tui/KEYBINDINGS.md equal to the key table
// (go test ./tui -run KeyDocs -update regenerates it).
func TestKeyDocs(t *testing.T) {
	pace := enginefake.NewManualClock(at)
	m, err := newModel(newFake(pace, nil), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	md := m.KeyDocs()
	const path = "KEYBINDINGS.md"
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != md {
		t.Fatalf("%s is stale: run go test ./tui -run KeyDocs -update", path)
	}
}
