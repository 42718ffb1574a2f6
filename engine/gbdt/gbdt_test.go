package gbdt

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// simple builds a numeric/categorical matrix from a row generator.
func simple(n, cols int, kinds []Kind, numCats []int, seed uint64, gen func(rng *rand.Rand, row []float64) float64) (Matrix, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := Matrix{Rows: n, Cols: cols, Data: make([]float64, n*cols), Kinds: kinds, NumCats: numCats}
	y := make([]float64, n)
	for i := range n {
		y[i] = gen(rng, m.Data[i*cols:(i+1)*cols])
	}
	return m, y
}

func numKinds(c int) ([]Kind, []int) { return make([]Kind, c), make([]int, c) }

func TestLearnsSimpleFunctions(t *testing.T) {
	nk, nc := numKinds(3)
	cases := []struct {
		name    string
		kinds   []Kind
		cats    []int
		gen     func(rng *rand.Rand, r []float64) float64
		maxFrac float64 // test RMSE must be below this fraction of the mean baseline
	}{
		{"step", nk, nc, func(rng *rand.Rand, r []float64) float64 {
			r[0], r[1], r[2] = rng.Float64(), rng.Float64(), rng.Float64()
			if r[0] > 0.5 {
				return 10 + 0.1*rng.NormFloat64()
			}
			return 0.1 * rng.NormFloat64()
		}, 0.05},
		{"additive", nk, nc, func(rng *rand.Rand, r []float64) float64 {
			r[0], r[1], r[2] = rng.Float64()*4, rng.Float64()*4, rng.NormFloat64()
			return math.Sin(r[0]) + 0.5*r[1]*r[1] + 0.2*rng.NormFloat64()
		}, 0.15},
		{"categorical interaction", []Kind{Categorical, Categorical, Numeric}, []int{7, 5, 0}, func(rng *rand.Rand, r []float64) float64 {
			a, b := rng.IntN(7), rng.IntN(5)
			r[0], r[1], r[2] = float64(a), float64(b), rng.Float64()
			v := 0.0
			if (a%3 == 0) != (b%2 == 0) {
				v = 5
			}
			return v + r[2] + 0.1*rng.NormFloat64()
		}, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, y := simple(6000, 3, tc.kinds, tc.cats, 11, tc.gen)
			tr, ytr := sliceRows(m, y, 0, 5000)
			te, yte := sliceRows(m, y, 5000, 6000)
			f := mustTrain(t, tr, ytr, nil, nil, DefaultParams())
			got, base := rmseOf(f, te, yte), stdOf(yte)
			if got > tc.maxFrac*base {
				t.Errorf("test RMSE %.4g > %.2f x baseline %.4g", got, tc.maxFrac, base)
			}
		})
	}
}

func TestMissingDirectionLearned(t *testing.T) {
	// NaN carries the signal: missing x0 means y = 8, otherwise y = x0 in [0,1].
	nk, nc := numKinds(2)
	m, y := simple(4000, 2, nk, nc, 3, func(rng *rand.Rand, r []float64) float64 {
		r[1] = rng.Float64()
		if rng.Float64() < 0.3 {
			r[0] = math.NaN()
			return 8
		}
		r[0] = rng.Float64()
		return r[0]
	})
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	for _, tc := range []struct {
		x0, want float64
	}{{math.NaN(), 8}, {0.1, 0.1}, {0.9, 0.9}} {
		if got := f.Predict([]float64{tc.x0, 0.5}); math.Abs(got-tc.want) > 0.15 {
			t.Errorf("Predict(x0=%v) = %.3f, want ~%v", tc.x0, got, tc.want)
		}
	}
	// x1 never had NaN in training: NaN follows the larger child at each
	// node, never a panic, and the result is finite.
	if got := f.Predict([]float64{0.5, math.NaN()}); math.IsNaN(got) || math.IsInf(got, 0) {
		t.Errorf("NaN on a feature without training NaN gave %v", got)
	}
}

func TestNaNWithoutTrainingNaNFollowsLargerChild(t *testing.T) {
	nk, nc := numKinds(1)
	// 80% of rows have x < 0.8; a single split at ~0.8 is learned
	m, y := simple(2000, 1, nk, nc, 5, func(rng *rand.Rand, r []float64) float64 {
		r[0] = rng.Float64()
		if r[0] < 0.8 {
			return 0
		}
		return 10
	})
	p := DefaultParams()
	p.NumLeaves = 2
	p.Trees = 1
	p.LearningRate = 1
	f := mustTrain(t, m, y, nil, nil, p)
	if f.DecisionType[0]&DecisionDefaultLeft == 0 {
		t.Fatalf("root should send NaN left (the larger side); decision type %d", f.DecisionType[0])
	}
	if got, want := f.Predict([]float64{math.NaN()}), f.Predict([]float64{0.1}); got != want {
		t.Errorf("NaN predicted %v, want the larger (left) child's %v", got, want)
	}
}

func TestNativeCategoricalBeatsOrdinal(t *testing.T) {
	// 60 levels with random effects in shuffled order: ordinal codes need
	// many splits, a categorical split groups them at once.
	rng := rand.New(rand.NewPCG(9, 9))
	effect := make([]float64, 60)
	for i := range effect {
		effect[i] = rng.NormFloat64() * 10
	}
	gen := func(rng *rand.Rand, r []float64) float64 {
		c := rng.IntN(60)
		r[0], r[1] = float64(c), rng.Float64()
		return effect[c] + r[1] + rng.NormFloat64()
	}
	mc, y := simple(12000, 2, []Kind{Categorical, Numeric}, []int{60, 0}, 4, gen)
	mo := mc
	mo.Kinds, mo.NumCats = []Kind{Numeric, Numeric}, []int{0, 0}
	p := DefaultParams()
	p.Trees, p.NumLeaves = 20, 8
	var rm [2]float64
	for i, m := range []Matrix{mc, mo} {
		tr, ytr := sliceRows(m, y, 0, 10000)
		te, yte := sliceRows(m, y, 10000, 12000)
		rm[i] = rmseOf(mustTrain(t, tr, ytr, nil, nil, p), te, yte)
	}
	if !(rm[0] < 0.9*rm[1]) {
		t.Errorf("native categorical RMSE %.3f not clearly below ordinal %.3f", rm[0], rm[1])
	}
}

func TestUnseenAndMissingCategoriesGoRight(t *testing.T) {
	m, y := simple(3000, 1, []Kind{Categorical}, []int{6}, 2, func(rng *rand.Rand, r []float64) float64 {
		c := rng.IntN(6)
		r[0] = float64(c)
		return float64(c * c)
	})
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	c := f.compiled()
	for _, v := range []float64{math.NaN(), -1, 6, 1e9, math.Inf(1), math.Inf(-1)} {
		got := f.Predict([]float64{v})
		// walk the trees sending every categorical decision right
		sum := 0.0
		for _, n := range c.roots {
			for n >= 0 {
				nd := &c.nodes[n]
				if nd.info&1 != 0 {
					n = nd.child[1]
				} else {
					n = c.next(nd, v)
				}
			}
			sum += c.leaf[^n]
		}
		if want := c.base + sum; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("code %v: Predict = %v, want all-right path %v", v, got, c.base+sum)
		}
	}
}

func TestEarlyStoppingTruncates(t *testing.T) {
	nk, nc := numKinds(4)
	m, y := simple(3000, 4, nk, nc, 8, func(rng *rand.Rand, r []float64) float64 {
		for j := range r {
			r[j] = rng.Float64()
		}
		return r[0] + 3*rng.NormFloat64() // mostly noise: overfits quickly
	})
	tr, ytr := sliceRows(m, y, 0, 2000)
	va, yva := sliceRows(m, y, 2000, 3000)
	p := DefaultParams()
	p.Trees, p.EarlyStoppingRounds, p.LearningRate = 400, 10, 0.3
	var events []Progress
	f, err := Train(t.Context(), tr, ytr, &va, yva, p, func(pr Progress) { events = append(events, pr) })
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if len(events) >= 400 || last.Tree-last.BestTree != 10 {
		t.Fatalf("did not stop early: %d trees run, last event %+v", len(events), last)
	}
	if f.NumTrees() != last.BestTree || f.BestIteration != last.BestTree {
		t.Errorf("kept %d trees (BestIteration %d), want best %d", f.NumTrees(), f.BestIteration, last.BestTree)
	}
	if got := rmseOf(f, va, yva); math.Abs(got-f.BestValidLoss) > 1e-9*got {
		t.Errorf("valid RMSE of kept model %v != recorded best %v", got, f.BestValidLoss)
	}
	for _, e := range events {
		if e.ValidLoss < f.BestValidLoss-1e-12 {
			t.Errorf("event %+v beat the kept best %v", e, f.BestValidLoss)
		}
	}
	if _, err := Train(t.Context(), tr, ytr, nil, nil, p, nil); err == nil || !strings.Contains(err.Error(), "EarlyStoppingRounds") {
		t.Errorf("early stopping without valid: err = %v", err)
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	m, y := carsLike(30000, 1)
	gb := DefaultParams()
	gb.Trees = 15
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 4, 500
	bag := DefaultParams()
	bag.Trees, bag.BaggingFraction, bag.FeatureFraction, bag.Seed = 10, 0.7, 0.7, 42
	for _, tc := range []struct {
		name string
		p    Params
	}{{"gbdt", gb}, {"random_forest", rf}, {"gbdt bagging", bag}} {
		t.Run(tc.name, func(t *testing.T) {
			var out [3][]byte
			for i, th := range []int{1, 2, 3} {
				p := tc.p
				p.Threads = th
				b, err := mustTrain(t, m, y, nil, nil, p).MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				out[i] = b
			}
			if !bytes.Equal(out[0], out[1]) || !bytes.Equal(out[0], out[2]) {
				t.Errorf("models differ across thread counts (%d, %d, %d bytes)", len(out[0]), len(out[1]), len(out[2]))
			}
		})
	}
}

func TestSeedChangesBaggedModel(t *testing.T) {
	m, y := carsLike(3000, 2)
	p := DefaultParams()
	p.Trees, p.BaggingFraction = 5, 0.5
	a, _ := mustTrain(t, m, y, nil, nil, p).MarshalBinary()
	p.Seed = 99
	b, _ := mustTrain(t, m, y, nil, nil, p).MarshalBinary()
	if bytes.Equal(a, b) {
		t.Error("different seeds gave identical bagged models")
	}
}

func TestRandomForest(t *testing.T) {
	m, y := carsLike(6000, 3)
	tr, ytr := sliceRows(m, y, 0, 5000)
	te, yte := sliceRows(m, y, 5000, 6000)
	p := DefaultRFParams()
	p.Trees = 30
	f := mustTrain(t, tr, ytr, nil, nil, p)
	if f.NumTrees() != 30 || f.Mode != ModeRandomForest {
		t.Fatalf("trees %d mode %s", f.NumTrees(), f.Mode)
	}
	if got, base := rmseOf(f, te, yte), stdOf(yte); got > 0.5*base {
		t.Errorf("RF test RMSE %.0f > 0.5 x baseline %.0f", got, base)
	}
	// the prediction is the base plus the mean of the trees
	row := te.Row(0)
	c := f.compiled()
	sum := 0.0
	for _, n := range c.roots {
		for n >= 0 {
			n = c.next(&c.nodes[n], row[c.nodes[n].feat])
		}
		sum += c.leaf[^n]
	}
	if want := f.BaseScore + sum/30; math.Abs(f.Predict(row)-want) > 1e-9*math.Abs(want) {
		t.Errorf("Predict %v, want base + mean of trees %v", f.Predict(row), want)
	}
	if deep := f.TreeLeaves[1] - f.TreeLeaves[0]; deep < 200 {
		t.Errorf("RF tree has only %d leaves; want deep trees", deep)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m, y := carsLike(4000, 4)
	for _, p := range []Params{DefaultParams(), func() Params { p := DefaultRFParams(); p.Trees = 5; return p }()} {
		t.Run(p.Mode, func(t *testing.T) {
			f := mustTrain(t, m, y, nil, nil, p)
			b, err := f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var g Forest
			if err := g.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			for i := range m.Rows {
				if a, b := f.Predict(m.Row(i)), g.Predict(m.Row(i)); a != b {
					t.Fatalf("row %d: %v != %v after round trip", i, a, b)
				}
			}
			b2, _ := g.MarshalBinary()
			if !bytes.Equal(b, b2) {
				t.Error("re-marshalled bytes differ")
			}
			if len(b) > 200_000 && p.Mode == ModeGBDT {
				t.Errorf("model is %d bytes; want compact", len(b))
			}
		})
	}
}

func TestPredictDoesNotAllocate(t *testing.T) {
	m, y := carsLike(3000, 5)
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	row := m.Row(17)
	f.Predict(row)
	if n := testing.AllocsPerRun(100, func() { f.Predict(row) }); n != 0 {
		t.Errorf("Predict allocates %v times", n)
	}
}

func TestPredictBatchMatchesPredict(t *testing.T) {
	m, y := carsLike(3000, 6)
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	for _, th := range []int{0, 1, 2, 5} {
		out := make([]float64, m.Rows)
		f.PredictBatch(m, out, th)
		for i := range out {
			if out[i] != f.Predict(m.Row(i)) {
				t.Fatalf("threads %d row %d: batch %v != single %v", th, i, out[i], f.Predict(m.Row(i)))
			}
		}
	}
	if got := f.Predict(make([]float64, 3)); !math.IsNaN(got) {
		t.Errorf("short row: %v, want NaN", got)
	}
}

func TestFeatureImportance(t *testing.T) {
	nk, nc := numKinds(3)
	m, y := simple(3000, 3, nk, nc, 12, func(rng *rand.Rand, r []float64) float64 {
		r[0], r[1], r[2] = rng.Float64(), rng.Float64(), rng.Float64()
		return 10*r[1] + 0.1*r[0]
	})
	imp := mustTrain(t, m, y, nil, nil, DefaultParams()).FeatureImportance()
	if len(imp) != 3 || !(imp[1] > 10*imp[0]) || !(imp[1] > 10*imp[2]) {
		t.Errorf("importance %v: want feature 1 dominant", imp)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	good, y := carsLike(200, 7)
	valid, yv := carsLike(50, 8)
	clone := func(m Matrix) Matrix {
		m.Data = append([]float64(nil), m.Data...)
		m.Kinds = append([]Kind(nil), m.Kinds...)
		m.NumCats = append([]int(nil), m.NumCats...)
		return m
	}
	cases := []struct {
		name   string
		mutate func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params)
		want   string
	}{
		{"len(y) != Rows", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { *y = (*y)[:10] }, "len = 10"},
		{"NaN target", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) {
			*y = append([]float64(nil), *y...)
			(*y)[5] = math.NaN()
		}, "row 5"},
		{"Inf target", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) {
			*y = append([]float64(nil), *y...)
			(*y)[9] = math.Inf(-1)
		}, "row 9"},
		{"zero rows", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) {
			m.Rows, m.Data, *y = 0, nil, nil
		}, "Rows = 0"},
		{"data length", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { m.Data = m.Data[:5] }, "len(Data)"},
		{"kinds length", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { m.Kinds = m.Kinds[:3] }, "len(Kinds)"},
		{"numcats length", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { m.NumCats = nil }, "len(NumCats)"},
		{"categorical without levels", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { m.NumCats[6] = 0 }, "model"},
		{"valid cols", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) {
			vv := clone(**v)
			vv.Cols, vv.Kinds, vv.NumCats, vv.Names = 11, vv.Kinds[:11], vv.NumCats[:11], vv.Names[:11]
			vv.Data = vv.Data[:vv.Rows*11]
			*v = &vv
		}, "valid matrix: Cols = 11"},
		{"valid kinds differ", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) {
			vv := clone(**v)
			vv.NumCats[7] = 20
			*v = &vv
		}, "brand"},
		{"valid targets", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { *yv = (*yv)[:3] }, "valid targets"},
		{"bad params", func(m *Matrix, y *[]float64, v **Matrix, yv *[]float64, p *Params) { p.NumLeaves = 1 }, "NumLeaves"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, yy, v, vy, p := clone(good), y, &valid, yv, DefaultParams()
			tc.mutate(&m, &yy, &v, &vy, &p)
			_, err := Train(t.Context(), m, yy, v, vy, p, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestParamsValidateNamesField(t *testing.T) {
	cases := []struct {
		field string
		set   func(p *Params)
	}{
		{"Mode", func(p *Params) { p.Mode = "dart" }},
		{"Trees", func(p *Params) { p.Trees = 0 }},
		{"LearningRate", func(p *Params) { p.LearningRate = math.NaN() }},
		{"NumLeaves", func(p *Params) { p.NumLeaves = 1 }},
		{"MaxDepth", func(p *Params) { p.MaxDepth = 0 }},
		{"MinDataInLeaf", func(p *Params) { p.MinDataInLeaf = 0 }},
		{"MinSumHessian", func(p *Params) { p.MinSumHessian = -1 }},
		{"LambdaL2", func(p *Params) { p.LambdaL2 = math.Inf(1) }},
		{"MaxBin", func(p *Params) { p.MaxBin = 256 }},
		{"EarlyStoppingRounds", func(p *Params) { p.EarlyStoppingRounds = -1 }},
		{"Threads", func(p *Params) { p.Threads = -2 }},
		{"MaxCatToOnehot", func(p *Params) { p.MaxCatToOnehot = 0 }},
		{"MaxCatThreshold", func(p *Params) { p.MaxCatThreshold = 0 }},
		{"MinDataPerGroup", func(p *Params) { p.MinDataPerGroup = 0 }},
		{"CatSmooth", func(p *Params) { p.CatSmooth = -1 }},
		{"CatL2", func(p *Params) { p.CatL2 = -1 }},
		{"BaggingFraction", func(p *Params) { p.BaggingFraction = 0 }},
		{"FeatureFraction", func(p *Params) { p.FeatureFraction = 1.5 }},
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if err := DefaultRFParams().Validate(); err != nil {
		t.Fatalf("RF defaults invalid: %v", err)
	}
	for _, tc := range cases {
		p := DefaultParams()
		tc.set(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

func TestContextCancellation(t *testing.T) {
	m, y := carsLike(2000, 9)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Train(ctx, m, y, nil, nil, DefaultParams(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("pre-cancelled: err = %v", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	trees := 0
	_, err := Train(ctx, m, y, nil, nil, DefaultParams(), func(p Progress) {
		trees = p.Tree
		if p.Tree == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || trees != 3 {
		t.Errorf("cancel after tree 3: err = %v, trees = %d", err, trees)
	}
}

func TestProgressEvents(t *testing.T) {
	m, y := carsLike(2000, 10)
	p := DefaultParams()
	p.Trees = 12
	var ev []Progress
	mustTrain(t, m, y, nil, nil, p)
	if _, err := Train(t.Context(), m, y, nil, nil, p, func(pr Progress) { ev = append(ev, pr) }); err != nil {
		t.Fatal(err)
	}
	if len(ev) != 12 {
		t.Fatalf("%d events, want 12", len(ev))
	}
	for i, e := range ev {
		if e.Tree != i+1 || e.Total != 12 || e.BestTree != i+1 {
			t.Errorf("event %d = %+v", i, e)
		}
		if i > 0 && e.TrainLoss > ev[i-1].TrainLoss {
			t.Errorf("train loss rose at tree %d: %v > %v", e.Tree, e.TrainLoss, ev[i-1].TrainLoss)
		}
	}
}

func TestFastPredictMatchesReferenceOnOddInputs(t *testing.T) {
	m, y := carsLike(4000, 61)
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 7, 300
	odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, -0.5, -1e-300, 0, 0.5, 1e300, -1e300, 99.9, 100, 127.5, 128, 1 << 40, math.MaxFloat64}
	for _, p := range []Params{DefaultParams(), rf} {
		f := mustTrain(t, m, y, nil, nil, p)
		c := f.compiled()
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range 5000 {
			row := append([]float64(nil), m.Row(i%m.Rows)...)
			for j := range row {
				if rng.IntN(3) == 0 {
					row[j] = odd[rng.IntN(len(odd))]
				}
			}
			// same decisions; only the order of summing tree outputs differs
			if got, want := f.Predict(row), refPredict(c, row); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s row %v: fast %v, reference %v", p.Mode, row, got, want)
			}
		}
	}
}

func TestTrainEdgeCases(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name  string
		m     Matrix
		y     []float64
		check func(t *testing.T, f *Forest)
	}{
		{"one row", Matrix{Rows: 1, Cols: 1, Data: []float64{3}, Kinds: []Kind{Numeric}, NumCats: []int{0}}, []float64{42},
			func(t *testing.T, f *Forest) {
				if got := f.Predict([]float64{0}); got != 42 {
					t.Errorf("predict %v, want 42", got)
				}
			}},
		{"constant target", Matrix{Rows: 100, Cols: 1, Data: seq(100), Kinds: []Kind{Numeric}, NumCats: []int{0}}, fill(100, 7),
			func(t *testing.T, f *Forest) {
				if len(f.SplitFeature) != 0 || f.Predict([]float64{5}) != 7 {
					t.Errorf("%d splits, predict %v", len(f.SplitFeature), f.Predict([]float64{5}))
				}
			}},
		{"all-NaN column beside a useful one", Matrix{Rows: 100, Cols: 2, Data: interleave(fill(100, nan), seq(100)), Kinds: []Kind{Numeric, Numeric}, NumCats: []int{0, 0}}, seq(100),
			func(t *testing.T, f *Forest) {
				if imp := f.FeatureImportance(); imp[0] != 0 || imp[1] <= 0 {
					t.Errorf("importance %v", imp)
				}
			}},
		{"single category", Matrix{Rows: 50, Cols: 1, Data: fill(50, 0), Kinds: []Kind{Categorical}, NumCats: []int{3}}, seq(50),
			func(t *testing.T, f *Forest) {
				if v := f.Predict([]float64{2}); math.Abs(v-24.5) > 1e-9 {
					t.Errorf("predict %v, want the mean 24.5", v)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.Trees, p.MinDataInLeaf = 5, 5
			f := mustTrain(t, tc.m, tc.y, nil, nil, p)
			if f.NumTrees() != 5 {
				t.Fatalf("%d trees", f.NumTrees())
			}
			tc.check(t, f)
			b, err := f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var g Forest
			if err := g.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			var buf strings.Builder
			if err := f.WriteLightGBM(&buf); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func seq(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)
	}
	return v
}

func fill(n int, x float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

func interleave(a, b []float64) []float64 {
	v := make([]float64, 0, 2*len(a))
	for i := range a {
		v = append(v, a[i], b[i])
	}
	return v
}

func TestConcurrentFirstUse(t *testing.T) {
	m, y := carsLike(2000, 71)
	f := mustTrain(t, m, y, nil, nil, DefaultParams())
	want := make([]float64, 50)
	results := make(chan []float64, 4)
	for range 4 {
		go func() {
			out := make([]float64, 50)
			sh := make([]float64, m.Cols)
			for i := range out {
				out[i] = f.Predict(m.Row(i))
				f.Contributions(m.Row(i), sh)
			}
			results <- out
		}()
	}
	for i := range want {
		want[i] = f.Predict(m.Row(i))
	}
	for range 4 {
		got := <-results
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("row %d: %v != %v", i, got[i], want[i])
			}
		}
	}
}
