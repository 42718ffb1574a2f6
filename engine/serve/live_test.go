package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// liveServer runs s on a loopback listener until the test ends.
func liveServer(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serr = waitFor(t, done, "Serve to return")
		})
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

func post(t *testing.T, c *http.Client, url, ctype string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestGarbageStream throws hostile input at a real listener, then checks the
// server still answers /health and a valid /predict.
func TestGarbageStream(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v1"}, nil)
	base, _ := liveServer(t, ts.Server)
	c := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	big := bytes.Repeat([]byte("a"), 10<<20)
	uni := `{"model_year":2015,"model":"日本車 🚗","condition":"très bon","cylinders":6,"fuel":"газ","odometer":1,"transmission":"자동","type":"Geländewagen","paint_color":"أحمر","is_4wd":0,"date_posted":"2019-01-01"}`
	tests := []struct {
		name  string
		body  func() io.Reader
		want  int
		chunk bool // hide the length so the limit is found while reading
	}{
		{"random bytes", func() io.Reader { return bytes.NewReader(random(4096)) }, 400, false},
		{"random bytes with brace", func() io.Reader { return io.MultiReader(strings.NewReader("{"), bytes.NewReader(random(512))) }, 400, false},
		{"10 MB body", func() io.Reader { return bytes.NewReader(big) }, 413, false},
		{"10 MB chunked", func() io.Reader { return bytes.NewReader(big) }, 413, true},
		{"truncated JSON", func() io.Reader { return strings.NewReader(validBody[:len(validBody)/2]) }, 400, false},
		{"deep nesting", func() io.Reader { return strings.NewReader(`{"x":` + strings.Repeat("[", 200000)) }, 400, false},
		{"deep objects", func() io.Reader { return strings.NewReader(strings.Repeat(`{"a":`, 50000)) }, 400, false},
		{"NaN", func() io.Reader { return strings.NewReader(`{"model_year":NaN,"model":"x"}`) }, 400, false},
		{"Infinity", func() io.Reader { return strings.NewReader(`{"model_year":2011,"model":"x","odometer":Infinity}`) }, 400, false},
		{"huge exponent", func() io.Reader { return strings.NewReader(`{"model_year":2011,"model":"x","odometer":1e999999}`) }, 422, false},
		{"huge digits", func() io.Reader {
			return strings.NewReader(`{"model_year":` + strings.Repeat("9", 100000) + `,"model":"x"}`)
		}, 422, false},
		{"invalid UTF-8", func() io.Reader { return strings.NewReader("{\"model_year\":2011,\"model\":\"\xc3\x28\"}") }, 400, false},
		{"NUL bytes", func() io.Reader { return bytes.NewReader(make([]byte, 1000)) }, 400, false},
		{"unicode everywhere", func() io.Reader { return strings.NewReader(uni) }, 200, false},
		{"unicode keys", func() io.Reader { return strings.NewReader(`{"model_year":2011,"model":"x","ключ":1}`) }, 422, false},
		{"empty", func() io.Reader { return strings.NewReader("") }, 422, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body()
			if tc.chunk {
				body = io.MultiReader(body) // no Len(): sent chunked
			}
			code, b := post(t, c, base+"/predict", "application/json", body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %.200s", code, tc.want, b)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("body is not JSON: %.200s", b)
			}
		})
	}
	// Not HTTP at all.
	for i := 0; i < 5; i++ {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(random(2048))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
		conn.Close()
	}
	// Batch garbage.
	if code, _ := post(t, c, base+"/predict_batch", "application/json", bytes.NewReader(random(3000))); code != 400 {
		t.Errorf("batch garbage: %d", code)
	}
	resp, err := c.Get(base + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health after garbage: %v %v", err, resp)
	}
	resp.Body.Close()
	if code, b := post(t, c, base+"/predict", "application/json", strings.NewReader(validBody)); code != 200 {
		t.Fatalf("valid predict after garbage: %d %s", code, b)
	}
}

// TestHotSwapUnderLoad swaps models while clients hammer /predict: every
// request must succeed and name one of the published versions.
func TestHotSwapUnderLoad(t *testing.T) {
	ts := newTestServer(t, &fakeModel{version: "v0"}, func(o *Options) { o.DisableAccessLog = true })
	base, _ := liveServer(t, ts.Server)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	const workers, perWorker, swaps = 4, 150, 40
	var failures atomic.Int64
	versions := sync.Map{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				req, _ := http.NewRequest("POST", base+"/predict", strings.NewReader(validBody))
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				var out struct {
					V string `json:"model_version"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
				versions.Store(out.V, true)
			}
		}()
	}
	for i := 1; i <= swaps; i++ {
		ts.holder.Swap(&fakeModel{version: fmt.Sprintf("v%d", i)})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d requests failed during swaps", n)
	}
	versions.Range(func(k, _ any) bool {
		var n int
		if _, err := fmt.Sscanf(k.(string), "v%d", &n); err != nil || n < 0 || n > swaps {
			t.Errorf("unexpected version %q", k)
		}
		return true
	})
}

// TestInFlightKeepsItsModel proves a request started on v1 finishes on v1
// after v2 is published, while new requests get v2.
func TestInFlightKeepsItsModel(t *testing.T) {
	old := &fakeModel{version: "v1", gate: make(chan struct{}), entered: make(chan string, 3)}
	ts := newTestServer(t, old, nil)
	results := make(chan string, 3)
	for i := 0; i < 3; i++ {
		go func() {
			rec := ts.predict(validBody)
			results <- fmt.Sprint(rec.Code, " ", decodeJSON(t, rec.Body.Bytes())["model_version"])
		}()
	}
	for i := 0; i < 3; i++ {
		waitFor(t, old.entered, "request in the old model")
	}
	ts.holder.Swap(&fakeModel{version: "v2"})
	if v := decodeJSON(t, ts.predict(validBody).Body.Bytes())["model_version"]; v != "v2" {
		t.Errorf("new request served by %v, want v2", v)
	}
	close(old.gate)
	for i := 0; i < 3; i++ {
		if got := waitFor(t, results, "in-flight response"); got != "200 v1" {
			t.Errorf("in-flight request: %s, want 200 v1", got)
		}
	}
}

func TestGracefulDrain(t *testing.T) {
	m := &fakeModel{version: "v1", gate: make(chan struct{}), entered: make(chan string, 1)}
	ts := newTestServer(t, m, nil)
	base, stop := liveServer(t, ts.Server)
	got := make(chan int, 1)
	go func() {
		code, _ := post(t, http.DefaultClient, base+"/predict", "application/json", strings.NewReader(validBody))
		got <- code
	}()
	waitFor(t, m.entered, "request in flight")
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitFor(t, ts.Draining(), "drain to start")
	if rec := ts.do("GET", "/ready", "", ""); rec.Code != 503 || !strings.Contains(rec.Body.String(), "draining") {
		t.Errorf("/ready while draining: %d %s", rec.Code, rec.Body)
	}
	if rec := ts.do("GET", "/livez", "", ""); rec.Code != 200 {
		t.Errorf("/livez while draining: %d", rec.Code)
	}
	close(m.gate)
	if code := waitFor(t, got, "in-flight response"); code != 200 {
		t.Errorf("in-flight request during drain: %d", code)
	}
	if err := waitFor(t, stopped, "Serve to return"); err != nil {
		t.Errorf("Serve after a clean drain: %v", err)
	}
	if _, err := http.Get(base + "/livez"); err == nil {
		t.Error("listener still accepting after drain")
	}
}

func TestDrainTimeout(t *testing.T) {
	m := &fakeModel{version: "v1", gate: make(chan struct{}), entered: make(chan string, 1)}
	defer close(m.gate)
	ts := newTestServer(t, m, func(o *Options) { o.DrainTimeout = 50 * time.Millisecond })
	base, stop := liveServer(t, ts.Server)
	go func() {
		req, _ := http.NewRequest("POST", base+"/predict", strings.NewReader(validBody))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, m.entered, "request in flight")
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "drain") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want a drain timeout error, got %v", err)
	}
}

// fileModel reads "version" from a file; special contents simulate failures.
func fileModelLoader(path string) (Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	switch {
	case s == "corrupt":
		return nil, errors.New("bad magic: not a CarVision model")
	case s == "panic":
		panic("index out of range in tree 3")
	case s == "nil":
		return nil, nil
	case strings.HasPrefix(s, "schema "):
		return &fakeModel{version: s[7:], schemaErr: errors.New(`Missing column "brand": model v9 needs it, config preprocessing.drop_columns removes it`)}, nil
	case strings.HasPrefix(s, "warmfail "):
		return &fakeModel{version: s[9:], err: errors.New("tree 0 references feature 42")}, nil
	case strings.HasPrefix(s, "warmpanic "):
		return &fakeModel{version: s[10:], panicMsg: "nil map"}, nil
	}
	return &fakeModel{version: s}, nil
}

func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReloadRefusesBadModels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.cvm")
	writeAtomic(t, path, "v1")
	logs := &syncBuffer{}
	h := NewHolder(nil)
	ts := newTestServer(t, nil, func(o *Options) { o.Models = h })
	r, err := NewReloader(ReloaderOptions{Holder: h, Load: fileModelLoader, Path: path, Registry: ts.Registry(),
		Logger: newJSONLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil || h.Current().Version() != "v1" {
		t.Fatalf("first load: %v", err)
	}
	tests := []struct {
		content string
		errHas  string
	}{
		{"corrupt", "bad magic"},
		{"panic", "panic: index out of range"},
		{"nil", "no model returned"},
		{"schema v9", `Missing column "brand"`},
		{"warmfail v10", "warm-up prediction"},
		{"warmpanic v11", "model panicked"},
	}
	for i, tc := range tests {
		t.Run(tc.content, func(t *testing.T) {
			writeAtomic(t, path, tc.content)
			err := r.Reload()
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("reload error %v, want one containing %q", err, tc.errHas)
			}
			if v := h.Current().Version(); v != "v1" {
				t.Errorf("serving %s after a refused reload, want v1", v)
			}
			if r.LastReloadError() == nil || r.Failures() != uint64(i+1) {
				t.Errorf("LastReloadError %v, failures %d", r.LastReloadError(), r.Failures())
			}
			if rec := ts.predict(validBody); rec.Code != 200 {
				t.Errorf("predict after refused reload: %d", rec.Code)
			}
		})
	}
	if !strings.Contains(logs.String(), `"msg":"reload refused"`) {
		t.Error("no 'reload refused' log line")
	}
	if !strings.Contains(logs.String(), `"msg":"Missing column \"brand\": model v9 needs it`) {
		t.Errorf("schema mismatch not logged as its own message:\n%s", logs)
	}
	metricsOut := ts.do("GET", "/metrics", "", "").Body.String()
	if !strings.Contains(metricsOut, "carvision_model_reload_failures_total 6") {
		t.Errorf("failures not exported")
	}
	writeAtomic(t, path, "v2")
	if err := r.Reload(); err != nil || h.Current().Version() != "v2" || r.LastReloadError() != nil {
		t.Fatalf("good reload after failures: %v", err)
	}
	os.Remove(path)
	if err := r.Reload(); err == nil || h.Current().Version() != "v2" {
		t.Errorf("missing file: err %v, serving %s", err, h.Current().Version())
	}
}

func TestReloadNoModelHealthReason(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m")
	writeAtomic(t, path, "corrupt")
	h := NewHolder(nil)
	r, _ := NewReloader(ReloaderOptions{Holder: h, Load: fileModelLoader, Path: path})
	ts := newTestServer(t, nil, func(o *Options) { o.Models = h; o.ReloadStatus = r })
	_ = r.Reload()
	rec := ts.do("GET", "/health", "", "")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "bad magic") {
		t.Errorf("health: %d %s", rec.Code, rec.Body)
	}
}

func TestReloaderWatchesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "champion.cvm")
	writeAtomic(t, path, "v1")
	h := NewHolder(nil)
	swapped := make(chan string, 4)
	refused := make(chan error, 4)
	r, err := NewReloader(ReloaderOptions{Holder: h, Load: fileModelLoader, Path: path, Debounce: 20 * time.Millisecond,
		OnSwap:   func(_, cur Model) { swapped <- cur.Version() },
		OnRefuse: func(err error) { refused <- err }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	<-swapped
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Unrelated files in the same directory do not trigger.
	writeAtomic(t, filepath.Join(dir, "other.txt"), "x")
	writeAtomic(t, path, "v2")
	if v := waitFor(t, swapped, "reload after the file changed"); v != "v2" {
		t.Errorf("swapped to %s", v)
	}
	writeAtomic(t, path, "corrupt")
	waitFor(t, refused, "refusal of the corrupted file")
	if h.Current().Version() != "v2" {
		t.Errorf("serving %s after a corrupted file", h.Current().Version())
	}
	cancel()
	waitFor(t, r.Done(), "watcher to stop")
	if len(swapped) != 0 {
		t.Errorf("unexpected extra swap to %s", <-swapped)
	}
}

func TestReloaderResolve(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeAtomic(t, a, "va")
	writeAtomic(t, b, "vb")
	champion := a
	var mu sync.Mutex
	h := NewHolder(nil)
	r, _ := NewReloader(ReloaderOptions{Holder: h, Load: fileModelLoader, Resolve: func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if champion == "" {
			return "", nil
		}
		return champion, nil
	}})
	if err := r.Reload(); err != nil || h.Current().Version() != "va" {
		t.Fatal(err)
	}
	mu.Lock()
	champion = b
	mu.Unlock()
	if err := r.Reload(); err != nil || h.Current().Version() != "vb" {
		t.Fatal(err)
	}
	mu.Lock()
	champion = ""
	mu.Unlock()
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "no champion") {
		t.Errorf("unresolved champion: %v", err)
	}
}

func TestNewReloaderValidates(t *testing.T) {
	for _, o := range []ReloaderOptions{{}, {Holder: NewHolder(nil)}, {Holder: NewHolder(nil), Load: fileModelLoader}} {
		if _, err := NewReloader(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestPromtoolCheckMetrics scrapes /metrics and lints it with promtool.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	ts := newTestServer(t, &fakeModel{version: "v1"}, nil)
	ts.Registry().Register(metricsCollectorForTest())
	base, _ := liveServer(t, ts.Server)
	post(t, http.DefaultClient, base+"/predict", "application/json", strings.NewReader(validBody))
	post(t, http.DefaultClient, base+"/predict", "application/json", strings.NewReader(`{}`))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	f := filepath.Join(t.TempDir(), "scrape.prom")
	if err := os.WriteFile(f, body, 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := os.Open(f)
	defer in.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
