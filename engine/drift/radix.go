package drift

import "math"

// countingRange is the widest integer range sortFinite sorts by counting.
const countingRange = 1 << 16

// sortFinite sorts finite values in place: by counting when they are all
// integers within countingRange of each other (ages, model years,
// cylinders: one pass and a fill), else by radixSortFloats. keys and tmp
// are scratch of at least len(xs). Negative zero becomes zero.
func sortFinite(xs []float64, keys, tmp []uint64) {
	if len(xs) < 2 {
		return
	}
	lo, hi := xs[0], xs[0]
	integral := true
	for _, x := range xs {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
		// The conversion is a single instruction (math.Trunc is not, on
		// baseline amd64); out-of-range values fail the test, correctly.
		if x != float64(int64(x)) {
			integral = false
		}
	}
	if !integral || hi-lo >= countingRange {
		radixSortFloats(xs, keys, tmp)
		return
	}
	span := int(hi-lo) + 1
	var counts []uint64
	if len(tmp) >= span {
		counts = tmp[:span]
		clear(counts)
	} else {
		counts = make([]uint64, span)
	}
	for _, x := range xs {
		counts[int(x-lo)]++
	}
	i := 0
	for v, c := range counts {
		x := lo + float64(v)
		for ; c > 0; c-- {
			xs[i] = x
			i++
		}
	}
}

// radixSortFloats sorts finite values in place with an LSD radix sort on
// their order-preserving bit patterns, using keys and tmp (each at least
// len(xs) long) as scratch. Byte positions where every key agrees (common:
// integer-valued features leave the low mantissa bytes empty) are skipped.
// It is several times faster than a comparison sort on 100k values, which
// is what keeps a full drift report within its budget.
func radixSortFloats(xs []float64, keys, tmp []uint64) {
	n := len(xs)
	if n < 2 {
		return
	}
	keys, tmp = keys[:n], tmp[:n]
	var diff uint64
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
		diff |= b ^ keys[0]
	}
	src, dst := keys, tmp
	for p := 0; p < 8; p++ {
		shift := uint(8 * p)
		if byte(diff>>shift) == 0 {
			continue // every key has the same byte here
		}
		var off [256]int
		for _, k := range src {
			off[byte(k>>shift)]++
		}
		sum := 0
		for i, c := range off {
			off[i] = sum
			sum += c
		}
		for _, k := range src {
			d := byte(k >> shift)
			dst[off[d]] = k
			off[d]++
		}
		src, dst = dst, src
	}
	for i, b := range src {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		xs[i] = math.Float64frombits(b)
	}
}
