package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"carvision/engine"
)

// fakeModel prices a listing as 1000 + 10·model_year (missing year: 500), so
// tests can tell what reached it. gate, when set, blocks Predict until closed
// (or a value is sent), and entered receives a value as each Predict starts.
type fakeModel struct {
	version   string
	schemaErr error
	err       error
	panicMsg  string
	gate      chan struct{}
	entered   chan string
	calls     atomic.Int64
	warn      string
}

func (m *fakeModel) Version() string { return m.version }
func (m *fakeModel) Info() engine.ModelInfo {
	return engine.ModelInfo{Version: m.version, Kind: "gbdt", Trees: 3, DropColumns: []string{"days_listed"},
		Features: []engine.Feature{{Name: "model_year", Kind: "numeric"}}, Metrics: map[string]float64{"rmse": 1234.5}}
}
func (m *fakeModel) SchemaCheck() error { return m.schemaErr }
func (m *fakeModel) Predict(l engine.Listing, _ engine.PredictOptions) (engine.Prediction, error) {
	m.calls.Add(1)
	if m.entered != nil {
		m.entered <- m.version
	}
	if m.gate != nil {
		<-m.gate
	}
	if m.panicMsg != "" {
		panic(m.panicMsg)
	}
	if m.err != nil {
		return engine.Prediction{}, m.err
	}
	p := 500.0
	if l.ModelYear == l.ModelYear { // not NaN
		p = 1000 + 10*l.ModelYear
	}
	var w []string
	if m.warn != "" {
		w = []string{m.warn}
	}
	return engine.Prediction{Price: p, ModelVersion: m.version, Warnings: w}, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}
func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// logLines parses the JSON log lines written so far.
func (s *syncBuffer) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

type testServer struct {
	*Server
	holder *Holder
	logs   *syncBuffer
	clock  *fakeClock
}

func newTestServer(t testing.TB, m Model, mod func(*Options)) *testServer {
	logs := &syncBuffer{}
	clock := newFakeClock()
	h := NewHolder(m)
	opt := Options{
		StrictFields: true,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Models:       h,
		Clock:        clock.Now,
		Version:      "test",
	}
	if mod != nil {
		mod(&opt)
	}
	return &testServer{Server: New(opt), holder: h, logs: logs, clock: clock}
}

// do runs one request in-process.
func (ts *testServer) do(method, target, contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	ts.ServeHTTP(rec, req)
	return rec
}

func (ts *testServer) predict(body string) *httptest.ResponseRecorder {
	return ts.do(http.MethodPost, "/predict", "application/json", body)
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not a JSON object: %q: %v", b, err)
	}
	return m
}

const validBody = `{"model_year": 2014, "model": "ford f-150", "condition": "excellent", "cylinders": 8, "fuel": "gas", "odometer": 98000, "transmission": "automatic", "type": "pickup", "paint_color": "white", "is_4wd": 1, "date_posted": "2019-03-15"}`

var errBoom = errors.New("secret internal detail: /var/lib/models/v3.cvm offset 0x1f")

// waitFor receives from ch or fails after a generous bound (a hang guard,
// not a synchronisation sleep).
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// metricsCollectorForTest is what the lead registers for drift and alerts.
func metricsCollectorForTest() prometheus.Collector {
	psi := prometheus.NewDesc("carvision_drift_psi", "PSI of a feature against the training reference.", []string{"feature"}, nil)
	alert := prometheus.NewDesc("carvision_alert_state", "Alert state: 0 inactive, 1 pending, 2 firing.", []string{"alert", "severity"}, nil)
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(psi, prometheus.GaugeValue, 0.12, "vehicle_age")
		ch <- prometheus.MustNewConstMetric(psi, prometheus.GaugeValue, 0.03, "odometer")
		ch <- prometheus.MustNewConstMetric(alert, prometheus.GaugeValue, 2, "LatencyP95High", "page")
	})
}

// scrape is one parsed GET /metrics: every sample by its series as the
// exposition spells it (name{label="value",...}, labels in name order), and
// every family's type.
type scrape struct {
	text   string
	series map[string]float64
	types  map[string]dto.MetricType
}

// scrape fetches /metrics in-process. The body must parse as the text
// format; the scrape itself is counted after it is served, so it shows in
// the next scrape, not this one.
func (ts *testServer) scrape(t testing.TB) scrape {
	t.Helper()
	rec := ts.do(http.MethodGet, "/metrics", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	sc := scrape{text: rec.Body.String(), series: map[string]float64{}, types: map[string]dto.MetricType{}}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(sc.text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, sc.text)
	}
	for name, mf := range mfs {
		sc.types[name] = mf.GetType()
	}
	for _, line := range strings.Split(sc.text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		sc.series[line[:i]] = v
	}
	return sc
}

// sum adds the samples of one series name whose labels contain all of match
// (each `label="value"`).
func (sc scrape) sum(name string, match ...string) float64 {
	var total float64
	for k, v := range sc.series {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, m := range match {
			if !strings.Contains(k, m) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}
