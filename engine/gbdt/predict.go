package gbdt

import "math"

// Fast inference. A tree walk is a chain of dependent loads, and its
// left/right branches are unpredictable, so Predict keeps six walks in
// flight with branch-free steps: each step is one comparison (numeric) or
// one bit test (categorical) and an arithmetic child select. A walk that
// reaches a leaf adds the leaf's value and takes the next tree; when no
// trees remain it parks on an end sentinel, and the row is done when all
// six walks are parked. Measured on the 100-tree benchmark model this is
// ~2.5x faster than walking one tree at a time with branches.

// pnode is one node or leaf of the fast layout (32 bytes).
type pnode struct {
	// numeric: bits[0] holds the threshold's float64 bits; categorical: a
	// bitset of the codes (0..126) going left; leaf: bits[0] is the value.
	bits [2]uint64
	// feat indexes the prepared row: numeric splits sending NaN left read
	// the second half (see prepare).
	feat  int32
	meta  uint32
	child [2]int32 // global indices; a leaf points to itself
}

const (
	metaCat  = 1 << 0 // categorical split
	metaLeaf = 1 << 2
	metaDone = 1 << 3 // the end sentinel (a leaf of value 0)
	// maxFastCols bounds the prepared row kept on the stack.
	maxFastCols = 64
	// missingCode stands for NaN and out-of-range codes in a prepared row;
	// no bitset has it because fast layouts need NumCats <= 127.
	missingCode = 127
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// buildFast lays out each tree depth-first (a node, its left subtree, its
// right subtree; leaves inline), then the sentinel. Forests it cannot
// represent (too many columns, categorical codes >= 127) use refPredict.
func (c *compiled) buildFast() {
	if c.nfeat > maxFastCols {
		c.slowPredict = true
		return
	}
	c.fast = make([]pnode, 0, len(c.nodes)+len(c.leaf)+1)
	c.fastRoots = make([]int32, 0, len(c.roots)+1)
	F := int32(c.nfeat)
	var walk func(ref int32) int32
	walk = func(ref int32) int32 {
		at := int32(len(c.fast))
		c.fast = append(c.fast, pnode{})
		if ref < 0 {
			c.fast[at] = pnode{bits: [2]uint64{math.Float64bits(c.leaf[^ref])}, meta: metaLeaf, child: [2]int32{at, at}}
			return at
		}
		nd := &c.nodes[ref]
		pn := pnode{feat: nd.feat}
		if nd.info&1 == 0 {
			pn.bits[0] = math.Float64bits(nd.thr)
			if nd.info&2 != 0 {
				pn.feat += F // NaN goes left: read the copy where NaN is -Inf
			}
		} else {
			pn.meta = metaCat
			k := nd.info >> 2
			words := c.catWords[c.catBounds[k]:c.catBounds[k+1]]
			for i, w := range words {
				if i >= 4 || (i == 3 && w>>31 != 0) {
					c.slowPredict = true
					break
				}
				pn.bits[i/2] |= uint64(w) << (32 * (i % 2))
			}
		}
		l := walk(nd.child[0])
		r := walk(nd.child[1])
		pn.child = [2]int32{l, r}
		c.fast[at] = pn
		return at
	}
	for _, root := range c.roots {
		c.fastRoots = append(c.fastRoots, walk(root))
	}
	end := int32(len(c.fast))
	c.fast = append(c.fast, pnode{meta: metaLeaf | metaDone, child: [2]int32{end, end}})
	c.fastRoots = append(c.fastRoots, end)
}

// prepare copies row into x so that every decision is one comparison or
// one bit test: numeric NaN becomes +Inf in x[j] (read by splits sending
// NaN right) and -Inf in x[F+j] (read by splits sending NaN left), which
// leaves every non-NaN decision unchanged; a categorical value becomes its
// truncated code, or missingCode when NaN or outside (-1, 127).
func (c *compiled) prepare(row []float64, x *[2 * maxFastCols]float64) {
	F := c.nfeat
	for j, v := range row[:F] {
		if c.isCat[j] {
			code := float64(missingCode)
			if v > -1 && v < missingCode {
				code = math.Trunc(v)
			}
			x[j] = code
			continue
		}
		lo, hi := v, v
		if v != v {
			lo, hi = math.Inf(-1), math.Inf(1)
		}
		x[j], x[F+j] = hi, lo
	}
}

func (c *compiled) predict(row []float64) float64 {
	if c.slowPredict {
		return refPredict(c, row)
	}
	var x [2 * maxFastCols]float64
	c.prepare(row, &x)
	return c.predictPrepared(&x)
}

// predictPrepared runs the six walks; each lane below is the same step
// written out, because a call per node would cost more than the node.
func (c *compiled) predictPrepared(x *[2 * maxFastCols]float64) float64 {
	nodes := c.fast
	roots := c.fastRoots // tree roots, then the sentinel
	last := uint32(len(roots) - 1)
	sum := 0.0
	n0, n1, n2, n3, n4, n5 := roots[min(0, last)], roots[min(1, last)], roots[min(2, last)], roots[min(3, last)], roots[min(4, last)], roots[min(5, last)]
	next := uint32(5)
	for {
		all := uint32(metaDone)
		{
			nd := &nodes[n0]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n0 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		{
			nd := &nodes[n1]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n1 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		{
			nd := &nodes[n2]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n2 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		{
			nd := &nodes[n3]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n3 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		{
			nd := &nodes[n4]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n4 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		{
			nd := &nodes[n5]
			m := nd.meta
			all &= m
			v := x[nd.feat]
			num := b2u(v > math.Float64frombits(nd.bits[0]))
			code := uint64(int64(v)) & 127
			cat := 1 ^ uint32(nd.bits[code>>6]>>(code&63))&1
			leaf := (m >> 2) & 1
			sum += math.Float64frombits(nd.bits[0] & -uint64(leaf))
			next += leaf
			r := roots[min(next, last)]
			ch := nd.child[(num^((num^cat)&m))&1]
			n5 = ch ^ ((ch ^ r) & -int32(leaf))
		}
		if all&metaDone != 0 {
			break
		}
	}
	return c.base + c.scale*sum
}

// refPredict is the reference walk, one tree at a time with the decision of
// compiled.next; SHAP and the tests use the same decision.
func refPredict(c *compiled, row []float64) float64 {
	sum := 0.0
	for _, n := range c.roots {
		for n >= 0 {
			nd := &c.nodes[n]
			n = c.next(nd, row[nd.feat])
		}
		sum += c.leaf[^n]
	}
	return c.base + c.scale*sum
}
