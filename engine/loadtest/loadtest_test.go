package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carvision/engine"
)

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8000/predict", false, true},
		{"http://127.0.0.2:8000/predict", false, true},
		{"http://localhost:8000/predict", false, true},
		{"http://api.localhost/predict", false, true},
		{"http://[::1]:8000/predict", false, true},
		{"https://example.com/predict", false, false},
		{"http://10.0.0.5:8000/predict", false, false},
		{"http://0.0.0.0:8000/predict", false, false},
		{"http://example.com/predict", true, true},
		{"ftp://127.0.0.1/x", false, false},
		{"127.0.0.1:8000", false, false},
		{"http:///predict", false, false},
		{"::bad", false, false},
	}
	for _, tc := range tests {
		_, err := CheckTarget(tc.url, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("%s (remote=%v): err %v", tc.url, tc.remote, err)
		}
		if err != nil && strings.Contains(tc.url, "example.com") && !strings.Contains(err.Error(), "not loopback") {
			t.Errorf("refusal should say why: %v", err)
		}
	}
}

// counting is a test API: it counts bodies and answers by content.
type counting struct {
	mu     sync.Mutex
	bodies map[string]int
	n      atomic.Int64
	delay  func(n int64) time.Duration // server-side processing time
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.n.Add(1)
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	if c.bodies == nil {
		c.bodies = map[string]int{}
	}
	c.bodies[string(b)]++
	c.mu.Unlock()
	if c.delay != nil {
		if d := c.delay(n); d > 0 {
			time.Sleep(d) // the server being slow is the thing under test
		}
	}
	switch {
	case strings.Contains(string(b), "bad"):
		w.WriteHeader(422)
	case strings.Contains(string(b), "boom"):
		w.WriteHeader(500)
	case strings.Contains(string(b), "hangup"):
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func TestClosedLoopCountsAndRoundRobin(t *testing.T) {
	srv := &counting{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var progress []Progress
	var pmu sync.Mutex
	res, err := Run(context.Background(), Options{URL: hs.URL + "/predict", Concurrency: 4, MaxRequests: 60, Duration: time.Minute,
		Bodies:   [][]byte{[]byte(`{"a":1}`), []byte(`{"bad":1}`), []byte(`{"boom":1}`)},
		Progress: func(p Progress) { pmu.Lock(); progress = append(progress, p); pmu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 60 || srv.n.Load() != 60 || res.Errors != 0 {
		t.Fatalf("requests %d (server saw %d), errors %d", res.Requests, srv.n.Load(), res.Errors)
	}
	if fmt.Sprint(res.Status) != "map[200:20 422:20 500:20]" || res.Non2xx != 40 {
		t.Errorf("status %v non2xx %d", res.Status, res.Non2xx)
	}
	for b, n := range srv.bodies {
		if n != 20 {
			t.Errorf("body %s sent %d times, want 20 (round robin)", b, n)
		}
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max && res.Max > 0 && res.Throughput > 0) {
		t.Errorf("quantiles out of order: %+v", res)
	}
	pmu.Lock()
	last := progress[len(progress)-1]
	pmu.Unlock()
	if !last.Done || last.Fraction != 1 || last.Requests != 60 {
		t.Errorf("final progress %+v", last)
	}
	js, _ := json.Marshal(res)
	for _, k := range []string{`"requests":60`, `"p99_ms":`, `"status":{"200":20,"422":20,"500":20}`, `"mode":"concurrency"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("JSON %s lacks %s", js, k)
		}
	}
	if s := res.String(); !strings.Contains(s, "200×20") || !strings.Contains(s, "p99") {
		t.Errorf("summary %q", s)
	}
}

// TestOpenLoopMeasuresFromIntendedTime: the first request stalls the only
// worker for 150 ms; the next ones were due every 5 ms, so their latency
// includes the wait. A closed-loop client would report them as fast.
func TestOpenLoopMeasuresFromIntendedTime(t *testing.T) {
	srv := &counting{delay: func(n int64) time.Duration {
		if n == 1 {
			return 150 * time.Millisecond
		}
		return 0
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	res, err := Run(context.Background(), Options{URL: hs.URL, Rate: 200, Concurrency: 1, MaxRequests: 11, Duration: time.Minute,
		Bodies: [][]byte{[]byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 11 || res.Mode != "rate" {
		t.Fatalf("requests %d mode %s", res.Requests, res.Mode)
	}
	// Request k (k = 1..10) was due at 5k ms and could not start before
	// 150 ms, so its latency is at least 150 - 5k ms: the median over 11 is
	// at least 150 - 25 = 125 ms.
	if res.P50 < 100*time.Millisecond {
		t.Errorf("p50 %s: latency was measured from the send, not the intended time", res.P50)
	}
	if res.Late < 9 {
		t.Errorf("late %d, want the queued requests counted", res.Late)
	}
}

func TestOpenLoopPacing(t *testing.T) {
	srv := &counting{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	start := time.Now()
	res, err := Run(context.Background(), Options{URL: hs.URL, Rate: 100, MaxRequests: 10, Duration: time.Minute, Bodies: [][]byte{[]byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	// 10 requests at 100/s: the last is due at 90 ms, so the run cannot end sooner.
	if el := time.Since(start); res.Requests != 10 || el < 90*time.Millisecond {
		t.Errorf("%d requests in %s", res.Requests, el)
	}
}

func TestDurationBound(t *testing.T) {
	hs := httptest.NewServer(&counting{})
	defer hs.Close()
	tests := []struct {
		o        Options
		minEl    time.Duration
		requests int // exact count when known (0: any > 0)
	}{
		{Options{Concurrency: 2}, 100 * time.Millisecond, 0},
		// At 50/s the sends are due at 0, 20, 40, 60 and 80 ms.
		{Options{Rate: 50}, 80 * time.Millisecond, 5},
	}
	for _, tc := range tests {
		o := tc.o
		o.URL, o.Duration, o.Bodies = hs.URL, 100*time.Millisecond, [][]byte{[]byte(`{}`)}
		start := time.Now()
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		if el < tc.minEl || el > 5*time.Second || res.Requests == 0 || (tc.requests > 0 && res.Requests != tc.requests) {
			t.Errorf("rate %v: %d requests in %s", o.Rate, res.Requests, el)
		}
	}
}

func TestTransportErrorsCounted(t *testing.T) {
	hs := httptest.NewServer(&counting{})
	defer hs.Close()
	res, err := Run(context.Background(), Options{URL: hs.URL, Concurrency: 2, MaxRequests: 10, Bodies: [][]byte{[]byte(`{"hangup":1}`), []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 5 || res.Status[200] != 5 || len(res.ErrorSamples) == 0 {
		t.Errorf("errors %d status %v samples %v", res.Errors, res.Status, res.ErrorSamples)
	}
	dead := httptest.NewServer(&counting{})
	url := dead.URL
	dead.Close()
	res, _ = Run(context.Background(), Options{URL: url, Concurrency: 1, MaxRequests: 3, Bodies: [][]byte{[]byte(`{}`)}})
	if res.Errors != 3 || !strings.Contains(strings.Join(res.ErrorSamples, " "), "refused") {
		t.Errorf("dead server: %+v", res)
	}
}

func TestScenarioEndsRun(t *testing.T) {
	srv := &counting{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for _, mode := range []Options{{Concurrency: 3}, {Rate: 1000}} {
		mode.URL = hs.URL
		mode.Scenario = func(i int, _ time.Duration) ([]byte, time.Duration) {
			if i >= 7 {
				return nil, 0
			}
			return []byte(fmt.Sprintf(`{"i":%d}`, i)), 0
		}
		res, err := Run(context.Background(), mode)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 7 {
			t.Errorf("%+v: %d requests, want 7", mode.Rate, res.Requests)
		}
	}
}

func TestCancelReturnsPartialResult(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &counting{delay: func(n int64) time.Duration {
		if n == 5 {
			cancel()
		}
		return 0
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	res, err := Run(ctx, Options{URL: hs.URL, Concurrency: 1, Duration: time.Minute, Bodies: [][]byte{[]byte(`{}`)}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res.Requests < 4 || res.Requests > 6 || res.Errors != 0 {
		t.Errorf("partial result %+v", res)
	}
}

func TestRunValidates(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{URL: "http://example.com"}, "not loopback"},
		{Options{URL: "http://127.0.0.1:1", Rate: -1, Bodies: [][]byte{{}}}, ">= 0"},
		{Options{URL: "http://127.0.0.1:1", Duration: 48 * time.Hour, Bodies: [][]byte{{}}}, "bound"},
		{Options{URL: "http://127.0.0.1:1"}, "no request bodies"},
	}
	for _, tc := range tests {
		if _, err := Run(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestEpisodes(t *testing.T) {
	body := func(s string) func(int) []byte { return func(int) []byte { return []byte(s) } }
	sc := Episodes(false,
		Episode{Name: "normal", Duration: 10 * time.Second, Rate: 20, Body: body("normal")},
		Episode{Name: "2025 wave", Duration: 5 * time.Second, Rate: 100, Body: body("2025")},
	)
	tests := []struct {
		t    time.Duration
		body string
		gap  time.Duration
	}{
		{0, "normal", 50 * time.Millisecond},
		{9999 * time.Millisecond, "normal", 50 * time.Millisecond},
		{10 * time.Second, "2025", 10 * time.Millisecond},
		{15 * time.Second, "", 0},
	}
	for _, tc := range tests {
		b, gap := sc(0, tc.t)
		if string(b) != tc.body || gap != tc.gap || (tc.body == "" && b != nil) {
			t.Errorf("t=%s: %q %s, want %q %s", tc.t, b, gap, tc.body, tc.gap)
		}
	}
	loop := Episodes(true, Episode{Duration: time.Second, Body: body("a")}, Episode{Duration: time.Second, Body: body("b")})
	if b, _ := loop(0, 3500*time.Millisecond); string(b) != "b" {
		t.Errorf("looped episode %q, want b", b)
	}
	if b, _ := Episodes(true)(0, 0); b != nil {
		t.Error("no episodes should end at once")
	}
}

func TestEncodeListings(t *testing.T) {
	l := engine.EmptyListing()
	l.ModelYear, l.Model, l.Price = 2014, "ford f-150", 9000
	bs, err := EncodeListings([]engine.Listing{l})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(bs[0], &m); err != nil {
		t.Fatal(err)
	}
	if m["model_year"] != 2014.0 || m["model"] != "ford f-150" || m["price"] != nil || len(m) != 2 {
		t.Errorf("encoded %s", bs[0])
	}
}
