// Package overview is page 1: is the service healthy, which model serves,
// how latency and errors compare with the SLO, is there drift, what is
// firing and what happened lately. Enter on an alert opens its runbook.
package overview

import (
	"fmt"
	"slices"
	"strings"

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
	"carvision/tui/verdict"
)

// ID is the page id.
const ID = "overview"

// Actions of this page.
const (
	OpenRunbook = "overview.open_runbook"
)

// Page is the Overview.
type Page struct {
	page.Base
	snap   engine.Snapshot
	err    error
	have   bool
	alerts []engine.Alert
	cur    table.Cursor
}

// New builds the page.
func New(ctx *page.Context) page.Page { return &Page{Base: page.Base{Ctx: ctx}} }

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Overview" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: OpenRunbook, Keys: []string{"enter"}, Short: "runbook", Help: "open the runbook of the selected alert", Scope: ID, Hint: true},
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
		p.err = msg.Err
		if msg.Err == nil {
			p.snap, p.have = msg.Snap, true
			p.alerts = sortAlerts(msg.Snap.Alerts)
			p.cur.SetN(len(p.alerts))
		}
	case page.ActionMsg:
		if p.cur.Nav(msg.Action) {
			return nil
		}
		if msg.Action == OpenRunbook {
			if len(p.alerts) == 0 {
				return page.Flash(theme.LevelInfo, "no alert selected")
			}
			a := p.alerts[p.cur.Pos]
			if a.Runbook == "" {
				return page.Flash(theme.LevelWarn, a.Name+" names no runbook")
			}
			return page.Emit(page.OpenRunbookMsg{ID: a.Runbook})
		}
	}
	return nil
}

// sortAlerts puts firing first, then pending, then inactive, keeping the
// engine's order within a state.
func sortAlerts(in []engine.Alert) []engine.Alert {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b engine.Alert) int {
		return verdict.AlertRank(a.State) - verdict.AlertRank(b.State)
	})
	return out
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if !p.have {
		msg := "waiting for the first snapshot…"
		if p.err != nil {
			msg = th.State(theme.LevelBad, "engine unreachable: "+p.err.Error())
		}
		return textblock.Block(msg, p.W, p.H)
	}
	if p.Compact {
		return p.compact()
	}
	cols := layout.Columns(layout.Rect{W: p.W, H: p.H}, 3, 5, 6)
	left, right := cols[0], cols[1]
	leftText := textblock.Stack(p.service(left.W), "", p.sloTable(left.W), "", p.drift(left.W))
	if rest := left.H - lines(leftText) - 1; rest >= 6 {
		leftText = textblock.Stack(leftText, "", p.trend(left.W, rest))
	}
	alertsH := min(len(p.alerts)+2, right.H/2)
	alerts := p.alertTable(right.W, alertsH)
	events := p.events(right.W, right.H-alertsH-1)
	rightText := textblock.Stack(alerts, "", events)
	return textblock.Join(p.H, 3, textblock.Col{Text: leftText, W: left.W}, textblock.Col{Text: rightText, W: right.W})
}

// trend is a small p95 chart against the SLO: the one graph worth having
// on the first page.
func (p *Page) trend(w, h int) string {
	th := p.Ctx.Theme
	vals := make([]float64, len(p.snap.History))
	for i, pt := range p.snap.History {
		vals[i] = pt.P95MS
	}
	return graph.Render(graph.Spec{Theme: th, W: w, H: h, Title: "p95 latency · " + format.Window(p.snap.Window),
		Series:    []graph.Series{{Name: "p95", Values: vals, Color: th.Graph.P95, Chars: th.Graph.Chars[0]}},
		Threshold: p.snap.SLO.P95MS, ThreshTag: "SLO " + format.MS(p.snap.SLO.P95MS)})
}

// compact keeps what matters on a small screen: health, the SLO rows,
// the drift verdict, alerts that are not inactive, then recent events.
func (p *Page) compact() string {
	w := p.W
	th := p.Ctx.Theme
	service := p.service(w)
	slo := p.sloTable(w)
	drift := p.drift(w)
	var live []engine.Alert
	for _, a := range p.alerts {
		if a.State != "inactive" {
			live = append(live, a)
		}
	}
	var alerts string
	if len(live) == 0 {
		alerts = textblock.Stack(th.Rulef(w, "Alerts"), th.State(theme.LevelOK, "nothing pending or firing"))
	} else {
		alerts = p.alertTable(w, len(live)+2)
	}
	top := textblock.Stack(service, slo, drift, "", alerts)
	rest := p.H - lines(top) - 1
	return textblock.Block(textblock.Stack(top, "", p.events(w, rest)), w, p.H)
}

func lines(s string) int { return strings.Count(s, "\n") + 1 }

func (p *Page) service(w int) string {
	th := p.Ctx.Theme
	s := p.snap
	lvl, word := verdict.Health(s.Health, nil)
	m := s.Model
	head := th.Rulef(w, "Service")
	l1 := th.State(lvl, word) + "  " + th.Muted.Render("model ") + th.Text.Bold(true).Render(format.Version(m.Version)) +
		th.Muted.Render(" "+m.Alias+" · "+m.Kind+fmt.Sprintf(" · %d trees", m.Trees))
	l2 := th.Muted.Render("test ") + metricLine(m.Metrics)
	if p.Compact {
		return textblock.Stack(head, textblock.Cut(l1, w), textblock.Cut(l2, w))
	}
	l3 := th.Muted.Render(fmt.Sprintf("trained %s · data %s · up %s", format.Ago(p.Ctx.Now(), m.TrainedAt), short(m.DataHash),
		format.Duration(format.Seconds(s.Health.UptimeSeconds))))
	return textblock.Stack(head, textblock.Cut(l1, w), textblock.Cut(l2, w), textblock.Cut(l3, w))
}

func metricLine(m map[string]float64) string {
	if len(m) == 0 {
		return "no metrics"
	}
	var parts []string
	if v, ok := format.Metric(m, "rmse"); ok {
		parts = append(parts, "RMSE "+format.Thousands(v))
	}
	if v, ok := format.Metric(m, "mae"); ok {
		parts = append(parts, "MAE "+format.Thousands(v))
	}
	if v, ok := format.Metric(m, "mape"); ok {
		parts = append(parts, fmt.Sprintf("MAPE %.1f%%", v))
	}
	if v, ok := format.Metric(m, "r2"); ok {
		parts = append(parts, fmt.Sprintf("R² %.3f", v))
	}
	if len(parts) == 0 {
		return "no test metrics recorded"
	}
	return strings.Join(parts, " · ")
}

func (p *Page) sloTable(w int) string {
	th := p.Ctx.Theme
	s := p.snap
	if len(s.Latency) == 0 {
		return textblock.Stack(th.Rulef(w, "Now vs SLO"), th.Muted.Render("no traffic yet"))
	}
	a := s.Latency[0]
	row := func(name, now, slo string, v, limit float64) []string {
		lvl, word := verdict.VsLimit(v, limit)
		return []string{name, now, slo, th.State(lvl, word)}
	}
	rows := [][]string{
		row("p50", format.MS(a.P50MS), format.MS(s.SLO.P50MS), a.P50MS, s.SLO.P50MS),
		row("p95", format.MS(a.P95MS), format.MS(s.SLO.P95MS), a.P95MS, s.SLO.P95MS),
		row("p99", format.MS(a.P99MS), format.MS(s.SLO.P99MS), a.P99MS, s.SLO.P99MS),
		row("5xx rate", format.Pct(a.ErrorRate), format.Pct(s.SLO.ErrorRate), a.ErrorRate, s.SLO.ErrorRate),
	}
	if !p.Compact {
		rows = append(rows, []string{"4xx rate", format.Pct(a.Rate4xx), "", th.Muted.Render("client errors")},
			[]string{"traffic", format.Rate(a.RPS), "", th.Muted.Render(format.Thousands(float64(a.Count)) + " req")})
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: len(rows) + 1, Rows: rows,
		Columns: []table.Column{{Title: "", Width: 9}, {Title: "now", Width: 10, Right: true}, {Title: "SLO", Width: 9, Right: true}, {Title: "state", Width: 0}}})
	return textblock.Stack(th.Rulef(w, "Now vs SLO · window "+format.Window(s.Window)), t)
}

func (p *Page) drift(w int) string {
	th := p.Ctx.Theme
	d := p.snap.Drift
	lvl, word := verdict.Drift(d)
	n := 0
	for _, f := range d.Features {
		if f.Drifted {
			n++
		}
	}
	detail := fmt.Sprintf(" · %d/%d features", n, len(d.Features))
	if d.Status == "collecting" {
		detail = fmt.Sprintf(" · %d of %d listings needed", d.WindowSize, d.MinWindow)
	}
	if d.MaxTrainYear > 0 {
		detail += fmt.Sprintf(" · %s of listings newer than %d", format.Pct(d.OutOfRangeShare), d.MaxTrainYear)
	}
	l1 := th.State(lvl, word) + th.Muted.Render(detail)
	out := []string{th.Rulef(w, "Drift")}
	rec := th.Warn.Render(th.Sym.Warn+" retrain recommended: ") + d.Reason
	if p.Compact {
		out = append(out, textblock.Cut(l1, w))
		if d.RecommendRetrain {
			out = append(out, textblock.Cut(rec, w))
		}
		return textblock.Stack(out...)
	}
	out = append(out, textblock.WrapLines(l1, w)...)
	if d.RecommendRetrain {
		out = append(out, textblock.WrapLines(rec, w)...)
	}
	return textblock.Stack(out...)
}

func (p *Page) alertTable(w, h int) string {
	th := p.Ctx.Theme
	firing, pending := 0, 0
	for _, a := range p.alerts {
		switch a.State {
		case "firing":
			firing++
		case "pending":
			pending++
		}
	}
	title := th.Rulef(w, fmt.Sprintf("Alerts · %d firing · %d pending", firing, pending))
	if h < 2 {
		return title
	}
	// Narrow columns drop "since", then "runbook", before the alert's name.
	withRunbook, withSince := w >= 60, w >= 96
	rbW := len("runbook")
	for _, a := range p.alerts {
		rbW = max(rbW, min(len(a.Runbook), 13))
	}
	rows := make([][]string, len(p.alerts))
	for i, a := range p.alerts {
		lvl := verdict.Alert(a.State)
		rows[i] = []string{th.State(lvl, a.State), a.Name, value(a)}
		if withSince {
			since := ""
			if !a.Since.IsZero() {
				since = format.Ago(p.Ctx.Now(), a.Since)
			}
			rows[i] = append(rows[i], since)
		}
		if withRunbook {
			rows[i] = append(rows[i], a.Runbook)
		}
	}
	cols := []table.Column{{Title: "state", Width: 10}, {Title: "alert", Width: 0}, {Title: "value", Width: 17}}
	if withSince {
		cols = append(cols, table.Column{Title: "since", Width: 9})
	}
	if withRunbook {
		cols = append(cols, table.Column{Title: "runbook", Width: rbW})
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Cursor: &p.cur, Empty: "no alert rules", Columns: cols})
	return textblock.Stack(title, t)
}

// value shows an alert's value against its threshold in the metric's unit:
// latencies arrive in seconds and read best in ms, rates as percentages.
func value(a engine.Alert) string {
	op := a.Op
	if op == "" {
		op = ">"
	}
	name := strings.ToLower(a.Metric + " " + a.Name)
	switch {
	case strings.Contains(name, "latency"):
		return format.MS(a.Value*1000) + " " + op + " " + format.MS(a.Threshold*1000)
	case strings.Contains(name, "rate") || strings.Contains(name, "share") || strings.Contains(name, "usage"):
		return format.Pct(a.Value) + " " + op + " " + format.Pct(a.Threshold)
	}
	return fmt.Sprintf("%.2f %s %.2f", a.Value, op, a.Threshold)
}

func (p *Page) events(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	out := []string{th.Rulef(w, "Recent events")}
	if len(p.snap.Events) == 0 {
		out = append(out, th.Muted.Render("nothing yet"))
	}
	for _, e := range p.snap.Events {
		if len(out) >= h {
			break
		}
		actor := ""
		if e.Actor != "" {
			actor = " (" + e.Actor + ")"
		}
		line := th.Muted.Render(fmt.Sprintf("%-10s %-8s ", format.Ago(p.Ctx.Now(), e.At), e.Kind)) + e.Message + th.Muted.Render(actor)
		out = append(out, textblock.Cut(line, w))
	}
	return strings.Join(out, "\n")
}

// short cuts a content hash to the 12 characters people compare.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
