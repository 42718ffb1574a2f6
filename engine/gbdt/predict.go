package gbdt

import "math"

// Fast inference. Each row walks several trees in lockstep with branch-free
// steps: a tree walk is a chain of dependent loads, and a mispredicted
// left/right branch stalls it, so interleaving independent walks and
// selecting children arithmetically keeps the core busy. Leaves are nodes
// that point to themselves, so a finished walk can keep stepping in place
// until the slowest walk of its group ends.

// pnode is one node or leaf of the fast layout (32 bytes).
type pnode struct {
	// numeric: bits[0] is the threshold's float64 bits; categorical: a
	// bitset of the codes going left (0..127); leaf: bits[0] is the value.
	bits  [2]uint64
	feat  int32
	meta  uint32
	child [2]int32 // global indices into fast; a leaf points to itself
}

const (
	metaCat      = 1 << 0 // categorical split
	metaNaNRight = 1 << 1 // numeric: NaN goes right
	metaLeaf     = 1 << 2
	metaBigCat   = 1 << 3 // categorical bitset beyond 128 codes: slow path
	// slowShift holds the original node index for metaBigCat nodes.
	fastGroup = 4
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// buildFast lays out every tree's nodes followed by its leaves.
func (c *compiled) buildFast() {
	c.fast = make([]pnode, 0, len(c.nodes)+len(c.leaf))
	c.fastRoots = make([]int32, len(c.roots))
	nodeAt := make(map[int32]int32) // original ref -> fast index, per tree
	for t, root := range c.roots {
		clear(nodeAt)
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
			switch {
			case nd.info&1 == 0:
				pn.bits[0] = math.Float64bits(nd.thr)
				if nd.info&2 == 0 {
					pn.meta = metaNaNRight
				}
			default:
				pn.meta = metaCat
				k := nd.info >> 2
				words := c.catWords[c.catBounds[k]:c.catBounds[k+1]]
				if len(words) > 4 {
					pn.meta |= metaBigCat
					pn.bits[0] = uint64(ref) // the slow path walks the original node
				} else {
					for i, w := range words {
						pn.bits[i/2] |= uint64(w) << (32 * (i % 2))
					}
				}
			}
			l := walk(nd.child[0])
			r := walk(nd.child[1])
			pn.child = [2]int32{l, r}
			c.fast[at] = pn
			return at
		}
		c.fastRoots[t] = walk(root)
	}
}

// step moves one walk down one level (a leaf stays put).
func (c *compiled) step(nd *pnode, row []float64) int32 {
	v := row[nd.feat]
	// numeric: right if v > thr, or v is NaN and NaN goes right
	num := b2u(v > math.Float64frombits(nd.bits[0])) | b2u(v != v)&(nd.meta>>1)
	// categorical: left iff -1 < v < 128 and the truncated code's bit is set
	code := uint64(int64(v)) & 127
	in := b2u(v > -1) & b2u(v < 128) & uint32(nd.bits[code>>6]>>(code&63))
	cat := 1 ^ in
	idx := num ^ ((num ^ cat) & nd.meta)
	if nd.meta&metaBigCat != 0 {
		o := &c.nodes[nd.bits[0]]
		if c.next(o, v) == o.child[0] {
			idx = 0
		} else {
			idx = 1
		}
	}
	return nd.child[idx&1]
}

func (c *compiled) predict(row []float64) float64 {
	nodes := c.fast
	roots := c.fastRoots
	sum := 0.0
	t := 0
	for ; t+fastGroup <= len(roots); t += fastGroup {
		n0, n1, n2, n3 := roots[t], roots[t+1], roots[t+2], roots[t+3]
		for {
			a, b, d, e := &nodes[n0], &nodes[n1], &nodes[n2], &nodes[n3]
			if a.meta&b.meta&d.meta&e.meta&metaLeaf != 0 {
				sum += math.Float64frombits(a.bits[0])
				sum += math.Float64frombits(b.bits[0])
				sum += math.Float64frombits(d.bits[0])
				sum += math.Float64frombits(e.bits[0])
				break
			}
			n0, n1, n2, n3 = c.step(a, row), c.step(b, row), c.step(d, row), c.step(e, row)
		}
	}
	for ; t < len(roots); t++ {
		n := roots[t]
		for nodes[n].meta&metaLeaf == 0 {
			n = c.step(&nodes[n], row)
		}
		sum += math.Float64frombits(nodes[n].bits[0])
	}
	return c.base + c.scale*sum
}
