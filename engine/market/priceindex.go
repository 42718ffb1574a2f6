package market

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"carvision/engine"
)

// priceIndexPoints is how many quantiles a PriceIndex keeps: 0 %, 1 %, … 100 %.
const priceIndexPoints = 101

// PriceIndex places a price among the cleaned listings' prices: the
// percentile and band of the original's predictor gauge and the quartiles
// the gauge is drawn against.
//
// It stores the 101 linear quantiles (0 %, 1 %, … 100 %) and the count, not
// every price, so it fits in the model file. With at most 101 prices it
// stores them all and Percentile is exact; otherwise Percentile inverts the
// piecewise-linear quantile function, which is exact at the stored
// quantiles and off by at most one percentage point between two of them
// (the prices between two stored quantiles are 1 % of the listings; only
// their order inside that 1 % is unknown). Place is exact: the quartiles
// and the maximum are stored quantiles.
type PriceIndex struct {
	N         int       `json:"n"`         // prices indexed (NaN excluded)
	Quantiles []float64 `json:"quantiles"` // min(N, 101) ascending linear quantiles, first = min, last = max
}

// NewPriceIndex indexes prices; NaN and ±Inf are ignored. The input is not modified.
func NewPriceIndex(prices []float64) PriceIndex {
	s := make([]float64, 0, len(prices))
	for _, p := range prices {
		if !math.IsNaN(p) && !math.IsInf(p, 0) {
			s = append(s, p)
		}
	}
	slices.Sort(s)
	if len(s) <= priceIndexPoints {
		return PriceIndex{N: len(s), Quantiles: s}
	}
	q := make([]float64, priceIndexPoints)
	for k := range q {
		q[k] = quantileSorted(s, float64(k)/float64(priceIndexPoints-1))
	}
	return PriceIndex{N: len(s), Quantiles: q}
}

// quantile is the linear quantile at u ∈ [0, 1] of the indexed prices.
func (x PriceIndex) quantile(u float64) float64 {
	if len(x.Quantiles) == 0 {
		return 0
	}
	return quantileSorted(x.Quantiles, u)
}

// Percentile is the percentage (0–100) of indexed prices strictly below p, as
// the original's gauge computed it. An empty index or a NaN price gives 0.
func (x PriceIndex) Percentile(p float64) float64 {
	m := len(x.Quantiles)
	if m == 0 || x.N == 0 || math.IsNaN(p) {
		return 0
	}
	// k is the first stored quantile ≥ p: everything stored before it is below p.
	k := sort.SearchFloat64s(x.Quantiles, p)
	switch {
	case k == 0:
		return 0
	case k == m:
		return 100
	}
	lo, hi := x.Quantiles[k-1], x.Quantiles[k]
	frac := (p - lo) / (hi - lo) // hi > lo because lo < p ≤ hi
	// u is where p sits on the quantile scale; h the matching position in the
	// sorted prices. Prices strictly below p are those at positions < h, i.e.
	// ceil(h) of them (the tiny epsilon absorbs rounding at exact positions).
	u := (float64(k-1) + frac) / float64(m-1)
	h := u * float64(x.N-1)
	below := math.Ceil(h - 1e-9)
	return 100 * below / float64(x.N)
}

// Band is the original's badge for p: "premium" above the 75th percentile,
// "upper" above the 50th, "mid" above the 25th, else "economy"; "" when the
// index is empty.
func (x PriceIndex) Band(p float64) string {
	if x.N == 0 {
		return ""
	}
	switch pct := x.Percentile(p); {
	case pct > 75:
		return "premium"
	case pct > 50:
		return "upper"
	case pct > 25:
		return "mid"
	default:
		return "economy"
	}
}

// Place returns the quartiles and maximum the gauge is drawn against.
func (x PriceIndex) Place() engine.MarketPlace {
	if len(x.Quantiles) == 0 {
		return engine.MarketPlace{}
	}
	return engine.MarketPlace{
		Q1:     x.quantile(0.25),
		Median: x.quantile(0.5),
		Q3:     x.quantile(0.75),
		Max:    x.Quantiles[len(x.Quantiles)-1],
	}
}

// Validate reports whether the index is internally consistent (as read from a model file).
func (x PriceIndex) Validate() error {
	want := min(x.N, priceIndexPoints)
	if x.N < 0 || len(x.Quantiles) != want {
		return fmt.Errorf("price index: n %d needs %d quantiles, has %d", x.N, want, len(x.Quantiles))
	}
	for i, q := range x.Quantiles {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("price index: quantile %d is %v", i, q)
		}
		if i > 0 && q < x.Quantiles[i-1] {
			return fmt.Errorf("price index: quantile %d (%v) below quantile %d (%v)", i, q, i-1, x.Quantiles[i-1])
		}
	}
	return nil
}

// UnmarshalJSON decodes and validates an index, so a damaged model file is
// reported when it is read rather than producing wrong percentiles later.
func (x *PriceIndex) UnmarshalJSON(b []byte) error {
	type plain PriceIndex
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("price index: %w", err)
	}
	if err := PriceIndex(p).Validate(); err != nil {
		return err
	}
	*x = PriceIndex(p)
	return nil
}
