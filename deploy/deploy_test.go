// Package deploy holds no code: its tests check the Dockerfile, the
// Kubernetes manifests and the Prometheus rules against the code they deploy.
package deploy

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/engine/serve"
)

type stubModel struct{}

func (stubModel) Version() string        { return "v1" }
func (stubModel) Info() engine.ModelInfo { return engine.ModelInfo{Version: "v1"} }
func (stubModel) SchemaCheck() error     { return nil }
func (stubModel) Predict(engine.Listing, engine.PredictOptions) (engine.Prediction, error) {
	return engine.Prediction{Price: 1}, nil
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// k8sDocs decodes every document of a manifest.
func k8sDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(read(t, path)))
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func TestContainerConfigValidates(t *testing.T) {
	text := read(t, "config.container.yaml")
	cfg, err := config.Parse([]byte(text), "deploy/config.container.yaml")
	if err != nil {
		t.Fatalf("the image's config does not validate: %v", err)
	}
	if cfg.Serve.Addr != "0.0.0.0:8000" || !strings.HasPrefix(cfg.Paths.StorePath, "/var/lib/carvision/") ||
		!strings.HasPrefix(cfg.Paths.LogPath, "/var/log/carvision/") {
		t.Errorf("container paths/addr: %+v %+v", cfg.Serve.Addr, cfg.Paths)
	}
	cm := k8sDocs(t, "k8s/configmap.yaml")
	if got := dig(cm[0], "data", "config.yaml"); got != text {
		t.Error("k8s/configmap.yaml's config.yaml differs from config.container.yaml")
	}
}

func TestDeploymentProbesAndScrape(t *testing.T) {
	docs := k8sDocs(t, "k8s/deployment.yaml")
	var dep map[string]any
	for _, d := range docs {
		if d["kind"] == "Deployment" {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("no Deployment")
	}
	c := dig(dep, "spec", "template", "spec", "containers", 0)
	probes := map[string]string{
		"livenessProbe":  "/livez",
		"readinessProbe": "/ready",
	}
	srv := serve.New(serve.Options{Models: serve.NewHolder(stubModel{})})
	for probe, want := range probes {
		path := dig(c, probe, "httpGet", "path")
		if path != want {
			t.Errorf("%s path %v, want %s", probe, path, want)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", want, nil))
		if rec.Code != 200 {
			t.Errorf("%s: the server answers %d", want, rec.Code)
		}
	}
	ann := dig(dep, "spec", "template", "metadata", "annotations").(map[string]any)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != "8000" {
		t.Errorf("scrape annotations %v", ann)
	}
	if dig(c, "resources", "limits", "memory") == nil || dig(c, "resources", "requests", "cpu") == nil {
		t.Error("resources missing")
	}
	if dig(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("not forced non-root")
	}
	svc := k8sDocs(t, "k8s/service.yaml")[0]
	if dig(svc, "spec", "ports", 0, "port") != 8000 {
		t.Errorf("service port %v", dig(svc, "spec", "ports", 0, "port"))
	}
}

func TestDockerfile(t *testing.T) {
	df := read(t, "../Dockerfile")
	for _, want := range []string{
		"FROM golang:1.26 AS build", "CGO_ENABLED=0", "distroless/static", "USER 65532:65532",
		"HEALTHCHECK", `"health", "--url", "http://127.0.0.1:8000/health"`, "EXPOSE 8000 2222",
		`VOLUME ["/etc/carvision", "/var/lib/carvision", "/var/log/carvision"]`,
		"COPY --chown=65532:65532 deploy/config.container.yaml /etc/carvision/config.yaml",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}

// TestPrometheusRules lints rules.yml, runs its unit tests, and checks that
// every carvision_ metric a rule reads is exported by /metrics.
func TestPrometheusRules(t *testing.T) {
	rules := read(t, "prometheus/rules.yml")
	srv := serve.New(serve.Options{Models: serve.NewHolder(stubModel{})})
	if _, err := serve.NewReloader(serve.ReloaderOptions{Holder: serve.NewHolder(nil), Path: "x",
		Load: func(string) (serve.Model, error) { return stubModel{}, nil }, Registry: srv.Registry()}); err != nil {
		t.Fatal(err)
	}
	// client_golang leaves out a family with no series yet, so serve one
	// request first, as any server Prometheus scrapes has.
	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/health", nil))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	exported := rec.Body.String()
	names := metricNames(rules)
	for _, want := range []string{"carvision_request_duration_seconds_bucket", "carvision_requests_total", "carvision_healthy",
		"carvision_model_reload_failures_total", "carvision_prediction_log_dropped_total"} {
		if !slices.Contains(names, want) {
			t.Errorf("rules.yml no longer reads %s (found %v)", want, names)
		}
	}
	for _, name := range names {
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suf)
		}
		if !strings.Contains(exported, "# TYPE "+base+" ") {
			t.Errorf("rules.yml reads %s, which /metrics does not export", name)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join("prometheus", "rules.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(promtool, "test", "rules", "rules_test.yml")
	cmd.Dir = "prometheus"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// metricNames lists the carvision_* series names in PromQL text (recording
// rule names, which contain ':', are skipped).
func metricNames(s string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; ; {
		j := strings.Index(s[i:], "carvision_")
		if j < 0 {
			return out
		}
		k := i + j
		e := k
		for e < len(s) && (s[e] == '_' || s[e] >= 'a' && s[e] <= 'z' || s[e] >= '0' && s[e] <= '9') {
			e++
		}
		prev := byte(' ')
		if k > 0 {
			prev = s[k-1]
		}
		if name := s[k:e]; prev != ':' && !seen[name] && (e >= len(s) || s[e] != ':') {
			seen[name] = true
			out = append(out, name)
		}
		i = e
	}
}
