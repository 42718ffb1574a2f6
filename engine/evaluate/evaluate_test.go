package evaluate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
)

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol || math.IsNaN(a) && math.IsNaN(b)
}

func TestScore(t *testing.T) {
	tests := []struct {
		name    string
		y, yhat []float64
		want    Metrics
	}{
		// errors −10, +10, −30: SSE 1100, mean y 200, SST 20000
		{"hand", []float64{100, 200, 300}, []float64{110, 190, 330},
			Metrics{N: 3, RMSE: math.Sqrt(1100.0 / 3), MAE: 50.0 / 3, MAPE: (0.1 + 0.05 + 0.1) / 3 * 100, R2: 1 - 1100.0/20000}},
		{"perfect", []float64{1, 2}, []float64{1, 2}, Metrics{N: 2, RMSE: 0, MAE: 0, MAPE: 0, R2: 1}},
		// price 0 is divided by 1e-8, the original's floor
		{"zero price", []float64{0, 10}, []float64{1, 10}, Metrics{N: 2, RMSE: math.Sqrt(0.5), MAE: 0.5, MAPE: 1e8 / 2 * 100, R2: 1 - 1/50.0}},
		{"constant y", []float64{5, 5}, []float64{4, 6}, Metrics{N: 2, RMSE: 1, MAE: 1, MAPE: 20, R2: math.NaN()}},
		{"empty", nil, nil, Metrics{RMSE: math.NaN(), MAE: math.NaN(), MAPE: math.NaN(), R2: math.NaN()}},
		{"mismatch", []float64{1, 2}, []float64{1}, Metrics{RMSE: math.NaN(), MAE: math.NaN(), MAPE: math.NaN(), R2: math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.y, tt.yhat)
			if got.N != tt.want.N || !near(got.RMSE, tt.want.RMSE, 1e-9) || !near(got.MAE, tt.want.MAE, 1e-9) ||
				!near(got.MAPE, tt.want.MAPE, 1e-6) || !near(got.R2, tt.want.R2, 1e-12) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	b, _ := json.Marshal(Metrics{N: 1, RMSE: 2, MAE: 3, MAPE: 4, R2: 0.5})
	if string(b) != `{"n":1,"rmse":2,"mae":3,"mape":4,"r2":0.5}` {
		t.Errorf("json %s", b)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		y    []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}, {nil, math.NaN()}}
	for _, tt := range tests {
		in := append([]float64(nil), tt.y...)
		if got := Median(in); !near(got, tt.want, 0) {
			t.Errorf("Median(%v) = %v, want %v", tt.y, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.y) {
			t.Errorf("Median reordered its input: %v", in)
		}
	}
}

func TestPercentile(t *testing.T) {
	// numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
	s := []float64{1, 2, 3, 4}
	for _, tt := range []struct{ p, want float64 }{{2.5, 1.075}, {50, 2.5}, {97.5, 3.925}, {0, 1}, {100, 4}} {
		if got := percentile(s, tt.p); !near(got, tt.want, 1e-12) {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile([]float64{9}, 97.5); got != 9 {
		t.Errorf("one value: %v", got)
	}
}

func TestBootstrapExact(t *testing.T) {
	y := []float64{10, 20, 30, 40, 50}
	// The baseline is off by exactly 4 everywhere and the model is exact:
	// every resample has Δ = 0 − 4.
	base := []float64{14, 16, 34, 36, 54}
	r := Bootstrap(y, y, base, 50, 1)
	if r.DeltaRMSEMean != -4 || r.CI95 != [2]float64{-4, -4} || r.PValue != 0 || !r.Significant || r.Resamples != 50 {
		t.Errorf("exact model: %+v", r)
	}
	// Model equal to the baseline: Δ = 0 always, not significant.
	r = Bootstrap(y, base, base, 50, 1)
	if r.DeltaRMSEMean != 0 || r.CI95 != [2]float64{0, 0} || r.PValue != 0 || r.Significant {
		t.Errorf("model = baseline: %+v", r)
	}
	// The model is worse than the baseline everywhere: Δ = +4 − 0.
	r = Bootstrap(y, base, y, 20, 3)
	if r.DeltaRMSEMean != 4 || r.Significant {
		t.Errorf("worse model: %+v", r)
	}
}

func TestBootstrapStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2000
	y, model, base := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		y[i] = 10000 + 5000*rng.NormFloat64()
		model[i] = y[i] + 1000*rng.NormFloat64()
		base[i] = 10000
	}
	full := Score(y, model).RMSE - Score(y, base).RMSE
	r := Bootstrap(y, model, base, 200, 42)
	if !(r.CI95[0] < full && full < r.CI95[1]) {
		t.Errorf("CI %v misses the full-sample Δ %v", r.CI95, full)
	}
	if math.Abs(r.DeltaRMSEMean-full) > 0.05*math.Abs(full) {
		t.Errorf("mean Δ %v far from full-sample Δ %v", r.DeltaRMSEMean, full)
	}
	if !r.Significant || r.PValue != 0 {
		t.Errorf("a 5× better model is not significant: %+v", r)
	}
	// Same seed, same answer; another seed, another CI.
	if again := Bootstrap(y, model, base, 200, 42); again != r {
		t.Errorf("not deterministic: %+v vs %+v", again, r)
	}
	if other := Bootstrap(y, model, base, 200, 43); other.CI95 == r.CI95 {
		t.Error("seed has no effect")
	}
	// A coin-flip model: p-value well above 0.
	noisy := make([]float64, n)
	for i := range noisy {
		noisy[i] = y[i] + 5000*rng.NormFloat64()
	}
	alt := make([]float64, n)
	for i := range alt {
		alt[i] = y[i] + 5000*rng.NormFloat64()
	}
	if r := Bootstrap(y, noisy, alt, 200, 7); r.PValue < 0.05 || r.Significant {
		t.Errorf("equally good models: %+v", r)
	}
}

func TestBootstrapBadInput(t *testing.T) {
	for _, tt := range []struct {
		name           string
		y, model, base []float64
		n              int
	}{
		{"empty", nil, nil, nil, 10}, {"no resamples", []float64{1}, []float64{1}, []float64{1}, 0},
		{"mismatch", []float64{1, 2}, []float64{1}, []float64{1, 2}, 10},
	} {
		r := Bootstrap(tt.y, tt.model, tt.base, tt.n, 1)
		if !math.IsNaN(r.DeltaRMSEMean) || !math.IsNaN(r.PValue) || r.Significant {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}

func TestDrawUniform(t *testing.T) {
	rng := rand.NewPCG(5, 5)
	counts := make([]int, 7)
	for i := 0; i < 70000; i++ {
		counts[draw(rng, 7)]++
	}
	for v, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times of 70000", v, c)
		}
	}
}

func TestSegments(t *testing.T) {
	y := []float64{100, 200, 300, 400, 500, 600}
	yhat := []float64{110, 200, 290, 400, 550, 600}
	base := []float64{300, 300, 300, 300, 300, 300}
	groups := map[string][]string{
		"model_year": {"2010", "9", "2010", "9", "2010", ""},
		"condition":  {"good", "good", "fair", "good", "fair", "good"},
		"broken":     {"a"}, // wrong length: skipped
	}
	got := Segments(y, yhat, base, groups, 2)
	want := []Segment{
		// condition fair: rows 2, 4 → errors 10, −50
		{Column: "condition", Value: "fair", N: 2, RMSE: math.Sqrt((100 + 2500) / 2.0), MAE: 30, MAPE: (10.0/300 + 50.0/500) / 2 * 100,
			BaselineRMSE: math.Sqrt((0 + 40000) / 2.0)},
		// condition good: rows 0, 1, 3, 5 → errors −10, 0, 0, 0
		{Column: "condition", Value: "good", N: 4, RMSE: math.Sqrt(100 / 4.0), MAE: 2.5, MAPE: 0.1 / 4 * 100,
			BaselineRMSE: math.Sqrt((40000 + 10000 + 10000 + 90000) / 4.0)},
		// model_year 9 sorts before 2010 (numerically); the missing value has 1 row < minN
		{Column: "model_year", Value: "9", N: 2, RMSE: 0, MAE: 0, MAPE: 0, BaselineRMSE: math.Sqrt((10000 + 10000) / 2.0)},
		{Column: "model_year", Value: "2010", N: 3, RMSE: math.Sqrt((100 + 100 + 2500) / 3.0), MAE: 70.0 / 3,
			MAPE: (0.1 + 10.0/300 + 0.1) / 3 * 100, BaselineRMSE: math.Sqrt((40000 + 0 + 40000) / 3.0)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d segments: %+v", len(got), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Column != w.Column || g.Value != w.Value || g.N != w.N || !near(g.RMSE, w.RMSE, 1e-9) ||
			!near(g.MAE, w.MAE, 1e-9) || !near(g.MAPE, w.MAPE, 1e-9) || !near(g.BaselineRMSE, w.BaselineRMSE, 1e-9) {
			t.Errorf("segment %d\n got %+v\nwant %+v", i, g, w)
		}
	}
	withMissing := Segments(y, yhat, base, map[string][]string{"paint": {"", "", "red", "red", "", "red"}}, 3)
	if len(withMissing) != 2 || withMissing[0].Value != "red" || withMissing[1].Value != MissingValue {
		t.Errorf("missing segment: %+v", withMissing)
	}
	if Segments(y, yhat[:2], base, groups, 1) != nil {
		t.Error("mismatched predictions accepted")
	}
}

func TestGroups(t *testing.T) {
	f := dataset.New("g", 2)
	l := engine.EmptyListing()
	l.Condition, l.Type, l.ModelYear, l.Model = "good", "SUV", 2011, "BMW x5"
	f.Append(l, 0)
	l.ModelYear, l.Model = math.NaN(), "ford f-150"
	f.Append(l, 1)
	g := Groups(f, []int{1, 0})
	want := map[string][]string{
		"condition": {"good", "good"}, "type": {"SUV", "SUV"}, "model_year": {"", "2011"}, "brand": {"ford", "bmw"},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("groups %v", g)
	}
	if !strings.Contains(strings.Join(SegmentColumns, ","), "brand") {
		t.Error("brand is not a segment column")
	}
}

func BenchmarkBootstrap(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 8000
	y, model, base := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		y[i] = 10000 + 5000*rng.NormFloat64()
		model[i] = y[i] + 1000*rng.NormFloat64()
		base[i] = 10000
	}
	for b.Loop() {
		Bootstrap(y, model, base, 200, 42)
	}
}
