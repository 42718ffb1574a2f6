package engine

import "time"

// MarketReport is the market analysis as `carvision market --format json`
// prints it and /market/summary serves it. engine/market fills it with the
// original MarketAnalyzer's semantics; every age-dependent number depends on
// ReferenceYear, which is therefore part of the report.
type MarketReport struct {
	ReferenceYear   int                 `json:"reference_year"`
	Filter          MarketFilter        `json:"filter"`
	GeneratedAt     time.Time           `json:"generated_at"`
	InputRows       int                 `json:"input_rows"` // cleaned rows before the filter
	KPIs            MarketKPIs          `json:"kpis"`
	Insights        MarketInsights      `json:"insights"`
	Opportunities   []MarketOpportunity `json:"opportunities"`
	Brands          MarketBrands        `json:"brands"`
	Depreciation    MarketDepreciation  `json:"depreciation"`
	Distribution    MarketDistribution  `json:"distribution"`
	Recommendations []string            `json:"recommendations"`
}

// MarketKPIs are the headline numbers of the filtered market.
type MarketKPIs struct {
	TotalVehicles           int     `json:"total_vehicles"`
	AveragePrice            float64 `json:"average_price"` // 0 without prices
	TotalMarketValue        float64 `json:"total_market_value"`
	TotalOpportunities      int     `json:"total_opportunities"`
	PotentialArbitrageValue float64 `json:"potential_arbitrage_value"` // Σ potential_value × count
}

// MarketInsights are the one-line conclusions the original report printed.
type MarketInsights struct {
	MostPopularBrand    string  `json:"most_popular_brand"`    // "N/A" when no brand
	HighestValueBrand   string  `json:"highest_value_brand"`   // "N/A" when no brand has ≥ 100 listings
	AvgDepreciationRate float64 `json:"avg_depreciation_rate"` // fraction per year, e.g. 0.08
}

// MarketOpportunity is the undervalued listings of one price category.
type MarketOpportunity struct {
	Category       string  `json:"category"`
	Count          int     `json:"count"`
	AvgPrice       float64 `json:"avg_price"`
	PotentialValue float64 `json:"potential_value"` // category median − AvgPrice, per vehicle
}

// MarketBrands holds the brand volume and brand pricing tables.
type MarketBrands struct {
	Volume  []BrandCount `json:"volume"`  // top 10 by count, ties by name
	Pricing []BrandPrice `json:"pricing"` // brands with ≥ 100 listings, by mean descending
}

// BrandCount is one brand's number of listings.
type BrandCount struct {
	Brand string `json:"brand"`
	Count int    `json:"count"`
}

// BrandPrice is one brand's price summary, rounded to whole dollars as the original did.
type BrandPrice struct {
	Brand  string  `json:"brand"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Count  int     `json:"count"`
}

// MarketDepreciation is mean price by vehicle age and the year-over-year rate.
type MarketDepreciation struct {
	ByAge       []AgePrice `json:"by_age"`
	AverageRate float64    `json:"average_rate"` // mean of every annual_rate, leading 0 included
}

// AgePrice is the mean price of the listings of one vehicle age.
type AgePrice struct {
	Age        float64 `json:"age"`
	Count      int     `json:"count"`
	MeanPrice  float64 `json:"mean_price"`
	AnnualRate float64 `json:"annual_rate"` // −(pct change from the previous present age); first 0
}

// MarketDistribution is the price distribution: statistics, categories and a histogram.
type MarketDistribution struct {
	Statistics *PriceStats     `json:"statistics,omitempty"` // nil without prices
	Categories []CategoryCount `json:"categories"`           // Budget, Mid-Range, Premium, Luxury
	Histogram  []HistogramBin  `json:"histogram"`            // 50 equal-width bins over [min, max]
}

// PriceStats summarises prices; quantiles interpolate linearly, std is the sample std (ddof 1).
type PriceStats struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Std    float64 `json:"std"` // 0 with fewer than two prices
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Q25    float64 `json:"q25"`
	Q75    float64 `json:"q75"`
}

// CategoryCount is the number of listings in one price category.
type CategoryCount struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// HistogramBin counts prices in [Lo, Hi) (the last bin also holds Hi).
type HistogramBin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}
