package alerts

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/engine/monitor"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func rule(name, expr, op string, th float64, forD time.Duration) Rule {
	return Rule{Name: name, Expr: expr, Op: op, Threshold: th, For: forD, Severity: "warning", Runbook: "high-latency"}
}

// step is one evaluation: at offset, the value (NaN: key absent) and the
// transitions and state expected after it.
type step struct {
	at    time.Duration
	value float64
	want  []string // "from>to"
	state State
}

const absent = -1e308 // marker: leave the key out of the values

func TestForSemantics(t *testing.T) {
	p95 := rule("p95", "latency_p95[5m]", ">", 0.5, 5*time.Minute)
	cases := []struct {
		name  string
		rule  Rule
		steps []step
	}{
		{"pending, fires after its duration, resolves", p95, []step{
			{0, 0.6, []string{"inactive>pending"}, Pending},
			{time.Minute, 0.7, nil, Pending},
			{4*time.Minute + 59*time.Second, 0.8, nil, Pending},
			{5 * time.Minute, 0.9, []string{"pending>firing"}, Firing},
			{6 * time.Minute, 0.9, nil, Firing},
			{7 * time.Minute, 0.3, []string{"firing>resolved"}, Inactive},
			{8 * time.Minute, 0.3, nil, Inactive},
		}},
		{"one false evaluation while pending resets the clock", p95, []step{
			{0, 0.6, []string{"inactive>pending"}, Pending},
			{4 * time.Minute, 0.4, []string{"pending>inactive"}, Inactive},
			{5 * time.Minute, 0.6, []string{"inactive>pending"}, Pending},
			{9 * time.Minute, 0.6, nil, Pending},
			{10 * time.Minute, 0.6, []string{"pending>firing"}, Firing},
		}},
		{"flapping signal never fires", p95, flapping()},
		{"for 0 fires at the first true evaluation", rule("reload", "model_reload_failed", "==", 1, 0), []step{
			{0, 0, nil, Inactive},
			{time.Second, 1, []string{"inactive>firing"}, Firing},
			{2 * time.Second, 0, []string{"firing>resolved"}, Inactive},
		}},
		{"NaN while pending resets, NaN while firing resolves", p95, []step{
			{0, 0.6, []string{"inactive>pending"}, Pending},
			{time.Minute, math.NaN(), []string{"pending>inactive"}, Inactive},
			{2 * time.Minute, 0.6, []string{"inactive>pending"}, Pending},
			{7 * time.Minute, 0.6, []string{"pending>firing"}, Firing},
			{8 * time.Minute, math.NaN(), []string{"firing>resolved"}, Inactive},
			{9 * time.Minute, math.NaN(), nil, Inactive},
		}},
		{"a missing value is not evaluable: never fires", p95, []step{
			{0, absent, nil, Inactive},
			{10 * time.Minute, 0.6, []string{"inactive>pending"}, Pending},
			{11 * time.Minute, absent, []string{"pending>inactive"}, Inactive},
			{20 * time.Minute, absent, nil, Inactive},
		}},
		{"+Inf holds for >", p95, []step{
			{0, math.Inf(1), []string{"inactive>pending"}, Pending},
			{5 * time.Minute, math.Inf(1), []string{"pending>firing"}, Firing},
		}},
		{"health_ok == 0 for 1m (Prometheus: fires at the 2nd of 1m evaluations)",
			rule("health", "health_ok", "==", 0, time.Minute), []step{
				{0, 1, nil, Inactive},
				{time.Minute, 0, []string{"inactive>pending"}, Pending},
				{2 * time.Minute, 0, []string{"pending>firing"}, Firing},
			}},
		{"clock stepping back only delays", p95, []step{
			{time.Hour, 0.6, []string{"inactive>pending"}, Pending},
			{30 * time.Minute, 0.6, nil, Pending},
			{time.Hour + 5*time.Minute, 0.6, []string{"pending>firing"}, Firing},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := monitor.NewFakeClock(t0)
			var seen []Transition
			e, err := NewEngine([]Rule{tc.rule}, NotifierFunc(func(tr Transition) { seen = append(seen, tr) }))
			if err != nil {
				t.Fatal(err)
			}
			key := tc.rule
			_ = key.Validate()
			for i, st := range tc.steps {
				clock.Set(t0.Add(st.at))
				vals := Values{}
				if st.value != absent {
					vals[key.Key()] = st.value
				}
				got := e.Eval(clock.Now(), vals)
				var names []string
				for _, tr := range got {
					names = append(names, string(tr.From)+">"+string(tr.To))
					if !tr.At.Equal(clock.Now()) {
						t.Errorf("step %d: transition at %v, want %v", i, tr.At, clock.Now())
					}
				}
				if !slices.Equal(names, st.want) {
					t.Fatalf("step %d (+%v, value %v): transitions %v, want %v", i, st.at, st.value, names, st.want)
				}
				if a := e.Alerts()[0]; a.State != string(st.state) {
					t.Fatalf("step %d: state %s, want %s", i, a.State, st.state)
				}
			}
			if n := countTransitions(tc.steps); len(seen) != n {
				t.Errorf("notifier saw %d transitions, Eval returned %d", len(seen), n)
			}
		})
	}
}

func flapping() []step {
	var s []step
	for i := range 30 {
		if i%2 == 0 {
			s = append(s, step{time.Duration(i) * time.Minute, 0.9, []string{"inactive>pending"}, Pending})
		} else {
			s = append(s, step{time.Duration(i) * time.Minute, 0.1, []string{"pending>inactive"}, Inactive})
		}
	}
	return s
}

func countTransitions(steps []step) int {
	n := 0
	for _, s := range steps {
		n += len(s.want)
	}
	return n
}

func TestAlertDTO(t *testing.T) {
	r := rule("p95", "latency_p95[5m]", ">", 0.5, 5*time.Minute)
	r.Description = "P95 over 500 ms"
	e, err := NewEngine([]Rule{r, rule("other", "disk_usage", ">", 0.85, 0)})
	if err != nil {
		t.Fatal(err)
	}
	e.Eval(t0, Values{"latency_p95[5m]": 0.7})
	a := e.Alerts()
	if len(a) != 2 || a[0].State != "pending" || !a[0].Since.Equal(t0) || a[0].Value != 0.7 || a[0].Threshold != 0.5 ||
		a[0].Runbook != "high-latency" || a[0].Description != "P95 over 500 ms" || a[1].State != "inactive" {
		t.Fatalf("alerts %+v", a)
	}
	tr := e.Eval(t0.Add(6*time.Minute), Values{"latency_p95[5m]": math.Inf(1), "disk_usage": 0.5})
	if len(tr) != 1 || !tr[0].ActiveAt.Equal(t0) || tr[0].Alert.State != "firing" || !tr[0].Alert.Since.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("transition %+v", tr)
	}
	if got := e.Firing(); len(got) != 1 || got[0].Name != "p95" {
		t.Errorf("firing %+v", got)
	}
	if _, err := json.Marshal(e.Alerts()); err != nil {
		t.Errorf("alerts with an infinite value do not encode: %v", err)
	}
	res := e.Eval(t0.Add(7*time.Minute), Values{})
	if len(res) != 1 || res[0].To != Resolved || res[0].Alert.State != "resolved" || e.Alerts()[0].State != "inactive" {
		t.Errorf("resolution %+v then %+v", res, e.Alerts()[0])
	}
}

func TestValidateRules(t *testing.T) {
	good := rule("ok", "latency_p99[5m]", ">", 0.2, time.Minute)
	cases := []struct {
		name  string
		rules []Rule
		want  []string // substrings, one per expected problem
		field string   // the first problem's field
	}{
		{"unknown metric names the rule", []Rule{rule("typo", "latency_p9[5m]", ">", 1, 0)},
			[]string{`alert rule "typo": expr: unknown metric "latency_p9"`}, "expr"},
		{"window on an unwindowed metric", []Rule{rule("d", "disk_usage[5m]", ">", 1, 0)}, []string{"takes no window"}, "expr"},
		{"bad op", []Rule{rule("op", "disk_usage", "=>", 1, 0)}, []string{`"=>" is not one of`}, "op"},
		{"NaN threshold", []Rule{rule("nan", "disk_usage", ">", math.NaN(), 0)}, []string{"not a finite number"}, "threshold"},
		{"negative for", []Rule{rule("neg", "disk_usage", ">", 1, -time.Second)}, []string{"negative"}, "for"},
		{"bad severity", []Rule{{Name: "s", Expr: "disk_usage", Op: ">", Severity: "page"}}, []string{`"page" is not one of`}, "severity"},
		{"bad runbook", []Rule{{Name: "rb", Expr: "disk_usage", Op: ">", Runbook: "Disk Space"}}, []string{"not a runbook id"}, "runbook"},
		{"missing name", []Rule{{Expr: "disk_usage", Op: ">"}}, []string{"alert rule #1: name: missing"}, "name"},
		{"duplicate and unmonitored window, both reported", []Rule{good, good, rule("w", "latency_p99[2m]", ">", 1, 0)},
			[]string{`"ok": name: duplicate name (also rule #1)`, `"w": expr: window 2m is not monitored (windows: 1m, 5m, 1h)`}, "name"},
	}
	windows := []time.Duration{time.Minute, 5 * time.Minute, time.Hour}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRules(tc.rules, windows)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Field != tc.field {
				t.Errorf("first problem field %v, want %q", re, tc.field)
			}
			if _, err := NewEngine(tc.rules); err == nil && len(tc.rules) == 1 {
				t.Error("NewEngine accepted an invalid rule")
			}
		})
	}
	if err := ValidateRules([]Rule{good}, windows); err != nil {
		t.Errorf("valid rule refused: %v", err)
	}
}

func TestSetRulesKeepsOrResolves(t *testing.T) {
	a := rule("a", "disk_usage", ">", 0.85, 0)
	b := rule("b", "latency_p95[5m]", ">", 0.5, 5*time.Minute)
	e, err := NewEngine([]Rule{a, b})
	if err != nil {
		t.Fatal(err)
	}
	e.Eval(t0, Values{"disk_usage": 0.9, "latency_p95[5m]": 1})
	a2 := a
	a2.Description = "reworded" // same condition: keeps firing
	out, err := e.SetRules(t0.Add(time.Minute), []Rule{a2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Rule != "b" || out[0].To != Inactive {
		t.Errorf("removing pending b: %+v", out)
	}
	if al := e.Alerts(); len(al) != 1 || al[0].State != "firing" || al[0].Description != "reworded" {
		t.Errorf("after reload %+v", al)
	}
	a3 := a2
	a3.Threshold = 0.95 // new condition: starts over, the old alert resolves
	out, _ = e.SetRules(t0.Add(2*time.Minute), []Rule{a3})
	if len(out) != 1 || out[0].To != Resolved || e.Alerts()[0].State != "inactive" {
		t.Errorf("changing a firing rule: %+v, %+v", out, e.Alerts())
	}
	if _, err := e.SetRules(t0, []Rule{rule("x", "nope", ">", 1, 0)}); err == nil || len(e.Rules()) != 1 {
		t.Error("an invalid reload replaced the rules")
	}
}

// TestMatchesConfig pins the contract with engine/config: the same metric
// names, rules that convert field for field, and every metric evaluable.
func TestMatchesConfig(t *testing.T) {
	var cfgNames, ours []string
	for _, m := range config.KnownMetrics() {
		cfgNames = append(cfgNames, m.Name)
	}
	for _, m := range Metrics() {
		ours = append(ours, m.Name)
	}
	if !slices.Equal(cfgNames, ours) {
		t.Errorf("metric lists differ:\nconfig %v\nalerts %v", cfgNames, ours)
	}
	cfg := config.Default()
	var rules []Rule
	for _, r := range cfg.Alerts.Rules {
		rules = append(rules, Rule(r))
	}
	if err := ValidateRules(rules, cfg.Monitor.Windows); err != nil {
		t.Errorf("config's default rules: %v", err)
	}
	if !slices.Equal(rules, DefaultRules()) {
		t.Errorf("DefaultRules differ from config's:\n%+v\n%+v", rules, DefaultRules())
	}
	for _, m := range Metrics() {
		expr := m.Name
		if m.Windowed {
			expr += "[5m]"
		}
		r := rule("r_"+m.Name, expr, ">", 0, 0)
		e, err := NewEngine([]Rule{r})
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		_ = r.Validate()
		if tr := e.Eval(t0, Values{r.Key(): 1}); len(tr) != 1 || tr[0].To != Firing {
			t.Errorf("metric %s not evaluated through key %q", m.Name, r.Key())
		}
	}
}

func TestValuesHelpers(t *testing.T) {
	v := Values{}
	v.SetLatency(5*time.Minute, engine.LatencyStats{Count: 0, RPS: 0}, true)
	if _, ok := v["latency_p95[5m]"]; ok || v["request_rate[5m]"] != 0 {
		t.Errorf("no traffic should leave latency unset: %v", v)
	}
	v.SetLatency(5*time.Minute, engine.LatencyStats{Count: 10, RPS: 2, P50MS: 10, P95MS: 600, P99MS: 900, MaxMS: 1000, Rate5xx: 0.1, Rate4xx: 0.2}, false)
	if v["latency_p95[5m]"] != 0.6 || v["error_rate_5xx[5m]"] != 0.1 || v["latency_max[5m]"] != 1 {
		t.Errorf("latency values %v", v)
	}
	if _, ok := v["latency_p95"]; ok {
		t.Error("plain key set without plain")
	}
	v.SetDrift(engine.DriftSummary{Status: "collecting", RecommendRetrain: false})
	if v["drift_detected"] != 0 || v["retrain_recommended"] != 0 {
		t.Errorf("collecting: %v", v)
	}
	if _, ok := v["drift_share"]; ok {
		t.Error("collecting must leave drift_share unset")
	}
	v.SetDrift(engine.DriftSummary{Status: "drift", RecommendRetrain: true, DriftShare: 0.6, OutOfRangeShare: 0.3,
		Features: []engine.FeatureDrift{{PSI: 0.2}, {PSI: 0.4}}})
	if v["drift_detected"] != 1 || v["retrain_recommended"] != 1 || v["drift_max_psi"] != 0.4 || v["out_of_range_share"] != 0.3 {
		t.Errorf("drift values %v", v)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{5 * time.Minute, "5m"}, {time.Hour, "1h"}, {90 * time.Second, "1m30s"}, {90 * time.Minute, "1h30m"}, {30 * time.Second, "30s"}} {
		if got := FormatWindow(tc.d); got != tc.want {
			t.Errorf("FormatWindow(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
