package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
)

// bin is the carvision binary the tests run as a subprocess: the CLI
// contract is what a user (and later checks) see, exit codes included.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carvision-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "carvision")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build carvision: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// smallConfig keeps every command fast: a tiny forest, no bootstrap, no
// backtest, a loopback port chosen by the system.
const smallConfig = `seed: 42
training:
  refit: false
  gbdt:
    trees: 40
    learning_rate: 0.1
    num_leaves: 15
    early_stopping_rounds: 10
evaluation:
  bootstrap:
    enabled: false
  temporal:
    enabled: false
gate:
  min_r2: 0.5
  max_rmse: 20000
serve:
  addr: 127.0.0.1:0
logging:
  daily_rotate: false
  compress: false
`

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary in dir with stdin and returns what it printed and its exit code.
func run(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run carvision %v: %v", args, err)
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0.
func ok(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := run(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("carvision %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// project is a temp folder with the small config.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(smallConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestHelpListsEveryCommand(t *testing.T) {
	dir := t.TempDir()
	r := ok(t, dir, "--help")
	// The contract of issues 2–4 plus the operations commands.
	contract := []string{"train", "evaluate", "predict", "gen-data", "repro", "models", "runs", "metrics", "params",
		"drift", "market", "serve", "status", "loadtest", "console", "health", "version", "audit", "runbook"}
	for _, c := range newRoot().Commands() {
		if !c.Hidden && !slices.Contains(contract, c.Name()) && c.Name() != "help" && c.Name() != "completion" {
			contract = append(contract, c.Name())
		}
	}
	for _, name := range contract {
		line := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s{2,}\S.*$`)
		if !line.MatchString(r.stdout) {
			t.Errorf("--help does not list %q with a one-line description:\n%s", name, r.stdout)
		}
		if sub := run(t, dir, "", name, "--help"); sub.code != 0 || !strings.Contains(sub.stdout, "Usage:") {
			t.Errorf("carvision %s --help: exit %d\n%s%s", name, sub.code, sub.stdout, sub.stderr)
		}
	}
	if strings.Contains(r.stdout, "bench-fit") {
		t.Error("the hidden bench-fit command is listed")
	}
	if r := run(t, dir, "", "no-such-command"); r.code == 0 || !strings.Contains(r.stderr, "no-such-command") {
		t.Errorf("an unknown command: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestGenDataIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.csv")
	ok(t, dir, "gen-data", "--rows", "500", "--seed", "3", "--out", a)
	ok(t, dir, "gen-data", "--rows", "500", "--seed", "3", "--out", b)
	ok(t, dir, "gen-data", "--rows", "500", "--seed", "4", "--out", c)
	ba, bb, bc := readFile(t, a), readFile(t, b), readFile(t, c)
	if !bytes.Equal(ba, bb) {
		t.Fatal("gen-data with the same rows and seed wrote different bytes")
	}
	if bytes.Equal(ba, bc) {
		t.Fatal("gen-data ignores the seed")
	}
	recs, err := csv.NewReader(bytes.NewReader(ba)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 501 || !slices.Equal(recs[0], engine.Columns) {
		t.Fatalf("%d records, header %v; want 500 rows under %v", len(recs), recs[0], engine.Columns)
	}
	if f, err := dataset.Load(a); err != nil || f.Len() != 500 {
		t.Fatalf("the file does not load back: %v", err)
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"gen-data", "--rows", "0", "--out", a}, "--rows must be positive"},
		{[]string{"gen-data", "--rows", "10"}, "needs --out"},
		{[]string{"gen-data", "--rows", "ten", "--out", a}, "invalid argument"},
		{[]string{"gen-data", "--rows", "10", "--out", filepath.Join(a, "x.csv")}, a},
	}
	for _, tc := range bad {
		r := run(t, dir, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("carvision %v: exit %d, stderr %q (want it to say %q)", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// jsonPath reads a dotted path of nested objects.
func jsonPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, isObj := cur.(map[string]any)
		if !isObj {
			return nil, false
		}
		if cur, isObj = obj[k]; !isObj {
			return nil, false
		}
	}
	return cur, true
}

func TestTrainEvaluatePredict(t *testing.T) {
	dir := project(t)
	data := filepath.Join(dir, "X.csv")
	ok(t, dir, "gen-data", "--rows", "1500", "--seed", "3", "--out", data)
	out := filepath.Join(t.TempDir(), "run1") // outside the config's folder on purpose
	r := ok(t, dir, "--config", "config.yaml", "train", "--data", data, "--out", out, "--json")

	// stderr: one JSON progress event per line, the last one Done.
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	var last engine.PipelineEvent
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("progress line %q is not JSON: %v", l, err)
		}
	}
	if !last.Done || last.Err != "" {
		t.Fatalf("last progress event %+v", last)
	}

	// stdout is metrics.json; both hold the contract's keys as nested objects.
	metricsFile := readFile(t, filepath.Join(out, "metrics.json"))
	if strings.TrimSpace(r.stdout) != strings.TrimSpace(string(metricsFile)) {
		t.Error("train --json does not print metrics.json")
	}
	var met map[string]any
	if err := json.Unmarshal(metricsFile, &met); err != nil {
		t.Fatal(err)
	}
	num := map[string]float64{}
	for _, k := range []string{"test.rmse", "test.mae", "test.mape", "test.r2", "baseline.rmse", "fit_seconds",
		"rows.raw", "rows.clean", "rows.train", "rows.valid", "rows.test", "model.trees"} {
		v, found := jsonPath(met, k)
		f, isNum := v.(float64)
		if !found || !isNum {
			t.Errorf("metrics.json lacks %s (as nested JSON)", k)
			continue
		}
		num[k] = f
	}
	if num["rows.raw"] != 1500 || num["rows.clean"] > num["rows.raw"] || num["rows.train"]+num["rows.valid"]+num["rows.test"] != num["rows.clean"] {
		t.Errorf("row counts %v", num)
	}
	if !(num["test.rmse"] > 0 && num["test.rmse"] < num["baseline.rmse"] && num["test.r2"] > 0.5 && num["model.trees"] >= 1 && num["model.trees"] <= 40) {
		t.Errorf("metrics %v", num)
	}

	// The output folder holds the model, the metrics and the splits, nothing stray.
	var got []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != out {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	for _, want := range []string{"model.cvm", "metrics.json", "processed/train.csv", "processed/valid.csv", "processed/test.csv"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s lacks %s: %v", out, want, got)
		}
	}
	for _, g := range got {
		if strings.HasPrefix(g, ".staging") || strings.Count(g, "/") > 1 {
			t.Errorf("stray entry %s in the output folder", g)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "carvision.lock")); !os.IsNotExist(err) {
		t.Error("train wrote carvision.lock")
	}
	ids := map[string]bool{}
	total := 0
	for _, part := range []string{"train", "valid", "test"} {
		recs, err := csv.NewReader(bytes.NewReader(readFile(t, filepath.Join(out, "processed", part+".csv")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := slices.Index(recs[0], "row_id")
		if col < 0 || len(recs[0]) != 14 {
			t.Fatalf("%s.csv header %v: want the 13 columns and row_id", part, recs[0])
		}
		if n := len(recs) - 1; float64(n) != num["rows."+part] {
			t.Errorf("%s.csv has %d rows, metrics say %v", part, n, num["rows."+part])
		}
		for _, rec := range recs[1:] {
			id, err := strconv.Atoi(rec[col])
			if err != nil || id < 0 || id >= 1500 || ids[rec[col]] {
				t.Fatalf("%s.csv: row_id %q (bad or repeated)", part, rec[col])
			}
			ids[rec[col]] = true
			total++
		}
	}
	if float64(total) != num["rows.clean"] {
		t.Errorf("%d rows across the splits, %v clean", total, num["rows.clean"])
	}

	model := filepath.Join(out, "model.cvm")
	t.Run("evaluate", func(t *testing.T) {
		r := ok(t, dir, "evaluate", "--model", model, "--data", data, "--json")
		var ev struct {
			Model   string
			Metrics struct {
				N    int     `json:"n"`
				RMSE float64 `json:"rmse"`
				R2   float64 `json:"r2"`
			}
			Clean struct {
				RowsIn int `json:"rows_in"`
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
			t.Fatalf("evaluate --json: %v\n%s", err, r.stdout)
		}
		if ev.Metrics.N != int(num["rows.clean"]) || ev.Clean.RowsIn != 1500 || !(ev.Metrics.RMSE > 0) || !strings.HasPrefix(ev.Model, "m-") {
			t.Fatalf("evaluate: %+v", ev)
		}
		text := ok(t, dir, "evaluate", "--model", model, "--data", data)
		if !strings.Contains(text.stdout, "RMSE") || !strings.Contains(text.stdout, fmt.Sprintf("%d rows scored (1500 raw)", ev.Metrics.N)) {
			t.Errorf("evaluate text: %q", text.stdout)
		}
		broken := filepath.Join(t.TempDir(), "broken.cvm")
		b := readFile(t, model)
		os.WriteFile(broken, b[:len(b)/2], 0o644)
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"evaluate", "--model", model}, 2, "needs --model FILE and --data CSV"},
			{[]string{"evaluate", "--model", broken, "--data", data}, 2, "corrupted or truncated"},
			{[]string{"evaluate", "--model", model, "--data", filepath.Join(dir, "absent.csv")}, 1, "absent.csv"},
		} {
			r := run(t, dir, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("carvision %v: exit %d (want %d), stderr %q (want %q)", tc.args, r.code, tc.code, r.stderr, tc.want)
			}
		}
	})

	t.Run("predict", func(t *testing.T) {
		r := ok(t, dir, "predict", "--model", model, `{"model":"ford f-150","model_year":2014}`)
		var p engine.Prediction
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || !(p.Price > 0) || !strings.HasPrefix(p.ModelVersion, "m-") {
			t.Fatalf("predict: %+v %v\n%s", p, err, r.stdout)
		}
		r = run(t, dir, `[{"model":"ford f-150","model_year":2014,"odometer":90000},{"model":"honda civic","model_year":2009}]`, "predict", "--model", model, "--explain", "-")
		var ps []engine.Prediction
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ps) != nil || len(ps) != 2 || !(ps[0].Price > 0) || len(ps[0].Contributions) == 0 {
			t.Fatalf("predict an array from stdin: exit %d %s %s", r.code, r.stdout, r.stderr)
		}
		r = ok(t, dir, "predict", "--model", model, `{"model":"zorgmobile x9","model_year":2014}`)
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || !(p.Price > 0) || !strings.Contains(strings.Join(p.Warnings, ";"), "zorgmobile") {
			t.Fatalf("an unknown model still predicts, with a warning: %+v", p)
		}
		for _, tc := range []struct {
			name, body, want string
		}{
			{"wrong type", `{"model":"ford f-150","model_year":"abc"}`, "model_year"},
			{"missing required field", `{"model":"ford f-150"}`, "model_year"},
			{"negative odometer", `{"model":"ford f-150","model_year":2014,"odometer":-5}`, "odometer"},
			{"unknown field", `{"model":"ford f-150","model_year":2014,"colour":"red"}`, "colour"},
			{"malformed JSON", `{"model":`, "JSON"},
			{"empty", ` `, "no listing"},
		} {
			r := run(t, dir, "", "predict", "--model", model, tc.body)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s: exit %d, stderr %q (want it to name %q)", tc.name, r.code, r.stderr, tc.want)
			}
		}
		if r := run(t, dir, "", "predict", `{"model":"x","model_year":2014}`); r.code != 2 || !strings.Contains(r.stderr, "--model") {
			t.Errorf("predict without --model: exit %d %q", r.code, r.stderr)
		}
	})
}

func TestDriftExitCodes(t *testing.T) {
	dir := t.TempDir()
	x, y := filepath.Join(dir, "X.csv"), filepath.Join(dir, "Y.csv")
	ok(t, dir, "gen-data", "--rows", "1500", "--seed", "3", "--out", x)
	f, err := dataset.Load(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.ModelYear {
		f.ModelYear[i] += 8
	}
	if err := f.WriteCSVFile(y, false); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"same data", []string{"drift", "--ref", x, "--cur", x}, 0, "no drift"},
		{"model years +8", []string{"drift", "--ref", x, "--cur", y}, 1, "DRIFT"},
		{"missing file", []string{"drift", "--ref", x, "--cur", filepath.Join(dir, "absent.csv")}, 2, "absent.csv"},
		{"missing flag", []string{"drift", "--ref", x}, 2, "--cur"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, dir, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
	r := run(t, dir, "", "drift", "--ref", x, "--cur", y, "--json")
	var js map[string]any
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &js) != nil {
		t.Fatalf("drift --json: exit %d\n%s", r.code, r.stdout)
	}
}

func TestReproTwiceThenModels(t *testing.T) {
	dir := project(t)
	if err := os.MkdirAll(filepath.Join(dir, "data", "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, "gen-data", "--rows", "1500", "--seed", "5", "--out", filepath.Join(dir, "data", "raw", "vehicles_us.csv"))

	var first struct {
		Version string
		Stages  []struct{ Name, Status, Why string }
	}
	r := ok(t, dir, "--config", "config.yaml", "repro", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &first); err != nil {
		t.Fatalf("repro --json: %v\n%s", err, r.stdout)
	}
	var names []string
	for _, s := range first.Stages {
		names = append(names, s.Name)
		if s.Status != "ran" {
			t.Errorf("first repro: %s %s", s.Name, s.Status)
		}
	}
	if first.Version != "1" || !slices.Equal(names, []string{"validate", "clean", "split", "train", "evaluate", "register"}) {
		t.Fatalf("first repro: version %q stages %v", first.Version, names)
	}
	lock := readFile(t, filepath.Join(dir, "carvision.lock"))

	r = ok(t, dir, "--config", "config.yaml", "repro")
	if !strings.Contains(r.stdout, "nothing changed: every stage is up to date") || strings.Contains(r.stdout, " ran ") {
		t.Fatalf("second repro:\n%s", r.stdout)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "carvision.lock")), lock) {
		t.Fatal("a repro that ran nothing rewrote carvision.lock")
	}
	r = ok(t, dir, "--config", "config.yaml", "repro", "--dry-run")
	if strings.Count(r.stdout, "up-to-date") != 6 {
		t.Fatalf("dry run:\n%s", r.stdout)
	}

	var vs []struct {
		Version string
		Aliases []string
		Metrics map[string]float64
	}
	r = ok(t, dir, "--config", "config.yaml", "models", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil {
		t.Fatalf("models list --json: %v\n%s", err, r.stdout)
	}
	if len(vs) != 1 || vs[0].Version != "1" || !slices.Equal(vs[0].Aliases, []string{"challenger"}) || vs[0].Metrics["test.rmse"] <= 0 {
		t.Fatalf("models: %+v", vs)
	}
	ok(t, dir, "--config", "config.yaml", "models", "promote", "1")
	r = ok(t, dir, "--config", "config.yaml", "metrics", "diff", "--json")
	var rows []engine.DiffRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("metrics diff --json: %v\n%s", err, r.stdout)
	}
	for _, row := range rows {
		if row.Path != "v1→workspace" || (row.Name == "test.rmse" && row.Change != "0") {
			t.Errorf("champion vs workspace row %+v", row)
		}
	}
	if r := run(t, dir, "", "--config", "config.yaml", "models", "promote", "7", "--force"); r.code != 1 || !strings.Contains(r.stderr, "--reason") {
		t.Errorf("promote --force without --reason: exit %d %q", r.code, r.stderr)
	}
	var runs []struct{ Status string }
	r = ok(t, dir, "--config", "config.yaml", "runs", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 2 || runs[0].Status != "succeeded" {
		t.Fatalf("runs list: %+v %v", runs, err)
	}
	if r := run(t, dir, "", "--config", "absent.yaml", "repro"); r.code != 2 || !strings.Contains(r.stderr, "absent.yaml") {
		t.Errorf("repro with a missing config: exit %d %q", r.code, r.stderr)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
