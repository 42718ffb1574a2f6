package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"carvision/engine"
	"carvision/tui/enginefake"
)

func champion(t testing.TB, f *enginefake.Fake) string {
	t.Helper()
	ms, err := f.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if slices.Contains(m.Aliases, "champion") {
			return m.Version
		}
	}
	return ""
}

func TestFlowStartOverview(t *testing.T) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(sz.name, func(t *testing.T) {
			h := start(t, sz.w, sz.h, nil)
			h.wait("Recent events")
			golden.RequireEqual(t, []byte(plain(h.final().View())))
		})
	}
}

func TestFlowAlertOpensRunbook(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys("enter")
	// No Runbooks page yet: the message reaches the root, which says so.
	h.wait("runbook high-latency: the Runbooks page is not installed yet")
	h.final()
}

func TestFlowPredictHappyPath(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys("4")
	h.wait("enter edits the listing")
	h.keys("enter")
	h.typ("f-150") // type-to-filter on the model choice
	h.keys("tab")
	h.typ("2015")
	h.keys("tab")
	h.typ("88000")
	h.keys("ctrl+s")
	h.wait("for ford f-150 (v6")
	h.keys("y")
	h.wait("copied prediction JSON")
	if got := h.clip.last(); !strings.Contains(got, `"model":"ford f-150"`) || !strings.Contains(got, `"model_year":2015`) ||
		strings.Contains(got, "odometer\":0") {
		t.Fatalf("clipboard JSON: %s", got)
	}
	m := h.final()
	if n := h.fake.Calls("Predict"); n != 1 {
		t.Fatalf("%d predictions sent, want 1", n)
	}
	golden.RequireEqual(t, []byte(plain(m.View())))
}

func TestFlowPredictValidationError(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys("4")
	h.wait("enter edits the listing")
	h.keys("enter", "tab") // leave the model empty
	h.typ("20x5")
	h.keys("tab")
	h.wait("model_year: a whole year") // inline: the form stays on the field
	h.keys("ctrl+s")
	h.wait("not sent: model: required")
	m := h.final()
	if n := h.fake.Calls("Predict"); n != 0 {
		t.Fatalf("an invalid listing reached the engine (%d calls)", n)
	}
	golden.RequireEqual(t, []byte(plain(m.View())))
}

// launchRetrain opens the Retrain page, which starts with changed inputs,
// and launches a run through its confirmation.
func (h *harness) launchRetrain() {
	h.t.Helper()
	h.wait("Recent events")
	h.keys("5")
	h.wait("inputs changed since the last repro")
	h.keys("n")
	h.wait("Type retrain to confirm.")
	h.typ("retrain")
	h.keys("enter")
}

func TestFlowRetrainProgressDiffPromote(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.launchRetrain()
	h.wait("reading data/raw/vehicles_us.csv")
	h.advance(4)
	h.wait("tree 84/504")
	// Quitting mid-run asks first; any other key stays.
	h.keys("q")
	h.wait("a retrain is running: quit anyway?")
	h.keys("x")
	h.wait("still here")
	h.advance(enginefake.RetrainSteps - h.steps)
	h.wait("gate passed")
	h.keys("P")
	h.wait("Promote v7")
	h.typ("better RMSE on new data")
	h.keys("enter")
	h.typ("v7")
	h.keys("enter")
	h.wait("model v7 champion") // the header follows after the next snapshot
	m := h.final()
	if got := champion(t, h.fake); got != "7" {
		t.Fatalf("champion %s, want 7", got)
	}
	golden.RequireEqual(t, []byte(plain(m.View())))
}

// The notice follows the watcher while the page is open: after a retrain
// the inputs are up to date, then an edit on disk brings the notice back.
func TestFlowRetrainNoticeFollowsChangedInputs(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.launchRetrain()
	h.advance(enginefake.RetrainSteps)
	h.wait("gate passed") // the run cleared the changed inputs
	h.fake.SetInputsChanged("config.yaml")
	h.wait("): config.yaml · n to retrain")
}

// A promote made by another process reaches the Models page through the
// engine's reload event.
func TestFlowModelsFollowAPromoteElsewhere(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys("6")
	h.wait("v6       ✓ champion")
	h.fake.PromoteElsewhere("5")
	h.wait("v5       ✓ champion")
}

func TestFlowConfigReload(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys("8")
	h.wait("valid · config.yaml")
	st, _ := h.fake.Config(context.Background())
	h.fake.WriteConfig(st.Text + "bogus: 1\n")
	h.wait(`line 24: unknown key "bogus" (the previous config stays in force)`)
	h.keys("r")
	h.wait(`not applied: reload config.yaml line 24: unknown key "bogus"`) // reloading an invalid file is refused with its line
	h.fake.WriteConfig(st.Text)
	h.wait("changed on disk: applied")
	m := h.final()
	golden.RequireEqual(t, []byte(plain(m.View())))
}

func TestFlowReadOnlyRefuses(t *testing.T) {
	h := start(t, 120, 40, func(o *Options) { o.ReadOnly = true })
	h.wait("read-only")
	h.keys("5", "n")
	h.wait("new retrain refused: read-only session (--readonly)")
	h.keys("6", "P")
	h.wait("promote refused: read-only session")
	h.keys(":")
	h.typ("rollback")
	h.keys("enter")
	h.wait("rollback refused: read-only session")
	h.keys("D") // demo traffic is not a state change of the service
	h.wait("demo traffic")
	h.final()
	for _, call := range []string{"Retrain", "Promote", "Rollback", "ReloadConfig"} {
		if n := h.fake.Calls(call); n != 0 {
			t.Errorf("%s reached the engine %d times in a read-only session", call, n)
		}
	}
}

func TestFlowRemoteClientSaysWhy(t *testing.T) {
	pace := enginefake.NewManualClock(at)
	fake := newFake(pace, &engine.Capabilities{Logs: true, Demo: true, Why: "attached to a remote API (--api)"})
	opts := testOptions(fake)
	h := &harness{t: t, fake: fake, pace: pace}
	h.tm = newTM(t, New(fake, opts), 120, 40)
	h.wait("Recent events")
	h.keys("5", "n")
	h.wait("new retrain unavailable: attached to a remote API (--api)")
	h.final()
}

func TestFlowResizeTooSmallAndBack(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.tm.Send(tea.WindowSizeMsg{Width: 40, Height: 10})
	h.wait("terminal too small")
	h.tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.wait("Recent events")
	m := h.final()
	if !strings.Contains(m.View(), "CarVision") {
		t.Fatal("full frame not restored")
	}
}

func TestFlowCommandLine(t *testing.T) {
	h := start(t, 120, 40, nil)
	h.wait("Recent events")
	h.keys(":")
	h.typ("the")
	h.keys("tab") // accept the suggestion "theme"
	h.typ(" m")
	h.keys("enter") // a unique completion runs as if typed out
	h.wait("theme mono")
	h.keys(":")
	h.typ("nosuch")
	h.keys("enter")
	h.wait("unknown command :nosuch")
	h.keys(":")
	h.typ("drift")
	h.keys("enter")
	h.wait("Features by severity")
	m := h.final()
	if m.ctx.Theme.Name != "mono" || m.activePage().ID() != "drift" {
		t.Fatalf("theme %s page %s", m.ctx.Theme.Name, m.activePage().ID())
	}
}

func TestFlowPredictEngineError(t *testing.T) {
	h := start(t, 80, 24, nil)
	h.fake.FailPredict(errors.New("model not loaded: 503"))
	h.wait("Recent events")
	h.keys("4")
	h.wait("enter edits the listing")
	h.keys("enter")
	h.typ("civic")
	h.keys("ctrl+s")
	h.wait("predict failed: model not loaded: 503")
	m := h.final()
	if !strings.Contains(m.View(), "the form is unchanged") {
		t.Fatalf("the card should say the error and keep the form:\n%s", m.View())
	}
}
