// Package checks holds the runbooks' built-in checks: each looks at one
// thing (health, logs, schema, drift, data, latency, disk, secrets…), does a
// bounded amount of work, and returns a verdict with a one-line finding, the
// evidence behind it and a hint naming what fixes it.
package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"carvision/engine"
	"carvision/engine/config"
)

// Verdict is a check's outcome.
type Verdict string

// Verdicts, with the same spelling the store records.
const (
	Pass    Verdict = "pass"
	Warn    Verdict = "warn"
	Fail    Verdict = "fail"
	Error   Verdict = "error"   // the check could not look (not a finding about the system)
	Skipped Verdict = "skipped" // nothing to judge yet (no traffic, no challenger…)
)

// Rank orders verdicts from best to worst for summaries.
func (v Verdict) Rank() int {
	switch v {
	case Pass:
		return 1
	case Skipped:
		return 0
	case Warn:
		return 2
	case Fail:
		return 3
	case Error:
		return 4
	}
	return 0
}

// Number is one named figure of the evidence. NaN and ±Inf encode as null
// in JSON (JSON has no such numbers).
type Number struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"` // ms | share | bytes | count | s | "" (plain)
}

// MarshalJSON writes a non-finite value as null.
func (n Number) MarshalJSON() ([]byte, error) {
	type plain struct {
		Name  string   `json:"name"`
		Value *float64 `json:"value"`
		Unit  string   `json:"unit,omitempty"`
	}
	p := plain{Name: n.Name, Unit: n.Unit}
	if !math.IsNaN(n.Value) && !math.IsInf(n.Value, 0) {
		v := n.Value
		p.Value = &v
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	var p struct {
		Name  string   `json:"name"`
		Value *float64 `json:"value"`
		Unit  string   `json:"unit"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	n.Name, n.Unit, n.Value = p.Name, p.Unit, math.NaN()
	if p.Value != nil {
		n.Value = *p.Value
	}
	return nil
}

// Text formats the value for people according to its unit.
func (n Number) Text() string {
	v := n.Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	switch n.Unit {
	case "ms":
		if v < 10 {
			return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case "share":
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
	case "bytes":
		return Bytes(v)
	case "s":
		return (time.Duration(v * float64(time.Second))).Round(time.Millisecond).String()
	case "count":
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// Bytes formats a byte count with a binary unit: 1.5 MiB.
func Bytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// Evidence is what a check saw: figures, sample lines and a small table
// (its first row is the header).
type Evidence struct {
	Numbers []Number   `json:"numbers,omitempty"`
	Lines   []string   `json:"lines,omitempty"`
	Table   [][]string `json:"table,omitempty"`
}

// Limits on evidence so one record stays small in the store and on screen.
const (
	MaxLines     = 20
	MaxTableRows = 30
	MaxLineBytes = 300
)

// Add appends a figure.
func (e *Evidence) Add(name string, v float64, unit string) {
	e.Numbers = append(e.Numbers, Number{Name: name, Value: v, Unit: unit})
}

// Line appends a sample line, shortened, up to MaxLines.
func (e *Evidence) Line(s string) {
	if len(e.Lines) >= MaxLines {
		return
	}
	e.Lines = append(e.Lines, Shorten(s, MaxLineBytes))
}

// Row appends a table row (the first call sets the header), up to MaxTableRows
// data rows.
func (e *Evidence) Row(cells ...string) {
	if len(e.Table) > MaxTableRows {
		return
	}
	for i, c := range cells {
		cells[i] = Shorten(c, MaxLineBytes)
	}
	e.Table = append(e.Table, cells)
}

// Get returns the value of the named figure.
func (e Evidence) Get(name string) (float64, bool) {
	for _, n := range e.Numbers {
		if n.Name == name {
			return n.Value, true
		}
	}
	return 0, false
}

// Shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Fix says what addresses a finding: a step of a runbook (an action such
// as "reload-config", or a step name) and a one-line hint.
type Fix struct {
	Runbook string `json:"runbook,omitempty"` // runbook that holds the fix ("" = any)
	Step    string `json:"step,omitempty"`    // step name or action ("repro", "rollback"…)
	Hint    string `json:"hint"`
}

// String is the hint with where to find the fix.
func (f Fix) String() string {
	var where []string
	if f.Step != "" {
		where = append(where, "step "+f.Step)
	}
	if f.Runbook != "" {
		where = append(where, "runbook "+f.Runbook)
	}
	if len(where) == 0 {
		return f.Hint
	}
	return f.Hint + " (" + strings.Join(where, ", ") + ")"
}

// Result is what one run of a check found.
type Result struct {
	Check    string        `json:"check"`
	Verdict  Verdict       `json:"verdict"`
	Finding  string        `json:"finding"`
	Evidence Evidence      `json:"evidence"`
	Fix      *Fix          `json:"fix,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// DiskUsage is a filesystem's size and use as statfs reports it.
type DiskUsage struct {
	Path  string `json:"path"`  // the path asked about
	Total uint64 `json:"total"` // bytes
	Avail uint64 `json:"avail"` // bytes available to unprivileged users
	Used  uint64 `json:"used"`  // bytes in use (total − free)
	Dev   uint64 `json:"dev"`   // filesystem id: two paths on one volume share it
}

// Share is the used share as df computes it: used / (used + avail).
func (d DiskUsage) Share() float64 {
	den := float64(d.Used) + float64(d.Avail)
	if den <= 0 {
		return 0
	}
	return float64(d.Used) / den
}

// Env is everything the checks (and the runner's actions) need from the
// running system. The real one wraps the engine; FakeEnv serves tests.
type Env interface {
	// Client is the engine: health, model, snapshot, models, logs, actions.
	Client() engine.Client
	// Config is the configuration in force; called on every use, since a
	// reload-config action may change it. Never nil.
	Config() *config.Config
	// Root is the project root: sh steps run there, relative paths resolve
	// against it, secrets.scan scans it.
	Root() string
	// Now is the clock for "since" windows and ages.
	Now() time.Time
	// LogPath is the active service log file (absolute; may not exist).
	LogPath() string
	// DataPath is the raw training CSV (absolute; may not exist).
	DataPath() string
	// DiskUsage reports the filesystem that holds path (statfs); path may
	// name a file or folder that does not exist yet: the nearest existing
	// parent is measured.
	DiskUsage(path string) (DiskUsage, error)
	// TrackedFiles lists at most max files of the repository, relative to
	// Root (`git ls-files` in a checkout, else a bounded walk).
	TrackedFiles(ctx context.Context, max int) ([]string, error)
	// RotateLogs closes the active log file and starts a new one.
	RotateLogs(ctx context.Context, req engine.ActionRequest) error
}

// errorf builds an Error result: the check could not look.
func errorf(format string, args ...any) Result {
	return Result{Verdict: Error, Finding: fmt.Sprintf(format, args...)}
}
