package drift

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"carvision/engine"
)

// Thresholds configure verdicts; zero fields take DefaultThresholds' values.
// The names follow config.yaml's drift section.
type Thresholds struct {
	MinWindow            int     // below: "collecting" (default 200)
	PSIThreshold         float64 // a feature's PSI counts as moderate (0.1)
	PSIRetrain           float64 // retrain when the largest PSI reaches it (0.25)
	PSIRetrainFeatures   int     // ... or this many features reach PSIThreshold (3)
	KSP                  float64 // ... or a KS p-value falls below it (0.01)
	JSThreshold          float64 // categorical drift: JS distance ≥ it (0.1)
	WassersteinThreshold float64 // numeric drift: W1/std ≥ it (0.1)
	DatasetDriftShare    float64 // dataset drift: drifted share ≥ it (0.5)
	// Alpha is the family-wise significance of a report (0.05): each of the
	// k features judged must reach Alpha/k (Bonferroni), by KS p for
	// numeric features and chi-squared p for categorical ones, besides its
	// distance threshold; with a small reference the KS test alone decides
	// at Alpha/k.
	Alpha float64
	// SmallReference: references with at most this many values use the KS
	// test as the verdict, larger ones the normed Wasserstein distance
	// (Evidently's rule, 1000).
	SmallReference int
	// Features limits the report to these names (empty: every feature of
	// the window that the reference knows).
	Features []string
}

// DefaultThresholds are the original's and Evidently's defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MinWindow: 200, PSIThreshold: 0.1, PSIRetrain: 0.25, PSIRetrainFeatures: 3, KSP: 0.01,
		JSThreshold: 0.1, WassersteinThreshold: 0.1, DatasetDriftShare: 0.5, Alpha: 0.05, SmallReference: 1000,
	}
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	if t.MinWindow <= 0 {
		t.MinWindow = d.MinWindow
	}
	fill := func(v *float64, def float64) {
		if !(*v > 0) {
			*v = def
		}
	}
	fill(&t.PSIThreshold, d.PSIThreshold)
	fill(&t.PSIRetrain, d.PSIRetrain)
	fill(&t.KSP, d.KSP)
	fill(&t.JSThreshold, d.JSThreshold)
	fill(&t.WassersteinThreshold, d.WassersteinThreshold)
	fill(&t.DatasetDriftShare, d.DatasetDriftShare)
	fill(&t.Alpha, d.Alpha)
	if t.PSIRetrainFeatures <= 0 {
		t.PSIRetrainFeatures = d.PSIRetrainFeatures
	}
	if t.SmallReference <= 0 {
		t.SmallReference = d.SmallReference
	}
	return t
}

func (t Thresholds) wants(name string) bool {
	return len(t.Features) == 0 || slices.Contains(t.Features, name)
}

// Recommendation reasons, in the order the original decides them.
const (
	ReasonMaxPSI     = "max_psi_ge_0_25"
	ReasonManyPSI    = "psi_ge_0_1_in_many_features"
	ReasonKS         = "ks_p_value_lt_0_01"
	ReasonNone       = "no_drift_detected"
	ReasonCollecting = "collecting"
	ReasonNoFeature  = "no_feature_tested"
)

// Statuses of a DriftSummary.
const (
	StatusCollecting = "collecting"
	StatusOK         = "ok"
	StatusDrift      = "drift"
)

// Test names of a verdict.
const (
	TestWasserstein   = "wasserstein"
	TestKS            = "ks"
	TestJensenShannon = "jensen_shannon"
)

// FeatureResult is a feature's verdict with the sample sizes and the
// numbers the DTO has no field for.
type FeatureResult struct {
	engine.FeatureDrift
	NRef       int     `json:"n_ref"`
	NCur       int     `json:"n_cur"`
	InRange    int     `json:"in_range,omitempty"`     // numeric: current values inside the reference range (PSI's base)
	ChiSquareP float64 `json:"chi_square_p,omitempty"` // categorical significance
	// PSIUndefined: no current value lies inside the reference range, so
	// the original's PSI is 0/0 (NaN there); PSI is reported as 0 and left
	// out of the retrain rule, the other tests still decide.
	PSIUndefined bool `json:"psi_undefined,omitempty"`
}

// Skipped is a feature left out of a report, with the reason.
type Skipped struct {
	Feature string `json:"feature"`
	Reason  string `json:"reason"`
}

// Analysis is a drift report with everything behind the summary.
type Analysis struct {
	Summary  engine.DriftSummary `json:"summary"`
	Features []FeatureResult     `json:"features"`
	Skipped  []Skipped           `json:"skipped,omitempty"`
	// The retrain rule's inputs (numeric features, as the original).
	MaxPSI     float64 `json:"max_psi"`
	MinPValue  float64 `json:"min_p_value"`
	NumPSIGe   int     `json:"num_features_psi_ge_threshold"`
	KSFeatures int     `json:"ks_features"`
}

// Report compares the window with the reference: Analyze's summary.
func (w *Window) Report(ref Reference, th Thresholds) engine.DriftSummary {
	return w.Analyze(ref, th).Summary
}

// maxReportWorkers bounds the goroutines one report uses.
const maxReportWorkers = 4

type sortScratch struct{ keys, tmp []uint64 }

// Analyze compares the window with the reference. Below th.MinWindow
// requests the status is "collecting" and no feature is judged. Features
// the reference lacks, or has broken, or with fewer than MinWindow values
// in the window, are skipped with the reason. KS p-values use the
// asymptotic distribution with the reference's full count (the KS
// statistic itself is taken against the reference's stratified sample);
// in the far tail of large samples that is Kolmogorov's limit with
// Stephens' correction (within 2e-5 of scipy).
func (w *Window) Analyze(ref Reference, th Thresholds) Analysis {
	th = th.withDefaults()
	w.rmu.Lock()
	defer w.rmu.Unlock()
	rows := w.snapshot()

	a := Analysis{Summary: engine.DriftSummary{WindowSize: rows, MinWindow: th.MinWindow, Features: []engine.FeatureDrift{}}}
	if yi := w.schema.NumericIndex(ModelYear); yi >= 0 {
		if yr, ok := ref.NumericFeature(ModelYear); ok && yr.Count > 0 && finite(yr.Max) {
			a.Summary.MaxTrainYear = int(yr.Max)
			a.Summary.OutOfRangeShare = shareAbove(w.sNum[yi], yr.Max)
		}
	}
	if rows < th.MinWindow {
		a.Summary.Status = StatusCollecting
		a.Summary.Reason = ReasonCollecting
		return a
	}
	type job struct {
		f  int
		nr NumericRef
	}
	var jobs []job
	for f, name := range w.schema.Numeric {
		if !th.wants(name) {
			continue
		}
		nr, why := usableNumeric(ref, name)
		if why == "" && len(w.sNum[f]) < th.MinWindow {
			why = fmt.Sprintf("%d values in the window, fewer than min_window %d", len(w.sNum[f]), th.MinWindow)
		}
		if why != "" {
			a.Skipped = append(a.Skipped, Skipped{name, why})
			continue
		}
		jobs = append(jobs, job{f, nr})
	}
	// Numeric features are independent and dominated by sorting 100k
	// values each, so they are spread over the available cores.
	results := make([]FeatureResult, len(jobs))
	workers := min(runtime.GOMAXPROCS(0), maxReportWorkers, len(jobs))
	for len(w.sorts) < workers {
		sc := sortScratch{keys: make([]uint64, w.capacity), tmp: make([]uint64, w.capacity)}
		clear(sc.keys) // touched whole now, not a little more each report (see NewWindow)
		clear(sc.tmp)
		w.sorts = append(w.sorts, sc)
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func(s sortScratch) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				cur := w.sNum[jobs[i].f]
				sortFinite(cur, s.keys, s.tmp)
				results[i] = numericResult(jobs[i].nr, jobs[i].nr.Sample, jobs[i].nr.Count, cur, ksAsympFast, th)
			}
		}(w.sorts[k])
	}
	wg.Wait()
	a.Features = append(a.Features, results...)
	for f, name := range w.schema.Categorical {
		if !th.wants(name) {
			continue
		}
		cr, why := usableCategorical(ref, name)
		counts, names := w.sCat[f], w.sName[f]
		seen := 0
		for id := idOverflow; id < len(names); id++ {
			seen += counts[id]
		}
		if why == "" && seen < th.MinWindow {
			why = fmt.Sprintf("%d values in the window, fewer than min_window %d", seen, th.MinWindow)
		}
		if why != "" {
			a.Skipped = append(a.Skipped, Skipped{name, why})
			continue
		}
		idx := make(map[string]int, len(cr.Categories))
		for i, c := range cr.Categories {
			idx[c] = i
		}
		cur := make([]float64, len(cr.Categories)+1) // + unseen
		for id := idOverflow; id < len(names); id++ {
			if counts[id] == 0 {
				continue
			}
			i, ok := idx[names[id]]
			if id == idOverflow || !ok {
				i = len(cr.Categories)
			}
			cur[i] += float64(counts[id])
		}
		a.Features = append(a.Features, categoricalResult(cr, cur, th))
	}
	a.summarise(th)
	return a
}

func shareAbove(values []float64, limit float64) float64 {
	if len(values) == 0 {
		return 0
	}
	n := 0
	for _, v := range values {
		if v > limit {
			n++
		}
	}
	return float64(n) / float64(len(values))
}

func usableNumeric(ref Reference, name string) (NumericRef, string) {
	nr, ok := ref.NumericFeature(name)
	switch {
	case !ok:
		if _, cat := ref.CategoricalFeature(name); cat {
			return nr, "the reference has it as categorical, the window as numeric"
		}
		return nr, "not in the reference"
	case nr.Count == 0:
		return nr, "the reference has no value for it"
	}
	if err := nr.validate(); err != nil {
		return nr, "broken reference: " + err.Error()
	}
	return nr, ""
}

func usableCategorical(ref Reference, name string) (CategoricalRef, string) {
	cr, ok := ref.CategoricalFeature(name)
	switch {
	case !ok:
		if _, num := ref.NumericFeature(name); num {
			return cr, "the reference has it as numeric, the window as categorical"
		}
		return cr, "not in the reference"
	case cr.Count == 0:
		return cr, "the reference has no value for it"
	}
	if err := cr.validate(); err != nil {
		return cr, "broken reference: " + err.Error()
	}
	return cr, ""
}

// numericResult judges sorted current values against a reference feature;
// refSorted is the reference sample (live) or all its values (offline),
// nRef the count the p-value uses.
func numericResult(nr NumericRef, refSorted []float64, nRef int, cur []float64, method KSMethod, th Thresholds) FeatureResult {
	fr := FeatureResult{NRef: nRef, NCur: len(cur)}
	fd := &fr.FeatureDrift
	fd.Feature, fd.Kind = nr.Name, "numeric"

	var counts [Buckets]int
	fr.InRange = histogramSorted(cur, nr.Edges, counts[:])
	psi, _ := psiSorted(nr, cur)
	if math.IsNaN(psi) {
		fr.PSIUndefined = true
		psi = 0
	}
	fd.PSI = psi
	d, w1 := ksWassersteinSorted(refSorted, cur)
	fd.KS = d
	fd.KSP = ksPValue(d, nRef, len(cur), method)
	fd.Wasserstein = NormedWasserstein(w1, nr.Std)

	if nRef > th.SmallReference {
		fd.Test, fd.Score, fd.Threshold = TestWasserstein, fd.Wasserstein, th.WassersteinThreshold
	} else {
		fd.Test, fd.Score = TestKS, fd.KSP
	}

	fd.Bins = make([]string, Buckets)
	fd.RefShare = slices.Clone(nr.Shares)
	fd.CurShare = make([]float64, Buckets)
	for i := range Buckets {
		fd.Bins[i] = binLabel(nr.Edges[i], nr.Edges[i+1], i == Buckets-1)
		if fr.InRange > 0 {
			fd.CurShare[i] = float64(counts[i]) / float64(fr.InRange)
		}
	}
	return fr
}

func binLabel(lo, hi float64, last bool) string {
	right := ")"
	if last {
		right = "]"
	}
	return "[" + edgeLabel(lo) + ", " + edgeLabel(hi) + right
}

// edgeLabel writes a bin edge for people: an edge within the EdgeWiden
// nudge of zero is 0 (a feature starting at 0 reads "[0, 2)", not
// "[-1e-09, 2)"), large edges (odometer, price) are whole numbers rather
// than "1.235e+04", and the rest keeps 4 significant digits.
func edgeLabel(v float64) string {
	switch a := math.Abs(v); {
	case a < 1e3*EdgeWiden:
		return "0"
	case a >= 1000 && a < 1e15:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// maxBars is how many categories a categorical feature's bars show before
// the rest is summed into "(other)".
const maxBars = 10

// categoricalResult judges current category counts (parallel to the
// reference's categories, plus a last "unseen" cell).
func categoricalResult(cr CategoricalRef, cur []float64, th Thresholds) FeatureResult {
	k := len(cr.Categories)
	ref := make([]float64, k+1)
	for i, c := range cr.Counts {
		ref[i] = float64(c) / float64(cr.Count)
	}
	var n float64
	for _, c := range cur {
		n += c
	}
	curShare := make([]float64, k+1)
	for i, c := range cur {
		curShare[i] = c / n
	}
	fr := FeatureResult{NRef: cr.Count, NCur: int(n)}
	fd := &fr.FeatureDrift
	fd.Feature, fd.Kind = cr.Name, "categorical"
	fd.PSI = PSI(ref, curShare)
	fd.JS = JensenShannon(ref, curShare)
	_, fr.ChiSquareP = ChiSquareTest(cur, ref)
	fd.Test, fd.Score, fd.Threshold = TestJensenShannon, fd.JS, th.JSThreshold

	shown := min(k, maxBars)
	for i := range shown {
		fd.Bins = append(fd.Bins, cr.Categories[i])
		fd.RefShare = append(fd.RefShare, ref[i])
		fd.CurShare = append(fd.CurShare, curShare[i])
	}
	if k > shown {
		var r, c float64
		for i := shown; i < k; i++ {
			r += ref[i]
			c += curShare[i]
		}
		fd.Bins = append(fd.Bins, "(other)")
		fd.RefShare = append(fd.RefShare, r)
		fd.CurShare = append(fd.CurShare, c)
	}
	fd.Bins = append(fd.Bins, "(unseen)")
	fd.RefShare = append(fd.RefShare, 0)
	fd.CurShare = append(fd.CurShare, curShare[k])
	return fr
}

// pinned features come first in reports, in this order.
var pinned = []string{VehicleAge, PredictedPrice}

// judge sets each feature's verdict once the number of features judged,
// hence the Bonferroni share of Alpha, is known.
func (a *Analysis) judge(th Thresholds) {
	alpha := th.Alpha / float64(max(len(a.Features), 1))
	for i := range a.Features {
		f := &a.Features[i]
		switch f.Test {
		case TestWasserstein:
			f.Drifted = f.Wasserstein >= f.Threshold && f.KSP < alpha
		case TestKS:
			f.Threshold = alpha
			f.Drifted = f.KSP <= alpha
		case TestJensenShannon:
			f.Drifted = f.JS >= f.Threshold && f.ChiSquareP < alpha
		}
	}
}

// summarise judges and orders the features, applies the dataset rule and
// the original's retrain rule, and fills the summary.
func (a *Analysis) summarise(th Thresholds) {
	a.judge(th)
	slices.SortStableFunc(a.Features, func(x, y FeatureResult) int {
		px, py := indexOf(pinned, x.Feature), indexOf(pinned, y.Feature)
		if px < 0 {
			px = len(pinned)
		}
		if py < 0 {
			py = len(pinned)
		}
		if c := cmp.Compare(px, py); c != 0 {
			return c
		}
		if x.Drifted != y.Drifted {
			if x.Drifted {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.PSI, x.PSI); c != 0 {
			return c
		}
		return cmp.Compare(x.Feature, y.Feature)
	})
	s := &a.Summary
	drifted, pinnedDrift := 0, false
	a.MinPValue = 1
	for _, f := range a.Features {
		s.Features = append(s.Features, f.FeatureDrift)
		if f.Drifted {
			drifted++
			if slices.Contains(pinned, f.Feature) {
				pinnedDrift = true
			}
		}
		if f.Kind != "numeric" {
			continue
		}
		a.KSFeatures++
		a.MinPValue = min(a.MinPValue, f.KSP)
		if f.PSIUndefined {
			continue
		}
		a.MaxPSI = max(a.MaxPSI, f.PSI)
		if f.PSI >= th.PSIThreshold {
			a.NumPSIGe++
		}
	}
	if len(a.Features) == 0 {
		s.Status, s.Reason = StatusCollecting, ReasonNoFeature
		return
	}
	s.DriftShare = float64(drifted) / float64(len(a.Features))
	s.DatasetDrift = s.DriftShare >= th.DatasetDriftShare
	s.RecommendRetrain, s.Reason = retrainRule(a.MaxPSI, a.NumPSIGe, a.MinPValue, a.KSFeatures > 0, th)
	s.Status = StatusOK
	if s.DatasetDrift || pinnedDrift {
		s.Status = StatusDrift
	}
}

// retrainRule is the original's recommendation, decided in its order.
func retrainRule(maxPSI float64, numPSIGe int, minP float64, haveKS bool, th Thresholds) (bool, string) {
	switch {
	case maxPSI >= th.PSIRetrain:
		return true, ReasonMaxPSI
	case numPSIGe >= th.PSIRetrainFeatures:
		return true, ReasonManyPSI
	case haveKS && minP < th.KSP:
		return true, ReasonKS
	}
	return false, ReasonNone
}
