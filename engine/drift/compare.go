package drift

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"carvision/engine"
)

// Result is an offline comparison of two data sets: the original
// check_drift.py's JSON ({ks, psi, evidently_html, summary}) plus the
// per-feature verdicts and the dataset verdict.
type Result struct {
	KS            map[string]KSResult `json:"ks"`
	PSI           map[string]float64  `json:"psi"`
	EvidentlyHTML *string             `json:"evidently_html"` // always null: no HTML report
	Summary       Summary             `json:"summary"`

	Status          string          `json:"status"` // ok | drift
	Features        []FeatureResult `json:"features"`
	Skipped         []Skipped       `json:"skipped,omitempty"`
	DriftShare      float64         `json:"drift_share"`
	DatasetDrift    bool            `json:"dataset_drift"`
	OutOfRangeShare float64         `json:"out_of_range_share"`
	MaxTrainYear    int             `json:"max_train_year,omitempty"`
	RefRows         int             `json:"ref_rows"`
	CurRows         int             `json:"cur_rows"`
}

// Summary is the original's summary block.
type Summary struct {
	MaxPSI             float64 `json:"max_psi"`
	MinPValue          float64 `json:"min_p_value"`
	NumFeaturesPSIGe01 int     `json:"num_features_psi_ge_0_1"` // at th.PSIThreshold (0.1 by default)
	RecommendRetrain   bool    `json:"recommend_retrain"`
	Reason             string  `json:"recommendation_reason"`
}

// Drifted is the verdict `carvision drift` turns into exit code 1: the
// retrain rule holds or the dataset drifted.
func (r Result) Drifted() bool { return r.Summary.RecommendRetrain || r.DatasetDrift }

// DriftSummary converts the result to the console's DTO.
func (r Result) DriftSummary() engine.DriftSummary {
	s := engine.DriftSummary{
		Status: r.Status, WindowSize: r.CurRows, Features: make([]engine.FeatureDrift, len(r.Features)),
		DriftShare: r.DriftShare, DatasetDrift: r.DatasetDrift, RecommendRetrain: r.Summary.RecommendRetrain,
		Reason: r.Summary.Reason, OutOfRangeShare: r.OutOfRangeShare, MaxTrainYear: r.MaxTrainYear,
	}
	for i, f := range r.Features {
		s.Features[i] = f.FeatureDrift
	}
	return s
}

// CompareFrames runs the drift report on two whole data sets (the
// original's `check_drift.py --ref A --cur B`). Numeric features present on
// both sides get the original's PSI, scipy's ks_2samp (method "auto": exact
// up to 10,000 values a side) and the normed Wasserstein distance on all
// values; categorical ones Jensen–Shannon, PSI with an unseen bucket and a
// chi-squared test. Features on one side only, or without values, are
// skipped with the reason. Unlike the live report there is no minimum size
// (the original had none). It fails only when no feature can be compared.
func CompareFrames(ref, cur map[string][]float64, catRef, catCur map[string][]string, th Thresholds) (Result, error) {
	th = th.withDefaults()
	res := Result{KS: map[string]KSResult{}, PSI: map[string]float64{}, Features: []FeatureResult{}}
	a := Analysis{Summary: engine.DriftSummary{Features: []engine.FeatureDrift{}}}
	res.RefRows, res.CurRows = maxLen(ref, catRef), maxLen(cur, catCur)

	for _, name := range unionKeys(ref, cur) {
		if !th.wants(name) {
			continue
		}
		rv, inRef := ref[name]
		cv, inCur := cur[name]
		var why string
		switch {
		case !inRef:
			why = "not in the reference"
		case !inCur:
			why = "not in the current data"
		}
		rs, cs := finiteSorted(rv), finiteSorted(cv)
		if why == "" && len(rs) == 0 {
			why = "the reference has no value for it"
		}
		if why == "" && len(cs) == 0 {
			why = "the current data has no value for it"
		}
		if why != "" {
			a.Skipped = append(a.Skipped, Skipped{name, why})
			continue
		}
		nr := buildNumeric(name, rs)
		fr := numericResult(nr, rs, len(rs), cs, KSAuto, th)
		a.Features = append(a.Features, fr)
		res.KS[name] = KSResult{Stat: fr.KS, PValue: fr.KSP}
		if !fr.PSIUndefined {
			res.PSI[name] = fr.PSI
		}
		if name == ModelYear {
			res.MaxTrainYear = int(nr.Max)
			res.OutOfRangeShare = shareAbove(cs, nr.Max)
		}
	}
	for _, name := range unionKeys(catRef, catCur) {
		if !th.wants(name) {
			continue
		}
		rv, inRef := catRef[name]
		cv, inCur := catCur[name]
		var why string
		switch {
		case !inRef:
			why = "not in the reference"
		case !inCur:
			why = "not in the current data"
		case ref[name] != nil || cur[name] != nil:
			why = "given as both numeric and categorical"
		}
		var cr CategoricalRef
		if why == "" {
			if cr = buildCategorical(name, rv); cr.Count == 0 {
				why = "the reference has no value for it"
			}
		}
		var counts []float64
		if why == "" {
			idx := make(map[string]int, len(cr.Categories))
			for i, c := range cr.Categories {
				idx[c] = i
			}
			counts = make([]float64, len(cr.Categories)+1)
			seen := 0
			for _, v := range cv {
				if v == "" {
					continue
				}
				i, ok := idx[v]
				if !ok {
					i = len(cr.Categories)
				}
				counts[i]++
				seen++
			}
			if seen == 0 {
				why = "the current data has no value for it"
			}
		}
		if why != "" {
			a.Skipped = append(a.Skipped, Skipped{name, why})
			continue
		}
		a.Features = append(a.Features, categoricalResult(cr, counts, th))
	}
	if len(a.Features) == 0 {
		var reasons []string
		for _, s := range a.Skipped {
			reasons = append(reasons, s.Feature+": "+s.Reason)
		}
		msg := "no feature present in both reference and current data"
		if len(reasons) > 0 {
			msg += " (" + strings.Join(reasons, "; ") + ")"
		}
		return Result{}, fmt.Errorf("drift: %s: %w", msg, ErrNothingToCompare)
	}
	a.summarise(th)
	res.Features = a.Features
	res.Skipped = a.Skipped
	res.Status = a.Summary.Status
	res.DriftShare = a.Summary.DriftShare
	res.DatasetDrift = a.Summary.DatasetDrift
	res.Summary = Summary{
		MaxPSI: a.MaxPSI, MinPValue: a.MinPValue, NumFeaturesPSIGe01: a.NumPSIGe,
		RecommendRetrain: a.Summary.RecommendRetrain, Reason: a.Summary.Reason,
	}
	return res, nil
}

// ErrNothingToCompare is wrapped when two data sets share no usable feature.
var ErrNothingToCompare = errors.New("nothing to compare")

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func maxLen(num map[string][]float64, cat map[string][]string) int {
	n := 0
	for _, v := range num {
		n = max(n, len(v))
	}
	for _, v := range cat {
		n = max(n, len(v))
	}
	return n
}
