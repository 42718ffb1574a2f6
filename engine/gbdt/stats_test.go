package gbdt

import (
	"syscall"
	"testing"
	"time"
)

func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func TestCPUFitTmp(t *testing.T) {
	m, y, _ := benchSplit()
	p := benchParams()
	for _, th := range []int{1, 2, 1, 2, 1, 2} {
		p.Threads = th
		best, bestc := 1e9, 0.0
		for range 4 {
			c0, w0 := cpuNow(), time.Now()
			Train(t.Context(), m, y, nil, nil, p, nil)
			if w := time.Since(w0).Seconds(); w < best {
				best, bestc = w, cpuNow()-c0
			}
		}
		t.Logf("fit threads=%d: best wall %.3f s (cpu %.3f)", th, best, bestc)
	}
}

func TestRFConfigsTmp(t *testing.T) {
	m, y, test := benchSplit()
	all, yy := benchData()
	_, yte := sliceRows(all, yy, benchRows, all.Rows)
	for _, cfg := range []struct{ leaves, minData int; ff float64 }{{8192, 2, 0.6}, {4096, 3, 0.6}, {2048, 5, 0.6}, {2048, 3, 1.0}, {1024, 5, 0.6}} {
		p := DefaultRFParams()
		p.NumLeaves, p.MinDataInLeaf, p.FeatureFraction, p.Threads = cfg.leaves, cfg.minData, cfg.ff, 2
		w0 := time.Now()
		f, _ := Train(t.Context(), m, y, nil, nil, p, nil)
		w := time.Since(w0).Seconds()
		b, _ := f.MarshalBinary()
		p0 := time.Now()
		for i := range 2000 {
			f.Predict(test.Row(i))
		}
		t.Logf("%+v: fit %.2fs, test RMSE %.0f, model %.1f MB, predict %.1f µs", cfg, w, rmseOf(f, test, yte), float64(len(b))/1e6, time.Since(p0).Seconds()/2000*1e6)
	}
	f, _ := Train(t.Context(), m, y, nil, nil, benchParams(), nil)
	t.Logf("gbdt test RMSE %.0f", rmseOf(f, test, yte))
}
