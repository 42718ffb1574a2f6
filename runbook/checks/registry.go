package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is a parameter's type.
type Kind int

// Parameter kinds.
const (
	KindString Kind = iota
	KindNumber
	KindDuration
	KindBool
)

// String names the kind in error messages.
func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "a number"
	case KindDuration:
		return `a duration such as "10s"`
	case KindBool:
		return "true or false"
	}
	return "a string"
}

// ParamSpec declares one parameter a check accepts in its step attributes.
type ParamSpec struct {
	Name string
	Kind Kind
	Help string
}

// Params are a step's validated parameters: string, float64,
// time.Duration or bool values.
type Params map[string]any

// Duration returns the named duration or def.
func (p Params) Duration(name string, def time.Duration) time.Duration {
	if v, ok := p[name].(time.Duration); ok {
		return v
	}
	return def
}

// Number returns the named number or def.
func (p Params) Number(name string, def float64) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return def
}

// String returns the named string or def.
func (p Params) String(name, def string) string {
	if v, ok := p[name].(string); ok {
		return v
	}
	return def
}

// MarshalJSON writes durations as text ("1h0m0s"), as they are written in
// the step attributes.
func (p Params) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(p))
	for k, v := range p {
		if d, ok := v.(time.Duration); ok {
			out[k] = d.String()
			continue
		}
		out[k] = v
	}
	return json.Marshal(out)
}

// Key is a canonical text of the parameters, for de-duplicating identical
// checks across runbooks.
func (p Params) Key() string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%v;", k, p[k])
	}
	return b.String()
}

// Input is what a check runs with.
type Input struct {
	Env    Env
	Params Params
	// Memo shares expensive reads (the raw CSV) between the checks of one
	// execution; nil means no sharing.
	Memo *Memo
}

// Check is one built-in check.
type Check struct {
	ID      string
	Title   string
	Help    string
	Params  []ParamSpec
	Timeout time.Duration // default bound of one run
	Run     func(ctx context.Context, in Input) Result
}

var (
	regMu    sync.RWMutex
	registry = map[string]*Check{}
)

func register(c *Check) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[c.ID]; dup {
		panic("checks: duplicate check " + c.ID)
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	registry[c.ID] = c
}

// Lookup returns the check with this id.
func Lookup(id string) (*Check, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	c, ok := registry[id]
	return c, ok
}

// IDs lists every check id, sorted.
func IDs() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for id := range registry {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// ParseParams validates raw JSON attribute values against the check's
// parameters; the error names the parameter and what it wants.
func (c *Check) ParseParams(raw map[string]json.RawMessage) (Params, error) {
	p := Params{}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		var spec *ParamSpec
		for i := range c.Params {
			if c.Params[i].Name == name {
				spec = &c.Params[i]
			}
		}
		if spec == nil {
			var known []string
			for _, s := range c.Params {
				known = append(known, s.Name)
			}
			if len(known) == 0 {
				return nil, fmt.Errorf("check %s takes no parameter %q", c.ID, name)
			}
			return nil, fmt.Errorf("check %s has no parameter %q (known: %s)", c.ID, name, strings.Join(known, ", "))
		}
		v, err := decodeParam(raw[name], spec.Kind)
		if err != nil {
			return nil, fmt.Errorf("check %s parameter %q: want %s", c.ID, name, spec.Kind)
		}
		p[name] = v
	}
	return p, nil
}

func decodeParam(raw json.RawMessage, k Kind) (any, error) {
	switch k {
	case KindNumber:
		var f float64
		err := json.Unmarshal(raw, &f)
		return f, err
	case KindBool:
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case KindDuration:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad duration %q", s)
		}
		return d, nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// Run runs check id with a deadline (the check's default unless ctx has an
// earlier one). A panic or an unknown id becomes an Error result, never a
// crash. Duration is measured with the wall clock.
func Run(ctx context.Context, id string, in Input) (res Result) {
	c, ok := Lookup(id)
	if !ok {
		return Result{Check: id, Verdict: Error, Finding: fmt.Sprintf("unknown check %q", id)}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			res = Result{Verdict: Error, Finding: fmt.Sprintf("check %s crashed: %v", id, r),
				Evidence: Evidence{Lines: firstLines(string(debug.Stack()), 8)}}
		}
		res.Check = id
		res.Duration = time.Since(start)
		if res.Verdict == "" {
			res.Verdict = Error
			res.Finding = "check returned no verdict"
		}
	}()
	if in.Params == nil {
		in.Params = Params{}
	}
	return c.Run(ctx, in)
}

func firstLines(s string, n int) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return lines
}

// Memo caches values computed once per execution (a loaded CSV). Safe for
// concurrent use; each key is computed at most once.
type Memo struct {
	mu sync.Mutex
	m  map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
	err  error
}

// Get returns the value for key, computing it with f on first use.
func (m *Memo) Get(key string, f func() (any, error)) (any, error) {
	if m == nil {
		return f()
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*memoEntry{}
	}
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry{}
		m.m[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v, e.err = f() })
	return e.v, e.err
}
