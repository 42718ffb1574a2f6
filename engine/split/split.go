// Package split assigns rows to train / valid / test by a hash of each row's
// content and the seed, and finds the date cut of an out-of-time backtest.
//
// The assignment is a pure function of (seed, row values), so it is the
// same in any language, stable when rows are appended or reordered, and
// identical duplicated rows always land in the same part.
//
// Canonical row text: the 13 columns in vehicles_us.csv order (price,
// model_year, model, condition, cylinders, fuel, odometer, transmission,
// type, paint_color, is_4wd, date_posted, days_listed) joined by the unit
// separator 0x1F. Text is taken as loaded (after CSV unquoting). A missing
// value is the empty string. A number is its shortest round-trip decimal in
// positional notation, no exponent, no trailing ".0", zero as "0"
// (2011.0 → "2011", 145000.5 → "145000.5", 1e-05 → "0.00001"); Go:
// strconv.FormatFloat(v, 'f', -1, 64). row_id is not part of the content.
//
// Position: h = SHA-256(decimal seed + "\x1f" + canonical row text);
// u = (first 8 bytes of h as a big-endian uint64 >> 11) / 2^53, in [0, 1).
// u < test → Test; u < test+valid → Valid; else Train.
//
// Python:
//
//	import hashlib, decimal
//	def num(v):
//	    if v != v: return ""
//	    if v == 0: return "0"
//	    t = format(decimal.Decimal(repr(v)), "f")
//	    return t.rstrip("0").rstrip(".") if "." in t else t
//	def unit(seed, fields):  # fields: 13 strings, numbers through num()
//	    h = hashlib.sha256((str(seed) + "\x1f" + "\x1f".join(fields)).encode()).digest()
//	    return (int.from_bytes(h[:8], "big") >> 11) / 2**53
package split

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"

	"carvision/engine/dataset"
)

// Part is where a row goes.
type Part uint8

// The three parts.
const (
	Train Part = iota
	Valid
	Test
)

// String names the part as the processed files do.
func (p Part) String() string {
	switch p {
	case Train:
		return "train"
	case Valid:
		return "valid"
	case Test:
		return "test"
	}
	return fmt.Sprintf("part(%d)", uint8(p))
}

// CheckFractions reports fractions Assign would have to clamp.
func CheckFractions(valid, test float64) error {
	switch {
	case !(valid >= 0 && valid < 1):
		return fmt.Errorf("split: valid fraction %v is outside [0, 1)", valid)
	case !(test > 0 && test < 1):
		return fmt.Errorf("split: test fraction %v is outside (0, 1)", test)
	case valid+test >= 1:
		return fmt.Errorf("split: valid %v + test %v leaves no training rows", valid, test)
	}
	return nil
}

// Assign gives each row of f its part. Out-of-range fractions are clamped
// (NaN counts as 0; test first, then valid up to what is left); callers
// validate them with CheckFractions.
func Assign(f *dataset.Frame, seed int64, valid, test float64) []Part {
	test = clamp(test, 0, 1)
	valid = clamp(valid, 0, 1-test)
	parts := make([]Part, f.Len())
	buf := make([]byte, 0, 256)
	for i := range parts {
		buf = AppendKey(buf[:0], seed, f, i)
		u := unit(buf)
		switch {
		case u < test:
			parts[i] = Test
		case u < test+valid:
			parts[i] = Valid
		default:
			parts[i] = Train
		}
	}
	return parts
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) || v < lo {
		return lo
	}
	return math.Min(v, hi)
}

// Unit is row i's position in [0, 1) for the seed (see the package doc).
func Unit(f *dataset.Frame, seed int64, i int) float64 {
	return unit(AppendKey(nil, seed, f, i))
}

func unit(key []byte) float64 {
	h := sha256.Sum256(key)
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// AppendKey appends the hashed text of row i: the decimal seed, 0x1F, and
// the canonical row text.
func AppendKey(dst []byte, seed int64, f *dataset.Frame, i int) []byte {
	dst = strconv.AppendInt(dst, seed, 10)
	dst = append(dst, 0x1f)
	return AppendCanonical(dst, f, i)
}

// AppendCanonical appends the canonical text of row i (see the package doc).
func AppendCanonical(dst []byte, f *dataset.Frame, i int) []byte {
	const us = 0x1f
	dst = appendNum(dst, f.Price[i])
	dst = append(dst, us)
	dst = appendNum(dst, f.ModelYear[i])
	dst = append(dst, us)
	dst = append(dst, f.Model[i]...)
	dst = append(dst, us)
	dst = append(dst, f.Condition[i]...)
	dst = append(dst, us)
	dst = appendNum(dst, f.Cylinders[i])
	dst = append(dst, us)
	dst = append(dst, f.Fuel[i]...)
	dst = append(dst, us)
	dst = appendNum(dst, f.Odometer[i])
	dst = append(dst, us)
	dst = append(dst, f.Transmission[i]...)
	dst = append(dst, us)
	dst = append(dst, f.Type[i]...)
	dst = append(dst, us)
	dst = append(dst, f.PaintColor[i]...)
	dst = append(dst, us)
	dst = appendNum(dst, f.Is4WD[i])
	dst = append(dst, us)
	dst = append(dst, f.DatePosted[i]...)
	dst = append(dst, us)
	return appendNum(dst, f.DaysListed[i])
}

func appendNum(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return dst
	case v == 0:
		return append(dst, '0') // also -0
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

// Indices lists the rows assigned to p, in row order.
func Indices(parts []Part, p Part) []int {
	var out []int
	for i, q := range parts {
		if q == p {
			out = append(out, i)
		}
	}
	return out
}

// Counts returns how many rows each part holds, indexed by Part.
func Counts(parts []Part) [3]int {
	var c [3]int
	for _, p := range parts {
		if p <= Test {
			c[p]++
		}
	}
	return c
}

// TimeCut splits f for an out-of-time backtest: the newest frac of the
// listings by date_posted are scored, everything posted before is trained
// on. cut is the first date of the scored slice: before holds the rows with
// date_posted < cut, after those with date_posted >= cut (so all listings
// of the cut day are scored and the scored share is at least frac). Rows
// without a date are in neither.
func TimeCut(f *dataset.Frame, frac float64) (cut string, before, after []int, err error) {
	if !(frac > 0 && frac < 1) {
		return "", nil, nil, fmt.Errorf("time cut: fraction %v is outside (0, 1)", frac)
	}
	dates := make([]string, 0, f.Len())
	for _, d := range f.DatePosted {
		if d != "" {
			dates = append(dates, d)
		}
	}
	if len(dates) < 2 {
		return "", nil, nil, fmt.Errorf("time cut: %s has %d rows with a date_posted, need at least 2", f.Source, len(dates))
	}
	sort.Strings(dates) // YYYY-MM-DD sorts as text
	want := max(1, int(math.Round(frac*float64(len(dates)))))
	cut = dates[len(dates)-want]
	for i, d := range f.DatePosted {
		switch {
		case d == "":
		case d < cut:
			before = append(before, i)
		default:
			after = append(after, i)
		}
	}
	if len(before) == 0 {
		return "", nil, nil, fmt.Errorf("time cut: every dated listing of %s is on or after %s; nothing older to train on", f.Source, cut)
	}
	return cut, before, after, nil
}
