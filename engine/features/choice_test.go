package features

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"carvision/engine/dataset"
	"carvision/engine/dataset/datasettest"
	"carvision/engine/evaluate"
	"carvision/engine/gbdt"
	"carvision/engine/prep"
	"carvision/engine/split"
)

func without(names []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

func with(names []string, add ...string) []string { return append(slices.Clone(names), add...) }

// choiceSets are the candidate feature sets compared on the real data.
func choiceSets() []struct {
	name  string
	names []string
} {
	d := DefaultNames
	return []struct {
		name  string
		names []string
	}{
		{"default", d},
		{"+ vehicle_age (the peers' 12)", with(d, "vehicle_age")},
		{"model_year -> vehicle_age", with(without(d, "model_year"), "vehicle_age")},
		{"+ posted_age", with(d, "posted_age")},
		{"+ date_posted (numeric day)", with(d, "date_posted")},
		{"+ posted_month", with(d, "posted_month")},
		{"condition as category", with(without(d, "condition_score"), "condition")},
		{"- brand", without(d, "brand")},
		{"- paint_color", without(d, "paint_color")},
		{"- is_4wd", without(d, "is_4wd")},
		{"- cylinders", without(d, "cylinders")},
		{"original-like (+ date_posted, days_listed)", with(d, "date_posted", "days_listed")},
	}
}

// TestFeatureSetChoice trains the project's GBDT on the real data with each
// candidate set (default filters, hash split 60/20/20 for three seeds,
// 2,000 trees at learning rate 0.05 with early stopping on valid) and logs
// test RMSE and MAPE averaged over the seeds. It documents the choice of
// DefaultNames; it fails only if the default is clearly beaten (by more
// than 1 % RMSE and MAPE at once) by a set without the leaky days_listed.
//
//	go test -run TestFeatureSetChoice -v ./engine/features
func TestFeatureSetChoice(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains 36 models (about a minute); skipped under -short and -race")
	}
	path := datasettest.Real(t)
	raw, err := dataset.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	clean, _, err := prep.Clean(raw, prep.DefaultFilters())
	if err != nil {
		t.Fatal(err)
	}
	p := gbdt.DefaultParams()
	p.Trees, p.LearningRate, p.EarlyStoppingRounds = 2000, 0.05, 100
	seeds := []int64{42, 7, 2024}
	type result struct{ rmse, mae, mape, trees float64 }
	results := make([]result, len(choiceSets()))
	for _, seed := range seeds {
		parts := split.Assign(clean, seed, 0.2, 0.2)
		tr, va, te := split.Indices(parts, split.Train), split.Indices(parts, split.Valid), split.Indices(parts, split.Test)
		ys := func(idx []int) []float64 {
			out := make([]float64, len(idx))
			for k, i := range idx {
				out[k] = clean.Price[i]
			}
			return out
		}
		for s, set := range choiceSets() {
			spec, err := Fit(clean, tr, set.names, 2019)
			if err != nil {
				t.Fatal(err)
			}
			mtr, mva, mte := spec.Matrix(clean, tr), spec.Matrix(clean, va), spec.Matrix(clean, te)
			model, err := gbdt.Train(context.Background(), mtr, ys(tr), &mva, ys(va), p, nil)
			if err != nil {
				t.Fatalf("%s: %v", set.name, err)
			}
			pred := make([]float64, mte.Rows)
			model.PredictBatch(mte, pred, 0)
			m := evaluate.Score(ys(te), pred)
			results[s].rmse += m.RMSE / float64(len(seeds))
			results[s].mape += m.MAPE / float64(len(seeds))
			results[s].mae += m.MAE / float64(len(seeds))
			results[s].trees += float64(model.NumTrees()) / float64(len(seeds))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-44s %9s %9s %8s %7s\n", "feature set", "RMSE", "MAE", "MAPE %", "trees")
	for s, set := range choiceSets() {
		r := results[s]
		fmt.Fprintf(&b, "%-44s %9.1f %9.1f %8.2f %7.0f\n", set.name, r.rmse, r.mae, r.mape, r.trees)
	}
	t.Logf("real data, default filters, mean over split seeds %v:\n%s", seeds, b.String())
	if os.Getenv("CARVISION_FEATURE_TABLE") != "" {
		fmt.Print(b.String())
	}
	def := results[0]
	for s, set := range choiceSets() {
		if slices.Contains(set.names, "days_listed") {
			continue
		}
		r := results[s]
		if r.rmse < 0.99*def.rmse && r.mape < 0.99*def.mape && !math.IsNaN(r.rmse) {
			t.Errorf("%q beats the default on both RMSE (%.0f < %.0f) and MAPE (%.2f < %.2f): revisit DefaultNames",
				set.name, r.rmse, def.rmse, r.mape, def.mape)
		}
	}
}
