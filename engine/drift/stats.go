package drift

import (
	"errors"
	"math"
	"slices"
)

// ZeroFill replaces empty shares before PSI's logarithm, as the original
// check_drift.py does (Evidently uses 1e-4 instead).
const ZeroFill = 1e-6

// PSI is the population stability index Σ (c − r)·ln(c / r) over matching
// shares, with zero shares replaced by ZeroFill. Slices of different
// lengths give NaN.
func PSI(refShares, curShares []float64) float64 {
	if len(refShares) != len(curShares) || len(refShares) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range refShares {
		r, c := refShares[i], curShares[i]
		if r == 0 {
			r = ZeroFill
		}
		if c == 0 {
			c = ZeroFill
		}
		s += (c - r) * math.Log(c/r)
	}
	return s
}

// percentileLinear is numpy.percentile(sorted, pct) with the default
// "linear" method, reproducing its arithmetic (including the two-sided
// lerp) so that bin edges match bit for bit.
func percentileLinear(sorted []float64, pct float64) float64 {
	n := len(sorted)
	q := pct / 100
	v := float64(n-1) * q
	if v >= float64(n-1) {
		return sorted[n-1]
	}
	if v < 0 {
		return sorted[0]
	}
	lo := math.Floor(v)
	i := int(lo)
	g := v - lo
	a, b := sorted[i], sorted[i+1]
	d := b - a
	if g >= 0.5 {
		return b - float64(d*(1-g)) // float64() forbids FMA fusion
	}
	return a + float64(d*g)
}

// lowerBound is numpy.searchsorted(sorted, x, side="left").
func lowerBound(sorted []float64, x float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// upperBound is numpy.searchsorted(sorted, x, side="right").
func upperBound(sorted []float64, x float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// histogramSorted is numpy.histogram(sorted, bins=edges)[0]: bins [a, b),
// the last one closed, values outside [edges[0], edges[-1]] not counted.
func histogramSorted(sorted, edges []float64, out []int) int {
	total := 0
	for i := 0; i+1 < len(edges); i++ {
		lo := lowerBound(sorted, edges[i])
		var hi int
		if i+2 == len(edges) {
			hi = upperBound(sorted, edges[i+1])
		} else {
			hi = lowerBound(sorted, edges[i+1])
		}
		out[i] = max(hi-lo, 0)
		total += out[i]
	}
	return total
}

// JensenShannon is the Jensen–Shannon distance with base-2 logarithms, in
// [0, 1], like scipy.spatial.distance.jensenshannon(p, q, base=2). Inputs
// are normalised; no zero fill. Mismatched or empty inputs give NaN.
func JensenShannon(p, q []float64) float64 {
	if len(p) != len(q) || len(p) == 0 {
		return math.NaN()
	}
	var sp, sq float64
	for i := range p {
		if p[i] < 0 || q[i] < 0 {
			return math.NaN()
		}
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.NaN()
	}
	var js float64
	for i := range p {
		a, b := p[i]/sp, q[i]/sq
		m := (a + b) / 2
		js += relEntr(a, m) + relEntr(b, m)
	}
	js /= 2 * math.Ln2
	return math.Sqrt(max(js, 0))
}

func relEntr(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/y)
}

// Wasserstein is the first Wasserstein distance ∫|F_a − F_b| between two
// sorted samples, as scipy.stats.wasserstein_distance.
func Wasserstein(a, b []float64) float64 {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return math.NaN()
	}
	var sum float64
	i, j := 0, 0
	fn, fm := float64(n), float64(m)
	// Walk the merged values; between consecutive values both CDFs are flat.
	x := min(a[0], b[0])
	for i < n || j < m {
		for i < n && a[i] <= x {
			i++
		}
		for j < m && b[j] <= x {
			j++
		}
		if i == n && j == m {
			break
		}
		next := math.Inf(1)
		if i < n {
			next = a[i]
		}
		if j < m && b[j] < next {
			next = b[j]
		}
		sum += math.Abs(float64(i)/fn-float64(j)/fm) * (next - x)
		x = next
	}
	return sum
}

// NormedWasserstein is Wasserstein(ref, cur) / max(std, 0.001), Evidently's
// "wasserstein" drift score in units of the reference's standard deviation.
func NormedWasserstein(w, refStd float64) float64 {
	return w / max(refStd, 0.001)
}

// ksWassersteinSorted returns ksStatSorted(a, b) and Wasserstein(a, b) in
// one merge of the two sorted samples (the live report's hot loop).
func ksWassersteinSorted(a, b []float64) (d, w float64) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return math.NaN(), math.NaN()
	}
	fn, fm := float64(n), float64(m)
	i, j := 0, 0
	x := min(a[0], b[0])
	for {
		for i < n && a[i] <= x {
			i++
		}
		for j < m && b[j] <= x {
			j++
		}
		diff := math.Abs(float64(i)/fn - float64(j)/fm)
		d = max(d, diff)
		if i == n && j == m {
			break
		}
		next := math.Inf(1)
		if i < n {
			next = a[i]
		}
		if j < m && b[j] < next {
			next = b[j]
		}
		w += diff * (next - x)
		x = next
	}
	return min(d, 1), w
}

// ksStatSorted is the two-sided two-sample Kolmogorov–Smirnov statistic of
// sorted samples, computed like scipy.stats.ks_2samp (CDFs evaluated at
// every observed value, so ties are handled exactly).
func ksStatSorted(a, b []float64) float64 {
	n, m := len(a), len(b)
	fn, fm := float64(n), float64(m)
	var d float64
	i, j := 0, 0
	for i < n || j < m {
		var x float64
		switch {
		case i == n:
			x = b[j]
		case j == m:
			x = a[i]
		default:
			x = min(a[i], b[j])
		}
		for i < n && a[i] <= x {
			i++
		}
		for j < m && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/fn-float64(j)/fm))
	}
	return min(d, 1)
}

// KSMethod selects how a two-sample KS p-value is computed.
type KSMethod int

// KS p-value methods, as scipy.stats.ks_2samp's method argument.
const (
	// KSAuto is exact when both samples have at most 10,000 values, else
	// asymptotic (scipy's default).
	KSAuto KSMethod = iota
	// KSExact counts lattice paths (Hodges); falls back to asymptotic when
	// the lattice is too large.
	KSExact
	// KSAsymp uses the one-sample Kolmogorov distribution with
	// n = round(n1·n2/(n1+n2)), as scipy does for large samples.
	KSAsymp
	// ksAsympFast is KSAsymp with kolmogorovSFFast (the live report).
	ksAsympFast
)

// KSResult is a two-sample KS test outcome; the JSON names are the original
// check_drift.py's.
type KSResult struct {
	Stat   float64 `json:"ks_stat"`
	PValue float64 `json:"p_value"`
}

// ErrEmpty is returned by statistics given a sample with no finite value.
var ErrEmpty = errors.New("sample has no finite value")

// KS2Samp is scipy.stats.ks_2samp(a, b) (two-sided): NaN and ±Inf are
// dropped first (scipy would keep NaN); inputs are not modified.
func KS2Samp(a, b []float64, method KSMethod) (KSResult, error) {
	sa, sb := finiteSorted(a), finiteSorted(b)
	if len(sa) == 0 || len(sb) == 0 {
		return KSResult{}, ErrEmpty
	}
	d := ksStatSorted(sa, sb)
	return KSResult{Stat: d, PValue: ksPValue(d, len(sa), len(sb), method)}, nil
}

func finiteSorted(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

const ksMaxAutoN = 10000

// ksPValue follows scipy.stats.ks_2samp's two-sided p-value choice.
func ksPValue(d float64, n1, n2 int, method KSMethod) float64 {
	if method == KSAuto {
		method = KSAsymp
		if max(n1, n2) <= ksMaxAutoN {
			method = KSExact
		}
	}
	if method == KSExact {
		g := gcd(n1, n2)
		n1g, n2g := n1/g, n2/g
		if float64(n1g) < float64(math.MaxInt32)/float64(n2g) {
			if p, ok := ksExact(n1, n2, g, d); ok {
				return clamp01(p)
			}
		}
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := int(math.RoundToEven(m * n / (m + n)))
	if method == ksAsympFast {
		return clamp01(kolmogorovSFFast(en, d))
	}
	return clamp01(KolmogorovSF(en, d))
}

// ksExact is scipy's _attempt_exact_2kssamp for the two-sided test.
func ksExact(n1, n2, g int, d float64) (float64, bool) {
	lcm := int64(n1/g) * int64(n2)
	h := int64(math.RoundToEven(d * float64(lcm)))
	if h == 0 {
		return 1, true
	}
	var p float64
	if n1 == n2 {
		p = probOutsideSquare(int64(n1), h)
	} else {
		p = outerProbInside(int64(n1), int64(n2), int64(g), h)
	}
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 1 {
		return 0, false
	}
	return p, true
}

// probOutsideSquare is Pr(D_{n,n} ≥ h/n), scipy's Horner-like evaluation of
// 2·Σ (−1)^(k−1) C(2n, n−kh) / C(2n, n).
func probOutsideSquare(n, h int64) float64 {
	var P float64
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := int64(0); j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1 - P)
	}
	return 2 * P
}

// outerProbInside is the share of lattice paths from (0,0) to (m,n) that
// leave the band |x/m − y/n| < h/lcm(m,n): the exact two-sided p-value
// (Hodges' inside method with Viehmann's 1−p recursion, as scipy).
func outerProbInside(m, n, g, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := int64(0), min(ceilDiv(h, mg), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for j := minj; j < maxj && j < lenA; j++ {
		A[j] = 0
	}
	for i := int64(1); i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = min(max(floorDiv(ng*i-h, mg)+1, 0), n)
		maxj = min(ceilDiv(ng*i+h, mg), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		for jj := int64(0); jj < maxj-minj; jj++ {
			j := jj + minj
			src := jj + minj - lastminj
			if src < 0 || src >= lenA || jj >= lenA {
				return math.NaN()
			}
			val = (A[src]*float64(i) + val*float64(j)) / float64(i+j)
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < maxj-minj+(lastlen-curlen) && k < lenA; k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}

// ChiSquareTest is scipy.stats.chisquare(observed, expected) where expected
// is given as shares (scaled to the observed total). Cells with zero
// expected and zero observed count are dropped; a positive count where
// nothing was expected gives an infinite statistic and p = 0.
func ChiSquareTest(observed []float64, expectedShares []float64) (stat, p float64) {
	if len(observed) != len(expectedShares) {
		return math.NaN(), math.NaN()
	}
	var total, shareSum float64
	for i := range observed {
		total += observed[i]
		shareSum += expectedShares[i]
	}
	if total == 0 || shareSum == 0 {
		return math.NaN(), math.NaN()
	}
	cells := 0
	for i := range observed {
		e := expectedShares[i] / shareSum * total
		o := observed[i]
		if e == 0 {
			if o == 0 {
				continue
			}
			return math.Inf(1), 0
		}
		stat += (o - e) * (o - e) / e
		cells++
	}
	if cells < 2 {
		return 0, 1
	}
	return stat, ChiSquareSF(stat, float64(cells-1))
}

// ChiSquareSF is the chi-squared survival function Q(df/2, x/2).
func ChiSquareSF(x, df float64) float64 {
	if math.IsNaN(x) || df <= 0 {
		return math.NaN()
	}
	if x <= 0 {
		return 1
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularised upper incomplete gamma function Q(a, x):
// a series for x < a+1, Lentz's continued fraction otherwise.
func gammaQ(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	front := math.Exp(-x + a*math.Log(x) - lg)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return clamp01(1 - sum*front)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 10000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return clamp01(front * h)
}

func clamp01(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	return min(max(p, 0), 1)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// meanStd returns the mean and the population (ddof 0) standard deviation.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)))
}
