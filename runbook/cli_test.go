package runbook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/runbook/checks"
)

func TestRunCLIExitCodes(t *testing.T) {
	lib := mustLibrary(t, "")
	cases := []struct {
		name    string
		id      string
		opts    CLIOptions
		setup   func(t *testing.T, e *checks.FakeEnv)
		code    int
		contain []string
	}{
		{name: "all pass", id: "high-latency", opts: CLIOptions{OnlyChecks: true}, code: ExitOK,
			contain: []string{"runbook high-latency: High latency", " 1 ✓ pass    health", "latency-after", "result: ", "exit 0"}},
		{name: "failed check", id: "high-latency", opts: CLIOptions{OnlyChecks: true}, code: ExitFailed,
			setup:   func(t *testing.T, e *checks.FakeEnv) { e.C.Snap.Latency[1].P99MS = 900 },
			contain: []string{"✗ fail    latency", "p99 900 ms > 200 ms", "→ step 7 rollback"}},
		{name: "warned check", id: "disk-space", opts: CLIOptions{OnlyChecks: true}, code: ExitFailed,
			setup: func(t *testing.T, e *checks.FakeEnv) {
				e.Disks = map[string]checks.DiskUsage{e.Dir: {Used: 80, Avail: 20, Dev: 3}}
			},
			contain: []string{"▲ warn    disk"}},
		{name: "step could not run", id: "high-latency", opts: CLIOptions{OnlyChecks: true}, code: ExitError,
			setup:   func(t *testing.T, e *checks.FakeEnv) { e.C.SnapErr = errors.New("engine gone") },
			contain: []string{"! error   latency", "snapshot: engine gone"}},
		{name: "unknown runbook", id: "nope", code: ExitError, contain: []string{`error: unknown runbook "nope" (known: api-500-missing-column,`}},
		{name: "stops before the action", id: "error-rate", code: ExitFailed,
			setup:   func(t *testing.T, e *checks.FakeEnv) { e.C.Snap.Latency[1].Rate5xx = 0.2 },
			contain: []string{"stopped before step 7 rollback (action rollback): needs confirmation: rerun with --yes"}},
		// The failed check is verified fixed by errors-after: exit 0.
		{name: "yes runs the action", id: "error-rate", opts: CLIOptions{Yes: true}, code: ExitOK,
			setup: func(t *testing.T, e *checks.FakeEnv) {
				e.C.Snap.Latency[1].Rate5xx = 0.2
				e.C.OnRollback = func() error { e.C.Snap.Latency[1].Rate5xx = 0; return nil } // under Mu: set directly
			},
			contain: []string{" 7 ✓ pass    rollback", "rolled back", " 8 ✓ pass    errors-after"}},
		{name: "read-only refuses the action", id: "error-rate", opts: CLIOptions{Yes: true, Actor: engine.Actor{Name: "v", Role: "viewer"}}, code: ExitFailed,
			setup:   func(t *testing.T, e *checks.FakeEnv) { e.C.Snap.Latency[1].Rate5xx = 0.2 },
			contain: []string{"refused: read-only session (role viewer)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.Files = []string{}
			if tc.setup != nil {
				tc.setup(t, env)
			}
			var out bytes.Buffer
			opts := tc.opts
			if opts.Actor.Name == "" {
				opts.Actor = alice
			}
			code := RunCLI(context.Background(), &out, NewRunner(env, nil), lib, tc.id, opts)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out.String())
			}
			for _, c := range tc.contain {
				if !strings.Contains(out.String(), c) {
					t.Errorf("output lacks %q:\n%s", c, out.String())
				}
			}
			opts.JSON = true
			out.Reset()
			code2 := RunCLI(context.Background(), &out, NewRunner(env, nil), lib, tc.id, opts)
			var rep struct {
				Runbook  string `json:"runbook"`
				ExitCode int    `json:"exit_code"`
				Steps    []struct {
					Name  string `json:"name"`
					State string `json:"state"`
				} `json:"steps"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("JSON output: %v\n%s", err, out.String())
			}
			if rep.ExitCode != code2 {
				t.Errorf("JSON exit_code %d, returned %d", rep.ExitCode, code2)
			}
			if tc.id == "nope" && rep.Error == "" {
				t.Error("JSON error missing")
			}
		})
	}
}

func TestRunCLIResume(t *testing.T) {
	lib := mustLibrary(t, "")
	env := newEnv(t)
	env.C.Snap.Latency[1].P99MS = 900
	r := NewRunner(env, nil)
	var out bytes.Buffer
	if code := RunCLI(context.Background(), &out, r, lib, "high-latency", CLIOptions{OnlyChecks: true, Actor: alice}); code != ExitFailed {
		t.Fatalf("first run exit %d", code)
	}
	exec := strings.TrimSuffix(strings.SplitN(out.String(), "(execution ", 2)[1], ")\n")[:9]
	env.C.Set(func(c *checks.FakeClient) { c.Snap.Latency[1].P99MS = 20 })
	out.Reset()
	code := RunCLI(context.Background(), &out, r, lib, "", CLIOptions{OnlyChecks: true, Actor: alice, Resume: exec})
	if code != ExitOK || !strings.Contains(out.String(), "(passed earlier)") {
		t.Errorf("resume exit %d:\n%s", code, out.String())
	}
	out.Reset()
	if code := RunCLI(context.Background(), &out, r, lib, "disk-space", CLIOptions{Resume: exec}); code != ExitError {
		t.Errorf("resume under another id: exit %d", code)
	}
}

func TestPrintListAndShow(t *testing.T) {
	lib := mustLibrary(t, "")
	var b bytes.Buffer
	if err := PrintList(&b, lib, false); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 10 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(b.String(), "high-latency") || !strings.Contains(b.String(), "latency_p95_high,latency_p99_slo") {
		t.Errorf("list:\n%s", b.String())
	}
	b.Reset()
	if err := PrintList(&b, lib, true); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Runbooks []listEntry `json:"runbooks"`
		Problems []string    `json:"problems"`
	}
	if err := json.Unmarshal(b.Bytes(), &list); err != nil || len(list.Runbooks) != 9 || list.Problems == nil {
		t.Errorf("list JSON: %v %s", err, b.String())
	}
	b.Reset()
	if err := PrintShow(&b, lib, "maintenance", false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"maintenance: Routine maintenance", `update-deps: sh go get -u ./... && go mod tidy [changes state, confirm "update", timeout 10m0s]`,
		"   $ go get -u ./... && go mod tidy", "Upgrade the dependencies"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := PrintShow(&b, lib, "maintenance", true); err != nil {
		t.Fatal(err)
	}
	var rb Runbook
	if err := json.Unmarshal(b.Bytes(), &rb); err != nil || rb.ID != "maintenance" || len(rb.Steps) == 0 {
		t.Errorf("show JSON: %v", err)
	}
	if err := PrintShow(&b, lib, "nope", false); err == nil || !strings.Contains(err.Error(), "unknown runbook") {
		t.Errorf("show unknown: %v", err)
	}
}
