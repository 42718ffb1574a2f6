package alerts

import (
	"fmt"
	"math"
	"sync"
	"time"

	"carvision/engine"
)

// State is where an alert stands.
type State string

// Alert states. Resolved is only ever a transition's target: right after it
// the alert is inactive again.
const (
	Inactive State = "inactive"
	Pending  State = "pending"
	Firing   State = "firing"
	Resolved State = "resolved"
)

// Transition is one change of an alert's state, for logs, the console's
// event stream, the store's alert history and notifications.
type Transition struct {
	Rule     string       `json:"rule"`
	From     State        `json:"from"`
	To       State        `json:"to"`
	At       time.Time    `json:"at"`
	Value    float64      `json:"value"` // the value that caused it (0 if missing)
	Missing  bool         `json:"missing,omitempty"`
	ActiveAt time.Time    `json:"active_at"` // when the condition started holding
	Alert    engine.Alert `json:"alert"`     // the alert after the change
}

// Notifier receives transitions. Notify is called with the engine's lock
// released but synchronously from Eval, so it must return quickly (the
// webhook notifier queues).
type Notifier interface {
	Notify(t Transition)
}

// NotifierFunc adapts a function (the console's event callback) to Notifier.
type NotifierFunc func(Transition)

// Notify calls f(t).
func (f NotifierFunc) Notify(t Transition) { f(t) }

type ruleState struct {
	rule     Rule
	key      string // rule.Key(), computed once
	state    State
	activeAt time.Time
	firedAt  time.Time
	value    float64
}

// Engine evaluates rules. It is safe for concurrent use.
type Engine struct {
	mu        sync.Mutex
	rules     []*ruleState
	notifiers []Notifier
}

// NewEngine validates the rules (see ValidateRules, without a window check)
// and returns an engine with every alert inactive.
func NewEngine(rules []Rule, notifiers ...Notifier) (*Engine, error) {
	e := &Engine{notifiers: notifiers}
	if _, err := e.SetRules(time.Time{}, rules); err != nil {
		return nil, err
	}
	return e, nil
}

// SetRules replaces the rules (a config reload). A rule that keeps its name
// and condition (expr, op, threshold, for) keeps its state; an active alert
// whose rule was removed or changed is resolved (or reset), and those
// transitions are returned and notified. Invalid rules change nothing.
func (e *Engine) SetRules(now time.Time, rules []Rule) ([]Transition, error) {
	rules = append([]Rule(nil), rules...)
	if err := ValidateRules(rules, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	old := map[string]*ruleState{}
	for _, rs := range e.rules {
		old[rs.rule.Name] = rs
	}
	next := make([]*ruleState, len(rules))
	for i, r := range rules {
		if prev, ok := old[r.Name]; ok && sameCondition(prev.rule, r) {
			prev.rule, prev.key = r, r.Key() // severity, runbook or description may change
			next[i] = prev
			delete(old, r.Name)
			continue
		}
		next[i] = &ruleState{rule: r, key: r.Key(), state: Inactive}
	}
	var out []Transition
	for _, rs := range e.rules { // keep the old order for determinism
		if _, gone := old[rs.rule.Name]; !gone || rs.state == Inactive {
			continue
		}
		to := Resolved
		if rs.state == Pending {
			to = Inactive
		}
		out = append(out, e.move(rs, to, now, rs.value, false))
	}
	e.rules = next
	e.mu.Unlock()
	e.notify(out)
	return out, nil
}

func sameCondition(a, b Rule) bool {
	return a.Expr == b.Expr && a.Op == b.Op && a.Threshold == b.Threshold && a.For == b.For
}

// Rules returns the rules being evaluated.
func (e *Engine) Rules() []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Rule, len(e.rules))
	for i, rs := range e.rules {
		out[i] = rs.rule
	}
	return out
}

// Eval evaluates every rule at now against values (keyed by Key) and
// returns the transitions, in rule order, after notifying them. Evaluations
// must come in time order; a clock that steps back only delays firing.
func (e *Engine) Eval(now time.Time, values map[string]float64) []Transition {
	e.mu.Lock()
	var out []Transition
	for _, rs := range e.rules {
		v, ok := values[rs.key]
		missing := !ok || math.IsNaN(v)
		holds := !missing && rs.rule.Holds(v)
		if !missing {
			rs.value = v
		}
		switch rs.state {
		case Inactive:
			if !holds {
				continue
			}
			rs.activeAt = now
			if rs.rule.For <= 0 {
				out = append(out, e.move(rs, Firing, now, v, missing))
			} else {
				out = append(out, e.move(rs, Pending, now, v, missing))
			}
		case Pending:
			switch {
			case !holds:
				out = append(out, e.move(rs, Inactive, now, v, missing))
			case now.Sub(rs.activeAt) >= rs.rule.For:
				out = append(out, e.move(rs, Firing, now, v, missing))
			}
		case Firing:
			if !holds {
				out = append(out, e.move(rs, Resolved, now, v, missing))
			}
		}
	}
	e.mu.Unlock()
	e.notify(out)
	return out
}

// move changes rs's state (Resolved leaves it inactive) and describes it.
func (e *Engine) move(rs *ruleState, to State, now time.Time, v float64, missing bool) Transition {
	from := rs.state
	switch to {
	case Firing:
		rs.firedAt = now
	case Inactive, Resolved:
		rs.firedAt = time.Time{}
	}
	t := Transition{Rule: rs.rule.Name, From: from, To: to, At: now, Value: display(v), Missing: missing, ActiveAt: rs.activeAt}
	rs.state = to
	if to == Resolved {
		rs.state = Inactive
	}
	if rs.state == Inactive {
		rs.activeAt = time.Time{}
	}
	t.Alert = rs.alert()
	if to == Resolved {
		t.Alert.State = string(Resolved)
		t.Alert.Since = now
	}
	return t
}

func (rs *ruleState) alert() engine.Alert {
	a := engine.Alert{
		Name: rs.rule.Name, State: string(rs.state), Severity: rs.rule.Severity,
		Value: display(rs.value), Threshold: rs.rule.Threshold, Op: rs.rule.Op, Metric: rs.rule.Metric,
		Runbook: rs.rule.Runbook, Description: rs.rule.Description,
	}
	switch rs.state {
	case Pending:
		a.Since = rs.activeAt
	case Firing:
		a.Since = rs.firedAt
	}
	return a
}

// display makes a value JSON-safe: NaN → 0, ±Inf → ±MaxFloat64.
func display(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// Alerts returns every rule's alert in rule order (pending since the
// condition started holding, firing since it fired).
func (e *Engine) Alerts() []engine.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]engine.Alert, len(e.rules))
	for i, rs := range e.rules {
		out[i] = rs.alert()
	}
	return out
}

// Firing returns the firing alerts in rule order.
func (e *Engine) Firing() []engine.Alert {
	var out []engine.Alert
	for _, a := range e.Alerts() {
		if a.State == string(Firing) {
			out = append(out, a)
		}
	}
	return out
}

func (e *Engine) notify(ts []Transition) {
	for _, t := range ts {
		for _, n := range e.notifiers {
			n.Notify(t)
		}
	}
}

// String describes a transition in one line.
func (t Transition) String() string {
	return fmt.Sprintf("%s %s→%s at %s (value %g)", t.Rule, t.From, t.To, t.At.Format(time.RFC3339), t.Value)
}
