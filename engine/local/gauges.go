package local

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carvision/engine/serve"
)

var (
	descDriftScore = prometheus.NewDesc("carvision_drift_score",
		"Drift score per feature (the test named in the label) against the model's training reference.", []string{"feature", "test"}, nil)
	descDriftPSI      = prometheus.NewDesc("carvision_drift_psi", "Population stability index per feature.", []string{"feature"}, nil)
	descDriftWindow   = prometheus.NewDesc("carvision_drift_window_requests", "Requests in the live drift window.", nil, nil)
	descDriftDetected = prometheus.NewDesc("carvision_drift_detected", "1 when the live window has drifted from the training reference.", nil, nil)
	descRetrain       = prometheus.NewDesc("carvision_retrain_recommended", "1 when the drift rules recommend a retrain.", nil, nil)
	descOutOfRange    = prometheus.NewDesc("carvision_out_of_range_share", "Share of requests with a model_year beyond the training range.", nil, nil)
	descAlertState    = prometheus.NewDesc("carvision_alert_state", "Alert rule state: 0 inactive, 1 pending, 2 firing.", []string{"alert", "severity"}, nil)
)

// gaugeCollector exports the drift report and the alert states on /metrics,
// so Prometheus and Grafana see what the console sees. It reads them at
// scrape time rather than mirroring them into GaugeVecs, so a feature or rule
// that leaves the report leaves /metrics too.
type gaugeCollector struct{ s *serving }

// Describe implements prometheus.Collector.
func (gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDriftScore, descDriftPSI, descDriftWindow, descDriftDetected, descRetrain, descOutOfRange, descAlertState} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { serve.SendGauge(ch, d, v, labels...) }
	d := c.s.drift()
	for _, f := range d.Features {
		gauge(descDriftScore, f.Score, f.Feature, f.Test)
	}
	for _, f := range d.Features {
		gauge(descDriftPSI, f.PSI, f.Feature)
	}
	gauge(descDriftWindow, float64(d.WindowSize))
	gauge(descDriftDetected, boolf(d.Status == "drift"))
	gauge(descRetrain, boolf(d.RecommendRetrain))
	gauge(descOutOfRange, d.OutOfRangeShare)
	for _, a := range c.s.alerts.states() {
		v := 0.0
		switch a.State {
		case "pending":
			v = 1
		case "firing":
			v = 2
		}
		gauge(descAlertState, v, a.Name, a.Severity)
	}
}

// registerGauges adds the drift and alert gauges to the server's registry.
// It runs once per serving, so the registry cannot already hold them.
func (s *serving) registerGauges() {
	s.srv.Registry().MustRegister(gaugeCollector{s})
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// flushMonitor compacts the monitor's per-second slots off the request path.
func (s *serving) flushMonitor(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mon.Flush()
		}
	}
}
