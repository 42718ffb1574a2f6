package monitor

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"carvision/engine"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTest(t testing.TB, windows ...time.Duration) (*Monitor, *FakeClock) {
	t.Helper()
	c := NewFakeClock(t0)
	return New(Options{Windows: windows, Clock: c}), c
}

func byName(t *testing.T, stats []engine.LatencyStats, name string) engine.LatencyStats {
	t.Helper()
	for _, s := range stats {
		if s.Endpoint == name {
			return s
		}
	}
	t.Fatalf("no stats row %q in %+v", name, stats)
	return engine.LatencyStats{}
}

func TestBucketLayout(t *testing.T) {
	need := int(math.Ceil(math.Log(maxNS/minNS) / lnGamma))
	if need != nLog {
		t.Fatalf("nLog = %d, the layout needs %d", nLog, need)
	}
	if got := bucketOf(int64(maxNS) - 1); got != nLog {
		t.Errorf("bucketOf(100s-1ns) = %d, want %d", got, nLog)
	}
	if bucketOf(999) != 0 || bucketOf(int64(maxNS)) != overflow {
		t.Error("underflow/overflow buckets misplaced")
	}
	// Every value in range is reported within relErr.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		v := int64(math.Exp(lnMin + r.Float64()*math.Log(maxNS/minNS)))
		if v < minNS || v >= maxNS {
			continue
		}
		rep := reprNS[bucketOf(v)]
		if e := math.Abs(rep-float64(v)) / float64(v); e > relErr+1e-9 {
			t.Fatalf("value %d ns reported as %.1f: relative error %.5f > %.4f", v, rep, e, relErr)
		}
	}
}

// exactQ is the nearest-rank quantile: the value of rank ceil(q·n).
func exactQ(sorted []time.Duration, q float64) float64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	r = min(max(r, 1), len(sorted))
	return float64(sorted[r-1])
}

func TestQuantilesWithinOnePercent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	gens := []struct {
		name string
		n    int
		gen  func() time.Duration
	}{
		{"lognormal around 2ms", 50000, func() time.Duration {
			return time.Duration(math.Exp(math.Log(2e6)+0.6*r.NormFloat64())) + time.Microsecond
		}},
		{"uniform 1us..1s", 20000, func() time.Duration { return time.Microsecond + time.Duration(r.Int64N(int64(time.Second))) }},
		{"bimodal fast and slow", 30000, func() time.Duration {
			if r.IntN(10) == 0 {
				return 400*time.Millisecond + time.Duration(r.Int64N(int64(200*time.Millisecond)))
			}
			return 300*time.Microsecond + time.Duration(r.Int64N(int64(200*time.Microsecond)))
		}},
		{"heavy tail pareto", 40000, func() time.Duration {
			return time.Duration(1e5 / math.Pow(1-r.Float64(), 1/1.2))
		}},
		{"all equal", 1000, func() time.Duration { return 1234567 * time.Nanosecond }},
		{"single value", 1, func() time.Duration { return 42 * time.Millisecond }},
	}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			m, c := newTest(t, time.Minute)
			data := make([]time.Duration, g.n)
			for i := range data {
				data[i] = g.gen()
				if i%1000 == 999 {
					c.Advance(100 * time.Millisecond) // spread over several seconds
				}
				m.Record(Predict, 200, data[i])
			}
			slices.Sort(data)
			s := byName(t, m.Stats(time.Minute), "/predict")
			if s.Count != int64(g.n) {
				t.Fatalf("count %d, want %d", s.Count, g.n)
			}
			for _, c := range []struct {
				q   float64
				got float64
			}{{0.5, s.P50MS}, {0.95, s.P95MS}, {0.99, s.P99MS}} {
				want := exactQ(data, c.q) / 1e6
				if e := math.Abs(c.got-want) / want; e > 0.01 {
					t.Errorf("p%v = %.6f ms, exact %.6f ms: relative error %.4f > 1%%", c.q*100, c.got, want, e)
				}
			}
			if want := float64(data[len(data)-1]) / 1e6; s.MaxMS != want {
				t.Errorf("max %.6f ms, want exactly %.6f", s.MaxMS, want)
			}
		})
	}
}

// Past the histogram's range (100 s) the bound no longer holds: such
// latencies share the overflow bucket, reported as the window's exact max.
func TestQuantilesBeyondRange(t *testing.T) {
	m, _ := newTest(t, time.Minute)
	for _, d := range []time.Duration{150 * time.Second, 200 * time.Second, 3 * time.Minute} {
		m.Record(Predict, 200, d)
	}
	s := byName(t, m.Stats(time.Minute), "/predict")
	if s.P50MS != 200e3 || s.P99MS != 200e3 || s.MaxMS != 200e3 {
		t.Errorf("beyond range: %+v, want every quantile = max = 200000 ms", s)
	}
}

func TestWindowsSlide(t *testing.T) {
	m, c := newTest(t, time.Minute, 5*time.Minute, time.Hour)
	// A timeline: batches of requests and checks, in clock order.
	// Batches: 10 at t0, 20 at t0+30s, 40 at t0+4m, 80 at t0+30m.
	steps := []struct {
		at   time.Duration
		rec  int           // requests recorded at this instant (before the check)
		win  time.Duration // 0: no check
		want int64
		desc string
	}{
		{0, 10, 0, 0, ""},
		{30 * time.Second, 20, 0, 0, ""},
		{59 * time.Second, 0, time.Minute, 30, "both early batches within the minute"},
		{60 * time.Second, 0, time.Minute, 20, "t0's second left the 1m window"},
		{89 * time.Second, 0, time.Minute, 20, "t0+30s still in"},
		{90 * time.Second, 0, time.Minute, 0, "t0+30s left"},
		{4 * time.Minute, 40, 0, 0, ""},
		{299 * time.Second, 0, 5 * time.Minute, 70, "5m window holds the first three"},
		{300 * time.Second, 0, 5 * time.Minute, 60, "t0 left the 5m window"},
		{30 * time.Minute, 80, 0, 0, ""},
		{31 * time.Minute, 0, 5 * time.Minute, 80, "only the t0+30m batch"},
		{31 * time.Minute, 0, time.Hour, 150, "1h window holds everything"},
		{60 * time.Minute, 0, time.Hour, 120, "minute 0 left the hour (minute resolution)"},
		{2 * time.Hour, 0, time.Hour, 0, "all gone"},
	}
	for _, st := range steps {
		c.Set(t0.Add(st.at))
		for range st.rec {
			m.Record(Predict, 200, time.Millisecond)
		}
		if st.win == 0 {
			continue
		}
		if got := byName(t, m.Stats(st.win), AllEndpoints).Count; got != st.want {
			t.Errorf("%s: at +%v window %v count %d, want %d", st.desc, st.at, st.win, got, st.want)
		}
	}
}

// TestWindowsSlideWithoutReaders checks that seconds left in the hot ring
// (no reader compacted them) still land in the right windows.
func TestWindowsSlideWithoutReaders(t *testing.T) {
	m, c := newTest(t, time.Minute, 5*time.Minute, time.Hour)
	for _, at := range []time.Duration{0, 30 * time.Second, 4 * time.Minute} {
		c.Set(t0.Add(at))
		m.Record(Predict, 200, time.Millisecond)
	}
	c.Set(t0.Add(299 * time.Second))
	want := map[time.Duration]int64{time.Minute: 1, 5 * time.Minute: 3, time.Hour: 3} // 1m = seconds 240..299
	for win, n := range want {
		if got := byName(t, m.Stats(win), AllEndpoints).Count; got != n {
			t.Errorf("window %v: count %d, want %d", win, got, n)
		}
	}
}

func TestRatesAndEndpoints(t *testing.T) {
	m, c := newTest(t)
	rec := []struct {
		ep     Endpoint
		status int
		n      int
	}{
		{Predict, 200, 90}, {Predict, 422, 5}, {Predict, 500, 5},
		{PredictBatch, 200, 10}, {Health, 503, 4}, {Health, 200, 6}, {Endpoint(99), 404, 1},
	}
	for _, r := range rec {
		for range r.n {
			m.Record(r.ep, r.status, 2*time.Millisecond)
		}
	}
	c.Advance(10 * time.Second)
	stats := m.Stats(time.Minute)
	names := make([]string, len(stats))
	for i, s := range stats {
		names[i] = s.Endpoint
	}
	if want := []string{"all", "/predict", "/predict_batch", "/health", "other"}; !slices.Equal(names, want) {
		t.Fatalf("rows %v, want %v", names, want)
	}
	cases := []struct {
		name       string
		count      int64
		r2, r4, r5 float64
	}{
		{"all", 121, 106.0 / 121, 6.0 / 121, 9.0 / 121},
		{"/predict", 100, 0.90, 0.05, 0.05},
		{"/predict_batch", 10, 1, 0, 0},
		{"/health", 10, 0.6, 0, 0.4},
		{"other", 1, 0, 1, 0},
	}
	for _, tc := range cases {
		s := byName(t, stats, tc.name)
		if s.Count != tc.count || !near(s.Rate2xx, tc.r2) || !near(s.Rate4xx, tc.r4) || !near(s.Rate5xx, tc.r5) || s.ErrorRate != s.Rate5xx {
			t.Errorf("%s: got count %d rates %.4f/%.4f/%.4f err %.4f, want %d %.4f/%.4f/%.4f",
				tc.name, s.Count, s.Rate2xx, s.Rate4xx, s.Rate5xx, s.ErrorRate, tc.count, tc.r2, tc.r4, tc.r5)
		}
	}
	// 121 requests over the 10 seconds since the monitor started.
	if s := byName(t, stats, "all"); !near(s.RPS, 121.0/10) {
		t.Errorf("rps %.3f, want %.3f", s.RPS, 121.0/10)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestInvalidInputNeverPoisons(t *testing.T) {
	m, c := newTest(t)
	m.Record(Predict, 200, 3*time.Millisecond)
	bad := []func(){
		func() { m.Record(Predict, 200, -time.Millisecond) },
		func() { m.Record(Predict, 200, 25*time.Hour) },
		func() { m.Record(Predict, 0, time.Millisecond) },
		func() { m.Record(Predict, 600, time.Millisecond) },
		func() { m.RecordSeconds(Predict, 200, math.NaN()) },
		func() { m.RecordSeconds(Predict, 200, math.Inf(1)) },
		func() { m.RecordSeconds(Predict, 200, math.Inf(-1)) },
		func() { m.RecordSeconds(Predict, 200, -0.5) },
		func() { m.RecordSeconds(Predict, 200, 1e300) },
	}
	for _, f := range bad {
		f()
	}
	m.RecordSeconds(Predict, 200, 0.005)
	c.Advance(2 * time.Second)
	if got := m.Invalid(); got != int64(len(bad)) {
		t.Errorf("Invalid() = %d, want %d", got, len(bad))
	}
	s := byName(t, m.Stats(time.Minute), "/predict")
	if s.Count != 2 || s.MaxMS != 5 || math.IsNaN(s.P99MS) || s.P99MS > 5 {
		t.Errorf("stats poisoned by bad input: %+v", s)
	}
}

func TestEmptyMonitor(t *testing.T) {
	m, c := newTest(t)
	for _, w := range []time.Duration{0, time.Minute, 5 * time.Minute, time.Hour, 3 * time.Hour, 48 * time.Hour} {
		for _, s := range m.Stats(w) {
			if s.Count != 0 || s.P50MS != 0 || s.MaxMS != 0 || s.RPS != 0 || s.ErrorRate != 0 {
				t.Errorf("window %v: empty monitor reports %+v", w, s)
			}
		}
	}
	if h := m.History(time.Hour); len(h) != 0 {
		t.Errorf("history before any closed second: %d points", len(h))
	}
	c.Advance(90 * time.Second)
	if h := m.History(time.Minute); len(h) != 60 {
		t.Errorf("history over a quiet minute: %d points, want 60 zero points", len(h))
	}
}

func TestHistoryPoints(t *testing.T) {
	m, c := newTest(t)
	// Second k (k = 0..9) gets k+1 requests of (k+1) ms; every 10th is a 500.
	for k := range 10 {
		c.Set(t0.Add(time.Duration(k) * time.Second))
		for i := range k + 1 {
			status := 200
			if k == 9 && i == 0 {
				status = 500
			}
			m.Record(Predict, status, time.Duration(k+1)*time.Millisecond)
		}
	}
	c.Set(t0.Add(20 * time.Second))
	h := m.History(time.Minute)
	if len(h) != 20 {
		t.Fatalf("got %d points, want 20 (t0 .. t0+19s)", len(h))
	}
	for k, p := range h {
		if !p.T.Equal(t0.Add(time.Duration(k) * time.Second)) {
			t.Fatalf("point %d at %v, want %v", k, p.T, t0.Add(time.Duration(k)*time.Second))
		}
		if k >= 10 {
			if p.RPS != 0 || p.P50MS != 0 {
				t.Errorf("quiet second %d: %+v", k, p)
			}
			continue
		}
		want := float64(k + 1)
		if p.RPS != want || math.Abs(p.P50MS-want)/want > 0.01 || math.Abs(p.P99MS-want)/want > 0.01 {
			t.Errorf("second %d: %+v, want rps %v and p50 ≈ p99 ≈ %v ms", k, p, want, want)
		}
		if wantErr := map[bool]float64{true: 0.1, false: 0}[k == 9]; p.Err != wantErr {
			t.Errorf("second %d: error rate %v, want %v", k, p.Err, wantErr)
		}
	}

	// Per-minute points beyond the per-second history.
	for mi := range 3 {
		c.Set(t0.Add(time.Duration(mi+1) * time.Minute))
		for range 60 * (mi + 1) {
			m.Record(Health, 200, time.Millisecond)
		}
	}
	c.Set(t0.Add(10 * time.Minute))
	hm := m.History(3 * time.Hour)
	if len(hm) != 10 {
		t.Fatalf("minute history: %d points, want 10", len(hm))
	}
	if hm[0].RPS != 55.0/60 { // 55 requests in minute 0
		t.Errorf("minute 0 rps %v, want %v", hm[0].RPS, 55.0/60)
	}
	for mi := 1; mi <= 3; mi++ {
		if hm[mi].RPS != float64(mi) {
			t.Errorf("minute %d rps %v, want %d", mi, hm[mi].RPS, mi)
		}
	}
	if hm[5].RPS != 0 || !hm[5].T.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("quiet minute 5: %+v", hm[5])
	}
}

func TestUnconfiguredWindowAndCaps(t *testing.T) {
	m, c := newTest(t, time.Minute, 5*time.Minute)
	for k := range 4 {
		c.Set(t0.Add(time.Duration(k) * 30 * time.Second))
		m.Record(Predict, 200, time.Millisecond)
	}
	c.Set(t0.Add(100 * time.Second))
	if got := byName(t, m.Stats(2*time.Minute), "all").Count; got != 4 {
		t.Errorf("2m (not configured) count %d, want 4", got)
	}
	if got := byName(t, m.Stats(45*time.Second), "all").Count; got != 2 {
		t.Errorf("45s (not configured) count %d, want 2 (t0+60s, t0+90s)", got)
	}
	if got := m.Windows(); !slices.Equal(got, []time.Duration{time.Minute, 5 * time.Minute}) {
		t.Errorf("windows %v", got)
	}
}

func TestLongIdleAndClockSteps(t *testing.T) {
	m, c := newTest(t)
	m.Record(Predict, 200, time.Millisecond)
	c.Advance(49 * time.Hour)
	for _, s := range m.Stats(time.Hour) {
		if s.Count != 0 {
			t.Fatalf("after two idle days: %+v", s)
		}
	}
	m.Record(Predict, 200, time.Millisecond)
	c.Advance(-30 * time.Second) // wall clock stepped back
	m.Record(Predict, 200, time.Millisecond)
	c.Advance(31 * time.Second)
	if got := byName(t, m.Stats(time.Minute), "all").Count; got != 2 {
		t.Errorf("count %d after a clock step back, want 2", got)
	}
	if h := m.History(24 * time.Hour); len(h) == 0 || len(h) > 24*60 {
		t.Errorf("day history has %d points", len(h))
	}
}

func TestConcurrentRecordLosesNothing(t *testing.T) {
	m, c := newTest(t)
	const writers, per = 4, 5000
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() { // the clock ticks and readers read while writers write
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if i < 100 { // at most 30 s, well inside the hour read below
				c.Advance(300 * time.Millisecond)
			}
			m.Stats(time.Minute)
			m.History(time.Minute)
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				m.Record(Endpoint(w%NumEndpoints), 200+100*(i%4), time.Duration(1+i%50)*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(done)
	c.Advance(time.Second)
	s := byName(t, m.Stats(time.Hour), "all")
	if s.Count != writers*per {
		t.Errorf("count %d, want %d (late %d)", s.Count, writers*per, m.Late())
	}
}

func TestFlushCompactsWithoutReaders(t *testing.T) {
	m, c := newTest(t)
	m.Record(Predict, 200, time.Millisecond)
	c.Advance(time.Second)
	m.Flush()
	if h := &m.hot[Predict][t0.Unix()&(nHot-1)]; h.dirty() {
		t.Error("Flush left the closed second in the hot ring")
	}
	if got := byName(t, m.Stats(time.Minute), "/predict").Count; got != 1 {
		t.Errorf("count %d after Flush, want 1", got)
	}
}

func TestRecordAllocatesNothing(t *testing.T) {
	m := New(Options{})
	if a := testing.AllocsPerRun(1000, func() { m.Record(Predict, 200, 1500*time.Microsecond) }); a != 0 {
		t.Errorf("Record allocates %.1f times per call", a)
	}
}

func TestEndpointNames(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Endpoint
	}{{"/predict", Predict}, {"/predict_batch", PredictBatch}, {"/health", Health}, {"/metrics", Other}, {"", Other}} {
		if got := EndpointOf(tc.path); got != tc.want {
			t.Errorf("EndpointOf(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if Endpoint(200).String() != "other" {
		t.Error("out-of-range endpoint name")
	}
}

func TestDiskUsage(t *testing.T) {
	u, err := DiskUsage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u < 0 || u > 1 {
		t.Errorf("used share %v outside 0..1", u)
	}
	if _, err := DiskUsage("/definitely/not/here"); err == nil {
		t.Error("no error for a missing path")
	}
}

func BenchmarkRecord(b *testing.B) {
	m := New(Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Record(Predict, 200, time.Duration(200+i%5000)*time.Microsecond)
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	m := New(Options{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Record(Endpoint(i&1), 200, time.Duration(200+i%5000)*time.Microsecond)
			i++
		}
	})
}

// BenchmarkSnapshot reads a monitor that has a full hour of traffic.
func BenchmarkSnapshot(b *testing.B) {
	for _, win := range []time.Duration{time.Minute, time.Hour} {
		b.Run(win.String(), func(b *testing.B) {
			m, c := newTest(b)
			r := rand.New(rand.NewPCG(1, 1))
			for s := range 3600 {
				c.Set(t0.Add(time.Duration(s) * time.Second))
				for range 20 {
					m.Record(Endpoint(r.IntN(NumEndpoints)), 200, time.Duration(math.Exp(14+r.NormFloat64())))
				}
			}
			c.Advance(500 * time.Millisecond)
			b.ReportAllocs()
			for b.Loop() {
				m.Snapshot(win)
			}
		})
	}
}

// BenchmarkRecordNewSecond is the worst case of Record: the first record of
// a second when no reader has compacted the previous ones (every endpoint
// busy), so this Record pays the catch-up.
func BenchmarkRecordNewSecond(b *testing.B) {
	m, c := newTest(b)
	for ep := range NumEndpoints {
		m.Record(Endpoint(ep), 200, time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Advance(time.Second)
		for ep := range NumEndpoints {
			m.Record(Endpoint(ep), 200, time.Duration(1+ep)*time.Millisecond)
		}
	}
}
