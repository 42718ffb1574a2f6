package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"carvision/engine/dataset"
	"carvision/engine/evaluate"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/pipeline"
)

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func main() {
	dir := os.Args[1]
	tr, _ := dataset.Load(dir + "/train.csv")
	va, _ := dataset.Load(dir + "/valid.csv")
	te, _ := dataset.Load(dir + "/test.csv")
	both := pipeline.Concat(tr, va)
	names := features.Names(nil)
	if len(os.Args) > 6 && os.Args[6] != "" {
		names = nil
		for _, n := range splitComma(os.Args[6]) {
			names = append(names, n)
		}
	}
	spec, err := features.Fit(both, seq(both.Len()), names, 2019)
	if err != nil {
		panic(err)
	}
	xt := spec.Matrix(tr, seq(tr.Len()))
	xv := spec.Matrix(va, seq(va.Len()))
	xb := spec.Matrix(both, seq(both.Len()))
	xe := spec.Matrix(te, seq(te.Len()))
	p := gbdt.DefaultParams()
	p.Trees = 3000
	p.LearningRate, _ = strconv.ParseFloat(os.Args[2], 64)
	p.NumLeaves, _ = strconv.Atoi(os.Args[3])
	p.MinDataInLeaf, _ = strconv.Atoi(os.Args[4])
	p.LambdaL2, _ = strconv.ParseFloat(os.Args[5], 64)
	p.EarlyStoppingRounds = 100
	tf := os.Getenv("TF")
	fw := func(y []float64) []float64 {
		o := make([]float64, len(y))
		for i, v := range y {
			switch tf {
			case "log":
				o[i] = math.Log(v)
			case "sqrt":
				o[i] = math.Sqrt(v)
			default:
				o[i] = v
			}
		}
		return o
	}
	bw := func(y []float64) {
		for i, v := range y {
			switch tf {
			case "log":
				y[i] = math.Exp(v)
			case "sqrt":
				y[i] = v * v
			}
		}
	}
	trY, vaY, bothY := fw(tr.Price), fw(va.Price), fw(both.Price)
	t0 := time.Now()
	f, err := gbdt.Train(context.Background(), xt, trY, &xv, vaY, p, nil)
	if err != nil {
		panic(err)
	}
	pred := make([]float64, te.Len())
	f.PredictBatch(xe, pred, 2)
	bw(pred)
	m1 := evaluate.Score(te.Price, pred)
	n := f.NumTrees()
	fmt.Printf("ES: trees %d rmse %.0f mae %.0f mape %.2f r2 %.4f (%.1fs)\n", n, m1.RMSE, m1.MAE, m1.MAPE, m1.R2, time.Since(t0).Seconds())
	for _, mult := range []float64{1.0, 1.25} {
		p2 := p
		p2.EarlyStoppingRounds = 0
		p2.Trees = int(float64(n) * mult)
		f2, _ := gbdt.Train(context.Background(), xb, bothY, nil, nil, p2, nil)
		f2.PredictBatch(xe, pred, 2)
		bw(pred)
		m := evaluate.Score(te.Price, pred)
		fmt.Printf("refit x%.2f: trees %d rmse %.0f mae %.0f mape %.2f r2 %.4f\n", mult, p2.Trees, m.RMSE, m.MAE, m.MAPE, m.R2)
	}
}

func splitComma(s string) []string {
	var out []string
	cur := ""
	for _, c := range s {
		if c == ',' {
			out = append(out, cur)
			cur = ""
		} else {
			cur += string(c)
		}
	}
	return append(out, cur)
}
