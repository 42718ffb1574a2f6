// Package monitor is page 2: live latency (p50/p95/p99 against the SLO),
// requests per second and error rate over a 1m/5m/1h window, with pause and
// zoom, plus the per-endpoint numbers.
package monitor

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/graph"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/layout"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "monitor"

// Actions of this page.
const (
	Pause  = "monitor.pause"
	Window = "monitor.window"
	Zoom   = "monitor.zoom"
)

// Windows the page cycles through.
var Windows = []time.Duration{time.Minute, 5 * time.Minute, time.Hour}

var zoomNames = []string{"", "latency", "traffic", "errors"}

// Page is the Monitor.
type Page struct {
	page.Base
	snap   engine.Snapshot
	have   bool
	paused bool
	win    int
	zoom   int
}

// New builds the page.
func New(ctx *page.Context) page.Page { return &Page{Base: page.Base{Ctx: ctx}, win: 1} }

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Monitor" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Pause, Keys: []string{"p"}, Short: "pause", Help: "pause or resume the graphs (the header stays live)", Scope: ID, Hint: true},
		{Action: Window, Keys: []string{"w"}, Short: "window", Help: "cycle the window: 1m, 5m, 1h", Scope: ID, Hint: true},
		{Action: Zoom, Keys: []string{"z"}, Short: "zoom", Help: "zoom one chart: latency, traffic, errors, back to all", Scope: ID, Hint: true},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return nil
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.SnapshotMsg:
		if msg.Err == nil && !p.paused {
			p.snap, p.have = msg.Snap, true
		}
	case page.ActionMsg:
		switch msg.Action {
		case Pause:
			p.paused = !p.paused
			if p.paused {
				return page.Flash(theme.LevelInfo, "graphs paused at "+format.Clock(p.snap.At)+" (p resumes)")
			}
			return page.Flash(theme.LevelInfo, "graphs live")
		case Window:
			p.win = (p.win + 1) % len(Windows)
			return page.Emit(page.WindowMsg{Window: Windows[p.win]})
		case Zoom:
			p.zoom = (p.zoom + 1) % len(zoomNames)
		}
	}
	return nil
}

// Back implements page.Backer: esc leaves the zoom first.
func (p *Page) Back() bool {
	if p.zoom != 0 {
		p.zoom = 0
		return true
	}
	return false
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if !p.have {
		return textblock.Block(th.Muted.Render("waiting for the first snapshot…"), p.W, p.H)
	}
	status := p.statusLine()
	body := layout.Rect{W: p.W, H: p.H - 1}
	var out string
	switch {
	case p.zoom != 0:
		out = p.chart(zoomNames[p.zoom], body.W, body.H)
	case p.Compact:
		rows := layout.Rows(body, 0, 2, 1, 1)
		out = textblock.Stack(p.chart("latency", p.W, rows[0].H), p.chart("traffic", p.W, rows[1].H), p.chart("errors", p.W, rows[2].H))
	default:
		cells := layout.Grid(body, 2, 2, 2)
		top := textblock.Join(cells[0].H, 2, textblock.Col{Text: p.chart("latency", cells[0].W, cells[0].H), W: cells[0].W},
			textblock.Col{Text: p.chart("traffic", cells[1].W, cells[1].H), W: cells[1].W})
		bottom := textblock.Join(cells[2].H, 2, textblock.Col{Text: p.chart("errors", cells[2].W, cells[2].H), W: cells[2].W},
			textblock.Col{Text: p.endpoints(cells[3].W, cells[3].H), W: cells[3].W})
		out = textblock.Stack(top, bottom)
	}
	return textblock.Block(textblock.Stack(status, out), p.W, p.H)
}

func (p *Page) statusLine() string {
	th := p.Ctx.Theme
	state := th.State(theme.LevelOK, "live")
	if p.paused {
		state = th.State(theme.LevelWarn, "paused")
	}
	zoom := ""
	if p.zoom != 0 {
		zoom = " · zoom " + zoomNames[p.zoom] + " (esc for all)"
	}
	return textblock.Fit(state+th.Muted.Render(fmt.Sprintf(" · window %s · %d points · at %s%s",
		format.Window(p.snap.Window), len(p.snap.History), format.Clock(p.snap.At), zoom)), p.W)
}

func (p *Page) chart(which string, w, h int) string {
	th := p.Ctx.Theme
	hist := p.snap.History
	pick := func(f func(engine.Point) float64) []float64 {
		out := make([]float64, len(hist))
		for i, pt := range hist {
			out[i] = f(pt)
		}
		return out
	}
	now := engine.LatencyStats{}
	if len(p.snap.Latency) > 0 {
		now = p.snap.Latency[0]
	}
	g := th.Graph
	switch which {
	case "latency":
		return graph.Render(graph.Spec{Theme: th, W: w, H: h,
			Title: fmt.Sprintf("Latency  p95 %s", format.MS(now.P95MS)),
			Series: []graph.Series{
				{Name: "p50", Values: pick(func(pt engine.Point) float64 { return pt.P50MS }), Color: g.P50, Chars: g.Chars[0]},
				{Name: "p95", Values: pick(func(pt engine.Point) float64 { return pt.P95MS }), Color: g.P95, Chars: g.Chars[1]},
				{Name: "p99", Values: pick(func(pt engine.Point) float64 { return pt.P99MS }), Color: g.P99, Chars: g.Chars[2]},
			},
			Threshold: p.snap.SLO.P95MS, ThreshTag: "SLO " + format.MS(p.snap.SLO.P95MS)})
	case "traffic":
		return graph.Render(graph.Spec{Theme: th, W: w, H: h, Title: "Traffic  " + format.Rate(now.RPS),
			Series: []graph.Series{{Name: "req/s", Values: pick(func(pt engine.Point) float64 { return pt.RPS }), Color: g.P50, Chars: g.Chars[0]}}})
	default:
		return graph.Render(graph.Spec{Theme: th, W: w, H: h, Title: "Errors  5xx " + format.Pct(now.ErrorRate),
			Series:    []graph.Series{{Name: "5xx %", Values: pick(func(pt engine.Point) float64 { return pt.Err * 100 }), Color: g.P95, Chars: g.Chars[0]}},
			Threshold: p.snap.SLO.ErrorRate * 100, ThreshTag: "SLO " + format.Pct(p.snap.SLO.ErrorRate),
			Format: func(v float64) string { return fmt.Sprintf("%.2f%%", v) }})
	}
}

func (p *Page) endpoints(w, h int) string {
	th := p.Ctx.Theme
	rows := make([][]string, 0, len(p.snap.Latency))
	for _, l := range p.snap.Latency {
		rows = append(rows, []string{l.Endpoint, format.Num(l.RPS, 1), format.Num(l.P50MS, 1), format.Num(l.P95MS, 1),
			format.Num(l.P99MS, 1), format.Pct(l.Rate4xx), format.Pct(l.Rate5xx)})
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Empty: "no traffic yet",
		Columns: []table.Column{{Title: "endpoint", Width: 0}, {Title: "req/s", Width: 6, Right: true},
			{Title: "p50", Width: 6, Right: true}, {Title: "p95", Width: 6, Right: true}, {Title: "p99", Width: 6, Right: true},
			{Title: "4xx", Width: 6, Right: true}, {Title: "5xx", Width: 6, Right: true}}})
	return textblock.Stack(th.Rulef(w, "Endpoints (ms)"), t)
}
