package gbdt

import (
	"context"
	"sync"
	"testing"
)

// The benchmark shape mirrors the real training split: 40k rows x 12
// features (6 numeric, one with thousands of distinct values, ~15% NaN in
// some; 6 categorical with 100/19/5/3/13/13 levels), 100 trees x 31 leaves,
// 2 threads.
const benchRows = 40000

var benchData = sync.OnceValues(func() (Matrix, []float64) { return carsLike(benchRows+10000, 2024) })

func benchSplit() (train Matrix, y []float64, test Matrix) {
	m, yy := benchData()
	train, y = sliceRows(m, yy, 0, benchRows)
	test, _ = sliceRows(m, yy, benchRows, m.Rows)
	return
}

func benchParams() Params {
	p := DefaultParams()
	p.Threads = 2
	return p
}

func BenchmarkBinning(b *testing.B) {
	m, _, _ := benchSplit()
	pl := newPool(2)
	defer pl.close()
	b.ReportAllocs()
	for b.Loop() {
		mp := fitMappers(m, 255, pl)
		applyMappers(m, mp, pl)
	}
}

func BenchmarkOneTree(b *testing.B) {
	m, y, _ := benchSplit()
	p := benchParams()
	pl := newPool(2)
	defer pl.close()
	mp := fitMappers(m, p.MaxBin, pl)
	bd := applyMappers(m, mp, pl)
	l := newLearner(p, pl, bd, mp, m.Kinds, m.Rows)
	l.grad = make([]float64, m.Rows)
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for i, v := range y {
		l.grad[i] = mean - v
	}
	rows := make([]int32, m.Rows)
	for i := range rows {
		rows[i] = int32(i)
	}
	for j := range m.Cols {
		l.treeFeats = append(l.treeFeats, int32(j))
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.grow(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFit(b *testing.B) {
	m, y, _ := benchSplit()
	p := benchParams()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Train(context.Background(), m, y, nil, nil, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFitRandomForest(b *testing.B) {
	m, y, _ := benchSplit()
	p := DefaultRFParams()
	p.Threads = 2
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Train(context.Background(), m, y, nil, nil, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

var benchForest = sync.OnceValue(func() *Forest {
	m, y, _ := benchSplit()
	f, err := Train(context.Background(), m, y, nil, nil, benchParams(), nil)
	if err != nil {
		panic(err)
	}
	return f
})

func BenchmarkPredictSingle(b *testing.B) {
	f := benchForest()
	_, _, test := benchSplit()
	b.ReportAllocs()
	i := 0
	sink := 0.0
	for b.Loop() {
		sink += f.Predict(test.Row(i))
		i++
		if i == test.Rows {
			i = 0
		}
	}
	_ = sink
}

func BenchmarkPredictBatch(b *testing.B) {
	f := benchForest()
	_, _, test := benchSplit()
	out := make([]float64, test.Rows)
	b.ReportAllocs()
	for b.Loop() {
		f.PredictBatch(test, out, 2)
	}
	b.ReportMetric(float64(test.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkFitOneThread(b *testing.B) {
	m, y, _ := benchSplit()
	p := benchParams()
	p.Threads = 1
	for b.Loop() {
		if _, err := Train(context.Background(), m, y, nil, nil, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}
