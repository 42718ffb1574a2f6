package runbooks_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"carvision/engine"
	"carvision/runbook"
	"carvision/runbook/checks"
	"carvision/tui"
	"carvision/tui/pages/runbooks"
)

// TestInConsole registers the page as key 9 in the real console and drives
// it with keys: open the page, open a runbook, run all checks, ask to run
// an action (typed confirmation), confirm it.
func TestInConsole(t *testing.T) {
	lib, err := runbook.LoadLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	env := checks.NewFakeEnv("/srv/carvision")
	env.Files = []string{}
	env.C.Snap.Alerts = []engine.Alert{{Name: "latency_p95_high", State: "firing", Runbook: "high-latency", Severity: "warning"}}
	saved := tui.Registry
	t.Cleanup(func() { tui.Registry = saved })
	tui.Registry = append(append([]tui.Entry(nil), saved...),
		tui.Entry{Key: "9", Aliases: []string{"rb", "runbook"}, New: runbooks.New(lib, runbook.NewRunner(env, nil))})

	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m := tui.New(env.C, tui.Options{Clock: func() time.Time { return checks.FakeNow }, Renderer: r, Environ: []string{},
		Actor: engine.Actor{Name: "tester", Role: "operator"}, Width: 120, Height: 40})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	}
	key := func(k string) {
		switch k {
		case "enter":
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		default:
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		}
	}
	typ := func(s string) {
		for _, c := range s {
			key(string(c))
		}
	}
	key("9")
	wait("✗ high-latency") // the list, after a snapshot with the firing alert
	key("g")               // the firing runbook is listed first (the cursor stays where it was)
	key("enter")
	wait("high-latency · High latency")
	key("a")
	wait("checks done")
	for i := 0; i < 6; i++ {
		key("j")
	}
	key("enter")
	wait("Type rollback to confirm")
	typ("latency rose after the promotion")
	key("enter")
	typ("rollback")
	key("enter")
	wait("✓ pass      7  rollback ★")
	if calls := env.C.CallLog(); len(calls) != 1 || !strings.HasPrefix(calls[0], "rollback by tester") {
		t.Errorf("calls = %v", calls)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
