package runbook

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"carvision/engine/config"
	"carvision/runbook/checks"
)

func mustLibrary(t testing.TB, dir string) *Library {
	t.Helper()
	lib, err := LoadLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func TestShippedLibrary(t *testing.T) {
	lib := mustLibrary(t, "")
	var ids []string
	for _, rb := range lib.List() {
		ids = append(ids, rb.ID)
		if !rb.Builtin || rb.Summary == "" || len(rb.Tags) == 0 {
			t.Errorf("%s: builtin %v, summary %q, tags %v", rb.ID, rb.Builtin, rb.Summary, rb.Tags)
		}
		for _, st := range rb.Steps {
			// Every step explains why it is there.
			if len(strings.Fields(st.Why)) < 5 {
				t.Errorf("%s step %s: no explanation (%q)", rb.ID, st.Name, st.Why)
			}
		}
	}
	want := []string{"api-500-missing-column", "deploy-verify", "disk-space", "error-rate", "high-latency",
		"low-accuracy-drift", "maintenance", "pipeline-clean-fails", "retrain-compare"}
	if !slices.Equal(ids, want) {
		t.Errorf("library = %v, want %v", ids, want)
	}
	if p := lib.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
}

// TestAlertRulesNameShippedRunbooks: every shipped alert rule opens a
// runbook that exists and lists the rule among its alerts.
func TestAlertRulesNameShippedRunbooks(t *testing.T) {
	lib := mustLibrary(t, "")
	for _, rule := range config.Default().Alerts.Rules {
		rb, ok := lib.Get(rule.Runbook)
		if !ok {
			t.Errorf("rule %s names runbook %q, which is not shipped", rule.Name, rule.Runbook)
			continue
		}
		if !slices.Contains(rb.Alerts, rule.Name) {
			t.Errorf("runbook %s does not list alert %s in its front matter", rb.ID, rule.Name)
		}
		if got := lib.ForAlert(rule.Name); len(got) != 1 || got[0].ID != rule.Runbook {
			t.Errorf("ForAlert(%s) = %v", rule.Name, got)
		}
	}
	names := map[string]bool{}
	for _, r := range config.Default().Alerts.Rules {
		names[r.Name] = true
	}
	for _, rb := range lib.List() {
		for _, a := range rb.Alerts {
			if !names[a] {
				t.Errorf("runbook %s lists alert %q, which no shipped rule has", rb.ID, a)
			}
		}
	}
}

// TestLibraryCoversOriginalRunbook maps each line of the original operations
// runbook (reference §21) to the steps that implement it.
func TestLibraryCoversOriginalRunbook(t *testing.T) {
	lib := mustLibrary(t, "")
	has := func(id string, pred func(s *Step) bool) bool {
		rb, ok := lib.Get(id)
		if !ok {
			return false
		}
		return slices.ContainsFunc(rb.Steps, func(s Step) bool { return pred(&s) })
	}
	check := func(c string) func(*Step) bool {
		return func(s *Step) bool { return s.Kind == KindCheck && s.Check == c }
	}
	action := func(a string) func(*Step) bool {
		return func(s *Step) bool { return s.Kind == KindAction && s.Do == a }
	}
	sh := func(sub string, dangerous bool) func(*Step) bool {
		return func(s *Step) bool {
			return s.Kind == KindSh && strings.Contains(s.Body, sub) && s.Dangerous == dangerous
		}
	}
	cases := []struct {
		what, runbook string
		pred          func(*Step) bool
	}{
		{"deploy: build", "deploy-verify", sh("go build", false)},
		{"deploy: start (interrupts traffic)", "deploy-verify", sh("carvision serve", true)},
		{"deploy: poll /health, sample predict, champion", "deploy-verify", check("deploy.verify")},
		{"CI/CD: tests", "deploy-verify", sh("make test", false)},
		{"rollback: move the champion alias back", "deploy-verify", action("rollback")},
		{"retrain: validate new data", "retrain-compare", check("data.csv_schema")},
		{"retrain: repro", "retrain-compare", action("repro")},
		{"retrain: compare runs", "retrain-compare", check("model.regression")},
		{"retrain: promote", "retrain-compare", action("promote")},
		{"monitor: latency", "high-latency", check("latency.slo")},
		{"monitor: 5xx", "error-rate", check("errors.rate")},
		{"monitor: drift of vehicle_age", "low-accuracy-drift", check("drift.vehicle_age")},
		{"monitor: drift of price / predicted price", "low-accuracy-drift", check("drift.dataset")},
		{"alert: /health non-200", "deploy-verify", check("health")},
		{"alert: disk > 85%", "disk-space", check("disk.usage")},
		{"500s: Missing column in the logs", "api-500-missing-column", check("logs.missing_column")},
		{"500s: drop_columns vs model", "api-500-missing-column", check("schema.config_vs_model")},
		{"low accuracy: retrain with newer data", "low-accuracy-drift", action("repro")},
		{"clean fails: CSV schema", "pipeline-clean-fails", check("data.csv_schema")},
		{"clean fails: filters", "pipeline-clean-fails", check("data.filters")},
		{"high RMSE: adjust filters", "low-accuracy-drift", check("data.filters")},
		{"maintenance: log rotation", "maintenance", check("logs.rotation")},
		{"maintenance: rotate", "maintenance", action("rotate-logs")},
		{"maintenance: dependency updates", "maintenance", sh("go get -u ./... && go mod tidy", true)},
		{"maintenance: secrets scan", "maintenance", check("secrets.scan")},
	}
	for _, tc := range cases {
		if !has(tc.runbook, tc.pred) {
			t.Errorf("%s: no such step in %s", tc.what, tc.runbook)
		}
	}
	used := map[string]bool{}
	for _, rb := range lib.List() {
		for _, s := range rb.Steps {
			used[s.Check] = true
		}
	}
	for _, id := range checks.IDs() {
		if !used[id] {
			t.Errorf("check %s is used by no shipped runbook", id)
		}
	}
}

func writeRunbook(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const userRunbook = "---\nid: %s\ntitle: %s\n---\nWhy this step exists.\n```check {\"id\":\"health\"}\n```\n"

func userDoc(id, title string) string {
	return strings.Replace(strings.Replace(userRunbook, "%s", id, 1), "%s", title, 1)
}

func TestUserFolderOverridesAndKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	writeRunbook(t, dir, "deploy.md", userDoc("deploy-verify", "Our own deploy"))
	writeRunbook(t, dir, "extra.md", userDoc("extra", "Extra"))
	writeRunbook(t, dir, "notes.txt", "not a runbook")
	lib := mustLibrary(t, dir)
	rb, _ := lib.Get("deploy-verify")
	if rb.Title != "Our own deploy" || !rb.Overrides || rb.Builtin {
		t.Errorf("override = %+v", rb)
	}
	if _, ok := lib.Get("extra"); !ok || len(lib.List()) != 10 {
		t.Errorf("user runbook not added: %d runbooks", len(lib.List()))
	}
	gen := lib.Generation()

	// Break the override: the last good version stays, the problem is reported.
	writeRunbook(t, dir, "deploy.md", "---\nid: deploy-verify\ntitle: Broken\n---\n```check {\"id\":\"nope\"}\n```\n")
	probs := lib.Reload()
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), "deploy.md line 5: unknown check \"nope\"") {
		t.Errorf("problems = %v", probs)
	}
	if rb, _ := lib.Get("deploy-verify"); rb.Title != "Our own deploy" {
		t.Errorf("last good version not kept: %q", rb.Title)
	}
	if lib.Generation() == gen {
		t.Error("generation did not move")
	}

	// A new broken file with no good version is only a problem.
	writeRunbook(t, dir, "bad.md", "---\nid: bad\n---\n")
	lib.Reload()
	if _, ok := lib.Get("bad"); ok || len(lib.Problems()) != 2 {
		t.Errorf("broken new file: listed=%v problems=%v", ok, lib.Problems())
	}

	// Two user files with one id: the first by name wins, the other is reported.
	writeRunbook(t, dir, "zz-extra.md", userDoc("extra", "Second extra"))
	lib.Reload()
	if rb, _ := lib.Get("extra"); rb.Title != "Extra" || !strings.Contains(strings.Join(errStrings(lib.Problems()), "\n"), `id "extra" is also used`) {
		t.Errorf("duplicate id: %q %v", rb.Title, lib.Problems())
	}

	// Deleting the override brings the built-in back.
	for _, f := range []string{"deploy.md", "bad.md", "zz-extra.md"} {
		os.Remove(filepath.Join(dir, f))
	}
	if probs := lib.Reload(); len(probs) != 0 {
		t.Errorf("problems after cleanup: %v", probs)
	}
	if rb, _ := lib.Get("deploy-verify"); !rb.Builtin {
		t.Errorf("built-in not restored: %+v", rb.Source)
	}
}

func errStrings(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestMissingUserFolderIsFine(t *testing.T) {
	lib := mustLibrary(t, filepath.Join(t.TempDir(), "absent"))
	if len(lib.List()) != 9 || len(lib.Problems()) != 0 {
		t.Errorf("%d runbooks, problems %v", len(lib.List()), lib.Problems())
	}
	if err := lib.Watch(context.Background(), 0, nil); err == nil {
		t.Error("watching a missing folder must fail")
	}
}

func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	lib := mustLibrary(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan []error, 10)
	if err := lib.Watch(ctx, 10*time.Millisecond, func(p []error) { reloads <- p }); err != nil {
		t.Fatal(err)
	}
	wait := func() []error {
		select {
		case p := <-reloads:
			return p
		case <-time.After(10 * time.Second):
			t.Fatal("no reload after a change")
			return nil
		}
	}
	writeRunbook(t, dir, "new.md", userDoc("new-one", "New"))
	for {
		wait()
		if _, ok := lib.Get("new-one"); ok {
			break
		}
	}
	writeRunbook(t, dir, "new.md", "---\nid: new-one\n")
	for {
		p := wait()
		if len(p) > 0 {
			if !strings.Contains(p[0].Error(), "new.md line 1") {
				t.Errorf("problem = %v", p[0])
			}
			break
		}
	}
	if rb, ok := lib.Get("new-one"); !ok || rb.Title != "New" {
		t.Errorf("last good version lost: %v", rb)
	}
}
