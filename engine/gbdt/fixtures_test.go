package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// carsLike builds n rows shaped like the real used-car features: 6 numeric
// (one with thousands of distinct values, ~15% NaN in some) and 6
// categorical with 100/19/5/3/13/13 levels, and a price-like target.
func carsLike(n int, seed uint64) (Matrix, []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const cols = 12
	m := Matrix{
		Rows: n, Cols: cols, Data: make([]float64, n*cols),
		Kinds:   []Kind{Numeric, Numeric, Numeric, Numeric, Numeric, Numeric, Categorical, Categorical, Categorical, Categorical, Categorical, Categorical},
		NumCats: []int{0, 0, 0, 0, 0, 0, 100, 19, 5, 3, 13, 13},
		Names:   []string{"model_year", "vehicle_age", "odometer", "cylinders", "is_4wd", "condition", "model", "brand", "fuel", "transmission", "type", "paint_color"},
	}
	modelEffect := make([]float64, 100)
	for i := range modelEffect {
		modelEffect[i] = rng.NormFloat64() * 4000
	}
	typeEffect := make([]float64, 13)
	for i := range typeEffect {
		typeEffect[i] = rng.NormFloat64() * 2500
	}
	y := make([]float64, n)
	nan := math.NaN()
	for i := range n {
		r := m.Data[i*cols : (i+1)*cols]
		year := float64(1990 + rng.IntN(30))
		age := 2019 - year + float64(rng.IntN(2))
		odo := math.Round(math.Max(0, age*12000+rng.NormFloat64()*15000))
		cyl := float64(4 + 2*rng.IntN(3))
		wd := float64(rng.IntN(2))
		cond := float64(rng.IntN(6))
		model := rng.IntN(100)
		r[0], r[1], r[2], r[3], r[4], r[5] = year, age, odo, cyl, wd, cond
		r[6] = float64(model)
		r[7] = float64(model % 19)
		r[8] = float64(rng.IntN(5))
		r[9] = float64(rng.IntN(3))
		r[10] = float64(rng.IntN(13))
		r[11] = float64(rng.IntN(13))
		price := 30000 - 1200*age - 0.03*odo + 800*cyl + 1500*wd + 900*cond +
			modelEffect[model] + typeEffect[int(r[10])] + rng.NormFloat64()*2000
		y[i] = math.Max(1000, price)
		if rng.Float64() < 0.15 {
			r[0], r[1] = nan, nan
		}
		if rng.Float64() < 0.15 {
			r[2] = nan
		}
		if rng.Float64() < 0.10 {
			r[3] = nan
		}
		if rng.Float64() < 0.5 {
			r[4] = nan
		}
		if rng.Float64() < 0.05 {
			r[11] = nan
		}
	}
	return m, y
}

// split cuts rows [lo,hi) out of m.
func sliceRows(m Matrix, y []float64, lo, hi int) (Matrix, []float64) {
	s := m
	s.Rows = hi - lo
	s.Data = m.Data[lo*m.Cols : hi*m.Cols]
	return s, y[lo:hi]
}

func rmseOf(f *Forest, m Matrix, y []float64) float64 {
	out := make([]float64, m.Rows)
	f.PredictBatch(m, out, 2)
	s := 0.0
	for i, v := range out {
		d := v - y[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(y)))
}

func stdOf(y []float64) float64 {
	mu := 0.0
	for _, v := range y {
		mu += v
	}
	mu /= float64(len(y))
	s := 0.0
	for _, v := range y {
		s += (v - mu) * (v - mu)
	}
	return math.Sqrt(s / float64(len(y)))
}

func mustTrain(t testing.TB, m Matrix, y []float64, valid *Matrix, yv []float64, p Params) *Forest {
	t.Helper()
	f, err := Train(t.Context(), m, y, valid, yv, p, nil)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return f
}
