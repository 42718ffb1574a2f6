package market

import "math"

// quantileSorted is numpy's default (linear) quantile of an ascending slice:
// position h = (n−1)·p, interpolated between its neighbours. Empty → NaN.
func quantileSorted(s []float64, p float64) float64 {
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return s[0]
	}
	if p >= 1 {
		return s[n-1]
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return s[n-1]
	}
	frac := h - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}

func mean(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// sampleStd is the ddof=1 standard deviation, two-pass for accuracy.
func sampleStd(s []float64, m float64) float64 {
	if len(s) < 2 {
		return 0
	}
	var ss float64
	for _, v := range s {
		d := v - m
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(s)-1))
}
