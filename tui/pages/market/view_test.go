package market

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"carvision/engine"
	"carvision/tui/page"
	"carvision/tui/theme"
)

var goldenSizes = []struct {
	name    string
	w, h    int
	compact bool
}{{"80x24", 80, 24, true}, {"120x40", 120, 40, false}}

func TestGoldenReport(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			p := started(t, newClient(t), "default")
			golden.RequireEqual(t, []byte(render(t, p, sz.w, sz.h, sz.compact)))
		})
	}
}

// TestGoldenFiltered: a filter narrows the report; the header shows the
// filter and the share of all cleaned rows.
func TestGoldenFiltered(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			p := started(t, newClient(t), "default")
			act(t, p, Edit, "price 5000-30000 year 2005-2015 brands ford,chevrolet,toyota")
			golden.RequireEqual(t, []byte(render(t, p, sz.w, sz.h, sz.compact)))
		})
	}
}

// TestGoldenPanels: the single column shows one panel at a time.
func TestGoldenPanels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moves int
		w, h  int
	}{{"brands_80x24", 1, 80, 24}, {"opportunities_80x24", 2, 80, 24}, {"brands_60x30", 1, 60, 30}} {
		t.Run(tc.name, func(t *testing.T) {
			p := started(t, newClient(t), "default")
			for i := 0; i < tc.moves; i++ {
				act(t, p, NextPanel, "")
			}
			golden.RequireEqual(t, []byte(render(t, p, tc.w, tc.h, true)))
		})
	}
}

// TestGoldenStates: the input with an invalid filter, an engine without
// cleaned data, a failed refresh over a good report, and mono.
func TestGoldenStates(t *testing.T) {
	noData := fmt.Errorf("market: no cleaned data yet (run `carvision repro`): %w",
		fmt.Errorf("hash data/processed/clean.csv: %w", errors.New("open data/processed/clean.csv: no such file or directory")))
	for _, tc := range []struct {
		name  string
		theme string
		setup func(t *testing.T, c *fakeClient) *Page
	}{
		{"input_error", "default", func(t *testing.T, c *fakeClient) *Page {
			p := started(t, c, "default")
			act(t, p, Edit, "")
			typeText(t, p, "price 30000-5000")
			press(t, p, tea.KeyEnter)
			return p
		}},
		{"no_data", "default", func(t *testing.T, c *fakeClient) *Page {
			c.setErr(noData)
			return started(t, c, "default")
		}},
		{"refresh_failed", "default", func(t *testing.T, c *fakeClient) *Page {
			p := started(t, c, "default")
			c.setErr(errors.New("market: read data/processed/clean.csv line 812: unexpected EOF"))
			act(t, p, Reload, "")
			return p
		}},
		{"no_match", "default", func(t *testing.T, c *fakeClient) *Page {
			p := started(t, c, "default")
			act(t, p, Edit, "brands tesla")
			return p
		}},
		{"mono", "mono", func(t *testing.T, c *fakeClient) *Page {
			p := started(t, c, "mono")
			act(t, p, Edit, "year 2010-")
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.setup(t, newClient(t))
			golden.RequireEqual(t, []byte(render(t, p, 80, 24, true)))
		})
	}
}

// TestViewFitsArea: whatever the state, the view is exactly the area it
// was given — no line wider, no extra line — from 40×10 to 200×60.
func TestViewFitsArea(t *testing.T) {
	states := map[string]func(t *testing.T) *Page{
		"loading": func(t *testing.T) *Page { return newPage(t, newClient(t), "default") },
		"report":  func(t *testing.T) *Page { return started(t, newClient(t), "default") },
		"mono":    func(t *testing.T) *Page { return started(t, newClient(t), "mono") },
		"colour": func(t *testing.T) *Page {
			// Styles and the graph's raw ANSI colours must not count as cells.
			r := lipgloss.NewRenderer(io.Discard)
			r.SetColorProfile(termenv.TrueColor)
			th, err := theme.New("default", r)
			if err != nil {
				t.Fatal(err)
			}
			p := newPage(t, newClient(t), "default")
			p.Ctx.Theme = th
			drive(t, p, p.Start())
			if !strings.Contains(p.graphBlock(60, 12, false), "\x1b[") {
				t.Fatal("the colour profile produced no colour")
			}
			return p
		},
		"error": func(t *testing.T) *Page {
			c := newClient(t)
			c.setErr(errors.New(strings.Repeat("a very long reason that keeps going ", 8)))
			return started(t, c, "default")
		},
		"editing": func(t *testing.T) *Page {
			p := started(t, newClient(t), "default")
			act(t, p, Edit, "")
			typeText(t, p, "year 20x5-2015 "+strings.Repeat("brands ford ", 20))
			press(t, p, tea.KeyEnter)
			return p
		},
		"filtered": func(t *testing.T) *Page {
			p := started(t, newClient(t), "default")
			act(t, p, Edit, "price 1k-12k brands ford,chevrolet")
			return p
		},
		"no match": func(t *testing.T) *Page {
			p := started(t, newClient(t), "default")
			act(t, p, Edit, "price 1-2")
			return p
		},
		"brands panel": func(t *testing.T) *Page {
			p := started(t, newClient(t), "default")
			act(t, p, NextPanel, "")
			return p
		},
		"opportunities panel": func(t *testing.T) *Page {
			p := started(t, newClient(t), "default")
			act(t, p, PrevPanel, "")
			return p
		},
	}
	sizes := [][2]int{{40, 10}, {80, 24}, {120, 40}, {200, 60}, {99, 30}, {100, 12}, {100, 30}, {60, 15}, {1, 1}, {12, 3}}
	for name, mk := range states {
		for _, sz := range sizes {
			for _, compact := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%dx%d/compact=%v", name, sz[0], sz[1], compact), func(t *testing.T) {
					render(t, mk(t), sz[0], sz[1], compact)
				})
			}
		}
	}
	p := started(t, newClient(t), "default")
	p.SetSize(0, 0, true)
	if v := p.View(); v != "" {
		t.Errorf("0x0 view = %q, want empty", v)
	}
}

// TestViewSurvivesOddReports: an empty report, NaN and infinite numbers, a
// single age and unsorted data never panic and still fit.
func TestViewSurvivesOddReports(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for name, r := range map[string]engine.MarketReport{
		"empty":   {ReferenceYear: 2026},
		"one age": {ReferenceYear: 2026, InputRows: 5, KPIs: engine.MarketKPIs{TotalVehicles: 5, AveragePrice: 9000}, Depreciation: engine.MarketDepreciation{ByAge: []engine.AgePrice{{Age: 3, Count: 5, MeanPrice: 9000}}}},
		"non-finite": {ReferenceYear: 2026, InputRows: 5, KPIs: engine.MarketKPIs{TotalVehicles: 5, AveragePrice: nan, TotalMarketValue: inf},
			Depreciation:  engine.MarketDepreciation{ByAge: []engine.AgePrice{{Age: 1, MeanPrice: nan}, {Age: 2, MeanPrice: inf}, {Age: inf, MeanPrice: 3}}, AverageRate: nan},
			Opportunities: []engine.MarketOpportunity{{Category: "Budget", Count: 1, AvgPrice: nan, PotentialValue: -inf}}},
		"flat": {ReferenceYear: 2026, InputRows: 9, KPIs: engine.MarketKPIs{TotalVehicles: 9},
			Depreciation: engine.MarketDepreciation{ByAge: []engine.AgePrice{{Age: 1, MeanPrice: 5000}, {Age: 2, MeanPrice: 5000}, {Age: 9, MeanPrice: 5000}}}},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPage(t, nil, "default")
			p.Update(reportMsg{seq: p.seq, report: r})
			for _, sz := range [][2]int{{40, 10}, {80, 24}, {120, 40}} {
				render(t, p, sz[0], sz[1], sz[0] < 100)
			}
		})
	}
}

func TestResample(t *testing.T) {
	pts := []engine.AgePrice{{Age: 2, MeanPrice: 100}, {Age: 4, MeanPrice: 80}, {Age: 10, MeanPrice: 20}}
	for _, tc := range []struct {
		n    int
		want []float64
	}{
		// ages 2..10 over 5 columns: 2, 4, 6, 8, 10.
		{5, []float64{100, 80, 60, 40, 20}},
		// 9 columns: one per age; 3 lies halfway between 100 and 80.
		{9, []float64{100, 90, 80, 70, 60, 50, 40, 30, 20}},
		{1, []float64{100}},
		{0, nil},
	} {
		got := Resample(pts, tc.n)
		if len(got) != len(tc.want) {
			t.Fatalf("n=%d: %v", tc.n, got)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-9 {
				t.Errorf("n=%d: column %d = %v, want %v", tc.n, i, got[i], tc.want[i])
			}
		}
	}
	if got := Resample([]engine.AgePrice{{Age: 5, MeanPrice: 7}}, 3); got[0] != 7 || got[2] != 7 {
		t.Errorf("one age: %v", got)
	}
	if got := Resample([]engine.AgePrice{{Age: 1, MeanPrice: math.NaN()}}, 3); got != nil {
		t.Errorf("no finite point: %v", got)
	}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		twoCol bool
	}{{40, 10, false}, {99, 40, false}, {100, 30, true}, {120, 36, true}, {200, 60, true}, {100, 12, true}, {100, 3, true}} {
		pl := Layout(tc.w, tc.h, 3, 10, 6)
		if pl.TwoCol != tc.twoCol {
			t.Errorf("%dx%d: two columns %v", tc.w, tc.h, pl.TwoCol)
		}
		if !pl.TwoCol {
			if pl.PanelH != tc.h-1 {
				t.Errorf("%dx%d: panel %d", tc.w, tc.h, pl.PanelH)
			}
			continue
		}
		if pl.LeftW+pl.RightW+2 != tc.w {
			t.Errorf("%dx%d: widths %d+%d", tc.w, tc.h, pl.LeftW, pl.RightW)
		}
		left := pl.GraphH + pl.OppH + pl.InsH
		for _, panel := range []int{pl.OppH, pl.InsH} {
			if panel > 0 {
				left++ // the blank line before it
			}
		}
		if left != tc.h || pl.VolH+1+pl.PriceH != tc.h {
			t.Errorf("%dx%d: columns of %d and %d lines: %+v", tc.w, tc.h, left, pl.VolH+1+pl.PriceH, pl)
		}
		if tc.h >= 30 && (pl.OppH != 5 || pl.InsH != 6 || pl.VolH != 12) {
			t.Errorf("%dx%d: tall enough for every row: %+v", tc.w, tc.h, pl)
		}
	}
	// A short body keeps the curve readable: the insights shrink first,
	// then the opportunities; a panel too short for one row goes.
	for _, tc := range []struct {
		h                   int
		graph, opps, insigh int
	}{{30, 17, 5, 6}, {24, 11, 5, 6}, {20, 8, 5, 5}, {17, 8, 5, 2}, {16, 10, 5, 0}, {12, 8, 3, 0}, {11, 11, 0, 0}} {
		pl := Layout(120, tc.h, 3, 10, 6)
		if pl.GraphH != tc.graph || pl.OppH != tc.opps || pl.InsH != tc.insigh {
			t.Errorf("h=%d: graph %d opps %d insights %d, want %d %d %d", tc.h, pl.GraphH, pl.OppH, pl.InsH, tc.graph, tc.opps, tc.insigh)
		}
	}
}

func BenchmarkView200x60(b *testing.B) {
	p := started(b, newClient(b), "default")
	p.SetSize(200, 60, false)
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.dirty() // measure the drawing, not the cache
			_ = p.View()
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Update(page.SnapshotMsg{})
			_ = p.View()
		}
	})
}
