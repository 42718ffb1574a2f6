package drift

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Buckets is the number of PSI buckets: reference deciles, as the original.
const Buckets = 10

// EdgeWiden is how far the outer bucket edges are pushed out (the
// original's 1e-9), so the reference's own min and max fall inside.
const EdgeWiden = 1e-9

// MaxSample bounds the reference sample kept for KS and Wasserstein.
const MaxSample = 2000

// ReferenceVersion is the layout of Reference this code writes.
const ReferenceVersion = 1

// Reference is the training distribution drift is measured against; it is
// embedded (as JSON) in the model file. Features are kept sorted by name.
type Reference struct {
	Version     int              `json:"version"`
	Numeric     []NumericRef     `json:"numeric"`
	Categorical []CategoricalRef `json:"categorical"`
}

// NumericRef summarises one numeric feature of the reference.
type NumericRef struct {
	Name    string `json:"name"`
	Count   int    `json:"count"`   // finite values
	Missing int    `json:"missing"` // NaN or ±Inf, dropped
	// Edges are the Buckets+1 bucket edges: linear percentiles 0, 10, …,
	// 100 of the reference, the first lowered and the last raised by
	// EdgeWiden. Shares are the reference's own share per bucket (before
	// zero fill).
	Edges  []float64 `json:"edges"`
	Shares []float64 `json:"shares"`
	Mean   float64   `json:"mean"`
	Std    float64   `json:"std"` // population (ddof 0)
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	// Sample is a sorted, quantile-stratified sample of at most MaxSample
	// values (all of them when there are fewer): value i is the one of
	// rank floor((i+½)·Count/MaxSample), so it is deterministic and its
	// CDF is within 1/(2·MaxSample) of the reference's.
	Sample []float64 `json:"sample"`
}

// CategoricalRef summarises one categorical feature of the reference.
type CategoricalRef struct {
	Name       string   `json:"name"`
	Count      int      `json:"count"`   // non-empty values
	Missing    int      `json:"missing"` // "" (missing), dropped
	Categories []string `json:"categories"`
	Counts     []int    `json:"counts"` // parallel to Categories, most frequent first
}

// BuildReference summarises training columns. NaN and ±Inf numbers and
// empty strings are dropped (and counted as missing); a feature with no
// value left is kept with Count 0 and skipped by reports.
func BuildReference(numeric map[string][]float64, categorical map[string][]string) Reference {
	ref := Reference{Version: ReferenceVersion}
	for _, name := range sortedKeys(numeric) {
		ref.Numeric = append(ref.Numeric, buildNumeric(name, numeric[name]))
	}
	for _, name := range sortedKeys(categorical) {
		ref.Categorical = append(ref.Categorical, buildCategorical(name, categorical[name]))
	}
	return ref
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func buildNumeric(name string, values []float64) NumericRef {
	s := finiteSorted(values)
	r := NumericRef{Name: name, Count: len(s), Missing: len(values) - len(s)}
	if len(s) == 0 {
		return r
	}
	r.Edges = quantileEdges(s)
	counts := make([]int, Buckets)
	total := histogramSorted(s, r.Edges, counts)
	r.Shares = make([]float64, Buckets)
	for i, c := range counts {
		r.Shares[i] = float64(c) / float64(total)
	}
	r.Mean, r.Std = meanStd(s)
	r.Min, r.Max = s[0], s[len(s)-1]
	r.Sample = stratifiedSample(s, MaxSample)
	return r
}

// quantileEdges are numpy.percentile(sorted, linspace(0, 100, 11)) with
// the outer edges widened, as the original PSI.
func quantileEdges(sorted []float64) []float64 {
	edges := make([]float64, Buckets+1)
	for i := range edges {
		edges[i] = percentileLinear(sorted, float64(i*100/Buckets))
	}
	edges[0] -= EdgeWiden
	edges[Buckets] += EdgeWiden
	return edges
}

func stratifiedSample(sorted []float64, k int) []float64 {
	n := len(sorted)
	if n <= k {
		return slices.Clone(sorted)
	}
	out := make([]float64, k)
	for i := range out {
		out[i] = sorted[int((float64(i)+0.5)*float64(n)/float64(k))]
	}
	return out
}

func buildCategorical(name string, values []string) CategoricalRef {
	counts := map[string]int{}
	r := CategoricalRef{Name: name}
	for _, v := range values {
		if v == "" {
			r.Missing++
			continue
		}
		counts[v]++
		r.Count++
	}
	for c := range counts {
		r.Categories = append(r.Categories, c)
	}
	slices.SortFunc(r.Categories, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	r.Counts = make([]int, len(r.Categories))
	for i, c := range r.Categories {
		r.Counts[i] = counts[c]
	}
	return r
}

// NumericFeature returns the numeric feature called name.
func (r Reference) NumericFeature(name string) (NumericRef, bool) {
	i := sort.Search(len(r.Numeric), func(i int) bool { return r.Numeric[i].Name >= name })
	if i < len(r.Numeric) && r.Numeric[i].Name == name {
		return r.Numeric[i], true
	}
	for _, f := range r.Numeric { // not sorted (built by hand)
		if f.Name == name {
			return f, true
		}
	}
	return NumericRef{}, false
}

// CategoricalFeature returns the categorical feature called name.
func (r Reference) CategoricalFeature(name string) (CategoricalRef, bool) {
	for _, f := range r.Categorical {
		if f.Name == name {
			return f, true
		}
	}
	return CategoricalRef{}, false
}

// Empty reports whether the reference describes no feature.
func (r Reference) Empty() bool { return len(r.Numeric) == 0 && len(r.Categorical) == 0 }

// Validate checks what a model file could have corrupted: it names the
// first broken feature.
func (r Reference) Validate() error {
	if r.Version > ReferenceVersion {
		return fmt.Errorf("drift reference version %d is newer than this program (%d)", r.Version, ReferenceVersion)
	}
	for _, f := range r.Numeric {
		if err := f.validate(); err != nil {
			return fmt.Errorf("drift reference feature %q: %w", f.Name, err)
		}
	}
	for _, f := range r.Categorical {
		if err := f.validate(); err != nil {
			return fmt.Errorf("drift reference feature %q: %w", f.Name, err)
		}
	}
	return nil
}

func (f NumericRef) validate() error {
	if f.Count < 0 || f.Missing < 0 {
		return errors.New("negative count")
	}
	if f.Count == 0 {
		return nil
	}
	if len(f.Edges) != Buckets+1 || len(f.Shares) != Buckets {
		return fmt.Errorf("%d edges and %d shares, want %d and %d", len(f.Edges), len(f.Shares), Buckets+1, Buckets)
	}
	for i, e := range f.Edges {
		if !finite(e) || (i > 0 && e < f.Edges[i-1]) {
			return fmt.Errorf("edge %d (%v) is not finite and non-decreasing", i, e)
		}
	}
	var sum float64
	for i, s := range f.Shares {
		if !finite(s) || s < 0 || s > 1 {
			return fmt.Errorf("share %d (%v) outside [0, 1]", i, s)
		}
		sum += s
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("shares sum to %v, not 1", sum)
	}
	for _, v := range []float64{f.Mean, f.Std, f.Min, f.Max} {
		if !finite(v) {
			return errors.New("non-finite mean, std, min or max")
		}
	}
	if f.Std < 0 || f.Min > f.Max {
		return errors.New("negative std or min above max")
	}
	if len(f.Sample) == 0 || len(f.Sample) > max(MaxSample, f.Count) {
		return fmt.Errorf("sample of %d values", len(f.Sample))
	}
	for i, v := range f.Sample {
		if !finite(v) || (i > 0 && v < f.Sample[i-1]) {
			return fmt.Errorf("sample value %d (%v) is not finite and sorted", i, v)
		}
	}
	return nil
}

func (f CategoricalRef) validate() error {
	if len(f.Categories) != len(f.Counts) {
		return fmt.Errorf("%d categories but %d counts", len(f.Categories), len(f.Counts))
	}
	seen := make(map[string]bool, len(f.Categories))
	total := 0
	for i, c := range f.Categories {
		if c == "" || seen[c] {
			return fmt.Errorf("category %d (%q) is empty or repeated", i, c)
		}
		seen[c] = true
		if f.Counts[i] < 0 {
			return fmt.Errorf("category %q has a negative count", c)
		}
		total += f.Counts[i]
	}
	if total != f.Count {
		return fmt.Errorf("counts sum to %d, not %d", total, f.Count)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// PSIFromValues is the original check_drift.py PSI of current values
// against a reference feature: current values are bucketed on the
// reference's edges ([a, b), the last bucket closed), values outside the
// reference range (and NaN) are not counted, shares are counts over the
// in-range total, zero shares become ZeroFill. It returns NaN when no
// current value is in range (the original's 0/0), with inRange = 0.
func PSIFromValues(ref NumericRef, cur []float64) (psi float64, inRange int) {
	if ref.Count == 0 || len(ref.Edges) != Buckets+1 || len(ref.Shares) != Buckets {
		return math.NaN(), 0
	}
	return psiSorted(ref, finiteSorted(cur))
}

func psiSorted(ref NumericRef, sorted []float64) (float64, int) {
	var counts [Buckets]int
	total := histogramSorted(sorted, ref.Edges, counts[:])
	if total == 0 {
		return math.NaN(), 0
	}
	var cur [Buckets]float64
	for i, c := range counts {
		cur[i] = float64(c) / float64(total)
	}
	return PSI(ref.Shares, cur[:]), total
}
