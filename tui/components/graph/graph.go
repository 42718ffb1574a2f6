// Package graph wraps asciigraph for the console: it never panics on empty,
// flat or infinite series, keeps a stable height, fits the y-axis gutter into
// the width it is given, and draws thresholds as a labelled line.
package graph

import (
	"fmt"
	"math"
	"strings"

	"github.com/guptarohit/asciigraph"

	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// Series is one line of a chart.
type Series struct {
	Name   string
	Values []float64 // oldest first
	Color  asciigraph.AnsiColor
	Chars  asciigraph.CharSet
}

// Spec describes one chart block.
type Spec struct {
	Title     string
	Series    []Series
	Threshold float64 // > 0: drawn as a line and named in the legend
	ThreshTag string  // legend label of the threshold, e.g. "SLO 300ms"
	W, H      int     // the whole block: title line + plot
	Lower     float64 // lower bound of the y axis (usually 0)
	Format    func(float64) string
	Theme     *theme.Theme
}

const labelWidth = 6 // fixed y-label width keeps the gutter predictable

// Render draws the chart as exactly W×H cells.
func Render(s Spec) string {
	th := s.Theme
	if s.W <= 0 || s.H <= 0 {
		return ""
	}
	title := th.Title.Render(s.Title)
	legend := legendOf(s)
	head := title
	if legend != "" {
		head += "  " + legend
	}
	plotH := s.H - 1
	// asciigraph: label (labelWidth+1) + axis gap (offset-1) + data.
	const offset = 3
	plotW := s.W - (labelWidth + offset)
	if plotH < 2 || plotW < 8 {
		return textblock.Lines([]string{head, th.Muted.Render("(no room for the chart)")}, s.W, s.H)
	}
	// A threshold far above the data would flatten it into the axis: name
	// it in the legend instead of drawing it.
	if s.Threshold > 0 && maxOf(s.Series)*4 < s.Threshold {
		head = title + "  " + legendOf(Spec{Theme: th, Series: s.Series}) + th.Muted.Render("  "+s.ThreshTag+" off-scale")
		s.Threshold = 0
	}
	data, lo, hi, ok := prepare(s, plotW)
	if !ok {
		return textblock.Lines([]string{head, "", th.Muted.Render("  no data yet")}, s.W, s.H)
	}
	format := s.Format
	if format == nil {
		format = Compact
	}
	opts := []asciigraph.Option{
		asciigraph.Height(plotH - 1), asciigraph.Width(plotW), asciigraph.Offset(offset),
		asciigraph.LowerBound(lo), asciigraph.UpperBound(hi),
		asciigraph.YAxisValueFormatter(func(v float64) string { return fit(format(v), labelWidth) }),
		asciigraph.SeriesChars(charsOf(s)...),
	}
	if th.Graph.Colors {
		opts = append(opts, asciigraph.SeriesColors(colorsOf(s)...),
			asciigraph.AxisColor(th.Graph.Axis), asciigraph.LabelColor(th.Graph.Axis))
	}
	plot := asciigraph.PlotMany(data, opts...)
	return textblock.Block(head+"\n"+plot, s.W, s.H)
}

// prepare orders the threshold line first (drawn under the data), replaces
// ±Inf with gaps, keeps the newest plotW points (max-pooled when there are
// more, so spikes survive) and right-aligns short series: time flows left
// to right and "now" is always the right edge.
func prepare(s Spec, plotW int) ([][]float64, float64, float64, bool) {
	lo, hi := s.Lower, math.Inf(-1)
	any := false
	var out [][]float64
	if s.Threshold > 0 {
		line := make([]float64, plotW)
		for i := range line {
			line[i] = s.Threshold
		}
		out = append(out, line)
		hi = s.Threshold * 1.15
	}
	for _, ser := range s.Series {
		vals := pool(ser.Values, plotW)
		padded := make([]float64, plotW)
		off := plotW - len(vals)
		for i := range padded {
			padded[i] = math.NaN()
		}
		for i, v := range vals {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				continue
			}
			padded[off+i] = v
			any = true
			lo = math.Min(lo, v)
			hi = math.Max(hi, v*1.05)
		}
		out = append(out, padded)
	}
	if !any {
		return nil, 0, 0, false
	}
	if hi <= lo {
		hi = lo + 1 // flat series keep the full height
	}
	return out, lo, hi, true
}

// pool reduces values to at most w points, each the max of its bucket.
func pool(values []float64, w int) []float64 {
	if len(values) <= w {
		return values
	}
	out := make([]float64, w)
	for i := range out {
		a := i * len(values) / w
		b := (i + 1) * len(values) / w
		m := math.NaN()
		for _, v := range values[a:max(b, a+1)] {
			if !math.IsNaN(v) && !math.IsInf(v, 0) && (math.IsNaN(m) || v > m) {
				m = v
			}
		}
		out[i] = m
	}
	return out
}

func charsOf(s Spec) []asciigraph.CharSet {
	var out []asciigraph.CharSet
	if s.Threshold > 0 {
		out = append(out, s.Theme.Graph.Chars[3])
	}
	for _, ser := range s.Series {
		c := ser.Chars
		if c.Horizontal == "" {
			c = asciigraph.DefaultCharSet
		}
		out = append(out, c)
	}
	return out
}

func colorsOf(s Spec) []asciigraph.AnsiColor {
	var out []asciigraph.AnsiColor
	if s.Threshold > 0 {
		out = append(out, s.Theme.Graph.SLO)
	}
	for _, ser := range s.Series {
		out = append(out, ser.Color)
	}
	return out
}

func legendOf(s Spec) string {
	th := s.Theme
	var parts []string
	for _, ser := range s.Series {
		if ser.Name == "" {
			continue
		}
		ch := ser.Chars.Horizontal
		if ch == "" {
			ch = "─"
		}
		parts = append(parts, colorize(th, ser.Color, ch)+" "+ser.Name)
	}
	if s.Threshold > 0 && s.ThreshTag != "" {
		parts = append(parts, colorize(th, th.Graph.SLO, th.Graph.Chars[3].Horizontal)+" "+s.ThreshTag)
	}
	return th.Muted.Render(strings.Join(parts, "  "))
}

func colorize(th *theme.Theme, c asciigraph.AnsiColor, text string) string {
	if !th.Graph.Colors {
		return text
	}
	return c.String() + text + asciigraph.Default.String()
}

func fit(s string, w int) string {
	if len(s) >= w {
		return s[:w]
	}
	return strings.Repeat(" ", w-len(s)) + s
}

// Compact formats an axis value in at most six cells: 0.35, 12.5, 412, 1.2k.
func Compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Percent formats a share (0..1) as a percentage label.
func Percent(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func maxOf(series []Series) float64 {
	m := math.Inf(-1)
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				m = math.Max(m, v)
			}
		}
	}
	return m
}
