package gbdt

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// forestSpec shapes a hand-built random forest.
type forestSpec struct {
	numCats   []int // per feature: 0 numeric, else categorical with that many codes
	trees     int
	minLeaves int
	maxLeaves int
	maxDepth  int
	repeat    float64 // chance a node splits on its parent's feature
	chain     float64 // chance the next split is on the newest leaf (deep, thin trees)
	mode      string
}

// randomForest builds a valid forest directly in the flat layout, with
// consistent covers (a node's count is its children's sum), random
// thresholds, default-left flags and categorical left-sets.
func randomForest(t testing.TB, rng *rand.Rand, s forestSpec) *Forest {
	t.Helper()
	f := &Forest{FormatVersion: formatVersion, Mode: s.mode, BaseScore: rng.NormFloat64() * 100,
		TreeNodes: []int32{0}, TreeLeaves: []int32{0}, CatBoundaries: []int32{0}}
	if f.Mode == "" {
		f.Mode = ModeGBDT
	}
	for j, nc := range s.numCats {
		fi := FeatureInfo{Name: string(rune('a' + j)), Kind: Numeric}
		if nc > 0 {
			fi.Kind, fi.NumCats = Categorical, nc
		}
		f.Features = append(f.Features, fi)
	}
	type tnode struct {
		leaf        bool
		depth, feat int
		kids        [2]int
		count       int32
	}
	for range s.trees {
		nl := s.minLeaves + rng.IntN(s.maxLeaves-s.minLeaves+1)
		tn := []tnode{{leaf: true, feat: -1}}
		open := []int{0} // splittable leaves
		for leaves := 1; leaves < nl && len(open) > 0; leaves++ {
			k := rng.IntN(len(open))
			if rng.Float64() < s.chain {
				k = len(open) - 1
			}
			id := open[k]
			open = append(open[:k], open[k+1:]...)
			feat := rng.IntN(len(s.numCats))
			if p := tn[id].feat; p >= 0 && rng.Float64() < s.repeat {
				feat = p
			}
			d := tn[id].depth + 1
			l, r := len(tn), len(tn)+1
			tn = append(tn, tnode{leaf: true, depth: d, feat: feat}, tnode{leaf: true, depth: d, feat: feat})
			tn[id].leaf, tn[id].kids = false, [2]int{l, r}
			if d < s.maxDepth {
				open = append(open, l, r)
			}
		}
		// tn[i].feat of a leaf holds its parent's feature (for repeats);
		// nodes get their own below
		var count func(i int) int32
		count = func(i int) int32 {
			if tn[i].leaf {
				tn[i].count = 1 + rng.Int32N(500)
			} else {
				tn[i].count = count(tn[i].kids[0]) + count(tn[i].kids[1])
			}
			return tn[i].count
		}
		count(0)
		n0, l0 := int32(len(f.SplitFeature)), int32(len(f.LeafValue))
		var emit func(i int) int32 // returns the tree-local child reference
		emit = func(i int) int32 {
			if tn[i].leaf {
				f.LeafValue = append(f.LeafValue, rng.NormFloat64()*10)
				f.LeafCount = append(f.LeafCount, tn[i].count)
				return ^(int32(len(f.LeafValue)) - 1 - l0)
			}
			k := len(f.SplitFeature)
			feat := tn[tn[i].kids[0]].feat
			f.SplitFeature = append(f.SplitFeature, int32(feat))
			f.LeftChild, f.RightChild = append(f.LeftChild, 0), append(f.RightChild, 0)
			f.SplitGain, f.NodeValue = append(f.SplitGain, 1), append(f.NodeValue, 0)
			f.NodeCount = append(f.NodeCount, tn[i].count)
			if nc := s.numCats[feat]; nc > 0 {
				words := make([]uint32, (nc+31)/32)
				for c := range nc {
					if rng.IntN(2) == 0 {
						words[c/32] |= 1 << (c % 32)
					}
				}
				f.Threshold = append(f.Threshold, float64(len(f.CatBoundaries)-1))
				f.DecisionType = append(f.DecisionType, DecisionCategorical)
				f.CatThreshold = append(f.CatThreshold, words...)
				f.CatBoundaries = append(f.CatBoundaries, int32(len(f.CatThreshold)))
			} else {
				f.Threshold = append(f.Threshold, float64(rng.IntN(21)-10)/2)
				dt := uint8(0)
				if rng.IntN(2) == 0 {
					dt = DecisionDefaultLeft
				}
				f.DecisionType = append(f.DecisionType, dt)
			}
			l := emit(tn[i].kids[0])
			r := emit(tn[i].kids[1])
			f.LeftChild[k], f.RightChild[k] = l, r
			return int32(k) - n0
		}
		emit(0)
		f.TreeNodes = append(f.TreeNodes, int32(len(f.SplitFeature)))
		f.TreeLeaves = append(f.TreeLeaves, int32(len(f.LeafValue)))
	}
	f.BestIteration = f.NumTrees()
	if err := f.Check(); err != nil {
		t.Fatalf("randomForest: %v", err)
	}
	return f
}

// randomRow draws values around the thresholds randomForest uses, with NaN,
// unseen, negative and fractional categorical codes.
func randomRow(rng *rand.Rand, numCats []int) []float64 {
	row := make([]float64, len(numCats))
	for j, nc := range numCats {
		switch {
		case rng.IntN(7) == 0:
			row[j] = math.NaN()
		case nc == 0:
			row[j] = rng.Float64()*12 - 6
		case rng.IntN(10) == 0:
			row[j] = []float64{-1, float64(nc), float64(nc + 5), 0.5}[rng.IntN(4)]
		default:
			row[j] = float64(rng.IntN(nc))
		}
	}
	return row
}

// closeTo reports whether got matches want to within rel, relative to the
// larger of |want| and floor (for values that cancel to near zero).
func closeTo(got, want, rel, floor float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), floor)
}

func sumAbs(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += math.Abs(x)
	}
	return s
}

// checkAgainstReference compares the fast path, Contributions and the
// reference on rows, and checks additivity against Predict.
func checkAgainstReference(t *testing.T, f *Forest, rows [][]float64) {
	t.Helper()
	c := f.compiled()
	nf := f.NumFeatures()
	ref, fast, pub := make([]float64, nf), make([]float64, nf), make([]float64, nf)
	for r, row := range rows {
		b0 := f.contributionsReference(row, ref)
		b1, ok := c.contributionsFast(row, fast)
		if !ok {
			t.Fatalf("fast path refused a forest inside its bounds")
		}
		b2 := f.Contributions(row, pub)
		if !closeTo(b1, b0, 1e-12, 1) || b2 != b1 {
			t.Fatalf("row %d: base fast %v, Contributions %v, reference %v", r, b1, b2, b0)
		}
		// a feature whose contributions cancel has no meaningful relative
		// error; 1e-9 of the row's largest contribution bounds it instead
		floor := 1e-3 * sumAbs(ref) / float64(nf)
		for i := range nf {
			if !closeTo(fast[i], ref[i], 1e-9, floor) || pub[i] != fast[i] {
				t.Fatalf("row %d feature %d: fast %v, Contributions %v, reference %v (row %v)", r, i, fast[i], pub[i], ref[i], row)
			}
		}
		sum := b1
		for _, v := range fast {
			sum += v
		}
		if pred := f.Predict(row); !closeTo(sum, pred, 1e-9, sumAbs(fast)+math.Abs(b1)) {
			t.Fatalf("row %d: base + Σφ = %v, Predict = %v", r, sum, pred)
		}
	}
}

func TestContributionsFastMatchesReference(t *testing.T) {
	cases := []struct {
		name string
		spec forestSpec
	}{
		{"small numeric", forestSpec{numCats: []int{0, 0, 0}, trees: 20, minLeaves: 2, maxLeaves: 8, maxDepth: 6, repeat: 0.3}},
		{"mixed wide", forestSpec{numCats: []int{0, 0, 5, 0, 100, 3, 0, 19, 0, 13, 0}, trees: 40, minLeaves: 2, maxLeaves: 255, maxDepth: 20, repeat: 0.2, chain: 0.3}},
		{"deep chains", forestSpec{numCats: []int{0, 7, 0, 0, 2}, trees: 30, minLeaves: 20, maxLeaves: 60, maxDepth: 20, repeat: 0.1, chain: 0.9}},
		{"one feature repeated", forestSpec{numCats: []int{0, 4}, trees: 10, minLeaves: 2, maxLeaves: 40, maxDepth: 20, repeat: 0.95, chain: 0.5}},
		{"many hot features", forestSpec{numCats: make([]int, 24), trees: 10, minLeaves: 100, maxLeaves: 255, maxDepth: 20, chain: 0.6}},
		{"random forest mode", forestSpec{numCats: []int{0, 3, 0, 0, 9, 0}, trees: 7, minLeaves: 2, maxLeaves: 200, maxDepth: 14, repeat: 0.2, mode: ModeRandomForest}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			f := randomForest(t, rng, tc.spec)
			rows := make([][]float64, 200)
			for r := range rows {
				rows[r] = randomRow(rng, tc.spec.numCats)
			}
			checkAgainstReference(t, f, rows)
		})
	}
}

func TestContributionsFastOnTrainedForests(t *testing.T) {
	m, y := carsLike(3000, 31)
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 3, 1000
	gb := DefaultParams()
	gb.Trees, gb.NumLeaves = 30, 127
	for _, p := range []Params{gb, rf} {
		t.Run(p.Mode, func(t *testing.T) {
			f := mustTrain(t, m, y, nil, nil, p)
			rng := rand.New(rand.NewPCG(9, 9))
			rows := make([][]float64, 200)
			for r := range rows {
				row := append([]float64(nil), m.Row(rng.IntN(m.Rows))...)
				for j := range row {
					switch rng.IntN(8) {
					case 0:
						row[j] = math.NaN()
					case 1:
						if m.Kinds[j] == Categorical {
							row[j] = float64(m.NumCats[j] + rng.IntN(3))
						} else {
							row[j] *= 3
						}
					}
				}
				rows[r] = row
			}
			checkAgainstReference(t, f, rows)
		})
	}
}

// The fast path must equal the Shapley values of TreeSHAP's value function
// by enumeration, not only agree with the reference implementation.
func TestContributionsFastMatchesBruteForce(t *testing.T) {
	const M = 5
	spec := forestSpec{numCats: []int{0, 6, 0, 0, 3}, trees: 6, minLeaves: 2, maxLeaves: 30, maxDepth: 12, repeat: 0.4, chain: 0.4}
	rng := rand.New(rand.NewPCG(21, 21))
	f := randomForest(t, rng, spec)
	c := f.compiled()
	fact := func(n int) float64 { return math.Gamma(float64(n) + 1) }
	out := make([]float64, M)
	for r := range 40 {
		row := randomRow(rng, spec.numCats)
		if _, ok := c.contributionsFast(row, out); !ok {
			t.Fatal("fast path refused")
		}
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
			if !closeTo(out[i], phi, 1e-9, 1) {
				t.Errorf("row %d feature %d: fast %v, brute force %v", r, i, out[i], phi)
			}
		}
	}
}

// Forests outside the fast path's bounds still get exact values, from the
// reference.
func TestContributionsFallback(t *testing.T) {
	cases := []struct {
		name string
		spec forestSpec
	}{
		{"more than 64 features", forestSpec{numCats: make([]int, 70), trees: 5, minLeaves: 2, maxLeaves: 30, maxDepth: 8}},
		{"categorical codes beyond 126", forestSpec{numCats: []int{0, 300}, trees: 5, minLeaves: 2, maxLeaves: 30, maxDepth: 8}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(40+i), 3))
			f := randomForest(t, rng, tc.spec)
			if _, ok := f.compiled().contributionsFast(randomRow(rng, tc.spec.numCats), make([]float64, len(tc.spec.numCats))); ok {
				t.Fatal("fast path accepted a forest outside its bounds")
			}
			nf := len(tc.spec.numCats)
			got, want := make([]float64, nf), make([]float64, nf)
			for range 20 {
				row := randomRow(rng, tc.spec.numCats)
				b := f.Contributions(row, got)
				if w := f.contributionsReference(row, want); b != w {
					t.Fatalf("base %v, reference %v", b, w)
				}
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("feature %d: %v, reference %v", j, got[j], want[j])
					}
				}
			}
		})
	}
}

// Rows explained at the same time, on the two-goroutine path, give the
// values they get alone (run with -race).
func TestContributionsConcurrent(t *testing.T) {
	spec := forestSpec{numCats: []int{0, 0, 5, 0, 100, 3, 0}, trees: 120, minLeaves: 60, maxLeaves: 127, maxDepth: 16, repeat: 0.2, chain: 0.3}
	rng := rand.New(rand.NewPCG(77, 7))
	f := randomForest(t, rng, spec)
	if f.compiled().shapPlan().size < shapParallelMin {
		t.Fatalf("forest too small (%d) for the parallel path", f.compiled().shapPlan().size)
	}
	rows := make([][]float64, 40)
	want := make([][]float64, len(rows))
	for r := range rows {
		rows[r] = randomRow(rng, spec.numCats)
		want[r] = make([]float64, len(spec.numCats))
		f.contributionsReference(rows[r], want[r])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 6 {
		wg.Go(func() {
			out := make([]float64, len(spec.numCats))
			for k := range 3 * len(rows) {
				r := (k + g*7) % len(rows)
				f.Contributions(rows[r], out)
				for j := range out {
					if !closeTo(out[j], want[r][j], 1e-9, 1e-3*sumAbs(want[r])) {
						errs <- "mismatch under concurrency"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// poolKeeps reports whether sync.Pool returns what was just put: the race
// detector makes it drop items at random, and then every drop allocates.
func poolKeeps() bool {
	var p sync.Pool
	for range 100 {
		x := new(int)
		p.Put(x)
		if p.Get() != x {
			return false
		}
	}
	return true
}

func TestContributionsFastAllocs(t *testing.T) {
	if !poolKeeps() {
		t.Skip("sync.Pool drops items (race detector): allocations are not measurable")
	}
	spec := forestSpec{numCats: []int{0, 0, 5, 0, 100, 3, 0}, trees: 120, minLeaves: 60, maxLeaves: 127, maxDepth: 16, repeat: 0.2}
	rng := rand.New(rand.NewPCG(5, 1))
	f := randomForest(t, rng, spec)
	row := randomRow(rng, spec.numCats)
	out := make([]float64, len(spec.numCats))
	for _, size := range []struct {
		name string
		min  int
	}{{"one goroutine", 1 << 30}, {"two goroutines", 1}} {
		t.Run(size.name, func(t *testing.T) {
			defer func(v int) { shapParallelMin = v }(shapParallelMin)
			shapParallelMin = size.min
			f.Contributions(row, out) // builds the plan and warms the pools
			if a := testing.AllocsPerRun(50, func() { f.Contributions(row, out) }); a != 0 {
				t.Errorf("%v allocations per call, want 0", a)
			}
		})
	}
}
