// Package serve is the CarVision HTTP API: /predict and /predict_batch with a
// strict hand-written decoder, health and readiness probes, Prometheus
// metrics, request IDs, access logs, a concurrency cap, panic recovery,
// graceful drain, hot model swap (Holder, Reloader) and the prediction log.
//
// Contract decisions (see also DecodeListing):
//   - A request without Content-Type is 415, like any non-JSON type: the
//     original accepted form posts and priced garbage.
//   - "price" and "days_listed" are accepted and ignored (price with a
//     warning), so replaying dataset rows works; every other unknown field is
//     422 when StrictFields, else a warning.
//   - Error bodies are FastAPI's: 422 and 400 carry {"detail":[{loc,msg,type}]}
//     (400 with loc ["body", byte offset]); the others {"detail":"…"}; all
//     add "request_id", and every response has the X-Request-Id header.
//   - Check order for /predict: 404/405, 429, 415, 413, 503, 400, 422.
//   - /ready needs a model and no drain; /health also needs the model's
//     schema to agree with the config; /livez needs only the process.
package serve

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carvision/engine"
)

// Defaults applied by New to zero Options fields (config.yaml's defaults).
const (
	DefaultAddr              = "127.0.0.1:8000"
	DefaultBodyLimit         = 1 << 20
	DefaultBatchMax          = 1000
	DefaultMaxConcurrent     = 256
	DefaultDrainTimeout      = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = time.Minute
	DefaultSnapshotWindow    = 5 * time.Minute
)

// Options configures a Server. Zero values take the defaults above.
type Options struct {
	Addr         string
	BodyLimit    int64 // bytes; 413 beyond
	BatchMax     int   // listings per /predict_batch; 422 beyond
	StrictFields bool  // unknown JSON fields are 422 (config default: true) instead of warnings

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// MaxConcurrent caps requests in flight on the work endpoints
	// (/predict, /predict_batch, /snapshot, /market/summary); beyond it they
	// get 429 with Retry-After. Probes and /metrics are never refused, so a
	// busy server is not restarted by its orchestrator.
	MaxConcurrent int
	// DrainTimeout bounds the graceful shutdown; DrainDelay is how long
	// /ready answers 503 before the listener closes, so load balancers see
	// it (0 in tests).
	DrainTimeout time.Duration
	DrainDelay   time.Duration

	Logger           *slog.Logger // nil: discard
	DisableAccessLog bool         // skip the per-request log line
	// Registry is what /metrics gathers; nil: a new one per server, never
	// prometheus.DefaultRegisterer, so tests and servers share no state.
	Registry      *prometheus.Registry
	Models        ModelSource    // required; a *Holder usually
	Recorder      Recorder       // latency monitor; may be nil
	Observer      Observer       // drift window etc.; may be nil
	PredictionLog *PredictionLog // observed too; its drops are exported; may be nil
	ReloadStatus  ReloadStatus   // says why no model is loaded; may be nil

	// SnapshotFunc builds GET /snapshot; nil serves health and model only.
	SnapshotFunc func(ctx context.Context, window time.Duration) (engine.Snapshot, error)
	// MarketFunc builds GET /market/summary (cache it per data hash); nil: 404.
	MarketFunc func(ctx context.Context, f engine.MarketFilter) (engine.MarketReport, error)

	Clock   func() time.Time // nil: time.Now
	Version string           // build version for carvision_build_info
}

// Server is the HTTP API. It is an http.Handler; Serve runs it.
type Server struct {
	opt      Options
	log      *slog.Logger
	reg      *prometheus.Registry
	now      func() time.Time
	started  time.Time
	observer Observer

	draining  atomic.Bool
	drainOnce sync.Once
	drainCh   chan struct{}
	active    atomic.Int64 // work requests in flight (the limiter)
	inFlight  atomic.Int64 // all requests in flight

	lastHealth atomic.Pointer[string] // last health verdict logged

	met serverMetrics
}

// New builds a server; it does not listen until Serve.
func New(opt Options) *Server {
	if opt.Addr == "" {
		opt.Addr = DefaultAddr
	}
	if opt.BodyLimit <= 0 {
		opt.BodyLimit = DefaultBodyLimit
	}
	if opt.BatchMax <= 0 {
		opt.BatchMax = DefaultBatchMax
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = DefaultMaxConcurrent
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = DefaultDrainTimeout
	}
	if opt.ReadHeaderTimeout <= 0 {
		opt.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	if opt.Models == nil {
		opt.Models = NewHolder(nil)
	}
	s := &Server{opt: opt, log: opt.Logger, reg: opt.Registry, now: opt.Clock, drainCh: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	var obs []Observer
	if opt.PredictionLog != nil {
		obs = append(obs, opt.PredictionLog)
	}
	if opt.Observer != nil {
		obs = append(obs, opt.Observer)
	}
	if len(obs) > 0 {
		s.observer = Observers(obs...)
	}
	s.met.init()
	s.registerMetrics()
	return s
}

// Registry is where extra collectors (drift and alert gauges) are registered.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Options returns the options after defaults.
func (s *Server) Options() Options { return s.opt }

// Draining is closed when a graceful shutdown begins.
func (s *Server) Draining() <-chan struct{} { return s.drainCh }

// Health is the verdict /health serves: healthy only with a model loaded
// whose schema agrees with the config.
func (s *Server) Health() engine.Health {
	h := engine.Health{UptimeSeconds: s.now().Sub(s.started).Seconds()}
	m := s.opt.Models.Current()
	if m == nil {
		h.Status, h.Reason = "unhealthy", s.noModelReason()
		s.noteHealth(h, nil)
		return h
	}
	h.ModelVersion = m.Version()
	h.Ready = !s.draining.Load()
	if err := m.SchemaCheck(); err != nil {
		h.Status, h.Reason = "unhealthy", "schema mismatch: "+err.Error()
		s.noteHealth(h, err)
		return h
	}
	h.Status = "healthy"
	s.noteHealth(h, nil)
	return h
}

// noteHealth logs a change of health verdict once, not on every probe. A
// schema mismatch is logged with its own text as the message, so the
// runbook's `Missing column` search finds it.
func (s *Server) noteHealth(h engine.Health, schemaErr error) {
	key := h.Status + "|" + h.ModelVersion + "|" + h.Reason
	if p := s.lastHealth.Load(); p != nil && *p == key {
		return
	}
	if p := s.lastHealth.Swap(&key); p != nil && *p == key {
		return
	}
	switch {
	case schemaErr != nil:
		s.log.Error(schemaErr.Error(), "model_version", h.ModelVersion, "health", h.Status)
	case h.Status != "healthy":
		s.log.Warn("unhealthy", "reason", h.Reason)
	default:
		s.log.Info("healthy", "model_version", h.ModelVersion)
	}
}

func (s *Server) noModelReason() string {
	if s.opt.ReloadStatus != nil {
		if err := s.opt.ReloadStatus.LastReloadError(); err != nil {
			return "no model loaded: " + err.Error()
		}
	}
	return "no model loaded"
}

// ready reports readiness (model loaded, not draining) and why not.
func (s *Server) ready() (bool, string, Model) {
	m := s.opt.Models.Current()
	switch {
	case s.draining.Load():
		return false, "draining", m
	case m == nil:
		return false, s.noModelReason(), nil
	}
	return true, "", m
}

// Serve answers on ln until ctx ends, then drains: /ready turns 503 (for
// DrainDelay), the listener closes, requests in flight finish within
// DrainTimeout. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		ReadTimeout:       s.opt.ReadTimeout,
		WriteTimeout:      s.opt.WriteTimeout,
		IdleTimeout:       s.opt.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.startDrain()
	s.log.Info("draining", "in_flight", s.inFlight.Load(), "timeout", s.opt.DrainTimeout.String())
	if s.opt.DrainDelay > 0 {
		t := time.NewTimer(s.opt.DrainDelay)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.DrainTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc // Serve returns ErrServerClosed as soon as Shutdown starts
	if err != nil {
		left := s.inFlight.Load()
		_ = hs.Close()
		return fmt.Errorf("drain within %s: %d requests cut: %w", s.opt.DrainTimeout, left, err)
	}
	s.log.Info("drained")
	return nil
}

// ListenAndServe listens on Options.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opt.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opt.Addr, err)
	}
	return s.Serve(ctx, ln)
}

func (s *Server) startDrain() {
	s.drainOnce.Do(func() {
		s.draining.Store(true)
		close(s.drainCh)
	})
}

// route is one endpoint of the API.
type route struct {
	idx     int
	path    string
	allow   string // the Allow header on 405
	get     bool   // GET and HEAD
	post    bool
	limited bool // subject to MaxConcurrent
	doc     string
	h       func(s *Server, rs *reqState, r *http.Request)
}

const otherEndpoint = "other"

// routes is filled in init: handleIndex reads it, which a var initializer
// would make a cycle.
var routes []*route

func initRoutes() {
	routes = []*route{
		{path: "/", get: true, doc: "this index", h: (*Server).handleIndex},
		{path: "/health", get: true, doc: "200 with a model whose schema matches the config, else 503 with the reason", h: (*Server).handleHealth},
		{path: "/livez", get: true, doc: "200 while the process runs", h: (*Server).handleLivez},
		{path: "/ready", get: true, doc: "200 when a model is loaded and the server is not draining", h: (*Server).handleReady},
		{path: "/predict", post: true, limited: true, doc: "price one listing; ?explain=true, ?comparables=N", h: (*Server).handlePredict},
		{path: "/predict_batch", post: true, limited: true, doc: `price up to BatchMax listings: {"vehicles":[...]} or a bare list`, h: (*Server).handleBatch},
		{path: "/model", get: true, doc: "the serving model: version, features, metrics, data hash", h: (*Server).handleModel},
		{path: "/metrics", get: true, doc: "Prometheus exposition", h: (*Server).handleMetrics},
		{path: "/snapshot", get: true, limited: true, doc: "the live picture for a console; ?window=5m", h: (*Server).handleSnapshot},
		{path: "/market/summary", get: true, limited: true, doc: "market report; ?min_price, max_price, min_year, max_year, brands, year", h: (*Server).handleMarket},
	}
}

// endpointNames are the endpoint label values, by route index; the last is "other".
var endpointNames []string

func init() {
	initRoutes()
	for i, rt := range routes {
		rt.idx = i
		switch {
		case rt.get && rt.post:
			rt.allow = "GET, HEAD, POST"
		case rt.get:
			rt.allow = "GET, HEAD"
		default:
			rt.allow = "POST"
		}
		endpointNames = append(endpointNames, rt.path)
		routeByPath[rt.path] = rt
	}
	endpointNames = append(endpointNames, otherEndpoint)
}

// routeByPath finds a route; a map keeps it in step with the table.
var routeByPath = map[string]*route{}

func lookup(path string) *route { return routeByPath[path] }

// reqState is the per-request bookkeeping, pooled to keep the hot path free
// of allocations.
type reqState struct {
	w            http.ResponseWriter
	start        time.Time
	id           string
	status       int
	bytes        int
	endpoint     int
	limited      bool
	modelVersion string
	errMsg       string // validation or internal error summary for the access log
	buf          []byte // response buffer, reused
}

var statePool = sync.Pool{New: func() any { return &reqState{buf: make([]byte, 0, 1024)} }}

// ServeHTTP runs the middleware (request ID, recovery, limiter, metrics,
// access log) around the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := statePool.Get().(*reqState)
	rs.w, rs.start, rs.status, rs.bytes, rs.limited = w, s.now(), 0, 0, false
	rs.modelVersion, rs.errMsg = "", ""
	rs.id = requestID(r.Header.Get("X-Request-Id"))
	w.Header()["X-Request-Id"] = []string{rs.id}
	s.inFlight.Add(1)
	rt := lookup(r.URL.Path)
	rs.endpoint = len(routes)
	if rt != nil {
		rs.endpoint = rt.idx
	}
	defer s.finish(rs, r)

	switch {
	case rt == nil:
		s.writeDetail(rs, http.StatusNotFound, "Not Found")
		return
	case !(rt.get && (r.Method == http.MethodGet || r.Method == http.MethodHead)) && !(rt.post && r.Method == http.MethodPost):
		w.Header()["Allow"] = []string{rt.allow}
		s.writeDetail(rs, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if rt.limited {
		if s.active.Add(1) > int64(s.opt.MaxConcurrent) {
			s.active.Add(-1)
			w.Header()["Retry-After"] = []string{"1"}
			s.writeDetail(rs, http.StatusTooManyRequests, "Too Many Requests: more than "+itoa(s.opt.MaxConcurrent)+" requests in flight")
			return
		}
		rs.limited = true
	}
	rt.h(s, rs, r)
}

// finish is deferred by ServeHTTP: it recovers a panic into a 500 that leaks
// nothing, then records metrics and the access log.
func (s *Server) finish(rs *reqState, r *http.Request) {
	p := recover()
	if p == http.ErrAbortHandler {
		// net/http's own signal to drop the connection: release the
		// counters, then let it through.
		s.release(rs)
		panic(p)
	}
	if p != nil {
		buf := make([]byte, 8<<10)
		buf = buf[:runtime.Stack(buf, false)]
		s.log.Error("panic", "request_id", rs.id, "method", r.Method, "path", clipPath(r.URL.Path),
			"panic", fmt.Sprint(p), "stack", string(buf))
		rs.errMsg = "internal error (panic)"
		if rs.status == 0 {
			s.writeDetail(rs, http.StatusInternalServerError, "Internal Server Error")
		} else {
			rs.status = http.StatusInternalServerError // headers already sent; count it as what it was
		}
	}
	s.release(rs)
	if rs.status == 0 {
		rs.status = http.StatusOK
	}
	lat := s.now().Sub(rs.start)
	s.met.observe(rs.endpoint, r.Method, rs.status, lat)
	if s.opt.Recorder != nil {
		s.opt.Recorder.Record(endpointNames[rs.endpoint], rs.status, lat)
	}
	if !s.opt.DisableAccessLog {
		s.accessLog(rs, r, lat)
	}
	rs.w = nil
	if cap(rs.buf) <= 64<<10 {
		statePool.Put(rs)
	}
}

// release gives back the limiter slot and the in-flight count.
func (s *Server) release(rs *reqState) {
	if rs.limited {
		s.active.Add(-1)
		rs.limited = false
	}
	s.inFlight.Add(-1)
}

func (s *Server) accessLog(rs *reqState, r *http.Request, lat time.Duration) {
	level := slog.LevelInfo
	if rs.status >= 500 {
		level = slog.LevelError
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := [8]slog.Attr{
		slog.String("request_id", rs.id),
		slog.String("method", r.Method),
		slog.String("path", clipPath(r.URL.Path)),
		slog.Int("status", rs.status),
		slog.Float64("latency_ms", float64(lat.Microseconds())/1000),
		slog.String("model_version", rs.modelVersion),
		slog.Int("bytes", rs.bytes),
	}
	n := 7
	if rs.errMsg != "" {
		attrs[7] = slog.String("error", rs.errMsg)
		n = 8
	}
	s.log.LogAttrs(ctx, level, "request", attrs[:n]...)
}

// write sends body with status; Content-Type is JSON unless set.
func (s *Server) write(rs *reqState, status int, body []byte) {
	h := rs.w.Header()
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = jsonContentType
	}
	rs.status = status
	rs.w.WriteHeader(status)
	n, _ := rs.w.Write(body)
	rs.bytes += n
}

var jsonContentType = []string{"application/json"}

// writeDetail sends {"detail":msg,"request_id":…} (FastAPI's shape for
// non-validation errors, plus the ID to quote in a support request).
func (s *Server) writeDetail(rs *reqState, status int, msg string) {
	b := append(rs.buf[:0], `{"detail":`...)
	b = appendString(b, msg)
	b = append(b, `,"request_id":`...)
	b = appendString(b, rs.id)
	b = append(b, '}')
	rs.buf = b
	if rs.errMsg == "" && status >= 400 {
		rs.errMsg = msg
	}
	s.write(rs, status, b)
}

// requestID honours a sane incoming X-Request-Id and otherwise makes one.
// Incoming IDs are limited to 128 bytes of [A-Za-z0-9._:/+=-] so they cannot
// inject into logs or headers.
func requestID(in string) string {
	if in != "" && len(in) <= 128 {
		ok := true
		for i := 0; i < len(in); i++ {
			c := in[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=') {
				ok = false
				break
			}
		}
		if ok {
			return in
		}
	}
	return newID()
}

var (
	idPrefix  = randomPrefix()
	idCounter atomic.Uint64
)

// newID is a process-unique ID: a random prefix fixed at start plus a
// counter; cheap (one allocation) and sortable within a process.
func newID() string {
	var b [32]byte
	n := copy(b[:], idPrefix)
	b[n] = '-'
	n++
	v := idCounter.Add(1)
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = hexDigits[v&0xf]
		v >>= 4
		if v == 0 {
			break
		}
	}
	for pad := 8 - (len(tmp) - i); pad > 0; pad-- {
		b[n] = '0'
		n++
	}
	n += copy(b[n:], tmp[i:])
	return string(b[:n])
}

func clipPath(p string) string {
	if len(p) > 256 {
		return p[:256] + "…"
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }

// errNoModel is what /predict says without a model.
var errNoModel = errors.New("no model loaded")

// isJSON accepts application/json (any case, any parameters, charset UTF-8
// only) and the +json structured suffix. A missing Content-Type is refused:
// the original accepted anything, which let form posts through as garbage.
func isJSON(ct string) bool {
	if ct == "" {
		return false
	}
	mt, params, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if !strings.EqualFold(mt, "application/json") {
		if len(mt) < 5 || !strings.EqualFold(mt[len(mt)-5:], "+json") || !strings.HasPrefix(strings.ToLower(mt), "application/") {
			return false
		}
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "charset") {
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
				return false
			}
		}
	}
	return true
}

// randomPrefix makes request IDs unique across restarts and replicas.
func randomPrefix() string {
	var b [4]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		binary.BigEndian.PutUint32(b[:], uint32(time.Now().UnixNano()))
	}
	return hex.EncodeToString(b[:])
}
