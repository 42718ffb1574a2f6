package local

import (
	"context"
	"time"

	"carvision/engine/serve/metrics"
)

// registerGauges exports the drift report and the alert states on /metrics,
// so Prometheus and Grafana see what the console sees.
func (s *serving) registerGauges() {
	s.srv.Registry().Register(metrics.CollectorFunc(func(w *metrics.Writer) {
		d := s.drift()
		if w.Family("carvision_drift_score", "Drift score per feature (the test named in the label) against the model's training reference.", metrics.GaugeType) {
			for _, f := range d.Features {
				w.Sample("", f.Score, "feature", f.Feature, "test", f.Test)
			}
		}
		if w.Family("carvision_drift_psi", "Population stability index per feature.", metrics.GaugeType) {
			for _, f := range d.Features {
				w.Sample("", f.PSI, "feature", f.Feature)
			}
		}
		w.Gauge("carvision_drift_window_requests", "Requests in the live drift window.", float64(d.WindowSize))
		w.Gauge("carvision_drift_detected", "1 when the live window has drifted from the training reference.", boolf(d.Status == "drift"))
		w.Gauge("carvision_retrain_recommended", "1 when the drift rules recommend a retrain.", boolf(d.RecommendRetrain))
		w.Gauge("carvision_out_of_range_share", "Share of requests with a model_year beyond the training range.", d.OutOfRangeShare)
		if w.Family("carvision_alert_state", "Alert rule state: 0 inactive, 1 pending, 2 firing.", metrics.GaugeType) {
			for _, a := range s.alerts.states() {
				v := 0.0
				switch a.State {
				case "pending":
					v = 1
				case "firing":
					v = 2
				}
				w.Sample("", v, "alert", a.Name, "severity", a.Severity)
			}
		}
	}))
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
