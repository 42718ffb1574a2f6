// Package loadtest drives bounded HTTP load against the API: open-loop at a
// fixed rate (latency measured from each request's intended send time, so a
// stalled server is not hidden by a stalled client) or closed-loop with a
// fixed number of workers. Loopback only unless told otherwise.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"carvision/engine"
	"carvision/engine/remote"
)

// Bounds and defaults.
const (
	DefaultDuration       = 10 * time.Second
	MaxDuration           = 24 * time.Hour
	DefaultMaxRequests    = 1_000_000
	DefaultConcurrency    = 8   // closed loop workers
	DefaultRateInFlight   = 256 // open loop: most requests in flight at once
	DefaultRequestTimeout = 10 * time.Second
	DefaultProgressEvery  = 500 * time.Millisecond
	maxErrorSamples       = 5
)

// Scenario scripts the traffic: it returns the body of request i, sent t
// after the start, and a delay hint: in rate mode the gap before the next
// request (0: 1/Rate); in concurrency mode a pause after this request. A nil
// body ends the run. The console's demo traffic uses it for waves (2025
// model years, malformed bodies, bursts).
type Scenario func(i int, t time.Duration) (body []byte, delay time.Duration)

// Progress is reported every ProgressEvery and once at the end.
type Progress struct {
	Elapsed  time.Duration
	Requests int     // completed
	Errors   int     // transport errors
	Non2xx   int     // HTTP answers outside 2xx
	RPS      float64 // completed per second so far
	Fraction float64 // of the bound (time or count) reached
	ETA      time.Duration
	Done     bool
}

// Options configures Run.
type Options struct {
	URL    string // e.g. http://127.0.0.1:8000/predict
	Method string // default POST
	// Rate > 0 selects open-loop mode (requests per second); otherwise
	// Concurrency workers send back to back (closed loop).
	Rate        float64
	Concurrency int // closed loop: workers (default 8); open loop: max in flight (default 256)
	Duration    time.Duration
	MaxRequests int
	Bodies      [][]byte // replayed round robin
	Scenario    Scenario // overrides Bodies
	ContentType string   // default application/json
	Header      http.Header
	Client      *http.Client // default: keep-alive pool sized to the concurrency
	Timeout     time.Duration
	AllowRemote bool           // permit hosts other than loopback
	Progress    func(Progress) // called from one goroutine, never concurrently
	// ProgressEvery is the reporting period (default 500 ms).
	ProgressEvery time.Duration
}

// Result summarises a run.
type Result struct {
	Mode         string // rate | concurrency
	Requests     int    // completed with an HTTP answer or an error
	Errors       int    // transport errors (refused, reset, timeout)
	Status       map[int]int
	Non2xx       int
	Late         int // rate mode: sent more than 1 ms after the intended time (client saturated)
	Duration     time.Duration
	Throughput   float64 // completed per second
	P50, P90     time.Duration
	P99, Max     time.Duration
	Mean         time.Duration
	ErrorSamples []string
}

// MarshalJSON writes durations in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	st := map[string]int{}
	for k, v := range r.Status {
		st[fmt.Sprint(k)] = v
	}
	return json.Marshal(struct {
		Mode         string         `json:"mode"`
		Requests     int            `json:"requests"`
		Errors       int            `json:"errors"`
		Status       map[string]int `json:"status"`
		Non2xx       int            `json:"non_2xx"`
		Late         int            `json:"late"`
		DurationS    float64        `json:"duration_s"`
		Throughput   float64        `json:"throughput_rps"`
		P50          float64        `json:"p50_ms"`
		P90          float64        `json:"p90_ms"`
		P99          float64        `json:"p99_ms"`
		Max          float64        `json:"max_ms"`
		Mean         float64        `json:"mean_ms"`
		ErrorSamples []string       `json:"error_samples,omitempty"`
	}{r.Mode, r.Requests, r.Errors, st, r.Non2xx, r.Late, r.Duration.Seconds(), r.Throughput,
		ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), ms(r.Mean), r.ErrorSamples})
}

// String is the one-paragraph summary the CLI prints.
func (r Result) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d requests in %.1fs (%s): %.0f req/s\n", r.Requests, r.Duration.Seconds(), r.Mode, r.Throughput)
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	sb.WriteString("status:")
	for _, c := range codes {
		fmt.Fprintf(&sb, " %d×%d", c, r.Status[c])
	}
	if r.Errors > 0 {
		fmt.Fprintf(&sb, " errors×%d", r.Errors)
	}
	fmt.Fprintf(&sb, "\nlatency: p50 %s  p90 %s  p99 %s  max %s", r.P50, r.P90, r.P99, r.Max)
	if r.Late > 0 {
		fmt.Fprintf(&sb, "\nwarning: %d requests left late: the client could not keep the rate", r.Late)
	}
	return sb.String()
}

// CheckTarget parses the URL and refuses non-loopback hosts unless allowed.
func CheckTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("loadtest: url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("loadtest: url %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("loadtest: url %q: no host", raw)
	}
	if allowRemote {
		return u, nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return u, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, fmt.Errorf("loadtest: refusing to load %s: host %q is not loopback (allow remote targets explicitly, e.g. --allow-remote)", raw, host)
}

// EncodeListings turns listings into /predict bodies for Options.Bodies.
func EncodeListings(ls []engine.Listing) ([][]byte, error) {
	out := make([][]byte, 0, len(ls))
	for i, l := range ls {
		b, err := remote.ListingJSON(l)
		if err != nil {
			return nil, fmt.Errorf("loadtest: listing %d: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

type run struct {
	o        Options
	u        string
	client   *http.Client
	start    time.Time
	deadline time.Time
	scenario Scenario

	done    atomic.Int64
	errs    atomic.Int64
	non2xx  atomic.Int64
	late    atomic.Int64
	mu      sync.Mutex
	lat     []time.Duration
	status  map[int]int
	samples []string
}

// Run sends load until Duration passes, MaxRequests complete, the scenario
// ends or ctx ends (then the partial result comes with ctx's error).
func Run(ctx context.Context, o Options) (Result, error) {
	u, err := CheckTarget(o.URL, o.AllowRemote)
	if err != nil {
		return Result{}, err
	}
	switch {
	case o.Rate < 0 || o.Concurrency < 0 || o.MaxRequests < 0 || o.Duration < 0:
		return Result{}, errors.New("loadtest: rate, concurrency, max requests and duration must be >= 0")
	case o.Duration > MaxDuration:
		return Result{}, fmt.Errorf("loadtest: duration %s over the %s bound", o.Duration, MaxDuration)
	}
	if o.Method == "" {
		o.Method = http.MethodPost
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
		if o.Rate > 0 {
			o.Concurrency = DefaultRateInFlight
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRequestTimeout
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	if o.ContentType == "" {
		o.ContentType = "application/json"
	}
	r := &run{o: o, u: u.String(), client: o.Client, status: map[int]int{}, scenario: o.Scenario}
	if r.scenario == nil {
		if len(o.Bodies) == 0 && o.Method != http.MethodGet && o.Method != http.MethodHead {
			return Result{}, errors.New("loadtest: no request bodies (give Bodies or a Scenario)")
		}
		bodies := o.Bodies
		r.scenario = func(i int, _ time.Duration) ([]byte, time.Duration) {
			if len(bodies) == 0 {
				return []byte{}, 0
			}
			return bodies[i%len(bodies)], 0
		}
	}
	if r.client == nil {
		tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: 30 * time.Second}
		defer tr.CloseIdleConnections()
		r.client = &http.Client{Transport: tr}
	}
	r.start = time.Now()
	r.deadline = r.start.Add(o.Duration)
	stopProgress := r.progressLoop()
	if o.Rate > 0 {
		r.openLoop(ctx)
	} else {
		r.closedLoop(ctx)
	}
	stopProgress()
	res := r.result()
	if o.Progress != nil {
		o.Progress(Progress{Elapsed: res.Duration, Requests: res.Requests, Errors: res.Errors, Non2xx: res.Non2xx,
			RPS: res.Throughput, Fraction: 1, Done: true})
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadtest: stopped early: %w", err)
	}
	return res, nil
}

func (r *run) progressLoop() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.o.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				el := now.Sub(r.start)
				n := int(r.done.Load())
				frac := max(el.Seconds()/r.o.Duration.Seconds(), float64(n)/float64(r.o.MaxRequests))
				frac = min(frac, 1)
				p := Progress{Elapsed: el, Requests: n, Errors: int(r.errs.Load()), Non2xx: int(r.non2xx.Load()), Fraction: frac}
				if el > 0 {
					p.RPS = float64(n) / el.Seconds()
				}
				if frac > 0 {
					p.ETA = time.Duration(float64(el) * (1 - frac) / frac)
				}
				r.o.Progress(p)
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

type job struct {
	i        int
	intended time.Time
	body     []byte
}

// openLoop schedules request i at its intended time regardless of how the
// earlier ones fare; a job waiting for a free worker keeps its intended time.
func (r *run) openLoop(ctx context.Context) {
	jobs := make(chan job, r.o.Concurrency)
	var wg sync.WaitGroup
	for w := 0; w < r.o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if time.Since(j.intended) > time.Millisecond {
					r.late.Add(1)
				}
				r.do(ctx, j.body, j.intended)
			}
		}()
	}
	gap := time.Duration(float64(time.Second) / r.o.Rate)
	next := r.start
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for i := 0; i < r.o.MaxRequests; i++ {
		if !next.Before(r.deadline) {
			break
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		} else if time.Now().After(r.deadline) || ctx.Err() != nil {
			break
		}
		body, hint := r.scenario(i, next.Sub(r.start))
		if body == nil {
			break
		}
		select {
		case jobs <- job{i: i, intended: next, body: body}:
		case <-ctx.Done():
			break loop
		}
		if hint > 0 {
			next = next.Add(hint)
		} else {
			next = next.Add(gap)
		}
	}
	close(jobs)
	wg.Wait()
}

func (r *run) closedLoop(ctx context.Context) {
	var next atomic.Int64
	var ended atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < r.o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !ended.Load() {
				i := int(next.Add(1) - 1)
				now := time.Now()
				if i >= r.o.MaxRequests || !now.Before(r.deadline) {
					return
				}
				body, pause := r.scenario(i, now.Sub(r.start))
				if body == nil {
					ended.Store(true)
					return
				}
				r.do(ctx, body, now)
				if pause > 0 {
					t := time.NewTimer(pause)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
			}
		}()
	}
	wg.Wait()
}

// do sends one request; latency counts from from (the intended time in rate
// mode).
func (r *run) do(ctx context.Context, body []byte, from time.Time) {
	rctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil && r.o.Method != http.MethodGet && r.o.Method != http.MethodHead {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, r.o.Method, r.u, rd)
	if err != nil {
		r.fail(err)
		return
	}
	if rd != nil {
		req.Header.Set("Content-Type", r.o.ContentType)
	}
	for k, vs := range r.o.Header {
		req.Header[k] = vs
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the run was cancelled: not the server's failure
		}
		r.fail(err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	lat := time.Since(from)
	r.done.Add(1)
	if resp.StatusCode/100 != 2 {
		r.non2xx.Add(1)
	}
	r.mu.Lock()
	r.lat = append(r.lat, lat)
	r.status[resp.StatusCode]++
	r.mu.Unlock()
}

func (r *run) fail(err error) {
	r.done.Add(1)
	r.errs.Add(1)
	msg := err.Error()
	r.mu.Lock()
	if len(r.samples) < maxErrorSamples && !slices.Contains(r.samples, msg) {
		r.samples = append(r.samples, msg)
	}
	r.mu.Unlock()
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Mode: "concurrency", Requests: int(r.done.Load()), Errors: int(r.errs.Load()), Non2xx: int(r.non2xx.Load()),
		Late: int(r.late.Load()), Status: r.status, Duration: time.Since(r.start), ErrorSamples: r.samples}
	if r.o.Rate > 0 {
		res.Mode = "rate"
	}
	if res.Duration > 0 {
		res.Throughput = float64(res.Requests) / res.Duration.Seconds()
	}
	if n := len(r.lat); n > 0 {
		slices.Sort(r.lat)
		q := func(p float64) time.Duration {
			k := int(p*float64(n)+0.999999999) - 1 // nearest rank
			return r.lat[min(max(k, 0), n-1)]
		}
		res.P50, res.P90, res.P99, res.Max = q(0.50), q(0.90), q(0.99), r.lat[n-1]
		var sum time.Duration
		for _, d := range r.lat {
			sum += d
		}
		res.Mean = sum / time.Duration(n)
	}
	return res
}

// Episode is one phase of scripted traffic.
type Episode struct {
	Name     string
	Duration time.Duration
	Rate     float64            // requests per second during the episode (0: the run's own pacing)
	Body     func(i int) []byte // body of request i (the run's index)
}

// Episodes chains phases into a Scenario: the episode is chosen by the time
// since the start; after the last one the scenario ends, or starts over when
// loop is set.
func Episodes(loop bool, eps ...Episode) Scenario {
	var total time.Duration
	for _, e := range eps {
		total += e.Duration
	}
	return func(i int, t time.Duration) ([]byte, time.Duration) {
		if total <= 0 {
			return nil, 0
		}
		if t >= total {
			if !loop {
				return nil, 0
			}
			t %= total
		}
		for _, e := range eps {
			if t < e.Duration {
				var gap time.Duration
				if e.Rate > 0 {
					gap = time.Duration(float64(time.Second) / e.Rate)
				}
				return e.Body(i), gap
			}
			t -= e.Duration
		}
		return nil, 0
	}
}
