package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestByteSize(t *testing.T) {
	cases := []struct {
		in   string
		want ByteSize
		err  string
	}{
		{"1048576", 1 << 20, ""},
		{"1MiB", MiB, ""},
		{"1mib", MiB, ""},
		{"1.5 KiB", 1536, ""},
		{"10MB", 10_000_000, ""},
		{"2GB", 2_000_000_000, ""},
		{"1GiB", GiB, ""},
		{"512B", 512, ""},
		{"0", 0, ""},
		{"", 0, "empty size"},
		{"MiB", 0, "not a size"},
		{"lots", 0, "not a size"},
		{"1 MiB MiB", 0, "not a size"},
		{"0x10", 0, "not a size"},
		{"-1KiB", 0, "negative"},
		{"inf", 0, "not a size"},
		{"NaN", 0, "not a size"},
		{"1e30", 0, "too large"},
	}
	for _, tc := range cases {
		got, err := ParseByteSize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseByteSize(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, b := range []ByteSize{0, 1, 1023, KiB, 1536, MiB, 3 * GiB, 64 * KiB} {
		back, err := ParseByteSize(b.String())
		if err != nil || back != b {
			t.Errorf("%d -> %q -> %d, %v", b, b.String(), back, err)
		}
	}
}

func TestParseExpr(t *testing.T) {
	cases := []struct {
		in     string
		metric string
		window time.Duration
		err    string
	}{
		{"latency_p95", "latency_p95", 0, ""},
		{" latency_p95[5m] ", "latency_p95", 5 * time.Minute, ""},
		{"error_rate_5xx[1h]", "error_rate_5xx", time.Hour, ""},
		{"health_ok", "health_ok", 0, ""},
		{"latency_p96", "", 0, `unknown metric "latency_p96" (did you mean "latency_p95"?)`},
		{"zzz", "", 0, "known: latency_p50"},
		{"health_ok[1m]", "", 0, "takes no window"},
		{"latency_p95[]", "", 0, "empty window"},
		{"latency_p95[soon]", "", 0, "not a positive duration"},
		{"latency_p95[-1m]", "", 0, "not a positive duration"},
		{"latency_p95 > 0.5", "", 0, "is not metric or metric[window]"},
		{"", "", 0, "is not metric or metric[window]"},
		{"LATENCY_P95", "", 0, "is not metric or metric[window]"},
	}
	for _, tc := range cases {
		m, w, err := ParseExpr(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseExpr(%q) = %q, %v, %v; want error %q", tc.in, m, w, err, tc.err)
			}
			continue
		}
		if err != nil || m != tc.metric || w != tc.window {
			t.Errorf("ParseExpr(%q) = %q, %v, %v; want %q, %v", tc.in, m, w, err, tc.metric, tc.window)
		}
	}
	for _, m := range KnownMetrics() {
		if _, _, err := ParseExpr(m.Name); err != nil {
			t.Errorf("known metric %s does not parse: %v", m.Name, err)
		}
		if m.Help == "" || m.Unit == "" {
			t.Errorf("metric %s lacks help or unit", m.Name)
		}
	}
	// KnownMetrics returns a copy.
	km := KnownMetrics()
	km[0].Name = "changed"
	if _, ok := LookupMetric("latency_p50"); !ok {
		t.Error("changing KnownMetrics' result changed the package's list")
	}
}

func TestRuleHolds(t *testing.T) {
	cases := []struct {
		op   string
		th   float64
		v    float64
		want bool
	}{
		{">", 0.5, 0.6, true}, {">", 0.5, 0.5, false},
		{">=", 0.5, 0.5, true}, {">=", 0.5, 0.4, false},
		{"<", 1, 0.5, true}, {"<", 1, 1, false},
		{"<=", 1, 1, true}, {"<=", 1, 1.1, false},
		{"==", 0, 0, true}, {"==", 0, 1, false},
		{"!=", 1, 0, true}, {"!=", 1, 1, false},
		{">", 0.5, math.NaN(), false}, {"!=", 1, math.NaN(), false},
		{">", 0.5, math.Inf(1), true},
		{"=>", 0.5, 1, false},
	}
	for _, tc := range cases {
		r := Rule{Op: tc.op, Threshold: tc.th}
		if got := r.Holds(tc.v); got != tc.want {
			t.Errorf("%v %s %v = %v, want %v", tc.v, tc.op, tc.th, got, tc.want)
		}
	}
}

func TestValidateInCode(t *testing.T) {
	c := Default()
	c.Training.GBDT.LearningRate = math.NaN()
	c.Drift.Window = 10
	c.Alerts.Rules = append(c.Alerts.Rules, Rule{Name: "x", Expr: "latency_p50[5m]", Op: ">", Threshold: 1, Severity: "info"})
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"config: training.gbdt.learning_rate: NaN is out of range (0, 1]",
		"config: drift.window: window 10 is smaller than min_window 200",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	last := c.Alerts.Rules[len(c.Alerts.Rules)-1]
	if last.Metric != "latency_p50" || last.Window != 5*time.Minute {
		t.Errorf("Validate did not fill the rule's metric: %+v", last)
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0: "0s", 500 * time.Millisecond: "500ms", 15 * time.Second: "15s", 5 * time.Minute: "5m",
		90 * time.Second: "1m30s", time.Hour: "1h", 36 * time.Hour: "36h", 1500 * time.Microsecond: "1.5ms",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(formatDuration(d)); err != nil || back != d {
			t.Errorf("%v does not round-trip: %v %v", d, back, err)
		}
	}
}
