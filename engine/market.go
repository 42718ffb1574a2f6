package engine

// MarketReport is the market analysis as `carvision market --format json`
// prints it and /market/summary serves it. engine/market fills it.
type MarketReport struct {
	ReferenceYear int          `json:"reference_year"`
	Filter        MarketFilter `json:"filter"`
	// The market helper defines the remaining fields (kpis, insights,
	// opportunities, brands, depreciation, distribution, recommendations).
}
