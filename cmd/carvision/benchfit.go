package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/evaluate"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/pipeline"
)

// newBenchFitCmd compares our trainer with the Python peers on the very rows
// peers_on_split.py used: the peer-shaped fit (100 trees × 31 leaves, no
// early stopping) for speed, our configured model for accuracy.
func newBenchFitCmd() *cobra.Command {
	var trainPath, validPath, testPath, peersPath string
	var threads, repeats int
	cmd := &cobra.Command{
		Use:    "bench-fit",
		Short:  "Benchmark fit, accuracy and inference against the peers on one split (make bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			load := func(p string) (*dataset.Frame, error) { return dataset.Load(p) }
			train, err := load(trainPath)
			if err != nil {
				return exit(2, err)
			}
			valid, err := load(validPath)
			if err != nil {
				return exit(2, err)
			}
			test, err := load(testPath)
			if err != nil {
				return exit(2, err)
			}
			s, _, err := settings()
			if err != nil {
				return err
			}
			return benchFit(cmd.Context(), cmd.OutOrStdout(), s, train, valid, test, peersPath, threads, repeats)
		},
	}
	cmd.Flags().StringVar(&trainPath, "train", "", "train.csv")
	cmd.Flags().StringVar(&validPath, "valid", "", "valid.csv")
	cmd.Flags().StringVar(&testPath, "test", "", "test.csv")
	cmd.Flags().StringVar(&peersPath, "peers", "", "peers.jsonl from peers_on_split.py (for ratios)")
	cmd.Flags().IntVar(&threads, "threads", 2, "threads")
	cmd.Flags().IntVar(&repeats, "repeats", 5, "fits to take the median of")
	return cmd
}

type peerRec struct {
	Model   string  `json:"model"`
	FitS    float64 `json:"fit_s"`
	RMSE    float64 `json:"rmse"`
	MAE     float64 `json:"mae"`
	R2      float64 `json:"r2"`
	MAPE    float64 `json:"mape_pct"`
	P50ms   float64 `json:"single_ms_p50"`
	Batch   float64 `json:"batch_rows_per_s"`
	Skipped string  `json:"skipped"`
}

func readPeers(path string) []peerRec {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []peerRec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r peerRec
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Skipped == "" && r.RMSE > 0 {
			out = append(out, r)
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func benchFit(ctx context.Context, w io.Writer, s pipeline.Settings, train, valid, test *dataset.Frame, peersPath string, threads, repeats int) error {
	both := pipeline.Concat(train, valid)
	all := func(f *dataset.Frame) []int {
		idx := make([]int, f.Len())
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	// Peer-shaped fit: LightGBM's defaults on train+valid, as the peers fit.
	spec, err := features.Fit(both, all(both), features.Names(s.DropColumns), s.DatasetYear)
	if err != nil {
		return err
	}
	xb := spec.Matrix(both, all(both))
	xt := spec.Matrix(test, all(test))
	p := gbdt.DefaultParams()
	p.Trees, p.NumLeaves, p.LearningRate, p.EarlyStoppingRounds, p.Threads = 100, 31, 0.1, 0, threads
	var fits []float64
	var forest *gbdt.Forest
	for range repeats {
		t0 := time.Now()
		if forest, err = gbdt.Train(ctx, xb, both.Price, nil, nil, p, nil); err != nil {
			return err
		}
		fits = append(fits, time.Since(t0).Seconds())
	}
	pred := make([]float64, test.Len())
	forest.PredictBatch(xt, pred, threads)
	peerShape := evaluate.Score(test.Price, pred)

	// Our configured model, as `carvision train` builds it.
	m, err := pipeline.Fit(ctx, s, train, valid, nil)
	if err != nil {
		return err
	}
	ours := evaluate.Score(test.Price, pipeline.PredictFrame(m, test))

	// Inference: the whole request path (listing → row → trees) and the trees alone.
	rows := make([]engine.Listing, test.Len())
	for i := range rows {
		rows[i] = test.Row(i)
	}
	lat := make([]float64, 0, 2000)
	for i := range 2000 {
		l := rows[i%len(rows)]
		t0 := time.Now()
		_, _ = m.Predict(l, engine.PredictOptions{})
		lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
	}
	slices.Sort(lat)
	// Explanations (TreeSHAP in dollars) on the configured model, after a warm-up.
	for i := range 200 {
		_, _ = m.Predict(rows[i%len(rows)], engine.PredictOptions{Explain: true})
	}
	expl := make([]float64, 0, 2000)
	for i := range 2000 {
		l := rows[i%len(rows)]
		t0 := time.Now()
		_, _ = m.Predict(l, engine.PredictOptions{Explain: true})
		expl = append(expl, float64(time.Since(t0).Nanoseconds())/1e3)
	}
	slices.Sort(expl)
	tree := make([]float64, 0, 2000)
	for i := range 2000 {
		r := xt.Row(i % xt.Rows)
		t0 := time.Now()
		_ = forest.Predict(r)
		tree = append(tree, float64(time.Since(t0).Nanoseconds())/1e3)
	}
	slices.Sort(tree)
	var best float64
	for range 3 {
		t0 := time.Now()
		forest.PredictBatch(xt, pred, threads)
		if r := float64(xt.Rows) / time.Since(t0).Seconds(); r > best {
			best = r
		}
	}

	fmt.Fprintf(w, "\n## CarVision on the same split (%d fit rows, %d test rows, %d threads)\n\n", both.Len(), test.Len(), threads)
	fmt.Fprintf(w, "| model | fit s | RMSE | MAE | R² | MAPE %% |\n|---|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| carvision peer-shape (100×31, lr 0.1, train+valid) | %.3f | %.0f | %.0f | %.4f | %.2f |\n", median(fits), peerShape.RMSE, peerShape.MAE, peerShape.R2, peerShape.MAPE)
	fmt.Fprintf(w, "| carvision configured (%s, %d trees, early-stopped) | %.3f | %.0f | %.0f | %.4f | %.2f |\n", m.Kind, m.Forest.NumTrees(), m.Metrics["fit_seconds"], ours.RMSE, ours.MAE, ours.R2, ours.MAPE)
	fmt.Fprintf(w, "\nsingle predict, full path p50 %.2f µs p99 %.2f µs; trees only p50 %.2f µs p99 %.2f µs; batch %.0f rows/s (%d threads)\n",
		lat[len(lat)/2], lat[len(lat)*99/100], tree[len(tree)/2], tree[len(tree)*99/100], best, threads)
	fmt.Fprintf(w, "explain (TreeSHAP, %d trees) p50 %.0f µs p99 %.0f µs\n", m.Forest.NumTrees(), expl[len(expl)/2], expl[len(expl)*99/100])
	fmt.Fprintf(w, "fit times: %v\n", fits)
	peers := readPeers(peersPath)
	if len(peers) == 0 {
		return nil
	}
	bestRMSE, bestMAPE := peers[0], peers[0]
	var xgb *peerRec
	for i, r := range peers {
		if r.RMSE < bestRMSE.RMSE {
			bestRMSE = r
		}
		if r.MAPE < bestMAPE.MAPE {
			bestMAPE = r
		}
		if r.Model == "xgb" {
			xgb = &peers[i]
		}
	}
	fmt.Fprintf(w, "\n| target | ours | peer | ratio | goal | ok |\n|---|---:|---:|---:|---:|---|\n")
	ok := func(b bool) string {
		if b {
			return "yes"
		}
		return "NO"
	}
	rr := ours.RMSE / bestRMSE.RMSE
	fmt.Fprintf(w, "| test RMSE vs best peer (%s) | %.0f | %.0f | %.3f | ≤ 0.98 | %s |\n", bestRMSE.Model, ours.RMSE, bestRMSE.RMSE, rr, ok(rr <= 0.98))
	fmt.Fprintf(w, "| MAPE vs best peer (%s) | %.2f | %.2f | %.3f | ≤ 1.00 | %s |\n", bestMAPE.Model, ours.MAPE, bestMAPE.MAPE, ours.MAPE/bestMAPE.MAPE, ok(ours.MAPE <= bestMAPE.MAPE))
	if xgb != nil {
		fr := median(fits) / xgb.FitS
		fmt.Fprintf(w, "| fit 100×31, 2 threads, vs XGBoost | %.3f s | %.3f s | %.3f | ≤ 0.70 | %s |\n", median(fits), xgb.FitS, fr, ok(fr <= 0.7))
	}
	fmt.Fprintf(w, "| single predict p50 (trees) | %.2f µs | | | ≤ 3 µs | %s |\n", tree[len(tree)/2], ok(tree[len(tree)/2] <= 3))
	fmt.Fprintf(w, "| batch rows/s, %d threads | %.0f | | | ≥ 400k | %s |\n", threads, best, ok(best >= 400000))
	e99 := expl[len(expl)*99/100]
	fmt.Fprintf(w, "| explain p99, in process | %.0f µs | | | ≤ 1000 µs | %s |\n", e99, ok(e99 <= 1000))
	return nil
}
