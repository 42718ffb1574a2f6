package market

import (
	"html/template"
	"io"
	"strconv"

	"carvision/engine"
)

// htmlPage is one self-contained file: inline CSS, inline SVG, no scripts,
// no external requests, so it can be mailed or archived as is.
var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"money":   money,
	"percent": percent,
	"count":   func(n int) string { return formatThousands(float64(n), 0) },
	"age":     func(a float64) string { return strconv.FormatFloat(a, 'f', -1, 64) },
	"inc":     func(i int) int { return i + 1 },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · reference year {{.R.ReferenceYear}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1f2933;background:#fff}
h1{margin:0 0 4px;font-size:1.6em}h2{margin:28px 0 10px;font-size:1.2em;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
.meta{color:#52606d;margin:2px 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin-top:16px}
.kpi{border:1px solid #d9e2ec;border-radius:8px;padding:12px}.kpi .l{color:#52606d;font-size:.85em}.kpi .v{font-size:1.4em;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
.chart{width:100%;height:auto;border:1px solid #d9e2ec;border-radius:8px;background:#fcfdfe}
.chart .ct{font-size:15px;font-weight:600;text-anchor:middle;fill:#1f2933}
.chart .al{font-size:11px;fill:#52606d}.chart .nd{font-size:16px;fill:#9aa5b1}
.chart .grid{stroke:#e4e7eb;stroke-width:1}.chart .bar{fill:#2f80ed}
.chart .curve{fill:none;stroke:#d64545;stroke-width:2}.chart .pt{fill:#d64545}
table{border-collapse:collapse;margin:6px 0 12px;min-width:320px}
th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f5f7fa}
.empty{color:#7b8794;font-style:italic}
footer{margin-top:32px;color:#7b8794;font-size:.85em}
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="meta">Reference year <strong>{{.R.ReferenceYear}}</strong> (vehicle_age = {{.R.ReferenceYear}} − model_year) · generated {{.Generated}}</p>
<p class="meta">Filter: {{.Filter}} · {{count .R.KPIs.TotalVehicles}} of {{count .R.InputRows}} cleaned listings</p>
</header>

<section class="kpis">
<div class="kpi"><div class="l">Total vehicles</div><div class="v">{{count .R.KPIs.TotalVehicles}}</div></div>
<div class="kpi"><div class="l">Average price</div><div class="v">{{money .R.KPIs.AveragePrice}}</div></div>
<div class="kpi"><div class="l">Total market value</div><div class="v">{{money .R.KPIs.TotalMarketValue}}</div></div>
<div class="kpi"><div class="l">Opportunities</div><div class="v">{{count .R.KPIs.TotalOpportunities}}</div></div>
<div class="kpi"><div class="l">Potential arbitrage value</div><div class="v">{{money .R.KPIs.PotentialArbitrageValue}}</div></div>
</section>

<h2>Insights</h2>
<ul>
<li>Most popular brand: <strong>{{.R.Insights.MostPopularBrand}}</strong></li>
<li>Highest value brand: <strong>{{.R.Insights.HighestValueBrand}}</strong></li>
<li>Average depreciation rate: <strong>{{percent .R.Insights.AvgDepreciationRate}}</strong> per year</li>
</ul>

<h2>Recommendations</h2>
<ol>{{range .R.Recommendations}}<li>{{.}}</li>{{end}}</ol>

<h2>Charts</h2>
<div class="charts">
{{.Histogram}}
{{.Depreciation}}
{{.Brands}}
{{.Opportunities}}
</div>

<h2>Opportunities</h2>
<p class="meta">Undervalued: price below the category's Q25, age ≤ 10 years, odometer ≤ 100,000 miles. Potential value = category median − average undervalued price.</p>
{{if .R.Opportunities}}<table>
<tr><th>Category</th><th>Count</th><th>Avg price</th><th>Potential value</th></tr>
{{range .R.Opportunities}}<tr><td>{{.Category}}</td><td>{{count .Count}}</td><td>{{money .AvgPrice}}</td><td>{{money .PotentialValue}}</td></tr>
{{end}}</table>{{else}}<p class="empty">No undervalued listings.</p>{{end}}

<h2>Price distribution</h2>
{{with .R.Distribution.Statistics}}<table>
<tr><th>Statistic</th><th>Value</th></tr>
<tr><td>count</td><td>{{count .Count}}</td></tr>
<tr><td>mean</td><td>{{money .Mean}}</td></tr>
<tr><td>median</td><td>{{money .Median}}</td></tr>
<tr><td>std</td><td>{{money .Std}}</td></tr>
<tr><td>min</td><td>{{money .Min}}</td></tr>
<tr><td>q25</td><td>{{money .Q25}}</td></tr>
<tr><td>q75</td><td>{{money .Q75}}</td></tr>
<tr><td>max</td><td>{{money .Max}}</td></tr>
</table>{{else}}<p class="empty">No prices.</p>{{end}}
{{if .R.Distribution.Categories}}<table>
<tr><th>Price category</th><th>Listings</th></tr>
{{range .R.Distribution.Categories}}<tr><td>{{.Category}}</td><td>{{count .Count}}</td></tr>
{{end}}</table>{{end}}

<h2>Brands</h2>
{{if .R.Brands.Volume}}<table>
<tr><th>Top brands by volume</th><th>Listings</th></tr>
{{range .R.Brands.Volume}}<tr><td>{{.Brand}}</td><td>{{count .Count}}</td></tr>
{{end}}</table>{{else}}<p class="empty">No brands.</p>{{end}}
{{if .R.Brands.Pricing}}<table>
<tr><th>Brand (≥ 100 listings)</th><th>Mean</th><th>Median</th><th>Listings</th></tr>
{{range .R.Brands.Pricing}}<tr><td>{{.Brand}}</td><td>{{money .Mean}}</td><td>{{money .Median}}</td><td>{{count .Count}}</td></tr>
{{end}}</table>{{else}}<p class="empty">No brand has 100 listings.</p>{{end}}

<h2>Depreciation by vehicle age</h2>
{{if .R.Depreciation.ByAge}}<table>
<tr><th>Age</th><th>Listings</th><th>Mean price</th><th>Annual rate</th></tr>
{{range .R.Depreciation.ByAge}}<tr><td>{{age .Age}}</td><td>{{count .Count}}</td><td>{{money .MeanPrice}}</td><td>{{percent .AnnualRate}}</td></tr>
{{end}}</table>{{else}}<p class="empty">No ages.</p>{{end}}

<footer>{{.Title}} · CarVision · reference year {{.R.ReferenceYear}} · {{.Generated}}</footer>
</body>
</html>
`))

type htmlData struct {
	Title, Generated, Filter string
	R                        engine.MarketReport
	Histogram, Depreciation  template.HTML
	Brands, Opportunities    template.HTML
}

// RenderHTML writes the report as one self-contained HTML file with inline
// CSS and SVG charts (price histogram, depreciation curve, top brands,
// opportunities). All report text is HTML-escaped.
func RenderHTML(w io.Writer, rep engine.MarketReport) error {
	d := htmlData{
		Title:     ReportTitle,
		Generated: fmtTime(rep.GeneratedAt),
		Filter:    describeFilter(rep.Filter),
		R:         rep,
	}
	bins := make([]histBin, len(rep.Distribution.Histogram))
	for i, b := range rep.Distribution.Histogram {
		bins[i] = histBin{lo: b.Lo, hi: b.Hi, count: b.Count}
	}
	d.Histogram = histogramSVG(bins, "Price distribution")
	var xs, ys []float64
	for _, a := range rep.Depreciation.ByAge {
		xs = append(xs, a.Age)
		ys = append(ys, a.MeanPrice)
	}
	d.Depreciation = lineSVG(xs, ys, "Mean price by vehicle age", "Vehicle age (years)", money)
	var brands []hbar
	for _, b := range rep.Brands.Volume {
		brands = append(brands, hbar{label: b.Brand, value: float64(b.Count), note: formatThousands(float64(b.Count), 0) + " listings"})
	}
	d.Brands = hbarsSVG(brands, "Top brands by volume", func(v float64) string { return formatThousands(v, 0) })
	var opps []hbar
	for _, o := range rep.Opportunities {
		opps = append(opps, hbar{label: o.Category, value: o.PotentialValue * float64(o.Count),
			note: formatThousands(float64(o.Count), 0) + " undervalued, " + money(o.PotentialValue) + " each"})
	}
	d.Opportunities = hbarsSVG(opps, "Opportunity value by price category", money)
	return htmlPage.Execute(w, d)
}
