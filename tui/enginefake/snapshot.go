package enginefake

import (
	"context"
	"math"
	"time"

	"carvision/engine"
)

// Episodes repeat every cycle of wall-clock time, so the demo has life and a
// fixed test clock lands in a known state.
const cycle = 600 // seconds

// Phases of the cycle (seconds into it).
const (
	driftFrom, driftTo = 150, 300 // listings with model years beyond training
	slowFrom, slowTo   = 240, 420 // the slow spell: p95 above the SLO
	slowFor            = 30       // the latency alert's `for:` duration
	burstFrom, burstTo = 450, 490 // malformed requests: 4xx, never 5xx
)

// EpisodeTime returns an instant `into` seconds into a cycle, for tests that
// want a known picture (e.g. 290: drift wave and slow spell both firing).
func EpisodeTime(into int) time.Time {
	base := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	sec := base.Unix() - base.Unix()%cycle + int64(into)
	return time.Unix(sec, 0).UTC()
}

func phase(t time.Time) int64 {
	p := t.Unix() % cycle
	if p < 0 {
		p += cycle
	}
	return p
}

func in(t time.Time, from, to int64) bool {
	p := phase(t)
	return p >= from && p < to
}

// noise is a deterministic value in [0,1) for an instant and a channel.
func noise(sec int64, ch uint64) float64 {
	x := uint64(sec)*0x9E3779B97F4A7C15 ^ ch*0xBF58476D1CE4E5B9
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// pointAt is the live picture at one second.
func (f *Fake) pointAt(t time.Time, demo bool) engine.Point {
	s := t.Unix()
	p50 := 14 + 3*math.Sin(2*math.Pi*float64(s)/173) + 2*noise(s, 1)
	p95 := p50*2.6 + 18*noise(s, 2)
	p99 := p95*1.6 + 40*noise(s, 3)
	if in(t, slowFrom, slowTo) {
		ramp := math.Min(float64(phase(t)-slowFrom)/20, 1)
		p95 += ramp * (300 + 70*noise(s, 4))
		p99 += ramp * (420 + 120*noise(s, 5))
		p50 += ramp * 30
	}
	rps := 4 + 1.5*noise(s, 6)
	if demo {
		rps = 38 + 6*math.Sin(2*math.Pi*float64(s)/97) + 3*noise(s, 7)
	}
	errRate := 0.001 + 0.002*noise(s, 8)
	return engine.Point{T: t, P50MS: p50, P95MS: p95, P99MS: p99, RPS: rps, Err: errRate}
}

// Snapshot implements engine.Client.
func (f *Fake) Snapshot(ctx context.Context, window time.Duration) (engine.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return engine.Snapshot{}, err
	}
	f.count("Snapshot")
	if window <= 0 {
		window = 5 * time.Minute
	}
	now := f.clock()
	f.mu.Lock()
	demo := f.demo
	health := f.healthLocked()
	model := f.modelInfoLocked()
	events := f.events.Newest(20)
	f.mu.Unlock()

	step := max(window/120, time.Second)
	n := int(window / step)
	end := now.Truncate(step)
	hist := make([]engine.Point, n)
	for i := range hist {
		hist[i] = f.pointAt(end.Add(-time.Duration(n-1-i)*step), demo)
	}
	slo := engine.SLO{P50MS: 50, P95MS: 300, P99MS: 800, ErrorRate: 0.01}
	snap := engine.Snapshot{At: now, Health: health, Model: model, Window: window, History: hist,
		SLO: slo, Events: events, Demo: demo}
	snap.Latency = latencyOf(hist, window, now)
	snap.Drift = driftAt(now)
	snap.Alerts = alertsAt(now, snap.Latency[0], snap.Drift)
	return snap, nil
}

func latencyOf(hist []engine.Point, window time.Duration, now time.Time) []engine.LatencyStats {
	// The newest tenth of the window stands for "now".
	recent := hist[max(len(hist)-max(len(hist)/10, 1), 0):]
	var a engine.LatencyStats
	for _, p := range recent {
		a.P50MS += p.P50MS
		a.P95MS += p.P95MS
		a.P99MS += p.P99MS
		a.RPS += p.RPS
		a.ErrorRate += p.Err
		a.MaxMS = math.Max(a.MaxMS, p.P99MS*1.3)
	}
	k := float64(len(recent))
	a.P50MS /= k
	a.P95MS /= k
	a.P99MS /= k
	a.RPS /= k
	a.ErrorRate /= k
	a.Count = int64(a.RPS * window.Seconds())
	a.Rate5xx = a.ErrorRate
	a.Rate4xx = 0.012
	if in(now, burstFrom, burstTo) {
		a.Rate4xx = 0.27
	}
	a.Rate2xx = 1 - a.Rate4xx - a.Rate5xx
	all := a
	all.Endpoint = "all"
	pred := a
	pred.Endpoint = "/predict"
	pred.RPS = a.RPS * 0.93
	pred.Count = int64(float64(a.Count) * 0.93)
	health := engine.LatencyStats{Endpoint: "/health", Count: a.Count - pred.Count, RPS: a.RPS * 0.07,
		P50MS: 0.3, P95MS: 0.8, P99MS: 1.4, MaxMS: 2.1, Rate2xx: 1}
	return []engine.LatencyStats{all, pred, health}
}

func driftAt(now time.Time) engine.DriftSummary {
	wave := in(now, driftFrom, driftTo)
	s := now.Unix()
	type spec struct {
		name, kind, test string
		base, waveScore  float64
		thr              float64
		bins             []string
		ref, cur, curW   []float64
	}
	specs := []spec{
		{"vehicle_age", "numeric", "psi", 0.03, 0.31, 0.2,
			[]string{"0-2", "3-5", "6-8", "9-11", "12-15", "16+"},
			[]float64{0.08, 0.22, 0.26, 0.2, 0.16, 0.08},
			[]float64{0.09, 0.21, 0.25, 0.21, 0.16, 0.08},
			[]float64{0.27, 0.2, 0.19, 0.15, 0.12, 0.07}},
		{"predicted_price", "numeric", "psi", 0.02, 0.22, 0.2,
			[]string{"<5k", "5-10k", "10-15k", "15-25k", "25-40k", "40k+"},
			[]float64{0.21, 0.3, 0.2, 0.19, 0.08, 0.02},
			[]float64{0.2, 0.31, 0.2, 0.19, 0.08, 0.02},
			[]float64{0.12, 0.24, 0.21, 0.25, 0.14, 0.04}},
		{"model_year", "numeric", "psi", 0.03, 0.27, 0.2,
			[]string{"≤2005", "2006-10", "2011-14", "2015-17", "2018-19", ">2019"},
			[]float64{0.14, 0.24, 0.32, 0.21, 0.09, 0},
			[]float64{0.13, 0.25, 0.31, 0.21, 0.1, 0},
			[]float64{0.1, 0.19, 0.24, 0.17, 0.12, 0.18}},
		{"odometer", "numeric", "ks", 0.04, 0.09, 0.1,
			[]string{"<50k", "50-100k", "100-150k", "150-200k", "200k+"},
			[]float64{0.17, 0.25, 0.3, 0.18, 0.1},
			[]float64{0.18, 0.25, 0.29, 0.18, 0.1},
			[]float64{0.24, 0.27, 0.26, 0.15, 0.08}},
		{"condition", "categorical", "jensen_shannon", 0.01, 0.02, 0.1,
			[]string{"excellent", "good", "like new", "fair", "new", "salvage"},
			[]float64{0.48, 0.39, 0.09, 0.03, 0.005, 0.005},
			[]float64{0.47, 0.4, 0.09, 0.03, 0.005, 0.005},
			[]float64{0.46, 0.38, 0.12, 0.03, 0.005, 0.005}},
		{"type", "categorical", "jensen_shannon", 0.02, 0.03, 0.1,
			[]string{"SUV", "truck", "sedan", "pickup", "other"},
			[]float64{0.24, 0.24, 0.24, 0.14, 0.14},
			[]float64{0.25, 0.23, 0.24, 0.14, 0.14},
			[]float64{0.27, 0.22, 0.22, 0.15, 0.14}},
		{"fuel", "categorical", "jensen_shannon", 0.01, 0.01, 0.1,
			[]string{"gas", "diesel", "hybrid", "other"},
			[]float64{0.92, 0.07, 0.008, 0.002},
			[]float64{0.91, 0.08, 0.008, 0.002},
			[]float64{0.91, 0.08, 0.008, 0.002}},
		{"cylinders", "numeric", "psi", 0.02, 0.04, 0.2,
			[]string{"3-4", "5-6", "8", "10+"},
			[]float64{0.3, 0.35, 0.34, 0.01},
			[]float64{0.31, 0.34, 0.34, 0.01},
			[]float64{0.33, 0.33, 0.33, 0.01}},
		{"days_listed", "numeric", "ks", 0.03, 0.03, 0.1,
			[]string{"<15", "15-30", "30-60", "60+"},
			[]float64{0.22, 0.25, 0.32, 0.21},
			[]float64{0.22, 0.26, 0.31, 0.21},
			[]float64{0.22, 0.26, 0.31, 0.21}},
	}
	out := engine.DriftSummary{WindowSize: 500, MinWindow: 200, MaxTrainYear: 2019, OutOfRangeShare: 0.004}
	drifted := 0
	for i, sp := range specs {
		score := sp.base + 0.01*noise(s/10, uint64(20+i))
		cur := sp.cur
		if wave {
			score = sp.waveScore + 0.02*noise(s/10, uint64(40+i))
			cur = sp.curW
		}
		fd := engine.FeatureDrift{Feature: sp.name, Kind: sp.kind, Test: sp.test, Score: score,
			Threshold: sp.thr, Drifted: score > sp.thr, Bins: sp.bins, RefShare: sp.ref, CurShare: cur}
		switch sp.test {
		case "psi":
			fd.PSI = score
		case "ks":
			// As the engine reports a KS feature: the score is the
			// p-value and the limit the Bonferroni level, alpha 0.05
			// over the features judged; smaller means more drift.
			fd.KS = score
			fd.KSP = math.Max(0.0001, 0.5-score*5)
			fd.Score, fd.Threshold = fd.KSP, 0.05/float64(len(specs))
			fd.Drifted = fd.KSP <= fd.Threshold
		case "jensen_shannon":
			fd.JS = score
		}
		if fd.Drifted {
			drifted++
		}
		out.Features = append(out.Features, fd)
	}
	out.DriftShare = float64(drifted) / float64(len(specs))
	out.Status = "ok"
	if wave {
		out.OutOfRangeShare = 0.18
	}
	if drifted > 0 {
		out.Status = "drift"
		out.DatasetDrift = out.DriftShare >= 0.3
		out.RecommendRetrain = true
		out.Reason = "vehicle_age and model_year drifted: 18% of recent listings are newer than the training data (≤ 2019); retrain with newer data"
	}
	return out
}

func alertsAt(now time.Time, all engine.LatencyStats, d engine.DriftSummary) []engine.Alert {
	cycleStart := now.Add(-time.Duration(phase(now)) * time.Second)
	state := func(from, to, forSec int64) (string, time.Time) {
		p := phase(now)
		switch {
		case p >= from && p < from+forSec:
			return "pending", cycleStart.Add(time.Duration(from) * time.Second)
		case p >= from+forSec && p < to:
			return "firing", cycleStart.Add(time.Duration(from+forSec) * time.Second)
		}
		return "inactive", time.Time{}
	}
	latState, latSince := state(slowFrom, slowTo, slowFor)
	driftState, driftSince := state(driftFrom, driftTo, 20)
	burstState, burstSince := state(burstFrom, burstTo, 10)
	age := 0.0
	for _, fd := range d.Features {
		if fd.Feature == "vehicle_age" {
			age = fd.Score
		}
	}
	return []engine.Alert{
		{Name: "LatencyP95High", State: latState, Severity: "critical", Value: all.P95MS / 1000, Threshold: 0.3,
			Op: ">", Metric: "latency_p95", Since: latSince, Runbook: "high-latency", Description: "p95 latency of /predict above the SLO"},
		{Name: "DriftVehicleAge", State: driftState, Severity: "warning", Value: age, Threshold: 0.2,
			Op: ">", Metric: "drift_max_psi", Since: driftSince, Runbook: "low-accuracy-drift", Description: "vehicle_age of recent requests drifted from training (PSI)"},
		{Name: "ClientErrorsHigh", State: burstState, Severity: "warning", Value: all.Rate4xx, Threshold: 0.1,
			Op: ">", Metric: "error_rate_4xx", Since: burstSince, Runbook: "error-rate", Description: "share of 4xx answers (malformed requests)"},
		{Name: "ErrorRateHigh", State: "inactive", Severity: "critical", Value: all.ErrorRate, Threshold: 0.01,
			Op: ">", Metric: "error_rate_5xx", Runbook: "error-rate", Description: "share of 5xx answers"},
	}
}
