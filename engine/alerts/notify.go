package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LogNotifier logs every transition with slog: firing at the level of the
// rule's severity (critical → error, warning → warn, info → info), the
// others at info, pending → inactive resets at debug.
func LogNotifier(l *slog.Logger) Notifier {
	if l == nil {
		l = slog.Default()
	}
	return NotifierFunc(func(t Transition) {
		level := slog.LevelInfo
		switch {
		case t.To == Firing && t.Alert.Severity == "critical":
			level = slog.LevelError
		case t.To == Firing && t.Alert.Severity == "warning":
			level = slog.LevelWarn
		case t.From == Pending && t.To == Inactive:
			level = slog.LevelDebug
		}
		l.LogAttrs(context.Background(), level, "alert "+string(t.To),
			slog.String("alert", t.Rule),
			slog.String("from", string(t.From)),
			slog.String("to", string(t.To)),
			slog.String("severity", t.Alert.Severity),
			slog.Float64("value", t.Value),
			slog.Bool("value_missing", t.Missing),
			slog.Float64("threshold", t.Alert.Threshold),
			slog.String("runbook", t.Alert.Runbook),
			slog.String("description", t.Alert.Description),
		)
	})
}

// WebhookConfig configures a Webhook; zero fields take the defaults shown.
type WebhookConfig struct {
	URL       string
	Timeout   time.Duration // per attempt (2s)
	Retries   int           // retries after the first attempt (config's default is 3; ≤ 0: none)
	Backoff   time.Duration // before the first retry, doubling (500ms)
	MaxWait   time.Duration // cap on one backoff (30s)
	QueueSize int           // transitions waiting to be sent (64); beyond, dropped
	Client    *http.Client  // default: a client with no timeout of its own
	Logger    *slog.Logger
	// OnDelivery, if set, is called after each transition is delivered or
	// given up on (metrics, tests).
	OnDelivery func(Delivery)
	// Wait pauses between attempts; tests replace it (default: a timer
	// that ends early when the webhook is closed).
	Wait func(ctx context.Context, d time.Duration) error
}

// Delivery is the outcome of sending one transition.
type Delivery struct {
	Transition Transition
	OK         bool
	Attempts   int
	Status     int   // last HTTP status (0 if none)
	Err        error // last error when !OK
}

// WebhookStats counts a webhook's outcomes.
type WebhookStats struct {
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`  // given up after the retries
	Dropped int64 `json:"dropped"` // queue full, never attempted
}

// Webhook POSTs firing and resolved transitions as JSON to a URL from its
// own goroutine, with a timeout per attempt and bounded retries with
// exponential backoff. Notify never blocks: when the queue is full the
// transition is dropped and counted.
type Webhook struct {
	cfg    WebhookConfig
	queue  chan Transition
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	sent, failed, dropped atomic.Int64
}

// WebhookPayload is the body of a webhook POST.
type WebhookPayload struct {
	Version    string     `json:"version"`
	Status     string     `json:"status"` // firing | resolved
	Transition Transition `json:"transition"`
}

// NewWebhook validates cfg and starts the sender.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.URL == "" {
		return nil, errors.New("alert webhook: no URL")
	}
	if req, err := http.NewRequest(http.MethodPost, cfg.URL, nil); err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		return nil, fmt.Errorf("alert webhook: %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 30 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 64
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Wait == nil {
		cfg.Wait = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{cfg: cfg, queue: make(chan Transition, cfg.QueueSize), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go w.run()
	return w, nil
}

// Notify queues firing and resolved transitions; it never blocks.
func (w *Webhook) Notify(t Transition) {
	if t.To != Firing && t.To != Resolved {
		return
	}
	select {
	case <-w.ctx.Done():
		w.dropped.Add(1)
		return
	default:
	}
	select {
	case w.queue <- t:
	default:
		w.dropped.Add(1)
		w.cfg.Logger.Warn("alert webhook queue full: notification dropped",
			slog.String("alert", t.Rule), slog.String("to", string(t.To)), slog.Int64("dropped", w.dropped.Load()))
	}
}

// Stats returns the counts so far.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Sent: w.sent.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load()}
}

// Close stops the sender, abandoning a delivery in progress and what is
// still queued (counted as dropped), and waits for it to end.
func (w *Webhook) Close() error {
	w.once.Do(w.cancel)
	<-w.done
	return nil
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			for {
				select {
				case <-w.queue:
					w.dropped.Add(1)
				default:
					return
				}
			}
		case t := <-w.queue:
			d := w.deliver(t)
			if d.OK {
				w.sent.Add(1)
			} else {
				w.failed.Add(1)
				w.cfg.Logger.Error("alert webhook gave up", slog.String("alert", t.Rule), slog.String("to", string(t.To)),
					slog.Int("attempts", d.Attempts), slog.Int("status", d.Status), slog.Any("error", d.Err))
			}
			if w.cfg.OnDelivery != nil {
				w.cfg.OnDelivery(d)
			}
		}
	}
}

func (w *Webhook) deliver(t Transition) Delivery {
	body, err := json.Marshal(WebhookPayload{Version: "1", Status: string(t.To), Transition: t})
	d := Delivery{Transition: t}
	if err != nil {
		d.Err = fmt.Errorf("encode alert %s: %w", t.Rule, err)
		return d
	}
	wait := w.cfg.Backoff
	for attempt := 0; attempt <= w.cfg.Retries; attempt++ {
		if attempt > 0 {
			if err := w.cfg.Wait(w.ctx, wait); err != nil {
				d.Err = fmt.Errorf("post alert %s: %w (after %d attempts)", t.Rule, err, d.Attempts)
				return d
			}
			wait = min(2*wait, w.cfg.MaxWait)
		}
		d.Attempts++
		status, err := w.post(body)
		d.Status = status
		if err == nil {
			d.OK, d.Err = true, nil
			return d
		}
		d.Err = err
		if status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
			return d // the receiver refuses this payload: retrying will not help
		}
	}
	return d
}

func (w *Webhook) post(body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("post alert webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "carvision-alerts/1")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post alert webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("post alert webhook: status %s", resp.Status)
	}
	return resp.StatusCode, nil
}
