package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/enginefake"
	"carvision/tui/keys"
	"carvision/tui/page"
)

func unitModel(t *testing.T, mod func(*Options)) (*Model, *enginefake.Fake) {
	t.Helper()
	fake := newFake(enginefake.NewManualClock(at), nil)
	opts := testOptions(fake)
	if mod != nil {
		mod(&opts)
	}
	m, err := newModel(fake, opts)
	if err != nil {
		t.Fatal(err)
	}
	m.resize(120, 40)
	t.Cleanup(m.Close)
	return m, fake
}

func TestStaleSnapshotIsDropped(t *testing.T) {
	m, _ := unitModel(t, nil)
	newer := engine.Snapshot{At: at, Model: engine.ModelInfo{Version: "7"}}
	older := engine.Snapshot{At: at.Add(-time.Second), Model: engine.ModelInfo{Version: "6"}}
	m.Update(snapshotMsg{seq: 2, snap: newer})
	m.Update(snapshotMsg{seq: 1, snap: older})
	if m.snap.Model.Version != "7" {
		t.Fatalf("an older poll overwrote a newer one: v%s", m.snap.Model.Version)
	}
}

func TestNoColorPicksMono(t *testing.T) {
	m, _ := unitModel(t, func(o *Options) { o.Environ = []string{"TERM=xterm", "NO_COLOR=1"} })
	if m.ctx.Theme.Name != "mono" {
		t.Fatalf("NO_COLOR gave theme %s", m.ctx.Theme.Name)
	}
	m, _ = unitModel(t, func(o *Options) { o.Environ = []string{"NO_COLOR="} })
	if m.ctx.Theme.Name != "default" {
		t.Fatalf("an empty NO_COLOR must not count: %s", m.ctx.Theme.Name)
	}
}

func TestUnknownThemeFallsBackWithFlash(t *testing.T) {
	fake := newFake(enginefake.NewManualClock(at), nil)
	opts := testOptions(fake)
	opts.Theme = "neon"
	m := New(fake, opts).(*Model)
	defer m.Close()
	if m.ctx.Theme.Name != "default" || !strings.Contains(m.flash.text, `theme "neon"`) {
		t.Fatalf("theme %s flash %q", m.ctx.Theme.Name, m.flash.text)
	}
}

func TestNoticesReachTheStatusLine(t *testing.T) {
	ch := make(chan string, 1)
	m, _ := unitModel(t, func(o *Options) { o.Notices = ch })
	ch <- "ana (SHA256:ab12) started retrain run-0008"
	msg := m.waitNotice()()
	_, cmd := m.Update(msg)
	if !strings.Contains(m.status(120), "started retrain run-0008") || cmd == nil {
		t.Fatalf("status %q, re-armed %v", m.status(120), cmd != nil)
	}
}

func TestFlashesExpireByTheSessionClock(t *testing.T) {
	now := at
	m, _ := unitModel(t, func(o *Options) { o.Clock = func() time.Time { return now } })
	m.Update(page.FlashMsg{Text: "hello"})
	now = now.Add(5 * time.Second)
	m.Update(tickMsg{})
	if m.flash.text == "" {
		t.Fatal("flash cleared too early")
	}
	now = now.Add(2 * time.Second)
	m.Update(tickMsg{})
	if m.flash.text != "" {
		t.Fatal("flash did not clear after 6 s")
	}
}

func TestTaskUpdatesKeepTheNewest(t *testing.T) {
	m, _ := unitModel(t, nil)
	m.Update(page.TaskMsg{ID: "retrain", Seq: 3, Done: true})
	m.Update(page.TaskMsg{ID: "retrain", Seq: 2, Label: "retrain train 67%"})
	if m.running() {
		t.Fatal("a late progress update revived a finished task")
	}
}

func TestMouseClickOnTab(t *testing.T) {
	m, _ := unitModel(t, func(o *Options) { o.Mouse = true })
	span := m.tabSpans()[2]
	m.Update(tea.MouseMsg{X: span[0] + 1, Y: 1, Button: tea.MouseButtonLeft, Action: tea.MouseActionRelease})
	if m.activePage().ID() != "drift" {
		t.Fatalf("click on the third tab opened %s", m.activePage().ID())
	}
	m, _ = unitModel(t, nil)
	m.Update(tea.MouseMsg{X: span[0] + 1, Y: 1, Button: tea.MouseButtonLeft, Action: tea.MouseActionRelease})
	if m.activePage().ID() != "overview" {
		t.Fatal("the mouse acted although it was not enabled")
	}
}

func TestWindowChangeRepolls(t *testing.T) {
	m, fake := unitModel(t, nil)
	before := fake.Calls("Snapshot")
	_, cmd := m.Update(page.WindowMsg{Window: time.Hour})
	if cmd == nil {
		t.Fatal("no poll after a window change")
	}
	msg := cmd().(snapshotMsg)
	if fake.Calls("Snapshot") != before+1 || msg.snap.Window != time.Hour {
		t.Fatalf("polled window %v", msg.snap.Window)
	}
}

func TestRunsOfKeysAreSplit(t *testing.T) {
	m, _ := unitModel(t, nil)
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("3-")})
	// "3" went to Drift, "-" back to the last page (Overview).
	if m.activePage().ID() != "overview" || len(m.back) == 0 || m.pages[m.back[len(m.back)-1]].ID() != "drift" {
		t.Fatalf("page %s, back %v", m.activePage().ID(), m.back)
	}
}

type clashPage struct{ page.Base }

func (clashPage) ID() string    { return "clash" }
func (clashPage) Title() string { return "Clash" }
func (clashPage) Bindings() []keys.Binding {
	return []keys.Binding{{Action: "clash.quit", Keys: []string{"q"}, Scope: "clash"}}
}
func (clashPage) Start() tea.Cmd          { return nil }
func (clashPage) Update(tea.Msg) tea.Cmd  { return nil }
func (clashPage) View() string            { return "" }
func (*clashPage) SetSize(int, int, bool) {}

func TestRegisteredPageCannotShadowAGlobalKey(t *testing.T) {
	saved := Registry
	t.Cleanup(func() { Registry = saved })
	Registry = append(append([]Entry(nil), saved...), Entry{Key: "9", New: func(*page.Context) page.Page { return &clashPage{} }})
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "clash.quit") || !strings.Contains(r.(string), "app.quit") {
			t.Fatalf("panic %v, want both actions named", r)
		}
	}()
	New(newFake(enginefake.NewManualClock(at), nil), testOptions(nil))
}
