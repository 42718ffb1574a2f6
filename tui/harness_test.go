package tui

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"carvision/engine"
	"carvision/tui/enginefake"
)

// at is the fixed instant of every test: 290 s into the fake's episode
// cycle, where the drift wave and the slow spell both fire.
var at = enginefake.EpisodeTime(290)

// harness runs the console under teatest on the fake engine with a fixed
// clock, an Ascii renderer (plain text goldens) and a hand-driven pacing
// clock for retrains.
type harness struct {
	t     testing.TB
	tm    *teatest.TestModel
	fake  *enginefake.Fake
	pace  *enginefake.ManualClock
	clip  *clipboard
	steps int // retrain steps already advanced
}

type clipboard struct {
	mu   sync.Mutex
	text []string
}

func (c *clipboard) copy(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text = append(c.text, s)
	return nil
}

func (c *clipboard) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.text) == 0 {
		return ""
	}
	return c.text[len(c.text)-1]
}

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func testOptions(fake engine.Client) Options {
	clock := func() time.Time { return at }
	return Options{Clock: clock, Renderer: asciiRenderer(), Environ: []string{},
		Actor: engine.Actor{Name: "tester", Role: "operator"}}
}

func newFake(pace *enginefake.ManualClock, caps *engine.Capabilities) *enginefake.Fake {
	return enginefake.New(enginefake.Options{Clock: func() time.Time { return at }, After: pace.After,
		Step: time.Second, Demo: true, Caps: caps})
}

func start(t testing.TB, w, h int, mod func(*Options)) *harness {
	t.Helper()
	pace := enginefake.NewManualClock(at)
	fake := newFake(pace, nil)
	clip := &clipboard{}
	opts := testOptions(fake)
	opts.Clipboard = clip.copy
	if mod != nil {
		mod(&opts)
	}
	m := New(fake, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	return &harness{t: t, tm: tm, fake: fake, pace: pace, clip: clip}
}

var special = map[string]tea.KeyType{
	"enter": tea.KeyEnter, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "esc": tea.KeyEsc,
	"ctrl+s": tea.KeyCtrlS, "ctrl+c": tea.KeyCtrlC, "up": tea.KeyUp, "down": tea.KeyDown, "ctrl+e": tea.KeyCtrlE,
}

// keys sends each named key (special names or a single rune).
func (h *harness) keys(names ...string) {
	for _, n := range names {
		if k, ok := special[n]; ok {
			h.tm.Send(tea.KeyMsg{Type: k})
			continue
		}
		h.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(n)})
	}
}

// typ types text one key per rune, as a person would.
func (h *harness) typ(text string) {
	for _, r := range text {
		h.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// wait blocks until text appears in the program's output. Output already
// seen by an earlier wait is consumed, so wait for each new thing once.
func (h *harness) wait(text string) {
	h.t.Helper()
	teatest.WaitFor(h.t, h.tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(text))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// advance lets the fake retrain take n more paced steps.
func (h *harness) advance(n int) {
	for i := 0; i < n; i++ {
		h.pace.BlockUntil(1)
		h.pace.Advance(time.Second)
		h.steps++
	}
}

// final quits and returns the model in its last state.
func (h *harness) final() *Model {
	h.t.Helper()
	if err := h.tm.Quit(); err != nil {
		h.t.Fatal(err)
	}
	return h.tm.FinalModel(h.t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
}

// show makes page id visible without starting it (its data is already
// loaded), so a final model can be rendered page by page.
func (m *Model) show(id string) {
	m.pages[m.active].Stop()
	m.active = m.pageIndex(id)
	m.resize(m.w, m.h)
}

// viewAt renders the model at a size, synchronously.
func viewAt(m *Model, w, h int) string {
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m.View()
}

func plain(s string) string { return strings.TrimRight(s, "\n") + "\n" }

func newTM(t testing.TB, m tea.Model, w, h int) *teatest.TestModel {
	return teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
}
