// Package evaluate scores predictions: RMSE, MAE, MAPE (the original's
// formula), R², a median baseline, a seeded bootstrap of ΔRMSE against the
// baseline, and per-segment errors.
package evaluate

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"

	"carvision/engine/dataset"
	"carvision/engine/prep"
)

// mapeFloor keeps MAPE finite for zero prices, as the original did.
const mapeFloor = 1e-8

// Metrics are the four scores on N rows.
type Metrics struct {
	N    int     `json:"n"`
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	MAPE float64 `json:"mape"` // percent
	R2   float64 `json:"r2"`
}

// Score computes the metrics of yhat against y:
// RMSE = sqrt(mean((y−ŷ)²)), MAE = mean(|y−ŷ|),
// MAPE = mean(|y−ŷ| / max(y, 1e-8)) × 100, R² = 1 − Σ(y−ŷ)² / Σ(y−ȳ)²
// (NaN when y is constant). Mismatched lengths or no rows give N = 0 and
// NaN scores.
func Score(y, yhat []float64) Metrics {
	n := len(y)
	if n == 0 || len(yhat) != n {
		return Metrics{RMSE: math.NaN(), MAE: math.NaN(), MAPE: math.NaN(), R2: math.NaN()}
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	var sse, sae, sape, sst float64
	for i, v := range y {
		e := v - yhat[i]
		sse += e * e
		sae += math.Abs(e)
		sape += math.Abs(e) / math.Max(v, mapeFloor)
		d := v - mean
		sst += d * d
	}
	r2 := math.NaN()
	if sst > 0 {
		r2 = 1 - sse/sst
	}
	fn := float64(n)
	return Metrics{N: n, RMSE: math.Sqrt(sse / fn), MAE: sae / fn, MAPE: sape / fn * 100, R2: r2}
}

// Median is the baseline's constant prediction: the median of y (the mean
// of the two middle values for an even count, like numpy); NaN when empty.
func Median(y []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	s := slices.Clone(y)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// BootstrapResult summarises ΔRMSE = RMSE(model) − RMSE(baseline) over
// resamples of the scored rows (negative: the model is better).
type BootstrapResult struct {
	Resamples     int        `json:"n_resamples"`
	DeltaRMSEMean float64    `json:"delta_rmse_mean"`
	CI95          [2]float64 `json:"delta_rmse_ci95"` // linear-interpolated 2.5 and 97.5 percentiles
	PValue        float64    `json:"p_value_two_sided"`
	Significant   bool       `json:"significant"` // CI upper bound < 0
}

// Bootstrap draws n resamples (with replacement, size len(y)) of the rows
// and computes Δ = RMSE(model) − RMSE(baseline) on each. The p-value is
// 2·min(P(Δ > 0), P(Δ < 0)), as in the original. The seed drives a PCG
// stream (math/rand/v2) turned into indices by draw, so a seed gives the
// same result on every run (not numpy's numbers: its generator differs).
// Bad input (no rows, mismatched lengths, n < 1) gives NaN figures.
func Bootstrap(y, model, baseline []float64, n int, seed int64) BootstrapResult {
	bad := BootstrapResult{Resamples: max(n, 0), DeltaRMSEMean: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}, PValue: math.NaN()}
	m := len(y)
	if m == 0 || n < 1 || len(model) != m || len(baseline) != m {
		return bad
	}
	// Squared errors once; a resample only sums them.
	em := make([]float64, m)
	eb := make([]float64, m)
	for i := range y {
		em[i] = (y[i] - model[i]) * (y[i] - model[i])
		eb[i] = (y[i] - baseline[i]) * (y[i] - baseline[i])
	}
	rng := rand.NewPCG(uint64(seed), 0xB5297A4D3F84D5B5)
	deltas := make([]float64, n)
	var pos, neg int
	var sum float64
	for r := range deltas {
		var sm, sb float64
		for k := 0; k < m; k++ {
			i := draw(rng, m)
			sm += em[i]
			sb += eb[i]
		}
		d := math.Sqrt(sm/float64(m)) - math.Sqrt(sb/float64(m))
		deltas[r] = d
		sum += d
		switch {
		case d > 0:
			pos++
		case d < 0:
			neg++
		}
	}
	slices.Sort(deltas)
	res := BootstrapResult{
		Resamples:     n,
		DeltaRMSEMean: sum / float64(n),
		CI95:          [2]float64{percentile(deltas, 2.5), percentile(deltas, 97.5)},
		PValue:        2 * math.Min(float64(pos)/float64(n), float64(neg)/float64(n)),
	}
	res.Significant = res.CI95[1] < 0
	return res
}

// draw is a uniform index in [0, m): Lemire's multiply-shift on 64 bits
// with rejection, written out so the stream does not depend on the
// library's IntN.
func draw(rng *rand.PCG, m int) int {
	bound := uint64(m)
	for {
		hi, lo := bits.Mul64(rng.Uint64(), bound)
		if lo >= bound || lo >= (-bound)%bound {
			return int(hi)
		}
	}
}

// percentile of sorted xs, numpy's default linear interpolation.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// Segment is the error of one value of one column.
type Segment struct {
	Column       string  `json:"segment_col"`
	Value        string  `json:"segment_val"`
	N            int     `json:"n"`
	RMSE         float64 `json:"rmse"`
	MAE          float64 `json:"mae"`
	MAPE         float64 `json:"mape"`
	BaselineRMSE float64 `json:"baseline_rmse"`
}

// MissingValue labels the segment of rows whose value is missing.
const MissingValue = "(missing)"

// Segments scores every value with at least minN rows of every column in
// groups (column → one value per row, "" = missing). Sorted by column, then
// value (numbers numerically, so model_year reads in order; the missing
// value last), then as given.
// Columns whose value list does not match y's length are skipped.
func Segments(y, yhat, base []float64, groups map[string][]string, minN int) []Segment {
	n := len(y)
	if len(yhat) != n || len(base) != n {
		return nil
	}
	var out []Segment
	for col, vals := range groups {
		if len(vals) != n {
			continue
		}
		rows := map[string][]int{}
		for i, v := range vals {
			if v == "" {
				v = MissingValue
			}
			rows[v] = append(rows[v], i)
		}
		for v, idx := range rows {
			if len(idx) < minN || len(idx) == 0 {
				continue
			}
			ys, ps, bs := make([]float64, len(idx)), make([]float64, len(idx)), make([]float64, len(idx))
			for k, i := range idx {
				ys[k], ps[k], bs[k] = y[i], yhat[i], base[i]
			}
			m := Score(ys, ps)
			out = append(out, Segment{Column: col, Value: v, N: m.N, RMSE: m.RMSE, MAE: m.MAE, MAPE: m.MAPE,
				BaselineRMSE: Score(ys, bs).RMSE})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Column != out[b].Column {
			return out[a].Column < out[b].Column
		}
		return valueLess(out[a].Value, out[b].Value)
	})
	return out
}

func valueLess(a, b string) bool {
	if (a == MissingValue) != (b == MissingValue) {
		return b == MissingValue
	}
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA == nil && errB == nil:
		return x < y
	case errA == nil:
		return true // numbers before words such as "(missing)"
	case errB == nil:
		return false
	}
	return a < b
}

// SegmentColumns are the columns the evaluation segments by.
var SegmentColumns = []string{"condition", "type", "model_year", "brand"}

// Groups returns, for the rows idx of f, the segment value of each of
// SegmentColumns: condition, type, model_year (as an integer) and brand.
func Groups(f *dataset.Frame, idx []int) map[string][]string {
	g := map[string][]string{}
	for _, c := range SegmentColumns {
		g[c] = make([]string, len(idx))
	}
	for k, i := range idx {
		g["condition"][k] = f.Condition[i]
		g["type"][k] = f.Type[i]
		if y := f.ModelYear[i]; !math.IsNaN(y) {
			g["model_year"][k] = strconv.FormatFloat(y, 'f', -1, 64)
		}
		g["brand"][k] = prep.Brand(f.Model[i])
	}
	return g
}
