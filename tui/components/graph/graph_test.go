package graph

import (
	"math"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"carvision/tui/theme"
)

func TestRenderIsExactAndNeverPanics(t *testing.T) {
	th, _ := theme.New("default", nil)
	inf, nan := math.Inf(1), math.NaN()
	long := make([]float64, 500)
	for i := range long {
		long[i] = float64(i % 37)
	}
	for _, tc := range []struct {
		name   string
		values []float64
		w, h   int
		want   string // substring of the output
	}{
		{"empty", nil, 40, 8, "no data yet"},
		{"all NaN", []float64{nan, nan}, 40, 8, "no data yet"},
		{"only Inf", []float64{inf, -inf}, 40, 8, "no data yet"},
		{"one point", []float64{42}, 40, 8, "┤"},
		{"flat", []float64{5, 5, 5, 5}, 40, 8, "┤"},
		{"inf mixed in", []float64{1, inf, 3, nan, 2}, 40, 8, "┤"},
		{"many points pooled", long, 60, 10, "┤"},
		{"tiny width", []float64{1, 2, 3}, 12, 8, "no room"},
		{"one row", []float64{1, 2, 3}, 40, 1, ""},
		{"zero size", []float64{1}, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Render(Spec{Theme: th, Title: "Latency", W: tc.w, H: tc.h, Threshold: 3, ThreshTag: "SLO 3",
				Series: []Series{{Name: "p50", Values: tc.values}}})
			if tc.w == 0 {
				if out != "" {
					t.Fatalf("zero size rendered %q", out)
				}
				return
			}
			lines := strings.Split(out, "\n")
			if len(lines) != tc.h {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tc.h, out)
			}
			for _, l := range lines {
				if ansi.StringWidth(l) != tc.w {
					t.Fatalf("line %q is %d wide, want %d", ansi.Strip(l), ansi.StringWidth(l), tc.w)
				}
			}
			if !strings.Contains(ansi.Strip(out), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, ansi.Strip(out))
			}
		})
	}
}

func TestFlatSeriesKeepsHeightAndThresholdIsLabelled(t *testing.T) {
	th, _ := theme.New("mono", nil)
	out := Render(Spec{Theme: th, Title: "Errors", W: 40, H: 10, Threshold: 1, ThreshTag: "SLO 1.0%",
		Series: []Series{{Name: "5xx", Values: []float64{0.2, 0.2, 0.2}}}})
	plot := strings.Split(out, "\n")[1:]
	axis := 0
	for _, l := range plot {
		if strings.ContainsAny(l, "┤┼") {
			axis++
		}
	}
	if axis != 9 {
		t.Fatalf("a flat series must keep the full height (9 axis rows), got %d:\n%s", axis, out)
	}
	if !strings.Contains(out, "SLO 1.0%") {
		t.Fatalf("threshold not named in the legend:\n%s", out)
	}
}

func TestPoolKeepsSpikes(t *testing.T) {
	v := make([]float64, 100)
	v[57] = 900
	got := pool(v, 10)
	if len(got) != 10 || got[5] != 900 {
		t.Fatalf("pool lost the spike: %v", got)
	}
	short := []float64{1, 2}
	if p := pool(short, 10); len(p) != 2 {
		t.Fatalf("short series must not be stretched by pool: %v", p)
	}
}

func TestThresholdFarAboveTheDataIsNamedNotDrawn(t *testing.T) {
	th, _ := theme.New("default", nil)
	out := Render(Spec{Theme: th, Title: "Latency", W: 50, H: 8, Threshold: 500, ThreshTag: "SLO 500 ms",
		Series: []Series{{Name: "p95", Values: []float64{0.2, 0.3, 0.25}}}})
	if !strings.Contains(out, "SLO 500 ms off-scale") || strings.Contains(out, "┄┄") {
		t.Fatalf("an off-scale SLO must be named, not drawn:\n%s", out)
	}
	if !strings.Contains(out, "0.32 ┤") { // top = max × 1.05
		t.Fatalf("the scale should follow the data:\n%s", out)
	}
}
