// Package alerts evaluates alert rules over the monitored values with
// Prometheus semantics: a rule whose condition holds goes pending, fires
// once it has held for its `for` duration (at once when `for` is 0), and
// resolves when it stops holding; one false evaluation while pending resets
// the clock. A value that is missing or NaN makes the condition false (as
// an absent series in Prometheus), so a rule whose metric is not produced
// stays (or returns to) inactive and can never fire on missing data.
// Transitions go to notifiers: a log line, a callback for the console's
// event stream, and an optional webhook that never blocks evaluation.
package alerts

import (
	"carvision/engine/config"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Rule is one alert rule. Its fields match config.Rule one for one (same
// names, types and order), so a config rule converts with alerts.Rule(r).
type Rule struct {
	Name        string        `json:"name"`
	Expr        string        `json:"expr"` // metric or metric[window]
	Op          string        `json:"op"`   // > < >= <= == !=
	Threshold   float64       `json:"threshold"`
	For         time.Duration `json:"for"`
	Severity    string        `json:"severity"` // info | warning | critical
	Runbook     string        `json:"runbook"`
	Description string        `json:"description"`

	// Metric and Window are Expr parsed; Validate (and NewEngine) fill them.
	Metric string        `json:"metric,omitempty"`
	Window time.Duration `json:"window,omitempty"`
}

// Metric is a value rules may watch.
type Metric = config.Metric

// metrics is config's list: the one place where the watchable names live,
// so config validation and rule evaluation cannot disagree.
var metrics = config.KnownMetrics()

// Metrics returns the metrics rules may name, in a stable order.
func Metrics() []Metric { return slices.Clone(metrics) }

var (
	runbookRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	ops       = []string{">", "<", ">=", "<=", "==", "!="}
	severity  = []string{"info", "warning", "critical"}
)

// ParseExpr splits "metric" or "metric[window]" and checks the metric is
// known and, if a window is given, that it takes one.
func ParseExpr(expr string) (metric string, window time.Duration, err error) {
	return config.ParseExpr(expr) // one grammar for config validation and evaluation
}

// Key is the Values key a rule on metric over window reads: the bare metric
// name for window 0 (the metric's own, or the shortest monitor window),
// else metric[window] with the window in its shortest form ("5m", "1h30m").
func Key(metric string, window time.Duration) string {
	if window <= 0 {
		return metric
	}
	return metric + "[" + FormatWindow(window) + "]"
}

// FormatWindow writes a duration without zero units: 5m, 1h, 90s, 1h30m.
func FormatWindow(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Key is the Values key this rule reads.
func (r Rule) Key() string { return Key(r.Metric, r.Window) }

// RuleError is a rule rejected on semantic grounds; config maps Rule and
// Field back to a line of config.yaml.
type RuleError struct {
	Rule  string // the rule's name ("" if it has none: then Index)
	Index int    // position in the list
	Field string // name, expr, op, threshold, for, severity, runbook
	Err   error
}

// Error names the rule and the field.
func (e *RuleError) Error() string {
	who := fmt.Sprintf("alert rule %q", e.Rule)
	if e.Rule == "" {
		who = fmt.Sprintf("alert rule #%d", e.Index+1)
	}
	return fmt.Sprintf("%s: %s: %v", who, e.Field, e.Err)
}

// Unwrap returns the underlying problem.
func (e *RuleError) Unwrap() error { return e.Err }

// Validate checks one rule and fills Metric and Window from Expr.
func (r *Rule) Validate() error { return r.validate(-1) }

func (r *Rule) validate(i int) error {
	bad := func(field string, format string, args ...any) error {
		return &RuleError{Rule: r.Name, Index: i, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if strings.TrimSpace(r.Name) == "" {
		return bad("name", "missing")
	}
	metric, window, err := ParseExpr(r.Expr)
	if err != nil {
		return &RuleError{Rule: r.Name, Index: i, Field: "expr", Err: err}
	}
	r.Metric, r.Window = metric, window
	if !slices.Contains(ops, r.Op) {
		return bad("op", "%q is not one of %s", r.Op, strings.Join(ops, " "))
	}
	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		return bad("threshold", "%v is not a finite number", r.Threshold)
	}
	if r.For < 0 {
		return bad("for", "%v is negative", r.For)
	}
	if r.Severity != "" && !slices.Contains(severity, r.Severity) {
		return bad("severity", "%q is not one of %s", r.Severity, strings.Join(severity, ", "))
	}
	if r.Runbook != "" && !runbookRE.MatchString(r.Runbook) {
		return bad("runbook", "%q is not a runbook id (lower case letters, digits, - . _)", r.Runbook)
	}
	return nil
}

// ValidateRules checks every rule (filling Metric and Window), that names
// are unique, and, when windows is not empty, that each rule's window is a
// monitored one. It reports every problem (errors.Join of *RuleError).
func ValidateRules(rules []Rule, windows []time.Duration) error {
	var errs []error
	seen := map[string]int{}
	for i := range rules {
		r := &rules[i]
		if err := r.validate(i); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[r.Name]; dup {
			errs = append(errs, &RuleError{Rule: r.Name, Index: i, Field: "name",
				Err: fmt.Errorf("duplicate name (also rule #%d)", j+1)})
			continue
		}
		seen[r.Name] = i
		if r.Window > 0 && len(windows) > 0 && !slices.Contains(windows, r.Window) {
			ws := make([]string, len(windows))
			for k, w := range windows {
				ws[k] = FormatWindow(w)
			}
			errs = append(errs, &RuleError{Rule: r.Name, Index: i, Field: "expr",
				Err: fmt.Errorf("window %s is not monitored (windows: %s)", FormatWindow(r.Window), strings.Join(ws, ", "))})
		}
	}
	return errors.Join(errs...)
}

// Holds reports whether the condition holds for v; NaN never holds. The
// operators are config's, so validation and evaluation agree.
func (r Rule) Holds(v float64) bool { return config.Rule(r).Holds(v) }

// DefaultRules are the runbook's alerts, as config.yaml ships them.
func DefaultRules() []Rule {
	rules := []Rule{
		{Name: "latency_p95_high", Expr: "latency_p95[5m]", Op: ">", Threshold: 0.5, For: 5 * time.Minute,
			Severity: "warning", Runbook: "high-latency", Description: "P95 latency over 500 ms for 5 minutes"},
		{Name: "latency_p99_slo", Expr: "latency_p99[5m]", Op: ">", Threshold: 0.2, For: 5 * time.Minute,
			Severity: "warning", Runbook: "high-latency", Description: "P99 latency over the 200 ms SLO for 5 minutes"},
		{Name: "error_rate_5xx_high", Expr: "error_rate_5xx[5m]", Op: ">", Threshold: 0.01, For: 5 * time.Minute,
			Severity: "critical", Runbook: "error-rate", Description: "more than 1% of responses are 5xx for 5 minutes"},
		{Name: "health_down", Expr: "health_ok", Op: "==", Threshold: 0, For: time.Minute,
			Severity: "critical", Runbook: "deploy-verify", Description: "/health has not answered 200 for 1 minute"},
		{Name: "disk_usage_high", Expr: "disk_usage", Op: ">", Threshold: 0.85, For: 5 * time.Minute,
			Severity: "warning", Runbook: "disk-space", Description: "the data or log volume is more than 85% full"},
		{Name: "data_drift", Expr: "drift_detected", Op: "==", Threshold: 1, For: 15 * time.Minute,
			Severity: "warning", Runbook: "low-accuracy-drift", Description: "served requests drift from the training data"},
		{Name: "retrain_recommended", Expr: "retrain_recommended", Op: "==", Threshold: 1, For: 15 * time.Minute,
			Severity: "warning", Runbook: "retrain-compare", Description: "the drift report recommends retraining (PSI or KS rule)"},
		{Name: "model_reload_failed", Expr: "model_reload_failed", Op: "==", Threshold: 1, For: 0,
			Severity: "critical", Runbook: "api-500-missing-column",
			Description: "a new model was refused (checksum, schema or warm-up); the previous one still serves"},
	}
	for i := range rules {
		rules[i].Metric, rules[i].Window, _ = ParseExpr(rules[i].Expr)
	}
	return rules
}
