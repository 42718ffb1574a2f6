package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Validate checks a Config built in code (Parse already validated what it
// returns) and fills each rule's derived Metric and Window.
func (c *Config) Validate() error {
	var ps problems
	v := &validator{ps: &ps, lines: map[string]int{}}
	v.check(c)
	name := c.Source.Path
	if name == "" {
		name = "config"
	}
	return ps.err(name, c.Source.Text)
}

type validator struct {
	ps    *problems
	lines map[string]int
}

// at returns the line of the first of keys that the file set (0 if none).
func (v *validator) at(keys ...string) (int, string) {
	for _, k := range keys {
		if l, ok := v.lines[k]; ok {
			return l, k
		}
	}
	return 0, keys[0]
}

func (v *validator) check(c *Config) {
	v.walk(reflect.ValueOf(c).Elem(), "", "")
	v.cross(c)
}

// walk applies the range, oneof and check tags of every field.
func (v *validator) walk(rv reflect.Value, path string, tag reflect.StructTag) {
	t := rv.Type()
	if t != durationType && t != byteSizeType {
		switch t.Kind() {
		case reflect.Struct:
			for _, f := range orderedFields(t) {
				v.walk(rv.Field(f.index), joinKey(path, f.name), f.tag)
			}
			return
		case reflect.Pointer:
			if !rv.IsNil() {
				v.walk(rv.Elem(), path, tag)
			}
			return
		case reflect.Slice:
			v.slice(rv, path, tag)
			return
		case reflect.Map:
			for _, k := range sortedKeys(rv) {
				kp := fmt.Sprintf("%s[%q]", path, k.String())
				if strings.TrimSpace(k.String()) == "" {
					v.ps.add(v.lines[kp], path, "a key must not be empty")
				}
				v.leaf(rv.MapIndex(k), kp, tag)
			}
			return
		}
	}
	v.leaf(rv, path, tag)
}

func (v *validator) slice(rv reflect.Value, path string, tag reflect.StructTag) {
	if v.ps.covers(path) {
		return
	}
	checks := tagChecks(tag)
	if checks["nonempty"] && rv.Len() == 0 {
		v.ps.add(v.lines[path], path, "must list at least one value")
	}
	first := map[string]int{}
	for i := 0; i < rv.Len(); i++ {
		ip := fmt.Sprintf("%s[%d]", path, i)
		el := rv.Index(i)
		if checks["unique"] {
			key := formatValue(el)
			if j, dup := first[key]; dup {
				v.ps.add(v.lines[ip], ip, "%s is listed twice (also %s[%d])", key, path, j)
			} else {
				first[key] = i
			}
		}
		if el.Kind() == reflect.Struct && el.Type() != durationType {
			v.walk(el, ip, "")
			continue
		}
		// Element checks: the slice's own checks (nonempty, unique) are not the element's.
		v.leaf(el, ip, tag)
	}
}

func tagChecks(tag reflect.StructTag) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Split(tag.Get("check"), ",") {
		if c != "" {
			m[c] = true
		}
	}
	return m
}

var (
	identRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	runbookRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

func (v *validator) leaf(rv reflect.Value, path string, tag reflect.StructTag) {
	if v.ps.covers(path) {
		return
	}
	line := v.lines[path]
	if r := tag.Get("range"); r != "" {
		if msg := checkRange(rv, r); msg != "" {
			v.ps.add(line, path, "%s", msg)
		}
	}
	if rv.Kind() == reflect.Float64 {
		if f := rv.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			v.ps.add(line, path, "%v is not a finite number", f)
		}
	}
	if rv.Kind() != reflect.String {
		return
	}
	s := rv.String()
	if one, ok := tag.Lookup("oneof"); ok {
		allowed := strings.Split(one, "|")
		found := false
		for _, a := range allowed {
			found = found || a == s
		}
		if !found {
			shown := make([]string, 0, len(allowed))
			for _, a := range allowed {
				if a != "" {
					shown = append(shown, strconv.Quote(a))
				}
			}
			hint := ""
			if strings.Contains(s, "\n") && strings.Contains(one, ">") {
				hint = ` (a bare > or | starts a YAML block; quote the operator: op: ">")`
			}
			v.ps.add(line, path, "%q is not one of %s%s", s, strings.Join(shown, ", "), hint)
		}
	}
	for c := range tagChecks(tag) {
		if msg := checkString(c, s); msg != "" {
			v.ps.add(line, path, "%s", msg)
		}
	}
}

func checkString(check, s string) string {
	switch check {
	case "nonempty":
		if strings.TrimSpace(s) == "" {
			return "must not be empty"
		}
	case "path", "optpath":
		if s == "" {
			if check == "path" {
				return "must name a file or folder"
			}
			return ""
		}
		if strings.ContainsAny(s, "\x00\n\r") || len(s) > 4096 {
			return fmt.Sprintf("%q is not a usable path", s)
		}
	case "ident":
		if !identRE.MatchString(s) {
			return fmt.Sprintf("%q is not a column name (lower case letters, digits, _)", s)
		}
	case "name":
		if !nameRE.MatchString(s) {
			return fmt.Sprintf("%q is not a rule name (letters, digits, _ . -; starting with a letter)", s)
		}
	case "runbook":
		if s != "" && !runbookRE.MatchString(s) {
			return fmt.Sprintf("%q is not a runbook id (lower case letters, digits, - . _)", s)
		}
	case "addr", "optaddr":
		if s == "" && check == "optaddr" {
			return ""
		}
		if err := checkAddr(s); err != "" {
			return err
		}
	case "url":
		if s == "" {
			return ""
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Sprintf("%q is not an http:// or https:// URL", s)
		}
	}
	return ""
}

func checkAddr(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:8000)", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Sprintf("%q: port %q is not a number 0..65535", s, port)
	}
	if strings.ContainsAny(host, " /\\") {
		return fmt.Sprintf("%q: host %q is not a host name or IP address", s, host)
	}
	return ""
}

// rangeSpec is a parsed range tag: "[0,1]", "(0,1]", "[0,)", "[1s,1h]", "[1KiB,1GiB]".
type rangeSpec struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loIncl, hiIncl bool
	loText, hiText string
}

var rangeRE = regexp.MustCompile(`^([\[(])([^,]*),([^\])]*)([\])])$`)

func parseRange(tag string, t reflect.Type) (rangeSpec, error) {
	m := rangeRE.FindStringSubmatch(tag)
	if m == nil {
		return rangeSpec{}, fmt.Errorf("bad range tag %q", tag)
	}
	r := rangeSpec{loIncl: m[1] == "[", hiIncl: m[4] == "]", loText: m[2], hiText: m[3]}
	parse := func(s string) (float64, error) {
		switch t {
		case durationType:
			d, err := time.ParseDuration(s)
			return float64(d), err
		case byteSizeType:
			b, err := ParseByteSize(s)
			return float64(b), err
		}
		return strconv.ParseFloat(s, 64)
	}
	var err error
	if m[2] != "" {
		r.hasLo = true
		if r.lo, err = parse(m[2]); err != nil {
			return r, fmt.Errorf("bad range tag %q: %w", tag, err)
		}
	}
	if m[3] != "" {
		r.hasHi = true
		if r.hi, err = parse(m[3]); err != nil {
			return r, fmt.Errorf("bad range tag %q: %w", tag, err)
		}
	}
	return r, nil
}

func (r rangeSpec) contains(x float64) bool {
	if math.IsNaN(x) {
		return false
	}
	if r.hasLo && (x < r.lo || (!r.loIncl && x == r.lo)) {
		return false
	}
	if r.hasHi && (x > r.hi || (!r.hiIncl && x == r.hi)) {
		return false
	}
	return true
}

// String writes the range for people: "(0, 1]", ">= 0", "<= 1h".
func (r rangeSpec) String() string {
	switch {
	case r.hasLo && r.hasHi:
		open, closeB := "(", ")"
		if r.loIncl {
			open = "["
		}
		if r.hiIncl {
			closeB = "]"
		}
		return open + r.loText + ", " + r.hiText + closeB
	case r.hasLo:
		if r.loIncl {
			return ">= " + r.loText
		}
		return "> " + r.loText
	case r.hasHi:
		if r.hiIncl {
			return "<= " + r.hiText
		}
		return "< " + r.hiText
	}
	return "any value"
}

func numeric(rv reflect.Value) (float64, bool) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func checkRange(rv reflect.Value, tag string) string {
	x, ok := numeric(rv)
	if !ok {
		return ""
	}
	r, err := parseRange(tag, rv.Type())
	if err != nil {
		return "internal: " + err.Error() // a test parses every tag, so this stays unreachable
	}
	if r.contains(x) {
		return ""
	}
	if r.hasLo && r.hasHi {
		return fmt.Sprintf("%s is out of range %s", formatValue(rv), r)
	}
	return fmt.Sprintf("%s is out of range (must be %s)", formatValue(rv), r)
}

// cross checks the rules that involve more than one key.
func (v *validator) cross(c *Config) {
	add := func(keys []string, format string, args ...any) {
		if v.ps.has(keys...) {
			return // a key already out of range makes the cross-check noise
		}
		line, key := v.at(keys...)
		v.ps.add(line, key, format, args...)
	}
	t := c.Training
	if t.TestSize+t.ValSize > 0.8+1e-12 {
		add([]string{"training.val_size", "training.test_size"},
			"test_size %g + val_size %g leave less than 20%% of the rows to train on", t.TestSize, t.ValSize)
	}
	f := c.Preprocessing.Filters
	if !(f.MaxPrice > f.MinPrice) {
		add([]string{"preprocessing.filters.max_price", "preprocessing.filters.min_price"},
			"max_price %g must be greater than min_price %g", f.MaxPrice, f.MinPrice)
	}
	dropped := map[string]bool{}
	for _, d := range c.Preprocessing.DropColumns {
		dropped[d] = true
	}
	for i, name := range t.Features {
		key := fmt.Sprintf("training.features[%d]", i)
		switch {
		case name == t.Target:
			add([]string{key}, "%q is the target; it cannot be a feature", name)
		case dropped[name]:
			add([]string{key}, "%q is also in preprocessing.drop_columns; a feature cannot be dropped", name)
		}
	}
	pl := c.Serve.PredictionLog
	if pl.Batch > pl.Queue {
		add([]string{"serve.prediction_log.batch", "serve.prediction_log.queue"},
			"batch %d is larger than queue %d", pl.Batch, pl.Queue)
	}
	if c.Serve.ReadHeaderTimeout > c.Serve.ReadTimeout {
		add([]string{"serve.read_header_timeout", "serve.read_timeout"},
			"read_header_timeout %s is longer than read_timeout %s", formatDuration(c.Serve.ReadHeaderTimeout), formatDuration(c.Serve.ReadTimeout))
	}
	if sameListener(c.Serve.Addr, c.SSH.Addr) {
		add([]string{"ssh.addr", "serve.addr"}, "%q listens where serve.addr %q does", c.SSH.Addr, c.Serve.Addr)
	}
	if c.Drift.Window < c.Drift.MinWindow {
		add([]string{"drift.window", "drift.min_window"},
			"window %d is smaller than min_window %d: drift would never leave \"collecting\"", c.Drift.Window, c.Drift.MinWindow)
	}
	if c.Drift.PSIRetrain < c.Drift.PSIThreshold {
		add([]string{"drift.psi_retrain", "drift.psi_threshold"},
			"psi_retrain %g is below psi_threshold %g", c.Drift.PSIRetrain, c.Drift.PSIThreshold)
	}
	h := c.Monitor.History
	if h.PerMinute < h.PerSecond {
		add([]string{"monitor.history.per_minute", "monitor.history.per_second"},
			"per_minute %s keeps less than per_second %s", formatDuration(h.PerMinute), formatDuration(h.PerSecond))
	}
	v.rules(c)
}

func sameListener(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

func (v *validator) rules(c *Config) {
	windows := map[time.Duration]bool{}
	for _, w := range c.Monitor.Windows {
		windows[w] = true
	}
	first := map[string]int{}
	for i := range c.Alerts.Rules {
		r := &c.Alerts.Rules[i]
		base := fmt.Sprintf("alerts.rules[%d]", i)
		if v.ps.covers(base + ".expr") {
			continue
		}
		label := fmt.Sprintf("rule %q: ", r.Name)
		if r.Name == "" {
			label = ""
		}
		if j, dup := first[r.Name]; dup && r.Name != "" {
			line, key := v.at(base+".name", base)
			v.ps.add(line, key, "duplicate rule name %q (also alerts.rules[%d], line %d)", r.Name, j, v.lines[fmt.Sprintf("alerts.rules[%d].name", j)])
		} else {
			first[r.Name] = i
		}
		metric, window, err := ParseExpr(r.Expr)
		if err != nil {
			line, key := v.at(base+".expr", base)
			v.ps.add(line, key, "%s%v", label, err)
			continue
		}
		if window != 0 && !windows[window] {
			line, key := v.at(base+".expr", base)
			ws := make([]string, len(c.Monitor.Windows))
			for k, w := range c.Monitor.Windows {
				ws[k] = formatDuration(w)
			}
			v.ps.add(line, key, "%swindow %s is not one of monitor.windows [%s]", label, formatDuration(window), strings.Join(ws, ", "))
			continue
		}
		r.Metric, r.Window = metric, window
	}
}
