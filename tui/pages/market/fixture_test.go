package market

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/engine/dataset"
	mk "carvision/engine/market"
	"carvision/engine/prep"
	"carvision/engine/synth"
	"carvision/tui/enginefake"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// fixedNow is the clock of every test: reference year 2026.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// cleaned is a realistic market: 3,000 synthetic listings cleaned with the
// original's filters (≈ 2,300 rows), built once.
var cleaned = sync.OnceValues(func() (*dataset.Frame, error) {
	f, _, err := prep.Clean(synth.Generate(3000, 1), prep.DefaultFilters())
	return f, err
})

// fakeClient is the console's fake engine with a real Market: the report
// is computed by engine/market on the synthetic frame, every filter it is
// asked for is recorded, and err (when set) is returned instead.
// enginefake's own Market returns an empty report, too thin for this page.
type fakeClient struct {
	*enginefake.Fake
	frame *dataset.Frame

	mu    sync.Mutex
	calls []engine.MarketFilter
	err   error
	block bool // wait for the call's context to end (timeouts)
}

func newClient(t testing.TB) *fakeClient {
	t.Helper()
	f, err := cleaned()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeClient{Fake: enginefake.New(enginefake.Options{Clock: func() time.Time { return fixedNow }}), frame: f}
}

func (c *fakeClient) Market(ctx context.Context, f engine.MarketFilter) (engine.MarketReport, error) {
	c.mu.Lock()
	c.calls = append(c.calls, f)
	err, block := c.err, c.block
	c.mu.Unlock()
	if block {
		<-ctx.Done()
		return engine.MarketReport{}, ctx.Err()
	}
	if err != nil {
		return engine.MarketReport{}, err
	}
	return mk.Analyzer{Now: func() time.Time { return fixedNow }}.Analyze(c.frame, f)
}

func (c *fakeClient) setErr(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func (c *fakeClient) Calls() []engine.MarketFilter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]engine.MarketFilter(nil), c.calls...)
}

// newPage builds the page on c with the Ascii profile and the fixed clock.
func newPage(t testing.TB, c engine.Client, themeName string) *Page {
	t.Helper()
	th, err := theme.New(themeName, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &page.Context{Client: c, Theme: th, Clock: func() time.Time { return fixedNow },
		Actor: engine.Actor{Name: "alice", Role: "operator"}, Base: context.Background(), Timeout: time.Second}
	return New(ctx).(*Page)
}

// started returns a page that has shown its first report.
func started(t testing.TB, c engine.Client, themeName string) *Page {
	t.Helper()
	p := newPage(t, c, themeName)
	drive(t, p, p.Start())
	return p
}

// drive runs cmd and feeds every message it yields back into the page
// (routed ones unwrapped), returning the messages meant for the root.
func drive(t testing.TB, p *Page, cmd tea.Cmd) []tea.Msg {
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

func act(t testing.TB, p *Page, action, arg string) []tea.Msg {
	t.Helper()
	return drive(t, p, p.Update(page.ActionMsg{Action: action, Arg: arg}))
}

// typeText sends text as one key per rune, as a terminal does.
func typeText(t testing.TB, p *Page, text string) {
	t.Helper()
	for _, r := range text {
		k := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}
		if r == ' ' {
			k = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		}
		drive(t, p, p.Update(k))
	}
}

func press(t testing.TB, p *Page, k tea.KeyType) []tea.Msg {
	t.Helper()
	return drive(t, p, p.Update(tea.KeyMsg{Type: k}))
}

// render sizes the page and checks the view is exactly w×h.
func render(t testing.TB, p *Page, w, h int, compact bool) string {
	t.Helper()
	p.SetSize(w, h, compact)
	v := p.View()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%dx%d: view is %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if got := textblock.Width(l); got != w {
			t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i+1, got, l)
		}
	}
	return v
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
