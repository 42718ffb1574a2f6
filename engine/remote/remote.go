// Package remote is the engine.Client that speaks HTTP to `carvision serve`:
// health, model, predict, snapshot and market go over the wire; store, logs
// and config actions are unavailable (they live on the server's machine).
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"carvision/engine"
)

// DefaultPollInterval is how often Events polls /snapshot.
const DefaultPollInterval = 2 * time.Second

// maxResponse bounds what is read from the server.
const maxResponse = 32 << 20

// Client implements engine.Client over HTTP.
type Client struct {
	base string
	hc   *http.Client
	// PollInterval is how often Events polls (default 2 s).
	PollInterval time.Duration
	// Window is the snapshot window Events asks for (default 1 m).
	Window time.Duration
}

var _ engine.Client = (*Client)(nil)

// New returns a client for the API at baseURL (e.g. http://127.0.0.1:8000).
// httpClient may be nil (a client with a 10 s timeout is used).
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: httpClient, PollInterval: DefaultPollInterval, Window: time.Minute}
}

// BaseURL is the API address.
func (c *Client) BaseURL() string { return c.base }

// APIError is a non-2xx answer from the API.
type APIError struct {
	Method, Path string
	Status       int
	Detail       string       // the detail text, or the field errors joined
	Fields       []FieldIssue // 422 items
	RequestID    string
}

// FieldIssue is one item of a 422 answer.
type FieldIssue struct {
	Field string // last element of loc: the field name or batch index
	Msg   string
	Type  string
}

// Error implements error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Unwrap maps 503 to engine.ErrUnavailable so callers can test for it.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusServiceUnavailable {
		return engine.ErrUnavailable
	}
	return nil
}

func (c *Client) unavailable(what string) error {
	return fmt.Errorf("%s: %w: attached to a remote API (%s): the store, logs and config are on the server", what, engine.ErrUnavailable, c.base)
}

// Capabilities: predictions and monitoring only.
func (c *Client) Capabilities() engine.Capabilities {
	return engine.Capabilities{Why: "attached to a remote API at " + c.base + ": models, retrains, logs and config live on the server; run the console there for them"}
}

// do sends a request and decodes a 2xx JSON body into out. Non-2xx answers
// become *APIError; okStatus lists extra statuses whose body is decoded too
// (/health answers 503 with a useful body).
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any, okStatus ...int) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	ok := resp.StatusCode/100 == 2
	for _, s := range okStatus {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		return resp.StatusCode, apiError(method, path, resp, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func apiError(method, path string, resp *http.Response, b []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(b, &body) != nil || len(body.Detail) == 0 {
		e.Detail = strings.TrimSpace(string(b))
		if len(e.Detail) > 200 {
			e.Detail = e.Detail[:200] + "…"
		}
		return e
	}
	var text string
	if json.Unmarshal(body.Detail, &text) == nil {
		e.Detail = text
		return e
	}
	var items []struct {
		Loc  []any  `json:"loc"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	}
	if json.Unmarshal(body.Detail, &items) == nil {
		var parts []string
		for _, it := range items {
			field := ""
			if len(it.Loc) > 0 {
				field = fmt.Sprint(it.Loc[len(it.Loc)-1])
			}
			e.Fields = append(e.Fields, FieldIssue{Field: field, Msg: it.Msg, Type: it.Type})
			parts = append(parts, field+": "+it.Msg)
		}
		e.Detail = strings.Join(parts, "; ")
	}
	return e
}

// Health reads /health (a 503 is a valid, unhealthy answer, not an error).
func (c *Client) Health(ctx context.Context) (engine.Health, error) {
	var h engine.Health
	_, err := c.do(ctx, http.MethodGet, "/health", nil, &h, http.StatusServiceUnavailable)
	return h, err
}

// Model reads /model.
func (c *Client) Model(ctx context.Context) (engine.ModelInfo, error) {
	var m engine.ModelInfo
	_, err := c.do(ctx, http.MethodGet, "/model", nil, &m)
	return m, err
}

// ListingJSON encodes a listing as /predict accepts it: missing values are
// left out, price and days_listed are never sent.
func ListingJSON(l engine.Listing) ([]byte, error) {
	m := make(map[string]any, 11)
	num := func(k string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	num("model_year", l.ModelYear)
	str("model", l.Model)
	str("condition", l.Condition)
	num("cylinders", l.Cylinders)
	str("fuel", l.Fuel)
	num("odometer", l.Odometer)
	str("transmission", l.Transmission)
	str("type", l.Type)
	str("paint_color", l.PaintColor)
	num("is_4wd", l.Is4WD)
	str("date_posted", l.DatePosted)
	return json.Marshal(m)
}

// Predict posts one listing to /predict.
func (c *Client) Predict(ctx context.Context, l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	body, err := ListingJSON(l)
	if err != nil {
		return engine.Prediction{}, fmt.Errorf("predict: encode listing: %w", err)
	}
	q := url.Values{}
	if opt.Explain {
		q.Set("explain", "true")
	}
	if opt.Comparables > 0 {
		q.Set("comparables", strconv.Itoa(opt.Comparables))
	}
	path := "/predict"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	start := time.Now()
	var p engine.Prediction
	if _, err := c.do(ctx, http.MethodPost, path, body, &p); err != nil {
		return engine.Prediction{}, err
	}
	p.Latency = time.Since(start)
	if p.Warnings == nil {
		p.Warnings = []string{}
	}
	return p, nil
}

// Snapshot reads /snapshot for the window.
func (c *Client) Snapshot(ctx context.Context, window time.Duration) (engine.Snapshot, error) {
	var s engine.Snapshot
	path := "/snapshot"
	if window > 0 {
		path += "?window=" + url.QueryEscape(window.String())
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &s)
	return s, err
}

// Market reads /market/summary with the filter as query parameters.
func (c *Client) Market(ctx context.Context, f engine.MarketFilter) (engine.MarketReport, error) {
	q := url.Values{}
	if f.MinPrice > 0 {
		q.Set("min_price", strconv.FormatFloat(f.MinPrice, 'f', -1, 64))
	}
	if f.MaxPrice > 0 {
		q.Set("max_price", strconv.FormatFloat(f.MaxPrice, 'f', -1, 64))
	}
	if f.MinYear > 0 {
		q.Set("min_year", strconv.Itoa(f.MinYear))
	}
	if f.MaxYear > 0 {
		q.Set("max_year", strconv.Itoa(f.MaxYear))
	}
	if f.Year > 0 {
		q.Set("year", strconv.Itoa(f.Year))
	}
	if len(f.Brands) > 0 {
		q.Set("brands", strings.Join(f.Brands, ","))
	}
	path := "/market/summary"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r engine.MarketReport
	if _, err := c.do(ctx, http.MethodGet, path, nil, &r); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return r, fmt.Errorf("market: %w: the API at %s does not serve a market summary", engine.ErrUnavailable, c.base)
		}
		return r, err
	}
	return r, nil
}

// Models is unavailable remotely.
func (c *Client) Models(context.Context) ([]engine.ModelVersion, error) {
	return nil, c.unavailable("models")
}

// CompareModels is unavailable remotely.
func (c *Client) CompareModels(context.Context, string, string) (engine.ModelDiff, error) {
	return engine.ModelDiff{}, c.unavailable("compare models")
}

// Promote is unavailable remotely.
func (c *Client) Promote(context.Context, string, engine.ActionRequest) error {
	return c.unavailable("promote")
}

// Rollback is unavailable remotely.
func (c *Client) Rollback(context.Context, engine.ActionRequest) error {
	return c.unavailable("rollback")
}

// Retrain is unavailable remotely.
func (c *Client) Retrain(context.Context, engine.RetrainRequest) (<-chan engine.PipelineEvent, error) {
	return nil, c.unavailable("retrain")
}

// PipelineStatus is unavailable remotely.
func (c *Client) PipelineStatus(context.Context) (engine.PipelineStatus, error) {
	return engine.PipelineStatus{}, c.unavailable("pipeline status")
}

// Logs is unavailable remotely.
func (c *Client) Logs(context.Context, engine.LogQuery) ([]engine.LogLine, error) {
	return nil, c.unavailable("logs")
}

// Config is unavailable remotely.
func (c *Client) Config(context.Context) (engine.ConfigState, error) {
	return engine.ConfigState{}, c.unavailable("config")
}

// ReloadConfig is unavailable remotely.
func (c *Client) ReloadConfig(context.Context, engine.ActionRequest) (engine.ConfigState, error) {
	return engine.ConfigState{}, c.unavailable("reload config")
}

// SetDemo is unavailable remotely.
func (c *Client) SetDemo(context.Context, bool) error {
	return c.unavailable("demo traffic")
}

// Events polls /snapshot and derives events: the API going unreachable or
// coming back, health changes, model version changes, and the server's own
// events newer than the last seen. The channel closes when ctx ends.
func (c *Client) Events(ctx context.Context) (<-chan engine.Event, error) {
	every := c.PollInterval
	if every <= 0 {
		every = DefaultPollInterval
	}
	ch := make(chan engine.Event, 16)
	go func() {
		defer close(ch)
		var st pollState
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			snap, err := c.Snapshot(ctx, c.Window)
			if ctx.Err() != nil {
				return
			}
			for _, ev := range st.diff(snap, err, time.Now()) {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, nil
}

// pollState remembers the last poll to turn snapshots into events.
type pollState struct {
	polled      bool
	reachable   bool
	health      string
	version     string
	lastEventAt time.Time
}

func (s *pollState) diff(snap engine.Snapshot, err error, now time.Time) []engine.Event {
	var out []engine.Event
	first := !s.polled
	s.polled = true
	if err != nil {
		if first || s.reachable {
			out = append(out, engine.Event{At: now, Kind: "alert", Message: "API unreachable: " + err.Error()})
		}
		s.reachable = false
		return out
	}
	if !first && !s.reachable {
		out = append(out, engine.Event{At: now, Kind: "alert", Message: "API reachable again"})
	}
	s.reachable = true
	if h := snap.Health; h.Status != s.health {
		if !first || h.Status != "healthy" {
			msg := "health: " + h.Status
			if h.Reason != "" {
				msg += " (" + h.Reason + ")"
			}
			out = append(out, engine.Event{At: now, Kind: "alert", Message: msg})
		}
		s.health = h.Status
	}
	v := snap.Model.Version
	if v == "" {
		v = snap.Health.ModelVersion
	}
	if v != s.version {
		if !first && v != "" {
			from := s.version
			if from == "" {
				from = "none"
			}
			out = append(out, engine.Event{At: now, Kind: "reload", Message: fmt.Sprintf("model %s → %s", from, v)})
		}
		s.version = v
	}
	// Server events are most recent first; forward the new ones oldest
	// first. On the first poll only remember where we are.
	var fresh []engine.Event
	newest := s.lastEventAt
	for _, ev := range snap.Events {
		if ev.At.After(s.lastEventAt) {
			fresh = append(fresh, ev)
			if ev.At.After(newest) {
				newest = ev.At
			}
		}
	}
	s.lastEventAt = newest
	if !first {
		for i := len(fresh) - 1; i >= 0; i-- {
			out = append(out, fresh[i])
		}
	}
	return out
}
