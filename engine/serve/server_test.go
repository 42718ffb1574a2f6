package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"carvision/engine"
)

func TestHandlerStatuses(t *testing.T) {
	const ct = "application/json"
	tests := []struct {
		name    string
		model   *fakeModel // nil: no model loaded
		method  string
		target  string
		ctype   string
		body    string
		status  int
		contain []string // substrings of the body
		header  [2]string
	}{
		{name: "predict ok", method: "POST", target: "/predict", ctype: ct, body: validBody, status: 200,
			contain: []string{`"predicted_price":21140`, `"model_version":"v1"`, `"warnings":[]`, `"request_id":`}},
		{name: "predict charset and +json", method: "POST", target: "/predict", ctype: "application/vnd.api+json; Charset=\"UTF-8\"", body: validBody, status: 200},
		{name: "predict model warning", model: &fakeModel{version: "v1", warn: `unknown model "zz"`}, method: "POST", target: "/predict", ctype: ct,
			body: `{"model_year":2011,"model":"zz"}`, status: 200, contain: []string{`"warnings":["unknown model \"zz\""]`}},
		{name: "predict explain query", method: "POST", target: "/predict?explain=true&comparables=5", ctype: ct, body: validBody, status: 200},
		{name: "predict bad query", method: "POST", target: "/predict?comparables=x", ctype: ct, body: validBody, status: 422,
			contain: []string{`"loc":["query","comparables"]`}},
		{name: "422 FastAPI body", method: "POST", target: "/predict", ctype: ct, body: `{"model_year":2011,"model":"x","odometer":-3}`, status: 422,
			contain: []string{`{"detail":[{"loc":["body","odometer"],"msg":"Input should be greater than or equal to 0","type":"greater_than_equal"}]`}},
		{name: "422 unknown field named", method: "POST", target: "/predict", ctype: ct, body: `{"model_year":2011,"model":"x","drive":"fwd"}`, status: 422,
			contain: []string{`"loc":["body","drive"]`, `extra_forbidden`}},
		{name: "422 missing required", method: "POST", target: "/predict", ctype: ct, body: `{"odometer":5}`, status: 422,
			contain: []string{`["body","model_year"]`, `["body","model"]`, `Field required`}},
		{name: "400 malformed with offset", method: "POST", target: "/predict", ctype: ct, body: `{"model_year": 20x}`, status: 400,
			contain: []string{`"loc":["body",17]`, `json_invalid`}},
		{name: "413 over limit", method: "POST", target: "/predict", ctype: ct, body: `{"model":"` + strings.Repeat("a", 2000) + `"}`, status: 413},
		{name: "415 text/plain", method: "POST", target: "/predict", ctype: "text/plain", body: validBody, status: 415},
		{name: "415 missing content type", method: "POST", target: "/predict", body: validBody, status: 415},
		{name: "415 form", method: "POST", target: "/predict", ctype: "application/x-www-form-urlencoded", body: validBody, status: 415},
		{name: "415 latin-1", method: "POST", target: "/predict", ctype: "application/json; charset=latin-1", body: validBody, status: 415},
		{name: "405 GET predict", method: "GET", target: "/predict", status: 405, header: [2]string{"Allow", "POST"}},
		{name: "405 POST health", method: "POST", target: "/health", ctype: ct, status: 405, header: [2]string{"Allow", "GET, HEAD"}},
		{name: "405 DELETE model", method: "DELETE", target: "/model", status: 405, header: [2]string{"Allow", "GET, HEAD"}},
		{name: "404 json", method: "GET", target: "/nope", status: 404, contain: []string{`{"detail":"Not Found"`}},
		{name: "503 predict no model", model: nil, method: "POST", target: "/predict", ctype: ct, body: validBody, status: 503, contain: []string{"no model loaded"}},
		{name: "503 batch no model", model: nil, method: "POST", target: "/predict_batch", ctype: ct, body: `[` + validBody + `]`, status: 503},
		{name: "503 model no model", model: nil, method: "GET", target: "/model", status: 503},
		{name: "500 model error leaks nothing", model: &fakeModel{version: "v1", err: errBoom}, method: "POST", target: "/predict", ctype: ct, body: validBody, status: 500,
			contain: []string{"prediction failed"}},
		{name: "500 model panic leaks nothing", model: &fakeModel{version: "v1", panicMsg: "secret internal detail"}, method: "POST", target: "/predict", ctype: ct, body: validBody, status: 500},
		{name: "health ok", method: "GET", target: "/health", status: 200, contain: []string{`"status":"healthy"`, `"model_version":"v1"`, `"uptime_seconds":`}},
		{name: "health HEAD", method: "HEAD", target: "/health", status: 200},
		{name: "health no model", model: nil, method: "GET", target: "/health", status: 503, contain: []string{`"status":"unhealthy"`, `"reason":"no model loaded"`}},
		{name: "health schema mismatch", model: &fakeModel{version: "v2", schemaErr: errors.New(`Missing column "brand" (drop_columns in config.yaml)`)}, method: "GET", target: "/health", status: 503,
			contain: []string{`schema mismatch: Missing column \"brand\"`}},
		{name: "livez without model", model: nil, method: "GET", target: "/livez", status: 200},
		{name: "ready", method: "GET", target: "/ready", status: 200, contain: []string{`"status":"ready"`}},
		{name: "ready no model", model: nil, method: "GET", target: "/ready", status: 503},
		{name: "ready despite schema mismatch", model: &fakeModel{version: "v2", schemaErr: errors.New("x")}, method: "GET", target: "/ready", status: 200},
		{name: "model info", method: "GET", target: "/model", status: 200, contain: []string{`"version":"v1"`, `"drop_columns":["days_listed"]`}},
		{name: "index", method: "GET", target: "/", status: 200, contain: []string{`"/predict_batch"`}},
		{name: "metrics", method: "GET", target: "/metrics", status: 200, contain: []string{"# TYPE carvision_request_duration_seconds histogram"}},
		{name: "snapshot default", method: "GET", target: "/snapshot", status: 200, contain: []string{`"window":300000000000`, `"status":"healthy"`}},
		{name: "snapshot bad window", method: "GET", target: "/snapshot?window=forever", status: 422, contain: []string{`["query","window"]`}},
		{name: "snapshot window too long", method: "GET", target: "/snapshot?window=48h", status: 422},
		{name: "market disabled", method: "GET", target: "/market/summary", status: 404},
		{name: "batch ok", method: "POST", target: "/predict_batch", ctype: ct, body: `{"vehicles":[` + validBody + `,{"model":"x"}]}`, status: 200,
			contain: []string{`"count":2`, `"failed":1`, `"index":1,"status":422`, `["body","vehicles",1,"model_year"]`}},
		{name: "batch too long", method: "POST", target: "/predict_batch", ctype: ct, body: `[` + strings.Repeat(`{"model_year":2011,"model":"x"},`, 5) + `{"model_year":2011,"model":"x"}]`, status: 422,
			contain: []string{"too_long"}},
		{name: "batch malformed", method: "POST", target: "/predict_batch", ctype: ct, body: `[{"model":`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Model
			switch {
			case tc.model != nil:
				m = tc.model
			case !strings.Contains(tc.name, "no model"):
				m = &fakeModel{version: "v1"}
			}
			ts := newTestServer(t, m, func(o *Options) { o.BodyLimit = 1024; o.BatchMax = 5 })
			rec := ts.do(tc.method, tc.target, tc.ctype, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			body := rec.Body.String()
			for _, c := range tc.contain {
				if !strings.Contains(body, c) {
					t.Errorf("body %s\nlacks %s", body, c)
				}
			}
			if tc.method != "HEAD" && tc.target != "/metrics" {
				decodeJSON(t, rec.Body.Bytes())
				if got := rec.Header().Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type %q", got)
				}
			}
			if tc.header[0] != "" && rec.Header().Get(tc.header[0]) != tc.header[1] {
				t.Errorf("header %s = %q, want %q", tc.header[0], rec.Header().Get(tc.header[0]), tc.header[1])
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tc.target != "/metrics" && (strings.Contains(body, "secret") || strings.Contains(body, "goroutine")) {
				t.Errorf("internals leaked: %s", body)
			}
		})
	}
}

func TestPanicLoggedWithRequestID(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v1", panicMsg: "kaboom"}, nil)
	rec := ts.do("POST", "/predict", "application/json", validBody, "X-Request-Id", "req-42")
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var found bool
	for _, l := range ts.logs.logLines(t) {
		if l["request_id"] == "req-42" && l["msg"] == "predict failed" && strings.Contains(fmt.Sprint(l["error"]), "kaboom") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error log with the request ID and the panic:\n%s", ts.logs)
	}
}

// A panic outside the model (here in the market hook) is caught by the
// recovery middleware and logged with the request ID and stack.
func TestRecoverMiddleware(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v1"}, func(o *Options) {
		o.MarketFunc = func(context.Context, engine.MarketFilter) (engine.MarketReport, error) {
			panic("market exploded at 0xdeadbeef")
		}
	})
	rec := ts.do("GET", "/market/summary", "", "", "X-Request-Id", "abc")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "deadbeef") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"request_id":"abc"`) {
		t.Errorf("500 body should carry the request ID: %s", rec.Body)
	}
	var panicLine, accessLine bool
	for _, l := range ts.logs.logLines(t) {
		if l["msg"] == "panic" && l["request_id"] == "abc" && strings.Contains(fmt.Sprint(l["stack"]), "goroutine") {
			panicLine = true
		}
		if l["msg"] == "request" && l["request_id"] == "abc" && l["status"] == float64(500) && l["level"] == "ERROR" {
			accessLine = true
		}
	}
	if !panicLine || !accessLine {
		t.Errorf("panic line %v, access line %v:\n%s", panicLine, accessLine, ts.logs)
	}
	// The server still answers.
	if rec := ts.predict(validBody); rec.Code != 200 {
		t.Errorf("after a panic: status %d", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v1"}, nil)
	tests := []struct {
		in   string
		echo bool
	}{
		{"abc-123", true},
		{"trace:0af7651916cd43dd8448eb211c80319c", true},
		{"", false},
		{"has space", false},
		{"line\nbreak", false},
		{strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		req := httptest.NewRequest("POST", "/predict", strings.NewReader(validBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header["X-Request-Id"] = []string{tc.in}
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if tc.echo != (got == tc.in) {
			t.Errorf("in %q: got %q", tc.in, got)
		}
		if seen[got] {
			t.Errorf("duplicate generated ID %q", got)
		}
		seen[got] = true
		body := decodeJSON(t, rec.Body.Bytes())
		if body["request_id"] != got {
			t.Errorf("body request_id %v, header %q", body["request_id"], got)
		}
	}
}

func TestAccessLog(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v7"}, nil)
	ts.do("POST", "/predict", "application/json", `{"model_year":2011,"model":"x","odometer":-1}`, "X-Request-Id", "r1")
	ts.do("POST", "/predict", "application/json", validBody, "X-Request-Id", "r2")
	byID := map[string]map[string]any{}
	for _, l := range ts.logs.logLines(t) {
		if l["msg"] == "request" {
			byID[fmt.Sprint(l["request_id"])] = l
		}
	}
	r1, r2 := byID["r1"], byID["r2"]
	if r1 == nil || r2 == nil {
		t.Fatalf("missing access lines:\n%s", ts.logs)
	}
	for _, k := range []string{"method", "path", "status", "latency_ms", "model_version"} {
		if _, ok := r2[k]; !ok {
			t.Errorf("access line lacks %s: %v", k, r2)
		}
	}
	if r1["status"] != float64(422) || !strings.Contains(fmt.Sprint(r1["error"]), "body.odometer: Input should be greater than or equal to 0") {
		t.Errorf("validation error not logged: %v", r1)
	}
	if r2["model_version"] != "v7" || r2["path"] != "/predict" {
		t.Errorf("bad access line %v", r2)
	}
}

func TestHealthUptimeAndLogOnce(t *testing.T) {
	m := &fakeModel{version: "v1"}
	ts := newTestServer(t, m, nil)
	ts.clock.Advance(90 * time.Second)
	h := decodeJSON(t, ts.do("GET", "/health", "", "").Body.Bytes())
	if h["uptime_seconds"] != float64(90) {
		t.Errorf("uptime %v, want 90", h["uptime_seconds"])
	}
	m.schemaErr = errors.New(`Missing column "brand": the model expects it but drop_columns removes it`)
	for i := 0; i < 3; i++ {
		ts.do("GET", "/health", "", "")
	}
	n := strings.Count(ts.logs.String(), `"msg":"Missing column \"brand\"`)
	if n != 1 {
		t.Errorf("the mismatch should be logged once as its own message, got %d:\n%s", n, ts.logs)
	}
}

func TestLimiter(t *testing.T) {
	m := &fakeModel{version: "v1", gate: make(chan struct{}), entered: make(chan string, 4)}
	ts := newTestServer(t, m, func(o *Options) { o.MaxConcurrent = 2 })
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- ts.predict(validBody).Code }()
	}
	waitFor(t, m.entered, "first request in the model")
	waitFor(t, m.entered, "second request in the model")
	rec := ts.predict(validBody)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("third request: status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Probes are never limited.
	if rec := ts.do("GET", "/livez", "", ""); rec.Code != 200 {
		t.Errorf("livez under load: %d", rec.Code)
	}
	if rec := ts.do("GET", "/metrics", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "carvision_requests_in_flight 3") {
		t.Errorf("metrics under load: %d, in_flight line missing", rec.Code)
	}
	close(m.gate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("held request: %d", c)
		}
	}
	if rec := ts.predict(validBody); rec.Code != 200 {
		t.Errorf("after release: %d", rec.Code)
	}
}

func TestSnapshotAndMarket(t *testing.T) {
	var gotWindow time.Duration
	var gotFilter engine.MarketFilter
	nan := engine.FeatureDrift{Feature: "vehicle_age", PSI: 0}
	ts := newTestServer(t, &fakeModel{version: "v3"}, func(o *Options) {
		o.SnapshotFunc = func(_ context.Context, w time.Duration) (engine.Snapshot, error) {
			gotWindow = w
			d := nan
			d.KS = 0.5
			d.Score = nanValue()
			return engine.Snapshot{Latency: []engine.LatencyStats{{Endpoint: "all", P99MS: 1.5}}, Drift: engine.DriftSummary{Status: "collecting", Features: []engine.FeatureDrift{d}}}, nil
		}
		o.MarketFunc = func(_ context.Context, f engine.MarketFilter) (engine.MarketReport, error) {
			gotFilter = f
			return engine.MarketReport{ReferenceYear: 2019, Filter: f}, nil
		}
	})
	rec := ts.do("GET", "/snapshot?window=1m", "", "")
	if rec.Code != 200 {
		t.Fatalf("snapshot: %d %s", rec.Code, rec.Body)
	}
	var snap engine.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &snap); err != nil {
		t.Fatal(err)
	}
	if gotWindow != time.Minute || snap.Window != time.Minute || snap.Model.Version != "v3" || snap.Health.Status != "healthy" ||
		len(snap.Latency) != 1 || snap.Drift.Features[0].KS != 0.5 || snap.Drift.Features[0].Score != 0 {
		t.Errorf("snapshot %+v (NaN must be scrubbed to 0, server view filled in)", snap)
	}
	rec = ts.do("GET", "/market/summary?min_price=1000&max_price=50000&min_year=2005&brands=ford,+bmw&brands=kia&year=2019", "", "")
	if rec.Code != 200 {
		t.Fatalf("market: %d %s", rec.Code, rec.Body)
	}
	if gotFilter.MinPrice != 1000 || gotFilter.MaxPrice != 50000 || gotFilter.MinYear != 2005 || gotFilter.Year != 2019 ||
		strings.Join(gotFilter.Brands, ",") != "ford,bmw,kia" {
		t.Errorf("filter %+v", gotFilter)
	}
	for _, q := range []string{"min_price=abc", "min_price=NaN", "min_year=-1", "min_price=10&max_price=5"} {
		if rec := ts.do("GET", "/market/summary?"+q, "", ""); rec.Code != 422 {
			t.Errorf("%s: status %d", q, rec.Code)
		}
	}
}

func nanValue() float64 { var z float64; return z / z }

// slowModel advances the test clock while it predicts, so the server
// measures exactly d for the request.
type slowModel struct {
	*fakeModel
	clock *fakeClock
	d     time.Duration
}

func (m *slowModel) Predict(l engine.Listing, o engine.PredictOptions) (engine.Prediction, error) {
	m.clock.Advance(m.d)
	return m.fakeModel.Predict(l, o)
}

func TestMetricsExposition(t *testing.T) {
	pl := NewPredictionLog(PredictionLogOptions{Ring: 4})
	sm := &slowModel{fakeModel: &fakeModel{version: "v9"}}
	ts := newTestServer(t, sm, func(o *Options) { o.PredictionLog = pl })
	sm.clock = ts.clock
	if _, err := NewReloader(ReloaderOptions{Holder: ts.holder, Load: fileModelLoader, Path: "unused", Registry: ts.Registry()}); err != nil {
		t.Fatal(err)
	}
	if sc := ts.scrape(t); sc.sum(MetricRequestDuration+"_count", `endpoint="other"`) != 0 || strings.Contains(sc.text, `endpoint="other"`) {
		t.Errorf("endpoint=\"other\" exported before any stray path was requested")
	}
	for _, d := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second} {
		sm.d = d
		if rec := ts.predict(validBody); rec.Code != 200 {
			t.Fatalf("predict: %d %s", rec.Code, rec.Body)
		}
	}
	ts.do("GET", "/zzz", "", "")
	sc := ts.scrape(t)

	// The runbook's latency thresholds are bucket bounds: a 300 ms request
	// lands above 0.2 and within 0.5.
	bucket := func(le string) string {
		return MetricRequestDuration + `_bucket{endpoint="/predict",le="` + le + `"}`
	}
	for _, b := range LatencyBuckets {
		if _, ok := sc.series[bucket(strconv.FormatFloat(b, 'g', -1, 64))]; !ok {
			t.Errorf("no bucket le=%g for /predict", b)
		}
	}
	values := []struct {
		series string
		want   float64
	}{
		{bucket("0.1"), 1},
		{bucket("0.2"), 1},
		{bucket("0.5"), 2},
		{bucket("+Inf"), 3},
		{MetricRequestDuration + `_count{endpoint="/predict"}`, 3},
		{MetricRequestDuration + `_sum{endpoint="/predict"}`, 2.4},
		{MetricRequestDuration + `_count{endpoint="other"}`, 1},
		{MetricRequestDuration + `_count{endpoint="/livez"}`, 0}, // every route is exported from the start
		{MetricRequests + `{endpoint="/predict",method="POST",status="200"}`, 3},
		{MetricRequests + `{endpoint="other",method="GET",status="404"}`, 1},
		{MetricRequests + `{endpoint="/metrics",method="GET",status="200"}`, 1}, // the first scrape
		{MetricPredictions, 3},
		{MetricInFlight, 1}, // this scrape
		{MetricModelInfo + `{version="v9"}`, 1},
		{MetricModelLoaded, 1},
		{MetricHealthy, 1},
		{MetricReady, 1},
		{MetricBuildInfo + `{goversion="` + runtime.Version() + `",version="test"}`, 1},
		{MetricPredLogDropped, 0},
		{MetricReloadFailures, 0},
		{MetricReloads, 0},
	}
	for _, v := range values {
		got, ok := sc.series[v.series]
		if !ok {
			t.Errorf("exposition lacks %s", v.series)
			continue
		}
		if math.Abs(got-v.want) > 1e-9 {
			t.Errorf("%s = %g, want %g", v.series, got, v.want)
		}
	}

	// deploy/prometheus/rules.yml and dashboards read these by type.
	types := map[string]dto.MetricType{
		MetricRequestDuration:        dto.MetricType_HISTOGRAM,
		MetricRequests:               dto.MetricType_COUNTER,
		MetricPredictions:            dto.MetricType_COUNTER,
		MetricInFlight:               dto.MetricType_GAUGE,
		MetricModelInfo:              dto.MetricType_GAUGE,
		MetricModelLoaded:            dto.MetricType_GAUGE,
		MetricHealthy:                dto.MetricType_GAUGE,
		MetricReady:                  dto.MetricType_GAUGE,
		MetricBuildInfo:              dto.MetricType_GAUGE,
		MetricPredLogDropped:         dto.MetricType_COUNTER,
		MetricReloadFailures:         dto.MetricType_COUNTER,
		MetricReloads:                dto.MetricType_COUNTER,
		"go_goroutines":              dto.MetricType_GAUGE,
		"go_gc_duration_seconds":     dto.MetricType_SUMMARY,
		"process_start_time_seconds": dto.MetricType_GAUGE,
	}
	if runtime.GOOS == "linux" {
		types["process_resident_memory_bytes"] = dto.MetricType_GAUGE
	}
	for name, want := range types {
		if got, ok := sc.types[name]; !ok || got != want {
			t.Errorf("family %s: type %v (present %v), want %v", name, got, ok, want)
		}
	}
	if got := len(pl.Recent(0)); got != 3 {
		t.Errorf("prediction ring holds %d records, want 3", got)
	}
}

func TestMetricsWithoutModel(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	sc := ts.scrape(t)
	for series, want := range map[string]float64{MetricModelLoaded: 0, MetricHealthy: 0, MetricReady: 0} {
		if got, ok := sc.series[series]; !ok || got != want {
			t.Errorf("%s = %g (present %v), want %g", series, got, ok, want)
		}
	}
	if strings.Contains(sc.text, MetricModelInfo+"{") {
		t.Errorf("%s exported without a model", MetricModelInfo)
	}
	ts.holder.Swap(&fakeModel{version: "v2"})
	if sc := ts.scrape(t); sc.series[MetricModelInfo+`{version="v2"}`] != 1 || sc.series[MetricReady] != 1 {
		t.Errorf("a model swapped in is not reflected at the next scrape")
	}
}

// TestMetricsCountRequests checks that each kind of request moves exactly
// its own (endpoint, method, status) counter and latency histogram by one.
func TestMetricsCountRequests(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v9"}, nil)
	tests := []struct {
		name, method, target, body string
		endpoint, methodLabel      string
		status                     int
		predictions                float64
	}{
		{"predict", "POST", "/predict", validBody, "/predict", "POST", 200, 1},
		{"predict invalid", "POST", "/predict", `{"model_year":2011,"model":"x","odometer":-1}`, "/predict", "POST", 422, 0},
		{"batch counts each listing", "POST", "/predict_batch", `[` + validBody + `,` + validBody + `]`, "/predict_batch", "POST", 200, 2},
		{"wrong method", "GET", "/predict", "", "/predict", "GET", 405, 0},
		{"stray path", "GET", "/zzz", "", "other", "GET", 404, 0},
		{"unknown method", "BREW", "/health", "", "/health", "other", 405, 0},
		{"head probe", "HEAD", "/livez", "", "/livez", "HEAD", 200, 0},
	}
	// Requests other than /metrics itself: each subtest's first scrape is
	// counted in its second.
	served := func(sc scrape) float64 {
		return sc.sum(MetricRequests) - sc.sum(MetricRequests, `endpoint="/metrics"`)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.scrape(t)
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			if rec := ts.do(tc.method, tc.target, ct, tc.body); rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			after := ts.scrape(t)
			key := fmt.Sprintf(`%s{endpoint=%q,method=%q,status="%d"}`, MetricRequests, tc.endpoint, tc.methodLabel, tc.status)
			if d := after.series[key] - before.series[key]; d != 1 {
				t.Errorf("%s moved by %g, want 1", key, d)
			}
			if d := served(after) - served(before); d != 1 {
				t.Errorf("%s moved by %g in all, want 1", MetricRequests, d)
			}
			count := MetricRequestDuration + `_count{endpoint="` + tc.endpoint + `"}`
			if d := after.series[count] - before.series[count]; d != 1 {
				t.Errorf("%s moved by %g, want 1", count, d)
			}
			if d := after.series[MetricPredictions] - before.series[MetricPredictions]; d != tc.predictions {
				t.Errorf("%s moved by %g, want %g", MetricPredictions, d, tc.predictions)
			}
		})
	}
}

// brokenCollector describes desc (nil: nothing, so the registry takes it
// unchecked) and collects with collect.
type brokenCollector struct {
	desc    *prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c brokenCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.desc != nil {
		ch <- c.desc
	}
}
func (c brokenCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// TestMetricsSurviveBrokenCollector checks that a collector that fails at
// scrape time loses its own samples, not the scrape.
func TestMetricsSurviveBrokenCollector(t *testing.T) {
	desc := prometheus.NewDesc("carvision_test_broken", "A collector that goes wrong.", []string{"k"}, nil)
	tests := []struct {
		name string
		c    brokenCollector
	}{
		{"panics", brokenCollector{desc, func(chan<- prometheus.Metric) { panic("collector bug") }}},
		{"reports an error", brokenCollector{desc, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.NewInvalidMetric(desc, errors.New("source unavailable"))
		}}},
		{"duplicate series", brokenCollector{desc, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, "a")
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 2, "a")
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, &fakeModel{version: "v1"}, nil)
			ts.Registry().MustRegister(metricsCollectorForTest(), tc.c)
			ts.predict(validBody)
			sc := ts.scrape(t)
			for _, series := range []string{
				MetricRequests + `{endpoint="/predict",method="POST",status="200"}`,
				`carvision_drift_psi{feature="vehicle_age"}`,
				MetricModelLoaded,
				"go_goroutines",
			} {
				if _, ok := sc.series[series]; !ok {
					t.Errorf("scrape lost %s", series)
				}
			}
			if sc.series[MetricRequests+`{endpoint="/predict",method="POST",status="200"}`] != 1 {
				t.Errorf("the server's counter was overwritten")
			}
			if !strings.Contains(ts.logs.String(), `"msg":"metrics: families skipped"`) {
				t.Errorf("the collector's failure was not logged")
			}
		})
	}
	// A collector that would redefine a server family is refused when it
	// registers, not discovered at scrape time.
	ts := newTestServer(t, &fakeModel{version: "v1"}, nil)
	clash := prometheus.NewDesc(MetricRequests, "Not the server's.", nil, nil)
	if err := ts.Registry().Register(brokenCollector{clash, func(chan<- prometheus.Metric) {}}); err == nil {
		t.Errorf("a collector redefining %s was registered", MetricRequests)
	}
}

func TestAbortHandlerReleasesCounters(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v1"}, func(o *Options) {
		o.MaxConcurrent = 1
		o.MarketFunc = func(context.Context, engine.MarketFilter) (engine.MarketReport, error) { panic(http.ErrAbortHandler) }
	})
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler passed through", p)
			}
		}()
		ts.do("GET", "/market/summary", "", "")
	}()
	if ts.inFlight.Load() != 0 || ts.active.Load() != 0 {
		t.Errorf("in flight %d, limiter %d after an aborted request", ts.inFlight.Load(), ts.active.Load())
	}
	if rec := ts.predict(validBody); rec.Code != 200 {
		t.Errorf("limiter slot leaked: %d", rec.Code)
	}
}

func TestRecorderAndObserver(t *testing.T) {
	var mu sync.Mutex
	var recorded []string
	var observed []PredictionRecord
	m := &fakeModel{version: "v5"}
	ts := newTestServer(t, m, func(o *Options) {
		o.Recorder = RecorderFunc(func(ep string, st int, _ time.Duration) {
			mu.Lock()
			recorded = append(recorded, fmt.Sprint(ep, " ", st))
			mu.Unlock()
		})
		o.Observer = ObserverFunc(func(r PredictionRecord) {
			mu.Lock()
			observed = append(observed, r)
			mu.Unlock()
		})
	})
	ts.do("POST", "/predict", "application/json", validBody, "X-Request-Id", "one")
	ts.do("POST", "/predict", "application/json", `{"model_year":1}`)
	ts.do("GET", "/nowhere", "", "")
	ts.do("POST", "/predict_batch", "application/json", `[{"model_year":2010,"model":"a"},{"model":"bad"},{"model_year":2012,"model":"b"}]`, "X-Request-Id", "batch")
	m.err = errBoom
	ts.do("POST", "/predict", "application/json", validBody, "X-Request-Id", "fail")
	want := "[/predict 200 /predict 422 other 404 /predict_batch 200 /predict 500]"
	if got := fmt.Sprint(recorded); got != want {
		t.Errorf("recorded %s, want %s", got, want)
	}
	var got []string
	for _, r := range observed {
		got = append(got, fmt.Sprintf("%s %s #%d %d %.0f %s y%.0f", r.RequestID, r.Endpoint, r.Index, r.Status, r.Price, r.ModelVersion, r.Listing.ModelYear))
	}
	wantObs := "[one /predict #0 200 21140 v5 y2014 batch /predict_batch #0 200 21100 v5 y2010 batch /predict_batch #2 200 21120 v5 y2012 fail /predict #0 500 NaN v5 y2014]"
	if fmt.Sprint(got) != wantObs {
		t.Errorf("observed %v\nwant     %s", got, wantObs)
	}
}
