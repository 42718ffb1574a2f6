package alerts

import (
	"time"

	"carvision/engine"
)

// Values are the monitored numbers at one evaluation, keyed by Key.
type Values map[string]float64

// Bool is 1 for true and 0 for false, the 0|1 metrics' encoding.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SetLatency adds one window's statistics (monitor's "all" row) under
// metric[window] keys, and under the bare names too when plain is set (the
// shortest monitored window). Latencies are in seconds. With no request in
// the window, quantiles and error rates are left unset (not evaluable:
// no traffic is not an outage), request_rate is 0.
func (v Values) SetLatency(window time.Duration, s engine.LatencyStats, plain bool) {
	set := func(metric string, x float64) {
		v[Key(metric, window)] = x
		if plain {
			v[metric] = x
		}
	}
	set("request_rate", s.RPS)
	if s.Count == 0 {
		return
	}
	set("latency_p50", s.P50MS/1000)
	set("latency_p95", s.P95MS/1000)
	set("latency_p99", s.P99MS/1000)
	set("latency_max", s.MaxMS/1000)
	set("error_rate_5xx", s.Rate5xx)
	set("error_rate_4xx", s.Rate4xx)
}

// SetDrift adds the drift report's values. While the report is collecting,
// drift_detected and retrain_recommended are 0 and the scores are unset.
func (v Values) SetDrift(d engine.DriftSummary) {
	v["drift_detected"] = Bool(d.Status == "drift")
	v["retrain_recommended"] = Bool(d.RecommendRetrain)
	v["out_of_range_share"] = d.OutOfRangeShare
	if d.Status == "collecting" {
		return
	}
	v["drift_share"] = d.DriftShare
	maxPSI := 0.0
	for _, f := range d.Features {
		maxPSI = max(maxPSI, f.PSI)
	}
	v["drift_max_psi"] = maxPSI
}
