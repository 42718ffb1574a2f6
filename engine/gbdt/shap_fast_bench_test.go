package gbdt

import (
	"context"
	"sync"
	"testing"
)

// prodShapForest is trained like the production model: 30k rows x 11
// features (6 numeric with NaN; 5 categorical with 100/19/5/3/13 levels),
// 580 trees x 127 leaves, no early stopping.
var prodShapForest = sync.OnceValues(func() (*Forest, Matrix) {
	full, y := carsLike(32000, 99)
	const cols = 11
	m := Matrix{Rows: full.Rows, Cols: cols, Data: make([]float64, full.Rows*cols),
		Kinds: full.Kinds[:cols], NumCats: full.NumCats[:cols], Names: full.Names[:cols]}
	for i := range full.Rows {
		copy(m.Data[i*cols:(i+1)*cols], full.Row(i)[:cols])
	}
	train, yt := sliceRows(m, y, 0, 30000)
	test, _ := sliceRows(m, y, 30000, m.Rows)
	p := DefaultParams()
	p.Trees, p.NumLeaves, p.LearningRate, p.EarlyStoppingRounds, p.MinDataInLeaf = 580, 127, 0.05, 0, 20
	p.Threads = 2
	f, err := Train(context.Background(), train, yt, nil, nil, p, nil)
	if err != nil {
		panic(err)
	}
	return f, test
})

func TestProdShapStats(t *testing.T) {
	f, _ := prodShapForest()
	c := f.compiled()
	leaves, nodes := len(c.leaf), len(c.nodes)
	maxU := make(map[int]int)
	var uniq func(n int32, seen uint64, d int) int
	uniq = func(n int32, seen uint64, d int) int {
		if n < 0 {
			return d
		}
		nd := &c.nodes[n]
		if seen&(1<<nd.feat) == 0 {
			d++
		}
		seen |= 1 << nd.feat
		return max(uniq(nd.child[0], seen, d), uniq(nd.child[1], seen, d))
	}
	for _, r := range c.roots {
		maxU[uniq(r, 0, 0)]++
	}
	t.Logf("trees %d nodes %d leaves %d maxDepth %d maxU hist %v", len(c.roots), nodes, leaves, c.maxDepth, maxU)
}
