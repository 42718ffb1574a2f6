package market

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestConformalFiniteSampleQuantile(t *testing.T) {
	// Residuals 1..9 around 100 (alternating sign). 80 %: k = ceil((9+1)·0.8) = 8 → q = 8th smallest = 8.
	var y, pred []float64
	for r := 1; r <= 9; r++ {
		pred = append(pred, 100)
		y = append(y, 100+float64(r)*float64(1-2*(r%2)))
	}
	c, err := FitConformal(y, pred, 0.8, false)
	if err != nil {
		t.Fatal(err)
	}
	iv := c.Interval(100)
	if iv.Lower != 92 || iv.Upper != 108 || iv.Coverage != 0.8 || c.Score != ScoreAbsolute {
		t.Errorf("interval = %+v (score %s), want [92, 108] at 0.8", iv, c.Score)
	}
	// 90 %: k = ceil(10·0.9) = 9 → q = 9.
	c90, _ := FitConformal(y, pred, 0.9, false)
	if iv := c90.Interval(50); iv.Lower != 41 || iv.Upper != 59 {
		t.Errorf("90%% interval = %+v, want [41, 59]", iv)
	}
	// Lower bounds stop at 0.
	if iv := c.Interval(5); iv.Lower != 0 || iv.Upper != 13 {
		t.Errorf("interval at 5 = %+v, want [0, 13]", iv)
	}
	// Coverage of [92,108]-wide intervals on y = pred + 0, +8, +9: 2 of 3 inside, width 16.
	cov, w := c.Coverage([]float64{100, 108, 109}, []float64{100, 100, 100})
	if math.Abs(cov-2.0/3) > 1e-12 || w != 16 {
		t.Errorf("Coverage = %v, %v; want 2/3, 16", cov, w)
	}
}

func TestConformalBadInput(t *testing.T) {
	tests := []struct {
		name    string
		y, pred []float64
		cov     float64
		want    string
	}{
		{"length", []float64{1, 2}, []float64{1}, 0.8, "2 targets but 1 predictions"},
		{"coverage", []float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 5}, 1, "coverage"},
		{"nan", []float64{1, math.NaN(), 3, 4, 5}, []float64{1, 2, 3, 4, 5}, 0.8, "pair 1"},
		// 80 % needs ceil(4·0.8)=4 > 3 residuals.
		{"too few", []float64{1, 2, 3}, []float64{1, 2, 3}, 0.8, "too few"},
		{"empty", nil, nil, 0.8, "too few"},
	}
	for _, tc := range tests {
		for _, scaled := range []bool{false, true} {
			_, err := FitConformal(tc.y, tc.pred, tc.cov, scaled)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (scaled %v): error %v, want %q", tc.name, scaled, err, tc.want)
			}
		}
	}
	var zero Conformal
	if iv := zero.Interval(math.NaN()); iv.Lower != 0 || iv.Upper != 0 {
		t.Errorf("NaN prediction: %+v", iv)
	}
}

// heteroscedastic draws predictions over $1.5k–$60k and targets whose
// relative spread is larger for cheap cars (35 %) than for dear ones (12 %),
// with a right skew, like used-car prices.
func heteroscedastic(n int, seed uint64) (y, pred []float64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	for range n {
		p := math.Exp(math.Log(1500) + rng.Float64()*(math.Log(60000)-math.Log(1500)))
		sigma := 0.35 - 0.23*(math.Log(p)-math.Log(1500))/(math.Log(60000)-math.Log(1500))
		pred = append(pred, p)
		y = append(y, p*math.Exp(sigma*rng.NormFloat64()))
	}
	return y, pred
}

func TestConformalCoverageHeteroscedastic(t *testing.T) {
	yv, pv := heteroscedastic(4000, 1)
	yt, pt := heteroscedastic(20000, 2)
	abs, err := FitConformal(yv, pv, 0.8, false)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := FitConformal(yv, pv, 0.8, true)
	if err != nil {
		t.Fatal(err)
	}
	covA, wA := abs.Coverage(yt, pt)
	covS, wS := sc.Coverage(yt, pt)
	t.Logf("absolute: coverage %.3f, mean width %.0f; scaled (%s, %d bins): coverage %.3f, mean width %.0f",
		covA, wA, sc.Score, len(sc.Q), covS, wS)
	for name, cov := range map[string]float64{"absolute": covA, "scaled": covS} {
		if math.Abs(cov-0.8) > 0.03 {
			t.Errorf("%s coverage %.3f outside 80%% ± 3%%", name, cov)
		}
	}
	// The scaled interval is the narrower one relative to the price.
	rel := func(c Conformal) float64 {
		var sum float64
		for _, p := range pt {
			iv := c.Interval(p)
			sum += (iv.Upper - iv.Lower) / p
		}
		return sum / float64(len(pt))
	}
	if rel(sc) >= rel(abs) {
		t.Errorf("scaled mean relative width %.3f not below absolute %.3f", rel(sc), rel(abs))
	}
	// Conditional coverage: the scaled interval holds for cheap and dear cars
	// alike; the absolute one over-covers cheap cars and under-covers dear ones.
	split := func(c Conformal, cheap bool) float64 {
		var ys, ps []float64
		for i := range yt {
			if (cheap && pt[i] < 5000) || (!cheap && pt[i] > 25000) {
				ys, ps = append(ys, yt[i]), append(ps, pt[i])
			}
		}
		cov, _ := c.Coverage(ys, ps)
		return cov
	}
	for _, cheap := range []bool{true, false} {
		if cov := split(sc, cheap); math.Abs(cov-0.8) > 0.05 {
			t.Errorf("scaled coverage on cheap=%v cars %.3f, want 80%% ± 5%%", cheap, cov)
		}
	}
	if cheap, dear := split(abs, true), split(abs, false); cheap < 0.9 || dear > 0.7 {
		t.Errorf("absolute conditional coverage cheap %.3f dear %.3f: expected the heteroscedastic mismatch", cheap, dear)
	}
}

func TestConformalJSON(t *testing.T) {
	yv, pv := heteroscedastic(2000, 3)
	c, err := FitConformal(yv, pv, 0.8, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Conformal
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, p := range []float64{1000, 7000, 40000, 90000} {
		if back.Interval(p) != c.Interval(p) {
			t.Errorf("interval at %v changed after round trip", p)
		}
	}
	for _, bad := range []string{
		`{"coverage":0.8,"score":"weird","edges":[],"q":[1],"n":5}`,
		`{"coverage":1.5,"score":"absolute","edges":[],"q":[1],"n":5}`,
		`{"coverage":0.8,"score":"log","edges":[5],"q":[1],"n":5}`,
		`{"coverage":0.8,"score":"log","edges":[5,4],"q":[1,1,1],"n":5}`,
		`{"coverage":0.8,"score":"relative","edges":[],"q":[-1],"n":5}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// On the real listings, with the comparables' median as a stand-in model
// (the real model is the gbdt package's), split by row parity into
// fit / valid / test: the method's coverage and width on real residuals.
func TestConformalRealComparables(t *testing.T) {
	f := loadRealCleaned(t)
	var fit, rest []int
	for i := range f.Len() {
		if i%5 < 3 {
			fit = append(fit, i)
		} else {
			rest = append(rest, i)
		}
	}
	comp := NewComparables(f.Select(fit))
	var yv, pv, yt, pt []float64
	for k, i := range rest {
		_, med := comp.Find(f.Model[i], f.ModelYear[i], f.Odometer[i], 15)
		if med <= 0 {
			continue
		}
		if k%2 == 0 {
			yv, pv = append(yv, f.Price[i]), append(pv, med)
		} else {
			yt, pt = append(yt, f.Price[i]), append(pt, med)
		}
	}
	for _, scaled := range []bool{false, true} {
		c, err := FitConformal(yv, pv, 0.8, scaled)
		if err != nil {
			t.Fatal(err)
		}
		cov, w := c.Coverage(yt, pt)
		t.Logf("real data, kNN stand-in, scaled=%v: %s with %d bins, test coverage %.3f, mean width $%.0f (valid %d, test %d)",
			scaled, c.Score, len(c.Q), cov, w, len(yv), len(yt))
		if math.Abs(cov-0.8) > 0.02 {
			t.Errorf("scaled=%v: test coverage %.3f outside 78–82 %%", scaled, cov)
		}
	}
}

func BenchmarkConformalInterval(b *testing.B) {
	yv, pv := heteroscedastic(5000, 4)
	c, _ := FitConformal(yv, pv, 0.8, true)
	for b.Loop() {
		_ = c.Interval(12345)
	}
}
