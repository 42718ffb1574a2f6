package runbooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"carvision/engine"
	"carvision/engine/config"
	"carvision/runbook"
	"carvision/runbook/checks"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

var sizes = []struct {
	name    string
	w, h    int
	compact bool
}{{"80x24", 80, 24, true}, {"120x40", 120, 40, false}}

// fixture builds the page over the shipped library and a FakeEnv rooted at
// a folder that does not exist (so no path depends on the machine).
func fixture(t *testing.T, edit func(e *checks.FakeEnv), ctxEdit func(c *page.Context)) (*Page, *checks.FakeEnv) {
	t.Helper()
	lib, err := runbook.LoadLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	env := checks.NewFakeEnv("/srv/carvision")
	env.Files = []string{}
	if edit != nil {
		edit(env)
	}
	th, err := theme.New("default", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &page.Context{Theme: th, Clock: func() time.Time { return checks.FakeNow }, Actor: engine.Actor{Name: "alice", Role: "operator"},
		Caps: env.C.Capabilities(), Base: context.Background(), Timeout: time.Second}
	if ctxEdit != nil {
		ctxEdit(ctx)
	}
	p := New(lib, runbook.NewRunner(env, &runbook.MemRecorder{}))(ctx).(*Page)
	p.tick = func(int) tea.Cmd { return nil } // no timers in tests
	p.Start()
	return p, env
}

// drive runs cmd and feeds every message it yields back into the page
// (routed ones unwrapped), returning the messages meant for the root.
func drive(t *testing.T, p *Page, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	var root []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch m := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, m...)
		case page.Routed:
			if m.To != ID {
				t.Fatalf("routed to %s", m.To)
			}
			queue = append(queue, p.Update(m.Msg))
		case nil:
		default:
			root = append(root, m)
		}
	}
	return root
}

func act(t *testing.T, p *Page, action string) []tea.Msg {
	t.Helper()
	return drive(t, p, p.Update(page.ActionMsg{Action: action}))
}

func flashes(msgs []tea.Msg) string {
	var out []string
	for _, m := range msgs {
		if f, ok := m.(page.FlashMsg); ok {
			out = append(out, f.Text)
		}
	}
	return strings.Join(out, "\n")
}

func render(t *testing.T, p *Page, w, h int, compact bool) string {
	t.Helper()
	p.SetSize(w, h, compact)
	v := p.View()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("view is %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if textblock.Width(l) != w {
			t.Fatalf("line %d is %d wide, want %d: %q", i+1, textblock.Width(l), w, l)
		}
	}
	return v
}

func TestGoldenList(t *testing.T) {
	for _, sz := range sizes {
		t.Run(sz.name, func(t *testing.T) {
			p, _ := fixture(t, nil, nil)
			p.Update(page.SnapshotMsg{Snap: engine.Snapshot{Alerts: []engine.Alert{
				{Name: "latency_p95_high", State: "firing", Runbook: "high-latency"},
				{Name: "disk_usage_high", State: "pending", Runbook: "disk-space"},
			}}})
			golden.RequireEqual(t, []byte(render(t, p, sz.w, sz.h, sz.compact)))
		})
	}
}

func TestGoldenStepper(t *testing.T) {
	for _, sz := range sizes {
		t.Run(sz.name, func(t *testing.T) {
			p, env := fixture(t, func(e *checks.FakeEnv) {
				c, err := config.Load(filepath.Join("..", "..", "..", "testdata", "config", "valid", "drop-odometer.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				e.SetConfig(c)
			}, nil)
			drive(t, p, p.Update(page.OpenRunbookMsg{ID: "api-500-missing-column"}))
			msgs := act(t, p, Checks)
			if !strings.Contains(flashes(msgs), "checks done: 1 fail") {
				t.Errorf("flash = %q", flashes(msgs))
			}
			// Select the failed schema step: its evidence and the pointer show.
			for i := 0; i < 3; i++ {
				p.Update(page.ActionMsg{Action: keys.Down})
			}
			if got := p.exec.Step(3); got.State != runbook.Fail || got.Next == nil || got.Next.Name != "reload-config" {
				t.Fatalf("schema step = %+v", got)
			}
			_ = env
			golden.RequireEqual(t, []byte(render(t, p, sz.w, sz.h, sz.compact)))
		})
	}
}

func TestGoldenOutput(t *testing.T) {
	p, _ := fixture(t, nil, nil)
	p.Open("deploy-verify")
	p.step.To(6) // verify-after-rollback
	act(t, p, Run)
	p.step.To(6)
	act(t, p, Output)
	golden.RequireEqual(t, []byte(render(t, p, 80, 24, true)))
}

func TestFilterAndTags(t *testing.T) {
	p, _ := fixture(t, nil, nil)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", nil},
		{"#oncall", []string{"api-500-missing-column", "deploy-verify", "disk-space", "error-rate", "high-latency"}},
		{"#oncall latency", []string{"high-latency"}},
		{"drift", []string{"low-accuracy-drift"}},
		{"model_reload_failed", []string{"api-500-missing-column"}},
		{"#nope", []string{}},
	} {
		p.SetFilter(tc.filter)
		var got []string
		for _, rb := range p.rows {
			got = append(got, rb.ID)
		}
		if tc.want == nil {
			if len(got) != 9 {
				t.Errorf("filter %q: %v", tc.filter, got)
			}
			continue
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("filter %q = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestOpenFromAlertAndBack(t *testing.T) {
	p, _ := fixture(t, nil, nil)
	msgs := drive(t, p, p.Update(page.OpenRunbookMsg{ID: "nope"}))
	if !strings.Contains(flashes(msgs), `no runbook "nope"`) || p.exec != nil {
		t.Errorf("unknown id: %v", msgs)
	}
	p.Update(page.OpenRunbookMsg{ID: "disk-space"})
	if p.exec == nil || p.exec.Runbook.ID != "disk-space" || p.rows[p.cur.Pos].ID != "disk-space" {
		t.Fatalf("not opened")
	}
	first := p.exec.ID
	if !p.Back() || p.exec != nil || p.Back() {
		t.Error("esc must close the stepper once, then let the root pop the page")
	}
	act(t, p, Run) // enter on the list reopens the same execution
	if p.exec == nil || p.exec.ID != first {
		t.Errorf("execution not kept: %v", p.exec)
	}
}

func TestStepperRunSkipRerun(t *testing.T) {
	p, env := fixture(t, nil, nil)
	p.Open("high-latency")
	act(t, p, Run) // health
	if s := p.exec.Step(0); s.State != runbook.Pass || p.step.Pos != 1 {
		t.Fatalf("after run: %s, cursor %d", s.State, p.step.Pos)
	}
	if f := flashes(act(t, p, keys.Up)); f != "" {
		t.Error(f)
	}
	if f := flashes(act(t, p, Run)); !strings.Contains(f, "already ran (pass): r runs it again") {
		t.Errorf("enter on a passed step: %q", f)
	}
	env.C.Set(func(c *checks.FakeClient) { c.HealthErr = errors.New("connection refused") })
	act(t, p, Rerun)
	if s := p.exec.Step(0); s.State != runbook.Fail || p.step.Pos != 0 {
		t.Errorf("rerun: %s, cursor %d (must stay on a failure)", s.State, p.step.Pos)
	}
	act(t, p, Skip)
	if s := p.exec.Step(0); s.State != runbook.Skipped || p.step.Pos != 1 {
		t.Errorf("skip: %s, cursor %d", s.State, p.step.Pos)
	}
	msgs := act(t, p, Copy)
	if len(msgs) != 1 || msgs[0].(page.CopyMsg).Text != "carvision runbook run high-latency" {
		t.Errorf("copy = %v", msgs)
	}
}

func TestDangerousStepNeedsTypedConfirmation(t *testing.T) {
	p, env := fixture(t, nil, nil)
	p.Open("high-latency")
	p.step.To(6) // rollback
	msgs := act(t, p, Run)
	if len(msgs) != 1 {
		t.Fatalf("msgs = %v", msgs)
	}
	req, ok := msgs[0].(page.ConfirmMsg)
	if !ok || req.Action != RunDangerous || req.Expect != "rollback" || !req.AskReason || req.From != ID {
		t.Fatalf("confirm request = %+v", msgs[0])
	}
	if len(env.C.CallLog()) != 0 {
		t.Fatal("ran before confirmation")
	}
	drive(t, p, page.Emit(page.Route(ID, req.OnConfirm("p95 rose after v4"))))
	if s := p.exec.Step(6); s.State != runbook.Pass {
		t.Errorf("rollback = %+v", s)
	}
	if calls := env.C.CallLog(); len(calls) != 1 || calls[0] != "rollback by alice" {
		t.Errorf("calls = %v", calls)
	}
}

func TestReadOnlySessionRefuses(t *testing.T) {
	p, env := fixture(t, nil, func(c *page.Context) { c.ReadOnly = true })
	p.Open("high-latency")
	p.step.To(6)
	for _, a := range []string{Run, RunDangerous} {
		msgs := act(t, p, a)
		if !strings.Contains(flashes(msgs), "refused: read-only session") {
			t.Errorf("%s: %v", a, msgs)
		}
	}
	if len(env.C.CallLog()) != 0 || p.exec.Step(6).State != runbook.Pending {
		t.Errorf("refused step changed state: %v %s", env.C.CallLog(), p.exec.Step(6).State)
	}
	view := render(t, p, 120, 40, false)
	if !strings.Contains(view, "read-only: actions and dangerous steps are refused") {
		t.Error("the stepper does not say it is read-only")
	}
	// Reads still run.
	p.step.To(0)
	act(t, p, Run)
	if p.exec.Step(0).State != runbook.Pass {
		t.Errorf("check in read-only = %s", p.exec.Step(0).State)
	}
}

func TestLiveTicksOnlyWhileRunning(t *testing.T) {
	p, env := fixture(t, nil, nil)
	ticks := 0
	p.tick = func(gen int) tea.Cmd {
		ticks++
		return func() tea.Msg { return page.Route(ID, page.TickMsg{Gen: gen}) }
	}
	started, release := make(chan struct{}), make(chan struct{})
	env.C.Set(func(c *checks.FakeClient) {
		c.OnRetrain = func(engine.RetrainRequest) ([]engine.PipelineEvent, error) {
			close(started)
			<-release
			return []engine.PipelineEvent{{Stage: "train", Status: "done", Done: true, Version: "5"}}, nil
		}
	})
	p.Open("retrain-compare")
	i, _ := p.exec.Runbook.Step("repro")
	cmd := p.start(p.exec, i.Index, runbook.RunOptions{Confirmed: true})
	if ticks != 1 {
		t.Fatalf("ticks = %d", ticks)
	}
	batch := cmd().(tea.BatchMsg)
	done := make(chan tea.Msg)
	go func() { done <- batch[0]() }()
	<-started
	// While the step runs, each tick re-arms the next one.
	for k := 0; k < 3; k++ {
		tick := batch[1]().(page.Routed).Msg
		if next := p.Update(tick); next == nil {
			t.Fatal("tick not re-armed while running")
		}
	}
	if p.start(p.exec, i.Index, runbook.RunOptions{Confirmed: true}); ticks != 4 {
		t.Errorf("a second loop started: %d", ticks)
	}
	close(release)
	p.Update((<-done).(page.Routed).Msg)
	if next := p.Update(page.TickMsg{Gen: p.Gen()}); next != nil || p.ticking {
		t.Error("ticks continue after the step ended")
	}
	// A hidden page drops its ticks.
	p.Stop()
	if next := p.Update(page.TickMsg{Gen: p.Gen() - 1}); next != nil {
		t.Error("stale tick re-armed")
	}
}

func TestLibraryReloadShowsProblems(t *testing.T) {
	dir := t.TempDir()
	lib, err := runbook.LoadLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	th, _ := theme.New("default", nil)
	ctx := &page.Context{Theme: th, Actor: engine.Actor{Name: "a"}}
	p := New(lib, runbook.NewRunner(checks.NewFakeEnv(dir), nil))(ctx).(*Page)
	writeFile(t, filepath.Join(dir, "broken.md"), "---\nid: broken\n")
	lib.Reload()
	p.Update(page.SnapshotMsg{})
	if !strings.Contains(render(t, p, 120, 40, false), "1 user runbook problem(s)") {
		t.Error("problem not shown")
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBindingsJoinTheKeyTable(t *testing.T) {
	p, _ := fixture(t, nil, nil)
	if _, err := keys.NewTable(keys.GlobalBindings(), keys.NavBindings(), p.Bindings()); err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Bindings() {
		if b.Scope != ID || b.Help == "" {
			t.Errorf("binding %+v", b)
		}
		if (b.Action == RunDangerous) != (b.Mutates && b.Confirm) {
			t.Errorf("%s: only the dangerous run mutates and confirms", b.Action)
		}
	}
}

func TestReflow(t *testing.T) {
	in := "one\ntwo three\n\n```sh\nkeep\n```\n\n- a\n- b"
	if got := Reflow(in); got != "one two three\n\n```sh\nkeep\n```\n\n- a\n- b" {
		t.Errorf("Reflow = %q", got)
	}
}
