// Package market is page 0: the market the model prices in — KPIs, the
// depreciation curve, brand volume and pricing, undervalued opportunities,
// insights and recommendations — narrowed by the original dashboard's
// sidebar filters (price range, year range, brands), typed inline. It talks
// to the engine only through engine.Client.Market.
package market

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/input"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "market"

// Actions of this page.
const (
	Edit      = "market.filter"
	Clear     = "market.clear"
	Reload    = "market.refresh"
	NextPanel = "market.next_panel"
	PrevPanel = "market.prev_panel"
)

// Panels of the single-column layout, cycled with v / ←→.
const (
	panelDepreciation = iota
	panelBrands
	panelOpportunities
	panelCount
)

var panelNames = [panelCount]string{"Depreciation", "Brands", "Opportunities"}

// reportMsg is the answer to one Market call; seq drops stale answers.
type reportMsg struct {
	seq    int
	filter engine.MarketFilter
	report engine.MarketReport
	err    error
}

// Page is the Market page.
type Page struct {
	page.Base

	filter  engine.MarketFilter // the filter of the report shown
	report  *engine.MarketReport
	at      time.Time // when report arrived (session clock)
	fetched bool      // at least one answer arrived (report or error)
	err     error     // last fetch error; the previous report stays shown
	loading bool
	want    engine.MarketFilter // filter of the request in flight
	seq     int

	editing  bool
	in       textinput.Model
	inputErr error // invalid filter text: named field, old filter kept

	panel int

	// cache of the last View: the root redraws on every message.
	cache    string
	cacheKey viewKey
}

type viewKey struct {
	w, h    int
	compact bool
	th      *theme.Theme
	valid   bool
}

// New builds the page (a page.Factory).
func New(ctx *page.Context) page.Page {
	p := &Page{Base: page.Base{Ctx: ctx}}
	p.in = input.New(ctx.Theme, "filter> ")
	p.in.Placeholder = "type a filter, e.g. price 5000-30000 brands ford"
	p.in.CharLimit = 256
	return p
}

var _ page.Factory = New

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Market" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Edit, Keys: []string{"f"}, Short: "filter", Help: "edit the market filter: price 5000-30000 · year 2005-2015 · brands ford,toyota · ref 2020 (enter applies, esc cancels)", Scope: ID, Hint: true},
		{Action: Clear, Keys: []string{"x"}, Short: "clear", Help: "clear the market filter (every cleaned listing, current reference year)", Scope: ID, Hint: true},
		{Action: Reload, Keys: []string{"r"}, Short: "reload", Help: "recompute the market report with the current filter", Scope: ID, Hint: true},
		{Action: NextPanel, Keys: []string{"v", "right", "l"}, Short: "panel", Help: "next panel (depreciation, brands, opportunities) on narrow screens", Scope: ID, Hint: true},
		{Action: PrevPanel, Keys: []string{"left", "h"}, Short: "prev panel", Help: "previous panel on narrow screens", Scope: ID},
	}
}

// Capturing implements page.Page: the filter input takes every key.
func (p *Page) Capturing() bool { return p.editing }

// SetSize implements page.Page.
func (p *Page) SetSize(w, h int, compact bool) {
	p.Base.SetSize(w, h, compact)
	p.in.Width = max(w-len(p.in.Prompt)-1, 1)
}

// Start implements page.Page: every visit recomputes the report (the
// cleaned data may have changed with a retrain).
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return p.fetch(p.filter)
}

// Filter returns the filter of the report shown.
func (p *Page) Filter() engine.MarketFilter { return p.filter }

func (p *Page) fetch(f engine.MarketFilter) tea.Cmd {
	p.seq++
	seq := p.seq
	p.loading, p.want = true, f
	p.dirty()
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		r, err := c.Client.Market(ctx, f)
		return page.Route(ID, reportMsg{seq: seq, filter: f, report: r, err: err})
	}
}

func (p *Page) dirty() { p.cacheKey.valid = false }

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.SnapshotMsg, page.TickMsg:
		return nil // nothing here depends on the live snapshot
	case reportMsg:
		if msg.seq != p.seq {
			return nil // a newer request is in flight
		}
		p.dirty()
		p.loading, p.fetched = false, true
		if msg.err != nil {
			p.err = msg.err
			if p.report != nil {
				// The view keeps the last report and says so in one line;
				// the whole reason goes to the status line.
				return page.Flash(theme.LevelWarn, "market refresh failed: "+msg.err.Error())
			}
			return nil
		}
		r := msg.report
		p.report, p.filter, p.err, p.at = &r, msg.filter, nil, p.Ctx.Now()
		return nil
	case page.EventMsg:
		// A retrain rewrites the cleaned data the report is built from.
		if msg.Event.Kind == "retrain" && p.Active() && !p.editing {
			return p.fetch(p.filter)
		}
		return nil
	case page.ThemeMsg:
		input.Restyle(&p.in, p.Ctx.Theme)
		p.dirty()
		return nil
	case page.ActionMsg:
		p.dirty()
		return p.action(msg)
	case tea.KeyMsg:
		if p.editing {
			p.dirty()
			return p.edit(msg)
		}
	}
	return nil
}

func (p *Page) action(a page.ActionMsg) tea.Cmd {
	switch a.Action {
	case Edit:
		if arg := strings.TrimSpace(a.Arg); arg != "" {
			// From the command line: apply at once, complain in the status line.
			f, err := ParseFilter(arg, p.filter)
			if err != nil {
				return page.Flash(theme.LevelBad, err.Error())
			}
			return p.fetch(f)
		}
		p.editing, p.inputErr = true, nil
		p.in.SetValue("")
		return p.in.Focus()
	case Clear:
		if !narrows(p.filter) && p.filter.Year == 0 {
			return page.Flash(theme.LevelInfo, "no market filter to clear")
		}
		return p.fetch(engine.MarketFilter{})
	case Reload:
		return p.fetch(p.filter)
	case NextPanel:
		p.panel = (p.panel + 1) % panelCount
	case PrevPanel:
		p.panel = (p.panel + panelCount - 1) % panelCount
	}
	return nil
}

// edit handles a key while the filter input has focus.
func (p *Page) edit(k tea.KeyMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		p.editing, p.inputErr = false, nil
		p.in.Blur()
		return nil
	case "enter":
		text := strings.TrimSpace(p.in.Value())
		if text == "" {
			p.editing, p.inputErr = false, nil
			p.in.Blur()
			return nil
		}
		f, err := ParseFilter(text, p.filter)
		if err != nil {
			p.inputErr = err // the input stays open with the text to fix
			return nil
		}
		p.editing, p.inputErr = false, nil
		p.in.Blur()
		return p.fetch(f)
	}
	var cmd tea.Cmd
	p.in, cmd = p.in.Update(k)
	return cmd
}

// reason turns a fetch error into a calm sentence and the next step.
func reason(err error) (string, string) {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "the market report took too long (timed out)", "r retries"
	case errors.Is(err, engine.ErrUnavailable):
		return "the market report is not available with this engine", ""
	case errors.Is(err, fs.ErrNotExist) || strings.Contains(msg, "no cleaned data"):
		return "no cleaned data yet: run a retrain", "run a retrain (Retrain page, key 5), then r"
	}
	return msg, "r retries"
}

// errLine is "reason (next step)".
func errLine(err error) string {
	r, next := reason(err)
	if next == "" {
		return r
	}
	return fmt.Sprintf("%s (%s)", r, next)
}
