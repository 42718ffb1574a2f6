package local_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"carvision/engine/local"
)

// The drift report and the alert states reach /metrics under the names the
// Prometheus rules and dashboards use.
func TestMetricsExportDriftAndAlertGauges(t *testing.T) {
	_, cfgPath := project(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := local.Open(ctx, local.Options{ConfigPath: cfgPath, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.EnsureChampion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr, err := e.Serve(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	body := string(b)
	for _, want := range []string{
		"# TYPE carvision_drift_window_requests gauge\ncarvision_drift_window_requests 0\n",
		"carvision_drift_detected 0\n",
		"carvision_retrain_recommended 0\n",
		"carvision_out_of_range_share 0\n",
		`carvision_alert_state{alert="latency_p95_high",severity="warning"} 0`,
		`carvision_alert_state{alert="health_down",severity="critical"} 0`,
		"# TYPE carvision_model_info gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
