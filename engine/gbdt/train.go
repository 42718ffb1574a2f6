package gbdt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
)

// Progress is reported after each tree.
type Progress struct {
	Tree, Total int     // trees done (1-based), trees requested
	TrainLoss   float64 // RMSE on the training rows
	ValidLoss   float64 // RMSE on the valid set (0 without one)
	BestTree    int     // trees at the best valid RMSE so far (Tree without a valid set)
}

// scoreChunkRows is the row block for parallel per-row updates.
const scoreChunkRows = 8192

// Train fits a forest on train with targets y (L2 loss). valid may be nil;
// with EarlyStoppingRounds > 0 it is required, and training stops once the
// valid RMSE has not improved for that many trees, keeping the best ones.
// onProgress, if not nil, is called after each tree from the calling
// goroutine. Cancelling ctx stops training promptly with ctx.Err().
// The same data, params and Seed give a byte-identical model whatever the
// thread count.
func Train(ctx context.Context, train Matrix, y []float64, valid *Matrix, yValid []float64, p Params, onProgress func(Progress)) (*Forest, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Mode == "" {
		p.Mode = ModeGBDT
	}
	if err := checkInputs(train, y, valid, yValid, p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	threads := p.Threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	pl := newPool(threads)
	defer pl.close()

	mappers := fitMappers(train, p.MaxBin, pl)
	bd := applyMappers(train, mappers, pl)
	var vb binned
	if valid != nil {
		vb = applyMappers(*valid, mappers, pl)
	}
	t := &trainer{p: p, pl: pl, train: bd, valid: vb, y: y, yValid: yValid, mappers: mappers}
	t.forest = newForest(train, p, mappers, bd)
	if err := t.run(ctx, onProgress); err != nil {
		return nil, err
	}
	return t.forest, nil
}

func checkMatrix(name string, m Matrix, requireRows bool) error {
	if m.Cols <= 0 {
		return fmt.Errorf("%s matrix: Cols = %d, want > 0", name, m.Cols)
	}
	if m.Rows < 0 || (requireRows && m.Rows == 0) {
		return fmt.Errorf("%s matrix: Rows = %d, want > 0", name, m.Rows)
	}
	if m.Rows > math.MaxInt32/2 {
		return fmt.Errorf("%s matrix: Rows = %d, too many", name, m.Rows)
	}
	if len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("%s matrix: len(Data) = %d, want Rows*Cols = %d", name, len(m.Data), m.Rows*m.Cols)
	}
	if len(m.Kinds) != m.Cols {
		return fmt.Errorf("%s matrix: len(Kinds) = %d, want Cols = %d", name, len(m.Kinds), m.Cols)
	}
	if len(m.NumCats) != m.Cols {
		return fmt.Errorf("%s matrix: len(NumCats) = %d, want Cols = %d", name, len(m.NumCats), m.Cols)
	}
	if m.Names != nil && len(m.Names) != m.Cols {
		return fmt.Errorf("%s matrix: len(Names) = %d, want Cols = %d", name, len(m.Names), m.Cols)
	}
	for j, k := range m.Kinds {
		switch k {
		case Numeric:
		case Categorical:
			if m.NumCats[j] < 1 || m.NumCats[j] > maxNumCats {
				return fmt.Errorf("%s matrix: column %d (%s): NumCats = %d, want 1..%d", name, j, colName(m, j), m.NumCats[j], maxNumCats)
			}
		default:
			return fmt.Errorf("%s matrix: column %d (%s): unknown Kind %d", name, j, colName(m, j), k)
		}
	}
	return nil
}

func colName(m Matrix, j int) string {
	if j < len(m.Names) {
		return m.Names[j]
	}
	return fmt.Sprintf("f%d", j)
}

func checkTargets(name string, y []float64, rows int) error {
	if len(y) != rows {
		return fmt.Errorf("%s targets: len = %d, want Rows = %d", name, len(y), rows)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s targets: row %d is %v, want a finite number", name, i, v)
		}
	}
	return nil
}

func checkInputs(train Matrix, y []float64, valid *Matrix, yValid []float64, p Params) error {
	if err := checkMatrix("train", train, true); err != nil {
		return err
	}
	if err := checkTargets("train", y, train.Rows); err != nil {
		return err
	}
	if valid == nil {
		if p.EarlyStoppingRounds > 0 {
			return errors.New("gbdt params: EarlyStoppingRounds > 0 needs a valid set")
		}
		return nil
	}
	if err := checkMatrix("valid", *valid, true); err != nil {
		return err
	}
	if valid.Cols != train.Cols {
		return fmt.Errorf("valid matrix: Cols = %d, train has %d", valid.Cols, train.Cols)
	}
	for j := range train.Cols {
		if valid.Kinds[j] != train.Kinds[j] || valid.NumCats[j] != train.NumCats[j] {
			return fmt.Errorf("valid matrix: column %d (%s): kind/NumCats differ from train", j, colName(train, j))
		}
	}
	return checkTargets("valid", yValid, valid.Rows)
}

func newForest(m Matrix, p Params, mappers []binMapper, bd binned) *Forest {
	p.Threads = 0 // how the model was computed, not what it is: keeps bytes thread-independent
	f := &Forest{
		FormatVersion: formatVersion,
		Mode:          p.Mode,
		Params:        p,
		Features:      make([]FeatureInfo, m.Cols),
		TreeNodes:     []int32{0},
		TreeLeaves:    []int32{0},
		CatBoundaries: []int32{0},
	}
	for j := range f.Features {
		mp := &mappers[j]
		fi := FeatureInfo{Name: colName(m, j), Kind: m.Kinds[j], Min: mp.min, Max: mp.max,
			BinCounts: make([]int64, mp.nBins)}
		if fi.Kind == Categorical {
			fi.NumCats = m.NumCats[j]
			fi.BinCats = append([]int32(nil), mp.binCat[1:]...)
		} else {
			fi.BinUpper = append([]float64(nil), mp.upper...)
		}
		f.Features[j] = fi
	}
	for i, b := range bd.bins {
		f.Features[i%bd.cols].BinCounts[b]++
	}
	return f
}

type trainer struct {
	p       Params
	pl      *pool
	train   binned
	valid   binned
	y       []float64
	yValid  []float64
	mappers []binMapper
	forest  *Forest

	score  []float64 // train predictions (gbdt) or sum of tree outputs (rf)
	vscore []float64
	tree   []float64 // per-row output of the current tree (rf, bagged gbdt)
	vtree  []float64
}

// slot is one tree's worth of working state. gbdt uses one slot; a random
// forest grows one tree per thread at a time (trees are independent), each
// slot with its own learner whose chunked loops then run inline.
type slot struct {
	l      *learner
	bag    []int32
	counts []int32
	rows   []int32
	err    error
}

func (t *trainer) run(ctx context.Context, onProgress func(Progress)) error {
	p := t.p
	n := t.train.rows
	rf := p.isRF()
	base := 0.0
	for _, v := range t.y {
		base += v
	}
	base /= float64(n)
	t.forest.BaseScore = base

	maxRows := n
	if rf {
		maxRows = max(1, int(float64(n)*p.BaggingFraction+0.5))
	}
	kinds := make([]Kind, t.train.cols)
	for j := range kinds {
		kinds[j] = t.forest.Features[j].Kind
	}
	grad := make([]float64, n)
	t.score = make([]float64, n)
	t.vscore = make([]float64, t.valid.rows)
	t.vtree = make([]float64, t.valid.rows)
	bagged := rf || p.BaggingFraction < 1
	if bagged {
		t.tree = make([]float64, n)
	}
	if !rf {
		for i := range t.score {
			t.score[i] = base
		}
		for i := range t.vscore {
			t.vscore[i] = base
		}
	} else {
		for i, v := range t.y {
			grad[i] = base - v
		}
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	var inBag []bool
	if bagged {
		inBag = make([]bool, n)
	}
	nslots := 1
	if rf {
		nslots = min(t.pl.threads, p.Trees)
	}
	slots := make([]*slot, nslots)
	for i := range slots {
		pl := t.pl
		if nslots > 1 {
			pl = newPool(1)
		}
		s := &slot{l: newLearner(p, pl, t.train, t.mappers, kinds, maxRows)}
		s.l.grad = grad
		if bagged {
			s.bag = make([]int32, 0, maxRows)
		}
		if rf {
			s.counts = make([]int32, n)
		}
		slots[i] = s
	}
	// grow fits tree it in slot s; it touches only s and read-only state.
	grow := func(s *slot, it int) {
		l := s.l
		l.rng = rand.New(rand.NewPCG(uint64(p.Seed), uint64(it)))
		s.rows = all
		switch {
		case rf:
			s.rows = bootstrap(l.rng, n, maxRows, s.counts, s.bag[:0])
		case p.BaggingFraction < 1:
			s.rows = subsample(l.rng, n, max(1, int(float64(n)*p.BaggingFraction+0.5)), s.bag[:0])
		}
		t.pickFeatures(l)
		s.err = l.grow(ctx, s.rows)
	}
	scale := 1.0
	if !rf {
		scale = p.LearningRate
	}

	bestLoss, bestIter := math.Inf(1), 0
	for it0 := 0; it0 < p.Trees; it0 += nslots {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := min(nslots, p.Trees-it0)
		if !rf {
			t.parallelRows(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					grad[i] = t.score[i] - t.y[i]
				}
			})
		}
		if batch == 1 {
			grow(slots[0], it0)
		} else {
			t.pl.parallel(batch, func(i int) { grow(slots[i], it0+i) })
		}
		for i := range batch {
			s := slots[i]
			if s.err != nil {
				return s.err
			}
			l := s.l
			// train scores
			if bagged {
				// in-bag rows take their leaf's value; out-of-bag rows walk the tree
				clear(inBag)
				for _, r := range s.rows {
					inBag[r] = true
				}
				for li := range l.leaves {
					lf := &l.leaves[li]
					for _, r := range l.idx[lf.begin:lf.end] {
						t.tree[r] = lf.value
					}
				}
				t.parallelRows(n, func(lo, hi int) {
					F := t.train.cols
					for i := lo; i < hi; i++ {
						if !inBag[i] {
							t.tree[i] = l.predictBinned(t.train.bins[i*F : (i+1)*F])
						}
					}
				})
				for i, v := range t.tree {
					t.score[i] += scale * v
				}
			} else {
				for li := range l.leaves {
					lf := &l.leaves[li]
					v := scale * lf.value
					for _, r := range l.idx[lf.begin:lf.end] {
						t.score[r] += v
					}
				}
			}
			trees := it0 + i + 1
			trainLoss := 0.0
			if onProgress != nil {
				trainLoss = t.rmse(t.score, t.y, base, rf, trees)
			}
			validLoss := 0.0
			if t.valid.rows > 0 {
				F := t.valid.cols
				for i := range t.vtree {
					t.vtree[i] = l.predictBinned(t.valid.bins[i*F : (i+1)*F])
				}
				for i, v := range t.vtree {
					t.vscore[i] += scale * v
				}
				validLoss = t.rmse(t.vscore, t.yValid, base, rf, trees)
				if validLoss < bestLoss {
					bestLoss, bestIter = validLoss, trees
				}
			} else {
				bestIter = trees
			}
			t.forest.appendTree(l, scale)
			if onProgress != nil {
				onProgress(Progress{Tree: trees, Total: p.Trees, TrainLoss: trainLoss, ValidLoss: validLoss, BestTree: bestIter})
			}
			if p.EarlyStoppingRounds > 0 && trees-bestIter >= p.EarlyStoppingRounds {
				return t.finish(bestIter, bestLoss)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return t.finish(bestIter, bestLoss)
}

func (t *trainer) finish(bestIter int, bestLoss float64) error {
	t.forest.truncate(bestIter)
	if t.valid.rows > 0 {
		t.forest.BestValidLoss = bestLoss
	}
	t.forest.BestIteration = t.forest.NumTrees()
	return nil
}

// parallelRows runs fn over fixed row blocks; fn must only write its rows.
func (t *trainer) parallelRows(n int, fn func(lo, hi int)) {
	chunks := (n + scoreChunkRows - 1) / scoreChunkRows
	t.pl.parallel(chunks, func(c int) {
		lo := c * scoreChunkRows
		fn(lo, min(lo+scoreChunkRows, n))
	})
}

// rmse of predictions; for rf, score holds the sum of tree outputs.
func (t *trainer) rmse(score, y []float64, base float64, rf bool, trees int) float64 {
	s := 0.0
	if rf {
		inv := 1 / float64(trees)
		for i, v := range score {
			d := base + v*inv - y[i]
			s += d * d
		}
	} else {
		for i, v := range score {
			d := v - y[i]
			s += d * d
		}
	}
	return math.Sqrt(s / float64(len(y)))
}

// pickFeatures sets the per-tree feature list (gbdt; rf samples per node).
func (t *trainer) pickFeatures(l *learner) {
	F := l.F
	l.treeFeats = l.treeFeats[:0]
	if t.p.isRF() || t.p.FeatureFraction >= 1 {
		for j := range F {
			l.treeFeats = append(l.treeFeats, int32(j))
		}
		return
	}
	k := max(1, int(float64(F)*t.p.FeatureFraction+0.5))
	for j := range l.featOrder {
		l.featOrder[j] = int32(j)
	}
	for i := range k {
		j := i + l.rng.IntN(F-i)
		l.featOrder[i], l.featOrder[j] = l.featOrder[j], l.featOrder[i]
	}
	l.treeFeats = append(l.treeFeats, l.featOrder[:k]...)
	slices.Sort(l.treeFeats)
}

// bootstrap draws k rows with replacement, returned sorted (duplicates
// adjacent) so histogram building walks the data in order.
func bootstrap(rng *rand.Rand, n, k int, counts []int32, out []int32) []int32 {
	clear(counts)
	for range k {
		counts[rng.IntN(n)]++
	}
	for i, c := range counts {
		for range c {
			out = append(out, int32(i))
		}
	}
	return out
}

// subsample draws k distinct rows in order (selection sampling).
func subsample(rng *rand.Rand, n, k int, out []int32) []int32 {
	for i := 0; i < n && len(out) < k; i++ {
		if rng.IntN(n-i) < k-len(out) {
			out = append(out, int32(i))
		}
	}
	return out
}

// appendTree converts the learner's tree to the flat layout, applying scale
// (shrinkage) to leaf and node values.
func (f *Forest) appendTree(l *learner, scale float64) {
	for i := range l.nodes {
		nd := &l.nodes[i]
		mp := &l.mappers[nd.feature]
		f.SplitFeature = append(f.SplitFeature, nd.feature)
		var dt uint8
		thr := 0.0
		if nd.cat {
			dt |= DecisionCategorical
			maxCode := int32(-1)
			for b := 1; b < mp.nBins; b++ {
				if goesLeft(&nd.left, uint8(b)) {
					maxCode = max(maxCode, mp.binCat[b])
				}
			}
			words := make([]uint32, maxCode/32+1)
			for b := 1; b < mp.nBins; b++ {
				if goesLeft(&nd.left, uint8(b)) {
					c := mp.binCat[b]
					words[c>>5] |= 1 << (c & 31)
				}
			}
			thr = float64(len(f.CatBoundaries) - 1)
			f.CatThreshold = append(f.CatThreshold, words...)
			f.CatBoundaries = append(f.CatBoundaries, int32(len(f.CatThreshold)))
		} else {
			if nd.defaultLeft {
				dt |= DecisionDefaultLeft
			}
			if nd.thrBin == 0 {
				thr = math.Inf(-1) // only NaN goes left
			} else {
				thr = mp.upper[nd.thrBin-1]
			}
		}
		f.Threshold = append(f.Threshold, thr)
		f.DecisionType = append(f.DecisionType, dt)
		f.LeftChild = append(f.LeftChild, nd.l)
		f.RightChild = append(f.RightChild, nd.r)
		f.SplitGain = append(f.SplitGain, nd.gain)
		f.NodeCount = append(f.NodeCount, int32(nd.n))
		f.NodeValue = append(f.NodeValue, scale*nd.value)
	}
	for i := range l.leaves {
		f.LeafValue = append(f.LeafValue, scale*l.leaves[i].value)
		f.LeafCount = append(f.LeafCount, int32(l.leaves[i].n))
	}
	f.TreeNodes = append(f.TreeNodes, int32(len(f.SplitFeature)))
	f.TreeLeaves = append(f.TreeLeaves, int32(len(f.LeafValue)))
}

// truncate keeps the first k trees.
func (f *Forest) truncate(k int) {
	if k >= f.NumTrees() {
		return
	}
	nn, nl := f.TreeNodes[k], f.TreeLeaves[k]
	ncat := 0
	for i := range nn {
		if f.DecisionType[i]&DecisionCategorical != 0 {
			ncat++
		}
	}
	f.TreeNodes, f.TreeLeaves = f.TreeNodes[:k+1], f.TreeLeaves[:k+1]
	f.SplitFeature, f.Threshold, f.DecisionType = f.SplitFeature[:nn], f.Threshold[:nn], f.DecisionType[:nn]
	f.LeftChild, f.RightChild, f.SplitGain = f.LeftChild[:nn], f.RightChild[:nn], f.SplitGain[:nn]
	f.NodeCount, f.NodeValue = f.NodeCount[:nn], f.NodeValue[:nn]
	f.LeafValue, f.LeafCount = f.LeafValue[:nl], f.LeafCount[:nl]
	f.CatBoundaries = f.CatBoundaries[:ncat+1]
	f.CatThreshold = f.CatThreshold[:f.CatBoundaries[ncat]]
	f.comp.Store(nil)
}
