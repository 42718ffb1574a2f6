package market

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"carvision/engine"
)

// Conformal is a split-conformal prediction interval fitted on validation
// residuals.
//
// A nonconformity score s(y, ŷ) is computed for every validation pair; the
// interval for a new prediction is every y whose score is at most q, the
// ⌈(n+1)(1−α)⌉-th smallest score (the finite-sample correction that makes
// coverage ≥ 1−α for exchangeable data). Three scores:
//
//	absolute   |y − ŷ|              → ŷ ± q
//	relative   |y − ŷ| / ŷ          → ŷ·(1 ± q)
//	log        |ln y − ln ŷ|        → [ŷ·e^−q, ŷ·e^q]
//
// Each may be "binned": the validation pairs are split into up to ten bins
// by predicted-price quantile and q is computed per bin (Mondrian conformal),
// so coverage holds within each price band, not only on average; cheap cars
// get wider relative intervals than expensive ones when that is what the
// residuals show.
//
// FitConformal with scaled=false uses absolute: the narrowest mean width in
// dollars, but on heteroscedastic prices it over-covers cheap cars and
// under-covers dear ones. With scaled=true it picks among all six (three
// scores, binned or not) by two-fold cross-fitting on the validation pairs
// (fit on one half, judge on the other): first calibration, the mean over
// predicted-price bands of |band coverage − nominal|, keeping the candidates
// within 2 points of the best; then the narrowest mean width among those.
// The winner is refitted on all pairs. (Choosing on the same data costs a
// sliver of the finite-sample guarantee, which is why coverage is measured
// again on test.) Lower bounds are clamped at 0: prices are not negative.
type Conformal struct {
	Nominal float64   `json:"coverage"` // 1 − α, e.g. 0.8
	Score   string    `json:"score"`    // absolute | relative | log
	Edges   []float64 `json:"edges"`    // predicted-price bin boundaries, ascending; len(Q)−1 of them
	Q       []float64 `json:"q"`        // score quantile per bin
	N       int       `json:"n"`        // validation pairs used
}

// Score names.
const (
	ScoreAbsolute = "absolute"
	ScoreRelative = "relative"
	ScoreLog      = "log"
)

const (
	maxConformalBins = 10
	// minPerBin keeps each bin's quantile stable and its finite-sample
	// over-coverage (≤ 1/(n_bin+1)) below half a point.
	minPerBin = 200
)

// score is the nonconformity of y given ŷ; ok is false when the score is undefined.
func score(kind string, y, pred float64) (float64, bool) {
	switch kind {
	case ScoreRelative:
		if pred <= 0 {
			return 0, false
		}
		return math.Abs(y-pred) / pred, true
	case ScoreLog:
		if pred <= 0 || y <= 0 {
			return 0, false
		}
		return math.Abs(math.Log(y) - math.Log(pred)), true
	default:
		return math.Abs(y - pred), true
	}
}

func bounds(kind string, pred, q float64) (lo, hi float64) {
	switch kind {
	case ScoreRelative:
		lo, hi = pred*(1-q), pred*(1+q)
	case ScoreLog:
		lo, hi = pred*math.Exp(-q), pred*math.Exp(q)
	default:
		lo, hi = pred-q, pred+q
	}
	if lo < 0 {
		lo = 0
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// conformalQuantile is the ⌈(n+1)(1−α)⌉-th smallest of scores (sorted in place).
func conformalQuantile(scores []float64, coverage float64) (float64, error) {
	n := len(scores)
	k := int(math.Ceil(float64(n+1) * coverage))
	if k > n || n == 0 {
		return 0, fmt.Errorf("%d residuals are too few for %.0f%% coverage (need ≥ %d)",
			n, coverage*100, int(math.Ceil(coverage/(1-coverage))))
	}
	slices.Sort(scores)
	return scores[max(k, 1)-1], nil
}

// FitConformal fits an interval of the given coverage (e.g. 0.8) on
// validation targets and predictions; see Conformal for the method.
func FitConformal(yValid, predValid []float64, coverage float64, scaled bool) (Conformal, error) {
	if len(yValid) != len(predValid) {
		return Conformal{}, fmt.Errorf("conformal: %d targets but %d predictions", len(yValid), len(predValid))
	}
	if !(coverage > 0 && coverage < 1) {
		return Conformal{}, fmt.Errorf("conformal: coverage %v outside (0, 1)", coverage)
	}
	for i := range yValid {
		if !finite(yValid[i]) || !finite(predValid[i]) {
			return Conformal{}, fmt.Errorf("conformal: pair %d (y %v, prediction %v) is not finite", i, yValid[i], predValid[i])
		}
	}
	if !scaled {
		return fitKind(yValid, predValid, coverage, ScoreAbsolute, false)
	}
	type cand struct {
		kind   string
		binned bool
	}
	var cands []cand
	for _, kind := range []string{ScoreAbsolute, ScoreRelative, ScoreLog} {
		if !definedFor(kind, yValid, predValid) {
			continue
		}
		cands = append(cands, cand{kind, false}, cand{kind, true})
	}
	// Two folds by alternating index: each half sees the whole price range.
	var ya, pa, yb, pb []float64
	for i := range yValid {
		if i%2 == 0 {
			ya, pa = append(ya, yValid[i]), append(pa, predValid[i])
		} else {
			yb, pb = append(yb, yValid[i]), append(pb, predValid[i])
		}
	}
	// Calibration is judged per predicted-price band of the whole set, so a
	// score that over-covers cheap cars to under-cover dear ones loses even
	// when its mean width is small.
	bands := binEdges(predValid, min(maxConformalBins, max(len(predValid)/(2*minPerBin), 1)))
	type result struct{ calib, width float64 }
	results := make([]result, len(cands))
	valid := make([]bool, len(cands))
	for ci, cd := range cands {
		var r result
		ok := true
		for _, fold := range [2][4][]float64{{ya, pa, yb, pb}, {yb, pb, ya, pa}} {
			c, err := fitKind(fold[0], fold[1], coverage, cd.kind, cd.binned)
			if err != nil {
				ok = false
				break
			}
			calib, width := c.bandCalibration(fold[2], fold[3], bands)
			r.calib += calib / 2
			r.width += width / 2
		}
		results[ci], valid[ci] = r, ok
	}
	bestCalib := math.Inf(1)
	for ci := range cands {
		if valid[ci] {
			bestCalib = math.Min(bestCalib, results[ci].calib)
		}
	}
	best := -1
	for ci := range cands {
		if valid[ci] && results[ci].calib <= bestCalib+calibrationSlack &&
			(best < 0 || results[ci].width < results[best].width) {
			best = ci
		}
	}
	if best < 0 {
		// Too few pairs to cross-fit: the plain absolute score on all of them.
		return fitKind(yValid, predValid, coverage, ScoreAbsolute, false)
	}
	return fitKind(yValid, predValid, coverage, cands[best].kind, cands[best].binned)
}

// calibrationSlack is how much worse than the best-calibrated candidate
// (mean absolute per-band coverage error) a narrower one may be and still
// win: about the sampling noise of a band's coverage on a few hundred pairs.
const calibrationSlack = 0.02

// bandCalibration returns the mean over price bands of |band coverage −
// nominal| and the overall mean width, on held-out pairs.
func (c Conformal) bandCalibration(y, pred, edges []float64) (calib, width float64) {
	in := make([]int, len(edges)+1)
	n := make([]int, len(edges)+1)
	for i := range y {
		b := sort.SearchFloat64s(edges, pred[i])
		iv := c.Interval(pred[i])
		if y[i] >= iv.Lower && y[i] <= iv.Upper {
			in[b]++
		}
		n[b]++
		width += iv.Upper - iv.Lower
	}
	bands := 0
	for b := range n {
		if n[b] > 0 {
			calib += math.Abs(float64(in[b])/float64(n[b]) - c.Nominal)
			bands++
		}
	}
	if bands > 0 {
		calib /= float64(bands)
	}
	if len(y) > 0 {
		width /= float64(len(y))
	}
	return calib, width
}

func definedFor(kind string, y, pred []float64) bool {
	for i := range y {
		if _, ok := score(kind, y[i], pred[i]); !ok {
			return false
		}
	}
	return true
}

func fitKind(y, pred []float64, coverage float64, kind string, binned bool) (Conformal, error) {
	c := Conformal{Nominal: coverage, Score: kind, N: len(y)}
	bins := 1
	if binned {
		bins = min(maxConformalBins, len(y)/minPerBin)
		if bins < 2 {
			return Conformal{}, fmt.Errorf("conformal: %d pairs are too few to bin (need %d)", len(y), 2*minPerBin)
		}
	}
	for ; bins >= 1; bins-- {
		c.Edges = binEdges(pred, bins)
		groups := make([][]float64, len(c.Edges)+1)
		for i := range y {
			s, ok := score(kind, y[i], pred[i])
			if !ok {
				return Conformal{}, fmt.Errorf("conformal: %s score undefined for pair %d (y %v, prediction %v)", kind, i, y[i], pred[i])
			}
			b := c.bin(pred[i])
			groups[b] = append(groups[b], s)
		}
		if binned && slices.ContainsFunc(groups, func(g []float64) bool { return len(g) < minPerBin/2 }) {
			continue // ties piled up in a bin; coarser bins
		}
		c.Q = make([]float64, len(groups))
		for b, g := range groups {
			q, err := conformalQuantile(g, coverage)
			if err != nil {
				return Conformal{}, fmt.Errorf("conformal: bin %d: %w", b, err)
			}
			c.Q[b] = q
		}
		return c, nil
	}
	return Conformal{}, fmt.Errorf("conformal: predictions too concentrated to bin")
}

// binEdges returns the distinct inner quantiles of pred splitting it into bins.
func binEdges(pred []float64, bins int) []float64 {
	if bins <= 1 {
		return []float64{}
	}
	s := slices.Clone(pred)
	slices.Sort(s)
	var edges []float64
	for j := 1; j < bins; j++ {
		e := quantileSorted(s, float64(j)/float64(bins))
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// bin is the index of the bin holding pred: the first edge ≥ pred.
func (c Conformal) bin(pred float64) int {
	return sort.SearchFloat64s(c.Edges, pred)
}

// Interval is the prediction interval around pred. A zero Conformal or a
// non-finite pred gives a zero-width interval at max(pred, 0) (or 0).
func (c Conformal) Interval(pred float64) engine.Interval {
	if !finite(pred) {
		return engine.Interval{Coverage: c.Nominal}
	}
	if len(c.Q) == 0 {
		p := math.Max(pred, 0)
		return engine.Interval{Lower: p, Upper: p, Coverage: c.Nominal}
	}
	b := min(c.bin(pred), len(c.Q)-1)
	lo, hi := bounds(c.Score, pred, c.Q[b])
	return engine.Interval{Lower: lo, Upper: hi, Coverage: c.Nominal}
}

// Coverage measures the interval on held-out pairs: the share of y inside
// [lower, upper] and the mean width. Pairs beyond the shorter slice or with a
// non-finite value are skipped.
func (c Conformal) Coverage(y, pred []float64) (coverage, meanWidth float64) {
	n := min(len(y), len(pred))
	in, used := 0, 0
	var width float64
	for i := range n {
		if !finite(y[i]) || !finite(pred[i]) {
			continue
		}
		iv := c.Interval(pred[i])
		if y[i] >= iv.Lower && y[i] <= iv.Upper {
			in++
		}
		width += iv.Upper - iv.Lower
		used++
	}
	if used == 0 {
		return 0, 0
	}
	return float64(in) / float64(used), width / float64(used)
}

// Validate reports whether a Conformal read from a model file is usable.
func (c Conformal) Validate() error {
	switch {
	case !(c.Nominal > 0 && c.Nominal < 1):
		return fmt.Errorf("conformal: coverage %v outside (0, 1)", c.Nominal)
	case c.Score != ScoreAbsolute && c.Score != ScoreRelative && c.Score != ScoreLog:
		return fmt.Errorf("conformal: unknown score %q", c.Score)
	case len(c.Q) == 0 || len(c.Edges) != len(c.Q)-1:
		return fmt.Errorf("conformal: %d bins need %d edges, have %d", len(c.Q), max(len(c.Q)-1, 0), len(c.Edges))
	}
	for i, q := range c.Q {
		if !finite(q) || q < 0 {
			return fmt.Errorf("conformal: q[%d] = %v must be finite and ≥ 0", i, q)
		}
	}
	for i, e := range c.Edges {
		if !finite(e) || (i > 0 && e <= c.Edges[i-1]) {
			return fmt.Errorf("conformal: edges[%d] = %v must be finite and increasing", i, e)
		}
	}
	return nil
}

// UnmarshalJSON decodes and validates a fitted interval.
func (c *Conformal) UnmarshalJSON(b []byte) error {
	type plain Conformal
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("conformal: %w", err)
	}
	if err := Conformal(p).Validate(); err != nil {
		return err
	}
	*c = Conformal(p)
	return nil
}
