package gbdt

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
)

// histBin is one histogram cell. L2 has a constant hessian, so the row count
// stands in for the hessian sum (as LightGBM's is_constant_hessian path).
type histBin struct {
	g float64
	n int64
}

// histogram is one leaf's histograms: every feature's used bins packed in
// flat (compact, so zeroing, subtracting and caching touch little memory),
// and per feature a [256] view into flat (flat has 256 bins of tail
// padding), which a uint8 bin indexes without a bounds check.
type histogram struct {
	flat []histBin
	feat []*[256]histBin
}

// Parallel work is cut into pieces whose boundaries depend only on the row
// count, never on the thread count: each piece fills its own histogram and
// the pieces are summed in piece order, so 1 and N threads give the same
// floating-point sums and therefore byte-identical models.
const (
	histChunkRows = 512
	maxHistChunks = 16
	partChunkRows = 1024
	maxPartChunks = 16
	// histBudget caps the memory held by cached leaf histograms (deep
	// random-forest trees have thousands of open leaves).
	histBudget = 32 << 20
)

// splitInfo is the best split found for a leaf.
type splitInfo struct {
	gain        float64
	lg, rg      float64
	ln, rn      int64
	lambda      float64 // L2 used for the children's values
	left        [4]uint64
	feature     int32 // -1: no split
	thrBin      uint8 // numeric: left = value bins 1..thrBin
	defaultLeft bool
	cat         bool
}

type leafState struct {
	g      float64
	n      int64
	value  float64 // unshrunk output -G/(N+λ)
	best   splitInfo
	begin  int32
	end    int32
	depth  int32
	hist   int32 // cached histogram index, -1 if none
	parent int32 // node index, -1 for the root
	isLeft bool
}

// lnode is an internal node in bin space; left holds the bins going left.
type lnode struct {
	left        [4]uint64
	gain        float64
	value       float64 // unshrunk output of the node as a leaf
	n           int64
	feature     int32
	l, r        int32 // >= 0: node, < 0: ^leaf
	thrBin      uint8
	defaultLeft bool
	cat         bool
}

// catKey packs a category's sort key and its bin into one uint64 that
// sorts like (key, bin): the key's order-preserving bits with the low 8
// bits replaced by the bin. Dropping 8 of 52 mantissa bits only merges
// keys equal to ~1e-13 relative, and the order stays deterministic.
func catKey(key float64, bin int) uint64 {
	u := math.Float64bits(key)
	if u>>63 != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return u&^0xff | uint64(bin)
}

// heapItem orders open leaves by gain (ties: lower leaf index first), so
// the growth order is deterministic.
type heapItem struct {
	gain float64
	leaf int32
}

type learner struct {
	p       Params
	pl      *pool
	F       int
	bins    []uint8
	nb      []int
	kinds   []Kind
	mappers []binMapper
	grad    []float64

	idx, tmp []int32
	leaves   []leafState
	nodes    []lnode
	root     int32
	heap     []heapItem

	hists      []*histogram
	free       []int32
	histCap    int
	scratch    [2]*histogram // for leaves whose histogram is not cached
	chunkHists []*histogram
	offsets    []int // first flat bin of each feature
	totalBins  int

	featOrder []int32 // random forest: per-node sampling buffer
	rng       *rand.Rand
	catBuf    [2][]uint64
	treeFeats []int32    // features this tree may use
	nodeFeats [2][]int32 // per-node samples (random forest), per lane
	bj        bestJob

	hj histJob
	pj partJob
}

func newLearner(p Params, pl *pool, b binned, mappers []binMapper, kinds []Kind, maxRows int) *learner {
	l := &learner{
		p:       p,
		pl:      pl,
		F:       b.cols,
		bins:    b.bins,
		kinds:   kinds,
		mappers: mappers,
		nb:      make([]int, b.cols),
		idx:     make([]int32, maxRows),
		tmp:     make([]int32, maxRows),
		leaves:  make([]leafState, 0, p.NumLeaves),
		nodes:   make([]lnode, 0, p.NumLeaves-1),
		heap:    make([]heapItem, 0, p.NumLeaves),
	}
	l.offsets = make([]int, b.cols)
	for f := range mappers {
		l.nb[f] = mappers[f].nBins
		l.offsets[f] = l.totalBins
		l.totalBins += l.nb[f]
	}
	histBytes := (l.totalBins + 256) * 16
	l.histCap = min(p.NumLeaves, max(4, histBudget/histBytes))
	l.scratch = [2]*histogram{l.newHist(), l.newHist()}
	l.bj.l = l
	l.featOrder = make([]int32, b.cols)
	l.hj.l = l
	l.pj.l = l
	return l
}

func (l *learner) newHist() *histogram {
	h := &histogram{flat: make([]histBin, l.totalBins+256), feat: make([]*[256]histBin, l.F)}
	for f, off := range l.offsets {
		h.feat[f] = (*[256]histBin)(h.flat[off : off+256])
	}
	return h
}

// keep reports whether a leaf's histogram is worth caching for the
// subtraction trick: rebuilding the larger child of a small leaf costs less
// than zeroing and subtracting whole histograms.
func (l *learner) keep(lf *leafState) bool {
	return lf.n*int64(l.F) >= 2*int64(l.totalBins)
}

func (l *learner) alloc() int32 {
	if n := len(l.free); n > 0 {
		h := l.free[n-1]
		l.free = l.free[:n-1]
		return h
	}
	if len(l.hists) < l.histCap {
		l.hists = append(l.hists, l.newHist())
		return int32(len(l.hists) - 1)
	}
	return -1
}

func (l *learner) release(h int32) {
	if h >= 0 {
		l.free = append(l.free, h)
	}
}

func (l *learner) zero(h *histogram) { clear(h.flat[:l.totalBins]) }

// accumulate adds rows' gradients to h. It is the hottest loop of training.
func (l *learner) accumulate(h *histogram, rows []int32) {
	F := l.F
	bins := l.bins
	grad := l.grad
	hf := h.feat
	for _, r := range rows {
		g := grad[r]
		row := bins[int(r)*F:][:len(hf)]
		for f, b := range row {
			e := &hf[f][b]
			e.g += g
			e.n++
		}
	}
}

// add sums src into dst.
func (l *learner) add(dst, src *histogram) {
	d, s := dst.flat[:l.totalBins], src.flat[:l.totalBins]
	for i := range d {
		d[i].g += s[i].g
		d[i].n += s[i].n
	}
}

// subtract turns a parent histogram into its larger child's: dst -= src.
func (l *learner) subtract(dst, src *histogram) {
	d, s := dst.flat[:l.totalBins], src.flat[:l.totalBins]
	for i := range d {
		d[i].g -= s[i].g
		d[i].n -= s[i].n
	}
}

type histJob struct {
	l     *learner
	rows  []int32
	chunk int
	out   [maxHistChunks]*histogram
	k     int
}

func (j *histJob) run(c int) {
	lo := c * j.chunk
	hi := lo + j.chunk
	if c == j.k-1 {
		hi = len(j.rows)
	}
	h := j.out[c]
	j.l.zero(h)
	j.l.accumulate(h, j.rows[lo:hi])
}

// build fills h with the histogram of rows.
func (l *learner) build(h *histogram, rows []int32) {
	k := min(len(rows)/histChunkRows, maxHistChunks)
	if k <= 1 {
		l.zero(h)
		l.accumulate(h, rows)
		return
	}
	for len(l.chunkHists) < maxHistChunks-1 {
		l.chunkHists = append(l.chunkHists, l.newHist())
	}
	j := &l.hj
	j.rows, j.chunk, j.k = rows, len(rows)/k, k
	j.out[0] = h
	for c := 1; c < k; c++ {
		j.out[c] = l.chunkHists[c-1]
	}
	l.pl.run(k, j)
	for c := 1; c < k; c++ {
		l.add(h, j.out[c])
	}
	j.rows = nil
}

func goesLeft(set *[4]uint64, b uint8) bool { return set[b>>6]&(1<<(b&63)) != 0 }

// partitionSeq moves rows going left to the front, keeping order (stable),
// using tmp (same length) for the rows going right. Branch-free: every row
// is written to both sides and only one cursor advances, because the
// direction is unpredictable and a mispredicted branch costs more.
func partitionSeq(rows, tmp []int32, bins []uint8, F, f int, set *[4]uint64) int {
	nl, nr := 0, 0
	tmp = tmp[:len(rows)]
	bins = bins[f:]
	for _, r := range rows {
		b := bins[int(r)*F]
		bit := int(set[b>>6]>>(b&63)) & 1
		rows[nl] = r
		tmp[nr] = r
		nl += bit
		nr += 1 - bit
	}
	copy(rows[nl:], tmp[:nr])
	return nl
}

type partJob struct {
	l     *learner
	rows  []int32
	tmp   []int32
	chunk int
	k     int
	f     int
	set   *[4]uint64
	nl    [maxPartChunks]int
}

func (j *partJob) run(c int) {
	lo := c * j.chunk
	hi := lo + j.chunk
	if c == j.k-1 {
		hi = len(j.rows)
	}
	j.nl[c] = partitionSeq(j.rows[lo:hi], j.tmp[lo:hi], j.l.bins, j.l.F, j.f, j.set)
}

// partition splits rows stably by the node's bin set and returns the count
// going left. Large leaves partition per chunk in parallel, then merge.
func (l *learner) partition(rows, tmp []int32, f int, set *[4]uint64) int {
	k := min(len(rows)/partChunkRows, maxPartChunks)
	if k <= 1 {
		return partitionSeq(rows, tmp, l.bins, l.F, f, set)
	}
	j := &l.pj
	j.rows, j.tmp, j.chunk, j.k, j.f, j.set = rows, tmp, len(rows)/k, k, f, set
	l.pl.run(k, j)
	nl := 0
	for c := range k {
		nl += j.nl[c]
	}
	left, right := 0, nl
	for c := range k {
		lo := c * j.chunk
		hi := lo + j.chunk
		if c == k-1 {
			hi = len(rows)
		}
		left += copy(tmp[left:], rows[lo:lo+j.nl[c]])
		right += copy(tmp[right:], rows[lo+j.nl[c]:hi])
	}
	copy(rows, tmp[:len(rows)])
	j.rows, j.tmp, j.set = nil, nil, nil
	return nl
}

func (l *learner) canSplit(lf *leafState) bool {
	p := &l.p
	return lf.n >= 2*int64(p.MinDataInLeaf) && float64(lf.n) >= 2*p.MinSumHessian &&
		(p.MaxDepth <= 0 || int(lf.depth) < p.MaxDepth)
}

// nodeFeatures lists the features a node may split on: a seeded sample per
// node in random_forest (drawn in a fixed order, before any parallel scan),
// else the tree's list.
func (l *learner) nodeFeatures(lane int) []int32 {
	if !l.p.isRF() || l.p.FeatureFraction >= 1 {
		return l.treeFeats
	}
	k := max(1, int(float64(l.F)*l.p.FeatureFraction+0.5))
	for i := range l.featOrder {
		l.featOrder[i] = int32(i)
	}
	for i := range k {
		j := i + l.rng.IntN(l.F-i)
		l.featOrder[i], l.featOrder[j] = l.featOrder[j], l.featOrder[i]
	}
	sel := append(l.nodeFeats[lane][:0], l.featOrder[:k]...)
	slices.Sort(sel)
	l.nodeFeats[lane] = sel
	return sel
}

// scanLeaf finds the leaf's best split (feature -1 if none). It writes only
// the leaf and the lane's scratch, so two leaves can be scanned at once.
func (l *learner) scanLeaf(li int, h *histogram, feats []int32, lane int) {
	lf := &l.leaves[li]
	lf.best = splitInfo{feature: -1}
	if !l.canSplit(lf) {
		return
	}
	parentScore := lf.g * lf.g / (float64(lf.n) + l.p.LambdaL2)
	for _, f := range feats {
		l.scanFeature(int(f), h, lf, parentScore, lane)
	}
}

// finishLeaf queues a splittable leaf and drops a histogram that will not
// be needed for subtraction.
func (l *learner) finishLeaf(li int) {
	lf := &l.leaves[li]
	if lf.best.feature < 0 || !l.keep(lf) {
		l.release(lf.hist)
		lf.hist = -1
	}
	if lf.best.feature >= 0 {
		l.push(heapItem{gain: lf.best.gain, leaf: int32(li)})
	}
}

func (l *learner) findBest(li int, h *histogram) {
	l.scanLeaf(li, h, l.nodeFeatures(0), 0)
	l.finishLeaf(li)
}

type bestJob struct {
	l     *learner
	leaf  [2]int
	hist  [2]*histogram
	feats [2][]int32
}

func (j *bestJob) run(i int) { j.l.scanLeaf(j.leaf[i], j.hist[i], j.feats[i], i) }

// findBestPair scans two sibling leaves in parallel (a leaf of -1 is
// skipped); heap order does not depend on push order, since gains tie-break
// by leaf index.
func (l *learner) findBestPair(a int, ha *histogram, b int, hb *histogram) {
	switch {
	case a < 0 && b < 0:
	case a < 0:
		l.findBest(b, hb)
	case b < 0:
		l.findBest(a, ha)
	default:
		j := &l.bj
		j.leaf = [2]int{a, b}
		j.hist = [2]*histogram{ha, hb}
		j.feats = [2][]int32{l.nodeFeatures(0), l.nodeFeatures(1)}
		l.pl.run(2, j)
		j.hist = [2]*histogram{}
		l.finishLeaf(a)
		l.finishLeaf(b)
	}
}

func (l *learner) scanFeature(f int, h *histogram, lf *leafState, parentScore float64, lane int) {
	if l.nb[f] < 2 {
		return
	}
	if l.kinds[f] == Categorical {
		l.scanCategorical(f, h.feat[f], lf, parentScore, lane)
	} else {
		l.scanNumeric(f, h.feat[f], lf, parentScore)
	}
}

// scanNumeric tries every threshold with NaN sent right, then (if the leaf
// has NaN rows) with NaN sent left, including "NaN alone goes left". When
// the leaf has no NaN rows, NaN at inference follows the larger child.
func (l *learner) scanNumeric(f int, hf *[256]histBin, lf *leafState, parentScore float64) {
	nb := l.nb[f]
	lambda := l.p.LambdaL2
	minN := int64(l.p.MinDataInLeaf)
	minH := l.p.MinSumHessian
	G, N := lf.g, lf.n
	best := &lf.best
	nanG, nanN := hf[0].g, hf[0].n

	// Empty bins are skipped: a threshold there splits the rows exactly as
	// the previous non-empty bin, which was tried first and wins ties.
	lg, ln := 0.0, int64(0)
	for b := 1; b < nb-1; b++ {
		if hf[b].n == 0 {
			continue
		}
		lg += hf[b].g
		ln += hf[b].n
		if ln < minN || float64(ln) < minH {
			continue
		}
		rn := N - ln
		if rn < minN || float64(rn) < minH {
			break
		}
		rg := G - lg
		gain := lg*lg/(float64(ln)+lambda) + rg*rg/(float64(rn)+lambda) - parentScore
		if gain > best.gain {
			*best = splitInfo{gain: gain, lg: lg, rg: rg, ln: ln, rn: rn, lambda: lambda,
				feature: int32(f), thrBin: uint8(b), defaultLeft: nanN == 0 && ln >= rn}
		}
	}
	if nanN == 0 {
		return
	}
	lg, ln = nanG, nanN
	for b := 0; b < nb-1; b++ {
		if b > 0 {
			if hf[b].n == 0 {
				continue
			}
			lg += hf[b].g
			ln += hf[b].n
		}
		if ln < minN || float64(ln) < minH {
			continue
		}
		rn := N - ln
		if rn < minN || float64(rn) < minH {
			break
		}
		rg := G - lg
		gain := lg*lg/(float64(ln)+lambda) + rg*rg/(float64(rn)+lambda) - parentScore
		if gain > best.gain {
			*best = splitInfo{gain: gain, lg: lg, rg: rg, ln: ln, rn: rn, lambda: lambda,
				feature: int32(f), thrBin: uint8(b), defaultLeft: true}
		}
	}
}

// scanCategorical is LightGBM's categorical split search: one-vs-rest for
// few categories; otherwise categories with >= cat_smooth rows are sorted by
// G/(H+cat_smooth) and the left set grows from either end over at most
// max_cat_threshold categories. The missing bin (NaN, unseen, rare) always
// goes right.
func (l *learner) scanCategorical(f int, hf *[256]histBin, lf *leafState, parentScore float64, lane int) {
	p := &l.p
	nb := l.nb[f]
	minN := int64(p.MinDataInLeaf)
	minH := p.MinSumHessian
	G, N := lf.g, lf.n
	best := &lf.best

	if nb-1 <= p.MaxCatToOnehot {
		lambda := p.LambdaL2
		for b := 1; b < nb; b++ {
			cn := hf[b].n
			if cn < minN || float64(cn) < minH {
				continue
			}
			rn := N - cn
			if rn < minN || float64(rn) < minH {
				continue
			}
			cg := hf[b].g
			rg := G - cg
			gain := cg*cg/(float64(cn)+lambda) + rg*rg/(float64(rn)+lambda) - parentScore
			if gain > best.gain {
				*best = splitInfo{gain: gain, lg: cg, rg: rg, ln: cn, rn: rn, lambda: lambda,
					feature: int32(f), cat: true}
				best.left[b>>6] |= 1 << (b & 63)
			}
		}
		return
	}

	lambda := p.LambdaL2 + p.CatL2
	cats := l.catBuf[lane][:0]
	for b := 1; b < nb; b++ {
		if n := hf[b].n; n > 0 && float64(n) >= p.CatSmooth {
			cats = append(cats, catKey(hf[b].g/(float64(n)+p.CatSmooth), b))
		}
	}
	l.catBuf[lane] = cats
	used := len(cats)
	if used == 0 {
		return
	}
	slices.Sort(cats)
	maxNum := min(p.MaxCatThreshold, (used+1)/2)
	minGroup := int64(p.MinDataPerGroup)
	for dir := range 2 {
		lg, ln, group := 0.0, int64(0), int64(0)
		for i := 0; i < used && i < maxNum; i++ {
			e := cats[i]
			if dir == 1 {
				e = cats[used-1-i]
			}
			bin := uint8(e)
			lg += hf[bin].g
			ln += hf[bin].n
			group += hf[bin].n
			if ln < minN || float64(ln) < minH {
				continue
			}
			rn := N - ln
			if rn < minN || rn < minGroup || float64(rn) < minH {
				break
			}
			if group < minGroup {
				continue
			}
			group = 0
			rg := G - lg
			gain := lg*lg/(float64(ln)+lambda) + rg*rg/(float64(rn)+lambda) - parentScore
			if gain > best.gain {
				*best = splitInfo{gain: gain, lg: lg, rg: rg, ln: ln, rn: rn, lambda: lambda,
					feature: int32(f), cat: true}
				for k := 0; k <= i; k++ {
					b := uint8(cats[k])
					if dir == 1 {
						b = uint8(cats[used-1-k])
					}
					best.left[b>>6] |= 1 << (b & 63)
				}
			}
		}
	}
}

// heap of open leaves, max gain first.
func (l *learner) less(a, b heapItem) bool {
	return a.gain > b.gain || (a.gain == b.gain && a.leaf < b.leaf)
}

func (l *learner) push(it heapItem) {
	h := append(l.heap, it)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !l.less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	l.heap = h
}

func (l *learner) pop() (heapItem, bool) {
	h := l.heap
	if len(h) == 0 {
		return heapItem{}, false
	}
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && l.less(h[c+1], h[c]) {
			c++
		}
		if !l.less(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	l.heap = h
	return top, true
}

func (l *learner) histOf(h int32) *histogram {
	if h < 0 {
		return l.scratch[0]
	}
	return l.hists[h]
}

// grow builds one tree leaf-wise on rows (copied into the partition array).
func (l *learner) grow(ctx context.Context, rows []int32) error {
	n := len(rows)
	copy(l.idx, rows)
	l.leaves = l.leaves[:0]
	l.nodes = l.nodes[:0]
	l.heap = l.heap[:0]
	l.free = l.free[:0]
	for i := len(l.hists) - 1; i >= 0; i-- {
		l.free = append(l.free, int32(i))
	}
	l.root = ^int32(0)

	hi := l.alloc()
	h := l.histOf(hi)
	l.build(h, l.idx[:n])
	G := 0.0
	for b := range l.nb[0] {
		G += h.feat[0][b].g
	}
	l.leaves = append(l.leaves, leafState{g: G, n: int64(n), value: -G / (float64(n) + l.p.LambdaL2),
		begin: 0, end: int32(n), hist: hi, parent: -1})
	l.findBest(0, h)

	for len(l.leaves) < l.p.NumLeaves {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, ok := l.pop()
		if !ok {
			break
		}
		l.split(int(it.leaf))
	}
	return nil
}

func (l *learner) split(li int) {
	lf := l.leaves[li]
	s := lf.best
	ni := int32(len(l.nodes))
	ri := len(l.leaves)
	nd := lnode{gain: s.gain, value: lf.value, n: lf.n, feature: s.feature,
		l: ^int32(li), r: ^int32(ri), thrBin: s.thrBin, defaultLeft: s.defaultLeft, cat: s.cat}
	if s.cat {
		nd.left = s.left
	} else {
		for b := 1; b <= int(s.thrBin); b++ {
			nd.left[b>>6] |= 1 << (b & 63)
		}
		if s.defaultLeft {
			nd.left[0] |= 1
		}
	}
	l.nodes = append(l.nodes, nd)
	switch {
	case lf.parent < 0:
		l.root = ni
	case lf.isLeft:
		l.nodes[lf.parent].l = ni
	default:
		l.nodes[lf.parent].r = ni
	}

	rows := l.idx[lf.begin:lf.end]
	nl := int32(l.partition(rows, l.tmp[lf.begin:lf.end], int(s.feature), &l.nodes[ni].left))
	depth := lf.depth + 1
	l.leaves[li] = leafState{g: s.lg, n: s.ln, value: -s.lg / (float64(s.ln) + s.lambda),
		begin: lf.begin, end: lf.begin + nl, depth: depth, hist: -1, parent: ni, isLeft: true}
	l.leaves = append(l.leaves, leafState{g: s.rg, n: s.rn, value: -s.rg / (float64(s.rn) + s.lambda),
		begin: lf.begin + nl, end: lf.end, depth: depth, hist: -1, parent: ni})

	ph := lf.hist
	if len(l.leaves) >= l.p.NumLeaves {
		l.release(ph) // tree is full: children are never split
		return
	}
	small, large := li, ri
	if l.leaves[ri].n < l.leaves[li].n {
		small, large = ri, li
	}
	cs, cl := l.canSplit(&l.leaves[small]), l.canSplit(&l.leaves[large])
	switch {
	case !cs && !cl:
		l.release(ph)
	case ph >= 0 && cl:
		// histogram subtraction: build the smaller child only
		sh := int32(-1)
		if cs && l.keep(&l.leaves[small]) {
			sh = l.alloc()
		}
		sHist := l.histOf(sh)
		l.build(sHist, l.rowsOf(small))
		l.subtract(l.hists[ph], sHist)
		l.leaves[large].hist = ph
		sc := -1
		if cs {
			l.leaves[small].hist = sh
			sc = small
		}
		l.findBestPair(sc, sHist, large, l.hists[ph])
	default:
		l.release(ph)
		var hs [2]*histogram
		cands := [2]int{small, large}
		for k, c := range cands {
			lc := &l.leaves[c]
			if !l.canSplit(lc) {
				cands[k] = -1
				continue
			}
			hc := int32(-1)
			if l.keep(lc) {
				hc = l.alloc()
			}
			lc.hist = hc
			hs[k] = l.scratch[k]
			if hc >= 0 {
				hs[k] = l.hists[hc]
			}
			l.build(hs[k], l.rowsOf(c))
		}
		l.findBestPair(cands[0], hs[0], cands[1], hs[1])
	}
}

func (l *learner) rowsOf(li int) []int32 {
	lf := &l.leaves[li]
	return l.idx[lf.begin:lf.end]
}

// predictBinned runs the last grown tree on one binned row.
func (l *learner) predictBinned(row []uint8) float64 {
	n := l.root
	for n >= 0 {
		nd := &l.nodes[n]
		if goesLeft(&nd.left, row[nd.feature]) {
			n = nd.l
		} else {
			n = nd.r
		}
	}
	return l.leaves[^n].value
}
