// Package models is page 6: registered versions with metrics and aliases,
// a diff of two versions (diff-only toggle), and promote / rollback behind a
// typed confirmation with a reason.
package models

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "models"

// Actions of this page.
const (
	Mark     = "models.mark"
	Compare  = "models.compare"
	DiffOnly = "models.diff_only"
	Promote  = "models.promote"
	Rollback = "models.rollback"
)

type (
	listMsg struct {
		versions []engine.ModelVersion
		err      error
	}
	diffMsg struct {
		d   engine.ModelDiff
		err error
	}
	promoteMsg  struct{ version, reason string }
	rollbackMsg struct{ reason string }
	doneMsg     struct {
		what string
		err  error
	}
)

// Page is the Models page.
type Page struct {
	page.Base
	all      []engine.ModelVersion
	rows     []engine.ModelVersion
	err      error
	cur      table.Cursor
	marked   string
	filter   string
	diff     *engine.ModelDiff
	diffErr  error
	diffOnly bool
}

// New builds the page.
func New(ctx *page.Context) page.Page { return &Page{Base: page.Base{Ctx: ctx}, diffOnly: true} }

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Models" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Mark, Keys: []string{" "}, Short: "mark", Help: "mark the selected version as the base of a compare", Scope: ID},
		{Action: Compare, Keys: []string{"d", "enter"}, Short: "compare", Help: "diff the selected version against the marked one (default: the champion)", Scope: ID, Hint: true, Needs: keys.NeedStore},
		{Action: DiffOnly, Keys: []string{"v"}, Short: "diff only", Help: "show only what differs, or every row", Scope: ID},
		{Action: Promote, Keys: []string{"P"}, Short: "promote", Help: "promote the selected version to champion (type its version and a reason)", Scope: ID, Hint: true, Mutates: true, Confirm: true, Needs: keys.NeedStore},
		{Action: Rollback, Keys: []string{"B"}, Short: "rollback", Help: "move the champion back to the previous one (type \"rollback\" and a reason)", Scope: ID, Hint: true, Mutates: true, Confirm: true, Needs: keys.NeedStore},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return p.fetch()
}

func (p *Page) fetch() tea.Cmd {
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		v, err := c.Client.Models(ctx)
		return page.Route(ID, listMsg{v, err})
	}
}

// SetFilter implements page.Filterable.
func (p *Page) SetFilter(text string) {
	p.filter = strings.ToLower(text)
	p.rebuild()
}

// Back implements page.Backer: esc closes the diff first.
func (p *Page) Back() bool {
	if p.diff != nil || p.diffErr != nil {
		p.diff, p.diffErr = nil, nil
		return true
	}
	return false
}

func (p *Page) rebuild() {
	p.rows = p.rows[:0]
	for _, v := range p.all {
		text := strings.ToLower(format.Version(v.Version) + " " + strings.Join(v.Aliases, " ") + " " + v.RunID)
		if p.filter == "" || strings.Contains(text, p.filter) {
			p.rows = append(p.rows, v)
		}
	}
	p.cur.SetN(len(p.rows))
}

func (p *Page) champion() string {
	for _, v := range p.all {
		if slices.Contains(v.Aliases, "champion") {
			return v.Version
		}
	}
	return ""
}

func (p *Page) selected() (engine.ModelVersion, bool) {
	if p.cur.Pos < len(p.rows) {
		return p.rows[p.cur.Pos], true
	}
	return engine.ModelVersion{}, false
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case listMsg:
		p.err = msg.err
		if msg.err == nil {
			p.all = msg.versions
			p.rebuild()
		}
	case page.EventMsg:
		switch msg.Event.Kind {
		// "reload": the champion moved in another process (a CLI promote),
		// seen by the engine's champion watcher.
		case "promote", "rollback", "retrain", "reload":
			return p.fetch()
		}
	case diffMsg:
		p.diffErr = msg.err
		if msg.err == nil {
			d := msg.d
			p.diff = &d
		}
	case promoteMsg:
		c := p.Ctx
		return func() tea.Msg {
			ctx, cancel := c.Call()
			defer cancel()
			return page.Route(ID, doneMsg{format.Version(msg.version) + " promoted to champion", c.Client.Promote(ctx, msg.version, c.Request(msg.reason))})
		}
	case rollbackMsg:
		c := p.Ctx
		return func() tea.Msg {
			ctx, cancel := c.Call()
			defer cancel()
			return page.Route(ID, doneMsg{"champion rolled back", c.Client.Rollback(ctx, c.Request(msg.reason))})
		}
	case doneMsg:
		if msg.err != nil {
			return page.Flash(theme.LevelBad, msg.err.Error())
		}
		return tea.Batch(page.Flash(theme.LevelOK, msg.what), p.fetch(), page.Emit(page.PollMsg{}))
	case page.ActionMsg:
		if p.cur.Nav(msg.Action) {
			return nil
		}
		return p.action(msg)
	}
	return nil
}

func (p *Page) action(a page.ActionMsg) tea.Cmd {
	sel, ok := p.selected()
	switch a.Action {
	case Mark:
		if !ok {
			return nil
		}
		if p.marked == sel.Version {
			p.marked = ""
		} else {
			p.marked = sel.Version
		}
	case DiffOnly:
		p.diffOnly = !p.diffOnly
	case Compare:
		if !ok {
			return nil
		}
		base, target := p.marked, sel.Version
		if base == "" || base == target {
			base = p.champion()
		}
		if base == target {
			// The champion itself: compare it with the newest other version.
			other := slices.IndexFunc(p.all, func(m engine.ModelVersion) bool { return m.Version != target })
			if other < 0 {
				return page.Flash(theme.LevelInfo, "only one version is registered: nothing to compare")
			}
			base, target = target, p.all[other].Version
		}
		c := p.Ctx
		return func() tea.Msg {
			ctx, cancel := c.Call()
			defer cancel()
			d, err := c.Client.CompareModels(ctx, base, target)
			return page.Route(ID, diffMsg{d, err})
		}
	case Promote:
		v := sel.Version
		if a.Arg != "" {
			// ":promote 7" and ":promote v7" name the registry's version "7".
			i := slices.IndexFunc(p.all, func(m engine.ModelVersion) bool {
				return format.PlainVersion(m.Version) == format.PlainVersion(a.Arg)
			})
			if i < 0 {
				return page.Flash(theme.LevelBad, "promote: no version "+format.Version(a.Arg)+" in the registry")
			}
			v = p.all[i].Version
		} else if !ok {
			return page.Flash(theme.LevelInfo, "no version selected")
		}
		if v == p.champion() {
			return page.Flash(theme.LevelInfo, format.Version(v)+" is already the champion")
		}
		champ := format.Version(p.champion())
		return page.Emit(page.ConfirmMsg{From: ID, Action: Promote, Title: "Promote " + format.Version(v),
			Lines:  []string{fmt.Sprintf("%s becomes the champion served by the API (now %s). Rollback restores %s.", format.Version(v), champ, champ)},
			Expect: format.Version(v), AskReason: true, OnConfirm: func(r string) tea.Msg { return promoteMsg{v, r} }})
	case Rollback:
		return page.Emit(page.ConfirmMsg{From: ID, Action: Rollback, Title: "Roll back the champion",
			Lines:  []string{fmt.Sprintf("The champion %s is replaced by the previous champion.", format.Version(p.champion()))},
			Expect: "rollback", AskReason: true, OnConfirm: func(r string) tea.Msg { return rollbackMsg{r} }})
	}
	return nil
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if p.err != nil {
		return textblock.Block(th.State(theme.LevelBad, "models unavailable: "+p.err.Error()), p.W, p.H)
	}
	open := p.diff != nil || p.diffErr != nil
	if p.Compact && open {
		return p.diffView(p.W, p.H)
	}
	tableH := p.H
	if open {
		tableH = min(len(p.rows)+3, p.H/2)
	}
	list := p.table(p.W, tableH)
	if !open {
		return textblock.Block(list, p.W, p.H)
	}
	return textblock.Block(textblock.Stack(list, "", p.diffView(p.W, p.H-tableH-1)), p.W, p.H)
}

func (p *Page) table(w, h int) string {
	th := p.Ctx.Theme
	now := p.Ctx.Now()
	narrow := w < 100 // drops "created" and MAE so the run id keeps some room
	rows := make([][]string, len(p.rows))
	for i, v := range p.rows {
		alias := aliasText(th, v.Aliases)
		metric := func(name, f string) string {
			if x, ok := format.Metric(v.Metrics, name); ok {
				return fmt.Sprintf(f, x)
			}
			return "—"
		}
		rmse, mae := "—", "—"
		if x, ok := format.Metric(v.Metrics, "rmse"); ok {
			rmse = format.Thousands(x)
		}
		if x, ok := format.Metric(v.Metrics, "mae"); ok {
			mae = format.Thousands(x)
		}
		rows[i] = []string{format.Version(v.Version), alias, format.Ago(now, v.CreatedAt), rmse, mae,
			metric("mape", "%.1f%%"), metric("r2", "%.3f"), v.RunID}
		if narrow {
			rows[i] = []string{rows[i][0], rows[i][1], rows[i][3], rows[i][5], rows[i][6], rows[i][7]}
		}
	}
	title := fmt.Sprintf("Versions · %d", len(p.all))
	if p.marked != "" {
		title += " · base " + format.Version(p.marked)
	}
	if p.filter != "" {
		title += " · /" + p.filter
	}
	cols := []table.Column{{Title: "version", Width: 7}, {Title: "aliases", Width: 22}, {Title: "created", Width: 9},
		{Title: "RMSE", Width: 6, Right: true}, {Title: "MAE", Width: 6, Right: true}, {Title: "MAPE", Width: 6, Right: true},
		{Title: "R²", Width: 6, Right: true}, {Title: "run", Width: 0}}
	if narrow {
		cols = []table.Column{cols[0], cols[1], cols[3], cols[5], cols[6], cols[7]}
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows, Cursor: &p.cur, Empty: "no versions registered",
		Marked: func(i int) bool { return p.rows[i].Version == p.marked }, Columns: cols})
	return textblock.Stack(th.Rulef(w, title), t)
}

// Rows returns the diff rows to show: all, or only those that differ.
func Rows(d engine.ModelDiff, diffOnly bool) []engine.DiffRow {
	var out []engine.DiffRow
	for _, r := range append(slices.Clone(d.Metrics), d.Params...) {
		if diffOnly && r.Old == r.New {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (p *Page) diffView(w, h int) string {
	th := p.Ctx.Theme
	if p.diffErr != nil {
		return textblock.Lines([]string{th.Rulef(w, "Compare"), th.State(theme.LevelBad, p.diffErr.Error())}, w, h)
	}
	d := p.diff
	mode := "all rows"
	if p.diffOnly {
		mode = "differences only"
	}
	rows := Rows(*d, p.diffOnly)
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = []string{r.Name, r.Old, r.New, r.Change, r.Path}
	}
	gate := th.State(theme.LevelOK, "gate would pass")
	if !d.Gate.Pass {
		gate = th.State(theme.LevelBad, "gate would fail")
	}
	out := []string{th.Rulef(w, fmt.Sprintf("Compare %s → %s · %s (v toggles · esc closes)", format.Version(d.A), format.Version(d.B), mode))}
	tableH := min(len(cells)+1, max(h-3, 2))
	out = append(out, strings.Split(table.Render(table.Spec{Theme: th, W: w, H: tableH, Rows: cells, Empty: "no differences",
		Columns: []table.Column{{Title: "name", Width: 14}, {Title: format.Version(d.A), Width: 10, Right: true}, {Title: format.Version(d.B), Width: 10, Right: true},
			{Title: "change", Width: 10}, {Title: "file", Width: 0}}}), "\n")...)
	out = append(out, textblock.Cut(gate+th.Muted.Render(": "+strings.Join(d.Gate.Reasons, "; ")), w))
	return textblock.Lines(out, w, h)
}

// aliasText lists aliases champion first; the champion carries the OK
// symbol, the others are words.
func aliasText(th *theme.Theme, aliases []string) string {
	sorted := slices.Clone(aliases)
	slices.SortFunc(sorted, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "champion":
			return -1
		case b == "champion":
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, a := range sorted {
		if a == "champion" {
			parts = append(parts, th.State(theme.LevelOK, a))
			continue
		}
		parts = append(parts, th.Info.Render(a))
	}
	return strings.Join(parts, ", ")
}
