package market

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"carvision/engine"
	"carvision/tui/components/graph"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// TwoColumnW is the width from which every panel shows at once, in two
// columns; narrower pages show one panel at a time.
const TwoColumnW = 100

// gutter is the graph component's y-axis width: data starts after it.
const gutter = 8

// Plan is where the page's panels go for one size: a pure function of the
// size, the number of lines above the panels and the report's row counts.
type Plan struct {
	TwoCol        bool
	LeftW, RightW int // two columns: widths (gap 2 between)
	// Left column (two columns): depreciation graph, opportunities, insights.
	GraphH, OppH, InsH int
	// Right column (two columns): brand volume and brand pricing.
	VolH, PriceH int
	// PanelH is the area under the panel tabs (single column).
	PanelH int
}

// LeftWidth is the width of the left column of the two-column layout.
func LeftWidth(w int) int { return (w - 2) * 55 / 100 }

// Layout places the panels in a w×h body (the area under the header and
// KPIs). opps and vols are the row counts the tables would like, ins the
// lines the insights would like at LeftWidth(w) (title included).
func Layout(w, h, opps, vols, ins int) Plan {
	var p Plan
	if w < TwoColumnW {
		p.PanelH = max(h-1, 0) // one line of panel tabs
		return p
	}
	p.TwoCol = true
	p.LeftW = LeftWidth(w)
	p.RightW = w - 2 - p.LeftW
	h = max(h, 0)
	// Left: the graph keeps at least minGraph lines; opportunities and
	// insights take their natural height, then shrink in that order, and
	// go when too short to show a row. A blank line precedes each.
	const minGraph = 8
	p.OppH, p.InsH = 2+max(opps, 1), max(ins, 0)
	for p.leftRest(h) < minGraph && p.InsH > 0 {
		if p.InsH--; p.InsH < 2 {
			p.InsH = 0
		}
	}
	for p.leftRest(h) < minGraph && p.OppH > 0 {
		if p.OppH--; p.OppH < 3 {
			p.OppH = 0
		}
	}
	p.GraphH = max(p.leftRest(h), 0)
	// Right: volume (rule+header+rows) over pricing, halves when short.
	p.VolH = 2 + max(vols, 1)
	if p.VolH+1+4 > h {
		p.VolH = max((h-1)/2, 0)
	}
	p.PriceH = max(h-p.VolH-1, 0)
	return p
}

// leftRest is what the left column leaves the graph.
func (p Plan) leftRest(h int) int {
	rest := h - p.OppH - p.InsH
	if p.OppH > 0 {
		rest--
	}
	if p.InsH > 0 {
		rest--
	}
	return rest
}

// View implements page.Page: exactly W×H cells.
func (p *Page) View() string {
	key := viewKey{w: p.W, h: p.H, compact: p.Compact, th: p.Ctx.Theme, valid: true}
	if p.cacheKey == key {
		return p.cache
	}
	p.cache, p.cacheKey = p.render(), key
	return p.cache
}

func (p *Page) render() string {
	w, h := p.W, p.H
	if w <= 0 || h <= 0 {
		return ""
	}
	th := p.Ctx.Theme
	lines := p.headLines(w)
	r := p.report
	if r == nil {
		lines = append(lines, "")
		switch {
		case p.err != nil:
			lines = append(lines, th.State(theme.LevelBad, "market report unavailable"))
			why, next := reason(p.err)
			lines = append(lines, textblock.WrapLines(why, w)...)
			if next != "" {
				lines = append(lines, th.Muted.Render(next))
			}
			if why != p.err.Error() {
				lines = append(lines, "")
				lines = append(lines, textblock.WrapLines(th.Muted.Render(p.err.Error()), w)...)
			}
		default:
			lines = append(lines, th.State(theme.LevelInfo, "loading the market report…"))
		}
		return textblock.Lines(lines, w, h)
	}
	lines = append(lines, p.kpiLines(w)...)
	if w >= TwoColumnW {
		if d := distLine(th, r); d != "" {
			lines = append(lines, th.Muted.Render(d))
		}
	}
	lines = append(lines, "")
	if r.KPIs.TotalVehicles == 0 {
		lines = append(lines, th.State(theme.LevelWarn, fmt.Sprintf("no listings match this filter (of %s cleaned)", format.Thousands(float64(r.InputRows)))),
			th.Muted.Render("f edits the filter, x clears it"))
		return textblock.Lines(lines, w, h)
	}
	bodyH := h - len(lines)
	if bodyH <= 0 {
		return textblock.Lines(lines, w, h)
	}
	pl := Layout(w, bodyH, len(r.Opportunities), len(r.Brands.Volume), 1+len(p.insightLines(LeftWidth(w))))
	var body string
	if pl.TwoCol {
		left := textblock.Stack(p.graphBlock(pl.LeftW, pl.GraphH, false))
		if pl.OppH > 0 {
			left = textblock.Stack(left, "", p.oppBlock(pl.LeftW, pl.OppH))
		}
		if pl.InsH > 0 {
			left = textblock.Stack(left, "", p.insightsBlock(pl.LeftW, pl.InsH))
		}
		right := textblock.Stack(p.volumeBlock(pl.RightW, pl.VolH), "", p.pricingBlock(pl.RightW, pl.PriceH))
		body = textblock.Join(bodyH, 2, textblock.Col{Text: left, W: pl.LeftW}, textblock.Col{Text: right, W: pl.RightW})
	} else {
		body = textblock.Stack(p.tabsLine(w), p.panelBlock(w, pl.PanelH))
	}
	return textblock.Block(textblock.Stack(textblock.Lines(lines, w, len(lines)), body), w, h)
}

// headLines: title with the reference year and record count, then the
// filter (or its input), then an error or the input's help.
func (p *Page) headLines(w int) []string {
	th := p.Ctx.Theme
	sep := th.Muted.Render(" " + th.Sym.Sep + " ")
	// Optional parts join the title only while they fit.
	title := th.Title.Render("Market")
	add := func(part string, always bool) {
		if always || textblock.Width(title)+textblock.Width(sep)+textblock.Width(part) <= w {
			title += sep + part
		}
	}
	if p.loading && p.report != nil {
		word := "refreshing…"
		if FormatFilter(p.want) != FormatFilter(p.filter) {
			word = "applying " + orNone(FormatFilter(p.want)) + "…"
		}
		add(th.State(theme.LevelInfo, word), true)
	}
	if r := p.report; r != nil {
		add("ages as of "+strconv.Itoa(r.ReferenceYear), true)
		add(records(r), true)
		if !p.at.IsZero() {
			add(th.Muted.Render("updated "+format.Clock(p.at)), false)
		}
	}
	lines := []string{title}
	if p.editing {
		lines = append(lines, p.in.View())
		if p.inputErr != nil {
			msg := th.Symbol(theme.LevelBad) + " " + p.inputErr.Error() + "; kept: " + orNone(FormatFilter(p.filter))
			wrapped := textblock.WrapLines(msg, w)
			for _, l := range wrapped[:min(len(wrapped), 2)] {
				lines = append(lines, th.Bad.Render(l))
			}
		} else {
			lines = append(lines, th.Muted.Render("enter applies, esc cancels:  "+FilterSyntax))
		}
		return lines
	}
	keysHint := "(f edit)"
	if FormatFilter(p.filter) != "" {
		keysHint = "(f edit, x clear)"
	}
	shown := FormatFilter(p.filter)
	if !narrows(p.filter) {
		shown = strings.TrimSpace("none, every cleaned listing " + shown)
	}
	line := th.Muted.Render("filter ") + th.Accent.Render(shown)
	if textblock.Width(line)+3+len(keysHint) <= w {
		line += th.Muted.Render("   " + keysHint)
	}
	lines = append(lines, line)
	if p.err != nil && p.report != nil {
		msg := "refresh failed: " + errLine(p.err)
		if !p.at.IsZero() {
			msg = "showing the report of " + format.Clock(p.at) + "; " + msg
		}
		lines = append(lines, th.State(theme.LevelWarn, msg))
	}
	return lines
}

func orNone(s string) string {
	if s == "" {
		return "no filter"
	}
	return s
}

// records is the record count and, when filtered, its share of all cleaned rows.
func records(r *engine.MarketReport) string {
	n := r.KPIs.TotalVehicles
	if !narrows(r.Filter) || r.InputRows <= 0 {
		return format.Thousands(float64(n)) + " listings"
	}
	return fmt.Sprintf("%s of %s cleaned listings (%s)", format.Thousands(float64(n)),
		format.Thousands(float64(r.InputRows)), format.Pct(float64(n)/float64(r.InputRows)))
}

// kpiLines lays the five KPIs out as label/value pairs, as many per row as fit.
func (p *Page) kpiLines(w int) []string {
	th := p.Ctx.Theme
	k := p.report.KPIs
	cells := [][2]string{
		{"vehicles", format.Thousands(float64(k.TotalVehicles))},
		{"average price", format.Money(k.AveragePrice)},
		{"market value", shortMoney(k.TotalMarketValue)},
		{"opportunities", format.Thousands(float64(k.TotalOpportunities))},
		{"arbitrage potential", shortMoney(k.PotentialArbitrageValue)},
	}
	const gap = 3
	var out []string
	var labels, values strings.Builder
	used := 0
	flush := func() {
		if used > 0 {
			out = append(out, labels.String(), values.String())
		}
		labels.Reset()
		values.Reset()
		used = 0
	}
	for _, c := range cells {
		cw := max(len(c[0]), len(c[1]))
		if used > 0 && used+gap+cw > w {
			flush()
		}
		if used > 0 {
			labels.WriteString(strings.Repeat(" ", gap))
			values.WriteString(strings.Repeat(" ", gap))
			used += gap
		}
		labels.WriteString(th.Muted.Render(textblock.Fit(c[0], cw)))
		values.WriteString(th.Accent.Render(textblock.Fit(c[1], cw)))
		used += cw
	}
	flush()
	return out
}

// shortMoney keeps large sums readable in a KPI cell: $29.5M, $1.20B.
func shortMoney(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 1e9:
		return fmt.Sprintf("$%.2fB", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("$%.1fM", v/1e6)
	}
	return format.Money(v)
}

// axisMoney formats a y-axis label in at most six cells: $26k, $5.2k.
func axisMoney(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("$%.1fM", v/1e6)
	case a >= 1e5:
		return fmt.Sprintf("$%.0fk", v/1e3)
	case a >= 1e3:
		return fmt.Sprintf("$%.1fk", v/1e3)
	}
	return fmt.Sprintf("$%.0f", v)
}

// distLine summarises the price distribution and the price categories.
func distLine(th *theme.Theme, r *engine.MarketReport) string {
	var parts []string
	if s := r.Distribution.Statistics; s != nil {
		parts = append(parts, "median price "+format.Money(s.Median), "middle half "+format.Money(s.Q25)+" to "+format.Money(s.Q75))
	}
	for _, c := range r.Distribution.Categories {
		parts = append(parts, c.Category+" "+format.Thousands(float64(c.Count)))
	}
	return strings.Join(parts, " "+th.Sym.Sep+" ")
}

// depLine summarises the curve: ages covered, average rate, ends.
func depLine(th *theme.Theme, r *engine.MarketReport) string {
	pts := finitePoints(r.Depreciation.ByAge)
	if len(pts) == 0 {
		return "no vehicle ages in this selection"
	}
	first, last := pts[0], pts[len(pts)-1]
	return strings.Join([]string{
		"avg depreciation " + format.Pct(r.Depreciation.AverageRate) + "/yr",
		fmt.Sprintf("from %s at %sy to %s at %sy", format.Money(first.MeanPrice), age(first.Age), format.Money(last.MeanPrice), age(last.Age)),
	}, " "+th.Sym.Sep+" ")
}

func age(a float64) string { return strconv.FormatFloat(a, 'f', -1, 64) }

func finitePoints(by []engine.AgePrice) []engine.AgePrice {
	out := make([]engine.AgePrice, 0, len(by))
	for _, a := range by {
		if !math.IsNaN(a.Age) && !math.IsInf(a.Age, 0) && !math.IsNaN(a.MeanPrice) && !math.IsInf(a.MeanPrice, 0) {
			out = append(out, a)
		}
	}
	return out
}

// Resample spreads the curve over n columns by vehicle age, linearly
// between the ages present, so the x axis is proportional to age (the
// graph component would otherwise right-align a short series).
func Resample(by []engine.AgePrice, n int) []float64 {
	pts := finitePoints(by)
	if n <= 0 || len(pts) == 0 {
		return nil
	}
	out := make([]float64, n)
	lo, hi := pts[0].Age, pts[len(pts)-1].Age
	j := 0
	for i := range out {
		x := lo
		if n > 1 {
			x = lo + (hi-lo)*float64(i)/float64(n-1)
		}
		for j < len(pts)-2 && pts[j+1].Age < x {
			j++
		}
		a, b := pts[j], pts[min(j+1, len(pts)-1)]
		if b.Age <= a.Age {
			out[i] = a.MeanPrice
			continue
		}
		t := min(max((x-a.Age)/(b.Age-a.Age), 0), 1)
		out[i] = a.MeanPrice + t*(b.MeanPrice-a.MeanPrice)
	}
	return out
}

// graphBlock is the depreciation curve with its age axis (and, when
// summary is set, the depreciation and distribution lines) as w×h.
func (p *Page) graphBlock(w, h int, summary bool) string {
	th := p.Ctx.Theme
	r := p.report
	if h <= 0 || w <= 0 {
		return ""
	}
	var foot []string
	if summary {
		foot = append(foot, "", th.Muted.Render(depLine(th, r)))
		if d := distLine(th, r); d != "" {
			foot = append(foot, th.Muted.Render(d))
		}
	} else {
		foot = append(foot, th.Muted.Render(depLine(th, r)))
	}
	title := "Depreciation " + th.Sym.Sep + " mean price by vehicle age"
	if h < 5 {
		return textblock.Lines(append([]string{th.Rulef(w, title)}, foot...), w, h)
	}
	if len(foot) > h-5 {
		foot = foot[:max(h-5, 0)]
	}
	plotH := h - 1 - len(foot) // minus the age axis line
	pts := finitePoints(r.Depreciation.ByAge)
	// The y axis starts a little under the cheapest age, not at 0: the
	// shape of the curve is what matters and the labels give the values.
	lower := math.Inf(1)
	for _, a := range pts {
		lower = min(lower, a.MeanPrice)
	}
	if math.IsInf(lower, 0) || lower < 0 {
		lower = 0
	}
	spec := graph.Spec{Title: title, W: w, H: plotH, Theme: th, Format: axisMoney, Lower: lower * 0.9,
		Series: []graph.Series{{Values: Resample(pts, w-gutter-1), Chars: th.Graph.Chars[0], Color: th.Graph.P50}}}
	lines := strings.Split(graph.Render(spec), "\n")
	axis := ""
	if len(pts) > 0 {
		lo, hi := age(pts[0].Age)+"y", age(pts[len(pts)-1].Age)+"y"
		mid := "vehicle age"
		span := w - gutter - 1
		if span >= len(lo)+len(hi)+len(mid)+4 {
			left := (span - len(mid)) / 2
			axis = strings.Repeat(" ", gutter) + lo + strings.Repeat(" ", max(left-len(lo), 1)) + mid +
				strings.Repeat(" ", max(span-left-len(mid)-len(hi), 1)) + hi
		} else if span >= len(lo)+len(hi)+1 {
			axis = strings.Repeat(" ", gutter) + lo + strings.Repeat(" ", span-len(lo)-len(hi)) + hi
		}
	}
	lines = append(lines, th.Muted.Render(axis))
	lines = append(lines, foot...)
	return textblock.Lines(lines, w, h)
}

func (p *Page) oppBlock(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	r := p.report
	rows := make([][]string, len(r.Opportunities))
	for i, o := range r.Opportunities {
		rows[i] = []string{o.Category, format.Thousands(float64(o.Count)), format.Money(o.AvgPrice),
			format.Money(o.PotentialValue), shortMoney(o.PotentialValue * float64(o.Count))}
	}
	title := th.Rulef(w, fmt.Sprintf("Opportunities %s %s undervalued (potential per car)", th.Sym.Sep, format.Thousands(float64(r.KPIs.TotalOpportunities))))
	if h == 1 {
		return textblock.Lines([]string{title}, w, h)
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows,
		Empty: "none under their category's Q25 at age 10 or less, 100k mi or less",
		Columns: []table.Column{{Title: "category", Width: 10}, {Title: "count", Width: 6, Right: true},
			{Title: "avg price", Width: 10, Right: true}, {Title: "potential", Width: 10, Right: true},
			{Title: "total", Width: 10, Right: true}}})
	return textblock.Stack(title, t)
}

// insightLines are the insights packed into lines of w cells, then the
// recommendations, each wrapped with a hanging indent.
func (p *Page) insightLines(w int) []string {
	th := p.Ctx.Theme
	r := p.report
	in := r.Insights
	parts := []string{
		th.Muted.Render("most popular ") + in.MostPopularBrand,
		th.Muted.Render("highest value ") + in.HighestValueBrand,
		th.Muted.Render("avg depreciation ") + format.Pct(in.AvgDepreciationRate) + "/yr",
	}
	sep := th.Muted.Render(" " + th.Sym.Sep + " ")
	var lines []string
	cur := ""
	for _, part := range parts {
		switch {
		case cur == "":
			cur = part
		case textblock.Width(cur)+textblock.Width(sep)+textblock.Width(part) <= w:
			cur += sep + part
		default:
			lines = append(lines, cur)
			cur = part
		}
	}
	lines = append(lines, cur)
	mark := th.Sym.Info + " "
	mw := textblock.Width(mark)
	for _, rec := range r.Recommendations {
		for i, l := range textblock.WrapLines(rec, max(w-mw, 1)) {
			if i == 0 {
				lines = append(lines, th.Accent.Render(mark)+l)
			} else {
				lines = append(lines, strings.Repeat(" ", mw)+l)
			}
		}
	}
	return lines
}

func (p *Page) insightsBlock(w, h int) string {
	if h <= 0 {
		return ""
	}
	return textblock.Lines(append([]string{p.Ctx.Theme.Rulef(w, "Insights")}, p.insightLines(w)...), w, h)
}

func (p *Page) volumeBlock(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	r := p.report
	top := 0
	for _, b := range r.Brands.Volume {
		top = max(top, b.Count)
	}
	total := float64(max(r.KPIs.TotalVehicles, 1))
	barW := max(w-2-12-2-8-2-6-2, 0)
	rows := make([][]string, len(r.Brands.Volume))
	for i, b := range r.Brands.Volume {
		rows[i] = []string{b.Brand, format.Thousands(float64(b.Count)), format.Pct(float64(b.Count) / total),
			th.Bar(float64(b.Count)/float64(max(top, 1)), barW, th.RefBar)}
	}
	title := th.Rulef(w, "Brands "+th.Sym.Sep+" top 10 by volume")
	if h == 1 {
		return textblock.Lines([]string{title}, w, h)
	}
	cols := []table.Column{{Title: "brand", Width: 12}, {Title: "listings", Width: 8, Right: true}, {Title: "share", Width: 6, Right: true}}
	if barW >= 4 {
		cols = append(cols, table.Column{Title: "", Width: barW})
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Empty: "no brands", Columns: cols})
	return textblock.Stack(title, t)
}

func (p *Page) pricingBlock(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	r := p.report
	rows := make([][]string, len(r.Brands.Pricing))
	for i, b := range r.Brands.Pricing {
		rows[i] = []string{b.Brand, format.Money(b.Mean), format.Money(b.Median), format.Thousands(float64(b.Count))}
	}
	title := th.Rulef(w, "Pricing "+th.Sym.Sep+" brands with 100+ listings")
	if h == 1 {
		return textblock.Lines([]string{title}, w, h)
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Empty: "no brand has 100 listings here",
		Columns: []table.Column{{Title: "brand", Width: 10}, {Title: "mean", Width: 8, Right: true},
			{Title: "median", Width: 8, Right: true}, {Title: "count", Width: 5, Right: true}}})
	return textblock.Stack(title, t)
}

// tabsLine names the panels of the single-column layout; the shown one is
// bracketed as well as highlighted, so it reads without colour.
func (p *Page) tabsLine(w int) string {
	th := p.Ctx.Theme
	var b strings.Builder
	for i, n := range panelNames {
		if i > 0 {
			b.WriteString(" ")
		}
		if i == p.panel {
			b.WriteString(th.TabActive.Render("[" + n + "]"))
		} else {
			b.WriteString(th.TabIdle.Render(" " + n + " "))
		}
	}
	hint := th.Muted.Render("  (v: next panel)")
	if textblock.Width(b.String())+textblock.Width(hint) <= w {
		b.WriteString(hint)
	}
	return textblock.Fit(b.String(), w)
}

func (p *Page) panelBlock(w, h int) string {
	if h <= 0 {
		return ""
	}
	switch p.panel {
	case panelBrands:
		r := p.report
		volH := min(2+max(len(r.Brands.Volume), 1), h)
		if w >= 76 {
			lw := (w - 2) / 2
			return textblock.Join(h, 2, textblock.Col{Text: p.volumeBlock(lw, h), W: lw},
				textblock.Col{Text: p.pricingBlock(w-2-lw, h), W: w - 2 - lw})
		}
		if h-volH-1 < 3 {
			volH = max((h-1)/2, 1)
		}
		return textblock.Block(textblock.Stack(p.volumeBlock(w, volH), "", p.pricingBlock(w, max(h-volH-1, 0))), w, h)
	case panelOpportunities:
		r := p.report
		oppH := min(2+max(len(r.Opportunities), 1), h)
		return textblock.Block(textblock.Stack(p.oppBlock(w, oppH), "", p.insightsBlock(w, max(h-oppH-1, 0))), w, h)
	}
	// Compact screens keep the curve short and leave room for the summary.
	gh := min(h, 24)
	if p.Compact {
		gh = min(h, 18)
	}
	return textblock.Block(p.graphBlock(w, gh, true), w, h)
}
