package gbdt

import (
	"syscall"
	"testing"
	"time"
)

func TestStatsTmp(t *testing.T) {
	f := benchForest()
	_, _, test := benchSplit()
	c := f.compiled()
	visits, cat := 0, 0
	for i := 0; i < 1000; i++ {
		row := test.Row(i)
		for _, n := range c.roots {
			for n >= 0 {
				nd := &c.nodes[n]
				visits++
				if nd.info&1 != 0 {
					cat++
				}
				n = c.next(nd, row[nd.feat])
			}
		}
	}
	t.Logf("avg visits/row %.1f, cat frac %.2f, maxDepth %d, nodes %d", float64(visits)/1000, float64(cat)/float64(visits), c.maxDepth, len(c.nodes))
}

func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func TestCPUPredictTmp(t *testing.T) {
	f := benchForest()
	_, _, test := benchSplit()
	f.Predict(test.Row(0))
	const N = 300000
	c0, w0 := cpuNow(), time.Now()
	s := 0.0
	for i := range N {
		s += f.Predict(test.Row(i % test.Rows))
	}
	t.Logf("predict: cpu %.2f µs/op, wall %.2f µs/op (%v)", (cpuNow()-c0)/N*1e6, time.Since(w0).Seconds()/N*1e6, s > 0)
	m, y, _ := benchSplit()
	p := benchParams()
	for _, th := range []int{1, 2} {
		p.Threads = th
		c0, w0 = cpuNow(), time.Now()
		for range 3 {
			Train(t.Context(), m, y, nil, nil, p, nil)
		}
		t.Logf("fit threads=%d: cpu %.3f s, wall %.3f s", th, (cpuNow()-c0)/3, time.Since(w0).Seconds()/3)
	}
}
