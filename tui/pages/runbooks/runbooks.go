// Package runbooks is page 9: the runbook library (filter by text or
// #tag, firing alerts marked) and the stepper that runs a runbook step by
// step with live output, evidence and the pointer to the fix. It talks to
// the engine only through runbook.Runner, which holds the Env.
package runbooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/runbook"
	"carvision/runbook/checks"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/layout"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "runbooks"

// Actions of this page.
const (
	Run          = "runbooks.run"
	Rerun        = "runbooks.rerun"
	Skip         = "runbooks.skip"
	Output       = "runbooks.output"
	Checks       = "runbooks.checks"
	RunDangerous = "runbooks.run_dangerous"
	Copy         = "runbooks.copy"
)

// LiveEvery is how often the stepper redraws a running step's output
// (≤ 30 updates a second).
const LiveEvery = time.Second / 30

// Messages the page sends itself (routed while hidden).
type (
	stepDoneMsg struct {
		exec string
		i    int
		sr   runbook.StepRun
		err  error
	}
	checksDoneMsg struct {
		exec string
		err  error
	}
	confirmedMsg struct {
		exec   string
		i      int
		reason string
	}
)

// Page is the Runbooks page.
type Page struct {
	page.Base
	lib    *runbook.Library
	runner *runbook.Runner

	gen    uint64
	all    []*runbook.Runbook
	rows   []*runbook.Runbook
	cur    table.Cursor
	filter string
	firing map[string][]string // runbook id → firing alert names

	exec    *runbook.Execution
	execs   map[string]*runbook.Execution
	step    table.Cursor
	output  bool // the detail pane shows only the output/evidence
	ticking bool

	// tick schedules the next live redraw (replaced in tests).
	tick func(gen int) tea.Cmd
}

// New returns the page factory over a library and a runner.
func New(lib *runbook.Library, runner *runbook.Runner) page.Factory {
	return func(ctx *page.Context) page.Page {
		p := &Page{Base: page.Base{Ctx: ctx}, lib: lib, runner: runner, execs: map[string]*runbook.Execution{}, firing: map[string][]string{}}
		p.tick = func(gen int) tea.Cmd { return page.Tick(ID, gen, LiveEvery) }
		p.reload()
		return p
	}
}

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Runbooks" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Run, Keys: []string{"enter"}, Short: "open/run", Help: "open the selected runbook; in a runbook, run the selected step (actions and dangerous steps ask for a typed confirmation)", Scope: ID, Hint: true},
		{Action: Rerun, Keys: []string{"r"}, Short: "rerun", Help: "run the selected step again", Scope: ID, Hint: true},
		{Action: Skip, Keys: []string{"s"}, Short: "skip", Help: "mark the selected step skipped and move on", Scope: ID, Hint: true},
		{Action: Output, Keys: []string{"o"}, Short: "output", Help: "show only the output and evidence of the selected step, or the whole detail", Scope: ID, Hint: true},
		{Action: Checks, Keys: []string{"a"}, Short: "all checks", Help: "run every check of the runbook that has not passed (reads only)", Scope: ID, Hint: true},
		{Action: RunDangerous, Keys: []string{"x"}, Short: "run ★", Help: "run the selected action or dangerous step after a typed confirmation", Scope: ID, Mutates: true, Confirm: true},
		{Action: Copy, Keys: []string{"y"}, Short: "copy", Help: "copy the selected step's command (or the CLI line that runs the runbook)", Scope: ID},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	gen := p.Activate()
	p.ticking = false
	if p.lib.Generation() != p.gen {
		p.reload()
	}
	if p.exec != nil && p.exec.Busy() {
		p.ticking = true
		return p.tick(gen)
	}
	return nil
}

// SetFilter implements page.Filterable: words match id, title, tags and
// summary; "#tag" keeps runbooks with that tag.
func (p *Page) SetFilter(text string) {
	p.filter = strings.TrimSpace(text)
	p.rebuild()
}

// Back implements page.Backer: esc leaves the stepper for the list (the
// execution is kept and reopened by enter).
func (p *Page) Back() bool {
	if p.exec != nil {
		p.exec = nil
		return true
	}
	return false
}

// Open shows runbook id in the stepper, resuming this session's execution
// of it; false when the library has no such runbook.
func (p *Page) Open(id string) bool {
	rb, ok := p.lib.Get(id)
	if !ok {
		return false
	}
	e := p.execs[id]
	if e == nil || e.Runbook != rb {
		e = p.runner.Start(rb, p.Ctx.Actor, p.readOnly())
		p.execs[id] = e
		p.step = table.Cursor{}
	}
	p.exec = e
	p.step.SetN(len(rb.Steps))
	if i := slices.IndexFunc(p.rows, func(r *runbook.Runbook) bool { return r.ID == id }); i >= 0 {
		p.cur.To(i)
	}
	return true
}

func (p *Page) readOnly() bool {
	c := p.Ctx
	return c.ReadOnly || c.Caps.ReadOnly || c.Actor.Role == "viewer"
}

func (p *Page) reload() {
	p.gen = p.lib.Generation()
	p.all = p.lib.List()
	if p.exec != nil {
		if rb, ok := p.lib.Get(p.exec.Runbook.ID); !ok || rb != p.exec.Runbook {
			if !p.exec.Busy() {
				p.exec = nil // the runbook changed on disk: reopen to run the new version
			}
		}
	}
	p.rebuild()
}

// Match reports whether rb passes a filter text (words and #tags, all must match).
func Match(rb *runbook.Runbook, filter string) bool {
	text := strings.ToLower(rb.ID + " " + rb.Title + " " + rb.Summary + " " + strings.Join(rb.Tags, " ") + " " + strings.Join(rb.Alerts, " "))
	for _, w := range strings.Fields(strings.ToLower(filter)) {
		if tag, ok := strings.CutPrefix(w, "#"); ok {
			if !rb.HasTag(tag) {
				return false
			}
			continue
		}
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

func (p *Page) rebuild() {
	keep := ""
	if p.cur.Pos < len(p.rows) {
		keep = p.rows[p.cur.Pos].ID
	}
	p.rows = p.rows[:0]
	for _, rb := range p.all {
		if Match(rb, p.filter) {
			p.rows = append(p.rows, rb)
		}
	}
	// Runbooks with a firing alert first, then by id.
	sort.SliceStable(p.rows, func(i, j int) bool {
		return len(p.firing[p.rows[i].ID]) > 0 && len(p.firing[p.rows[j].ID]) == 0
	})
	p.cur.SetN(len(p.rows))
	if i := slices.IndexFunc(p.rows, func(r *runbook.Runbook) bool { return r.ID == keep }); i >= 0 {
		p.cur.To(i)
	}
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.SnapshotMsg:
		if msg.Err == nil {
			p.noteAlerts(msg.Snap.Alerts)
		}
		if p.lib.Generation() != p.gen {
			p.reload()
		}
	case page.OpenRunbookMsg:
		if !p.Open(msg.ID) {
			return page.Flash(theme.LevelBad, fmt.Sprintf("no runbook %q in the library", msg.ID))
		}
	case page.TickMsg:
		if !p.Current(msg.Gen) || p.exec == nil || !p.exec.Busy() {
			p.ticking = false
			return nil
		}
		return p.tick(msg.Gen)
	case stepDoneMsg:
		return p.stepDone(msg)
	case checksDoneMsg:
		if msg.err != nil {
			return page.Flash(theme.LevelWarn, "run all checks: "+msg.err.Error())
		}
		if e := p.execByID(msg.exec); e != nil {
			return page.Flash(theme.LevelInfo, "checks done: "+tally(e))
		}
	case confirmedMsg:
		e := p.execByID(msg.exec)
		if e == nil {
			return nil
		}
		return p.start(e, msg.i, runbook.RunOptions{Confirmed: true, Reason: msg.reason})
	case page.ActionMsg:
		if p.exec == nil {
			return p.listAction(msg)
		}
		if p.step.Nav(msg.Action) {
			return nil
		}
		return p.stepAction(msg)
	}
	return nil
}

func (p *Page) noteAlerts(alerts []engine.Alert) {
	firing := map[string][]string{}
	for _, a := range alerts {
		if a.State == "firing" && a.Runbook != "" {
			firing[a.Runbook] = append(firing[a.Runbook], a.Name)
		}
	}
	if fmt.Sprint(firing) != fmt.Sprint(p.firing) {
		p.firing = firing
		p.rebuild()
	}
}

func (p *Page) execByID(id string) *runbook.Execution {
	for _, e := range p.execs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (p *Page) listAction(a page.ActionMsg) tea.Cmd {
	if p.cur.Nav(a.Action) {
		return nil
	}
	if p.cur.Pos >= len(p.rows) {
		return nil
	}
	rb := p.rows[p.cur.Pos]
	switch a.Action {
	case Run:
		p.Open(rb.ID)
	case Checks:
		p.Open(rb.ID)
		return p.runChecks()
	case Copy:
		return page.Emit(page.CopyMsg{What: "command", Text: "carvision runbook run " + rb.ID})
	}
	return nil
}

func (p *Page) stepAction(a page.ActionMsg) tea.Cmd {
	e := p.exec
	i := p.step.Pos
	if i >= len(e.Runbook.Steps) {
		return nil
	}
	st := &e.Runbook.Steps[i]
	switch a.Action {
	case Run, RunDangerous:
		if s := e.Step(i).State; s != runbook.Pending && s != runbook.Running && a.Action == Run {
			return page.Flash(theme.LevelInfo, fmt.Sprintf("step %d already ran (%s): r runs it again", i+1, s))
		}
		return p.request(i)
	case Rerun:
		return p.request(i)
	case Skip:
		if e.Busy() {
			return page.Flash(theme.LevelWarn, "a step is running")
		}
		base := p.base()
		return func() tea.Msg {
			sr, err := e.Skip(base, i, "")
			return page.Route(ID, stepDoneMsg{exec: e.ID, i: i, sr: sr, err: err})
		}
	case Output:
		p.output = !p.output
	case Checks:
		return p.runChecks()
	case Copy:
		text := "carvision runbook run " + e.Runbook.ID
		if st.Kind == runbook.KindSh {
			text = st.Body
		}
		return page.Emit(page.CopyMsg{What: "step " + st.Name, Text: text})
	}
	return nil
}

// request runs step i, or asks for its confirmation first.
func (p *Page) request(i int) tea.Cmd {
	e := p.exec
	st := &e.Runbook.Steps[i]
	if e.Busy() {
		return page.Flash(theme.LevelWarn, "a step is running: wait for it to finish")
	}
	if why := e.Refusal(i); why != "" {
		return page.Flash(theme.LevelWarn, fmt.Sprintf("step %d %s: %s", i+1, st.Name, why))
	}
	if st.NeedsConfirm() {
		if g := p.Ctx.Guard; g != nil {
			if why := g(RunDangerous); why != "" {
				return page.Flash(theme.LevelWarn, why)
			}
		}
		lines := []string{st.Label()}
		if st.Kind == runbook.KindSh {
			lines = append(lines, "")
			for _, l := range strings.Split(strings.TrimRight(st.Body, "\n"), "\n") {
				lines = append(lines, "$ "+l)
			}
		}
		if why := firstSentence(st.Why); why != "" {
			lines = append(lines, "", why)
		}
		id, exec := e.ID, i
		return page.Emit(page.ConfirmMsg{From: ID, Action: RunDangerous,
			Title: fmt.Sprintf("Run step %d %s of %s", i+1, st.Name, e.Runbook.ID), Lines: lines,
			Expect: st.ConfirmText(), AskReason: st.Kind == runbook.KindAction,
			OnConfirm: func(reason string) tea.Msg { return confirmedMsg{exec: id, i: exec, reason: reason} }})
	}
	return p.start(e, i, runbook.RunOptions{})
}

func (p *Page) base() context.Context {
	if p.Ctx.Base != nil {
		return p.Ctx.Base
	}
	return context.Background()
}

// start runs step i in the background and redraws its output live.
func (p *Page) start(e *runbook.Execution, i int, opts runbook.RunOptions) tea.Cmd {
	base := p.base()
	run := func() tea.Msg {
		sr, err := e.Run(base, i, opts)
		return page.Route(ID, stepDoneMsg{exec: e.ID, i: i, sr: sr, err: err})
	}
	return tea.Batch(run, p.startTicking())
}

func (p *Page) startTicking() tea.Cmd {
	if p.ticking || !p.Active() {
		return nil
	}
	p.ticking = true
	return p.tick(p.Gen())
}

func (p *Page) runChecks() tea.Cmd {
	e := p.exec
	if e.Busy() {
		return page.Flash(theme.LevelWarn, "a step is running")
	}
	base := p.base()
	run := func() tea.Msg { return page.Route(ID, checksDoneMsg{exec: e.ID, err: e.RunChecks(base)}) }
	return tea.Batch(run, p.startTicking())
}

func (p *Page) stepDone(m stepDoneMsg) tea.Cmd {
	e := p.execByID(m.exec)
	if e == nil {
		return nil
	}
	st := &e.Runbook.Steps[m.i]
	switch {
	case errors.Is(m.err, engine.ErrReadOnly):
		return page.Flash(theme.LevelWarn, fmt.Sprintf("step %d %s refused: read-only session", m.i+1, st.Name))
	case errors.Is(m.err, runbook.ErrBusy):
		return page.Flash(theme.LevelWarn, "a step is running")
	case m.err != nil:
		return page.Flash(theme.LevelBad, m.err.Error())
	}
	var cmds []tea.Cmd
	if m.sr.RecordErr != "" {
		cmds = append(cmds, page.Flash(theme.LevelWarn, "step not recorded: "+m.sr.RecordErr))
	}
	// Move on after a step that settled well; stay on a failure, whose
	// pointer names the fix.
	if e == p.exec && p.step.Pos == m.i && (m.sr.State == runbook.Pass || m.sr.State == runbook.Skipped) {
		p.step.To(m.i + 1)
	}
	if st.Kind == runbook.KindAction && m.sr.State == runbook.Pass {
		cmds = append(cmds, page.Emit(page.PollMsg{}))
	}
	return tea.Batch(cmds...)
}

// Reflow joins the hard-wrapped lines of each prose paragraph so that the
// text can be wrapped to any width; code blocks and list items keep their
// lines.
func Reflow(s string) string {
	var paras []string
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(para, "\n")
		keep := false
		for _, l := range lines {
			t := strings.TrimSpace(l)
			keep = keep || strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || strings.HasPrefix(t, "- ") ||
				strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "|") || strings.HasPrefix(l, "    ")
		}
		if keep {
			paras = append(paras, para)
			continue
		}
		paras = append(paras, strings.Join(strings.Fields(para), " "))
	}
	return strings.Join(paras, "\n\n")
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return checks.Shorten(s, 160)
}

func tally(e *runbook.Execution) string {
	n := map[runbook.State]int{}
	for _, s := range e.Steps() {
		n[s.State]++
	}
	var parts []string
	for _, st := range []runbook.State{runbook.Fail, runbook.Errored, runbook.Warn, runbook.Running, runbook.Pass, runbook.Skipped, runbook.Pending} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	return strings.Join(parts, " · ")
}

// level maps a step state to the console's levels (symbol + colour).
func level(s runbook.State) theme.Level {
	switch s {
	case runbook.Pass:
		return theme.LevelOK
	case runbook.Warn:
		return theme.LevelWarn
	case runbook.Fail, runbook.Errored:
		return theme.LevelBad
	case runbook.Running:
		return theme.LevelInfo
	}
	return theme.LevelMuted
}

// View implements page.Page.
func (p *Page) View() string {
	if p.W <= 0 || p.H <= 0 {
		return ""
	}
	if p.exec != nil {
		return p.stepperView()
	}
	return p.listView()
}

func (p *Page) listView() string {
	th := p.Ctx.Theme
	w, h := p.W, p.H
	rows := make([][]string, len(p.rows))
	for i, rb := range p.rows {
		mark := " "
		if len(p.firing[rb.ID]) > 0 {
			mark = th.Bad.Render(th.Sym.Bad)
		}
		title := rb.Title
		if rb.Overrides {
			title += th.Muted.Render(" (user override)")
		} else if !rb.Builtin {
			title += th.Muted.Render(" (user)")
		}
		rows[i] = []string{mark + " " + rb.ID, title, fmt.Sprint(len(rb.Steps)), strings.Join(rb.Tags, ",")}
	}
	title := fmt.Sprintf("Runbooks · %d", len(p.all))
	if p.filter != "" {
		title += " · /" + p.filter
	}
	cols := []table.Column{{Title: "  id", Width: 24}, {Title: "title", Width: 0}, {Title: "steps", Width: 5, Right: true}, {Title: "tags", Width: 26}}
	if p.Compact {
		cols = []table.Column{{Title: "  id", Width: 24}, {Title: "title", Width: 0}, {Title: "steps", Width: 5, Right: true}}
	}
	footer := p.listFooter(w)
	fh := strings.Count(footer, "\n") + 1
	tableH := min(len(p.rows)+2, max(h-fh-2, 3))
	t := table.Render(table.Spec{Theme: th, W: w, H: tableH - 1, Rows: rows, Cursor: &p.cur, Empty: "no runbook matches", Columns: cols})
	detail := p.listDetail(w, h-tableH-fh-1)
	return textblock.Block(textblock.Stack(th.Rulef(w, title), t, detail, footer), w, h)
}

func (p *Page) listDetail(w, h int) string {
	if h <= 1 || p.cur.Pos >= len(p.rows) {
		return textblock.Lines(nil, w, max(h, 0))
	}
	th := p.Ctx.Theme
	rb := p.rows[p.cur.Pos]
	out := []string{"", th.Rulef(w, rb.Title)}
	if names := p.firing[rb.ID]; len(names) > 0 {
		out = append(out, th.State(theme.LevelBad, "firing: "+strings.Join(names, ", ")))
	}
	out = append(out, textblock.WrapLines(rb.Summary, w)...)
	meta := "alerts: " + orDash(strings.Join(rb.Alerts, ", ")) + " · tags: " + orDash(strings.Join(rb.Tags, ", "))
	out = append(out, th.Muted.Render(textblock.Cut(meta, w)))
	var steps []string
	for i := range rb.Steps {
		st := &rb.Steps[i]
		steps = append(steps, fmt.Sprintf("%d %s", i+1, st.Name))
	}
	out = append(out, textblock.WrapLines(th.Muted.Render("steps: ")+strings.Join(steps, " · "), w)...)
	return textblock.Lines(out, w, h)
}

func (p *Page) listFooter(w int) string {
	th := p.Ctx.Theme
	counts := map[string]int{}
	for _, rb := range p.all {
		for _, t := range rb.Tags {
			counts[t]++
		}
	}
	tags := make([]string, 0, len(counts))
	for t := range counts {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for i, t := range tags {
		tags[i] = fmt.Sprintf("#%s(%d)", t, counts[t])
	}
	line := th.Muted.Render(textblock.Cut("tags: "+strings.Join(tags, " "), w))
	if probs := p.lib.Problems(); len(probs) > 0 {
		msg := fmt.Sprintf("%d user runbook problem(s): %s", len(probs), probs[0].Error())
		line += "\n" + textblock.Cut(th.State(theme.LevelWarn, msg), w)
	}
	return line
}

func (p *Page) stepperView() string {
	th := p.Ctx.Theme
	e := p.exec
	rb := e.Runbook
	w, h := p.W, p.H
	steps := e.Steps()
	head := th.Rulef(w, rb.ID+" · "+rb.Title)
	sub := fmt.Sprintf("execution %s · %s", e.ID, tally(e))
	if e.IsReadOnly() {
		sub += " · read-only: actions and dangerous steps are refused"
	}
	header := textblock.Stack(head, th.Muted.Render(textblock.Cut(sub, w)))
	bodyH := h - 2
	if p.Compact {
		listH := min(len(steps)+1, max(bodyH/2, 3))
		return textblock.Block(textblock.Stack(header, p.stepTable(w, listH, steps), p.detail(w, bodyH-listH)), w, h)
	}
	colsR := layout.Columns(layout.Rect{W: w, H: bodyH}, 2, 2, 3)
	body := textblock.Join(bodyH, 2, textblock.Col{Text: p.stepTable(colsR[0].W, bodyH, steps), W: colsR[0].W},
		textblock.Col{Text: p.detail(colsR[1].W, bodyH), W: colsR[1].W})
	return textblock.Block(textblock.Stack(header, body), w, h)
}

func (p *Page) stepTable(w, h int, steps []runbook.StepRun) string {
	th := p.Ctx.Theme
	rb := p.exec.Runbook
	rows := make([][]string, len(steps))
	for i, s := range steps {
		st := &rb.Steps[i]
		name := st.Name
		if st.NeedsConfirm() {
			name += " ★"
		}
		state := string(s.State)
		if s.State == runbook.Errored {
			state = "error"
		}
		rows[i] = []string{th.State(level(s.State), state), fmt.Sprintf("%d", i+1), name, string(st.Kind)}
	}
	return table.Render(table.Spec{Theme: th, W: w, H: h, Rows: rows, Cursor: &p.step, Empty: "no steps",
		Columns: []table.Column{{Title: "state", Width: 9}, {Title: "#", Width: 2, Right: true}, {Title: "step", Width: 0}, {Title: "kind", Width: 6}}})
}

// detail is the selected step: why, what it runs, and what it found.
func (p *Page) detail(w, h int) string {
	if h <= 0 {
		return ""
	}
	th := p.Ctx.Theme
	e := p.exec
	i := min(p.step.Pos, len(e.Runbook.Steps)-1)
	if i < 0 {
		return textblock.Lines(nil, w, h)
	}
	st := &e.Runbook.Steps[i]
	s := e.Step(i)
	var out []string
	out = append(out, th.Rulef(w, fmt.Sprintf("%d %s · %s", i+1, st.Name, st.Label())))
	var flags []string
	if st.Mutates() {
		flags = append(flags, "changes state")
	}
	if st.NeedsConfirm() {
		flags = append(flags, fmt.Sprintf("confirm by typing %q", st.ConfirmText()))
	}
	if st.When != "" && st.When != runbook.WhenAlways {
		flags = append(flags, "when "+st.When)
	}
	if len(flags) > 0 {
		out = append(out, th.Muted.Render(textblock.Cut(strings.Join(flags, " · "), w)))
	}
	result := p.resultLines(w, st, s)
	if !p.output {
		for _, l := range strings.Split(Reflow(st.Why), "\n") {
			out = append(out, textblock.WrapLines(l, w)...)
			if l == "" {
				out = append(out, "")
			}
		}
		if st.Kind == runbook.KindSh {
			out = append(out, "")
			for _, l := range strings.Split(strings.TrimRight(st.Body, "\n"), "\n") {
				out = append(out, th.Accent.Render(textblock.Cut("$ "+l, w)))
			}
		}
		out = append(out, "")
	}
	room := h - len(out)
	if len(result) > room && room > 0 {
		// Keep the verdict and the pointer; cut the middle of long output.
		result = append(result[:room-1:room-1], th.Muted.Render(fmt.Sprintf("… %d more lines: o shows the output alone", len(result)-room+1)))
	}
	out = append(out, result...)
	return textblock.Lines(out, w, h)
}

func (p *Page) resultLines(w int, st *runbook.Step, s runbook.StepRun) []string {
	th := p.Ctx.Theme
	var out []string
	head := th.State(level(s.State), string(s.State))
	if sum := s.Summary(); sum != "" {
		head += " " + sum
	}
	if s.Duration > 0 {
		head += th.Muted.Render(" · " + format.Duration(s.Duration))
	}
	if s.Resumed {
		head += th.Muted.Render(" · passed earlier")
	}
	out = append(out, textblock.WrapLines(head, w)...)
	if s.Next != nil {
		out = append(out, textblock.WrapLines(th.Warn.Render(s.Next.String()), w)...)
	}
	if s.Result != nil && s.Result.Fix != nil && s.Next == nil && s.State != runbook.Pass {
		out = append(out, th.Muted.Render(textblock.Cut("fix: "+s.Result.Fix.String(), w)))
	}
	if r := s.Result; r != nil {
		out = append(out, evidenceLines(th, w, r.Evidence)...)
	}
	if s.Output != "" {
		lines := strings.Split(strings.TrimRight(s.Output, "\n"), "\n")
		if s.Dropped > 0 {
			out = append(out, th.Muted.Render(fmt.Sprintf("… %s dropped (output cap)", checks.Bytes(float64(s.Dropped)))))
		}
		for _, l := range lines {
			out = append(out, textblock.Cut("│ "+l, w))
		}
	}
	if s.RecordErr != "" {
		out = append(out, th.State(theme.LevelWarn, "not recorded: "+s.RecordErr))
	}
	return out
}

func evidenceLines(th *theme.Theme, w int, ev checks.Evidence) []string {
	var out []string
	if len(ev.Numbers) > 0 {
		var parts []string
		for _, n := range ev.Numbers {
			parts = append(parts, n.Name+" "+n.Text())
		}
		out = append(out, textblock.WrapLines(th.Muted.Render(strings.Join(parts, " · ")), w)...)
	}
	if len(ev.Table) > 0 {
		widths := make([]int, len(ev.Table[0]))
		for _, row := range ev.Table {
			for j, c := range row {
				if j < len(widths) {
					widths[j] = min(max(widths[j], textblock.Width(c)), 28)
				}
			}
		}
		for r, row := range ev.Table {
			cells := make([]string, len(row))
			for j, c := range row {
				if j < len(widths) {
					cells[j] = textblock.Fit(c, widths[j])
				}
			}
			line := textblock.Cut(strings.TrimRight(strings.Join(cells, "  "), " "), w)
			if r == 0 {
				line = th.Muted.Render(line)
			}
			out = append(out, line)
		}
	}
	for _, l := range ev.Lines {
		out = append(out, textblock.Cut("· "+l, w))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
