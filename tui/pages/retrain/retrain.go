// Package retrain is page 5: the pipeline's stages (status, duration, cache
// hits), a notice when inputs changed since the last repro, launching a run
// (typed confirmation), its live progress and log, and when it is done the
// metrics diff against the champion with the gate's verdict, then promote or
// keep as challenger.
package retrain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/ring"
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
const ID = "retrain"

// Actions of this page.
const (
	Launch  = "retrain.launch"
	Force   = "retrain.force"
	Promote = "retrain.promote"
	Keep    = "retrain.keep"
)

// Stages in pipeline order (used to compute overall progress).
var Stages = []string{"validate", "clean", "split", "train", "evaluate", "register"}

// LogSize bounds the run log kept on screen.
const LogSize = 200

type (
	statusMsg struct {
		st  engine.PipelineStatus
		err error
	}
	launchMsg  struct{}
	startedMsg struct {
		ch  <-chan engine.PipelineEvent
		err error
	}
	eventsMsg struct {
		events []engine.PipelineEvent
		closed bool
	}
	diffMsg struct {
		d   engine.ModelDiff
		err error
	}
	promoteMsg  struct{ version, reason string }
	promotedMsg struct {
		version string
		err     error
	}
)

type stageRun struct {
	status   string
	fraction float64
	message  string
	took     time.Duration // from the stage's done event
}

// Page is the Retrain page.
type Page struct {
	page.Base
	st      engine.PipelineStatus
	haveSt  bool
	stErr   error
	champ   string
	force   bool
	running bool
	ch      <-chan engine.PipelineEvent
	runs    map[string]stageRun
	current string
	eta     string
	log     *ring.Ring[string]
	version string // challenger registered by the last run
	runErr  string
	diff    *engine.ModelDiff
	diffErr error
	decided string // "promoted" or "kept"
	taskSeq int
}

// New builds the page.
func New(ctx *page.Context) page.Page {
	return &Page{Base: page.Base{Ctx: ctx}, runs: map[string]stageRun{}, log: ring.New[string](LogSize)}
}

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Retrain" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Launch, Keys: []string{"n"}, Short: "new retrain", Help: "launch a pipeline run (type \"retrain\" to confirm)", Scope: ID, Hint: true, Mutates: true, Confirm: true, Needs: keys.NeedStore},
		{Action: Force, Keys: []string{"f"}, Short: "force", Help: "toggle force: re-run every stage, ignoring the cache", Scope: ID},
		{Action: Promote, Keys: []string{"P"}, Short: "promote", Help: "promote the new challenger to champion (type its version and a reason)", Scope: ID, Hint: true, Mutates: true, Confirm: true, Needs: keys.NeedStore},
		{Action: Keep, Keys: []string{"c"}, Short: "keep", Help: "keep the new model as challenger and close the result", Scope: ID, Hint: true},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return p.fetchStatus()
}

func (p *Page) fetchStatus() tea.Cmd {
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		st, err := c.Client.PipelineStatus(ctx)
		return page.Route(ID, statusMsg{st, err})
	}
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case statusMsg:
		p.stErr = msg.err
		if msg.err == nil {
			p.st, p.haveSt = msg.st, true
		}
	case page.SnapshotMsg:
		if msg.Err == nil {
			p.champ = format.PlainVersion(msg.Snap.Model.Version)
		}
	case page.EventMsg:
		switch msg.Event.Kind {
		// "inputs" is the watcher seeing raw data or config.yaml change,
		// "config" a config applied: either can change what a repro re-runs.
		case "pipeline", "retrain", "promote", "rollback", "inputs", "config":
			return p.fetchStatus()
		}
	case page.ActionMsg:
		return p.action(msg)
	case launchMsg:
		return p.launch()
	case startedMsg:
		if msg.err != nil {
			p.running = false
			return tea.Batch(page.Flash(theme.LevelBad, "retrain: "+msg.err.Error()), p.task(page.TaskMsg{Done: true}))
		}
		p.ch = msg.ch
		return waitFor(p.ch)
	case eventsMsg:
		return p.events(msg)
	case diffMsg:
		p.diffErr = msg.err
		if msg.err == nil {
			d := msg.d
			p.diff = &d
		}
	case promoteMsg:
		return p.promote(msg.version, msg.reason)
	case promotedMsg:
		if msg.err != nil {
			return page.Flash(theme.LevelBad, "promote v"+msg.version+": "+msg.err.Error())
		}
		p.decided = "promoted"
		return tea.Batch(page.Flash(theme.LevelOK, format.Version(msg.version)+" is the champion"), p.fetchStatus(), page.Emit(page.PollMsg{}))
	}
	return nil
}

func (p *Page) action(a page.ActionMsg) tea.Cmd {
	switch a.Action {
	case Force:
		p.force = !p.force
		what := "unchanged stages come from the cache"
		if p.force {
			what = "every stage re-runs"
		}
		return page.Flash(theme.LevelInfo, "force "+format.OnOff(p.force)+": "+what)
	case Keep:
		if p.version == "" {
			return page.Flash(theme.LevelInfo, "no new model to keep")
		}
		p.decided = "kept"
		return page.Flash(theme.LevelInfo, format.Version(p.version)+" stays the challenger")
	case Launch:
		if p.running {
			return page.Flash(theme.LevelWarn, "a retrain is already running")
		}
		lines := []string{"Runs validate → clean → split → train → evaluate → register and registers the new model as challenger."}
		if len(p.st.InputsChanged) > 0 {
			lines = append(lines, "Changed since the last repro: "+strings.Join(p.st.InputsChanged, ", "))
		}
		lines = append(lines, "Force: "+format.OnOff(p.force)+" (f toggles).")
		return page.Emit(page.ConfirmMsg{From: ID, Action: Launch, Title: "Launch a retrain", Lines: lines,
			Expect: "retrain", OnConfirm: func(string) tea.Msg { return launchMsg{} }})
	case Promote:
		v := format.PlainVersion(a.Arg)
		if v == "" {
			v = p.version
		}
		if v == "" {
			return page.Flash(theme.LevelInfo, "no challenger yet: run a retrain first (n)")
		}
		lines := []string{fmt.Sprintf("%s becomes the champion served by the API; %s can be restored with rollback.", format.Version(v), format.Version(p.champ))}
		if p.diff != nil && !p.diff.Gate.Pass {
			lines = append(lines, "The gate FAILED: "+strings.Join(p.diff.Gate.Reasons, "; "))
		}
		return page.Emit(page.ConfirmMsg{From: ID, Action: Promote, Title: "Promote " + format.Version(v), Lines: lines,
			Expect: format.Version(v), AskReason: true, OnConfirm: func(r string) tea.Msg { return promoteMsg{v, r} }})
	}
	return nil
}

func (p *Page) launch() tea.Cmd {
	p.running, p.version, p.runErr, p.diff, p.diffErr, p.decided = true, "", "", nil, nil, ""
	p.runs = map[string]stageRun{}
	p.log.Reset()
	p.current, p.eta = "", ""
	c, force := p.Ctx, p.force
	start := func() tea.Msg {
		// The run outlives any one call: it is bound to the console's life.
		ch, err := c.Client.Retrain(c.Base, engine.RetrainRequest{ActionRequest: c.Request("launched from the console"), Force: force})
		return page.Route(ID, startedMsg{ch, err})
	}
	return tea.Batch(start, p.task(page.TaskMsg{Label: "retrain starting", Fraction: 0}))
}

// waitFor blocks for the next progress event, then takes whatever else is
// already queued, so a burst of events costs one redraw.
func waitFor(ch <-chan engine.PipelineEvent) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		if !ok {
			return page.Route(ID, eventsMsg{closed: true})
		}
		batch := []engine.PipelineEvent{e}
		for len(batch) < 32 {
			select {
			case e, ok := <-ch:
				if !ok {
					return page.Route(ID, eventsMsg{events: batch, closed: true})
				}
				batch = append(batch, e)
			default:
				return page.Route(ID, eventsMsg{events: batch})
			}
		}
		return page.Route(ID, eventsMsg{events: batch})
	}
}

func (p *Page) events(m eventsMsg) tea.Cmd {
	var done *engine.PipelineEvent
	for i, e := range m.events {
		r := p.runs[e.Stage]
		r.status, r.fraction, r.message = e.Status, e.Fraction, e.Message
		if e.Took > 0 {
			r.took = e.Took
		}
		p.runs[e.Stage] = r
		p.current = e.Stage
		p.eta = format.Duration(e.ETA)
		line := fmt.Sprintf("%s %-8s %-7s %s", format.Clock(e.At), e.Stage, e.Status, e.Message)
		if e.Err != "" {
			line += " error: " + e.Err
		}
		p.log.Push(line)
		if e.Done {
			done = &m.events[i]
		}
	}
	frac := p.Overall()
	var cmds []tea.Cmd
	if done == nil && !m.closed {
		cmds = append(cmds, waitFor(p.ch), p.task(page.TaskMsg{Fraction: frac,
			Label: fmt.Sprintf("retrain %s %.0f%%", p.current, frac*100)}))
		return tea.Batch(cmds...)
	}
	p.running = false
	p.ch = nil
	cmds = append(cmds, p.task(page.TaskMsg{Done: true}), p.fetchStatus())
	switch {
	case done == nil:
		p.runErr = "the run ended without a final report"
		cmds = append(cmds, page.Flash(theme.LevelBad, "retrain: "+p.runErr))
	case done.Err != "":
		p.runErr = done.Err
		cmds = append(cmds, page.Flash(theme.LevelBad, "retrain failed at "+done.Stage+": "+done.Err))
	case done.Version != "":
		p.version = format.PlainVersion(done.Version)
		cmds = append(cmds, page.Flash(theme.LevelOK, "retrain done: "+format.Version(done.Version)+" registered as challenger"), p.fetchDiff(p.version))
	default:
		cmds = append(cmds, page.Flash(theme.LevelOK, "retrain done: nothing registered"))
	}
	return tea.Batch(cmds...)
}

// Overall is the run's progress over all stages (0..1).
func (p *Page) Overall() float64 {
	total := 0.0
	for _, s := range Stages {
		r, ok := p.runs[s]
		switch {
		case !ok:
		case r.status == "done" || r.status == "skipped":
			total++
		default:
			total += r.fraction
		}
	}
	return total / float64(len(Stages))
}

func (p *Page) fetchDiff(version string) tea.Cmd {
	c, champ := p.Ctx, p.champ
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		d, err := c.Client.CompareModels(ctx, champ, version)
		return page.Route(ID, diffMsg{d, err})
	}
}

func (p *Page) promote(version, reason string) tea.Cmd {
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		err := c.Client.Promote(ctx, version, c.Request(reason))
		return page.Route(ID, promotedMsg{version, err})
	}
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	var top []string
	if len(p.st.InputsChanged) > 0 && !p.running {
		top = append(top, textblock.Cut(th.Warn.Render(th.Sym.Warn+" inputs changed since the last repro")+
			th.Muted.Render(" ("+p.st.LastRun+"): "+strings.Join(p.st.InputsChanged, ", ")+" · n to retrain"), p.W))
	}
	if p.stErr != nil {
		top = append(top, textblock.Cut(th.State(theme.LevelBad, "pipeline status unavailable: "+p.stErr.Error()), p.W))
	}
	if len(top) > 0 {
		top = append(top, "")
	}
	body := layout.Rect{W: p.W, H: p.H - len(top)}
	if p.Compact {
		parts := append(top, p.stages(p.W, len(Stages)+2), "", p.runView(p.W, body.H-len(Stages)-3))
		return textblock.Block(textblock.Stack(parts...), p.W, p.H)
	}
	cols := layout.Columns(body, 3, 1, 1)
	left := textblock.Stack(p.stages(cols[0].W, len(Stages)+2), "", p.result(cols[0].W, body.H-len(Stages)-3))
	right := p.progressView(cols[1].W, body.H)
	main := textblock.Join(body.H, 3, textblock.Col{Text: left, W: cols[0].W}, textblock.Col{Text: right, W: cols[1].W})
	return textblock.Block(textblock.Stack(append(top, main)...), p.W, p.H)
}

func (p *Page) stages(w, h int) string {
	th := p.Ctx.Theme
	rows := make([][]string, 0, len(Stages))
	byName := map[string]engine.StageStatus{}
	for _, s := range p.st.Stages {
		byName[s.Name] = s
	}
	for _, name := range Stages {
		s := byName[name]
		status, took, cache := s.Status, "", ""
		if s.Duration > 0 {
			took = format.Duration(s.Duration)
		}
		if s.Cached {
			cache = "hit"
		}
		// A run in this session tells what it did; the status fetched after
		// it would call every stage up to date and cached.
		if r, ok := p.runs[name]; ok {
			status, took, cache = r.status, "", ""
			switch r.status {
			case "skipped":
				cache = "hit"
			case "done", "failed":
				if r.took > 0 {
					took = format.Duration(r.took)
				}
			}
		}
		if status == "" {
			status = "unknown"
		}
		rows = append(rows, []string{name, th.State(verdict.Stage(status), status), took, cache, s.Why})
	}
	title := "Pipeline"
	if p.st.LastRun != "" {
		title += " · last run " + p.st.LastRun
	}
	t := table.Render(table.Spec{Theme: th, W: w, H: h - 1, Rows: rows,
		Columns: []table.Column{{Title: "stage", Width: 9}, {Title: "status", Width: 13}, {Title: "took", Width: 7, Right: true}, {Title: "cache", Width: 5}, {Title: "why", Width: 0}}})
	return textblock.Stack(th.Rulef(w, title), t)
}

func (p *Page) bars(w int) []string {
	th := p.Ctx.Theme
	barW := max(w-16, 10)
	cur := p.runs[p.current]
	label := p.current
	if label == "" {
		label = "stage"
	}
	all := p.Overall()
	return []string{
		textblock.Fit("overall", 10) + " " + th.Bar(all, barW, th.RefBar) + fmt.Sprintf(" %3.0f%%", all*100),
		textblock.Fit(label, 10) + " " + th.Bar(cur.fraction, barW, th.LiveBar) + fmt.Sprintf(" %3.0f%%", cur.fraction*100),
		th.Muted.Render(textblock.Cut(fmt.Sprintf("eta %s · %s", p.eta, cur.message), w)),
	}
}

func (p *Page) progressView(w, h int) string {
	th := p.Ctx.Theme
	out := []string{th.Rulef(w, "Run")}
	switch {
	case p.running || p.log.Len() > 0:
		out = append(out, p.bars(w)...)
		out = append(out, "", th.Rulef(w, "Log"))
		lines := p.log.Newest(max(h-len(out), 0))
		for i := len(lines) - 1; i >= 0; i-- {
			out = append(out, textblock.Cut(lines[i], w))
		}
	default:
		out = append(out, th.Muted.Render("no run in this session · n launches one"+forceNote(p.force)))
	}
	return textblock.Lines(out, w, h)
}

func forceNote(f bool) string {
	if f {
		return " (force on)"
	}
	return ""
}

// runView is the compact arrangement: bars, then the result or the log.
func (p *Page) runView(w, h int) string {
	if h <= 0 {
		return ""
	}
	if p.version != "" || p.runErr != "" {
		return p.result(w, h)
	}
	return p.progressView(w, h)
}

func (p *Page) result(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	out := []string{th.Rulef(w, "Result")}
	switch {
	case p.runErr != "":
		out = append(out, th.State(theme.LevelBad, "run failed: "+p.runErr))
	case p.version == "" && p.running:
		out = append(out, th.Muted.Render("running… the diff against the champion appears here"))
	case p.version == "":
		out = append(out, th.Muted.Render("after a run: the metrics diff against the champion and the gate's verdict"))
	case p.diffErr != nil:
		out = append(out, th.State(theme.LevelBad, "diff unavailable: "+p.diffErr.Error()))
	case p.diff == nil:
		out = append(out, th.Muted.Render("comparing "+format.Version(p.version)+" with the champion…"))
	default:
		d := p.diff
		// The verdict and the next step always fit; the metrics get the rest,
		// the key test metrics first, then whatever else changed.
		verdictLine := th.State(theme.LevelOK, "gate passed")
		if !d.Gate.Pass {
			verdictLine = th.State(theme.LevelBad, "gate failed")
		}
		tail := textblock.WrapLines(verdictLine+th.Muted.Render(": "+strings.Join(d.Gate.Reasons, "; ")), w)
		tail = tail[:min(len(tail), 3)]
		switch {
		case p.decided == "promoted":
			tail = append(tail, th.State(theme.LevelOK, format.Version(p.version)+" promoted to champion"))
		case p.decided == "kept":
			tail = append(tail, th.State(theme.LevelInfo, format.Version(p.version)+" kept as challenger"))
		case p.guard(Promote) != "":
			tail = append(tail, th.Muted.Render(p.guard(Promote)))
		default:
			tail = append(tail, th.Key.Render("P")+" promote "+format.Version(p.version)+"  "+th.Key.Render("c")+" keep as challenger")
		}
		rows := DiffRows(d.Metrics)
		tableH := min(len(rows)+1, max(h-1-len(tail), 2))
		cells := make([][]string, len(rows))
		for i, r := range rows {
			cells[i] = []string{r.Name, r.Old, r.New, r.Change}
		}
		out = append(out, strings.Split(table.Render(table.Spec{Theme: th, W: w, H: tableH, Rows: cells, Empty: "no metric changed",
			Columns: []table.Column{{Title: "metric", Width: 0}, {Title: "champion " + format.Version(d.A), Width: 13, Right: true},
				{Title: "new " + format.Version(d.B), Width: 10, Right: true}, {Title: "change", Width: 8}}}), "\n")...)
		return textblock.Lines(append(out, tail...), w, h)
	}
	var wrapped []string
	for _, l := range out {
		wrapped = append(wrapped, textblock.WrapLines(l, w)...)
	}
	return textblock.Lines(wrapped, w, h)
}

// task numbers a status-line update so late ones cannot overwrite newer ones.
func (p *Page) task(t page.TaskMsg) tea.Cmd {
	p.taskSeq++
	t.ID, t.Seq = ID, p.taskSeq
	return page.Emit(t)
}

func (p *Page) guard(action string) string {
	if p.Ctx.Guard == nil {
		return ""
	}
	return p.Ctx.Guard(action)
}

// keyMetrics are always shown in a diff, in this order.
var keyMetrics = []string{"rmse", "mae", "mape", "r2"}

// DiffRows orders a metrics diff for the screen: the key test metrics
// first (test.rmse or rmse…), then the other rows that changed.
func DiffRows(rows []engine.DiffRow) []engine.DiffRow {
	rank := func(name string) int {
		for i, k := range keyMetrics {
			if name == k || name == "test."+k {
				return i
			}
		}
		return len(keyMetrics)
	}
	var key, rest []engine.DiffRow
	for _, r := range rows {
		switch {
		case rank(r.Name) < len(keyMetrics):
			key = append(key, r)
		case r.Old != r.New:
			rest = append(rest, r)
		}
	}
	slices.SortStableFunc(key, func(a, b engine.DiffRow) int { return rank(a.Name) - rank(b.Name) })
	return append(key, rest...)
}
