package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestContributionsAdditivity(t *testing.T) {
	m, y := carsLike(3000, 21)
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 10, 300
	for _, p := range []Params{DefaultParams(), rf} {
		t.Run(p.Mode, func(t *testing.T) {
			f := mustTrain(t, m, y, nil, nil, p)
			rng := rand.New(rand.NewPCG(3, 3))
			out := make([]float64, m.Cols)
			for range 300 {
				row := append([]float64(nil), m.Row(rng.IntN(m.Rows))...)
				// perturb: NaN anywhere, unseen categories, out-of-range numbers
				for j := range row {
					switch rng.IntN(10) {
					case 0:
						row[j] = math.NaN()
					case 1:
						if m.Kinds[j] == Categorical {
							row[j] = float64(m.NumCats[j] + 3)
						} else {
							row[j] *= 10
						}
					}
				}
				base := f.Contributions(row, out)
				sum := base
				for _, v := range out {
					sum += v
				}
				pred := f.Predict(row)
				if math.Abs(sum-pred) > 1e-6*math.Max(1, math.Abs(pred)) {
					t.Fatalf("base %v + Σφ = %v, Predict = %v", base, sum, pred)
				}
			}
		})
	}
}

// pathDependentValue is E[f(x) | x_S] as TreeSHAP defines it: features in
// S follow the row, others average the children by training cover.
func pathDependentValue(c *compiled, row []float64, inS []bool) float64 {
	var walk func(n int32) float64
	walk = func(n int32) float64 {
		if n < 0 {
			return c.leaf[^n]
		}
		nd := &c.nodes[n]
		if inS[nd.feat] {
			return walk(c.next(nd, row[nd.feat]))
		}
		l, r := nd.child[0], nd.child[1]
		return (c.cover(l)*walk(l) + c.cover(r)*walk(r)) / c.cover(n)
	}
	v := c.base
	for _, root := range c.roots {
		v += c.scale * walk(root)
	}
	return v
}

func TestContributionsMatchBruteForceShapley(t *testing.T) {
	const M = 4
	rng := rand.New(rand.NewPCG(5, 5))
	m := Matrix{Rows: 2000, Cols: M, Data: make([]float64, 2000*M),
		Kinds: []Kind{Numeric, Numeric, Categorical, Numeric}, NumCats: []int{0, 0, 8, 0}}
	y := make([]float64, m.Rows)
	for i := range m.Rows {
		r := m.Row(i)
		r[0], r[1], r[2], r[3] = rng.Float64(), rng.Float64(), float64(rng.IntN(8)), rng.NormFloat64()
		if rng.Float64() < 0.2 {
			r[1] = math.NaN()
		}
		y[i] = 3*r[0] + 2*float64(int(r[2])%3) + r[3]*r[0] + rng.NormFloat64()*0.1
		if math.IsNaN(r[1]) {
			y[i] += 2
		} else {
			y[i] += r[1] * r[0] * 4
		}
	}
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 3, 20
	gb := DefaultParams()
	gb.Trees, gb.NumLeaves, gb.MinDataInLeaf = 6, 12, 10
	fact := func(n int) float64 { return math.Gamma(float64(n) + 1) }
	for _, p := range []Params{gb, rf} {
		t.Run(p.Mode, func(t *testing.T) {
			f := mustTrain(t, m, y, nil, nil, p)
			c := f.compiled()
			out := make([]float64, M)
			for k := range 25 {
				row := append([]float64(nil), m.Row(k*37)...)
				if k%5 == 0 {
					row[k%M] = math.NaN()
				}
				f.Contributions(row, out)
				for i := range M {
					phi := 0.0
					for mask := range 1 << M {
						if mask&(1<<i) != 0 {
							continue
						}
						inS := make([]bool, M)
						s := 0
						for j := range M {
							if mask&(1<<j) != 0 {
								inS[j] = true
								s++
							}
						}
						without := pathDependentValue(c, row, inS)
						inS[i] = true
						with := pathDependentValue(c, row, inS)
						phi += fact(s) * fact(M-s-1) / fact(M) * (with - without)
					}
					if math.Abs(phi-out[i]) > 1e-9*math.Max(1, math.Abs(phi)) {
						t.Errorf("row %d feature %d: TreeSHAP %v, brute force %v", k, i, out[i], phi)
					}
				}
			}
		})
	}
}

func TestContributionsBadArgs(t *testing.T) {
	m, y := carsLike(500, 22)
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	out := make([]float64, 3)
	if b := f.Contributions(m.Row(0), out); !math.IsNaN(b) {
		t.Errorf("short out: base %v, want NaN", b)
	}
	if b := f.Contributions(m.Row(0)[:4], make([]float64, 12)); !math.IsNaN(b) {
		t.Errorf("short row: base %v, want NaN", b)
	}
}
