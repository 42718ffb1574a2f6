package serve

import (
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"carvision/engine/serve/metrics"
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

// serverMetrics holds the request counters. The (endpoint, method, status)
// counters live in a copy-on-write map: lookups are lock-free, and a new
// combination (rare after warm-up) copies the map under a mutex.
type serverMetrics struct {
	dur         []*metrics.Histogram // by endpoint index
	reqs        atomic.Pointer[map[reqKey]*metrics.Counter]
	mu          sync.Mutex
	predictions metrics.Counter
}

func (m *serverMetrics) init() {
	m.dur = make([]*metrics.Histogram, len(endpointNames))
	for i := range m.dur {
		m.dur[i] = metrics.NewHistogram(metrics.LatencyBuckets)
	}
	empty := map[reqKey]*metrics.Counter{}
	m.reqs.Store(&empty)
}

func (m *serverMetrics) observe(ep int, method string, status int, lat time.Duration) {
	m.dur[ep].ObserveDuration(lat)
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
		next := make(map[reqKey]*metrics.Counter, len(cur)+1)
		for kk, vv := range cur {
			next[kk] = vv
		}
		c = &metrics.Counter{}
		next[k] = c
		m.reqs.Store(&next)
	}
	m.mu.Unlock()
	c.Inc()
}

// collect writes the server's own families.
func (s *Server) collect(w *metrics.Writer) {
	if w.Family(MetricRequestDuration, "Request latency by endpoint, from the first byte of the handler to the end of the response.", metrics.HistogramType) {
		for i, h := range s.met.dur {
			if i == len(routes) && h.Count() == 0 {
				continue // "other" appears once a stray path was requested
			}
			h.Write(w, "endpoint", endpointNames[i])
		}
	}
	if w.Family(MetricRequests, "Requests by endpoint, method and status code.", metrics.CounterType) {
		m := *s.met.reqs.Load()
		keys := make([]reqKey, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b reqKey) int {
			if a.ep != b.ep {
				return int(a.ep) - int(b.ep)
			}
			if a.method != b.method {
				return int(a.method) - int(b.method)
			}
			return int(a.status) - int(b.status)
		})
		for _, k := range keys {
			w.Sample("", float64(m[k].Value()), "endpoint", endpointNames[k.ep], "method", methodNames[k.method], "status", strconv.Itoa(int(k.status)))
		}
	}
	w.Counter(MetricPredictions, "Listings priced (a batch counts each item).", float64(s.met.predictions.Value()))
	w.Gauge(MetricInFlight, "Requests being served now.", float64(s.inFlight.Load()))
	m := s.opt.Models.Current()
	if w.Family(MetricModelInfo, "The serving model's version (value 1).", metrics.GaugeType) && m != nil {
		w.Sample("", 1, "version", m.Version())
	}
	w.Gauge(MetricModelLoaded, "1 when a model is loaded.", b2f(m != nil))
	h := s.Health()
	w.Gauge(MetricHealthy, "1 when /health answers 200 (model loaded, schema agrees with the config).", b2f(h.Status == "healthy"))
	ready, _, _ := s.ready()
	w.Gauge(MetricReady, "1 when /ready answers 200.", b2f(ready))
	w.Gauge(MetricBuildInfo, "Build information (value 1).", 1, "version", s.opt.Version, "goversion", runtime.Version())
	var dropped uint64
	if s.opt.PredictionLog != nil {
		dropped = s.opt.PredictionLog.Dropped()
	}
	w.Counter(MetricPredLogDropped, "Predictions not queued for the store because the queue was full.", float64(dropped))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var processStart = time.Now()

var runtimeSamples = []rtmetrics.Sample{
	{Name: "/sched/goroutines:goroutines"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
}

var runtimeMu sync.Mutex

// collectRuntime exports the few process figures the runbook looks at
// (resident memory for the RSS target, goroutines for leaks).
func collectRuntime(w *metrics.Writer) {
	runtimeMu.Lock()
	rtmetrics.Read(runtimeSamples)
	vals := make([]float64, len(runtimeSamples))
	for i, s := range runtimeSamples {
		if s.Value.Kind() == rtmetrics.KindUint64 {
			vals[i] = float64(s.Value.Uint64())
		}
	}
	runtimeMu.Unlock()
	w.Gauge("go_goroutines", "Goroutines that currently exist.", vals[0])
	w.Gauge("go_heap_objects_bytes", "Bytes of live and not yet swept heap objects.", vals[1])
	w.Counter("go_gc_cycles_total", "Completed GC cycles.", vals[2])
	w.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", float64(processStart.UnixNano())/1e9)
	if rss, ok := residentBytes(); ok {
		w.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss)
	}
}

// residentBytes reads the RSS from /proc (Linux only; elsewhere it is absent).
func residentBytes() (float64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0, false
	}
	return pages * float64(os.Getpagesize()), true
}
