package monitor

import (
	"math"
	"time"
)

// The latency histogram: one underflow bucket [0, 1 µs), nLog logarithmic
// buckets covering [1 µs, 100 s) whose upper edge is gamma times the lower,
// and one overflow bucket [100 s, ∞). Reporting a bucket by
// lower·(1+relErr) = upper·(1−relErr) puts every value of the bucket within
// relErr of its report, so a quantile is off by at most relErr relative to
// the exact value of the same rank.
const (
	relErr   = 0.0095
	minNS    = 1e3   // 1 µs
	maxNS    = 100e9 // 100 s
	nLog     = 970   // ceil(ln(maxNS/minNS) / ln(gamma)); checked by a test
	nBuckets = nLog + 2
	overflow = nBuckets - 1
)

var (
	gamma      = (1 + relErr) / (1 - relErr)
	lnGamma    = math.Log(gamma)
	invLnGamma = 1 / lnGamma
	lnMin      = math.Log(minNS)
	reprNS     = representatives()
)

func representatives() [nBuckets]float64 {
	var r [nBuckets]float64
	r[0] = minNS / 2
	for i := 1; i <= nLog; i++ {
		r[i] = minNS * math.Exp(float64(i-1)*lnGamma) * (1 + relErr)
	}
	r[overflow] = maxNS
	return r
}

// bucketOf maps a latency in nanoseconds to its bucket.
func bucketOf(ns int64) int {
	if ns < minNS {
		return 0
	}
	if ns >= maxNS {
		return overflow
	}
	i := 1 + int((math.Log(float64(ns))-lnMin)*invLnGamma)
	if i > nLog {
		i = nLog
	}
	return i
}

// quantilesNS returns the nearest-rank quantiles (value of rank ceil(q·n))
// of a histogram, clamped to the exact maximum seen, in nanoseconds.
func quantilesNS(counts []uint64, maxSeen int64, qs []float64, out []float64) {
	var total uint64
	for _, c := range counts {
		total += c
	}
	for i := range out {
		out[i] = 0
	}
	if total == 0 {
		return
	}
	var ranks [8]uint64 // callers ask for at most a handful, in ascending order
	for i, q := range qs {
		r := uint64(math.Ceil(q * float64(total)))
		ranks[i] = min(max(r, 1), total)
	}
	var cum uint64
	next := 0
	for b, c := range counts {
		if c == 0 {
			continue
		}
		cum += c
		for next < len(qs) && cum >= ranks[next] {
			v := reprNS[b]
			if b == overflow || v > float64(maxSeen) {
				v = float64(maxSeen)
			}
			out[next] = v
			next++
		}
		if next == len(qs) {
			break
		}
	}
}

func nsToMS(ns float64) float64 { return ns / float64(time.Millisecond) }
