// Package monitor keeps the serve path's live statistics: latency quantiles
// (p50/p95/p99/max), throughput and status-class rates over sliding windows
// (1 m, 5 m, 1 h by default) per endpoint and for all endpoints together, and
// a history of points for the console's graphs (one per second for the last
// hour, one per minute for the last day).
//
// Quantiles come from a mergeable log-bucketed histogram, not from exact
// sorts: 972 fixed buckets whose edges grow by a factor (1+α)/(1−α) with
// α = 0.95 %, so the reported value of a bucket is within 0.95 % of every
// latency it holds (a DDSketch-style relative-error guarantee on 1 µs..100 s;
// the maximum is tracked exactly and caps every quantile). We chose the
// sketch over an exact window because the error bound is the same for every
// window length and every request rate, because histograms of seconds add up
// into histograms of minutes and windows (merging is a sum of counts), and
// because recording is a handful of atomic increments with no allocation and
// no lock. A test checks the bound against exact nearest-rank quantiles on
// random data.
//
// Layout: each endpoint has a tiny ring of "hot" per-second histograms of
// atomic counters that Record writes into. Closed seconds are compacted
// (under a mutex, by readers or by the first Record of a new second) into
// rings of per-second and per-minute histograms, and each configured window
// keeps a running sum (add the second that closes, subtract the one that
// leaves), so reading a window costs one histogram merge per endpoint
// whatever its length. Windows up to 10 m slide by the second, up to 10 h by
// the minute, longer ones by 10 minutes.
package monitor

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"carvision/engine"
)

// Endpoint names what a request was for; it indexes fixed arrays, so the
// serve path never hashes a string.
type Endpoint uint8

// The endpoints the monitor tells apart.
const (
	Predict Endpoint = iota
	PredictBatch
	Health
	Other
)

// NumEndpoints is the number of Endpoint values.
const NumEndpoints = 4

// AllEndpoints is the name of the row that sums every endpoint.
const AllEndpoints = "all"

var endpointNames = [NumEndpoints]string{"/predict", "/predict_batch", "/health", "other"}

// String returns the endpoint's path ("other" for the rest).
func (e Endpoint) String() string {
	if int(e) < NumEndpoints {
		return endpointNames[e]
	}
	return "other"
}

// EndpointOf maps a request path to its Endpoint.
func EndpointOf(path string) Endpoint {
	switch path {
	case "/predict":
		return Predict
	case "/predict_batch":
		return PredictBatch
	case "/health":
		return Health
	}
	return Other
}

// Status classes 1xx..5xx.
const nClass = 5

const (
	nHot      = 4 // hot seconds per endpoint; a power of two
	noTag     = math.MinInt64
	shortMax  = 10 * time.Minute
	mediumMax = 10 * time.Hour
)

var reportedQuantiles = []float64{0.5, 0.95, 0.99}

// MaxLatency is the longest latency accepted; longer ones are counted as
// invalid (no server timeout lets a request run for a day, so such a value
// is a bug upstream and must not become the window's maximum).
const MaxLatency = 24 * time.Hour

// DefaultWindows are the windows used when Options.Windows is empty.
var DefaultWindows = []time.Duration{time.Minute, 5 * time.Minute, time.Hour}

// Options configures a Monitor. Zero fields take defaults.
type Options struct {
	// Windows are the sliding windows kept as running sums (default 1m, 5m,
	// 1h). Each is rounded up to whole seconds (≤ 10m), minutes (≤ 10h) or
	// 10 minutes, and capped at 24h; non-positive values are ignored.
	Windows []time.Duration
	// Clock defaults to the wall clock.
	Clock Clock
	// PerSecond is how long 1-second history points are kept (default 1h).
	PerSecond time.Duration
	// PerMinute is how long 1-minute history points are kept (default 24h).
	PerMinute time.Duration
}

// hotSlot is one endpoint's histogram for one second, written lock-free.
type hotSlot struct {
	sec    atomic.Int64
	max    atomic.Int64
	cls    [nClass]atomic.Uint32
	counts [nBuckets]atomic.Uint32
}

func (h *hotSlot) dirty() bool {
	for i := range h.cls {
		if h.cls[i].Load() != 0 {
			return true
		}
	}
	return false
}

// level is a ring of closed histograms at one resolution.
type level struct {
	res    int64 // seconds per slot
	size   int64
	tags   []int64  // slot index held, noTag if none
	counts []uint32 // size × endpoints × buckets
	cls    []uint64 // size × endpoints × classes
	max    []int64  // size × endpoints
}

func newLevel(res, size int64) *level {
	l := &level{
		res: res, size: size,
		tags:   make([]int64, size),
		counts: make([]uint32, size*NumEndpoints*nBuckets),
		cls:    make([]uint64, size*NumEndpoints*nClass),
		max:    make([]int64, size*NumEndpoints),
	}
	for i := range l.tags {
		l.tags[i] = noTag
	}
	// Touch the rings now: fresh pages are mapped on first write, so an hour
	// of history filling up would otherwise read as a slow leak in RSS.
	clear(l.counts)
	clear(l.cls)
	clear(l.max)
	return l
}

func (l *level) slot(idx int64) int { return int(floorMod(idx, l.size)) }

func (l *level) countsOf(s, e int) []uint32 {
	o := (s*NumEndpoints + e) * nBuckets
	return l.counts[o : o+nBuckets]
}

func (l *level) clsOf(s, e int) []uint64 {
	o := (s*NumEndpoints + e) * nClass
	return l.cls[o : o+nClass]
}

// window is a running sum of a level's slots [from, current].
type window struct {
	d      time.Duration
	lv     *level
	n      int64 // slots covered, the current partial one included
	from   int64
	counts []uint64 // endpoints × buckets
	cls    []uint64 // endpoints × classes
}

// pointRing keeps one history point per slot of res seconds.
type pointRing struct {
	res  int64
	tags []int64
	pts  []engine.Point
}

func newPointRing(res, size int64) *pointRing {
	r := &pointRing{res: res, tags: make([]int64, size), pts: make([]engine.Point, size)}
	for i := range r.tags {
		r.tags[i] = noTag
	}
	return r
}

func (r *pointRing) put(idx int64, p engine.Point) {
	s := floorMod(idx, int64(len(r.tags)))
	r.tags[s], r.pts[s] = idx, p
}

func (r *pointRing) get(idx int64) (engine.Point, bool) {
	s := floorMod(idx, int64(len(r.tags)))
	if r.tags[s] != idx {
		return engine.Point{}, false
	}
	return r.pts[s], true
}

// Monitor aggregates request records. Record is safe for concurrent use and
// lock-free; the readers serialise on a mutex.
type Monitor struct {
	clock   Clock
	invalid atomic.Int64
	late    atomic.Int64
	hot     [NumEndpoints][nHot]hotSlot

	mu        sync.Mutex
	startTime time.Time
	start     int64 // first second
	cur       int64 // newest second the aggregates have advanced to
	levels    []*level
	secLv     *level
	minLv     *level
	windows   []*window
	secPts    *pointRing
	minPts    *pointRing
	pending   []int64 // minutes with data whose point is not final
	touched   []int64 // seconds compacted in this catch-up
	scratch   [nBuckets]uint32
	merged    [NumEndpoints + 1][nBuckets]uint64
}

// New returns a Monitor whose windows start now.
func New(cfg Options) *Monitor {
	m := &Monitor{clock: cfg.Clock}
	if m.clock == nil {
		m.clock = RealClock{}
	}
	perSec := cfg.PerSecond
	if perSec <= 0 {
		perSec = time.Hour
	}
	perMin := cfg.PerMinute
	if perMin <= 0 {
		perMin = 24 * time.Hour
	}
	perSec = min(max(perSec, time.Minute), 24*time.Hour)
	perMin = min(max(perMin, time.Hour), 30*24*time.Hour)

	ws := normaliseWindows(cfg.Windows)
	// Ring sizes: each level holds its longest window plus one slot, the
	// second level at least a minute (per-second points), the minute level
	// at least two (per-minute points).
	sizes := map[int64]int64{1: 61, 60: 2}
	for _, d := range ws {
		res := resolution(d)
		n := slotsFor(d, res)
		sizes[res] = max(sizes[res], n+1)
	}
	m.secLv = newLevel(1, sizes[1])
	m.minLv = newLevel(60, sizes[60])
	m.levels = []*level{m.secLv, m.minLv}
	if s, ok := sizes[600]; ok {
		m.levels = append(m.levels, newLevel(600, s))
	}
	m.startTime = m.clock.Now()
	m.start = m.startTime.Unix()
	m.cur = m.start
	for _, d := range ws {
		res := resolution(d)
		var lv *level
		for _, l := range m.levels {
			if l.res == res {
				lv = l
			}
		}
		n := slotsFor(d, res)
		m.windows = append(m.windows, &window{
			d: d, lv: lv, n: n,
			from:   floorDiv(m.start, res) - n + 1,
			counts: make([]uint64, NumEndpoints*nBuckets),
			cls:    make([]uint64, NumEndpoints*nClass),
		})
	}
	m.secPts = newPointRing(1, int64(perSec/time.Second))
	m.minPts = newPointRing(60, int64(perMin/time.Minute))
	for e := range m.hot {
		for k := range m.hot[e] {
			m.hot[e][k].sec.Store(noTag)
		}
	}
	return m
}

func normaliseWindows(in []time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range in {
		if d <= 0 {
			continue
		}
		d = min(d, 24*time.Hour)
		res := resolution(d)
		d = time.Duration(slotsFor(d, res)*res) * time.Second
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = append(out, DefaultWindows...)
	}
	slices.Sort(out)
	return out
}

func resolution(d time.Duration) int64 {
	switch {
	case d <= shortMax:
		return 1
	case d <= mediumMax:
		return 60
	}
	return 600
}

func slotsFor(d time.Duration, res int64) int64 {
	step := time.Duration(res) * time.Second
	return max(int64((d+step-1)/step), 1)
}

// Windows returns the configured windows, shortest first.
func (m *Monitor) Windows() []time.Duration {
	out := make([]time.Duration, len(m.windows))
	for i, w := range m.windows {
		out[i] = w.d
	}
	return out
}

// Invalid returns how many records were rejected (negative, non-finite or
// over-MaxLatency latency, status outside 100..599).
func (m *Monitor) Invalid() int64 { return m.invalid.Load() }

// Record counts one served request. It never allocates and never blocks on
// another Record; the first record of a second may compact the closed
// seconds if no reader did.
func (m *Monitor) Record(ep Endpoint, status int, latency time.Duration) {
	if latency < 0 || latency > MaxLatency || status < 100 || status > 599 {
		m.invalid.Add(1)
		return
	}
	if int(ep) >= NumEndpoints {
		ep = Other
	}
	sec := m.clock.Now().Unix()
	h := &m.hot[ep][sec&(nHot-1)]
	if h.sec.Load() < sec {
		m.claim(h, sec)
	}
	ns := int64(latency)
	h.counts[bucketOf(ns)].Add(1)
	h.cls[status/100-1].Add(1)
	for {
		old := h.max.Load()
		if ns <= old || h.max.CompareAndSwap(old, ns) {
			break
		}
	}
}

// RecordSeconds is Record for a latency measured in float seconds; NaN,
// ±Inf, negative values and values over MaxLatency are counted as invalid.
func (m *Monitor) RecordSeconds(ep Endpoint, status int, seconds float64) {
	if !(seconds >= 0 && seconds <= MaxLatency.Seconds()) { // false for NaN too
		m.invalid.Add(1)
		return
	}
	m.Record(ep, status, time.Duration(seconds*float64(time.Second)))
}

// Late returns how many compacted seconds arrived after their slot had been
// reused (a record delayed by longer than the ring); they are not merged.
func (m *Monitor) Late() int64 { return m.late.Load() }

// Flush compacts the closed seconds now. Readers do it anyway; a server
// that may go long without readers can call it from a 1 s ticker so that
// no request pays the compaction (about 40 µs per closed busy second).
func (m *Monitor) Flush() {
	now := m.clock.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUpLocked(now)
}

// claim makes hot slot h hold second sec, compacting what it held before.
func (m *Monitor) claim(h *hotSlot, sec int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h.sec.Load() >= sec {
		return
	}
	if h.dirty() {
		m.catchUpLocked(sec)
	}
	h.sec.Store(sec)
}

type staleSlot struct {
	sec int64
	e   int
	h   *hotSlot
}

// catchUpLocked compacts every closed hot second and slides the windows to
// now. It returns the second the aggregates now stand at.
func (m *Monitor) catchUpLocked(now int64) int64 {
	var stale [NumEndpoints * nHot]staleSlot
	n := 0
	for e := range m.hot {
		for k := range m.hot[e] {
			h := &m.hot[e][k]
			if t := h.sec.Load(); t != noTag && t < now && h.dirty() {
				stale[n] = staleSlot{t, e, h}
				n++
			}
		}
	}
	slices.SortFunc(stale[:n], func(a, b staleSlot) int {
		switch {
		case a.sec < b.sec:
			return -1
		case a.sec > b.sec:
			return 1
		}
		return a.e - b.e
	})
	m.touched = m.touched[:0]
	for _, s := range stale[:n] {
		m.advance(s.sec)
		m.compact(s.h, s.e, s.sec)
	}
	m.advance(now)
	for _, t := range m.touched {
		m.secondPoint(t)
	}
	m.finaliseMinutes(floorDiv(m.cur, 60))
	return m.cur
}

// advance slides every window so that it ends at second t.
func (m *Monitor) advance(t int64) {
	if t <= m.cur {
		return
	}
	for _, w := range m.windows {
		newFrom := floorDiv(t, w.lv.res) - w.n + 1
		if newFrom <= w.from {
			continue
		}
		if newFrom-w.from >= w.n {
			clear(w.counts)
			clear(w.cls)
		} else {
			for idx := w.from; idx < newFrom; idx++ {
				m.subtract(w, idx)
			}
		}
		w.from = newFrom
	}
	m.cur = t
	m.finaliseMinutes(floorDiv(t, 60))
}

func (m *Monitor) subtract(w *window, idx int64) {
	lv := w.lv
	s := lv.slot(idx)
	if lv.tags[s] != idx {
		return
	}
	for e := 0; e < NumEndpoints; e++ {
		src := lv.countsOf(s, e)
		dst := w.counts[e*nBuckets : (e+1)*nBuckets]
		for b, c := range src {
			dst[b] -= uint64(c)
		}
		sc := lv.clsOf(s, e)
		dc := w.cls[e*nClass : (e+1)*nClass]
		for c := range sc {
			dc[c] -= sc[c]
		}
	}
}

// compact moves hot slot h (endpoint e, second t) into the levels and the
// windows that cover t.
func (m *Monitor) compact(h *hotSlot, e int, t int64) {
	var cls [nClass]uint64
	for c := range h.cls {
		cls[c] = uint64(h.cls[c].Swap(0))
	}
	tmp := &m.scratch
	for b := range h.counts {
		tmp[b] = h.counts[b].Swap(0)
	}
	mx := h.max.Swap(0)
	for _, lv := range m.levels {
		idx := floorDiv(t, lv.res)
		s := lv.slot(idx)
		switch tag := lv.tags[s]; {
		case tag > idx:
			// Older than anything the ring still holds; cannot happen
			// unless a record straggles by minutes. Counted, not merged.
			m.late.Add(1)
			continue
		case tag < idx:
			for ee := 0; ee < NumEndpoints; ee++ {
				clear(lv.countsOf(s, ee))
				clear(lv.clsOf(s, ee))
				lv.max[s*NumEndpoints+ee] = 0
			}
			lv.tags[s] = idx
		}
		dst := lv.countsOf(s, e)
		for b, c := range tmp {
			if c != 0 {
				dst[b] = satAdd32(dst[b], c)
			}
		}
		dc := lv.clsOf(s, e)
		for c := range cls {
			dc[c] += cls[c]
		}
		if mi := s*NumEndpoints + e; mx > lv.max[mi] {
			lv.max[mi] = mx
		}
		for _, w := range m.windows {
			if w.lv != lv || idx < w.from {
				continue
			}
			wc := w.counts[e*nBuckets : (e+1)*nBuckets]
			for b, c := range tmp {
				wc[b] += uint64(c)
			}
			wcl := w.cls[e*nClass : (e+1)*nClass]
			for c := range cls {
				wcl[c] += cls[c]
			}
		}
	}
	if !slices.Contains(m.touched, t) {
		m.touched = append(m.touched, t)
	}
	if mi := floorDiv(t, 60); !slices.Contains(m.pending, mi) {
		m.pending = append(m.pending, mi)
	}
}

// secondPoint (re)computes the history point of second t.
func (m *Monitor) secondPoint(t int64) {
	s := m.secLv.slot(t)
	if m.secLv.tags[s] != t {
		return
	}
	m.secPts.put(t, m.pointOf(m.secLv, s, time.Unix(t, 0).UTC(), 1))
}

// finaliseMinutes computes the points of pending minutes before minute cur.
func (m *Monitor) finaliseMinutes(cur int64) {
	keep := m.pending[:0]
	for _, mi := range m.pending {
		if mi >= cur {
			keep = append(keep, mi)
			continue
		}
		s := m.minLv.slot(mi)
		if m.minLv.tags[s] != mi {
			continue
		}
		begin := mi * 60
		span := 60.0
		if m.start > begin {
			span = float64(begin + 60 - m.start)
		}
		m.minPts.put(mi, m.pointOf(m.minLv, s, time.Unix(begin, 0).UTC(), span))
	}
	m.pending = keep
}

// pointOf summarises slot s of lv over every endpoint.
func (m *Monitor) pointOf(lv *level, s int, at time.Time, seconds float64) engine.Point {
	all := &m.merged[NumEndpoints]
	clear(all[:])
	var cls [nClass]uint64
	var mx int64
	for e := 0; e < NumEndpoints; e++ {
		for b, c := range lv.countsOf(s, e) {
			all[b] += uint64(c)
		}
		for c, v := range lv.clsOf(s, e) {
			cls[c] += v
		}
		mx = max(mx, lv.max[s*NumEndpoints+e])
	}
	var q [3]float64
	quantilesNS(all[:], mx, reportedQuantiles, q[:])
	total := sumU64(cls[:])
	p := engine.Point{T: at, P50MS: nsToMS(q[0]), P95MS: nsToMS(q[1]), P99MS: nsToMS(q[2])}
	if seconds > 0 {
		p.RPS = float64(total) / seconds
	}
	if total > 0 {
		p.Err = float64(cls[4]) / float64(total)
	}
	return p
}

// Stats returns the window's statistics: "all" first, then each endpoint in
// Endpoint order. A window that is not configured is summed from the rings
// on the fly (slower, and capped at what the rings hold).
func (m *Monitor) Stats(win time.Duration) []engine.LatencyStats {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statsLocked(now, win)
}

func (m *Monitor) statsLocked(now time.Time, win time.Duration) []engine.LatencyStats {
	cur := m.catchUpLocked(now.Unix())
	w := m.windowFor(win, cur)

	var cls [NumEndpoints + 1][nClass]uint64
	var mx [NumEndpoints + 1]int64
	for e := 0; e < NumEndpoints; e++ {
		dst := &m.merged[e]
		copy(dst[:], w.counts[e*nBuckets:(e+1)*nBuckets])
		copy(cls[e][:], w.cls[e*nClass:(e+1)*nClass])
		// Seconds not yet compacted: the current one (and any the clock
		// has not reached, if it stepped back).
		for k := range m.hot[e] {
			h := &m.hot[e][k]
			if h.sec.Load() < cur {
				continue
			}
			for b := range h.counts {
				dst[b] += uint64(h.counts[b].Load())
			}
			for c := range h.cls {
				cls[e][c] += uint64(h.cls[c].Load())
			}
			mx[e] = max(mx[e], h.max.Load())
		}
		lv := w.lv
		for idx := max(w.from, floorDiv(cur, lv.res)-lv.size+1); idx <= floorDiv(cur, lv.res); idx++ {
			if s := lv.slot(idx); lv.tags[s] == idx {
				mx[e] = max(mx[e], lv.max[s*NumEndpoints+e])
			}
		}
	}
	all := &m.merged[NumEndpoints]
	clear(all[:])
	for e := 0; e < NumEndpoints; e++ {
		for b, c := range m.merged[e] {
			all[b] += c
		}
		for c := range cls[e] {
			cls[NumEndpoints][c] += cls[e][c]
		}
		mx[NumEndpoints] = max(mx[NumEndpoints], mx[e])
	}

	begin := max(w.from*w.lv.res, m.start)
	covered := now.Sub(time.Unix(begin, 0)).Seconds()
	if covered < 1 {
		covered = 1
	}
	out := make([]engine.LatencyStats, 0, NumEndpoints+1)
	order := [NumEndpoints + 1]int{NumEndpoints, 0, 1, 2, 3}
	for _, e := range order {
		name := AllEndpoints
		if e < NumEndpoints {
			name = Endpoint(e).String()
		}
		out = append(out, statsOf(name, m.merged[e][:], cls[e], mx[e], covered))
	}
	return out
}

func statsOf(name string, counts []uint64, cls [nClass]uint64, mx int64, covered float64) engine.LatencyStats {
	var q [3]float64
	quantilesNS(counts, mx, reportedQuantiles, q[:])
	total := sumU64(cls[:])
	s := engine.LatencyStats{
		Endpoint: name,
		Count:    int64(total),
		RPS:      float64(total) / covered,
		P50MS:    nsToMS(q[0]),
		P95MS:    nsToMS(q[1]),
		P99MS:    nsToMS(q[2]),
		MaxMS:    nsToMS(float64(mx)),
	}
	if total > 0 {
		t := float64(total)
		s.Rate2xx = float64(cls[1]) / t
		s.Rate4xx = float64(cls[3]) / t
		s.Rate5xx = float64(cls[4]) / t
		s.ErrorRate = s.Rate5xx
	}
	return s
}

// windowFor returns the running window of length d, or builds one from the
// rings when d is not configured.
func (m *Monitor) windowFor(d time.Duration, cur int64) *window {
	if d <= 0 {
		d = m.windows[0].d
	}
	d = min(d, 24*time.Hour)
	res := resolution(d)
	for _, w := range m.windows {
		if w.d == d || (w.lv.res == res && w.n == slotsFor(d, res)) {
			return w
		}
	}
	var lv *level
	for _, l := range m.levels {
		if l.res <= res {
			lv = l // the coarsest level not coarser than asked
		}
	}
	n := min(slotsFor(d, lv.res), lv.size-1)
	w := &window{d: d, lv: lv, n: n, from: floorDiv(cur, lv.res) - n + 1,
		counts: make([]uint64, NumEndpoints*nBuckets), cls: make([]uint64, NumEndpoints*nClass)}
	for idx := w.from; idx <= floorDiv(cur, lv.res); idx++ {
		s := lv.slot(idx)
		if lv.tags[s] != idx {
			continue
		}
		for e := 0; e < NumEndpoints; e++ {
			wc := w.counts[e*nBuckets : (e+1)*nBuckets]
			for b, c := range lv.countsOf(s, e) {
				wc[b] += uint64(c)
			}
			wcl := w.cls[e*nClass : (e+1)*nClass]
			for c, v := range lv.clsOf(s, e) {
				wcl[c] += v
			}
		}
	}
	return w
}

// History returns the graph points of the last d, oldest first: one per
// closed second when d fits the per-second history (default 1h), else one
// per closed minute (default up to 24h). Seconds or minutes without traffic
// are zero points; time before the monitor started is left out.
func (m *Monitor) History(d time.Duration) []engine.Point {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.historyLocked(now, d)
}

func (m *Monitor) historyLocked(now time.Time, d time.Duration) []engine.Point {
	cur := m.catchUpLocked(now.Unix())
	ring := m.secPts
	if d > time.Duration(len(m.secPts.tags))*time.Second {
		ring = m.minPts
		d = min(d, time.Duration(len(m.minPts.tags))*time.Minute)
	}
	step := time.Duration(ring.res) * time.Second
	n := int64(d / step)
	last := floorDiv(cur, ring.res) - 1 // newest closed slot
	first := max(last-n+1, floorDiv(m.start, ring.res))
	if first > last {
		return []engine.Point{}
	}
	out := make([]engine.Point, 0, last-first+1)
	for idx := first; idx <= last; idx++ {
		p, ok := ring.get(idx)
		if !ok {
			p = engine.Point{T: time.Unix(idx*ring.res, 0).UTC()}
		}
		out = append(out, p)
	}
	return out
}

// Snapshot is the monitor's part of the console's picture.
type Snapshot struct {
	At      time.Time             `json:"at"`
	Window  time.Duration         `json:"window"`
	Latency []engine.LatencyStats `json:"latency"` // "all" first
	History []engine.Point        `json:"history"`
	Invalid int64                 `json:"invalid"`
}

// Snapshot returns the window's statistics and its history at one instant.
func (m *Monitor) Snapshot(win time.Duration) Snapshot {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return Snapshot{
		At:      now,
		Window:  win,
		Latency: m.statsLocked(now, win),
		History: m.historyLocked(now, win),
		Invalid: m.invalid.Load(),
	}
}

func satAdd32(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint32
}

func sumU64(xs []uint64) uint64 {
	var s uint64
	for _, x := range xs {
		s += x
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}
