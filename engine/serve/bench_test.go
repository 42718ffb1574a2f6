package serve

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rereader is a request body that can be rewound, so one *http.Request is
// reused across iterations.
type rereader struct {
	b   []byte
	off int
}

func (r *rereader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}
func (r *rereader) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

type nopRecorder struct{}

func (nopRecorder) Record(string, int, time.Duration) {}

// BenchmarkPredictHandler measures the whole handler (middleware, decode,
// model call, encode) in-process; the fake model costs a few ns, so this is
// the server's own overhead per /predict.
func BenchmarkPredictHandler(b *testing.B) {
	cases := []struct {
		name string
		opt  func(*Options)
	}{
		{"bare", func(o *Options) { o.DisableAccessLog = true }},
		{"access_log", func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) }},
		{"full", func(o *Options) {
			o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			o.Recorder = nopRecorder{}
			o.PredictionLog = NewPredictionLog(PredictionLogOptions{SampleRate: 0.1, Sink: discardSink{}})
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ts := newTestServer(b, &fakeModel{version: "v1"}, func(o *Options) {
				o.Clock = nil
				tc.opt(o)
			})
			body := &rereader{b: []byte(validBody)}
			req, _ := http.NewRequest("POST", "/predict", body)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = int64(len(validBody))
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body.off = 0
				clear(w.h)
				ts.ServeHTTP(w, req)
				if w.status != 200 {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkPredictLoopback goes through net/http on loopback with
// keep-alive, client and server sharing the cores.
func BenchmarkPredictLoopback(b *testing.B) {
	ts := newTestServer(b, &fakeModel{version: "v1"}, func(o *Options) {
		o.Clock = nil
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: ts.Server}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/predict"
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, strings.NewReader(validBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
