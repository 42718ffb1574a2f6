package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNumericBinning(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	gen := func(n int, f func() float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f()
		}
		return v
	}
	cases := []struct {
		name     string
		col      []float64
		maxBins  int
		wantBins int // exact value bins, or -1 to only check the bound
	}{
		{"few distinct", gen(1000, func() float64 { return float64(rng.IntN(7)) }), 254, 7},
		{"exactly max distinct", gen(5000, func() float64 { return float64(rng.IntN(254)) }), 254, 254},
		{"many distinct", gen(40000, func() float64 { return math.Round(rng.Float64() * 300000) }), 254, -1},
		{"heavy value", gen(10000, func() float64 {
			if rng.IntN(2) == 0 {
				return 0
			}
			return rng.Float64()
		}), 20, -1},
		{"with NaN and Inf", append(gen(500, rng.NormFloat64), math.NaN(), math.Inf(1), math.Inf(-1)), 16, -1},
		{"all NaN", []float64{math.NaN(), math.NaN()}, 254, 0},
		{"tiny max", gen(100, rng.Float64), 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newNumericMapper(tc.col, tc.maxBins)
			nv := m.nBins - 1
			if tc.wantBins >= 0 && nv != tc.wantBins {
				t.Fatalf("%d value bins, want %d", nv, tc.wantBins)
			}
			if nv > tc.maxBins {
				t.Fatalf("%d value bins > max %d", nv, tc.maxBins)
			}
			counts := make([]int, m.nBins)
			for _, v := range tc.col {
				b := int(m.bin(v))
				counts[b]++
				if math.IsNaN(v) != (b == 0) {
					t.Fatalf("value %v in bin %d", v, b)
				}
				// the stored real threshold reproduces the binned decision
				for k := 1; k < nv; k++ {
					if (v <= m.upper[k-1]) != (b <= k) && !math.IsNaN(v) {
						t.Fatalf("value %v bin %d vs threshold %d (%v) disagree", v, b, k, m.upper[k-1])
					}
				}
			}
			if tc.wantBins < 0 && tc.name != "with NaN and Inf" {
				mean := float64(len(tc.col)) / float64(nv)
				for b := 1; b < m.nBins; b++ {
					if counts[b] < minDataInBin && b != m.nBins-1 {
						t.Errorf("bin %d holds %d rows < min_data_in_bin", b, counts[b])
					}
					if tc.name == "many distinct" && float64(counts[b]) > 2.5*mean {
						t.Errorf("bin %d holds %d rows, mean %.0f: not equal-frequency", b, counts[b], mean)
					}
				}
			}
			if tc.name == "heavy value" && counts[m.bin(0)] != countEq(tc.col, 0) {
				t.Errorf("the frequent value 0 shares its bin")
			}
		})
	}
}

func countEq(v []float64, x float64) int {
	n := 0
	for _, a := range v {
		if a == x {
			n++
		}
	}
	return n
}

func TestCategoricalBinning(t *testing.T) {
	// 10 codes with counts 10,20,...; only 4 bins: the 4 most frequent keep one
	var col []float64
	for c := range 10 {
		for range (c + 1) * 10 {
			col = append(col, float64(c))
		}
	}
	col = append(col, math.NaN(), -1, 12, 3.7)
	m := newCategoricalMapper(col, 11, 4)
	if m.nBins != 5 {
		t.Fatalf("%d bins, want 5", m.nBins)
	}
	for _, tc := range []struct {
		v    float64
		want uint8
	}{{6, 1}, {7, 2}, {8, 3}, {9, 4}, {5, 0}, {0, 0}, {10, 0}, {math.NaN(), 0}, {-1, 0}, {12, 0}, {9.5, 4}} {
		if got := m.bin(tc.v); got != tc.want {
			t.Errorf("bin(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

func TestForestBinMatchesTraining(t *testing.T) {
	m, y := carsLike(2000, 51)
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	for j := range m.Cols {
		counts := make([]int64, len(f.Features[j].BinCounts))
		for i := range m.Rows {
			counts[f.Bin(j, m.Row(i)[j])]++
		}
		for b, c := range counts {
			if c != f.Features[j].BinCounts[b] {
				t.Fatalf("feature %d bin %d: Bin() counts %d, training %d", j, b, c, f.Features[j].BinCounts[b])
			}
		}
	}
	if f.Bin(-1, 0) != -1 || f.Bin(99, 0) != -1 {
		t.Error("Bin out of range feature should be -1")
	}
}
