package market

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
)

// fixtureRows is the 15-listing market every hand computation below refers
// to. Ages are against reference year 2024.
//
//	r   price  year  model                odometer  age  category
//	0   15000  2017  ford f-150            70000     7   Mid-Range  (first row: Mid-Range appears first)
//	1    4000  2016  ford f-150            90000     8   Budget
//	2    6000  2018  ford focus            80000     6   Budget
//	3    8000  2010  toyota camry         150000    14   Budget
//	4   10000  2020  honda civic           30000     4   Budget     (10000 is Budget: right-inclusive)
//	5    3000  2015  ford focus            95000     9   Budget
//	6   12000  2019  toyota rav4           40000     5   Mid-Range
//	7   20000  2020  honda accord          20000     4   Mid-Range
//	8   25000  2021  toyota camry          10000     3   Mid-Range  (25000 is Mid-Range)
//	9   11000  2014  chevrolet silverado  100000    10   Mid-Range  (age 10, odometer 100000: both inclusive)
//	10  30000  2022  ford f-150            15000     2   Premium
//	11  45000  2023  bmw x5                 5000     1   Premium
//	12  60000  2023  mercedes-benz gle      3000     1   Luxury
//	13   3100  2016  honda civic             NaN     8   Budget     (NaN odometer: never undervalued)
//	14  10500  2013  chevrolet silverado   50000    11   Mid-Range  (age 11: too old)
var fixtureRows = []row{
	{15000, 2017, "ford f-150", 70000, "good", 10},
	{4000, 2016, "ford f-150", 90000, "fair", 20},
	{6000, 2018, "ford focus", 80000, "good", 30},
	{8000, 2010, "toyota camry", 150000, "fair", 40},
	{10000, 2020, "honda civic", 30000, "excellent", 5},
	{3000, 2015, "ford focus", 95000, "salvage", 60},
	{12000, 2019, "toyota rav4", 40000, "excellent", 15},
	{20000, 2020, "honda accord", 20000, "like new", 25},
	{25000, 2021, "toyota camry", 10000, "excellent", 35},
	{11000, 2014, "chevrolet silverado", 100000, "good", 45},
	{30000, 2022, "ford f-150", 15000, "like new", 12},
	{45000, 2023, "bmw x5", 5000, "new", 3},
	{60000, 2023, "mercedes-benz gle", 3000, "new", 7},
	{3100, 2016, "honda civic", nan, "good", 50},
	{10500, 2013, "chevrolet silverado", 50000, "good", 45},
}

func analyzeFixture(t *testing.T, flt engine.MarketFilter) engine.MarketReport {
	t.Helper()
	rep, err := Analyzer{Now: fixedClock}.Analyze(frameOf(fixtureRows), flt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestDistribution(t *testing.T) {
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2024})
	s := rep.Distribution.Statistics
	if s == nil {
		t.Fatal("no statistics")
	}
	// Sorted: 3000 3100 4000 6000 8000 10000 10500 11000 12000 15000 20000 25000 30000 45000 60000.
	// Σ = 262600, n = 15 → mean 17506.67. Median = 8th = 11000.
	// q25: h = 14·0.25 = 3.5 → 6000 + 0.5·(8000−6000) = 7000.
	// q75: h = 14·0.75 = 10.5 → 20000 + 0.5·(25000−20000) = 22500.
	// Σx² = 8384.86e6 → std = sqrt((Σx² − (Σx)²/n)/(n−1)).
	if s.Count != 15 {
		t.Errorf("count = %d, want 15", s.Count)
	}
	approx(t, "mean", s.Mean, 262600.0/15, 1e-9)
	approx(t, "median", s.Median, 11000, 0)
	approx(t, "q25", s.Q25, 7000, 1e-9)
	approx(t, "q75", s.Q75, 22500, 1e-9)
	approx(t, "min", s.Min, 3000, 0)
	approx(t, "max", s.Max, 60000, 0)
	approx(t, "std", s.Std, math.Sqrt((8384.86e6-262600.0*262600.0/15)/14), 1e-6)

	// Budget ≤ 10000: 4000 6000 8000 10000 3000 3100 → 6; Mid-Range: 15000 12000 20000 25000 11000 10500 → 6;
	// Premium: 30000 45000 → 2; Luxury: 60000 → 1.
	wantCats := []engine.CategoryCount{{Category: "Budget", Count: 6}, {Category: "Mid-Range", Count: 6},
		{Category: "Premium", Count: 2}, {Category: "Luxury", Count: 1}}
	if !reflect.DeepEqual(rep.Distribution.Categories, wantCats) {
		t.Errorf("categories = %v, want %v", rep.Distribution.Categories, wantCats)
	}
	// 50 bins of (60000−3000)/50 = 1140: 3000, 3100 and 4000 fall in bin 0 (< 4140); 60000 in the last.
	h := rep.Distribution.Histogram
	if len(h) != 50 || h[0].Count != 3 || h[49].Count != 1 || h[0].Lo != 3000 || h[49].Hi != 60000 {
		t.Errorf("histogram: %d bins, first %+v, last %+v", len(h), h[0], h[len(h)-1])
	}
	total := 0
	for _, b := range h {
		total += b.Count
	}
	if total != 15 {
		t.Errorf("histogram holds %d prices, want 15", total)
	}
}

func TestBrandVolume(t *testing.T) {
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2024})
	// ford r0 r1 r2 r5 r10 = 5; honda r4 r7 r13 = 3; toyota r3 r6 r8 = 3 (tie: by name);
	// chevrolet r9 r14 = 2; bmw 1, mercedes-benz 1 (tie: by name).
	want := []engine.BrandCount{{Brand: "ford", Count: 5}, {Brand: "honda", Count: 3}, {Brand: "toyota", Count: 3},
		{Brand: "chevrolet", Count: 2}, {Brand: "bmw", Count: 1}, {Brand: "mercedes-benz", Count: 1}}
	if !reflect.DeepEqual(rep.Brands.Volume, want) {
		t.Errorf("volume = %v, want %v", rep.Brands.Volume, want)
	}
	if len(rep.Brands.Pricing) != 0 || rep.Insights.HighestValueBrand != "N/A" {
		t.Errorf("no brand has 100 listings: pricing %v, highest %q", rep.Brands.Pricing, rep.Insights.HighestValueBrand)
	}
	if rep.Insights.MostPopularBrand != "ford" {
		t.Errorf("most popular = %q, want ford", rep.Insights.MostPopularBrand)
	}
}

func TestBrandVolumeTopTen(t *testing.T) {
	// mid 7, alpha 5, zeta 5, c1..c9 one each: 12 brands, the top 10 are
	// mid, alpha, zeta (tie by name) and c1..c7 (ties by name).
	var rows []row
	add := func(brand string, n int) {
		for range n {
			rows = append(rows, row{5000, 2015, brand + " x", 50000, "good", 1})
		}
	}
	add("zeta", 5)
	add("mid", 7)
	add("alpha", 5)
	for i := 9; i >= 1; i-- {
		add(fmt.Sprintf("c%d", i), 1)
	}
	rep, err := Analyzer{Now: fixedClock}.Analyze(frameOf(rows), engine.MarketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range rep.Brands.Volume {
		got = append(got, fmt.Sprintf("%s:%d", b.Brand, b.Count))
	}
	want := "mid:7 alpha:5 zeta:5 c1:1 c2:1 c3:1 c4:1 c5:1 c6:1 c7:1"
	if strings.Join(got, " ") != want {
		t.Errorf("volume = %s, want %s", strings.Join(got, " "), want)
	}
}

func TestBrandPricing(t *testing.T) {
	// aaa: 50×1000 + 50×1001 → mean 1000.5, median 1000.5; both round half to even → 1000.
	// zzz: 60×1000 + 40×999 → mean 999.6 → 1000; median 1000. Ties aaa on 1000: by name.
	// mmm: 60×1001 + 60×1002 → mean 1001.5 → 1002, median 1001.5 → 1002.
	// small: 99×5000 → fewer than 100 listings: left out although the dearest.
	var rows []row
	add := func(brand string, n int, price float64) {
		for range n {
			rows = append(rows, row{price, 2015, brand + " model", 50000, "good", 1})
		}
	}
	add("aaa", 50, 1000)
	add("zzz", 60, 1000)
	add("mmm", 60, 1001)
	add("aaa", 50, 1001)
	add("zzz", 40, 999)
	add("mmm", 60, 1002)
	add("small", 99, 5000)
	rep, err := Analyzer{Now: fixedClock}.Analyze(frameOf(rows), engine.MarketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.BrandPrice{
		{Brand: "mmm", Mean: 1002, Median: 1002, Count: 120},
		{Brand: "aaa", Mean: 1000, Median: 1000, Count: 100},
		{Brand: "zzz", Mean: 1000, Median: 1000, Count: 100},
	}
	if !reflect.DeepEqual(rep.Brands.Pricing, want) {
		t.Errorf("pricing = %+v\nwant      %+v", rep.Brands.Pricing, want)
	}
	if rep.Insights.HighestValueBrand != "mmm" || rep.Insights.MostPopularBrand != "mmm" {
		t.Errorf("insights = %+v", rep.Insights)
	}
}

func TestDepreciation(t *testing.T) {
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2024})
	// Mean price per age (2024 − model_year), ascending:
	// 1: (45000+60000)/2 = 52500   2: 30000   3: 25000   4: (10000+20000)/2 = 15000
	// 5: 12000   6: 6000   7: 15000   8: (4000+3100)/2 = 3550   9: 3000   10: 11000
	// 11: 10500   14: 8000   (12 and 13 absent: rates compare consecutive present ages)
	// annual_rate = −(m_i/m_{i−1} − 1) = 1 − m_i/m_{i−1}; first 0.
	type ap struct{ age, n, mean float64 }
	want := []ap{{1, 2, 52500}, {2, 1, 30000}, {3, 1, 25000}, {4, 2, 15000}, {5, 1, 12000}, {6, 1, 6000},
		{7, 1, 15000}, {8, 2, 3550}, {9, 1, 3000}, {10, 1, 11000}, {11, 1, 10500}, {14, 1, 8000}}
	rates := []float64{0, 1 - 30000.0/52500, 1 - 25000.0/30000, 1 - 15000.0/25000, 1 - 12000.0/15000,
		1 - 6000.0/12000, 1 - 15000.0/6000, 1 - 3550.0/15000, 1 - 3000.0/3550, 1 - 11000.0/3000,
		1 - 10500.0/11000, 1 - 8000.0/10500}
	got := rep.Depreciation.ByAge
	if len(got) != len(want) {
		t.Fatalf("by_age has %d ages, want %d: %+v", len(got), len(want), got)
	}
	var sum float64
	for i, w := range want {
		if got[i].Age != w.age || float64(got[i].Count) != w.n {
			t.Errorf("by_age[%d] = age %v count %d, want age %v count %v", i, got[i].Age, got[i].Count, w.age, w.n)
		}
		approx(t, fmt.Sprintf("mean price at age %v", w.age), got[i].MeanPrice, w.mean, 1e-9)
		approx(t, fmt.Sprintf("annual rate at age %v", w.age), got[i].AnnualRate, rates[i], 1e-12)
		sum += rates[i]
	}
	// Average over all 12 rates, the leading 0 included.
	approx(t, "average rate", rep.Depreciation.AverageRate, sum/12, 1e-12)
	approx(t, "insight avg rate", rep.Insights.AvgDepreciationRate, sum/12, 1e-12)
}

func TestOpportunitiesAndKPIs(t *testing.T) {
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2024})
	// In order of first appearance: Mid-Range (r0), Budget (r1), Premium (r10), Luxury (r12).
	// Mid-Range: 10500 11000 12000 15000 20000 25000; q25 h=1.25 → 11000+0.25·1000 = 11250; median 13500.
	//   below q25: 10500 (age 11 ✗), 11000 (age 10 ✓, odometer 100000 ✓) → 1 at 11000, potential 2500.
	// Budget: 3000 3100 4000 6000 8000 10000; q25 h=1.25 → 3100+0.25·900 = 3325; median 5000.
	//   below q25: 3000 (age 9, 95000 ✓), 3100 (NaN odometer ✗) → 1 at 3000, potential 2000.
	// Premium: 30000 45000; q25 = 30000+0.25·15000 = 33750; median 37500.
	//   below: 30000 (age 2, 15000 ✓) → 1 at 30000, potential 7500.
	// Luxury: 60000 alone; q25 = 60000, nothing strictly below → not emitted.
	want := []engine.MarketOpportunity{
		{Category: "Mid-Range", Count: 1, AvgPrice: 11000, PotentialValue: 2500},
		{Category: "Budget", Count: 1, AvgPrice: 3000, PotentialValue: 2000},
		{Category: "Premium", Count: 1, AvgPrice: 30000, PotentialValue: 7500},
	}
	if !reflect.DeepEqual(rep.Opportunities, want) {
		t.Errorf("opportunities = %+v\nwant %+v", rep.Opportunities, want)
	}
	// KPIs: 15 vehicles, Σ price 262600, mean 17506.67, 3 opportunities,
	// arbitrage 2500·1 + 2000·1 + 7500·1 = 12000.
	k := rep.KPIs
	if k.TotalVehicles != 15 || k.TotalOpportunities != 3 {
		t.Errorf("kpis = %+v", k)
	}
	approx(t, "average price", k.AveragePrice, 262600.0/15, 1e-9)
	approx(t, "total market value", k.TotalMarketValue, 262600, 0)
	approx(t, "arbitrage", k.PotentialArbitrageValue, 12000, 1e-9)
	wantRec := []string{
		"Focus on 3 undervalued vehicles for potential $12,000 profit",
		"Target ford brand for volume opportunities",
		"Implement dynamic pricing based on vehicle age and market conditions",
	}
	if !reflect.DeepEqual(rep.Recommendations, wantRec) {
		t.Errorf("recommendations = %q", rep.Recommendations)
	}
}

func TestReferenceYear(t *testing.T) {
	// With 2030 every age grows by 6: r9 (16), r5 (15) are too old now; r10 is 8 → still in.
	// Premium alone: 1 at 30000, potential 7500.
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2030})
	if rep.ReferenceYear != 2030 || rep.Filter.Year != 2030 {
		t.Errorf("reference year = %d (filter %d), want 2030", rep.ReferenceYear, rep.Filter.Year)
	}
	if rep.KPIs.TotalOpportunities != 1 || rep.KPIs.PotentialArbitrageValue != 7500 {
		t.Errorf("kpis with 2030 = %+v", rep.KPIs)
	}
	if rep.Depreciation.ByAge[0].Age != 7 {
		t.Errorf("youngest age with 2030 = %v, want 7", rep.Depreciation.ByAge[0].Age)
	}
	// Year 0 → the clock's year (2024 here), written into the report and every rendering.
	rep0, err := Analyzer{Now: func() time.Time { return time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC) }}.Analyze(frameOf(fixtureRows), engine.MarketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if rep0.ReferenceYear != 2027 {
		t.Errorf("default reference year = %d, want the clock's 2027", rep0.ReferenceYear)
	}
	for name, render := range map[string]func(*strings.Builder) error{
		"table":    func(b *strings.Builder) error { return RenderTable(b, rep0) },
		"markdown": func(b *strings.Builder) error { return RenderMarkdown(b, rep0) },
		"html":     func(b *strings.Builder) error { return RenderHTML(b, rep0) },
	} {
		var b strings.Builder
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "2027") {
			t.Errorf("%s rendering does not show the reference year 2027", name)
		}
	}
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name  string
		flt   engine.MarketFilter
		count int
	}{
		// [10000, 25000] inclusive: 15000 10000 12000 20000 25000 11000 10500.
		{"price range inclusive", engine.MarketFilter{MinPrice: 10000, MaxPrice: 25000}, 7},
		// ≥ 30000: 30000 45000 60000.
		{"min price only", engine.MarketFilter{MinPrice: 30000}, 3},
		// ≤ 3100: 3000 3100.
		{"max price only", engine.MarketFilter{MaxPrice: 3100}, 2},
		// 2019..2021: r4 2020, r6 2019, r7 2020, r8 2021.
		{"year range inclusive", engine.MarketFilter{MinYear: 2019, MaxYear: 2021}, 4},
		// toyota r3 r6 r8 + bmw r11, case-insensitive.
		{"brands", engine.MarketFilter{Brands: []string{"Toyota", " bmw"}}, 4},
		// ford priced ≥ 20000: r10 only.
		{"combined", engine.MarketFilter{MinPrice: 20000, Brands: []string{"ford"}}, 1},
		{"unknown brand", engine.MarketFilter{Brands: []string{"tesla"}}, 0},
		{"no filter", engine.MarketFilter{}, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := analyzeFixture(t, tc.flt)
			if rep.KPIs.TotalVehicles != tc.count || rep.InputRows != 15 {
				t.Errorf("total vehicles = %d of %d, want %d of 15", rep.KPIs.TotalVehicles, rep.InputRows, tc.count)
			}
		})
	}
	// Filtered analyses use only the filtered rows: brands toyota+bmw → prices 8000 12000 25000 45000.
	rep := analyzeFixture(t, engine.MarketFilter{Brands: []string{"toyota", "bmw"}})
	approx(t, "filtered mean", rep.KPIs.AveragePrice, (8000.0+12000+25000+45000)/4, 1e-9)
	if rep.Insights.MostPopularBrand != "toyota" {
		t.Errorf("filtered most popular = %q", rep.Insights.MostPopularBrand)
	}
}

func TestBadFilter(t *testing.T) {
	tests := []struct {
		flt   engine.MarketFilter
		field string
	}{
		{engine.MarketFilter{MinPrice: -1}, "min_price"},
		{engine.MarketFilter{MaxPrice: math.NaN()}, "max_price"},
		{engine.MarketFilter{MinPrice: 5000, MaxPrice: 1000}, "min_price"},
		{engine.MarketFilter{MinYear: 2020, MaxYear: 2010}, "min_year"},
		{engine.MarketFilter{MaxYear: -3}, "max_year"},
		{engine.MarketFilter{Year: 1066}, "year"},
		{engine.MarketFilter{Brands: []string{"ford", " "}}, "brands[1]"},
	}
	for _, tc := range tests {
		_, err := Analyzer{Now: fixedClock}.Analyze(frameOf(fixtureRows), tc.flt)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("filter %+v: error %v, want one naming %s", tc.flt, err, tc.field)
		}
	}
}

func TestMissingColumnsAndEmpty(t *testing.T) {
	modelOnly := &dataset.Frame{Source: "m", RowID: []int32{0, 1, 2}, Model: []string{"ford f-150", "ford focus", "kia soul"}}
	priceOnly := &dataset.Frame{Source: "p", RowID: []int32{0, 1}, Price: []float64{5000, 7000}}
	tests := []struct {
		name     string
		f        *dataset.Frame
		vehicles int
		volume   int
		stats    bool
		cats     int
	}{
		{"nil frame", nil, 0, 0, false, 0},
		{"empty frame", &dataset.Frame{}, 0, 0, false, 0},
		{"empty fixture after filter", frameOf(nil), 0, 0, false, 0},
		{"model column only", modelOnly, 3, 2, false, 0},
		// Price without odometer: statistics yes, price categories no (the original derived them only with both).
		{"price column only", priceOnly, 2, 0, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Analyzer{Now: fixedClock}.Analyze(tc.f, engine.MarketFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.KPIs.TotalVehicles != tc.vehicles || len(rep.Brands.Volume) != tc.volume ||
				(rep.Distribution.Statistics != nil) != tc.stats || len(rep.Distribution.Categories) != tc.cats {
				t.Errorf("report = %+v", rep)
			}
			if !tc.stats && rep.KPIs.AveragePrice != 0 {
				t.Errorf("average price = %v without prices, want 0", rep.KPIs.AveragePrice)
			}
			if len(rep.Opportunities) != 0 || len(rep.Depreciation.ByAge) != 0 || rep.ReferenceYear != 2024 {
				t.Errorf("opportunities %v, by_age %v, year %d", rep.Opportunities, rep.Depreciation.ByAge, rep.ReferenceYear)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("report does not encode: %v", err)
			}
			for _, r := range []func(*strings.Builder) error{
				func(b *strings.Builder) error { return RenderTable(b, rep) },
				func(b *strings.Builder) error { return RenderMarkdown(b, rep) },
				func(b *strings.Builder) error { return RenderHTML(b, rep) },
			} {
				var b strings.Builder
				if err := r(&b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if rep, _ := (Analyzer{Now: fixedClock}).Analyze(priceOnly, engine.MarketFilter{}); rep.KPIs.AveragePrice != 6000 {
		t.Errorf("price-only average = %v, want 6000", rep.KPIs.AveragePrice)
	}
	// A column with the wrong length is a broken frame, not a missing column.
	broken := frameOf(fixtureRows)
	broken.Odometer = broken.Odometer[:3]
	if _, err := Analyze(broken, engine.MarketFilter{}); err == nil || !strings.Contains(err.Error(), "odometer") {
		t.Errorf("short odometer column: error %v", err)
	}
	// A filter on an absent column is an error naming it.
	if _, err := Analyze(modelOnly, engine.MarketFilter{MinPrice: 1}); err == nil || !strings.Contains(err.Error(), "price") {
		t.Errorf("price filter without price: error %v", err)
	}
}

func TestJSONKeys(t *testing.T) {
	rep := analyzeFixture(t, engine.MarketFilter{Year: 2024})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	lookup := func(path string) (any, bool) {
		var cur any = doc
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[k]; !ok {
				return nil, false
			}
		}
		return cur, true
	}
	for _, path := range []string{
		"kpis.total_vehicles", "kpis.average_price", "kpis.total_market_value", "kpis.total_opportunities",
		"kpis.potential_arbitrage_value", "insights.most_popular_brand", "insights.highest_value_brand",
		"insights.avg_depreciation_rate", "opportunities", "brands.volume", "brands.pricing",
		"depreciation.by_age", "distribution", "distribution.statistics.median", "reference_year", "filter",
		"recommendations",
	} {
		if _, ok := lookup(path); !ok {
			t.Errorf("JSON lacks %s", path)
		}
	}
	opp, _ := lookup("opportunities")
	first := opp.([]any)[0].(map[string]any)
	for _, k := range []string{"category", "count", "avg_price", "potential_value"} {
		if _, ok := first[k]; !ok {
			t.Errorf("opportunity lacks %s: %v", k, first)
		}
	}
	if v, _ := lookup("kpis.total_vehicles"); v != float64(15) {
		t.Errorf("kpis.total_vehicles = %v", v)
	}
	// Empty analyses are [] not null, so clients can iterate without checks.
	empty, err := Analyzer{Now: fixedClock}.Analyze(nil, engine.MarketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := json.Marshal(empty)
	if strings.Contains(string(eb), "null") {
		t.Errorf("empty report has null: %s", eb)
	}
}

func TestFormatThousands(t *testing.T) {
	tests := []struct {
		v    float64
		dec  int
		want string
	}{
		{0, 0, "0"}, {999, 0, "999"}, {1000, 0, "1,000"}, {1234567.891, 2, "1,234,567.89"},
		{-1234.4, 0, "-1,234"}, {2.5, 0, "2"}, {3.5, 0, "4"}, {123456, 0, "123,456"},
	}
	for _, tc := range tests {
		if got := formatThousands(tc.v, tc.dec); got != tc.want {
			t.Errorf("formatThousands(%v, %d) = %q, want %q", tc.v, tc.dec, got, tc.want)
		}
	}
}

func TestRealDataReport(t *testing.T) {
	f := loadRealCleaned(t)
	rep, err := Analyzer{Now: fixedClock}.Analyze(f, engine.MarketFilter{Year: 2024})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, c := range rep.Distribution.Categories {
		sum += c.Count
	}
	if sum != rep.KPIs.TotalVehicles || rep.KPIs.TotalVehicles != f.Len() {
		t.Errorf("categories hold %d of %d rows", sum, rep.KPIs.TotalVehicles)
	}
	t.Logf("real data, reference 2024: %d rows, avg %.2f, value %.0f, %d opportunities, arbitrage %.2f, popular %s, valuable %s, avg dep %.4f",
		rep.KPIs.TotalVehicles, rep.KPIs.AveragePrice, rep.KPIs.TotalMarketValue, rep.KPIs.TotalOpportunities,
		rep.KPIs.PotentialArbitrageValue, rep.Insights.MostPopularBrand, rep.Insights.HighestValueBrand, rep.Insights.AvgDepreciationRate)
}

func BenchmarkAnalyzeReal(b *testing.B) {
	f := loadRealCleaned(b)
	a := Analyzer{Now: fixedClock}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Analyze(f, engine.MarketFilter{Year: 2024}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeRealRaw runs the report on all 51,525 raw rows (NaNs included).
func BenchmarkAnalyzeRealRaw(b *testing.B) {
	f := loadReal(b, false)
	a := Analyzer{Now: fixedClock}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Analyze(f, engine.MarketFilter{Year: 2024}); err != nil {
			b.Fatal(err)
		}
	}
}
