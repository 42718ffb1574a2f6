package gbdt

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// Fast exact path-dependent TreeSHAP.
//
// For one leaf l with value v, let U be the distinct features split on along
// its path, z_j the product of the cover fractions of the path's splits on
// feature j, and o_j = 1 when the row follows all of them ("hot"), else 0
// ("cold"). TreeSHAP's value function for the leaf is v·Π_j (j∈S ? o_j : z_j),
// so with H the hot features, W_m = m!(|U|-1-m)!/|U|!, zc = Π_{cold j} z_j and
//
//	t = Σ_m W_m·[y^m] Π_{j∈H} (z_j + y)
//
// its Shapley values are, exactly,
//
//	cold j:  −v·zc·t
//	hot i:   v·zc·(1 − z_i)·∂t/∂z_i
//
// (t is linear in each z_i, and ∂t/∂z_i is the same weighted sum over the
// product without i; every term is positive, so nothing cancels). This is
// the quantity Lundberg's Algorithm 2 builds with its extend/unwind
// recurrences. The row enters only through the hot sets, which are small
// (2.4 features per leaf on the production model), and all cold features of
// a leaf share one value. The z_j do not depend on the row, so per row:
//
//  1. down: one pass over the nodes in preorder decides each split and
//     propagates the hot mask to the children;
//  2. leaves: t and its gradient per leaf, by straight-line code for hot sets
//     of up to 2, 4 or 6 features, the empty slots filled with null players
//     (z = 1: adding one leaves every other Shapley value unchanged);
//     zc is the leaf's static Π z over all its features over Π_{hot} z;
//  3. up: one pass over the nodes in reverse sums T = v·zc·t over subtrees
//     and charges −Σ T to a node's feature on the edge where it turns cold,
//     which covers exactly the leaves where it is cold.
//
// Everything that does not depend on the row (layout, z, which ancestor last
// split on each feature, the weights W) is built once per compiled forest.

const (
	// shapMaxFeatures bounds the features of the fast path (masks are uint64).
	shapMaxFeatures = 64
	// shapMaxElems bounds the nodes + leaves (+ a sentinel) of one tree in
	// the fast path: local indices are uint16.
	shapMaxElems = math.MaxUint16
	// shapSink is the first accumulator slot for empty hot slots.
	shapSink = 64
	// shapAcc is the accumulator length (a power of two, so indexes need no
	// bounds check): features, then a sink per slot (one sink would chain
	// the additions of consecutive slots).
	shapAcc = 128
	// shapBanks spreads the per-leaf accumulations over independent copies
	// so that consecutive leaves adding to one feature do not wait for each
	// other's store.
	shapBanks = 4
	// shapWRows bounds the weight rows (u + up to 6 empty slots), a power of
	// two so that indexes need no bounds check.
	shapWRows = 128
	// shapTinyZ bounds a leaf's product of zero fractions from below: zc is
	// recovered as that product over the hot ones, which must not underflow.
	shapTinyZ = 1e-250
	// shapChunks is the number of tree ranges two goroutines share.
	shapChunks = 32
)

// shapParallelMin is the forest size (nodes + leaves) from which one row is
// split over two goroutines; below it the hand-off costs more than it saves.
var shapParallelMin = 20000

// shapNode is an internal node in the fast layout (24 bytes).
type shapNode struct {
	thr float64 // numeric threshold
	e   uint16  // element index of the node (tree-local preorder)
	rc  uint16  // element index of the right child; the left is e+1
	// prev is the element whose incoming edge is the nearest split on feat
	// above this node, or the tree's sentinel when there is none.
	prev  uint16
	cat   uint16 // index into shapPlan.cats (0 for numeric nodes)
	dfeat uint8  // column of the prepared row (see compiled.prepare)
	feat  uint8  // split feature
	isCat uint8  // 1 for categorical splits
}

// shapLeaf is a leaf in the fast layout (16 bytes).
type shapLeaf struct {
	vz   float64 // value × Π z over every feature on the path
	list uint32  // offset of the leaf's feature list in shapPlan.lists
	e    uint16  // element index
	u    uint8   // distinct features on the path
}

// shapEl is the per-row state of one element (node or leaf) of a tree.
type shapEl struct {
	mask uint64  // hot features on the path (all ones for the sentinel)
	st   float64 // Σ T over the leaves below
}

type shapTree struct {
	nodes, leaves [2]int32 // ranges into shapPlan.nodes and .leaves
	z             int32    // offset of the tree's elements in shapPlan.z
	n             int32    // elements (nodes + leaves); index n is the sentinel
}

// shapPlan is the row-independent part of the fast path.
type shapPlan struct {
	ok     bool // false: the forest is outside the fast path's bounds
	trees  []shapTree
	nodes  []shapNode
	leaves []shapLeaf
	// z holds, per tree, each element's zero fraction for the feature of
	// its incoming edge (the product over the path's splits on it), then
	// 1 for the sentinel.
	z []float64
	// lists holds, per leaf, stride entries: the element whose incoming
	// edge is the deepest split on feature f (or the sentinel), then the
	// sentinel again (read for an empty slot).
	lists  []uint16
	stride int
	cats   [][2]uint64            // categorical left-sets over codes 0..126; [0] is unused
	w      [][]float64            // w[u][m] = m!(u-1-m)!/u!, 0 for m >= u
	wPad   *[shapWRows][8]float64 // w[u][0..7]
	maxN   int                    // most elements in a tree
	maxU   int                    // most distinct features on a path
	chunks [shapChunks + 1]int32
	size   int // elements in all trees
}

var shapPlans sync.Map // weak.Pointer[compiled] -> *shapPlan

// shapPlan returns the fast-path plan of c, building it on first use. It is
// kept beside c (not in it) and dropped when c is collected.
func (c *compiled) shapPlan() *shapPlan {
	k := weak.Make(c)
	if v, ok := shapPlans.Load(k); ok {
		return v.(*shapPlan)
	}
	v, loaded := shapPlans.LoadOrStore(k, buildShapPlan(c))
	if !loaded {
		runtime.AddCleanup(c, func(k weak.Pointer[compiled]) { shapPlans.Delete(k) }, k)
	}
	return v.(*shapPlan)
}

func buildShapPlan(c *compiled) *shapPlan {
	p := &shapPlan{cats: make([][2]uint64, 1), stride: c.nfeat + 1}
	if c.err != nil || c.slowPredict || c.nfeat > shapMaxFeatures {
		return p
	}
	last := make([]int32, c.nfeat) // element of the deepest split on each feature, -1 if none
	tiny := false
	for _, root := range c.roots {
		size := c.treeSize(root)
		if size+1 > shapMaxElems {
			return p
		}
		tr := shapTree{nodes: [2]int32{int32(len(p.nodes)), 0}, leaves: [2]int32{int32(len(p.leaves)), 0},
			z: int32(len(p.z)), n: int32(size)}
		if root < 0 {
			// a single leaf explains nothing
			tr.nodes[1], tr.leaves[1] = tr.nodes[0], tr.leaves[0]
			p.trees = append(p.trees, tr)
			continue
		}
		for i := range last {
			last[i] = -1
		}
		sentinel := uint16(size)
		p.z = append(p.z, make([]float64, size+1)...)
		z := p.z[tr.z:]
		z[0], z[size] = 1, 1
		next := uint16(0)
		var walk func(ref int32)
		walk = func(ref int32) {
			e := next
			next++
			if ref < 0 {
				u, all := 0, 1.0
				for _, el := range last {
					if el >= 0 {
						p.lists = append(p.lists, uint16(el))
						all *= z[el]
						u++
					} else {
						p.lists = append(p.lists, sentinel)
					}
				}
				p.lists = append(p.lists, sentinel)
				p.maxU = max(p.maxU, u)
				tiny = tiny || all < shapTinyZ
				p.leaves = append(p.leaves, shapLeaf{vz: c.leaf[^ref] * all, e: e, u: uint8(u),
					list: uint32(len(p.lists) - p.stride)})
				return
			}
			nd := &c.nodes[ref]
			k := len(p.nodes)
			sn := shapNode{thr: nd.thr, e: e, feat: uint8(nd.feat), dfeat: uint8(nd.feat), prev: sentinel}
			above := 1.0
			if prev := last[nd.feat]; prev >= 0 {
				sn.prev = uint16(prev)
				above = z[prev]
			}
			if nd.info&1 != 0 {
				sn.isCat = 1
				sn.cat = uint16(len(p.cats))
				// the fast layout's bitset: codes 0..126 going left
				var set [2]uint64
				ci := nd.info >> 2
				for i, w := range c.catWords[c.catBounds[ci]:c.catBounds[ci+1]] {
					if i < 4 {
						set[i/2] |= uint64(w) << (32 * (i % 2))
					}
				}
				set[1] &^= 1 << 63 // code 127 is "missing": never left
				p.cats = append(p.cats, set)
			} else if nd.info&2 != 0 {
				sn.dfeat += uint8(c.nfeat) // NaN goes left: read the -Inf copy
			}
			p.nodes = append(p.nodes, sn)
			save := last[nd.feat]
			cover := c.cover(ref)
			for side, ch := range nd.child {
				if side == 1 {
					p.nodes[k].rc = next
				}
				z[next] = above * (c.cover(ch) / cover)
				last[nd.feat] = int32(next)
				walk(ch)
			}
			last[nd.feat] = save
		}
		walk(root)
		tr.nodes[1], tr.leaves[1] = int32(len(p.nodes)), int32(len(p.leaves))
		p.trees = append(p.trees, tr)
		p.maxN = max(p.maxN, size)
		p.size += size
	}
	if len(p.cats) > math.MaxUint16 || tiny || len(p.lists) > math.MaxUint32 {
		return p
	}
	maxW := p.maxU + 7 // up to 6 empty slots
	p.w = make([][]float64, maxW)
	p.wPad = new([shapWRows][8]float64)
	for u := 1; u < maxW; u++ {
		row := make([]float64, u+1)
		w := 1 / float64(u) // m = 0: 0!(u-1)!/u!
		for m := 0; m < u; m++ {
			row[m] = w
			w *= float64(m+1) / float64(u-1-m)
		}
		p.w[u] = row
		copy(p.wPad[u][:], row)
	}
	// contiguous tree ranges of about equal size, for two goroutines
	t, done := 0, 0
	for k := 1; k <= shapChunks; k++ {
		for t < len(p.trees) && done < p.size*k/shapChunks {
			done += int(p.trees[t].n)
			t++
		}
		p.chunks[k] = int32(t)
	}
	p.chunks[shapChunks] = int32(len(p.trees))
	p.ok = true
	return p
}

func (c *compiled) treeSize(n int32) int {
	if n < 0 {
		return 1
	}
	return 1 + c.treeSize(c.nodes[n].child[0]) + c.treeSize(c.nodes[n].child[1])
}

// shapScratch is one goroutine's working memory for one row.
type shapScratch struct {
	el     []shapEl   // by element, the sentinel included
	bucket [4][]int32 // leaves by hot-set size: ≤2, ≤4, ≤6, more
	acc    [shapBanks][shapAcc]float64
	// leafGeneric's buffers
	zs, fwd, adj, nadj []float64
	fs                 []uint8
}

var shapScratchPool sync.Pool

func (p *shapPlan) scratch() *shapScratch {
	sc, _ := shapScratchPool.Get().(*shapScratch)
	m, u := p.maxN+1, p.maxU
	if sc == nil || len(sc.el) < m || len(sc.zs) < u {
		sc = &shapScratch{el: make([]shapEl, m),
			zs: make([]float64, u), fs: make([]uint8, u), fwd: make([]float64, (u+1)*(u+2)/2),
			adj: make([]float64, u+2), nadj: make([]float64, u+2)}
		for b := range sc.bucket {
			sc.bucket[b] = make([]int32, m)
		}
	}
	sc.acc = [shapBanks][shapAcc]float64{}
	return sc
}

// sum adds the banks' feature slots into out.
func (sc *shapScratch) sum(out []float64) {
	for i := range out {
		for b := range sc.acc {
			out[i] += sc.acc[b][i]
		}
	}
}

// shapJob is one row shared by two goroutines: they take tree ranges in
// turn until none is left.
type shapJob struct {
	p    *shapPlan
	x    [2 * maxFastCols]float64
	next atomic.Int32
	out  [shapMaxFeatures]float64 // the helper's sums
	done chan struct{}
}

func (j *shapJob) work(sc *shapScratch) {
	for {
		k := int(j.next.Add(1) - 1)
		if k >= shapChunks {
			return
		}
		for t := j.p.chunks[k]; t < j.p.chunks[k+1]; t++ {
			j.p.tree(&j.p.trees[t], &j.x, sc)
		}
	}
}

// shapHelper is the second goroutine, started once. A row is offered to it
// only when it is idle (another row may be using it), so offering never
// waits; a busy helper means the caller does all the work. It marks itself
// idle before reporting a row done, so the caller's next row finds it free.
var (
	shapHelperOnce sync.Once
	shapHelperIdle atomic.Bool
	shapHelperJobs chan *shapJob
	shapJobs       = sync.Pool{New: func() any { return &shapJob{done: make(chan struct{}, 1)} }}
)

func shapHelper() {
	for j := range shapHelperJobs {
		sc := j.p.scratch()
		j.work(sc)
		clear(j.out[:])
		sc.sum(j.out[:])
		shapScratchPool.Put(sc)
		shapHelperIdle.Store(true)
		j.done <- struct{}{}
	}
}

// Contributions writes each feature's exact TreeSHAP value for row into out
// (len >= NumFeatures; the first NumFeatures entries are overwritten) and
// returns the base value (the model's expected output over the training
// covers), so that base + Σ out = Predict(row). The values are those of the
// path-dependent algorithm (Lundberg et al., Algorithm 2) with node training
// counts as covers, computed as described at the top of this file; forests
// outside its bounds (more than 64 features, categorical codes beyond 126,
// trees of more than 65534 nodes and leaves, a path whose cover fractions
// multiply below 1e-250) use Algorithm 2 itself. A large
// forest's row is shared with one helper goroutine when it is idle. On a
// short row or out, or an invalid forest, out is NaN-filled and NaN
// returned. It does not allocate once warm, and is safe for concurrent use.
func (f *Forest) Contributions(row []float64, out []float64) (base float64) {
	c := f.compiled()
	nf := c.nfeat
	if c.err != nil || len(row) < nf || len(out) < nf || c.maxDepth > maxShapDepth {
		return f.contributionsReference(row, out)
	}
	if base, ok := c.contributionsFast(row, out); ok {
		return base
	}
	return f.contributionsReference(row, out)
}

// contributionsFast is Contributions on the fast path; ok is false when the
// forest is outside its bounds (then out is untouched).
func (c *compiled) contributionsFast(row, out []float64) (base float64, ok bool) {
	p := c.shapPlan()
	if !p.ok {
		return 0, false
	}
	base = c.base
	for t := range p.trees {
		base += c.scale * c.expect[t]
	}
	out = out[:c.nfeat]
	clear(out)
	sc := p.scratch()
	if p.size < shapParallelMin || runtime.GOMAXPROCS(0) < 2 {
		var x [2 * maxFastCols]float64
		c.prepare(row, &x)
		for t := range p.trees {
			p.tree(&p.trees[t], &x, sc)
		}
		sc.sum(out)
	} else {
		shapHelperOnce.Do(func() {
			shapHelperJobs = make(chan *shapJob, 1)
			shapHelperIdle.Store(true)
			go shapHelper()
		})
		j := shapJobs.Get().(*shapJob)
		j.p = p
		c.prepare(row, &j.x)
		j.next.Store(0)
		shared := shapHelperIdle.CompareAndSwap(true, false)
		if shared {
			shapHelperJobs <- j // never blocks: the helper is idle, the buffer empty
		}
		j.work(sc)
		sc.sum(out)
		if shared {
			<-j.done
			for i := range out {
				out[i] += j.out[i]
			}
		}
		j.p = nil
		shapJobs.Put(j)
	}
	shapScratchPool.Put(sc)
	for i := range out {
		out[i] *= c.scale
	}
	return base, true
}

func (p *shapPlan) tree(tr *shapTree, x *[2 * maxFastCols]float64, sc *shapScratch) {
	if tr.nodes[0] == tr.nodes[1] {
		return
	}
	n := int(tr.n)
	el := sc.el[:n+1]
	z := p.z[tr.z : int(tr.z)+n+1]
	nodes := p.nodes[tr.nodes[0]:tr.nodes[1]]
	down(nodes, p.cats, x, el)
	leaves := p.leaves[tr.leaves[0]:tr.leaves[1]]
	sortLeaves(leaves, el, sc)
	fold := uint(shapSink - (p.stride - 1)) // TrailingZeros64(0) = 64 → a list's sentinel
	leaves2(leaves, sc.bucket[0], p.lists, fold, z, el, p.wPad, &sc.acc)
	leaves4(leaves, sc.bucket[1], p.lists, fold, z, el, p.wPad, &sc.acc)
	leaves6(leaves, sc.bucket[2], p.lists, fold, z, el, p.wPad, &sc.acc)
	for _, j := range sc.bucket[3] {
		lf := &leaves[j]
		p.leafGeneric(lf, p.lists[lf.list:int(lf.list)+p.stride], z, el, sc)
	}
	up(nodes, el, &sc.acc)
}

// down is step 1: top-down over the nodes in preorder, so that a node's own
// mask is final before it is read. A child is hot for the node's feature
// when the row goes there and the feature was hot (or new) above.
func down(nodes []shapNode, cats [][2]uint64, x *[2 * maxFastCols]float64, el []shapEl) {
	el[len(el)-1].mask = ^uint64(0)
	el[0].mask = 0
	for k := range nodes {
		nd := nodes[k] // a copy: its fields load once into registers
		v := x[nd.dfeat&(2*maxFastCols-1)]
		num := uint64(b2u(v > nd.thr))
		code := uint64(int64(v)) & 127
		cat := 1 ^ (cats[nd.cat][code>>6]>>(code&63))&1
		right := num ^ ((num ^ cat) & uint64(nd.isCat)) // 1: the row goes right
		f := uint64(nd.feat) & 63
		o := el[nd.prev].mask >> f & 1
		mb := el[nd.e].mask &^ (1 << f)
		el[int(nd.e)+1].mask = mb | (o&^right)<<f
		el[nd.rc].mask = mb | (o&right)<<f
	}
}

// up is step 3: subtree sums of T, charged where a feature turns cold: at a
// node whose feature was hot (or new) above, on the child the row does not
// take.
func up(nodes []shapNode, el []shapEl, accs *[shapBanks][shapAcc]float64) {
	for k := len(nodes) - 1; k >= 0; k-- {
		acc := &accs[k%shapBanks]
		nd := nodes[k]
		l, r := int(nd.e)+1, int(nd.rc)
		el[nd.e].st = el[l].st + el[r].st
		f := uint64(nd.feat) & 63
		o := el[nd.prev].mask >> f & 1
		lh := int(el[l].mask >> f & 1) // left hot: the right child is the cold one
		acc[f] -= float64(o) * el[l+lh*(r-l)].st
	}
}

// sortLeaves is the start of step 2: it puts the tree's leaves into buckets
// by the size of their hot set (≤ 2, ≤ 4, ≤ 6, more), so that each bucket
// runs one straight-line evaluation.
func sortLeaves(leaves []shapLeaf, el []shapEl, sc *shapScratch) {
	b0, b1 := sc.bucket[0][:len(leaves)], sc.bucket[1][:len(leaves)]
	b2, b3 := sc.bucket[2][:len(leaves)], sc.bucket[3][:len(leaves)]
	// every leaf is written to all four and kept by one: counters stay in
	// registers and the loop has no branch
	var n0, n1, n2, n3 int
	for j := range leaves {
		m := el[leaves[j].e].mask
		m &= m - 1
		m &= m - 1
		over2 := int(b2u(m != 0))
		m &= m - 1
		m &= m - 1
		over4 := int(b2u(m != 0))
		m &= m - 1
		m &= m - 1
		over6 := int(b2u(m != 0))
		b0[n0] = int32(j)
		b1[n1] = int32(j)
		b2[n2] = int32(j)
		b3[n3] = int32(j)
		n0 += 1 - over2
		n1 += over2 - over4
		n2 += over4 - over6
		n3 += over6
	}
	sc.bucket[0], sc.bucket[1], sc.bucket[2], sc.bucket[3] = b0[:n0], b1[:n1], b2[:n2], b3[:n3]
}

// hotSlot returns the zero fraction of the feature at mask bit low of a leaf
// whose feature list starts at lists[list] (the sentinel's 1 when low is 0),
// and the accumulator index: the feature, or sink when low is 0. fold maps
// TrailingZeros64(0) = 64 to the list's last entry.
func hotSlot(z []float64, lists []uint16, list uint32, low uint64, fold, sink uint) (float64, uint) {
	f := uint(bits.TrailingZeros64(low))
	none := -(f >> 6) // all ones when low == 0
	return z[lists[uint(list)+(f-fold&none)]], (f + (sink-shapSink)&none) & (shapAcc - 1)
}

// The leavesN evaluate step 2 for the leaves js of a bucket. With the hot
// fractions in the slots, t = Σ_m w_m·[y^m] Π_slots (z_s + y) and a hot
// value needs ∂t/∂z_s; reverse-mode differentiation through the pairwise
// products (z_a + y)(z_b + y) gives every slot for about twice the cost of
// t. The weights row is that of u + empty slots features.

// leaves2 evaluates leaves with at most two hot features.
func leaves2(leaves []shapLeaf, js []int32, lists []uint16, fold uint, z []float64, el []shapEl, wPad *[shapWRows][8]float64, accs *[shapBanks][shapAcc]float64) {
	for i, j := range js {
		lf := &leaves[j]
		me := &el[lf.e]
		m := me.mask
		l0 := m & -m
		l1 := m ^ l0
		a, fa := hotSlot(z, lists, lf.list, l0, fold, shapSink)
		b, fb := hotSlot(z, lists, lf.list, l1, fold, shapSink+1)
		w := &wPad[(uint(lf.u)+uint(b2u(l0 == 0)+b2u(l1 == 0)))&(shapWRows-1)]
		da := w[0]*b + w[1]
		db := w[0]*a + w[1]
		vz := lf.vz / (a * b) // v·zc
		me.st = vz * (a*da + w[1]*b + w[2])
		acc := &accs[i%shapBanks]
		acc[fa] += vz * (1 - a) * da
		acc[fb] += vz * (1 - b) * db
	}
}

// leaves4 evaluates leaves with three or four hot features.
func leaves4(leaves []shapLeaf, js []int32, lists []uint16, fold uint, z []float64, el []shapEl, wPad *[shapWRows][8]float64, accs *[shapBanks][shapAcc]float64) {
	for i, j := range js {
		lf := &leaves[j]
		me := &el[lf.e]
		m := me.mask
		l0 := m & -m
		m ^= l0
		l1 := m & -m
		m ^= l1
		l2 := m & -m
		l3 := m ^ l2
		a, fa := hotSlot(z, lists, lf.list, l0, fold, shapSink)
		b, fb := hotSlot(z, lists, lf.list, l1, fold, shapSink+1)
		c, fc := hotSlot(z, lists, lf.list, l2, fold, shapSink+2)
		d, fd := hotSlot(z, lists, lf.list, l3, fold, shapSink+3)
		w := &wPad[(uint(lf.u)+uint(b2u(l2 == 0)+b2u(l3 == 0)))&(shapWRows-1)]
		// Π = (ab + (a+b)y + y²)(cd + (c+d)y + y²)
		p0, p1, q0, q1 := a*b, a+b, c*d, c+d
		dp0 := w[0]*q0 + w[1]*q1 + w[2]
		dp1 := w[1]*q0 + w[2]*q1 + w[3]
		dq0 := w[0]*p0 + w[1]*p1 + w[2]
		dq1 := w[1]*p0 + w[2]*p1 + w[3]
		vz := lf.vz / (p0 * q0)
		me.st = vz * (p0*dp0 + p1*dp1 + w[2]*q0 + w[3]*q1 + w[4])
		acc := &accs[i%shapBanks]
		acc[fa] += vz * (1 - a) * (dp0*b + dp1)
		acc[fb] += vz * (1 - b) * (dp0*a + dp1)
		acc[fc] += vz * (1 - c) * (dq0*d + dq1)
		acc[fd] += vz * (1 - d) * (dq0*c + dq1)
	}
}

// leaves6 evaluates leaves with five or six hot features.
func leaves6(leaves []shapLeaf, js []int32, lists []uint16, fold uint, z []float64, el []shapEl, wPad *[shapWRows][8]float64, accs *[shapBanks][shapAcc]float64) {
	for i, j := range js {
		lf := &leaves[j]
		me := &el[lf.e]
		m := me.mask
		l0 := m & -m
		m ^= l0
		l1 := m & -m
		m ^= l1
		l2 := m & -m
		m ^= l2
		l3 := m & -m
		m ^= l3
		l4 := m & -m
		l5 := m ^ l4
		a, fa := hotSlot(z, lists, lf.list, l0, fold, shapSink)
		b, fb := hotSlot(z, lists, lf.list, l1, fold, shapSink+1)
		c, fc := hotSlot(z, lists, lf.list, l2, fold, shapSink+2)
		d, fd := hotSlot(z, lists, lf.list, l3, fold, shapSink+3)
		e, fe := hotSlot(z, lists, lf.list, l4, fold, shapSink+4)
		f, ff := hotSlot(z, lists, lf.list, l5, fold, shapSink+5)
		w := &wPad[(uint(lf.u)+uint(b2u(l5 == 0)))&(shapWRows-1)]
		// Π = P·Q, P = s1·s2 (as in leaves4), Q = ef + (e+f)y + y²
		s10, s11 := a*b, a+b
		s20, s21 := c*d, c+d
		q0, q1 := e*f, e+f
		p0, p1, p2, p3 := s10*s20, s10*s21+s11*s20, s10+s11*s21+s20, s11+s21 // and y⁴
		dp0 := q0*w[0] + q1*w[1] + w[2]
		dp1 := q0*w[1] + q1*w[2] + w[3]
		dp2 := q0*w[2] + q1*w[3] + w[4]
		dp3 := q0*w[3] + q1*w[4] + w[5]
		dp4 := q0*w[4] + q1*w[5] + w[6]
		dq0 := p0*w[0] + p1*w[1] + p2*w[2] + p3*w[3] + w[4]
		dq1 := p0*w[1] + p1*w[2] + p2*w[3] + p3*w[4] + w[5]
		d10 := dp0*s20 + dp1*s21 + dp2
		d11 := dp1*s20 + dp2*s21 + dp3
		d20 := dp0*s10 + dp1*s11 + dp2
		d21 := dp1*s10 + dp2*s11 + dp3
		vz := lf.vz / (p0 * q0)
		me.st = vz * (p0*dp0 + p1*dp1 + p2*dp2 + p3*dp3 + dp4)
		acc := &accs[i%shapBanks]
		acc[fa] += vz * (1 - a) * (d10*b + d11)
		acc[fb] += vz * (1 - b) * (d10*a + d11)
		acc[fc] += vz * (1 - c) * (d20*d + d21)
		acc[fd] += vz * (1 - d) * (d20*c + d21)
		acc[fe] += vz * (1 - e) * (dq0*f + dq1)
		acc[ff] += vz * (1 - f) * (dq0*e + dq1)
	}
}

// leafGeneric is step 2 for a leaf with more than six hot features: the
// same gradient, through the product taken one factor at a time. fwd row k
// holds the coefficients of the product of the first k factors; adj,
// walking back, holds the gradient of t with respect to them.
func (p *shapPlan) leafGeneric(lf *shapLeaf, ls []uint16, z []float64, el []shapEl, sc *shapScratch) {
	w := p.w[lf.u]
	zs, fs, fwd, adj, nadj := sc.zs, sc.fs, sc.fwd, sc.adj, sc.nadj
	acc := &sc.acc[0]
	h := 0
	hot := 1.0
	for m := el[lf.e].mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		zs[h], fs[h] = z[ls[f]], uint8(f)
		hot *= zs[h]
		h++
	}
	fwd[0] = 1
	for k := range h {
		prev := fwd[k*(k+1)/2 : k*(k+1)/2+k+1]
		next := fwd[(k+1)*(k+2)/2 : (k+1)*(k+2)/2+k+2]
		zk := zs[k]
		next[0] = zk * prev[0]
		for m := 1; m <= k; m++ {
			next[m] = zk*prev[m] + prev[m-1]
		}
		next[k+1] = prev[k]
	}
	vz := lf.vz / hot
	copy(adj[:h+1], w[:h+1])
	t := 0.0
	for m, g := range fwd[h*(h+1)/2 : h*(h+1)/2+h+1] {
		t += adj[m] * g
	}
	el[lf.e].st = vz * t
	for k := h - 1; k >= 0; k-- {
		prev := fwd[k*(k+1)/2 : k*(k+1)/2+k+1]
		zk := zs[k]
		// next[m] = z·prev[m] + prev[m-1] ⇒ ∂t/∂prev[m] = z·adj[m] + adj[m+1]
		dz := 0.0
		for m := range prev {
			dz += adj[m] * prev[m]
			nadj[m] = zk*adj[m] + adj[m+1]
		}
		adj, nadj = nadj, adj
		acc[fs[k]] += vz * (1 - zk) * dz
	}
}
