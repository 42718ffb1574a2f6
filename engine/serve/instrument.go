package serve

import (
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names, shared with deploy/prometheus/rules.yml.
const (
	MetricRequestDuration = "carvision_request_duration_seconds"
	MetricRequests        = "carvision_requests_total"
	MetricPredictions     = "carvision_predictions_total"
	MetricInFlight        = "carvision_requests_in_flight"
	MetricModelInfo       = "carvision_model_info"
	MetricModelLoaded     = "carvision_model_loaded"
	MetricHealthy         = "carvision_healthy"
	MetricReady           = "carvision_ready"
	MetricBuildInfo       = "carvision_build_info"
	MetricPredLogDropped  = "carvision_prediction_log_dropped_total"
	MetricReloadFailures  = "carvision_model_reload_failures_total"
	MetricReloads         = "carvision_model_reloads_total"
)

// LatencyBuckets contain the runbook's thresholds (0.2 s and 0.5 s) and start
// at 100 µs because a Go handler answers in microseconds.
var LatencyBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .15, .2, .25, .3, .4, .5, .75, 1, 2.5, 5, 10,
}

var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}

func methodIndex(m string) uint8 {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "PATCH":
		return 5
	case "OPTIONS":
		return 6
	}
	return 7
}

type reqKey struct {
	ep     uint8
	method uint8
	status uint16
}

// serverMetrics holds the request-path metrics with their label children
// resolved ahead of the request, so a request pays atomic adds and no
// WithLabelValues hashing. The (endpoint, method, status) counters live in a
// copy-on-write map: lookups are lock-free, and a new combination (rare
// after warm-up) copies the map under a mutex.
type serverMetrics struct {
	durVec *prometheus.HistogramVec
	dur    []prometheus.Observer // by route index
	// otherDur is resolved on first use so endpoint="other" appears only
	// once a stray path was requested.
	otherDur func() prometheus.Observer

	reqVec *prometheus.CounterVec
	reqs   atomic.Pointer[map[reqKey]prometheus.Counter]
	mu     sync.Mutex

	predictions prometheus.Counter
}

func (m *serverMetrics) init() {
	m.durVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricRequestDuration,
		Help:    "Request latency by endpoint, from the first byte of the handler to the end of the response.",
		Buckets: LatencyBuckets,
	}, []string{"endpoint"})
	m.dur = make([]prometheus.Observer, len(routes))
	for i := range m.dur {
		m.dur[i] = m.durVec.WithLabelValues(endpointNames[i])
	}
	m.otherDur = sync.OnceValue(func() prometheus.Observer { return m.durVec.WithLabelValues(otherEndpoint) })
	m.reqVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRequests,
		Help: "Requests by endpoint, method and status code.",
	}, []string{"endpoint", "method", "status"})
	empty := map[reqKey]prometheus.Counter{}
	m.reqs.Store(&empty)
	m.predictions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricPredictions,
		Help: "Listings priced (a batch counts each item).",
	})
}

func (m *serverMetrics) observe(ep int, method string, status int, lat time.Duration) {
	if ep < len(m.dur) {
		m.dur[ep].Observe(lat.Seconds())
	} else {
		m.otherDur().Observe(lat.Seconds())
	}
	if status < 100 || status > 999 {
		status = 999
	}
	k := reqKey{ep: uint8(ep), method: methodIndex(method), status: uint16(status)}
	if c, ok := (*m.reqs.Load())[k]; ok {
		c.Inc()
		return
	}
	m.mu.Lock()
	cur := *m.reqs.Load()
	c, ok := cur[k]
	if !ok {
		next := make(map[reqKey]prometheus.Counter, len(cur)+1)
		for kk, vv := range cur {
			next[kk] = vv
		}
		c = m.reqVec.WithLabelValues(endpointNames[k.ep], methodNames[k.method], strconv.Itoa(int(k.status)))
		next[k] = c
		m.reqs.Store(&next)
	}
	m.mu.Unlock()
	c.Inc()
}

var (
	descInFlight       = prometheus.NewDesc(MetricInFlight, "Requests being served now.", nil, nil)
	descModelInfo      = prometheus.NewDesc(MetricModelInfo, "The serving model's version (value 1).", []string{"version"}, nil)
	descModelLoaded    = prometheus.NewDesc(MetricModelLoaded, "1 when a model is loaded.", nil, nil)
	descHealthy        = prometheus.NewDesc(MetricHealthy, "1 when /health answers 200 (model loaded, schema agrees with the config).", nil, nil)
	descReady          = prometheus.NewDesc(MetricReady, "1 when /ready answers 200.", nil, nil)
	descBuildInfo      = prometheus.NewDesc(MetricBuildInfo, "Build information (value 1).", []string{"version", "goversion"}, nil)
	descPredLogDropped = prometheus.NewDesc(MetricPredLogDropped, "Predictions not queued for the store because the queue was full.", nil, nil)
)

// stateCollector reads the server's state at scrape time, so the gauges are
// exact when scraped. carvision_model_loaded and carvision_model_info come
// from one look at the model, so they agree even during a swap.
type stateCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descModelInfo, descModelLoaded, descHealthy, descReady, descBuildInfo, descPredLogDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { SendGauge(ch, d, v, labels...) }
	gauge(descInFlight, float64(s.inFlight.Load()))
	m := s.opt.Models.Current()
	if m != nil {
		gauge(descModelInfo, 1, m.Version())
	}
	gauge(descModelLoaded, b2f(m != nil))
	gauge(descHealthy, b2f(s.Health().Status == "healthy"))
	ready, _, _ := s.ready()
	gauge(descReady, b2f(ready))
	gauge(descBuildInfo, 1, s.opt.Version, runtime.Version())
	var dropped uint64
	if s.opt.PredictionLog != nil {
		dropped = s.opt.PredictionLog.Dropped()
	}
	ch <- prometheus.MustNewConstMetric(descPredLogDropped, prometheus.CounterValue, float64(dropped))
}

// SendGauge sends one gauge sample read at scrape time. A bad label value
// (invalid UTF-8 in a model version, a feature or a rule name) drops this
// sample with an error instead of panicking the scrape; the rest is served.
func SendGauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// registerMetrics puts the server's collectors into its registry. The Go
// runtime and process collectors describe the whole process, so a registry
// shared through Options.Registry may already hold them; that is not an
// error. The server's own metrics twice in one registry is a programming
// error and panics.
func (s *Server) registerMetrics() {
	s.reg.MustRegister(s.met.durVec, s.met.reqVec, s.met.predictions, stateCollector{s})
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := s.reg.Register(c); err != nil {
			if are := (prometheus.AlreadyRegisteredError{}); !errors.As(err, &are) {
				panic(err)
			}
		}
	}
}
