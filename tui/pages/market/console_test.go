package market_test

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"carvision/engine"
	"carvision/tui"
	"carvision/tui/pages/market"
)

// TestInConsole registers the page as key 0 in the real console (unless the
// registry already has it) and drives it with keys: open the page, type a
// filter (keys bound elsewhere, like "-", are text while typing), apply it.
func TestInConsole(t *testing.T) {
	c := market.NewFakeClient(t)
	saved := tui.Registry
	t.Cleanup(func() { tui.Registry = saved })
	registered := false
	for _, e := range saved {
		registered = registered || e.Key == "0"
	}
	if !registered {
		tui.Registry = append(append([]tui.Entry(nil), saved...),
			tui.Entry{Key: "0", Aliases: []string{"mkt", "market"}, New: market.New})
	}

	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m := tui.New(c, tui.Options{Clock: func() time.Time { return market.FixedNow }, Renderer: r, Environ: []string{},
		Actor: engine.Actor{Name: "tester", Role: "operator"}, Width: 120, Height: 40})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	}
	typ := func(s string) {
		for _, r := range s {
			if r == ' ' {
				tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
				continue
			}
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
	typ("0")
	wait("ages as of 2026")
	typ("f")
	wait("filter>")
	typ("year 2010- brands ford")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait("filter year 2010- brands ford")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))

	want := engine.MarketFilter{MinYear: 2010, Brands: []string{"ford"}}
	calls := c.Calls()
	if len(calls) < 2 || !reflect.DeepEqual(calls[len(calls)-1], want) {
		t.Fatalf("Market calls %+v, want the last to be %+v", calls, want)
	}
}
