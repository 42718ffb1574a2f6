package gbdt

import (
	"math"
	"sync"
)

// pathElem is one entry of TreeSHAP's unique path.
type pathElem struct {
	feature  int32
	zeroFrac float64
	oneFrac  float64
	pweight  float64
}

// maxShapDepth bounds the path buffer ((d+1)(d+2)/2 entries); deeper trees
// get NaN contributions rather than a huge allocation.
const maxShapDepth = 1000

var shapBufs sync.Pool

// contributionsReference is Contributions by the path-dependent algorithm
// (Lundberg et al., Algorithm 2) with node training counts as covers; it is
// the fallback of the fast path and the tests' reference. On a short row or
// out, or an invalid forest, out is NaN-filled and NaN returned.
func (f *Forest) contributionsReference(row []float64, out []float64) (base float64) {
	c := f.compiled()
	nf := c.nfeat
	if c.err != nil || len(row) < nf || len(out) < nf || c.maxDepth > maxShapDepth {
		for i := range min(len(out), max(nf, 0)) {
			out[i] = math.NaN()
		}
		return math.NaN()
	}
	out = out[:nf]
	clear(out)
	need := (c.maxDepth + 2) * (c.maxDepth + 3) / 2
	var buf []pathElem
	if b, ok := shapBufs.Get().(*[]pathElem); ok && cap(*b) >= need {
		buf = (*b)[:need]
	} else {
		buf = make([]pathElem, need)
	}
	base = c.base
	for t, root := range c.roots {
		base += c.scale * c.expect[t]
		c.treeShap(row, out, root, 0, buf, 1, 1, -1)
	}
	shapBufs.Put(&buf)
	if c.scale != 1 {
		for i := range out {
			out[i] *= c.scale
		}
	}
	return base
}

func (c *compiled) cover(n int32) float64 {
	if n < 0 {
		return c.leafCount[^n]
	}
	return c.counts[n]
}

// expected is the cover-weighted mean leaf value under node n.
func (c *compiled) expected(n int32) float64 {
	if n < 0 {
		return c.leaf[^n]
	}
	nd := &c.nodes[n]
	l, r := nd.child[0], nd.child[1]
	cl, cr := c.cover(l), c.cover(r)
	return (cl*c.expected(l) + cr*c.expected(r)) / (cl + cr)
}

func extendPath(path []pathElem, depth int, zero, one float64, feature int32) {
	path[depth] = pathElem{feature: feature, zeroFrac: zero, oneFrac: one}
	if depth == 0 {
		path[depth].pweight = 1
	}
	for i := depth - 1; i >= 0; i-- {
		path[i+1].pweight += one * path[i].pweight * float64(i+1) / float64(depth+1)
		path[i].pweight = zero * path[i].pweight * float64(depth-i) / float64(depth+1)
	}
}

func unwindPath(path []pathElem, depth, pi int) {
	one, zero := path[pi].oneFrac, path[pi].zeroFrac
	next := path[depth].pweight
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := path[i].pweight
			path[i].pweight = next * float64(depth+1) / (float64(i+1) * one)
			next = tmp - path[i].pweight*zero*float64(depth-i)/float64(depth+1)
		} else {
			path[i].pweight = path[i].pweight * float64(depth+1) / (zero * float64(depth-i))
		}
	}
	for i := pi; i < depth; i++ {
		path[i].feature, path[i].zeroFrac, path[i].oneFrac = path[i+1].feature, path[i+1].zeroFrac, path[i+1].oneFrac
	}
}

func unwoundPathSum(path []pathElem, depth, pi int) float64 {
	one, zero := path[pi].oneFrac, path[pi].zeroFrac
	next := path[depth].pweight
	total := 0.0
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := next * float64(depth+1) / (float64(i+1) * one)
			total += tmp
			next = path[i].pweight - tmp*zero*float64(depth-i)/float64(depth+1)
		} else if zero != 0 {
			total += path[i].pweight / zero / (float64(depth-i) / float64(depth+1))
		}
	}
	return total
}

// treeShap is Algorithm 2: parent holds the unique path so far; this call
// works on its own copy at parent[depth:].
func (c *compiled) treeShap(row, phi []float64, n int32, depth int, parent []pathElem, zero, one float64, feature int32) {
	path := parent[depth:]
	copy(path[:depth], parent[:depth])
	extendPath(path, depth, zero, one, feature)
	if n < 0 {
		v := c.leaf[^n]
		for i := 1; i <= depth; i++ {
			w := unwoundPathSum(path, depth, i)
			e := &path[i]
			phi[e.feature] += w * (e.oneFrac - e.zeroFrac) * v
		}
		return
	}
	nd := &c.nodes[n]
	hot := c.next(nd, row[nd.feat])
	cold := nd.child[0]
	if hot == cold {
		cold = nd.child[1]
	}
	w := c.cover(n)
	hotZero, coldZero := c.cover(hot)/w, c.cover(cold)/w
	inZero, inOne := 1.0, 1.0
	pi := 0
	for ; pi <= depth; pi++ {
		if path[pi].feature == nd.feat {
			break
		}
	}
	if pi != depth+1 {
		inZero, inOne = path[pi].zeroFrac, path[pi].oneFrac
		unwindPath(path, depth, pi)
		depth--
	}
	c.treeShap(row, phi, hot, depth+1, path, hotZero*inZero, inOne, nd.feat)
	c.treeShap(row, phi, cold, depth+1, path, coldZero*inZero, 0, nd.feat)
}
