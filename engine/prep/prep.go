// Package prep cleans a dataset with the original CarVision filters and
// derives the two features the original defined (vehicle age, brand).
package prep

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"carvision/engine/dataset"
)

// Filters are the cleaning thresholds of config.yaml preprocessing.filters.
type Filters struct {
	MinPrice    float64 `json:"min_price" yaml:"min_price"`
	MaxPrice    float64 `json:"max_price" yaml:"max_price"`
	MinYear     float64 `json:"min_year" yaml:"min_year"`
	MaxOdometer float64 `json:"max_odometer" yaml:"max_odometer"`
}

// DefaultFilters are the original's: 1000 / 500000 / 1990 / 500000.
func DefaultFilters() Filters {
	return Filters{MinPrice: 1000, MaxPrice: 500000, MinYear: 1990, MaxOdometer: 500000}
}

// Step is what one filter did.
type Step struct {
	Filter    string `json:"filter"`    // config key: min_price, max_price, min_year, max_odometer
	Rule      string `json:"rule"`      // the kept condition, e.g. "price > 1000"
	Removed   int    `json:"removed"`   // rows this filter dropped
	Remaining int    `json:"remaining"` // rows left after it
	Range     string `json:"range"`     // the column's range before it, e.g. "price 1..375000"
	Missing   int    `json:"missing"`   // rows with the column missing before it (all dropped)
}

// Report counts the rows each filter removed, in the order applied.
type Report struct {
	RowsIn  int    `json:"rows_in"`
	RowsOut int    `json:"rows_out"`
	Steps   []Step `json:"steps"`
}

type filter struct {
	name, rule string
	column     string
	values     []float64
	keep       func(v float64) bool // false for NaN: comparisons with NaN are false
}

// Clean applies the original's filters in its order and semantics:
//  1. min_price < price < max_price, both strict (recorded as two steps,
//     min_price then max_price; a missing price is dropped by min_price);
//  2. model_year >= min_year, a missing year dropped;
//  3. 0 < odometer < max_odometer, both strict, a missing odometer dropped.
//
// Nothing else is dropped (no de-duplication; gaps in other columns stay).
// The returned frame keeps the source row ids. When a filter removes the
// last rows, the error names it with the data's range before it.
func Clean(f *dataset.Frame, flt Filters) (*dataset.Frame, Report, error) {
	rep := Report{RowsIn: f.Len()}
	if err := f.Check(); err != nil {
		return nil, rep, fmt.Errorf("clean: %w", err)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"min_price", flt.MinPrice}, {"max_price", flt.MaxPrice}, {"min_year", flt.MinYear}, {"max_odometer", flt.MaxOdometer}} {
		if math.IsNaN(v.v) {
			return nil, rep, fmt.Errorf("clean: filter %s is not a number", v.name)
		}
	}
	if f.Len() == 0 {
		return nil, rep, fmt.Errorf("clean: %s has no rows", f.Source)
	}
	filters := []filter{
		{"min_price", "price > " + num(flt.MinPrice), "price", f.Price, func(v float64) bool { return v > flt.MinPrice }},
		{"max_price", "price < " + num(flt.MaxPrice), "price", f.Price, func(v float64) bool { return v < flt.MaxPrice }},
		{"min_year", "model_year >= " + num(flt.MinYear), "model_year", f.ModelYear, func(v float64) bool { return v >= flt.MinYear }},
		{"max_odometer", "0 < odometer < " + num(flt.MaxOdometer), "odometer", f.Odometer, func(v float64) bool { return v > 0 && v < flt.MaxOdometer }},
	}
	idx := make([]int, f.Len())
	for i := range idx {
		idx[i] = i
	}
	for _, fl := range filters {
		rng, missing := describe(fl.column, fl.values, idx)
		kept := idx[:0:0]
		for _, i := range idx {
			if fl.keep(fl.values[i]) {
				kept = append(kept, i)
			}
		}
		st := Step{Filter: fl.name, Rule: fl.rule, Removed: len(idx) - len(kept), Remaining: len(kept), Range: rng, Missing: missing}
		rep.Steps = append(rep.Steps, st)
		if len(kept) == 0 {
			where := rng
			if missing > 0 && missing < len(idx) {
				where += fmt.Sprintf(" and %d missing", missing)
			}
			return nil, rep, fmt.Errorf("clean: filter %s removed the last %d rows (%s, filter %s)",
				fl.name, len(idx), where, fl.rule)
		}
		idx = kept
	}
	rep.RowsOut = len(idx)
	return f.Select(idx), rep, nil
}

// describe gives "col min..max" over the rows idx, and how many are missing.
func describe(col string, values []float64, idx []int) (string, int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	missing := 0
	for _, i := range idx {
		v := values[i]
		if math.IsNaN(v) {
			missing++
			continue
		}
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	}
	if missing == len(idx) {
		return col + " all missing", missing
	}
	return col + " " + num(lo) + ".." + num(hi), missing
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// VehicleAge is refYear − modelYear (NaN when the year is missing). The
// reference year is explicit (config dataset_year) so that an age never
// changes with the calendar.
func VehicleAge(modelYear float64, refYear int) float64 {
	return float64(refYear) - modelYear
}

// Brand is the first whitespace-separated word of model, lower-cased
// ("Ford F-150" → "ford"); "" for an empty model. It allocates only when
// the word has upper-case letters.
func Brand(model string) string {
	s := strings.TrimLeftFunc(model, unicode.IsSpace)
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}
