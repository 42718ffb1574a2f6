package config

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the repository's config.yaml from Marshal(Default())")

// repoRoot walks up from the package folder to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package")
		}
		dir = parent
	}
}

func fixtures(t testing.TB, kind string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "config", kind, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/config/%s: %v", kind, err)
	}
	return files
}

// settings returns a copy without Source, for comparing values.
func settings(c *Config) Config {
	v := *c
	v.Source = Source{}
	return v
}

func mustEqual(t *testing.T, got, want *Config) {
	t.Helper()
	g, w := settings(got), settings(want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := Marshal(got)
		wb, _ := Marshal(want)
		t.Fatalf("configs differ:\n%s", lineDiff(string(wb), string(gb)))
	}
}

// lineDiff lists the lines of want missing from got and vice versa.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	in := func(list []string, s string) bool {
		for _, l := range list {
			if l == s {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	for _, l := range wl {
		if !in(gl, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range gl {
		if !in(wl, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate:\n%v", err)
	}
	if c.DatasetYear != 2019 || c.Seed != 42 || c.Training.GBDT.MaxBin != 255 {
		t.Errorf("unexpected defaults: year %d seed %d max_bin %d", c.DatasetYear, c.Seed, c.Training.GBDT.MaxBin)
	}
	// Default returns fresh values: changing one must not change the next.
	c.Preprocessing.DropColumns[0] = "changed"
	c.Alerts.Rules[0].Threshold = 99
	d := Default()
	if d.Preprocessing.DropColumns[0] != "price_per_mile" || d.Alerts.Rules[0].Threshold != 0.5 {
		t.Error("Default() shares slices between calls")
	}
}

func TestShippedRules(t *testing.T) {
	// The runbook ids of issue 7's shipped library.
	runbooks := map[string]bool{
		"deploy-verify": true, "retrain-compare": true, "api-500-missing-column": true,
		"low-accuracy-drift": true, "pipeline-clean-fails": true, "high-latency": true,
		"error-rate": true, "disk-space": true, "maintenance": true,
	}
	want := map[string]struct {
		metric    string
		op        string
		threshold float64
		forDur    time.Duration
	}{
		"latency_p95":         {"latency_p95", ">", 0.5, 5 * time.Minute},
		"latency_p99":         {"latency_p99", ">", 0.2, 5 * time.Minute},
		"error_rate_5xx":      {"error_rate_5xx", ">", 0.01, 5 * time.Minute},
		"health_ok":           {"health_ok", "==", 0, time.Minute},
		"disk_usage":          {"disk_usage", ">", 0.85, 5 * time.Minute},
		"drift_detected":      {"drift_detected", "==", 1, 15 * time.Minute},
		"retrain_recommended": {"retrain_recommended", "==", 1, 15 * time.Minute},
		"model_reload_failed": {"model_reload_failed", "==", 1, 0},
	}
	rules := Default().Alerts.Rules
	if len(rules) != len(want) {
		t.Fatalf("%d shipped rules, want %d", len(rules), len(want))
	}
	for _, r := range rules {
		w, ok := want[r.Metric]
		if !ok {
			t.Errorf("rule %s watches unexpected metric %q", r.Name, r.Metric)
			continue
		}
		delete(want, r.Metric)
		if r.Op != w.op || r.Threshold != w.threshold || r.For != w.forDur {
			t.Errorf("rule %s: %s %g for %s, want %s %g for %s", r.Name, r.Op, r.Threshold, r.For, w.op, w.threshold, w.forDur)
		}
		if !runbooks[r.Runbook] {
			t.Errorf("rule %s names runbook %q, not one of the shipped library", r.Name, r.Runbook)
		}
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.Name)
		}
	}
	if th, ok := Default().Alerts.Threshold("latency_p99"); !ok || th != 0.2 {
		t.Errorf("Alerts.Threshold(latency_p99) = %g, %v; want 0.2, true", th, ok)
	}
	if _, ok := Default().Alerts.Threshold("in_flight"); ok {
		t.Error("Alerts.Threshold(in_flight) found a rule that does not exist")
	}
}

// TestTags parses every range tag and checks every oneof and check name, so
// the validator's "internal" branches stay unreachable.
func TestTags(t *testing.T) {
	known := map[string]bool{"nonempty": true, "unique": true, "path": true, "optpath": true, "ident": true,
		"name": true, "runbook": true, "addr": true, "optaddr": true, "url": true}
	seen := map[reflect.Type]bool{}
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		for tp.Kind() == reflect.Pointer || tp.Kind() == reflect.Slice || tp.Kind() == reflect.Map {
			tp = tp.Elem()
		}
		if tp.Kind() != reflect.Struct || tp == durationType || seen[tp] {
			return
		}
		seen[tp] = true
		for _, f := range orderedFields(tp) {
			ft := tp.Field(f.index).Type
			kp := joinKey(path, f.name)
			if r := f.tag.Get("range"); r != "" {
				et := ft
				for et.Kind() == reflect.Pointer || et.Kind() == reflect.Slice {
					et = et.Elem()
				}
				if _, err := parseRange(r, et); err != nil {
					t.Errorf("%s: %v", kp, err)
				}
			}
			if one, ok := f.tag.Lookup("oneof"); ok && strings.Trim(one, "|") == "" {
				t.Errorf("%s: empty oneof", kp)
			}
			for c := range tagChecks(f.tag) {
				if !known[c] {
					t.Errorf("%s: unknown check %q", kp, c)
				}
			}
			walk(ft, kp)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestEveryKeyDocumented(t *testing.T) {
	for _, k := range Keys() {
		if strings.TrimSpace(docs[k]) == "" {
			t.Errorf("key %s has no entry in docs", k)
		}
	}
	keys := map[string]bool{}
	for _, k := range Keys() {
		keys[k] = true
	}
	for k := range docs {
		if !keys[k] {
			t.Errorf("docs has %q, which is not a key", k)
		}
	}
}

// TestRootConfig checks the repository's config.yaml: it parses, equals
// Default(), and documents every key with a comment right above it.
// `go test ./engine/config -run TestRootConfig -update` regenerates it.
func TestRootConfig(t *testing.T) {
	path := filepath.Join(repoRoot(t), "config.yaml")
	if *update {
		if err := WriteFile(path, Default()); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("config.yaml does not load:\n%v", err)
	}
	mustEqual(t, c, Default())

	lines := strings.Split(c.Source.Text, "\n")
	stack := []string{}
	documented := map[string]bool{}
	keyRE := regexp.MustCompile(`^( *)([a-z0-9_]+):`)
	for i, l := range lines {
		m := keyRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		depth := len(m[1]) / 2
		if depth > len(stack) {
			continue // inside a list item (the rules)
		}
		stack = append(stack[:depth], m[2])
		key := strings.Join(stack, ".")
		if i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			documented[key] = true
		}
	}
	for _, k := range Keys() {
		if !documented[k] {
			t.Errorf("config.yaml: key %s missing or without a comment above it", k)
		}
	}
}

func TestValidFixtures(t *testing.T) {
	checks := map[string]func(t *testing.T, c *Config){
		"minimal.yaml": func(t *testing.T, c *Config) {
			want := Default()
			want.Seed = 7
			mustEqual(t, c, want)
		},
		"original.yaml": func(t *testing.T, c *Config) {
			rf := c.Training.RandomForest
			if c.ProjectName != "CarVision-Market-Intelligence" || c.DatasetYear != 2024 || c.Training.Model != "random_forest" {
				t.Errorf("original keys not read: %q %d %q", c.ProjectName, c.DatasetYear, c.Training.Model)
			}
			if rf.Trees != 300 || rf.MaxDepth != 12 || rf.MinDataInLeaf != 2 || rf.Threads != 0 {
				t.Errorf("random_forest_params not copied: %+v", rf)
			}
			if c.Training.RandomForestParams != nil {
				t.Error("random_forest_params kept after copying")
			}
			if c.Paths.ModelPath != "artifacts/model.joblib" || c.Preprocessing.NumericImputer != "median" ||
				c.Preprocessing.ScaleNumeric == nil || !*c.Preprocessing.ScaleNumeric {
				t.Errorf("informational original keys not kept: %+v %+v", c.Paths, c.Preprocessing)
			}
		},
		"filters-remove-all.yaml": func(t *testing.T, c *Config) {
			if c.Preprocessing.Filters.MinYear != 2030 || c.Preprocessing.Filters.MinPrice != 1000 {
				t.Errorf("filters = %+v", c.Preprocessing.Filters)
			}
		},
		"drop-odometer.yaml": func(t *testing.T, c *Config) {
			if got := c.Preprocessing.DropColumns; len(got) != 3 || got[2] != "odometer" {
				t.Errorf("drop_columns = %v", got)
			}
		},
		"custom.yaml": func(t *testing.T, c *Config) {
			def := Default()
			if c.Seed != 0 || c.Paths.RunbooksDir != "" || c.Training.GBDT != def.Training.GBDT {
				t.Errorf("seed %d runbooks_dir %q gbdt %+v", c.Seed, c.Paths.RunbooksDir, c.Training.GBDT)
			}
			if c.Training.RandomForest.Trees != 1000 || c.Training.RandomForest.Threads != 2 {
				t.Errorf("random_forest = %+v", c.Training.RandomForest)
			}
			if c.Serve.BodyLimit != 2*MiB || c.Serve.ReadTimeout != 90*time.Second || c.Serve.WriteTimeout != 90*time.Second {
				t.Errorf("serve = %v %v %v", c.Serve.BodyLimit, c.Serve.ReadTimeout, c.Serve.WriteTimeout)
			}
			if len(c.Alerts.Rules) != 2 {
				t.Fatalf("rules = %+v", c.Alerts.Rules)
			}
			r := c.Alerts.Rules[0]
			if r.Metric != "latency_p99" || r.Window != 30*time.Second || r.Op != ">=" || r.Severity != "warning" || r.For != 2*time.Minute {
				t.Errorf("rule 0 = %+v", r)
			}
			if c.Alerts.Rules[1].Window != 0 || c.Alerts.Rules[1].For != 0 {
				t.Errorf("rule 1 = %+v", c.Alerts.Rules[1])
			}
			if c.SSH.Roles["alice@laptop"] != "viewer" || len(c.SSH.Roles) != 2 {
				t.Errorf("roles = %v", c.SSH.Roles)
			}
			if c.Console.Demo.Rate != 2.5 || !c.Console.Demo.Episodes {
				t.Errorf("demo = %+v", c.Console.Demo)
			}
		},
	}
	for _, path := range fixtures(t, "valid") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			c, err := Load(path)
			if err != nil {
				t.Fatalf("load:\n%v", err)
			}
			if c.Source.Path != path || c.Source.Text == "" {
				t.Errorf("source = %+v", c.Source)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("loaded config does not validate: %v", err)
			}
			check, ok := checks[name]
			if !ok {
				t.Fatalf("no assertions for fixture %s: add them", name)
			}
			check(t, c)
		})
	}
}

type want struct {
	line int
	text string
}

// wants reads the `# want: text` markers of a broken fixture.
func wants(text string) []want {
	var out []want
	for i, l := range strings.Split(text, "\n") {
		if _, rest, ok := strings.Cut(l, "# want-noline: "); ok {
			out = append(out, want{0, strings.TrimSpace(rest)})
			continue
		}
		parts := strings.Split(l, "# want: ")
		for _, p := range parts[1:] {
			out = append(out, want{i + 1, strings.TrimSpace(p)})
		}
	}
	return out
}

func TestBrokenFixtures(t *testing.T) {
	for _, path := range fixtures(t, "broken") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ws := wants(string(data))
			if len(ws) == 0 {
				t.Fatal("fixture has no # want: marker")
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("loaded without error: %+v", c)
			}
			if c != nil {
				t.Error("a config came back with the error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if ce.Text != string(data) || ce.File != path {
				t.Errorf("error carries file %q and %d bytes of text", ce.File, len(ce.Text))
			}
			msg := err.Error()
			for _, w := range ws {
				prefix := path + ": "
				if w.line > 0 {
					prefix = path + " line " + itoa(w.line) + ": "
				}
				if !strings.Contains(msg, prefix+w.text) {
					t.Errorf("error lacks %q\ngot:\n%s", prefix+w.text, msg)
				}
			}
			if len(ce.Problems) != len(ws) {
				t.Errorf("%d problems reported, %d marked:\n%s", len(ce.Problems), len(ws), msg)
			}
			if ws[0].line > 0 && ErrorLine(err) == 0 {
				t.Errorf("ErrorLine = 0, want a line")
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseEdgeCases(t *testing.T) {
	big := "seed: 1\n" + strings.Repeat("# padding\n", MaxFileSize/10+1)
	bomb := "training:\n  features: &a [model_year, model_year]\n"
	for i := 0; i < 20; i++ {
		bomb += "x" + itoa(i) + ": &b" + itoa(i) + " [*a, *a]\n"
	}
	cases := []struct {
		name    string
		text    string
		wantErr string // "" = must parse
		isEmpty bool
	}{
		{"zero bytes", "", "empty config", true},
		{"blank lines", "\n\n  \n", "empty config", true},
		{"document marker only", "---\n", "empty config", true},
		{"null document", "~\n", "empty config", true},
		{"empty mapping", "{}\n", "empty config", true},
		{"scalar document", "hello\n", "the top level must be a mapping of keys (got the string \"hello\")", false},
		{"too large", big, "larger than", false},
		{"tab indentation", "serve:\n\taddr: x\n", "malformed YAML", false},
		{"control bytes", "seed: 1\nx: \x01\n", "t.yaml line 2: malformed YAML: control characters are not allowed", false},
		{"invalid utf-8 value", "seed: 1\n\nx: \xff\n", "t.yaml line 3: malformed YAML", false},
		{"first-line scanner error", "a: b: c\n", "t.yaml line 1: malformed YAML: mapping values are not allowed", false},
		{"block mapping error", "a:\n  - x\n y: 2\n", "t.yaml line 3: malformed YAML: did not find expected key", false},
		{"unknown anchor", "seed: *nope\n", "malformed YAML", false},
		{"alias expansion", bomb, "unknown key", false},
		{"key is a list", "[a]: 1\n", "a key must be a plain name", false},
		{"merge key", "serve:\n  <<: {addr: \"127.0.0.1:1\"}\n", "merge keys (<<) are not supported", false},
		{"int overflow", "seed: 99999999999999999999\n", "want an integer, got the number 99999999999999999999", false},
		{"int64 overflow for int", "serve:\n  batch_max: 9223372036854775807\n", "out of range [1, 100000]", false},
		{"float for duration", "serve:\n  read_timeout: 1.5\n", "want a duration like 500ms, 15s or 5m, got the number 1.5", false},
		{"negative size", "serve:\n  body_limit: -5\n", "is not a size", false},
		{"huge size", "serve:\n  body_limit: 9999999TiB\n", "too large", false},
		{"bom and crlf", "\ufeffseed: 1\r\nserve:\r\n  batch_max: 5\r\n", "", false},
		{"string null is empty", "ssh:\n  addr:\n", "", false},
		{"windows empty", "monitor:\n  windows: []\n", "monitor.windows: must list at least one value", false},
		{"rules null means none", "alerts:\n  rules: ~\n", "", false},
		{"rule window with unused alias", "alerts:\n  rules:\n    - {name: a, expr: \"latency_p95[]\", op: \">\", threshold: 1}\n", "empty window", false},
		{"rule expr garbage", "alerts:\n  rules:\n    - {name: a, expr: \"p95 > 3\", op: \">\", threshold: 1}\n", "is not metric or metric[window]", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.text), "t.yaml")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if err == nil && c == nil {
					t.Fatal("nil config without error")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q lacks %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml") {
				t.Errorf("error %q does not start with the file name", err)
			}
			if errors.Is(err, ErrEmpty) != tc.isEmpty {
				t.Errorf("errors.Is(err, ErrEmpty) = %v, want %v", !tc.isEmpty, tc.isEmpty)
			}
		})
	}
}

// TestOneProblemEach checks that a value which fails to decode is reported
// once, without validation noise about the default it kept.
func TestOneProblemEach(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"rule is a string", "alerts:\n  rules:\n    - just a string\n",
			`t.yaml line 3: alerts.rules[0]: want a mapping of keys, got the string "just a string"`},
		{"expr is a number", "alerts:\n  rules:\n    - {name: x, expr: 5, op: \">\", threshold: 1}\n",
			"t.yaml line 3: alerts.rules[0].expr: want a string, got the integer 5"},
		{"folded operator", "alerts:\n  rules:\n    - name: x\n      expr: health_ok\n      op: >\n        1\n      threshold: 1\n",
			`quote the operator: op: ">"`},
		{"out-of-range test_size skips the sum check", "training:\n  test_size: 0.9\n",
			"t.yaml line 2: training.test_size: 0.9 is out of range [0.05, 0.5]"},
		{"duplicate section", "serve: {batch_max: 5}\nserve: {batch_max: 0}\n",
			"t.yaml line 2: serve: duplicate key (first at line 1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), "t.yaml")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			if len(ce.Problems) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %d problems:\n%v\nwant one containing %q", len(ce.Problems), err, tc.want)
			}
		})
	}
}

func TestNullSemantics(t *testing.T) {
	c, err := Parse([]byte("ssh:\n  addr:\nalerts:\n  rules: ~\ntraining:\n  gbdt:\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.SSH.Addr != "" || c.Alerts.Rules == nil || len(c.Alerts.Rules) != 0 || c.Training.GBDT != Default().Training.GBDT {
		t.Errorf("null handling: addr %q rules %v gbdt %+v", c.SSH.Addr, c.Alerts.Rules, c.Training.GBDT)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "absent.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "c.yaml", Problems: []Problem{
		{Line: 3, Key: "seed", Msg: "bad"},
		{Line: 0, Key: "", Msg: "no line"},
	}}
	want := "c.yaml line 3: seed: bad\nc.yaml: no line"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if e.Line() != 3 || ErrorLine(e) != 3 || ErrorLine(errors.New("x")) != 0 {
		t.Errorf("Line() = %d", e.Line())
	}
	// Many problems are capped with a count of the rest, sorted by line.
	var text strings.Builder
	for i := 0; i < maxProblems+5; i++ {
		text.WriteString("k" + itoa(100-i) + ": 1\n")
	}
	_, err := Parse([]byte(text.String()), "m.yaml")
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != maxProblems+1 || !strings.Contains(ce.Problems[maxProblems].Msg, "5 more") {
		t.Fatalf("capped error: %v", err)
	}
	if !sort.SliceIsSorted(ce.Problems[:maxProblems], func(i, j int) bool { return ce.Problems[i].Line < ce.Problems[j].Line }) {
		t.Error("problems not in line order")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	configs := map[string]*Config{"default": Default()}
	for _, path := range fixtures(t, "valid") {
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		configs[filepath.Base(path)] = c
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(b, "marshalled.yaml")
			if err != nil {
				t.Fatalf("Marshal output does not parse:\n%v\n%s", err, b)
			}
			mustEqual(t, back, c)
			if back.Hash() != c.Hash() {
				t.Error("hash changed through Marshal/Parse")
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	c := Default()
	c.Seed = 9
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, got, c)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "config.yaml"), c); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

func TestHash(t *testing.T) {
	a, err := Parse([]byte("seed: 1\ntraining:\n  gbdt:\n    trees: 100\n"), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Same values, other formatting, order and comments.
	b, err := Parse([]byte("# comment\ntraining: {gbdt: {trees: 1_00}}\nseed: 0x1\n"), "b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("seed: 1\ntraining:\n  gbdt:\n    trees: 101\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		x, y string
		same bool
	}{
		{"whole config, formatting ignored", a.Hash(), b.Hash(), true},
		{"whole config, value changed", a.Hash(), c.Hash(), false},
		{"changed section", a.Hash("training.gbdt"), c.Hash("training.gbdt"), false},
		{"parent of changed section", a.Hash("training"), c.Hash("training"), false},
		{"untouched section", a.Hash("preprocessing.filters"), c.Hash("preprocessing.filters"), true},
		{"untouched leaf", a.Hash("seed"), c.Hash("seed"), true},
		{"key order", a.Hash("seed", "training.gbdt"), a.Hash("training.gbdt", "seed"), true},
		{"repeated key", a.Hash("seed", "seed"), a.Hash("seed"), true},
		{"different sections", a.Hash("training.gbdt"), a.Hash("training.random_forest"), false},
		{"unknown key vs known", a.Hash("training.gdbt"), a.Hash("training.gbdt"), false},
		{"section vs its only key", a.Hash("seed"), a.Hash(), false},
	}
	for _, tc := range cases {
		if (tc.x == tc.y) != tc.same {
			t.Errorf("%s: equal = %v, want %v", tc.name, tc.x == tc.y, tc.same)
		}
		if len(tc.x) != 64 {
			t.Errorf("%s: hash %q is not hex sha256", tc.name, tc.x)
		}
	}
}

func TestSectionAndKeys(t *testing.T) {
	c := Default()
	if g, ok := c.Section("training.gbdt").(GBDT); !ok || g.Trees != c.Training.GBDT.Trees || g.Trees == 0 {
		t.Errorf("Section(training.gbdt) = %#v", c.Section("training.gbdt"))
	}
	if s, ok := c.Section("seed").(int64); !ok || s != 42 {
		t.Errorf("Section(seed) = %#v", c.Section("seed"))
	}
	if d, ok := c.Section("alerts.eval_interval").(time.Duration); !ok || d != 15*time.Second {
		t.Errorf("Section(alerts.eval_interval) = %#v", c.Section("alerts.eval_interval"))
	}
	for _, bad := range []string{"nope", "seed.x", "training.gbdt.trees.y", "alerts.rules.name", "Source"} {
		if c.Section(bad) != nil || HasKey(bad) {
			t.Errorf("Section(%q) = %v, HasKey = %v", bad, c.Section(bad), HasKey(bad))
		}
	}
	keys := Keys()
	for _, k := range keys {
		if !HasKey(k) {
			t.Errorf("Keys() lists %q but HasKey says no", k)
		}
	}
	if keys[0] != "project_name" || !HasKey("preprocessing.filters.min_price") {
		t.Errorf("Keys() starts with %q", keys[0])
	}
	for _, k := range keys {
		if strings.Contains(k, "random_forest_params") || strings.HasSuffix(k, "model_path") {
			t.Errorf("Keys() lists the original's compatibility key %q", k)
		}
	}
}
