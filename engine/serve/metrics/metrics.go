// Package metrics writes the Prometheus text exposition format (0.0.4) from a
// small registry of collectors, with lock-free counters and histograms for the
// serve path.
//
// It exists because prometheus/client_golang cannot be built in this module:
// go.sum lacks its transitive dependencies (client_model, common, procfs,
// protobuf, xxhash, perks) and the module files are frozen. The format is
// small and stable, and writing it by hand keeps the request path at zero
// allocations.
package metrics

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ContentType is the exposition format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type as written on its # TYPE line.
type Type string

// Metric family types.
const (
	CounterType   Type = "counter"
	GaugeType     Type = "gauge"
	HistogramType Type = "histogram"
	UntypedType   Type = "untyped"
)

// Collector writes one or more metric families at scrape time.
type Collector interface {
	Collect(w *Writer)
}

// CollectorFunc adapts a function to a Collector.
type CollectorFunc func(w *Writer)

// Collect calls f(w).
func (f CollectorFunc) Collect(w *Writer) { f(w) }

// Registry holds the collectors one /metrics endpoint exposes. It is not
// global: each server owns one, so tests never share state.
type Registry struct {
	mu sync.Mutex
	cs []Collector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds a collector; families are written in registration order.
func (r *Registry) Register(c Collector) {
	if c == nil {
		return
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
}

// Gather renders every collector. A collector's invalid or duplicate family
// is skipped and reported in the error; the rest is still returned, so one
// bad gauge never blanks the whole scrape.
func (r *Registry) Gather() ([]byte, error) {
	r.mu.Lock()
	cs := append([]Collector(nil), r.cs...)
	r.mu.Unlock()
	w := &Writer{seen: make(map[string]bool, 32)}
	for _, c := range cs {
		w.cur = ""
		c.Collect(w)
	}
	return w.buf, errors.Join(w.errs...)
}

// WriteTo renders the registry into dst.
func (r *Registry) WriteTo(dst io.Writer) (int64, error) {
	b, gerr := r.Gather()
	n, err := dst.Write(b)
	if err != nil {
		return int64(n), err
	}
	return int64(n), gerr
}

// Handler serves the registry; onErr (may be nil) hears about skipped families.
func (r *Registry) Handler(onErr func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, err := r.Gather()
		if err != nil && onErr != nil {
			onErr(err)
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
}

// Writer accumulates exposition text for one scrape.
type Writer struct {
	buf  []byte
	seen map[string]bool
	cur  string // current family name; "" when the last Family call was refused
	typ  Type
	errs []error
}

// Family starts a metric family. It returns false (and records why) when the
// name is invalid or already written in this scrape; samples that follow are
// then dropped until the next accepted Family.
func (w *Writer) Family(name, help string, typ Type) bool {
	w.cur = ""
	if !validMetricName(name) {
		w.errs = append(w.errs, fmt.Errorf("metric family %q: invalid name", name))
		return false
	}
	if w.seen[name] {
		w.errs = append(w.errs, fmt.Errorf("metric family %q: written twice", name))
		return false
	}
	if w.seen == nil {
		w.seen = make(map[string]bool)
	}
	w.seen[name] = true
	w.cur, w.typ = name, typ
	if help != "" {
		w.buf = append(w.buf, "# HELP "...)
		w.buf = append(w.buf, name...)
		w.buf = append(w.buf, ' ')
		w.buf = appendEscaped(w.buf, help, false)
		w.buf = append(w.buf, '\n')
	}
	w.buf = append(w.buf, "# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, typ...)
	w.buf = append(w.buf, '\n')
	return true
}

// Sample writes one sample of the current family. suffix is "" or, for
// histograms, "_bucket", "_sum" or "_count"; labels are name, value pairs.
func (w *Writer) Sample(suffix string, value float64, labels ...string) {
	if w.cur == "" {
		return
	}
	if len(labels)%2 != 0 {
		w.errs = append(w.errs, fmt.Errorf("metric %s%s: odd number of label strings", w.cur, suffix))
		return
	}
	for i := 0; i < len(labels); i += 2 {
		if !validLabelName(labels[i]) {
			w.errs = append(w.errs, fmt.Errorf("metric %s%s: invalid label name %q", w.cur, suffix, labels[i]))
			return
		}
	}
	w.buf = append(w.buf, w.cur...)
	w.buf = append(w.buf, suffix...)
	if len(labels) > 0 {
		w.buf = append(w.buf, '{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = append(w.buf, labels[i]...)
			w.buf = append(w.buf, '=', '"')
			w.buf = appendEscaped(w.buf, labels[i+1], true)
			w.buf = append(w.buf, '"')
		}
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, ' ')
	w.buf = AppendValue(w.buf, value)
	w.buf = append(w.buf, '\n')
}

// Gauge writes a one-sample gauge family.
func (w *Writer) Gauge(name, help string, v float64, labels ...string) {
	if w.Family(name, help, GaugeType) {
		w.Sample("", v, labels...)
	}
}

// Counter writes a one-sample counter family (name should end in _total).
func (w *Writer) Counter(name, help string, v float64, labels ...string) {
	if w.Family(name, help, CounterType) {
		w.Sample("", v, labels...)
	}
}

// AppendValue formats a sample value as the exposition format wants it.
func AppendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quote:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

func validLabelName(s string) bool {
	if s == "" || (len(s) >= 2 && s[0] == '_' && s[1] == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// Counter is a monotonically increasing count, safe for concurrent use.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down, safe for concurrent use.
type Gauge struct{ bits atomic.Uint64 }

// Set stores v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Value returns the stored value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

// Histogram counts observations into fixed cumulative buckets (in seconds for
// durations). Observe is lock-free and allocation-free.
type Histogram struct {
	upper  []float64
	counts []atomic.Uint64 // per bucket, non-cumulative; last is +Inf
	sumNS  atomic.Int64    // durations are summed exactly in nanoseconds
	sumF   atomic.Uint64   // float observations, summed by CAS
	count  atomic.Uint64
}

// LatencyBuckets contain the runbook's thresholds (0.2 s and 0.5 s) and start
// at 100 µs because a Go handler answers in microseconds.
var LatencyBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .15, .2, .25, .3, .4, .5, .75, 1, 2.5, 5, 10,
}

// NewHistogram returns a histogram with the given upper bounds (sorted,
// de-duplicated; +Inf is implicit).
func NewHistogram(buckets []float64) *Histogram {
	up := append([]float64(nil), buckets...)
	sort.Float64s(up)
	out := up[:0]
	for i, v := range up {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v == up[i-1]) {
			continue
		}
		out = append(out, v)
	}
	return &Histogram{upper: out, counts: make([]atomic.Uint64, len(out)+1)}
}

func (h *Histogram) bucket(v float64) int {
	// Linear scan: ~20 bounds, and most observations land in the first few.
	for i, u := range h.upper {
		if v <= u {
			return i
		}
	}
	return len(h.upper)
}

// ObserveDuration records one duration.
func (h *Histogram) ObserveDuration(d time.Duration) {
	h.counts[h.bucket(d.Seconds())].Add(1)
	h.sumNS.Add(int64(d))
	h.count.Add(1)
}

// Observe records one value; NaN is ignored.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) {
		return
	}
	h.counts[h.bucket(v)].Add(1)
	for {
		old := h.sumF.Load()
		if h.sumF.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
	h.count.Add(1)
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Write emits the histogram's _bucket, _sum and _count samples into the
// current family of w, with the given extra labels.
func (h *Histogram) Write(w *Writer, labels ...string) {
	lbl := make([]string, len(labels)+2)
	copy(lbl, labels)
	lbl[len(labels)] = "le"
	var cum uint64
	var le []byte
	for i, u := range h.upper {
		cum += h.counts[i].Load()
		le = AppendValue(le[:0], u)
		lbl[len(labels)+1] = string(le)
		w.Sample("_bucket", float64(cum), lbl...)
	}
	cum += h.counts[len(h.upper)].Load()
	lbl[len(labels)+1] = "+Inf"
	w.Sample("_bucket", float64(cum), lbl...)
	sum := float64(h.sumNS.Load())/1e9 + math.Float64frombits(h.sumF.Load())
	w.Sample("_sum", sum, labels...)
	// _count equals the +Inf bucket, read from the same pass so a scrape
	// racing with Observe never shows them disagreeing.
	w.Sample("_count", float64(cum), labels...)
}

// Text returns the gathered exposition of r as a string (for tests and the
// console's raw view).
func Text(r *Registry) string {
	b, _ := r.Gather()
	return string(b)
}
