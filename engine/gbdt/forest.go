package gbdt

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Decision-type bits of a node, as in LightGBM's model format.
const (
	// DecisionCategorical marks a categorical split (left = codes in the bitset).
	DecisionCategorical uint8 = 1 << 0
	// DecisionDefaultLeft sends NaN (numeric splits) to the left child.
	DecisionDefaultLeft uint8 = 1 << 1
)

// FeatureInfo is a feature's schema and its training distribution in bins.
type FeatureInfo struct {
	Name    string
	Kind    Kind
	NumCats int // categorical: codes are 0..NumCats-1
	// Min and Max are the numeric training range (NaN when all missing).
	Min, Max float64
	// BinUpper are the upper edges of numeric value bins 1..; the last is +Inf.
	BinUpper []float64
	// BinCats are the category codes of categorical value bins 1..; codes
	// not listed (rare beyond MaxBin, or unseen) share bin 0 with NaN.
	BinCats []int32
	// BinCounts are the training rows per bin; [0] is the missing bin. They
	// are the reference distribution for drift checks (see Forest.Bin).
	BinCounts []int64
}

// Forest is a trained ensemble: flattened trees in struct-of-arrays form
// (the layout of LightGBM's model file), ready to serialize.
//
// Tree t owns nodes [TreeNodes[t], TreeNodes[t+1]) and leaves
// [TreeLeaves[t], TreeLeaves[t+1]). Children are tree-local: >= 0 is a node,
// < 0 is ^leaf. A tree with no split has one leaf and no nodes; its root is
// that leaf. A node goes left when, for numeric splits, x <= Threshold (NaN:
// left iff DecisionDefaultLeft); for categorical splits, when the code's bit
// is set in the bitset CatThreshold[CatBoundaries[k]:CatBoundaries[k+1]]
// where k = int(Threshold). NaN, negative, out-of-range and unseen codes go
// right. A NaN on a numeric feature that had no NaN in a node's training rows
// follows the child that received more training rows.
//
// Prediction = BaseScore + Σ tree outputs (gbdt), or BaseScore + mean of
// tree outputs (random_forest). Leaf values already include shrinkage.
//
// A Forest must not be copied after first use; share it by pointer. It is
// safe for concurrent prediction.
type Forest struct {
	FormatVersion int
	Mode          string
	Params        Params
	BaseScore     float64
	// BestIteration is the number of trees kept (early stopping truncates).
	BestIteration int
	// BestValidLoss is the validation RMSE at BestIteration (0 with no valid set).
	BestValidLoss float64
	Features      []FeatureInfo

	TreeNodes     []int32
	TreeLeaves    []int32
	SplitFeature  []int32
	Threshold     []float64
	DecisionType  []uint8
	LeftChild     []int32
	RightChild    []int32
	SplitGain     []float64
	NodeCount     []int32
	NodeValue     []float64
	LeafValue     []float64
	LeafCount     []int32
	CatBoundaries []int32
	CatThreshold  []uint32

	comp atomic.Pointer[compiled]
}

// formatVersion is the version of the MarshalBinary layout.
const formatVersion = 1

// cnode is the inference layout of a node: one cache-friendly record.
type cnode struct {
	thr   float64
	feat  int32
	info  uint32   // bit 0 categorical, bit 1 default-left, bits 2.. cat split index
	child [2]int32 // [left, right]; >= 0 global node, < 0 ^global leaf
}

// compiled is the validated inference form of a Forest.
type compiled struct {
	err          error
	nodes        []cnode
	leaf         []float64
	roots        []int32
	catBounds    []int32
	catWords     []uint32
	counts       []float64 // node covers, for TreeSHAP
	leafCount    []float64
	base         float64
	scale        float64
	expect       []float64 // per tree: cover-weighted mean output
	fast         []pnode   // prediction layout: nodes and leaves in one array
	fastRoots    []int32
	refillRoots  []int32
	fast2        []pnode
	refillRoots2 []int32
	isCat        []bool
	// slowPredict: some categorical split is too wide for the fast layout
	slowPredict bool
	nfeat       int
	maxDepth    int
}

// NumTrees is the number of trees in the forest.
func (f *Forest) NumTrees() int { return max(len(f.TreeNodes)-1, 0) }

// NumFeatures is the number of input columns a row must have.
func (f *Forest) NumFeatures() int { return len(f.Features) }

func (f *Forest) compiled() *compiled {
	if c := f.comp.Load(); c != nil {
		return c
	}
	c := compileForest(f)
	f.comp.CompareAndSwap(nil, c)
	return f.comp.Load()
}

// Check validates the forest's structure (what UnmarshalBinary enforces).
func (f *Forest) Check() error { return f.compiled().err }

func compileForest(f *Forest) *compiled {
	if err := f.validate(); err != nil {
		return &compiled{err: err}
	}
	c := &compiled{
		nodes:     make([]cnode, len(f.SplitFeature)),
		leaf:      f.LeafValue,
		roots:     make([]int32, f.NumTrees()),
		catBounds: f.CatBoundaries,
		catWords:  f.CatThreshold,
		counts:    make([]float64, len(f.NodeCount)),
		leafCount: make([]float64, len(f.LeafCount)),
		base:      f.BaseScore,
		scale:     1,
		nfeat:     len(f.Features),
	}
	if f.Mode == ModeRandomForest && f.NumTrees() > 0 {
		c.scale = 1 / float64(f.NumTrees())
	}
	for i, v := range f.NodeCount {
		c.counts[i] = float64(v)
	}
	for i, v := range f.LeafCount {
		c.leafCount[i] = float64(v)
	}
	glob := func(t int, ch int32) int32 {
		if ch >= 0 {
			return ch + f.TreeNodes[t]
		}
		return ^(^ch + f.TreeLeaves[t])
	}
	for t := range f.NumTrees() {
		if f.TreeNodes[t+1] > f.TreeNodes[t] {
			c.roots[t] = f.TreeNodes[t]
		} else {
			c.roots[t] = ^f.TreeLeaves[t]
		}
		for i := f.TreeNodes[t]; i < f.TreeNodes[t+1]; i++ {
			nd := cnode{thr: f.Threshold[i], feat: f.SplitFeature[i],
				child: [2]int32{glob(t, f.LeftChild[i]), glob(t, f.RightChild[i])}}
			dt := f.DecisionType[i]
			if dt&DecisionCategorical != 0 {
				nd.info = 1 | uint32(int(f.Threshold[i]))<<2
			} else if dt&DecisionDefaultLeft != 0 {
				nd.info = 2
			}
			c.nodes[i] = nd
		}
		c.maxDepth = max(c.maxDepth, c.depth(c.roots[t]))
	}
	c.isCat = make([]bool, c.nfeat)
	for j, fi := range f.Features {
		c.isCat[j] = fi.Kind == Categorical
		if fi.Kind == Categorical && fi.NumCats > 127 {
			c.slowPredict = true // codes >= 127 do not fit the fast bitsets
		}
	}
	c.buildFast()
	c.expect = make([]float64, len(c.roots))
	for t, r := range c.roots {
		c.expect[t] = c.expected(r)
	}
	return c
}

func (c *compiled) depth(n int32) int {
	if n < 0 {
		return 0
	}
	return 1 + max(c.depth(c.nodes[n].child[0]), c.depth(c.nodes[n].child[1]))
}

// next returns the child a value goes to.
func (c *compiled) next(nd *cnode, v float64) int32 {
	if nd.info&1 == 0 {
		if v <= nd.thr {
			return nd.child[0]
		}
		if v > nd.thr || nd.info&2 == 0 {
			return nd.child[1]
		}
		return nd.child[0] // NaN, default left
	}
	k := nd.info >> 2
	lo, hi := c.catBounds[k], c.catBounds[k+1]
	if !(v > -1) || v >= float64(hi-lo)*32 {
		return nd.child[1]
	}
	code := int32(v)
	if c.catWords[lo+code>>5]&(1<<(code&31)) != 0 {
		return nd.child[0]
	}
	return nd.child[1]
}

// Predict scores one row of NumFeatures raw values (NaN = missing,
// categoricals as codes). It returns NaN if the row is too short or the
// forest is invalid (see Check). It does not allocate.
func (f *Forest) Predict(row []float64) float64 {
	c := f.compiled()
	if c.err != nil || len(row) < c.nfeat {
		return math.NaN()
	}
	return c.predict(row)
}

// predictBlock is the number of rows scored together per tree in batch
// prediction, so one tree's nodes stay in cache across the block.
const predictBlock = 64

// PredictBatch scores the first min(m.Rows, len(out)) rows of m into out
// using up to threads goroutines (<= 0: GOMAXPROCS). Rows are NaN if m has
// fewer columns than the forest or the forest is invalid.
func (f *Forest) PredictBatch(m Matrix, out []float64, threads int) {
	c := f.compiled()
	n := min(m.Rows, len(out))
	if m.Cols <= 0 || len(m.Data) < n*m.Cols {
		n = min(n, len(m.Data)/max(m.Cols, 1))
	}
	if c.err != nil || m.Cols < c.nfeat {
		for i := range n {
			out[i] = math.NaN()
		}
		return
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	blocks := (n + predictBlock - 1) / predictBlock
	threads = min(threads, blocks)
	if threads <= 1 {
		c.predictRange(m, out, 0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				lo := b * predictBlock
				c.predictRange(m, out, lo, min(lo+predictBlock, n))
			}
		})
	}
	wg.Wait()
}

func (c *compiled) predictRange(m Matrix, out []float64, lo, hi int) {
	for i := lo; i < hi; i++ {
		out[i] = c.predict(m.Data[i*m.Cols : (i+1)*m.Cols])
	}
}

// FeatureImportance is the total split gain per feature.
func (f *Forest) FeatureImportance() []float64 {
	imp := make([]float64, len(f.Features))
	for i, ft := range f.SplitFeature {
		if ft >= 0 && int(ft) < len(imp) && i < len(f.SplitGain) {
			imp[ft] += f.SplitGain[i]
		}
	}
	return imp
}

// Bin maps a raw value of feature j to its training bin (0 = missing or
// unseen), to compare live data with FeatureInfo.BinCounts. It returns -1
// for a feature index out of range.
func (f *Forest) Bin(j int, v float64) int {
	if j < 0 || j >= len(f.Features) {
		return -1
	}
	fi := &f.Features[j]
	if fi.Kind == Categorical {
		c := catCode(v, fi.NumCats)
		if c < 0 {
			return 0
		}
		for b, code := range fi.BinCats {
			if int(code) == c {
				return b + 1
			}
		}
		return 0
	}
	m := binMapper{kind: Numeric, upper: fi.BinUpper}
	return int(m.bin(v))
}

// validate checks every index a traversal follows, so that a structurally
// valid forest can never panic at inference, and that each tree is a tree
// (each node and leaf reached once; children after parents).
func (f *Forest) validate() error {
	nf := len(f.Features)
	if nf == 0 {
		return fmt.Errorf("forest: no features")
	}
	if f.Mode != ModeGBDT && f.Mode != ModeRandomForest {
		return fmt.Errorf("forest: unknown mode %q", f.Mode)
	}
	if f.BestIteration != f.NumTrees() {
		return fmt.Errorf("forest: BestIteration %d but %d trees", f.BestIteration, f.NumTrees())
	}
	for j, fi := range f.Features {
		switch fi.Kind {
		case Numeric:
			for i := 1; i < len(fi.BinUpper); i++ {
				if !(fi.BinUpper[i] > fi.BinUpper[i-1]) {
					return fmt.Errorf("forest: feature %d (%s): bin edges not increasing at %d", j, fi.Name, i)
				}
			}
		case Categorical:
			if fi.NumCats < 0 || fi.NumCats > maxNumCats {
				return fmt.Errorf("forest: feature %d (%s): NumCats %d out of range", j, fi.Name, fi.NumCats)
			}
		default:
			return fmt.Errorf("forest: feature %d (%s): unknown kind %d", j, fi.Name, fi.Kind)
		}
	}
	nn, nl := len(f.SplitFeature), len(f.LeafValue)
	for name, l := range map[string]int{"Threshold": len(f.Threshold), "DecisionType": len(f.DecisionType),
		"LeftChild": len(f.LeftChild), "RightChild": len(f.RightChild), "SplitGain": len(f.SplitGain),
		"NodeCount": len(f.NodeCount), "NodeValue": len(f.NodeValue)} {
		if l != nn {
			return fmt.Errorf("forest: %s has %d entries, SplitFeature %d", name, l, nn)
		}
	}
	if len(f.LeafCount) != nl {
		return fmt.Errorf("forest: LeafCount has %d entries, LeafValue %d", len(f.LeafCount), nl)
	}
	if len(f.TreeNodes) < 2 || len(f.TreeLeaves) != len(f.TreeNodes) {
		return fmt.Errorf("forest: tree offsets: %d node offsets, %d leaf offsets", len(f.TreeNodes), len(f.TreeLeaves))
	}
	if f.TreeNodes[0] != 0 || f.TreeLeaves[0] != 0 || int(f.TreeNodes[len(f.TreeNodes)-1]) != nn ||
		int(f.TreeLeaves[len(f.TreeLeaves)-1]) != nl {
		return fmt.Errorf("forest: tree offsets do not cover the %d nodes and %d leaves", nn, nl)
	}
	ncat := len(f.CatBoundaries) - 1
	if len(f.CatBoundaries) == 0 || f.CatBoundaries[0] != 0 {
		return fmt.Errorf("forest: CatBoundaries must start with 0")
	}
	for k := 1; k < len(f.CatBoundaries); k++ {
		if f.CatBoundaries[k] < f.CatBoundaries[k-1] {
			return fmt.Errorf("forest: CatBoundaries decrease at %d", k)
		}
	}
	if int(f.CatBoundaries[ncat]) != len(f.CatThreshold) {
		return fmt.Errorf("forest: CatBoundaries end %d, CatThreshold has %d words", f.CatBoundaries[ncat], len(f.CatThreshold))
	}
	seenNode := make([]bool, nn)
	seenLeaf := make([]bool, nl)
	for t := range len(f.TreeNodes) - 1 {
		n0, n1 := f.TreeNodes[t], f.TreeNodes[t+1]
		l0, l1 := f.TreeLeaves[t], f.TreeLeaves[t+1]
		if n1 < n0 || l1 < l0 || l1-l0 != n1-n0+1 {
			return fmt.Errorf("forest: tree %d: %d nodes and %d leaves (want leaves = nodes+1)", t, n1-n0, l1-l0)
		}
		if n1 == n0 {
			seenLeaf[l0] = true
		} else {
			seenNode[n0] = true
		}
		for i := n0; i < n1; i++ {
			ft := f.SplitFeature[i]
			if ft < 0 || int(ft) >= nf {
				return fmt.Errorf("forest: tree %d node %d: feature %d out of range [0,%d)", t, i-n0, ft, nf)
			}
			dt := f.DecisionType[i]
			if dt&^(DecisionCategorical|DecisionDefaultLeft) != 0 {
				return fmt.Errorf("forest: tree %d node %d: bad decision type %d", t, i-n0, dt)
			}
			if dt&DecisionCategorical == 0 && (math.IsNaN(f.Threshold[i]) || math.IsInf(f.Threshold[i], 1)) {
				return fmt.Errorf("forest: tree %d node %d: threshold %v", t, i-n0, f.Threshold[i])
			}
			if dt&DecisionCategorical != 0 {
				k := f.Threshold[i]
				if f.Features[ft].Kind != Categorical || !(k >= 0) || k >= float64(ncat) || k != math.Trunc(k) {
					return fmt.Errorf("forest: tree %d node %d: bad categorical split %v", t, i-n0, k)
				}
			}
			if f.NodeCount[i] < 1 {
				return fmt.Errorf("forest: tree %d node %d: count %d", t, i-n0, f.NodeCount[i])
			}
			for _, ch := range [2]int32{f.LeftChild[i], f.RightChild[i]} {
				if ch >= 0 {
					g := ch + n0
					if ch <= i-n0 || g >= n1 || seenNode[g] {
						return fmt.Errorf("forest: tree %d node %d: bad child node %d", t, i-n0, ch)
					}
					seenNode[g] = true
				} else {
					lf := ^ch
					g := lf + l0
					if lf < 0 || g >= l1 || seenLeaf[g] {
						return fmt.Errorf("forest: tree %d node %d: bad child leaf %d", t, i-n0, lf)
					}
					seenLeaf[g] = true
				}
			}
		}
	}
	for i, ok := range seenLeaf {
		if !ok {
			return fmt.Errorf("forest: leaf %d is unreachable", i)
		}
		if f.LeafCount[i] < 1 {
			return fmt.Errorf("forest: leaf %d: count %d", i, f.LeafCount[i])
		}
	}
	return nil
}
