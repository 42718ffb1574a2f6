package pipeline

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"carvision/engine/dataset"
	"carvision/engine/evaluate"
	"carvision/engine/model"
	"carvision/engine/prep"
	"carvision/engine/split"
)

// Report is metrics.json.
type Report struct {
	Test       evaluate.Metrics          `json:"test"`
	Baseline   evaluate.Metrics          `json:"baseline"`
	Bootstrap  *evaluate.BootstrapResult `json:"bootstrap,omitempty"`
	Temporal   *Temporal                 `json:"temporal,omitempty"`
	Segments   []evaluate.Segment        `json:"segments"`
	Interval   IntervalReport            `json:"interval"`
	Rows       Rows                      `json:"rows"`
	Model      ModelSummary              `json:"model"`
	FitSeconds float64                   `json:"fit_seconds"`
}

// Temporal is the out-of-time backtest: trained on listings posted before
// the cut, scored on those posted on or after it.
type Temporal struct {
	Cut     string             `json:"cut_date"`
	Train   int                `json:"n_train"`
	Metrics evaluate.Metrics   `json:"metrics"`
	Segment []evaluate.Segment `json:"segments,omitempty"`
}

// IntervalReport is the prediction interval's measured coverage on test.
type IntervalReport struct {
	Nominal   float64 `json:"nominal"`
	Coverage  float64 `json:"coverage"`
	MeanWidth float64 `json:"mean_width"`
}

// Rows counts rows at each stage.
type Rows struct {
	Raw   int `json:"raw"`
	Clean int `json:"clean"`
	Train int `json:"train"`
	Valid int `json:"valid"`
	Test  int `json:"test"`
}

// ModelSummary names the evaluated model.
type ModelSummary struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Trees    int      `json:"trees"`
	Features []string `json:"features"`
}

// Flat returns the report as dotted keys (test.rmse, baseline.rmse, …) for the store and diffs.
func (r Report) Flat() map[string]float64 {
	out := map[string]float64{
		"test.rmse": r.Test.RMSE, "test.mae": r.Test.MAE, "test.mape": r.Test.MAPE, "test.r2": r.Test.R2,
		"baseline.rmse": r.Baseline.RMSE, "baseline.mae": r.Baseline.MAE, "baseline.mape": r.Baseline.MAPE, "baseline.r2": r.Baseline.R2,
		"fit_seconds": r.FitSeconds, "rows.raw": float64(r.Rows.Raw), "rows.clean": float64(r.Rows.Clean),
		"rows.train": float64(r.Rows.Train), "rows.valid": float64(r.Rows.Valid), "rows.test": float64(r.Rows.Test),
		"model.trees": float64(r.Model.Trees), "interval.coverage": r.Interval.Coverage, "interval.mean_width": r.Interval.MeanWidth,
	}
	if r.Bootstrap != nil {
		out["bootstrap.delta_rmse_mean"] = r.Bootstrap.DeltaRMSEMean
		out["bootstrap.delta_rmse_ci95_low"] = r.Bootstrap.CI95[0]
		out["bootstrap.delta_rmse_ci95_high"] = r.Bootstrap.CI95[1]
	}
	if r.Temporal != nil {
		out["temporal.rmse"] = r.Temporal.Metrics.RMSE
		out["temporal.mape"] = r.Temporal.Metrics.MAPE
		out["temporal.r2"] = r.Temporal.Metrics.R2
	}
	return out
}

// PredictFrame prices every row of f with m.
func PredictFrame(m *model.Model, f *dataset.Frame) []float64 {
	return m.PredictMatrix(m.Spec.Matrix(f, seq(f.Len())), 0)
}

// Evaluate scores m on the test split and runs the baseline, bootstrap,
// segments and out-of-time backtest.
func Evaluate(ctx context.Context, s Settings, m *model.Model, clean, test *dataset.Frame) (Report, error) {
	if test.Len() == 0 {
		return Report{}, fmt.Errorf("evaluate: empty test split")
	}
	pred := PredictFrame(m, test)
	rep := Report{Test: evaluate.Score(test.Price, pred)}
	// The baseline is the median of the rows the model learned from (train + valid).
	parts := split.Assign(clean, s.Seed, s.ValSize, s.TestSize)
	var learn []float64
	for i, p := range parts {
		if p != split.Test {
			learn = append(learn, clean.Price[i])
		}
	}
	med := evaluate.Median(learn)
	base := make([]float64, test.Len())
	for i := range base {
		base[i] = med
	}
	rep.Baseline = evaluate.Score(test.Price, base)
	if s.Bootstrap > 0 {
		b := evaluate.Bootstrap(test.Price, pred, base, s.Bootstrap, s.BootSeed)
		rep.Bootstrap = &b
	}
	rep.Segments = evaluate.Segments(test.Price, pred, base, segmentGroups(test, s), s.SegmentMinN)
	if m.Conformal != nil {
		cov, w := m.Conformal.Coverage(test.Price, pred)
		rep.Interval = IntervalReport{Nominal: s.Coverage, Coverage: cov, MeanWidth: w}
	}
	rep.Rows = Rows{Clean: clean.Len(), Test: test.Len()}
	for _, p := range parts {
		switch p {
		case split.Train:
			rep.Rows.Train++
		case split.Valid:
			rep.Rows.Valid++
		}
	}
	rep.Rows.Raw = clean.Len() // a lower bound: the repro's evaluate stage sets the raw file's count
	rep.Model = ModelSummary{ID: m.ID, Kind: m.Kind, Trees: m.Forest.NumTrees()}
	for _, f := range m.Spec.Features {
		rep.Model.Features = append(rep.Model.Features, f.Name)
	}
	rep.FitSeconds = m.Metrics["fit_seconds"]
	if s.TemporalFrac > 0 {
		t, err := backtest(ctx, s, clean, m.Forest.NumTrees())
		if err != nil {
			return rep, fmt.Errorf("evaluate: backtest: %w", err)
		}
		rep.Temporal = t
	}
	return rep, nil
}

// backtest trains on listings posted before the cut date and scores the
// newest slice: a genuinely out-of-time check, unlike the original's
// in-sample "temporal" metrics.
//
// It reuses the evaluated model's tree count instead of early stopping
// again: the same capacity, one fit, and no rows of the newer slice are
// used to choose anything.
func backtest(ctx context.Context, s Settings, clean *dataset.Frame, trees int) (*Temporal, error) {
	cut, before, after, err := split.TimeCut(clean, s.TemporalFrac)
	if err != nil {
		return nil, err
	}
	if len(before) < 50 || len(after) < 10 {
		return nil, nil
	}
	old := clean.Select(before)
	// Hold out the last 20% of the older rows (by the same hash split) for early stopping.
	parts := split.Assign(old, s.Seed, 0.2, 0)
	tr, va := split.Indices(parts, split.Train), split.Indices(parts, split.Valid)
	bs := s
	bs.Refit, bs.scoreOnly = false, true
	bs.GBDT.EarlyStoppingRounds, bs.RF.EarlyStoppingRounds = 0, 0
	if trees > 0 {
		bs.GBDT.Trees, bs.RF.Trees = trees, trees
	}
	m, err := Fit(ctx, bs, old.Select(tr), old.Select(va), nil)
	if err != nil {
		return nil, err
	}
	newer := clean.Select(after)
	pred := PredictFrame(m, newer)
	return &Temporal{Cut: cut, Train: len(before), Metrics: evaluate.Score(newer.Price, pred)}, nil
}

func segmentGroups(f *dataset.Frame, s Settings) map[string][]string {
	out := map[string][]string{}
	for _, c := range s.SegmentCols {
		vals := make([]string, f.Len())
		for i := 0; i < f.Len(); i++ {
			switch c {
			case "condition":
				vals[i] = f.Condition[i]
			case "type":
				vals[i] = f.Type[i]
			case "fuel":
				vals[i] = f.Fuel[i]
			case "model_year":
				if !math.IsNaN(f.ModelYear[i]) {
					vals[i] = strconv.Itoa(int(f.ModelYear[i]))
				}
			case "brand":
				vals[i] = prep.Brand(f.Model[i])
			case "model":
				vals[i] = f.Model[i]
			}
		}
		out[c] = vals
	}
	return out
}

// ScoreFile cleans a CSV with the model's own filters and scores every
// remaining row (`carvision evaluate`).
func ScoreFile(m *model.Model, path string) (evaluate.Metrics, prep.Report, error) {
	f, err := dataset.Load(path)
	if err != nil {
		return evaluate.Metrics{}, prep.Report{}, err
	}
	c, rep, err := prep.Clean(f, m.Filters)
	if err != nil {
		return evaluate.Metrics{}, rep, err
	}
	return evaluate.Score(c.Price, PredictFrame(m, c)), rep, nil
}
