// Package market turns cleaned listings into the market report (the original
// MarketAnalyzer's distribution, brands, depreciation, opportunities, KPIs,
// insights and recommendations) and holds the helpers that place one
// prediction in that market: price percentile and band, comparable listings
// and a split-conformal prediction interval.
package market

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
)

// Price category bounds, right-inclusive as pandas.cut made them:
// (0,10000] Budget, (10000,25000] Mid-Range, (25000,50000] Premium, (50000,∞) Luxury.
var categoryNames = [...]string{"Budget", "Mid-Range", "Premium", "Luxury"}

const (
	noCategory = -1
	// Thresholds of the original's opportunity rule.
	maxOpportunityAge      = 10
	maxOpportunityOdometer = 100000
	// Brand pricing keeps only brands with at least this many listings.
	minPricingCount = 100
	volumeTop       = 10
	histogramBins   = 50
	notAvailable    = "N/A"
)

func priceCategory(p float64) int {
	switch {
	case math.IsNaN(p) || p <= 0:
		return noCategory
	case p <= 10000:
		return 0
	case p <= 25000:
		return 1
	case p <= 50000:
		return 2
	default:
		return 3
	}
}

// Analyzer computes market reports; Now supplies the current year when the
// filter names no reference year (a fake clock in tests).
type Analyzer struct {
	Now func() time.Time
}

// Analyze computes the market report with the wall clock (see Analyzer.Analyze).
func Analyze(f *dataset.Frame, flt engine.MarketFilter) (engine.MarketReport, error) {
	return Analyzer{}.Analyze(f, flt)
}

// columns tells which optional columns the frame carries. The original
// skipped an analysis when its column was absent; a nil (or empty) slice is
// our absent column.
type columns struct {
	price, year, model, odometer bool
}

func presentColumns(f *dataset.Frame) (columns, error) {
	n := f.Len()
	check := func(name string, got int) (bool, error) {
		switch {
		case n == 0 || got == 0:
			return false, nil
		case got != n:
			return false, fmt.Errorf("market: column %s has %d values, frame %q has %d rows", name, got, f.Source, n)
		}
		return true, nil
	}
	var c columns
	var err error
	if c.price, err = check("price", len(f.Price)); err != nil {
		return c, err
	}
	if c.year, err = check("model_year", len(f.ModelYear)); err != nil {
		return c, err
	}
	if c.model, err = check("model", len(f.Model)); err != nil {
		return c, err
	}
	if c.odometer, err = check("odometer", len(f.Odometer)); err != nil {
		return c, err
	}
	return c, nil
}

// validateFilter rejects a filter that could only be a mistake, naming the field.
func validateFilter(flt engine.MarketFilter) error {
	switch {
	case flt.MinPrice < 0 || math.IsNaN(flt.MinPrice) || math.IsInf(flt.MinPrice, 0):
		return fmt.Errorf("market filter min_price %v: must be a finite number ≥ 0", flt.MinPrice)
	case flt.MaxPrice < 0 || math.IsNaN(flt.MaxPrice) || math.IsInf(flt.MaxPrice, 0):
		return fmt.Errorf("market filter max_price %v: must be a finite number ≥ 0", flt.MaxPrice)
	case flt.MaxPrice > 0 && flt.MinPrice > flt.MaxPrice:
		return fmt.Errorf("market filter min_price %v: greater than max_price %v", flt.MinPrice, flt.MaxPrice)
	case flt.MinYear < 0:
		return fmt.Errorf("market filter min_year %d: must be ≥ 0", flt.MinYear)
	case flt.MaxYear < 0:
		return fmt.Errorf("market filter max_year %d: must be ≥ 0", flt.MaxYear)
	case flt.MaxYear > 0 && flt.MinYear > flt.MaxYear:
		return fmt.Errorf("market filter min_year %d: greater than max_year %d", flt.MinYear, flt.MaxYear)
	case flt.Year != 0 && (flt.Year < 1900 || flt.Year > 2100):
		return fmt.Errorf("market filter year %d: reference year outside 1900..2100", flt.Year)
	}
	for i, b := range flt.Brands {
		if strings.TrimSpace(b) == "" {
			return fmt.Errorf("market filter brands[%d]: empty brand", i)
		}
	}
	return nil
}

// brandOf is the first whitespace token of model ("ford f-150" → "ford"),
// as pandas' str.split().str[0]; "" when model is blank.
func brandOf(model string) string {
	if fs := strings.Fields(model); len(fs) > 0 {
		return fs[0]
	}
	return ""
}

// Analyze filters f (price range, year range, brands; all inclusive, a zero
// bound is no bound), derives vehicle_age against the reference year (flt.Year,
// else the current year) and computes every analysis of the original
// MarketAnalyzer on the remaining rows. A missing (nil) column empties the
// analyses that need it without failing the report; a column whose length
// differs from the frame's, a bad filter, or a filter on an absent column is
// an error naming the field.
func (a Analyzer) Analyze(f *dataset.Frame, flt engine.MarketFilter) (engine.MarketReport, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	at := now()
	if err := validateFilter(flt); err != nil {
		return engine.MarketReport{}, err
	}
	if f == nil {
		f = &dataset.Frame{}
	}
	cols, err := presentColumns(f)
	if err != nil {
		return engine.MarketReport{}, err
	}
	ref := flt.Year
	if ref == 0 {
		ref = at.Year()
	}
	flt.Year = ref
	flt.Brands = slices.Clone(flt.Brands)

	// Brands repeat (100 models): derive each once.
	brands := make(map[string]string, 128)
	brand := func(i int) string {
		if !cols.model {
			return ""
		}
		m := f.Model[i]
		b, ok := brands[m]
		if !ok {
			b = brandOf(m)
			brands[m] = b
		}
		return b
	}

	idx, err := applyFilter(f, flt, cols, brand)
	if err != nil {
		return engine.MarketReport{}, err
	}

	rep := engine.MarketReport{
		ReferenceYear: ref,
		Filter:        flt,
		GeneratedAt:   at,
		InputRows:     f.Len(),
	}
	rep.KPIs.TotalVehicles = len(idx)
	rep.Distribution = distribution(f, idx, cols)
	if s := rep.Distribution.Statistics; s != nil {
		rep.KPIs.AveragePrice = s.Mean
	}
	if cols.price {
		var sum float64
		for _, i := range idx {
			if p := f.Price[i]; !math.IsNaN(p) {
				sum += p
			}
		}
		rep.KPIs.TotalMarketValue = sum
	}
	rep.Brands = brandTables(f, idx, cols, brand)
	rep.Depreciation = depreciation(f, idx, cols, float64(ref))
	rep.Opportunities = opportunities(f, idx, cols, float64(ref))
	for _, o := range rep.Opportunities {
		rep.KPIs.TotalOpportunities += o.Count
		rep.KPIs.PotentialArbitrageValue += o.PotentialValue * float64(o.Count)
	}
	rep.Insights = engine.MarketInsights{
		MostPopularBrand:    notAvailable,
		HighestValueBrand:   notAvailable,
		AvgDepreciationRate: rep.Depreciation.AverageRate,
	}
	if len(rep.Brands.Volume) > 0 {
		rep.Insights.MostPopularBrand = rep.Brands.Volume[0].Brand
	}
	if len(rep.Brands.Pricing) > 0 {
		rep.Insights.HighestValueBrand = rep.Brands.Pricing[0].Brand
	}
	rep.Recommendations = []string{
		fmt.Sprintf("Focus on %d undervalued vehicles for potential $%s profit",
			rep.KPIs.TotalOpportunities, formatThousands(rep.KPIs.PotentialArbitrageValue, 0)),
		fmt.Sprintf("Target %s brand for volume opportunities", rep.Insights.MostPopularBrand),
		"Implement dynamic pricing based on vehicle age and market conditions",
	}
	return rep, nil
}

// applyFilter returns the rows that pass every set bound, in frame order.
// NaN never passes a set bound (pandas compared NaN as false).
func applyFilter(f *dataset.Frame, flt engine.MarketFilter, cols columns, brand func(int) string) ([]int, error) {
	priceSet := flt.MinPrice > 0 || flt.MaxPrice > 0
	yearSet := flt.MinYear > 0 || flt.MaxYear > 0
	if priceSet && !cols.price && f.Len() > 0 {
		return nil, fmt.Errorf("market filter min_price/max_price: frame %q has no price column", f.Source)
	}
	if yearSet && !cols.year && f.Len() > 0 {
		return nil, fmt.Errorf("market filter min_year/max_year: frame %q has no model_year column", f.Source)
	}
	if len(flt.Brands) > 0 && !cols.model && f.Len() > 0 {
		return nil, fmt.Errorf("market filter brands: frame %q has no model column", f.Source)
	}
	var want map[string]bool
	if len(flt.Brands) > 0 {
		want = make(map[string]bool, len(flt.Brands))
		for _, b := range flt.Brands {
			want[strings.ToLower(strings.TrimSpace(b))] = true
		}
	}
	maxPrice := math.Inf(1)
	if flt.MaxPrice > 0 {
		maxPrice = flt.MaxPrice
	}
	maxYear := math.Inf(1)
	if flt.MaxYear > 0 {
		maxYear = float64(flt.MaxYear)
	}
	idx := make([]int, 0, f.Len())
	for i := range f.Len() {
		if priceSet {
			p := f.Price[i]
			if !(p >= flt.MinPrice && p <= maxPrice) {
				continue
			}
		}
		if yearSet {
			y := f.ModelYear[i]
			if !(y >= float64(flt.MinYear) && y <= maxYear) {
				continue
			}
		}
		if want != nil && !want[strings.ToLower(brand(i))] {
			continue
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// categoriesPresent mirrors the original: price_category was derived only
// when both price and odometer existed.
func categoriesPresent(cols columns) bool { return cols.price && cols.odometer }

func distribution(f *dataset.Frame, idx []int, cols columns) engine.MarketDistribution {
	d := engine.MarketDistribution{Categories: []engine.CategoryCount{}, Histogram: []engine.HistogramBin{}}
	if !cols.price {
		return d
	}
	prices := make([]float64, 0, len(idx))
	var counts [len(categoryNames)]int
	for _, i := range idx {
		p := f.Price[i]
		if math.IsNaN(p) {
			continue
		}
		prices = append(prices, p)
		if c := priceCategory(p); c != noCategory {
			counts[c]++
		}
	}
	if categoriesPresent(cols) {
		for c, name := range categoryNames {
			d.Categories = append(d.Categories, engine.CategoryCount{Category: name, Count: counts[c]})
		}
	}
	if len(prices) == 0 {
		return d
	}
	m := mean(prices)
	slices.Sort(prices)
	d.Statistics = &engine.PriceStats{
		Count:  len(prices),
		Mean:   m,
		Median: quantileSorted(prices, 0.5),
		Std:    sampleStd(prices, m),
		Min:    prices[0],
		Max:    prices[len(prices)-1],
		Q25:    quantileSorted(prices, 0.25),
		Q75:    quantileSorted(prices, 0.75),
	}
	d.Histogram = histogram(prices, histogramBins)
	return d
}

// histogram counts ascending values into equal-width bins over [min, max].
func histogram(sorted []float64, bins int) []engine.HistogramBin {
	lo, hi := sorted[0], sorted[len(sorted)-1]
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return []engine.HistogramBin{}
	}
	if hi == lo {
		return []engine.HistogramBin{{Lo: lo, Hi: hi, Count: len(sorted)}}
	}
	w := (hi - lo) / float64(bins)
	out := make([]engine.HistogramBin, bins)
	for b := range out {
		out[b].Lo = lo + float64(b)*w
		out[b].Hi = lo + float64(b+1)*w
	}
	out[bins-1].Hi = hi
	for _, v := range sorted {
		b := int((v - lo) / w)
		if b >= bins {
			b = bins - 1
		}
		out[b].Count++
	}
	return out
}

func brandTables(f *dataset.Frame, idx []int, cols columns, brand func(int) string) engine.MarketBrands {
	out := engine.MarketBrands{Volume: []engine.BrandCount{}, Pricing: []engine.BrandPrice{}}
	if !cols.model {
		return out
	}
	type group struct {
		name   string
		rows   int
		prices []float64
	}
	pos := map[string]int{}
	var groups []*group
	for _, i := range idx {
		b := brand(i)
		if b == "" {
			continue
		}
		k, ok := pos[b]
		if !ok {
			k = len(groups)
			pos[b] = k
			groups = append(groups, &group{name: b})
		}
		g := groups[k]
		g.rows++
		if cols.price && !math.IsNaN(f.Price[i]) {
			g.prices = append(g.prices, f.Price[i])
		}
	}
	for _, g := range groups {
		out.Volume = append(out.Volume, engine.BrandCount{Brand: g.name, Count: g.rows})
	}
	slices.SortFunc(out.Volume, func(a, b engine.BrandCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Brand, b.Brand)
	})
	if len(out.Volume) > volumeTop {
		out.Volume = out.Volume[:volumeTop]
	}
	if !cols.price {
		return out
	}
	for _, g := range groups {
		if len(g.prices) < minPricingCount {
			continue
		}
		m := mean(g.prices)
		slices.Sort(g.prices)
		out.Pricing = append(out.Pricing, engine.BrandPrice{
			Brand:  g.name,
			Mean:   math.RoundToEven(m), // pandas .round(0) rounds half to even
			Median: math.RoundToEven(quantileSorted(g.prices, 0.5)),
			Count:  len(g.prices),
		})
	}
	slices.SortFunc(out.Pricing, func(a, b engine.BrandPrice) int {
		if c := cmp.Compare(b.Mean, a.Mean); c != 0 {
			return c
		}
		return strings.Compare(a.Brand, b.Brand)
	})
	return out
}

func depreciation(f *dataset.Frame, idx []int, cols columns, ref float64) engine.MarketDepreciation {
	d := engine.MarketDepreciation{ByAge: []engine.AgePrice{}}
	if !cols.price || !cols.year {
		return d
	}
	type acc struct {
		sum float64
		n   int
	}
	byAge := map[float64]*acc{}
	for _, i := range idx {
		y, p := f.ModelYear[i], f.Price[i]
		if math.IsNaN(y) || math.IsNaN(p) {
			continue
		}
		age := ref - y
		a := byAge[age]
		if a == nil {
			a = &acc{}
			byAge[age] = a
		}
		a.sum += p
		a.n++
	}
	ages := make([]float64, 0, len(byAge))
	for age := range byAge {
		ages = append(ages, age)
	}
	slices.Sort(ages)
	var rateSum float64
	for k, age := range ages {
		a := byAge[age]
		row := engine.AgePrice{Age: age, Count: a.n, MeanPrice: a.sum / float64(a.n)}
		if k > 0 {
			prev := d.ByAge[k-1].MeanPrice
			if prev != 0 {
				row.AnnualRate = -(row.MeanPrice - prev) / prev
			}
		}
		rateSum += row.AnnualRate
		d.ByAge = append(d.ByAge, row)
	}
	if len(d.ByAge) > 0 {
		d.AverageRate = rateSum / float64(len(d.ByAge))
	}
	return d
}

func opportunities(f *dataset.Frame, idx []int, cols columns, ref float64) []engine.MarketOpportunity {
	out := []engine.MarketOpportunity{}
	if !categoriesPresent(cols) || !cols.year {
		return out
	}
	var order []int
	var prices [len(categoryNames)][]float64
	rowCat := make([]int8, len(idx))
	for k, i := range idx {
		c := priceCategory(f.Price[i])
		rowCat[k] = int8(c)
		if c == noCategory {
			continue
		}
		if prices[c] == nil {
			order = append(order, c)
		}
		prices[c] = append(prices[c], f.Price[i])
	}
	var q25 [len(categoryNames)]float64
	for _, c := range order {
		slices.Sort(prices[c])
		q25[c] = quantileSorted(prices[c], 0.25)
	}
	var sum [len(categoryNames)]float64
	var count [len(categoryNames)]int
	for k, i := range idx {
		c := int(rowCat[k])
		if c == noCategory {
			continue
		}
		p, age, odo := f.Price[i], ref-f.ModelYear[i], f.Odometer[i]
		if p < q25[c] && age <= maxOpportunityAge && odo <= maxOpportunityOdometer {
			sum[c] += p
			count[c]++
		}
	}
	for _, c := range order {
		if count[c] == 0 {
			continue
		}
		avg := sum[c] / float64(count[c])
		out = append(out, engine.MarketOpportunity{
			Category:       categoryNames[c],
			Count:          count[c],
			AvgPrice:       avg,
			PotentialValue: quantileSorted(prices[c], 0.5) - avg,
		})
	}
	return out
}
