package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// instantWait records backoffs instead of sleeping.
type instantWait struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *instantWait) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.waits = append(w.waits, d)
	w.mu.Unlock()
	return ctx.Err()
}

func firingTransition(name string) Transition {
	e, _ := NewEngine([]Rule{rule(name, "disk_usage", ">", 0.85, 0)})
	return e.Eval(t0, Values{"disk_usage": 0.9})[0]
}

func TestWebhookDelivers(t *testing.T) {
	bodies := make(chan WebhookPayload, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&p) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		bodies <- p
	}))
	defer srv.Close()
	done := make(chan Delivery, 4)
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL, Retries: 3, OnDelivery: func(d Delivery) { done <- d }})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()

	e, _ := NewEngine([]Rule{rule("disk", "disk_usage", ">", 0.85, time.Minute)}, wh)
	e.Eval(t0, Values{"disk_usage": 0.9})                  // pending: not sent
	e.Eval(t0.Add(time.Minute), Values{"disk_usage": 0.9}) // firing
	e.Eval(t0.Add(2*time.Minute), Values{"disk_usage": 0.5})
	for _, want := range []string{"firing", "resolved"} {
		d := <-done
		p := <-bodies
		if !d.OK || d.Attempts != 1 || p.Status != want || p.Transition.Rule != "disk" || p.Transition.Alert.Runbook != "high-latency" {
			t.Errorf("delivery %+v payload %+v, want %s", d, p, want)
		}
	}
	if s := wh.Stats(); s.Sent != 2 || s.Failed != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestWebhookRetries(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		retries  int
		ok       bool
		attempts int
		waits    []time.Duration
	}{
		{"gives up after bounded retries", []int{500}, 3, false, 4, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}},
		{"succeeds after two failures", []int{503, 502, 200}, 3, true, 3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"429 is retried", []int{429, 204}, 3, true, 2, []time.Duration{100 * time.Millisecond}},
		{"other 4xx is not retried", []int{400}, 3, false, 1, nil},
		{"no retries configured", []int{500}, 0, false, 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(calls.Add(1)) - 1
				w.WriteHeader(tc.statuses[min(i, len(tc.statuses)-1)])
			}))
			defer srv.Close()
			iw := &instantWait{}
			done := make(chan Delivery, 1)
			wh, err := NewWebhook(WebhookConfig{URL: srv.URL, Retries: tc.retries, Backoff: 100 * time.Millisecond,
				MaxWait: 250 * time.Millisecond, Wait: iw.wait, Logger: slog.New(slog.DiscardHandler),
				OnDelivery: func(d Delivery) { done <- d }})
			if err != nil {
				t.Fatal(err)
			}
			defer wh.Close()
			wh.Notify(firingTransition("x"))
			d := <-done
			if d.OK != tc.ok || d.Attempts != tc.attempts || int(calls.Load()) != tc.attempts {
				t.Errorf("ok %v after %d attempts (%d calls), want %v after %d; err %v", d.OK, d.Attempts, calls.Load(), tc.ok, tc.attempts, d.Err)
			}
			if !slices.Equal(iw.waits, tc.waits) {
				t.Errorf("backoffs %v, want %v", iw.waits, tc.waits)
			}
			s := wh.Stats()
			if (s.Sent == 1) != tc.ok || (s.Failed == 1) == tc.ok {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestWebhookTimeoutAndNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	done := make(chan Delivery, 1)
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL, Timeout: 20 * time.Millisecond, Retries: 0, QueueSize: 2,
		Logger: slog.New(slog.DiscardHandler), OnDelivery: func(d Delivery) {
			select {
			case done <- d:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	tr := firingTransition("x")
	finished := make(chan struct{})
	go func() {
		for range 100 { // the sender is stuck on a slow receiver
			wh.Notify(tr)
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked")
	}
	d := <-done
	if d.OK || d.Err == nil || !strings.Contains(d.Err.Error(), "deadline") {
		t.Errorf("slow receiver: %+v", d)
	}
	wh.Close()
	s := wh.Stats()
	if s.Dropped < 97 || s.Sent != 0 || s.Sent+s.Failed+s.Dropped != 100 {
		t.Errorf("stats %+v: every notification must be sent, failed or dropped", s)
	}
	wh.Notify(tr) // after Close: dropped, no panic
	if wh.Stats().Dropped != s.Dropped+1 {
		t.Error("notify after close not counted as dropped")
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "::nope"} {
		if _, err := NewWebhook(WebhookConfig{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := rule("disk", "disk_usage", ">", 0.85, 0)
	r.Severity = "critical"
	r.Runbook = "disk-space"
	e, _ := NewEngine([]Rule{r}, LogNotifier(l))
	e.Eval(t0, Values{"disk_usage": 0.93})
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if rec["level"] != "ERROR" || rec["msg"] != "alert firing" || rec["alert"] != "disk" || rec["runbook"] != "disk-space" || rec["value"] != 0.93 {
		t.Errorf("log record %v", rec)
	}
}
