package gbdt

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// prodShapForest is trained like the production model: 30k rows x 11
// features (6 numeric with NaN; 5 categorical with 100/19/5/3/13 levels),
// 580 trees x up to 127 leaves, learning rate 0.05, no early stopping. The
// 2000 rows after the training rows are the explained rows.
var prodShapForest = sync.OnceValues(func() (*Forest, Matrix) {
	full, y := carsLike(32000, 99)
	const cols = 11 // carsLike's first 11 columns: drop paint_color
	m := Matrix{Rows: full.Rows, Cols: cols, Data: make([]float64, full.Rows*cols),
		Kinds: full.Kinds[:cols], NumCats: full.NumCats[:cols], Names: full.Names[:cols]}
	for i := range full.Rows {
		copy(m.Data[i*cols:(i+1)*cols], full.Row(i)[:cols])
	}
	train, yt := sliceRows(m, y, 0, 30000)
	rows, _ := sliceRows(m, y, 30000, m.Rows)
	p := DefaultParams()
	p.Trees, p.NumLeaves, p.LearningRate, p.EarlyStoppingRounds, p.MinDataInLeaf = 580, 127, 0.05, 0, 20
	p.Threads = 2
	f, err := Train(context.Background(), train, yt, nil, nil, p, nil)
	if err != nil {
		panic(err)
	}
	return f, rows
})

// shapVariants are the implementations compared: Algorithm 2, and the fast
// path on one goroutine and shared with the helper.
var shapVariants = []struct {
	name        string
	parallelMin int
	reference   bool
}{
	{"reference", 0, true},
	{"fast-1goroutine", 1 << 30, false},
	{"fast-2goroutines", 20000, false},
}

func BenchmarkContributions(b *testing.B) {
	f, rows := prodShapForest()
	out := make([]float64, f.NumFeatures())
	for _, v := range shapVariants {
		b.Run(v.name, func(b *testing.B) {
			defer func(m int) { shapParallelMin = m }(shapParallelMin)
			shapParallelMin = v.parallelMin
			f.Contributions(rows.Row(0), out) // plan, pools, helper
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				row := rows.Row(i % rows.Rows)
				i++
				if v.reference {
					f.contributionsReference(row, out)
				} else {
					f.Contributions(row, out)
				}
			}
		})
	}
}

// BenchmarkContributionsLatency reports the p50 and p99 latency of one row
// over the 2000 rows (200 for the reference), back to back and with an
// idle millisecond before each row (a parked helper must be woken).
func BenchmarkContributionsLatency(b *testing.B) {
	f, rows := prodShapForest()
	out := make([]float64, f.NumFeatures())
	for _, v := range shapVariants {
		for _, idle := range []time.Duration{0, time.Millisecond} {
			if v.reference && idle > 0 {
				continue
			}
			name := v.name
			if idle > 0 {
				name += "-idle"
			}
			b.Run(name, func(b *testing.B) {
				defer func(m int) { shapParallelMin = m }(shapParallelMin)
				shapParallelMin = v.parallelMin
				f.Contributions(rows.Row(0), out)
				n := rows.Rows
				if v.reference {
					n = 200
				}
				lat := make([]time.Duration, 0, n)
				for b.Loop() {
					lat = lat[:0]
					for i := range n {
						if idle > 0 {
							time.Sleep(idle)
						}
						t0 := time.Now()
						if v.reference {
							f.contributionsReference(rows.Row(i), out)
						} else {
							f.Contributions(rows.Row(i), out)
						}
						lat = append(lat, time.Since(t0))
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
