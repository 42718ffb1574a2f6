// Package drift is page 3: every feature's drift test, score, threshold and
// verdict sorted by severity, with vehicle_age and the predicted price pinned
// on top, and the selected feature's reference vs live distribution.
package drift

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
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
const ID = "drift"

// Actions of this page.
const (
	Sort = "drift.sort"
)

// Pinned features stay on top whatever the sort.
var Pinned = []string{"vehicle_age", "predicted_price"}

// Page is the Drift page.
type Page struct {
	page.Base
	sum    engine.DriftSummary
	have   bool
	rows   []engine.FeatureDrift
	cur    table.Cursor
	byName bool
	filter string
	keep   string // selected feature, kept across refreshes
}

// New builds the page.
func New(ctx *page.Context) page.Page { return &Page{Base: page.Base{Ctx: ctx}} }

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Drift" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Sort, Keys: []string{"s"}, Short: "sort", Help: "sort by severity or by name (pinned features stay on top)", Scope: ID, Hint: true},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return nil
}

// SetFilter implements page.Filterable.
func (p *Page) SetFilter(text string) {
	p.filter = text
	p.rebuild()
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.SnapshotMsg:
		if msg.Err == nil {
			p.sum, p.have = msg.Snap.Drift, true
			p.rebuild()
		}
	case page.ActionMsg:
		if p.cur.Nav(msg.Action) {
			if p.cur.Pos < len(p.rows) {
				p.keep = p.rows[p.cur.Pos].Feature
			}
			return nil
		}
		if msg.Action == Sort {
			p.byName = !p.byName
			p.rebuild()
		}
	}
	return nil
}

// Order sorts features: pinned first (in Pinned order), then by severity
// (drifted first, then score/threshold descending) or by name.
func Order(in []engine.FeatureDrift, byName bool) []engine.FeatureDrift {
	out := slices.Clone(in)
	pin := func(f string) int {
		if i := slices.Index(Pinned, f); i >= 0 {
			return i
		}
		return len(Pinned)
	}
	slices.SortStableFunc(out, func(a, b engine.FeatureDrift) int {
		if pa, pb := pin(a.Feature), pin(b.Feature); pa != pb {
			return pa - pb
		}
		if byName {
			return strings.Compare(a.Feature, b.Feature)
		}
		if a.Drifted != b.Drifted {
			if a.Drifted {
				return -1
			}
			return 1
		}
		ra, rb := ratio(a), ratio(b)
		switch {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	return out
}

// ratio is how far a feature is towards its limit (1 = at it). A KS score
// is a p-value, where smaller means more drift, so its ratio is inverted.
func ratio(f engine.FeatureDrift) float64 {
	if f.Test == "ks" {
		if f.Score <= 0 {
			return math.Inf(1)
		}
		return f.Threshold / f.Score
	}
	if f.Threshold <= 0 {
		return f.Score
	}
	return f.Score / f.Threshold
}

// ScoreText and LimitText write a feature's score and limit: distances with
// fixed decimals; a KS p-value and its Bonferroni level with two
// significant digits, the level as "<0.0056" (two decimals would show it as
// 0.00, and a p-value drifts by falling under it, not by passing it).
func ScoreText(f engine.FeatureDrift) string {
	if f.Test == "ks" {
		return strconv.FormatFloat(f.Score, 'g', 2, 64)
	}
	return format.Num(f.Score, 3)
}

// LimitText: see ScoreText.
func LimitText(f engine.FeatureDrift) string {
	if f.Test == "ks" {
		return "<" + strconv.FormatFloat(f.Threshold, 'g', 2, 64)
	}
	return format.Num(f.Threshold, 2)
}

func (p *Page) rebuild() {
	all := Order(p.sum.Features, p.byName)
	p.rows = p.rows[:0]
	for _, f := range all {
		if p.filter == "" || strings.Contains(f.Feature, strings.ToLower(p.filter)) {
			p.rows = append(p.rows, f)
		}
	}
	p.cur.SetN(len(p.rows))
	if i := slices.IndexFunc(p.rows, func(f engine.FeatureDrift) bool { return f.Feature == p.keep }); i >= 0 {
		p.cur.To(i)
	}
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if !p.have {
		return textblock.Block(th.Muted.Render("waiting for the first snapshot…"), p.W, p.H)
	}
	summary := p.summary(p.W)
	sh := strings.Count(summary, "\n") + 1
	body := layout.Rect{W: p.W, H: p.H - sh - 1}
	var main string
	if p.Compact {
		tableH := min(len(p.rows)+2, max(body.H/2, 4))
		main = textblock.Stack(p.table(p.W, tableH), "", p.detail(p.W, max(body.H-tableH-1, 0)))
	} else {
		cols := layout.Columns(body, 3, 1, 1)
		main = textblock.Join(body.H, 3, textblock.Col{Text: p.table(cols[0].W, body.H), W: cols[0].W},
			textblock.Col{Text: p.detail(cols[1].W, body.H), W: cols[1].W})
	}
	return textblock.Block(textblock.Stack(summary, "", main), p.W, p.H)
}

func (p *Page) summary(w int) string {
	th := p.Ctx.Theme
	d := p.sum
	lvl, word := verdict.Drift(d)
	l1 := th.State(lvl, word) + th.Muted.Render(fmt.Sprintf(" · drift share %s · window %d (min %d)", format.Pct(d.DriftShare), d.WindowSize, d.MinWindow))
	oor := theme.LevelOK
	if d.OutOfRangeShare > 0.05 {
		oor = theme.LevelWarn
	}
	l2 := th.State(oor, fmt.Sprintf("out of range %s", format.Pct(d.OutOfRangeShare))) +
		th.Muted.Render(fmt.Sprintf(" of recent listings have model years beyond the training data (≤ %d)", d.MaxTrainYear))
	lines := []string{textblock.Cut(l1, w), textblock.Cut(l2, w)}
	if d.RecommendRetrain {
		lines = append(lines, textblock.Cut(th.Warn.Render(th.Sym.Warn+" retrain recommended: ")+d.Reason, w))
	}
	return strings.Join(lines, "\n")
}

func (p *Page) table(w, h int) string {
	th := p.Ctx.Theme
	rows := make([][]string, len(p.rows))
	for i, f := range p.rows {
		lvl, word := theme.LevelOK, "ok"
		if f.Drifted {
			lvl, word = theme.LevelBad, "drift"
		}
		name := f.Feature
		if slices.Contains(Pinned, f.Feature) {
			name += " " + th.Muted.Render("(pinned)")
		}
		rows[i] = []string{name, TestName(f.Test), ScoreText(f), LimitText(f), th.State(lvl, word)}
	}
	title := "Features by severity"
	if p.byName {
		title = "Features by name"
	}
	if p.filter != "" {
		title += " · /" + p.filter
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Cursor: &p.cur, Empty: "no feature matches",
		Columns: []table.Column{{Title: "feature", Width: 0}, {Title: "test", Width: 4}, {Title: "score", Width: 6, Right: true},
			{Title: "limit", Width: 7, Right: true}, {Title: "verdict", Width: 7}}})
	return textblock.Stack(th.Rulef(w, title), t)
}

// detail draws reference and live shares of each bin as two bars side by side.
func (p *Page) detail(w, h int) string {
	th := p.Ctx.Theme
	if len(p.rows) == 0 || h <= 0 {
		return ""
	}
	f := p.rows[p.cur.Pos]
	out := []string{th.Rulef(w, f.Feature+": reference vs live")}
	if len(f.Bins) == 0 {
		out = append(out, th.Muted.Render("no distribution recorded for this feature"))
		return textblock.Lines(out, w, h)
	}
	labelW := 4
	for _, b := range f.Bins {
		labelW = max(labelW, textblock.Width(b))
	}
	labelW = min(labelW, w/4)
	// label | ref bar + pct | live bar + pct
	barW := max((w-labelW-2-2*7-3)/2, 3)
	out = append(out, th.Muted.Render(textblock.Fit("", labelW)+"  "+textblock.Fit(th.RefBar.Render(th.Sym.BarFull)+" reference", barW+7)+"   "+th.LiveBar.Render(th.Sym.BarFull)+" live"))
	top := 0.0
	for i := range f.Bins {
		top = max(top, at(f.RefShare, i), at(f.CurShare, i))
	}
	if top <= 0 {
		top = 1
	}
	for i, b := range f.Bins {
		r, c := at(f.RefShare, i), at(f.CurShare, i)
		mark := " "
		if c-r > 0.05 {
			mark = th.Warn.Render(th.Sym.Up)
		} else if r-c > 0.05 {
			mark = th.Warn.Render(th.Sym.Down)
		}
		line := textblock.Fit(b, labelW) + "  " + th.Bar(r/top, barW, th.RefBar) + fmt.Sprintf(" %5s", format.Pct(r)) +
			"  " + mark + th.Bar(c/top, barW, th.LiveBar) + fmt.Sprintf(" %5s", format.Pct(c))
		out = append(out, line)
	}
	score := "score"
	if f.Test == "ks" {
		score = "p-value"
	}
	out = append(out, "", th.Muted.Render(fmt.Sprintf("%s %s = %s (limit %s) · %s kind", TestName(f.Test), score,
		ScoreText(f), LimitText(f), f.Kind)))
	out = append(out, th.Muted.Render(th.Sym.Up+"/"+th.Sym.Down+" marks bins whose live share moved by more than 5 points"))
	return textblock.Lines(out, w, h)
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// TestName abbreviates a drift test for narrow columns.
func TestName(t string) string {
	switch t {
	case "psi":
		return "PSI"
	case "ks":
		return "KS"
	case "jensen_shannon":
		return "JS"
	case "wasserstein":
		return "W1"
	}
	return t
}
