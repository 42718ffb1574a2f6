package checks

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carvision/engine"
	"carvision/engine/config"
)

// fixture returns a file of testdata/runbooks.
func fixture(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata", "runbooks"}, parts...)...)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, data)
}

func writeFile(t *testing.T, dst string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadConfig(t *testing.T, name string) *config.Config {
	t.Helper()
	c, err := config.Load(filepath.Join("..", "..", "testdata", "config", "valid", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type checkCase struct {
	name    string
	check   string
	params  Params
	setup   func(t *testing.T, e *FakeEnv)
	verdict Verdict
	finding string // substring of the finding
	fix     string // runbook the fix names ("" = not asserted)
	assert  func(t *testing.T, r Result)
}

func runCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := NewFakeEnv(t.TempDir())
			if tc.setup != nil {
				tc.setup(t, env)
			}
			r := Run(context.Background(), tc.check, Input{Env: env, Params: tc.params, Memo: &Memo{}})
			if r.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s), want %s", r.Verdict, r.Finding, tc.verdict)
			}
			if !strings.Contains(r.Finding, tc.finding) {
				t.Errorf("finding = %q, want it to contain %q", r.Finding, tc.finding)
			}
			if strings.Contains(r.Finding, "\n") {
				t.Errorf("finding spans lines: %q", r.Finding)
			}
			if tc.fix != "" && (r.Fix == nil || r.Fix.Runbook != tc.fix) {
				t.Errorf("fix = %+v, want runbook %s", r.Fix, tc.fix)
			}
			if (r.Verdict == Fail || r.Verdict == Warn) && r.Fix == nil {
				t.Errorf("a %s result must name its fix", r.Verdict)
			}
			if r.Check != tc.check {
				t.Errorf("Check = %q", r.Check)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("result does not encode: %v", err)
			}
			if tc.assert != nil {
				tc.assert(t, r)
			}
		})
	}
}

func number(t *testing.T, r Result, name string) float64 {
	t.Helper()
	v, ok := r.Evidence.Get(name)
	if !ok {
		t.Fatalf("evidence has no %q: %+v", name, r.Evidence.Numbers)
	}
	return v
}

func TestServiceChecks(t *testing.T) {
	runCases(t, []checkCase{
		{name: "health ok", check: "health", verdict: Pass, finding: "healthy, serving model v3"},
		{name: "health unreachable", check: "health", verdict: Fail, finding: "unreachable: connection refused", fix: "deploy-verify",
			setup: func(t *testing.T, e *FakeEnv) { e.C.HealthErr = errors.New("connection refused") }},
		{name: "health schema mismatch", check: "health", verdict: Fail, finding: "unhealthy", fix: "api-500-missing-column",
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.HealthV = engine.Health{Status: "unhealthy", Reason: `Missing column "odometer"`, ModelVersion: "3"}
			}},
		{name: "health no model", check: "health", verdict: Fail, finding: "no model loaded", fix: "retrain-compare",
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.HealthV = engine.Health{Status: "unhealthy", Reason: "no model loaded"}
			}},
		{name: "health not ready", check: "health", verdict: Warn, finding: "not ready",
			setup: func(t *testing.T, e *FakeEnv) { e.C.HealthV.Ready = false; e.C.HealthV.Reason = "warming up" }},
		{name: "health slow", check: "health", params: Params{"max_latency": 100 * time.Millisecond}, verdict: Warn, finding: "took 2s", fix: "high-latency",
			setup: func(t *testing.T, e *FakeEnv) {
				now := FakeNow
				e.Clock = func() time.Time { now = now.Add(2 * time.Second); return now }
			},
			assert: func(t *testing.T, r Result) {
				if v := number(t, r, "latency"); v != 2000 {
					t.Errorf("latency = %v ms, want 2000", v)
				}
			}},

		{name: "deploy verified", check: "deploy.verify", verdict: Pass, finding: "serving the champion v3"},
		{name: "deploy stale model", check: "deploy.verify", verdict: Fail, finding: "serving v2 but the champion is v3", fix: "deploy-verify",
			setup: func(t *testing.T, e *FakeEnv) { e.C.HealthV.ModelVersion = "2"; e.C.PredictV.ModelVersion = "2" }},
		{name: "deploy predict fails", check: "deploy.verify", verdict: Fail, finding: "sample /predict failed: boom",
			setup: func(t *testing.T, e *FakeEnv) { e.C.PredictErr = errors.New("boom") }},
		{name: "deploy nonsense price", check: "deploy.verify", verdict: Fail, finding: "nonsensical price",
			setup: func(t *testing.T, e *FakeEnv) { e.C.PredictV.Price = math.NaN() }},
		{name: "deploy unhealthy", check: "deploy.verify", verdict: Fail, finding: `{"status":"healthy"}`,
			setup: func(t *testing.T, e *FakeEnv) { e.C.HealthV.Status = "ok" }},
		{name: "deploy no store", check: "deploy.verify", verdict: Pass, finding: "champion unknown",
			setup: func(t *testing.T, e *FakeEnv) { e.C.ModelsErr = engine.ErrUnavailable }},
		{name: "deploy no champion", check: "deploy.verify", verdict: Warn, finding: "no model is champion",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Versions = nil }},
		{name: "deploy waits for health", check: "deploy.verify", params: Params{"wait": 5 * time.Second, "every": time.Millisecond}, verdict: Pass,
			setup: func(t *testing.T, e *FakeEnv) {
				starting := engine.Health{Status: "unhealthy", Reason: "starting"}
				e.C.HealthSeq = []engine.Health{starting, starting, e.C.HealthV}
			},
			assert: func(t *testing.T, r Result) {
				if v := number(t, r, "health polls"); v != 3 {
					t.Errorf("polls = %v, want 3", v)
				}
			}},
		{name: "deploy no wait polls once", check: "deploy.verify", verdict: Fail, finding: "starting",
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.HealthSeq = []engine.Health{{Status: "unhealthy", Reason: "starting"}, e.C.HealthV}
			}},

		{name: "latency ok", check: "latency.slo", verdict: Pass, finding: "/predict"},
		{name: "latency over p99", check: "latency.slo", verdict: Fail, finding: "p99 300 ms > 200 ms", fix: "high-latency",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[1].P99MS = 300 }},
		{name: "latency near p95", check: "latency.slo", verdict: Warn, finding: "p95 450 ms near 500 ms",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[1].P95MS = 450; e.C.Snap.Latency[1].P99MS = 150 }},
		{name: "latency other endpoint", check: "latency.slo", params: Params{"endpoint": "all"}, verdict: Fail, finding: "all over",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[0].P99MS = 900 }},
		{name: "latency no traffic", check: "latency.slo", verdict: Skipped, finding: "no requests",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency = nil }},
		{name: "latency snapshot error", check: "latency.slo", verdict: Error, finding: "snapshot",
			setup: func(t *testing.T, e *FakeEnv) { e.C.SnapErr = errors.New("down") }},

		{name: "errors ok", check: "errors.rate", verdict: Pass, finding: "5xx rate 0.00% ≤ 1.00%"},
		{name: "errors high", check: "errors.rate", verdict: Fail, finding: "5xx rate 3.00% > 1.00%", fix: "error-rate",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[1].Rate5xx = 0.03 }},
		{name: "errors close", check: "errors.rate", verdict: Warn, finding: "close to",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[1].Rate5xx = 0.007 }},
		{name: "errors no traffic", check: "errors.rate", verdict: Skipped,
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Latency[1].Count = 0; e.C.Snap.Latency = e.C.Snap.Latency[1:] }},
	})
}

func TestLogChecks(t *testing.T) {
	useLog := func(name string) func(t *testing.T, e *FakeEnv) {
		return func(t *testing.T, e *FakeEnv) { copyFile(t, fixture("logs", name), e.Log) }
	}
	runCases(t, []checkCase{
		{name: "missing column in the last hour", check: "logs.missing_column", params: Params{"since": time.Hour}, setup: useLog("missing-column.jsonl"),
			verdict: Fail, finding: `3 × Missing column "odometer" in the last 1h0m0s (model v3)`, fix: "api-500-missing-column",
			assert: func(t *testing.T, r Result) {
				if n := number(t, r, "occurrences"); n != 3 {
					t.Errorf("occurrences = %v", n)
				}
				if n := number(t, r, "older or undated"); n != 1 {
					t.Errorf("older = %v", n)
				}
				want := [][]string{{"column", "model", "count", "last seen"}, {"odometer", "v3", "2", "2025-01-15T11:45:12Z"}, {"cylinders", "v3", "1", "2025-01-15T11:58:30Z"}}
				if !equalTable(r.Evidence.Table, want) {
					t.Errorf("table = %v", r.Evidence.Table)
				}
				if len(r.Evidence.Lines) != 3 || !strings.Contains(r.Evidence.Lines[2], "r-188") {
					t.Errorf("sample lines = %q", r.Evidence.Lines)
				}
			}},
		{name: "missing column any time", check: "logs.missing_column", params: Params{"since": time.Duration(0)}, setup: useLog("missing-column.jsonl"),
			verdict: Fail, finding: "4 × Missing column",
			assert: func(t *testing.T, r Result) {
				if !strings.Contains(fmtTable(r.Evidence.Table), "odometer v2 1 2025-01-15T09:10:00Z") {
					t.Errorf("the v2 occurrence is not in the table: %v", r.Evidence.Table)
				}
			}},
		{name: "text handler format", check: "logs.missing_column", setup: useLog("text-format.log"),
			verdict: Fail, finding: `2 × Missing column "model_year"`},
		{name: "clean log", check: "logs.missing_column", setup: useLog("clean.jsonl"), verdict: Pass, finding: "no \"Missing column\" errors"},
		{name: "engine log buffer when no file", check: "logs.missing_column", verdict: Fail, finding: `1 × Missing column "odometer"`,
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.LogLines = []engine.LogLine{
					{At: FakeNow.Add(-time.Minute), Level: "error", Message: `Missing column "odometer": model v3 expects it`, Attrs: map[string]string{"model_version": "3"}},
					{At: FakeNow.Add(-3 * time.Hour), Level: "error", Message: `Missing column "odometer": old`},
				}
			}},
		{name: "no log anywhere", check: "logs.missing_column", verdict: Skipped, finding: "no log file",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Caps.Logs = false }},
		{name: "bounded tail", check: "logs.missing_column", params: Params{"max_mb": 1.0, "since": time.Duration(0)}, verdict: Pass,
			setup: func(t *testing.T, e *FakeEnv) {
				// The errors are at the start of a 3 MiB log: a bounded
				// reader must not see them.
				var b strings.Builder
				b.WriteString(`{"time":"2025-01-15T11:59:00Z","level":"ERROR","msg":"Missing column \"odometer\""}` + "\n")
				line := `{"time":"2025-01-15T11:59:00Z","level":"INFO","msg":"request","request_id":"r-1","status":200}` + "\n"
				for b.Len() < 3<<20 {
					b.WriteString(line)
				}
				writeFile(t, e.Log, []byte(b.String()))
			},
			assert: func(t *testing.T, r Result) {
				if n := number(t, r, "log bytes read"); n > 1<<20 {
					t.Errorf("read %v bytes, more than 1 MiB", n)
				}
			}},

		{name: "rotation ok", check: "logs.rotation", verdict: Pass, finding: "2 rotated files",
			setup: func(t *testing.T, e *FakeEnv) {
				copyFile(t, fixture("logs", "clean.jsonl"), e.Log)
				dir := filepath.Dir(e.Log)
				writeFile(t, filepath.Join(dir, "carvision-2025-01-14T00-00-00.000.log.gz"), []byte("x"))
				writeFile(t, filepath.Join(dir, "carvision-2025-01-13T00-00-00.000.log.gz"), []byte("x"))
				writeFile(t, filepath.Join(dir, "other.log"), []byte("x"))
				touchAll(t, dir, FakeNow.Add(-24*time.Hour))
			}},
		{name: "rotation not happening", check: "logs.rotation", verdict: Fail, finding: "over max_size_mb 1", fix: "maintenance",
			setup: func(t *testing.T, e *FakeEnv) {
				c := config.Default()
				c.Logging.MaxSizeMB = 1
				e.SetConfig(c)
				writeFile(t, e.Log, []byte(strings.Repeat("x", 2<<20)))
			}},
		{name: "too many backups", check: "logs.rotation", verdict: Warn, finding: "3 rotated files kept, max_backups is 2",
			setup: func(t *testing.T, e *FakeEnv) {
				c := config.Default()
				c.Logging.MaxBackups = 2
				e.SetConfig(c)
				copyFile(t, fixture("logs", "clean.jsonl"), e.Log)
				for _, d := range []string{"11", "12", "13"} {
					writeFile(t, filepath.Join(filepath.Dir(e.Log), "carvision-2025-01-"+d+"T00-00-00.000.log"), []byte("x"))
				}
				touchAll(t, filepath.Dir(e.Log), FakeNow.Add(-time.Hour))
			}},
		{name: "old active log", check: "logs.rotation", verdict: Warn, finding: "daily_rotate is on",
			setup: func(t *testing.T, e *FakeEnv) {
				writeFile(t, e.Log, []byte(`{"time":"2025-01-12T08:00:00Z","level":"INFO","msg":"start"}`+"\n"))
			}},
		{name: "no log yet", check: "logs.rotation", verdict: Skipped, finding: "no log file yet"},
	})
}

func touchAll(t *testing.T, dir string, at time.Time) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Chtimes(filepath.Join(dir, e.Name()), at, at); err != nil {
			t.Fatal(err)
		}
	}
}

func fmtTable(t [][]string) string {
	var rows []string
	for _, r := range t {
		rows = append(rows, strings.Join(r, " "))
	}
	return strings.Join(rows, "\n")
}

func equalTable(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "|") != strings.Join(b[i], "|") {
			return false
		}
	}
	return true
}

func TestSchemaCheck(t *testing.T) {
	runCases(t, []checkCase{
		{name: "agree", check: "schema.config_vs_model", verdict: Pass, finding: "agree on 11 features"},
		{name: "config drops a model feature", check: "schema.config_vs_model", verdict: Fail,
			finding: `Missing column "odometer": model v3 uses it but config drop_columns removes odometer`, fix: "api-500-missing-column",
			setup: func(t *testing.T, e *FakeEnv) { e.SetConfig(loadConfig(t, "drop-odometer.yaml")) },
			assert: func(t *testing.T, r Result) {
				found := false
				for _, row := range r.Evidence.Table {
					found = found || (row[0] == "odometer" && row[3] == "MISSING COLUMN")
				}
				if !found {
					t.Errorf("diff table lacks the odometer row: %v", r.Evidence.Table)
				}
				if r.Fix.Step != "reload-config" {
					t.Errorf("fix step = %q", r.Fix.Step)
				}
			}},
		{name: "model lacks a config feature", check: "schema.config_vs_model", verdict: Warn, finding: "config expects paint_color which the model lacks", fix: "retrain-compare",
			setup: func(t *testing.T, e *FakeEnv) {
				fs := e.C.ModelV.Features
				e.C.ModelV.Features = fs[:len(fs)-1]
			}},
		{name: "config lists fewer features", check: "schema.config_vs_model", verdict: Warn, finding: "the next retrain would drop",
			setup: func(t *testing.T, e *FakeEnv) {
				c := config.Default()
				c.Training.Features = []string{"model_year", "odometer"}
				e.SetConfig(c)
			}},
		{name: "no model", check: "schema.config_vs_model", verdict: Fail, finding: "no served model", fix: "retrain-compare",
			setup: func(t *testing.T, e *FakeEnv) { e.C.ModelErr = errors.New("no model loaded") }},
		{name: "remote without model info", check: "schema.config_vs_model", verdict: Skipped,
			setup: func(t *testing.T, e *FakeEnv) { e.C.ModelErr = engine.ErrUnavailable }},
	})
}

func TestDriftChecks(t *testing.T) {
	burst := func(t *testing.T, e *FakeEnv) {
		d := &e.C.Snap.Drift
		d.OutOfRangeShare = 0.31
		d.Status, d.DatasetDrift, d.RecommendRetrain, d.Reason, d.DriftShare = "drift", true, true, "max_psi_ge_0_25", 0.67
		f := &d.Features[0]
		f.Drifted, f.Score, f.PSI, f.KS, f.KSP = true, 0.84, 0.84, 0.4, 1e-12
		d.Features[1].Drifted, d.Features[1].Score = true, 0.3
	}
	runCases(t, []checkCase{
		{name: "age stable", check: "drift.vehicle_age", verdict: Pass, finding: "vehicle_age stable: PSI 0.030 vs limit 0.10"},
		{name: "2025 burst", check: "drift.vehicle_age", setup: burst, verdict: Fail, fix: "low-accuracy-drift",
			finding: "vehicle_age drifted: PSI 0.840 vs limit 0.10; 31.00% of requests are model years after 2019, beyond training",
			assert: func(t *testing.T, r Result) {
				if v := number(t, r, "out of range"); v != 0.31 {
					t.Errorf("out of range = %v", v)
				}
				if len(r.Evidence.Table) != 5 || r.Evidence.Table[0][1] != "training" {
					t.Errorf("bins table = %v", r.Evidence.Table)
				}
			}},
		{name: "few beyond training", check: "drift.vehicle_age", verdict: Warn, finding: "2.00% of requests are model years after 2019",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.OutOfRangeShare = 0.02 }},
		{name: "many beyond training without PSI drift", check: "drift.vehicle_age", verdict: Fail, finding: "beyond training",
			params: Params{"max_out_of_range": 0.1},
			setup:  func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.OutOfRangeShare = 0.2 }},
		{name: "age collecting", check: "drift.vehicle_age", verdict: Skipped, finding: "collecting: 57 of the 200",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.Status, e.C.Snap.Drift.WindowSize = "collecting", 57 }},
		{name: "age absent", check: "drift.vehicle_age", verdict: Skipped, finding: "no vehicle_age",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.Features = e.C.Snap.Drift.Features[1:] }},

		{name: "dataset ok", check: "drift.dataset", verdict: Pass, finding: "no drift over 3 features"},
		{name: "dataset drift", check: "drift.dataset", setup: burst, verdict: Fail, fix: "low-accuracy-drift",
			finding: "2 of 3 features drifted (vehicle_age, predicted_price); retrain recommended: max_psi_ge_0_25"},
		{name: "one feature", check: "drift.dataset", verdict: Warn, finding: "1 of 3 features drifted (odometer)",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.Features[2].Drifted = true }},
		{name: "dataset collecting", check: "drift.dataset", verdict: Skipped,
			setup: func(t *testing.T, e *FakeEnv) { e.C.Snap.Drift.Status = "collecting" }},
	})
}

func TestDataChecks(t *testing.T) {
	useCSV := func(name string) func(t *testing.T, e *FakeEnv) {
		return func(t *testing.T, e *FakeEnv) { copyFile(t, fixture("data", name), e.Data) }
	}
	withConfig := func(csv string, edit func(c *config.Config)) func(t *testing.T, e *FakeEnv) {
		return func(t *testing.T, e *FakeEnv) {
			copyFile(t, fixture("data", csv), e.Data)
			c := config.Default()
			edit(c)
			e.SetConfig(c)
		}
	}
	runCases(t, []checkCase{
		{name: "schema ok", check: "data.csv_schema", setup: useCSV("good.csv"), verdict: Pass, finding: "12 rows, 13 columns"},
		{name: "renamed column", check: "data.csv_schema", setup: useCSV("renamed-column.csv"), verdict: Fail, fix: "pipeline-clean-fails",
			finding: `required column "odometer" is missing from vehicles_us.csv (the header has unknown column "mileage": renamed?)`},
		{name: "bad values", check: "data.csv_schema", setup: useCSV("bad-values.csv"), verdict: Fail, finding: `line 4 column "odometer": "12a"`,
			assert: func(t *testing.T, r Result) {
				var lines []string
				for _, l := range r.Evidence.Lines {
					lines = append(lines, strings.SplitN(l, ":", 2)[0])
				}
				want := "vehicles_us.csv line 4|vehicles_us.csv line 6|vehicles_us.csv line 8"
				if strings.Join(lines, "|") != want {
					t.Errorf("bad lines = %q, want %s", r.Evidence.Lines, want)
				}
			}},
		{name: "no data file", check: "data.csv_schema", verdict: Fail, finding: "no data file at"},

		{name: "filters ok", check: "data.filters", setup: useCSV("good.csv"), verdict: Pass, finding: "11 of 12 rows survive",
			assert: func(t *testing.T, r Result) {
				if len(r.Evidence.Table) != 5 || r.Evidence.Table[1][0] != "min_price" || r.Evidence.Table[1][2] != "1" {
					t.Errorf("table = %v", r.Evidence.Table)
				}
			}},
		{name: "filters remove everything", check: "data.filters", verdict: Fail, fix: "pipeline-clean-fails",
			finding: "filter min_year removes every remaining row: model_year >= 2030, data model_year 2003..2017",
			setup: func(t *testing.T, e *FakeEnv) {
				copyFile(t, fixture("data", "good.csv"), e.Data)
				e.SetConfig(loadConfig(t, "filters-remove-all.yaml"))
			},
			assert: func(t *testing.T, r Result) {
				if !strings.Contains(r.Fix.Hint, "preprocessing.filters.min_year") {
					t.Errorf("fix hint = %q", r.Fix.Hint)
				}
			}},
		{name: "aggressive filter", check: "data.filters", verdict: Warn, finding: "min_price removes 75.00% (price > 15000)",
			setup: withConfig("good.csv", func(c *config.Config) { c.Preprocessing.Filters.MinPrice = 15000 })},
		{name: "threshold from config", check: "data.filters", verdict: Pass,
			setup: withConfig("good.csv", func(c *config.Config) {
				c.Preprocessing.Filters.MinPrice = 15000
				c.Runbooks.WarnRemovedShare = 0.9
			})},
		{name: "filters on unreadable data", check: "data.filters", setup: useCSV("renamed-column.csv"), verdict: Fail, finding: "cannot read the data"},
		{name: "filters without data", check: "data.filters", verdict: Fail, finding: "no data file"},
	})
}

func TestDiskAndModelChecks(t *testing.T) {
	runCases(t, []checkCase{
		{name: "disk ok", check: "disk.usage", verdict: Pass, finding: "fullest 40.00%",
			assert: func(t *testing.T, r Result) {
				// The three paths share the default volume: measured once.
				if len(r.Evidence.Numbers) != 1 {
					t.Errorf("numbers = %v", r.Evidence.Numbers)
				}
			}},
		{name: "log volume full", check: "disk.usage", verdict: Fail, finding: "log volume 90.00% full (limit 85.00%)", fix: "disk-space",
			setup: func(t *testing.T, e *FakeEnv) {
				e.Disks = map[string]DiskUsage{filepath.Dir(e.Log): {Used: 90, Avail: 10, Total: 100, Dev: 7}}
			}},
		{name: "data volume filling", check: "disk.usage", verdict: Warn, finding: "data volume 80.00% full",
			setup: func(t *testing.T, e *FakeEnv) {
				e.Disks = map[string]DiskUsage{filepath.Dir(e.Data): {Used: 80, Avail: 20, Total: 100, Dev: 9}}
			}},
		{name: "custom limit", check: "disk.usage", params: Params{"max": 0.3, "warn": 0.2}, verdict: Fail, finding: "limit 30.00%"},

		{name: "gate passes", check: "model.regression", verdict: Pass, finding: "challenger v4 passes the gate against champion v3",
			assert: func(t *testing.T, r Result) {
				if len(r.Evidence.Table) != 3 || r.Evidence.Table[1][0] != "test.rmse" {
					t.Errorf("table = %v", r.Evidence.Table)
				}
			}},
		{name: "gate fails", check: "model.regression", verdict: Fail, fix: "retrain-compare",
			finding: "challenger v4 fails the gate against v3: RMSE 4500 regresses",
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.Diff.Gate = engine.GateResult{Pass: false, Reasons: []string{"✓ R² 0.80 ≥ 0.70", "✗ RMSE 4500 regresses vs champion v3 4100"}}
			}},
		{name: "no challenger", check: "model.regression", verdict: Skipped, finding: "no challenger",
			setup: func(t *testing.T, e *FakeEnv) { e.C.Versions = e.C.Versions[:1] }},
		{name: "challenger is champion", check: "model.regression", verdict: Pass, finding: "already champion",
			setup: func(t *testing.T, e *FakeEnv) {
				e.C.Versions = e.C.Versions[:1]
				e.C.Versions[0].Aliases = []string{"champion", "challenger"}
			}},
		{name: "no store", check: "model.regression", verdict: Skipped,
			setup: func(t *testing.T, e *FakeEnv) { e.C.ModelsErr = engine.ErrUnavailable }},
		{name: "compare error", check: "model.regression", verdict: Error, finding: "compare v3 with v4",
			setup: func(t *testing.T, e *FakeEnv) { e.C.DiffErr = errors.New("file gone") }},
	})
}

func TestStatfsRealVolume(t *testing.T) {
	du, err := Statfs(filepath.Join(t.TempDir(), "not", "yet", "there.log"))
	if err != nil {
		t.Skipf("statfs unavailable: %v", err)
	}
	if du.Total == 0 || du.Used > du.Total || du.Share() < 0 || du.Share() > 1 {
		t.Errorf("usage = %+v", du)
	}
}

// testChecks registers the test-only checks once per process (-count=N).
var testChecks sync.Once

func TestRunGuards(t *testing.T) {
	env := NewFakeEnv(t.TempDir())
	if r := Run(context.Background(), "no.such", Input{Env: env}); r.Verdict != Error || !strings.Contains(r.Finding, "unknown check") {
		t.Errorf("unknown check = %+v", r)
	}
	testChecks.Do(func() {
		register(&Check{ID: "test.panic", Run: func(context.Context, Input) Result { panic("kaboom") }})
		register(&Check{ID: "test.empty", Run: func(context.Context, Input) Result { return Result{} }})
	})
	if r := Run(context.Background(), "test.panic", Input{Env: env}); r.Verdict != Error || !strings.Contains(r.Finding, "kaboom") {
		t.Errorf("panicking check = %+v", r)
	}
	if r := Run(context.Background(), "test.empty", Input{Env: env}); r.Verdict != Error {
		t.Errorf("verdict-less check = %+v", r)
	}
}

func TestParseParams(t *testing.T) {
	c, _ := Lookup("logs.missing_column")
	raw := func(s string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	p, err := c.ParseParams(raw(`{"since":"30m","max_mb":2}`))
	if err != nil || p.Duration("since", 0) != 30*time.Minute || p.Number("max_mb", 0) != 2 {
		t.Errorf("ParseParams = %v, %v", p, err)
	}
	for in, want := range map[string]string{
		`{"since":5}`:       `parameter "since": want a duration`,
		`{"since":"soon"}`:  `parameter "since": want a duration`,
		`{"max_mb":"big"}`:  `parameter "max_mb": want a number`,
		`{"sinse":"1h"}`:    `has no parameter "sinse" (known: since, max_mb)`,
		`{"since":"-1h"}`:   `want a duration`,
		`{"max_mb":[1, 2]}`: `want a number`,
	} {
		if _, err := c.ParseParams(raw(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseParams(%s) = %v, want %q", in, err, want)
		}
	}
	h, _ := Lookup("logs.rotation")
	if _, err := h.ParseParams(raw(`{"x":1}`)); err == nil || !strings.Contains(err.Error(), "takes no parameter") {
		t.Errorf("param on a parameterless check: %v", err)
	}
}

func TestNumberJSON(t *testing.T) {
	ev := Evidence{Numbers: []Number{{Name: "psi", Value: math.NaN()}, {Name: "p99", Value: 12.5, Unit: "ms"}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":null`) {
		t.Errorf("NaN encoded as %s", b)
	}
	var back Evidence
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(back.Numbers[0].Value) || back.Numbers[1].Value != 12.5 {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	for _, tc := range []struct {
		n    Number
		want string
	}{
		{Number{Value: 0.0312, Unit: "share"}, "3.12%"},
		{Number{Value: 1536, Unit: "bytes"}, "1.5 KiB"},
		{Number{Value: 412.3, Unit: "ms"}, "412 ms"},
		{Number{Value: 0.42, Unit: "ms"}, "0.42 ms"},
		{Number{Value: 90, Unit: "s"}, "1m30s"},
		{Number{Value: 12}, "12"},
		{Number{Value: math.Inf(1)}, "—"},
	} {
		if got := tc.n.Text(); got != tc.want {
			t.Errorf("%+v.Text() = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestMemoOnce(t *testing.T) {
	var m Memo
	calls := 0
	for i := 0; i < 3; i++ {
		v, err := m.Get("k", func() (any, error) { calls++; return 42, nil })
		if v != 42 || err != nil {
			t.Fatal(v, err)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times", calls)
	}
}

func TestOSEnv(t *testing.T) {
	root := t.TempDir()
	c := config.Default()
	c.Paths.LogPath = "var/log/cv.log"
	c.Paths.DataPath = "/abs/data.csv"
	e := &OSEnv{Engine: HealthyClient(), Conf: func() *config.Config { return c }, Dir: root}
	if e.LogPath() != filepath.Join(root, "var/log/cv.log") || e.DataPath() != "/abs/data.csv" || e.Root() != root {
		t.Errorf("paths: %s %s", e.LogPath(), e.DataPath())
	}
	if err := e.RotateLogs(context.Background(), engine.ActionRequest{}); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("rotate without a rotator: %v", err)
	}
	if e.Now().IsZero() || (&OSEnv{}).Config() == nil {
		t.Error("defaults")
	}
	writeFile(t, filepath.Join(root, "a.txt"), []byte("x"))
	writeFile(t, filepath.Join(root, ".git", "config"), []byte("x"))
	writeFile(t, filepath.Join(root, "sub", "b.txt"), []byte("x"))
	files, err := e.TrackedFiles(context.Background(), 10)
	if err != nil || strings.Join(files, ",") != "a.txt,sub/b.txt" {
		t.Errorf("walk = %v, %v", files, err)
	}
	if files, _ := e.TrackedFiles(context.Background(), 1); len(files) != 1 {
		t.Errorf("bounded walk = %v", files)
	}
	r := Run(context.Background(), "disk.usage", Input{Env: e})
	if r.Verdict == Error {
		t.Errorf("disk.usage on the real volume: %s", r.Finding)
	}
}
