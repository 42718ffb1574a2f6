package market

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"carvision/engine"
	"carvision/engine/dataset"
)

// Comparables finds, for a listing being priced, the nearest training
// listings of the same model.
//
// Distance is Euclidean on standardised model year and odometer:
//
//	d² = ((year − y) / σ_year)² + ((odometer − o) / σ_odometer)²
//
// where σ are the standard deviations over all indexed listings (on the
// cleaned real data 5.4 years and 62,000 miles, so one model year weighs
// about as much as 11,500 miles). A query without odometer (NaN) ranks by year alone, one
// without year by odometer alone. Ties go to the older, then lower-mileage,
// then cheaper listing, so results are deterministic.
//
// Per model the listings are kept sorted by year, and Find walks outward
// from the query year, stopping once the year distance alone exceeds the
// k-th best: a few microseconds even for the largest model.
//
// Prices and odometers are kept to the whole dollar and mile. An index is
// read-only once built, so Find is safe for concurrent use.
type Comparables struct {
	scaleYear, scaleOdo float64
	conditions          []string
	models              []compModel
	byKey               map[string]int // normalised model name → models index
}

type compModel struct {
	name string
	rows []compRow // ascending by (year, odometer, price)
}

type compRow struct {
	year  int32
	days  int32 // −1: unknown
	odo   uint32
	price uint32
	cond  uint16
}

func modelKey(m string) string { return strings.ToLower(strings.TrimSpace(m)) }

// Fallback scales when the data cannot provide a spread (one listing, or all
// alike): one year, and the ~12,000 miles a US car drives in a year.
const (
	fallbackScaleYear = 1
	fallbackScaleOdo  = 12000
	maxCompValue      = math.MaxUint32
)

// NewComparables indexes the listings of f that have a model, model year,
// odometer and price (cleaning already drops the others). Missing columns
// give an empty index.
func NewComparables(f *dataset.Frame) *Comparables {
	c := &Comparables{byKey: map[string]int{}}
	if f == nil {
		c.setScales(nil)
		return c
	}
	n := f.Len()
	if len(f.Model) != n || len(f.ModelYear) != n || len(f.Odometer) != n || len(f.Price) != n {
		c.setScales(nil)
		return c
	}
	hasCond, hasDays := len(f.Condition) == n, len(f.DaysListed) == n
	condIdx := map[string]uint16{}
	var all []compRow
	for i := range n {
		y, o, p := f.ModelYear[i], f.Odometer[i], f.Price[i]
		key := modelKey(f.Model[i])
		if key == "" || !finite(y) || !finite(o) || !finite(p) || o < 0 || p < 0 ||
			o > maxCompValue || p > maxCompValue || math.Abs(y) > math.MaxInt32 {
			continue
		}
		cond := ""
		if hasCond {
			cond = f.Condition[i]
		}
		ci, ok := condIdx[cond]
		if !ok {
			if len(c.conditions) == math.MaxUint16 {
				continue // more distinct conditions than a real dataset has; skip, don't corrupt
			}
			ci = uint16(len(c.conditions))
			condIdx[cond] = ci
			c.conditions = append(c.conditions, cond)
		}
		days := int32(-1)
		if hasDays && finite(f.DaysListed[i]) && f.DaysListed[i] >= 0 && f.DaysListed[i] < math.MaxInt32 {
			days = int32(math.Round(f.DaysListed[i]))
		}
		m, ok := c.byKey[key]
		if !ok {
			m = len(c.models)
			c.byKey[key] = m
			c.models = append(c.models, compModel{name: strings.TrimSpace(f.Model[i])})
		}
		r := compRow{year: int32(math.Round(y)), days: days, odo: uint32(math.Round(o)), price: uint32(math.Round(p)), cond: ci}
		c.models[m].rows = append(c.models[m].rows, r)
		all = append(all, r)
	}
	for i := range c.models {
		slices.SortFunc(c.models[i].rows, compareRows)
	}
	c.setScales(all)
	return c
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func compareRows(a, b compRow) int {
	switch {
	case a.year != b.year:
		return int(a.year) - int(b.year)
	case a.odo != b.odo:
		if a.odo < b.odo {
			return -1
		}
		return 1
	case a.price != b.price:
		if a.price < b.price {
			return -1
		}
		return 1
	}
	return 0
}

// setScales sets σ_year and σ_odometer (population std) from rows.
func (c *Comparables) setScales(rows []compRow) {
	c.scaleYear, c.scaleOdo = fallbackScaleYear, fallbackScaleOdo
	if len(rows) < 2 {
		return
	}
	var sy, so float64
	for _, r := range rows {
		sy += float64(r.year)
		so += float64(r.odo)
	}
	my, mo := sy/float64(len(rows)), so/float64(len(rows))
	var vy, vo float64
	for _, r := range rows {
		dy, do := float64(r.year)-my, float64(r.odo)-mo
		vy += dy * dy
		vo += do * do
	}
	if s := math.Sqrt(vy / float64(len(rows))); s > 0 {
		c.scaleYear = s
	}
	if s := math.Sqrt(vo / float64(len(rows))); s > 0 {
		c.scaleOdo = s
	}
}

// Len is the number of indexed listings.
func (c *Comparables) Len() int {
	n := 0
	for _, m := range c.models {
		n += len(m.rows)
	}
	return n
}

// Scales returns σ_year and σ_odometer, the distance's units.
func (c *Comparables) Scales() (year, odometer float64) { return c.scaleYear, c.scaleOdo }

type candidate struct {
	d   float64
	pos int
}

// Find returns up to k listings of model (case-insensitive) nearest to year
// and odometer, nearest first, and the median of their prices. An unknown
// model or k ≤ 0 gives nil and 0.
func (c *Comparables) Find(model string, year, odometer float64, k int) ([]engine.Comparable, float64) {
	if c == nil || k <= 0 {
		return nil, 0
	}
	mi, ok := c.byKey[modelKey(model)]
	if !ok {
		return nil, 0
	}
	rows := c.models[mi].rows
	useYear, useOdo := finite(year), finite(odometer)
	dist := func(r compRow) float64 {
		var d float64
		if useYear {
			dy := (float64(r.year) - year) / c.scaleYear
			d += dy * dy
		}
		if useOdo {
			do := (float64(r.odo) - odometer) / c.scaleOdo
			d += do * do
		}
		return d
	}
	best := make([]candidate, 0, k+1)
	// insert keeps best sorted by (d, pos) and at most k long.
	insert := func(cd candidate) {
		if len(best) == k {
			last := best[k-1]
			if cd.d > last.d || (cd.d == last.d && cd.pos > last.pos) {
				return
			}
		}
		i := len(best)
		best = append(best, cd)
		for i > 0 && (best[i-1].d > cd.d || (best[i-1].d == cd.d && best[i-1].pos > cd.pos)) {
			best[i] = best[i-1]
			i--
		}
		best[i] = cd
		if len(best) > k {
			best = best[:k]
		}
	}
	if !useYear {
		for p, r := range rows {
			insert(candidate{dist(r), p})
		}
	} else {
		// Walk outward from the query year; the year term alone bounds the
		// distance of everything further out on that side.
		start, _ := slices.BinarySearchFunc(rows, year, func(r compRow, y float64) int {
			switch {
			case float64(r.year) < y:
				return -1
			case float64(r.year) > y:
				return 1
			}
			return 0
		})
		yearTerm := func(r compRow) float64 {
			dy := (float64(r.year) - year) / c.scaleYear
			return dy * dy
		}
		// Always take the side whose next row is nearer in year: every row
		// left on either side is then at least that far in year alone.
		lo, hi := start-1, start
		for {
			loT, hiT := math.Inf(1), math.Inf(1)
			if lo >= 0 {
				loT = yearTerm(rows[lo])
			}
			if hi < len(rows) {
				hiT = yearTerm(rows[hi])
			}
			t := min(loT, hiT)
			if math.IsInf(t, 1) || (len(best) == k && t > best[k-1].d) {
				break
			}
			if loT <= hiT {
				insert(candidate{dist(rows[lo]), lo})
				lo--
			} else {
				insert(candidate{dist(rows[hi]), hi})
				hi++
			}
		}
	}
	out := make([]engine.Comparable, len(best))
	prices := make([]float64, len(best))
	for i, cd := range best {
		r := rows[cd.pos]
		out[i] = engine.Comparable{
			Model:      c.models[mi].name,
			ModelYear:  int(r.year),
			Odometer:   float64(r.odo),
			Price:      float64(r.price),
			Condition:  c.conditions[r.cond],
			DaysListed: int(r.days),
		}
		prices[i] = float64(r.price)
	}
	slices.Sort(prices)
	med := 0.0
	if len(prices) > 0 {
		med = quantileSorted(prices, 0.5)
	}
	return out, med
}

// Binary format (little endian, varints from encoding/binary):
//
//	"CVCMP1" · float64 σ_year · float64 σ_odometer
//	uvarint #conditions · per condition: uvarint len, bytes
//	uvarint #models · per model: uvarint len, name bytes, uvarint #rows,
//	  per row: varint year − previous year (first: − 0), uvarint odometer,
//	  uvarint price, uvarint condition index, varint days listed (−1 unknown)
//
// Rows are sorted by year, so the year delta is mostly 0 and one byte;
// a typical row is 8–10 bytes.
const compMagic = "CVCMP1"

var errCompTruncated = errors.New("truncated")

// MarshalBinary encodes the index compactly (about 9 bytes a listing).
func (c *Comparables) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64+10*c.Len())
	b = append(b, compMagic...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.scaleYear))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.scaleOdo))
	b = binary.AppendUvarint(b, uint64(len(c.conditions)))
	for _, s := range c.conditions {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(c.models)))
	for _, m := range c.models {
		b = binary.AppendUvarint(b, uint64(len(m.name)))
		b = append(b, m.name...)
		b = binary.AppendUvarint(b, uint64(len(m.rows)))
		prev := int64(0)
		for _, r := range m.rows {
			b = binary.AppendVarint(b, int64(r.year)-prev)
			prev = int64(r.year)
			b = binary.AppendUvarint(b, uint64(r.odo))
			b = binary.AppendUvarint(b, uint64(r.price))
			b = binary.AppendUvarint(b, uint64(r.cond))
			b = binary.AppendVarint(b, int64(r.days))
		}
	}
	return b, nil
}

type compReader struct {
	b   []byte
	err error
}

func (r *compReader) uvarint(what string, limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%s: %w", what, errCompTruncated)
		return 0
	}
	r.b = r.b[n:]
	if v > limit {
		r.err = fmt.Errorf("%s %d exceeds %d", what, v, limit)
		return 0
	}
	return v
}

func (r *compReader) varint(what string, lo, hi int64) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%s: %w", what, errCompTruncated)
		return 0
	}
	r.b = r.b[n:]
	if v < lo || v > hi {
		r.err = fmt.Errorf("%s %d outside %d..%d", what, v, lo, hi)
		return 0
	}
	return v
}

func (r *compReader) str(what string) string {
	n := r.uvarint(what+" length", math.MaxInt32)
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s: %w", what, errCompTruncated)
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *compReader) float(what string) float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = fmt.Errorf("%s: %w", what, errCompTruncated)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	if !finite(v) || v <= 0 {
		r.err = fmt.Errorf("%s %v: must be a positive number", what, v)
	}
	return v
}

// UnmarshalBinary decodes an index written by MarshalBinary, checking every
// count and value so damaged input is an error, never a panic or a huge allocation.
func (c *Comparables) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(compMagic)) {
		return fmt.Errorf("comparables: not a comparables index (want prefix %q)", compMagic)
	}
	r := &compReader{b: data[len(compMagic):]}
	out := &Comparables{byKey: map[string]int{}}
	out.scaleYear = r.float("year scale")
	out.scaleOdo = r.float("odometer scale")
	// Each condition, model and row takes at least one byte per field, which
	// bounds every count by the bytes left.
	nc := r.uvarint("condition count", min(uint64(len(r.b)), math.MaxUint16))
	for i := uint64(0); i < nc && r.err == nil; i++ {
		out.conditions = append(out.conditions, r.str(fmt.Sprintf("condition %d", i)))
	}
	nm := r.uvarint("model count", uint64(len(r.b)))
	for i := uint64(0); i < nm && r.err == nil; i++ {
		name := r.str(fmt.Sprintf("model %d name", i))
		key := modelKey(name)
		if r.err == nil {
			if key == "" {
				r.err = fmt.Errorf("model %d: empty name", i)
				break
			}
			if _, dup := out.byKey[key]; dup {
				r.err = fmt.Errorf("model %d: %q listed twice", i, name)
				break
			}
		}
		nr := r.uvarint(fmt.Sprintf("model %q row count", name), uint64(len(r.b))/5)
		m := compModel{name: name, rows: make([]compRow, 0, nr)}
		year := int64(0)
		for j := uint64(0); j < nr && r.err == nil; j++ {
			year += r.varint("year", -math.MaxInt32, math.MaxInt32)
			if year < math.MinInt32 || year > math.MaxInt32 {
				r.err = fmt.Errorf("model %q row %d: year %d out of range", name, j, year)
				break
			}
			row := compRow{
				year:  int32(year),
				odo:   uint32(r.uvarint("odometer", maxCompValue)),
				price: uint32(r.uvarint("price", maxCompValue)),
				cond:  uint16(r.uvarint("condition index", max(uint64(len(out.conditions)), 1)-1)),
				days:  int32(r.varint("days listed", -1, math.MaxInt32)),
			}
			if r.err == nil && len(out.conditions) == 0 {
				r.err = fmt.Errorf("model %q row %d: no conditions table", name, j)
			}
			if r.err == nil && len(m.rows) > 0 && compareRows(m.rows[len(m.rows)-1], row) > 0 {
				r.err = fmt.Errorf("model %q row %d: rows not sorted", name, j)
			}
			m.rows = append(m.rows, row)
		}
		if r.err == nil {
			out.byKey[key] = len(out.models)
			out.models = append(out.models, m)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("comparables: %w", r.err)
	}
	*c = *out
	return nil
}

// MarshalJSON stores the binary encoding as one base64 string.
func (c *Comparables) MarshalJSON() ([]byte, error) {
	b, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(b)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Comparables) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("comparables: %w", err)
	}
	return c.UnmarshalBinary(b)
}
