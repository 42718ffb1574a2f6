package market

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/keys"
	"carvision/tui/page"
)

// TestFilterFlow: f opens the input, typed text + enter re-queries Market
// with exactly that filter, the view shows it and the narrower numbers.
func TestFilterFlow(t *testing.T) {
	c := newClient(t)
	p := started(t, c, "default")
	if calls := c.Calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], engine.MarketFilter{}) {
		t.Fatalf("start: calls %+v", calls)
	}
	all := p.report.KPIs.TotalVehicles

	act(t, p, Edit, "")
	if !p.Capturing() {
		t.Fatal("f did not give the input the keys")
	}
	// While typing, letters bound elsewhere (q, x, r, f) are text.
	typeText(t, p, "price 5000-30000 year 2005-2015 brands ford,toyota")
	if len(c.Calls()) != 1 {
		t.Fatal("typing queried the engine")
	}
	press(t, p, tea.KeyEnter)
	want := engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000, MinYear: 2005, MaxYear: 2015, Brands: []string{"ford", "toyota"}}
	calls := c.Calls()
	if len(calls) != 2 || !reflect.DeepEqual(calls[1], want) {
		t.Fatalf("enter: calls %+v, want the last to be %+v", calls, want)
	}
	if p.Capturing() || !reflect.DeepEqual(p.Filter(), want) {
		t.Fatalf("after enter: capturing %v, filter %+v", p.Capturing(), p.Filter())
	}
	got := p.report.KPIs.TotalVehicles
	if got <= 0 || got >= all {
		t.Fatalf("filtered report has %d of %d vehicles", got, all)
	}
	v := render(t, p, 120, 40, false)
	for _, s := range []string{"filter price 5000-30000 year 2005-2015 brands ford,toyota", "cleaned listings (", "ages as of 2026"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q", s)
		}
	}

	// A second clause keeps the first ones.
	act(t, p, Edit, "")
	typeText(t, p, "ref 2020")
	press(t, p, tea.KeyEnter)
	want.Year = 2020
	if last := c.Calls()[len(c.Calls())-1]; !reflect.DeepEqual(last, want) {
		t.Fatalf("ref: last call %+v, want %+v", last, want)
	}
	if !strings.Contains(render(t, p, 120, 40, false), "ages as of 2020") {
		t.Error("the reference year of the report is not shown")
	}

	// r refreshes with the same filter; x clears it.
	act(t, p, Reload, "")
	if last := c.Calls()[len(c.Calls())-1]; !reflect.DeepEqual(last, want) {
		t.Fatalf("refresh: %+v", last)
	}
	act(t, p, Clear, "")
	if last := c.Calls()[len(c.Calls())-1]; !reflect.DeepEqual(last, engine.MarketFilter{}) {
		t.Fatalf("clear: %+v", last)
	}
	if p.report.KPIs.TotalVehicles != all {
		t.Fatalf("cleared report has %d vehicles, want %d", p.report.KPIs.TotalVehicles, all)
	}
	n := len(c.Calls())
	if msgs := act(t, p, Clear, ""); len(c.Calls()) != n || !strings.Contains(flashes(msgs), "no market filter") {
		t.Fatalf("clearing nothing: calls %d→%d, flash %q", n, len(c.Calls()), flashes(msgs))
	}
}

// TestInvalidFilterKeepsOld: a bad clause names its field inline, keeps the
// old filter and report, and never reaches the engine.
func TestInvalidFilterKeepsOld(t *testing.T) {
	c := newClient(t)
	p := started(t, c, "default")
	act(t, p, Edit, "year 2010-2015")
	before, calls := p.report, len(c.Calls())

	act(t, p, Edit, "")
	typeText(t, p, "year 2015-2010")
	press(t, p, tea.KeyEnter)
	if len(c.Calls()) != calls {
		t.Fatal("an invalid filter reached the engine")
	}
	if !p.Capturing() {
		t.Fatal("the input closed on an error: the text to fix is lost")
	}
	v := render(t, p, 120, 40, false)
	if !strings.Contains(v, `✗ year "2015-2010": from 2015 is after to 2010`) || !strings.Contains(v, "kept: year 2010-2015") {
		t.Fatalf("inline error missing:\n%s", v)
	}
	if p.report != before || p.Filter().MinYear != 2010 {
		t.Fatal("the old filter or report changed")
	}
	// Fix the text: the error goes, the new filter applies.
	for range "2015-2010" {
		press(t, p, tea.KeyBackspace)
	}
	typeText(t, p, "2012-2014")
	press(t, p, tea.KeyEnter)
	if f := p.Filter(); f.MinYear != 2012 || f.MaxYear != 2014 || p.inputErr != nil {
		t.Fatalf("after the fix: %+v, %v", f, p.inputErr)
	}

	// esc cancels without querying; an empty enter closes without change.
	calls = len(c.Calls())
	act(t, p, Edit, "")
	typeText(t, p, "price 1-")
	press(t, p, tea.KeyEsc)
	act(t, p, Edit, "")
	press(t, p, tea.KeyEnter)
	if p.Capturing() || len(c.Calls()) != calls || p.Filter().MinPrice != 0 {
		t.Fatalf("esc/empty: capturing %v, calls %d→%d, filter %+v", p.Capturing(), calls, len(c.Calls()), p.Filter())
	}

	// From the command line (ActionMsg with an argument) errors flash.
	msgs := act(t, p, Edit, "brands")
	if !strings.HasPrefix(flashes(msgs), "brands: missing value") || len(c.Calls()) != calls {
		t.Fatalf("command-line error: %q", flashes(msgs))
	}
}

// TestErrorsAreCalm: no cleaned data, a failed refresh and a timeout show
// their reason; the last good report stays; a retry recovers.
func TestErrorsAreCalm(t *testing.T) {
	c := newClient(t)
	c.setErr(errors.New("market: no cleaned data yet (run `carvision repro`): open data/processed/clean.csv: no such file or directory"))
	p := started(t, c, "default")
	v := render(t, p, 80, 24, true)
	for _, s := range []string{"✗ market report unavailable", "no cleaned data yet: run a retrain", "then r"} {
		if !strings.Contains(v, s) {
			t.Errorf("no-data view lacks %q:\n%s", s, v)
		}
	}
	c.setErr(nil)
	act(t, p, Reload, "")
	if p.report == nil || p.err != nil {
		t.Fatal("r did not recover")
	}
	good := p.report

	c.setErr(errors.New("market: read clean.csv line 812: unexpected EOF"))
	msgs := act(t, p, Edit, "price 5000-")
	if p.report != good || p.Filter().MinPrice != 0 {
		t.Fatal("a failed query replaced the report or the filter")
	}
	if !strings.Contains(flashes(msgs), "line 812") {
		t.Errorf("flash = %q", flashes(msgs))
	}
	if v := render(t, p, 120, 40, false); !strings.Contains(v, "▲ showing the report of 12:00:00; refresh failed") {
		t.Errorf("stale report not marked:\n%s", v)
	}
}

func TestTimeoutUsesContextDeadline(t *testing.T) {
	c := newClient(t)
	c.block = true
	p := newPage(t, c, "default")
	p.Ctx.Timeout = 5 * time.Millisecond // the call's context ends: no sleep in the test
	drive(t, p, p.Start())
	if !errors.Is(p.err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", p.err)
	}
	if v := render(t, p, 80, 24, true); !strings.Contains(v, "took too long") {
		t.Errorf("timeout not explained:\n%s", v)
	}
}

// TestStaleResultDropped: an answer to an older request never overwrites a
// newer one (fast typing, slow engine).
func TestStaleResultDropped(t *testing.T) {
	c := newClient(t)
	p := started(t, c, "default")
	old := p.fetch(engine.MarketFilter{MinYear: 2001})
	newer := p.fetch(engine.MarketFilter{MinYear: 2010})
	drive(t, p, newer)
	drive(t, p, old) // arrives last
	if p.Filter().MinYear != 2010 || p.loading {
		t.Fatalf("filter %+v loading %v", p.Filter(), p.loading)
	}
}

func TestPanelsCycle(t *testing.T) {
	p := started(t, newClient(t), "default")
	seen := []int{p.panel}
	for i := 0; i < panelCount; i++ {
		act(t, p, NextPanel, "")
		seen = append(seen, p.panel)
	}
	if !reflect.DeepEqual(seen, []int{0, 1, 2, 0}) {
		t.Fatalf("next: %v", seen)
	}
	act(t, p, PrevPanel, "")
	if p.panel != 2 {
		t.Fatalf("prev from 0: %d", p.panel)
	}
	if !strings.Contains(render(t, p, 80, 24, true), "[Opportunities]") {
		t.Error("the shown panel is not bracketed")
	}
}

// TestBindingsFitTheKeyTable: the page's keys neither clash with each
// other nor shadow a global or navigation key (the root validates the same).
func TestBindingsFitTheKeyTable(t *testing.T) {
	p := newPage(t, nil, "default")
	if _, err := keys.NewTable(keys.GlobalBindings(), keys.NavBindings(), p.Bindings(),
		[]keys.Binding{keys.GotoBinding("0", ID, p.Title())}); err != nil {
		t.Fatal(err)
	}
}

func TestRetrainEventRefetchesWhenVisible(t *testing.T) {
	c := newClient(t)
	p := started(t, c, "default")
	n := len(c.Calls())
	drive(t, p, p.Update(page.EventMsg{Event: engine.Event{Kind: "retrain", Message: "retrain done"}}))
	if len(c.Calls()) != n+1 {
		t.Fatalf("visible: %d calls, want %d", len(c.Calls()), n+1)
	}
	p.Stop()
	drive(t, p, p.Update(page.EventMsg{Event: engine.Event{Kind: "retrain"}}))
	drive(t, p, p.Update(page.EventMsg{Event: engine.Event{Kind: "promote"}}))
	if len(c.Calls()) != n+1 {
		t.Fatal("a hidden page queried the engine")
	}
}
