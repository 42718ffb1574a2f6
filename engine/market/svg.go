package market

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Inline SVG charts for the HTML report. They are built as strings (not
// templates) because their geometry is computed; every piece of text in them
// goes through esc, so listing text cannot inject markup.

const (
	chartW  = 640.0
	chartH  = 300.0
	marginL = 80.0
	marginR = 20.0
	marginT = 36.0
	marginB = 48.0
)

func esc(s string) string { return template.HTMLEscapeString(printable(s)) }

// coord formats a coordinate compactly and deterministically.
func coord(v float64) string { return fmt.Sprintf("%.1f", v) }

type chart struct {
	b strings.Builder
}

func newChart(title string) *chart {
	c := &chart{}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" class="chart">`, int(chartW), int(chartH))
	fmt.Fprintf(&c.b, `<title>%s</title>`, esc(title))
	fmt.Fprintf(&c.b, `<text x="%s" y="22" class="ct">%s</text>`, coord(chartW/2), esc(title))
	return c
}

func (c *chart) text(x, y float64, anchor, class, s string) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, coord(x), coord(y), anchor, class, esc(s))
}

func (c *chart) line(x1, y1, x2, y2 float64, class string) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/>`, coord(x1), coord(y1), coord(x2), coord(y2), class)
}

func (c *chart) rect(x, y, w, h float64, class, tip string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" class="%s"><title>%s</title></rect>`,
		coord(x), coord(y), coord(math.Max(w, 0)), coord(math.Max(h, 0)), class, esc(tip))
}

func (c *chart) noData() {
	c.text(chartW/2, chartH/2, "middle", "nd", "No data")
}

func (c *chart) done() template.HTML {
	c.b.WriteString(`</svg>`)
	// Every text fragment above went through esc.
	return template.HTML(c.b.String())
}

// yAxis draws horizontal grid lines with labels from 0 to top.
func (c *chart) yAxis(top float64, label func(float64) string) {
	plotH := chartH - marginT - marginB
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := chartH - marginB - plotH*float64(i)/4
		c.line(marginL, y, chartW-marginR, y, "grid")
		c.text(marginL-6, y+4, "end", "al", label(v))
	}
}

// niceTop rounds v up to 1, 2, 2.5 or 5 times a power of ten so axis labels are round.
func niceTop(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func histogramSVG(bins []histBin, title string) template.HTML {
	c := newChart(title)
	if len(bins) == 0 {
		c.noData()
		return c.done()
	}
	maxCount := 0
	for _, b := range bins {
		maxCount = max(maxCount, b.count)
	}
	top := niceTop(float64(maxCount))
	c.yAxis(top, func(v float64) string { return formatThousands(v, 0) })
	plotW, plotH := chartW-marginL-marginR, chartH-marginT-marginB
	w := plotW / float64(len(bins))
	for i, b := range bins {
		h := plotH * float64(b.count) / top
		c.rect(marginL+float64(i)*w+0.5, chartH-marginB-h, w-1, h, "bar",
			fmt.Sprintf("%s – %s: %d listings", money(b.lo), money(b.hi), b.count))
	}
	lo, hi := bins[0].lo, bins[len(bins)-1].hi
	c.text(marginL, chartH-marginB+16, "start", "al", money(lo))
	c.text(marginL+plotW/2, chartH-marginB+16, "middle", "al", money((lo+hi)/2))
	c.text(chartW-marginR, chartH-marginB+16, "end", "al", money(hi))
	c.text(marginL+plotW/2, chartH-10, "middle", "al", "Price (USD)")
	return c.done()
}

type histBin struct {
	lo, hi float64
	count  int
}

// lineSVG plots y against x (ascending x), with a point per value.
func lineSVG(xs, ys []float64, title, xTitle string, yLabel func(float64) string) template.HTML {
	c := newChart(title)
	if len(xs) == 0 {
		c.noData()
		return c.done()
	}
	maxY := 0.0
	for _, y := range ys {
		maxY = math.Max(maxY, y)
	}
	top := niceTop(maxY)
	c.yAxis(top, yLabel)
	plotW, plotH := chartW-marginL-marginR, chartH-marginT-marginB
	x0, x1 := xs[0], xs[len(xs)-1]
	px := func(x float64) float64 {
		if x1 == x0 {
			return marginL + plotW/2
		}
		return marginL + plotW*(x-x0)/(x1-x0)
	}
	py := func(y float64) float64 { return chartH - marginB - plotH*y/top }
	var pts []string
	for i := range xs {
		pts = append(pts, coord(px(xs[i]))+","+coord(py(ys[i])))
	}
	fmt.Fprintf(&c.b, `<polyline points="%s" class="curve"/>`, strings.Join(pts, " "))
	for i := range xs {
		fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="3" class="pt"><title>%s</title></circle>`,
			coord(px(xs[i])), coord(py(ys[i])), esc(fmt.Sprintf("age %s: %s", fmtAge(xs[i]), yLabel(ys[i]))))
	}
	ticks := min(len(xs), 8)
	for t := range ticks {
		k := 0
		if ticks > 1 {
			k = t * (len(xs) - 1) / (ticks - 1)
		}
		c.text(px(xs[k]), chartH-marginB+16, "middle", "al", fmtAge(xs[k]))
	}
	c.text(marginL+plotW/2, chartH-10, "middle", "al", xTitle)
	return c.done()
}

func fmtAge(a float64) string { return fmt.Sprint(a) }

type hbar struct {
	label, note string
	value       float64
}

// hbarsSVG draws one horizontal bar per item, largest scale at the top value.
func hbarsSVG(items []hbar, title string, valueLabel func(float64) string) template.HTML {
	c := newChart(title)
	if len(items) == 0 {
		c.noData()
		return c.done()
	}
	maxV := 0.0
	for _, it := range items {
		maxV = math.Max(maxV, it.value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	labelW := 120.0
	plotW := chartW - labelW - marginR - 90
	plotH := chartH - marginT - 16
	rowH := plotH / float64(len(items))
	for i, it := range items {
		y := marginT + float64(i)*rowH
		w := plotW * math.Max(it.value, 0) / maxV
		c.text(labelW-6, y+rowH/2+4, "end", "al", it.label)
		c.rect(labelW, y+rowH*0.15, w, rowH*0.7, "bar", it.label+": "+it.note)
		c.text(labelW+w+6, y+rowH/2+4, "start", "al", valueLabel(it.value))
	}
	return c.done()
}
