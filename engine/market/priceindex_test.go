package market

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"carvision/engine"
)

func TestPriceIndexSmallExact(t *testing.T) {
	// Five prices are stored as they are, so percentiles are exact.
	x := NewPriceIndex([]float64{30, 10, math.NaN(), 50, 20, 40})
	if x.N != 5 {
		t.Fatalf("N = %d, want 5 (NaN ignored)", x.N)
	}
	tests := []struct {
		p    float64
		pct  float64
		band string
	}{
		{5, 0, "economy"},   // nothing below
		{10, 0, "economy"},  // strictly below: 10 itself does not count
		{15, 20, "economy"}, // 10 → 1/5
		{25, 40, "mid"},     // 10 20 → 2/5: > 25th
		{30, 40, "mid"},
		{35, 60, "upper"},    // 3/5: > 50th
		{45, 80, "premium"},  // 4/5: > 75th
		{50, 80, "premium"},  // 50 itself not below
		{51, 100, "premium"}, // above the max
	}
	for _, tc := range tests {
		if got := x.Percentile(tc.p); got != tc.pct {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.pct)
		}
		if got := x.Band(tc.p); got != tc.band {
			t.Errorf("Band(%v) = %q, want %q", tc.p, got, tc.band)
		}
	}
	// Linear quartiles of 10 20 30 40 50: h = 4·0.25 = 1 → 20; 30; 40; max 50.
	if got, want := x.Place(), (engine.MarketPlace{Q1: 20, Median: 30, Q3: 40, Max: 50}); got != want {
		t.Errorf("Place = %+v, want %+v", got, want)
	}
	// Ties: 1 2 2 2 3 → strictly below 2 is 1 of 5.
	ties := NewPriceIndex([]float64{2, 2, 1, 3, 2})
	if got := ties.Percentile(2); got != 20 {
		t.Errorf("tied Percentile(2) = %v, want 20", got)
	}
}

func TestPriceIndexEmpty(t *testing.T) {
	var x PriceIndex
	if x.Percentile(1000) != 0 || x.Band(1000) != "" || x.Place() != (engine.MarketPlace{}) {
		t.Errorf("empty index: %v %q %+v", x.Percentile(1000), x.Band(1000), x.Place())
	}
	one := NewPriceIndex([]float64{7})
	if one.Percentile(7) != 0 || one.Percentile(8) != 100 {
		t.Errorf("one price: %v %v", one.Percentile(7), one.Percentile(8))
	}
	if NewPriceIndex([]float64{1, 2}).Percentile(math.NaN()) != 0 {
		t.Error("NaN price must give 0")
	}
}

// On many prices (rounded to $100, so heavily tied like the real data) the
// 101-quantile percentile stays within one percentage point of the exact count.
func TestPriceIndexLargeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	prices := make([]float64, 40000)
	for i := range prices {
		prices[i] = math.Round(math.Exp(9+0.8*rng.NormFloat64())/100) * 100
	}
	x := NewPriceIndex(prices)
	if x.N != len(prices) || len(x.Quantiles) != 101 {
		t.Fatalf("N %d, %d quantiles", x.N, len(x.Quantiles))
	}
	sorted := slices.Clone(prices)
	slices.Sort(sorted)
	worst := 0.0
	for range 2000 {
		p := math.Exp(9 + 1.2*rng.NormFloat64())
		if rng.IntN(2) == 0 {
			p = math.Round(p/100) * 100 // probe exactly on tied values too
		}
		exact := 100 * float64(sort.SearchFloat64s(sorted, p)) / float64(len(sorted))
		worst = math.Max(worst, math.Abs(x.Percentile(p)-exact))
	}
	if worst > 1 {
		t.Errorf("worst percentile error %.3f points, want ≤ 1", worst)
	}
	// The quartiles are stored quantiles: exact. Linear quantile at h = (n−1)·q.
	lin := func(q float64) float64 {
		h := float64(len(sorted)-1) * q
		lo := int(h)
		return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
	}
	pl := x.Place()
	if pl.Q1 != lin(0.25) || pl.Median != lin(0.5) || pl.Q3 != lin(0.75) || pl.Max != sorted[len(sorted)-1] {
		t.Errorf("Place = %+v, want %v %v %v %v", pl, lin(0.25), lin(0.5), lin(0.75), sorted[len(sorted)-1])
	}
}

func TestPriceIndexJSON(t *testing.T) {
	x := NewPriceIndex([]float64{5000, 9000, 16839, 1, 375000})
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var back PriceIndex
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Percentile(9000) != x.Percentile(9000) || back.N != 5 {
		t.Errorf("round trip changed the index: %+v", back)
	}
	for _, bad := range []string{
		`{"n":3,"quantiles":[1,3,2]}`, // not ascending
		`{"n":3,"quantiles":[1,2]}`,   // count mismatch
		`{"n":-1,"quantiles":[]}`,
		`{"n":"x"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	big := make([]float64, 51525)
	for i := range big {
		big[i] = float64(i)
	}
	b, _ = json.Marshal(NewPriceIndex(big))
	if len(b) > 2048 {
		t.Errorf("index of 51525 prices is %d bytes of JSON, want compact (≤ 2 KB)", len(b))
	}
}

func BenchmarkPercentile(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	prices := make([]float64, 30000)
	for i := range prices {
		prices[i] = math.Exp(9 + 0.8*rng.NormFloat64())
	}
	x := NewPriceIndex(prices)
	for b.Loop() {
		_ = x.Band(12345)
	}
}
