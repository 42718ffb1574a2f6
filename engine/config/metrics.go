package config

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Metric is a value an alert rule may watch.
type Metric struct {
	Name     string
	Unit     string
	Windowed bool // takes a window: name[5m]; the window must be one of monitor.windows
	Help     string
}

// knownMetrics is the contract between config and the alerts engine: every
// name here must be produced by monitor, drift or serve (the alerts package
// tests that it evaluates each one).
var knownMetrics = []Metric{
	{"latency_p50", "seconds", true, "median request latency"},
	{"latency_p95", "seconds", true, "95th percentile request latency"},
	{"latency_p99", "seconds", true, "99th percentile request latency"},
	{"latency_max", "seconds", true, "slowest request"},
	{"request_rate", "requests/s", true, "throughput"},
	{"error_rate_5xx", "share 0..1", true, "share of responses with status 5xx"},
	{"error_rate_4xx", "share 0..1", true, "share of responses with status 4xx"},
	{"in_flight", "requests", false, "requests being served now"},
	{"health_ok", "0|1", false, "1 when /health answers 200"},
	{"disk_usage", "share 0..1", false, "used share of the fuller of the data and log volumes"},
	{"drift_detected", "0|1", false, "1 when the dataset drift verdict is drift"},
	{"retrain_recommended", "0|1", false, "1 when the retrain rule holds (max PSI, many PSI, KS p)"},
	{"drift_share", "share 0..1", false, "share of monitored features that drifted"},
	{"drift_max_psi", "PSI", false, "largest per-feature PSI"},
	{"out_of_range_share", "share 0..1", false, "share of requests outside the training range (newer model years)"},
	{"model_reload_failed", "0|1", false, "1 while the last model reload was refused"},
	{"config_reload_failed", "0|1", false, "1 while config.yaml on disk is invalid"},
}

// KnownMetrics returns the metrics alert rules may name, in a stable order.
func KnownMetrics() []Metric {
	return append([]Metric(nil), knownMetrics...)
}

// LookupMetric returns the known metric with this name.
func LookupMetric(name string) (Metric, bool) {
	for _, m := range knownMetrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

var exprRE = regexp.MustCompile(`^([a-z][a-z0-9_]*)(?:\[([^\]]*)\])?$`)

// ParseExpr splits a rule expression "metric" or "metric[window]" and checks
// that the metric is known and accepts a window. It does not check the
// window against monitor.windows (Validate does).
func ParseExpr(expr string) (metric string, window time.Duration, err error) {
	m := exprRE.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return "", 0, fmt.Errorf("expression %q is not metric or metric[window], e.g. latency_p95[5m]", expr)
	}
	info, ok := LookupMetric(m[1])
	if !ok {
		msg := fmt.Sprintf("unknown metric %q", m[1])
		if s := suggest(m[1], metricNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return "", 0, fmt.Errorf("%s; known: %s", msg, strings.Join(metricNames(), ", "))
	}
	if m[2] == "" {
		if strings.Contains(expr, "[") {
			return "", 0, fmt.Errorf("expression %q has an empty window", expr)
		}
		return m[1], 0, nil
	}
	if !info.Windowed {
		return "", 0, fmt.Errorf("metric %q takes no window (it is not a sliding-window statistic)", m[1])
	}
	w, err := time.ParseDuration(m[2])
	if err != nil || w <= 0 {
		return "", 0, fmt.Errorf("window %q of %q is not a positive duration like 5m", m[2], expr)
	}
	return m[1], w, nil
}

func metricNames() []string {
	out := make([]string, len(knownMetrics))
	for i, m := range knownMetrics {
		out[i] = m.Name
	}
	return out
}

// Holds reports whether the rule's condition is true for value v; NaN
// never holds, so a missing value cannot fire an alert.
func (r Rule) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch r.Op {
	case ">":
		return v > r.Threshold
	case "<":
		return v < r.Threshold
	case ">=":
		return v >= r.Threshold
	case "<=":
		return v <= r.Threshold
	case "==":
		return v == r.Threshold
	case "!=":
		return v != r.Threshold
	}
	return false
}

// Threshold returns the threshold of the first rule watching metric with an
// upper-bound operator (> or >=), so the console can draw SLO lines from the
// same numbers the alerts use. Any window is accepted.
func (a Alerts) Threshold(metric string) (float64, bool) {
	for _, r := range a.Rules {
		if r.Metric == metric && (r.Op == ">" || r.Op == ">=") {
			return r.Threshold, true
		}
	}
	return 0, false
}
