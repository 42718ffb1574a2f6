package market

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"carvision/engine"
)

// ReportTitle heads every rendering of the report.
const ReportTitle = "CarVision Market Intelligence Report"

// section is one block of the report, shared by the table and markdown
// renderers so both always show the same content.
type section struct {
	title  string
	pairs  [][2]string // label, value
	header []string    // table columns; the first is left-aligned, the others right
	rows   [][]string
	list   []string // numbered lines
	empty  string   // shown when a table has no rows
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func describeFilter(flt engine.MarketFilter) string {
	bound := func(lo, hi string) string {
		switch {
		case lo == "" && hi == "":
			return "any"
		case hi == "":
			return "≥ " + lo
		case lo == "":
			return "≤ " + hi
		}
		return lo + " – " + hi
	}
	var plo, phi, ylo, yhi string
	if flt.MinPrice > 0 {
		plo = money(flt.MinPrice)
	}
	if flt.MaxPrice > 0 {
		phi = money(flt.MaxPrice)
	}
	if flt.MinYear > 0 {
		ylo = strconv.Itoa(flt.MinYear)
	}
	if flt.MaxYear > 0 {
		yhi = strconv.Itoa(flt.MaxYear)
	}
	brands := "all"
	if len(flt.Brands) > 0 {
		brands = strings.Join(flt.Brands, ", ")
	}
	return fmt.Sprintf("price %s · model years %s · brands %s", bound(plo, phi), bound(ylo, yhi), brands)
}

func num(v float64) string { return formatThousands(v, 0) }

func sections(rep engine.MarketReport) []section {
	var out []section
	out = append(out, section{pairs: [][2]string{
		{"Reference year", fmt.Sprintf("%d (vehicle_age = %d − model_year)", rep.ReferenceYear, rep.ReferenceYear)},
		{"Generated", fmtTime(rep.GeneratedAt)},
		{"Filter", describeFilter(rep.Filter)},
		{"Listings", fmt.Sprintf("%d of %d cleaned", rep.KPIs.TotalVehicles, rep.InputRows)},
	}})
	k := rep.KPIs
	out = append(out, section{title: "KPIs", pairs: [][2]string{
		{"Total vehicles", formatThousands(float64(k.TotalVehicles), 0)},
		{"Average price", money(k.AveragePrice)},
		{"Total market value", money(k.TotalMarketValue)},
		{"Opportunities", formatThousands(float64(k.TotalOpportunities), 0)},
		{"Potential arbitrage value", money(k.PotentialArbitrageValue)},
	}})
	in := rep.Insights
	out = append(out, section{title: "Insights", pairs: [][2]string{
		{"Most popular brand", in.MostPopularBrand},
		{"Highest value brand", in.HighestValueBrand},
		{"Average depreciation rate", percent(in.AvgDepreciationRate) + " per year"},
	}})
	out = append(out, section{title: "Recommendations", list: rep.Recommendations})

	dist := section{title: "Price distribution", header: []string{"statistic", "value"}, empty: "no prices"}
	if s := rep.Distribution.Statistics; s != nil {
		dist.rows = [][]string{
			{"count", formatThousands(float64(s.Count), 0)},
			{"mean", money(s.Mean)},
			{"median", money(s.Median)},
			{"std", money(s.Std)},
			{"min", money(s.Min)},
			{"q25", money(s.Q25)},
			{"q75", money(s.Q75)},
			{"max", money(s.Max)},
		}
	}
	out = append(out, dist)
	cats := section{title: "Price categories", header: []string{"category", "range", "listings"}, empty: "no categories (needs price and odometer)"}
	ranges := map[string]string{"Budget": "up to $10,000", "Mid-Range": "over $10,000 to $25,000", "Premium": "over $25,000 to $50,000", "Luxury": "over $50,000"}
	for _, c := range rep.Distribution.Categories {
		cats.rows = append(cats.rows, []string{c.Category, ranges[c.Category], formatThousands(float64(c.Count), 0)})
	}
	out = append(out, cats)

	vol := section{title: "Top brands by volume", header: []string{"brand", "listings"}, empty: "no brands"}
	for _, b := range rep.Brands.Volume {
		vol.rows = append(vol.rows, []string{b.Brand, formatThousands(float64(b.Count), 0)})
	}
	out = append(out, vol)
	pr := section{title: "Brand pricing (brands with ≥ 100 listings)", header: []string{"brand", "mean", "median", "listings"}, empty: "no brand has 100 listings"}
	for _, b := range rep.Brands.Pricing {
		pr.rows = append(pr.rows, []string{b.Brand, money(b.Mean), money(b.Median), formatThousands(float64(b.Count), 0)})
	}
	out = append(out, pr)

	dep := section{title: fmt.Sprintf("Depreciation by vehicle age (average rate %s per year)", percent(rep.Depreciation.AverageRate)),
		header: []string{"age", "listings", "mean price", "annual rate"}, empty: "no ages (needs price and model_year)"}
	for _, a := range rep.Depreciation.ByAge {
		dep.rows = append(dep.rows, []string{strconv.FormatFloat(a.Age, 'f', -1, 64), formatThousands(float64(a.Count), 0), money(a.MeanPrice), percent(a.AnnualRate)})
	}
	out = append(out, dep)

	opp := section{title: "Opportunities (price below the category's Q25, age ≤ 10, odometer ≤ 100,000)",
		header: []string{"category", "count", "avg price", "potential value"}, empty: "no undervalued listings"}
	for _, o := range rep.Opportunities {
		opp.rows = append(opp.rows, []string{o.Category, formatThousands(float64(o.Count), 0), money(o.AvgPrice), money(o.PotentialValue)})
	}
	out = append(out, opp)
	return out
}

// printable replaces control characters so listing text cannot drive the terminal.
func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// errWriter remembers the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, a...)
}

// RenderTable writes the report as aligned plain-text tables for a terminal.
func RenderTable(w io.Writer, rep engine.MarketReport) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n%s\n", ReportTitle, strings.Repeat("=", len([]rune(ReportTitle))))
	for _, s := range sections(rep) {
		if s.title != "" {
			ew.printf("\n%s\n", printable(s.title))
		}
		switch {
		case s.pairs != nil:
			lw := tabwriter.NewWriter(ew.writer(), 0, 0, 2, ' ', 0)
			for _, p := range s.pairs {
				fmt.Fprintf(lw, "  %s\t%s\n", printable(p[0]), printable(p[1]))
			}
			ew.note(lw.Flush())
		case s.list != nil:
			for i, l := range s.list {
				ew.printf("  %d. %s\n", i+1, printable(l))
			}
		case len(s.rows) == 0:
			ew.printf("  (%s)\n", s.empty)
		default:
			tw := tabwriter.NewWriter(ew.writer(), 0, 0, 2, ' ', tabwriter.AlignRight)
			// AlignRight right-aligns every column; pad the first column's
			// cells to its width so labels stay left-aligned.
			first := len([]rune(s.header[0]))
			for _, r := range s.rows {
				first = max(first, len([]rune(printable(r[0]))))
			}
			line := func(cells []string) {
				var b strings.Builder
				for c, cell := range cells {
					cell = printable(cell)
					if c == 0 {
						b.WriteString(cell + strings.Repeat(" ", first-len([]rune(cell))) + "\t")
						continue
					}
					b.WriteString(cell + "\t")
				}
				b.WriteString("\n")
				fmt.Fprint(tw, b.String())
			}
			hdr := make([]string, len(s.header))
			for c, h := range s.header {
				hdr[c] = strings.ToUpper(h)
			}
			line(hdr)
			for _, r := range s.rows {
				line(r)
			}
			ew.note(tw.Flush())
		}
	}
	return ew.err
}

func (e *errWriter) writer() io.Writer { return writerFunc(e.write) }

func (e *errWriter) write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) note(err error) {
	if e.err == nil {
		e.err = err
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// mdCell escapes what would break a markdown table cell.
func mdCell(s string) string {
	s = printable(s)
	r := strings.NewReplacer("|", `\|`, "\\", `\\`, "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// RenderMarkdown writes the report as GitHub-flavoured markdown.
func RenderMarkdown(w io.Writer, rep engine.MarketReport) error {
	ew := &errWriter{w: w}
	ew.printf("# %s\n", ReportTitle)
	for _, s := range sections(rep) {
		if s.title != "" {
			ew.printf("\n## %s\n\n", mdCell(s.title))
		} else {
			ew.printf("\n")
		}
		switch {
		case s.pairs != nil:
			for _, p := range s.pairs {
				ew.printf("- **%s:** %s\n", mdCell(p[0]), mdCell(p[1]))
			}
		case s.list != nil:
			for i, l := range s.list {
				ew.printf("%d. %s\n", i+1, mdCell(l))
			}
		case len(s.rows) == 0:
			ew.printf("_%s_\n", mdCell(s.empty))
		default:
			ew.printf("|")
			for _, h := range s.header {
				ew.printf(" %s |", mdCell(h))
			}
			ew.printf("\n|")
			for c := range s.header {
				if c == 0 {
					ew.printf(" --- |")
				} else {
					ew.printf(" ---: |")
				}
			}
			ew.printf("\n")
			for _, r := range s.rows {
				ew.printf("|")
				for _, cell := range r {
					ew.printf(" %s |", mdCell(cell))
				}
				ew.printf("\n")
			}
		}
	}
	return ew.err
}
