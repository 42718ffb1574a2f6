package gbdt

import (
	"math"
	"slices"
)

// Bin layout, per feature: bin 0 is the missing bin (NaN; for categoricals
// also unseen and rare codes), value bins follow from 1. Numeric value bin
// b holds the values x with upper[b-2] < x <= upper[b-1]; the last upper
// edge is +Inf so every non-NaN value has a bin. Because a split "left =
// value bins 1..B" is stored as the real threshold upper[B-1], the binned
// decision during training and the raw decision at inference agree exactly.

// minDataInBin is LightGBM's min_data_in_bin: greedy bins hold >= 3 rows.
const minDataInBin = 3

// maxNumCats bounds a categorical feature's dictionary so a bad schema cannot
// demand unbounded memory.
const maxNumCats = 1 << 24

type binMapper struct {
	kind  Kind
	nBins int       // including the missing bin
	upper []float64 // numeric: upper edge of value bins 1..nBins-1
	// categorical: code -> bin (0 = missing/unseen/rare) and bin -> code
	catBin []uint8
	binCat []int32
	// numeric: range of the training values (for feature_infos); NaN if none
	min, max float64
}

// midpoint returns a threshold t with a <= t < b for a < b.
func midpoint(a, b float64) float64 {
	t := a/2 + b/2
	if !(t < b) || t < a {
		t = a
	}
	return t
}

// fitNumeric builds value-bin upper edges from the sorted non-NaN values.
func fitNumeric(sorted []float64, maxValueBins int) []float64 {
	if len(sorted) == 0 {
		return nil
	}
	// distinct values and their counts
	var distinct []float64
	var counts []int
	for i, v := range sorted {
		if i == 0 || v != sorted[i-1] {
			distinct = append(distinct, v)
			counts = append(counts, 1)
		} else {
			counts[len(counts)-1]++
		}
	}
	if len(distinct) <= maxValueBins {
		upper := make([]float64, len(distinct))
		for i := 0; i < len(distinct)-1; i++ {
			upper[i] = midpoint(distinct[i], distinct[i+1])
		}
		upper[len(upper)-1] = math.Inf(1)
		return upper
	}
	// Greedy equal-frequency bins: close a bin once it holds its share of the
	// remaining rows, or early when the next value alone is that large (so a
	// frequent value gets a bin of its own).
	upper := make([]float64, 0, maxValueBins)
	rest := len(sorted)
	binsLeft := maxValueBins
	mean := float64(rest) / float64(binsLeft)
	cur := 0
	for i := range distinct {
		cur += counts[i]
		if i == len(distinct)-1 {
			break
		}
		if binsLeft <= 1 || cur < minDataInBin {
			continue
		}
		if float64(cur) >= mean || float64(counts[i+1]) >= mean {
			upper = append(upper, midpoint(distinct[i], distinct[i+1]))
			rest -= cur
			binsLeft--
			mean = float64(rest) / float64(binsLeft)
			cur = 0
		}
	}
	return append(upper, math.Inf(1))
}

// newNumericMapper fits bins on column values (NaN = missing).
func newNumericMapper(col []float64, maxValueBins int) binMapper {
	vals := make([]float64, 0, len(col))
	for _, v := range col {
		if v == v {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	m := binMapper{kind: Numeric, min: math.NaN(), max: math.NaN()}
	if len(vals) > 0 {
		m.min, m.max = vals[0], vals[len(vals)-1]
	}
	m.upper = fitNumeric(vals, maxValueBins)
	m.nBins = 1 + len(m.upper)
	return m
}

// catCode maps a raw categorical value to its code, or -1 when it is
// missing (NaN) or outside [0, numCats). Non-integral codes truncate
// toward zero, as LightGBM does (so -0.5 is code 0).
func catCode(v float64, numCats int) int {
	if !(v > -1) || v >= float64(numCats) {
		return -1
	}
	return int(v)
}

// newCategoricalMapper gives each category seen in training a bin; when
// there are more than maxValueBins, the most frequent keep a bin and the
// rest share the missing bin (they always go right, like unseen codes).
func newCategoricalMapper(col []float64, numCats, maxValueBins int) binMapper {
	counts := make([]int, numCats)
	for _, v := range col {
		if c := catCode(v, numCats); c >= 0 {
			counts[c]++
		}
	}
	var seen []int32
	for c, n := range counts {
		if n > 0 {
			seen = append(seen, int32(c))
		}
	}
	if len(seen) > maxValueBins {
		slices.SortStableFunc(seen, func(a, b int32) int { return counts[b] - counts[a] })
		seen = seen[:maxValueBins]
		slices.Sort(seen)
	}
	m := binMapper{kind: Categorical, catBin: make([]uint8, numCats), min: math.NaN(), max: math.NaN()}
	m.binCat = append([]int32{-1}, seen...)
	for b, c := range seen {
		m.catBin[c] = uint8(b + 1)
	}
	m.nBins = len(m.binCat)
	return m
}

// bin maps a raw value to its bin.
func (m *binMapper) bin(v float64) uint8 {
	if m.kind == Categorical {
		c := catCode(v, len(m.catBin))
		if c < 0 {
			return 0
		}
		return m.catBin[c]
	}
	if v != v || len(m.upper) == 0 {
		return 0
	}
	// first i with v <= upper[i]; upper is ascending and ends in +Inf
	lo, hi := 0, len(m.upper)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if v <= m.upper[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return uint8(lo + 1)
}

// binned is a training (or validation) matrix mapped to bins, row-major.
type binned struct {
	rows, cols int
	bins       []uint8 // rows*cols
}

// fitMappers fits one mapper per column, in parallel over columns.
func fitMappers(m Matrix, maxBin int, pl *pool) []binMapper {
	mappers := make([]binMapper, m.Cols)
	pl.parallel(m.Cols, func(f int) {
		col := make([]float64, m.Rows)
		for i := range col {
			col[i] = m.Data[i*m.Cols+f]
		}
		if m.Kinds[f] == Categorical {
			mappers[f] = newCategoricalMapper(col, m.NumCats[f], maxBin-1)
		} else {
			mappers[f] = newNumericMapper(col, maxBin-1)
		}
	})
	return mappers
}

// binChunkRows is the row block of parallel binning; fixed so the work split
// does not depend on the thread count.
const binChunkRows = 4096

// applyMappers bins every row, in parallel over row blocks.
func applyMappers(m Matrix, mappers []binMapper, pl *pool) binned {
	b := binned{rows: m.Rows, cols: m.Cols, bins: make([]uint8, m.Rows*m.Cols)}
	chunks := (m.Rows + binChunkRows - 1) / binChunkRows
	pl.parallel(chunks, func(c int) {
		lo := c * binChunkRows
		hi := min(lo+binChunkRows, m.Rows)
		for f := range mappers {
			mp := &mappers[f]
			for i := lo; i < hi; i++ {
				b.bins[i*m.Cols+f] = mp.bin(m.Data[i*m.Cols+f])
			}
		}
	})
	return b
}
