package tui

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/confirm"
	"carvision/tui/components/prompt"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/guard"
	"carvision/tui/keys"
	"carvision/tui/layout"
	"carvision/tui/page"
	"carvision/tui/theme"
)

const (
	flashFor     = 6 * time.Second // flashes clear after this
	taskLinger   = 2 * time.Second // finished tasks stay visible this long
	maxBackStack = 20
)

// Model is the console's root model: frame, dispatch, data flow.
type Model struct {
	opts   Options
	client engine.Client
	ctx    *page.Context
	cancel context.CancelFunc
	policy guard.Policy
	table  *keys.Table
	pages  []page.Page
	keyOf  map[string]string // page id → number key
	active int
	back   []int

	w, h      int
	hideHints bool

	snap     engine.Snapshot
	snapErr  error
	haveSnap bool
	seq      int // last poll sent
	applied  int // last poll applied
	polling  bool
	window   time.Duration

	flash    flash
	tasks    []task
	spin     spinner.Model
	spinning bool

	help    bool
	helpCur table.Cursor
	cmdline *prompt.Prompt
	filter  *prompt.Prompt
	filters map[string]string
	dialog  *confirm.Dialog
	askQuit bool
	quit    bool
	known   []string // model versions, for `:promote` completion
}

type flash struct {
	level theme.Level
	text  string
	at    time.Time
}

type task struct {
	id, label string
	seq       int
	frac      float64
	done      bool
	at        time.Time
}

// Internal messages.
type (
	tickMsg     struct{}
	snapshotMsg struct {
		seq  int
		snap engine.Snapshot
		err  error
	}
	eventsMsg struct {
		ch  <-chan engine.Event
		err error
	}
	eventMsg struct {
		ch <-chan engine.Event
		e  engine.Event
		ok bool
	}
	noticeMsg struct {
		text string
		ok   bool
	}
	demoMsg struct {
		on  bool
		err error
	}
	copiedMsg struct {
		what string
		err  error
	}
	resubscribeMsg struct{}
	versionsMsg    []string
)

func newModel(client engine.Client, opts Options) (*Model, error) {
	opts.defaults()
	th, err := theme.New(opts.Theme, opts.Renderer)
	if err != nil {
		return nil, err
	}
	caps := client.Capabilities()
	policy := guard.Policy{ReadOnly: opts.ReadOnly, Actor: opts.Actor, Caps: caps}
	base, cancel := context.WithCancel(opts.Context)
	m := &Model{opts: opts, client: client, cancel: cancel, policy: policy, keyOf: map[string]string{},
		window: 5 * time.Minute, filters: map[string]string{}}
	m.ctx = &page.Context{Client: guard.Client(client, policy), Theme: th, Clock: opts.Clock, Actor: opts.Actor,
		Caps: caps, ReadOnly: policy.IsReadOnly(), Base: base, Timeout: opts.Timeout, Refresh: opts.Refresh}
	groups := [][]keys.Binding{keys.GlobalBindings(), keys.NavBindings()}
	var gotos []keys.Binding
	for _, e := range Registry {
		p := e.New(m.ctx)
		m.pages = append(m.pages, p)
		m.keyOf[p.ID()] = e.Key
		gotos = append(gotos, keys.GotoBinding(e.Key, p.ID(), p.Title()))
		groups = append(groups, p.Bindings())
	}
	groups = append(groups, gotos)
	t, err := keys.NewTable(groups...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("key table: %w", err)
	}
	m.table = t
	m.ctx.Guard = func(action string) string {
		if b, ok := t.Action(action); ok {
			return policy.Why(b)
		}
		return ""
	}
	m.cmdline = prompt.New(th, ":", m.complete)
	m.filter = prompt.New(th, "/", nil)
	m.spin = spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(th.Accent))
	if opts.Width > 0 && opts.Height > 0 {
		m.resize(opts.Width, opts.Height)
	}
	return m, nil
}

// Table is the session's key table (global, navigation and page bindings).
func (m *Model) Table() *keys.Table { return m.table }

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.poll(), m.tick(), m.subscribe(), m.waitNotice(), m.pages[m.active].Start()}
	if m.opts.Demo {
		cmds = append(cmds, m.setDemo(true))
	}
	return tea.Batch(cmds...)
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *Model) poll() tea.Cmd {
	if m.polling {
		return nil
	}
	m.polling = true
	m.seq++
	seq, c, win, timeout, base := m.seq, m.client, m.window, m.opts.Timeout, m.ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		s, err := c.Snapshot(ctx, win)
		return snapshotMsg{seq: seq, snap: s, err: err}
	}
}

func (m *Model) subscribe() tea.Cmd {
	c, base := m.client, m.ctx.Base
	return func() tea.Msg {
		ch, err := c.Events(base)
		return eventsMsg{ch: ch, err: err}
	}
}

func waitEvent(ch <-chan engine.Event) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		return eventMsg{ch: ch, e: e, ok: ok}
	}
}

func (m *Model) waitNotice() tea.Cmd {
	ch := m.opts.Notices
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		t, ok := <-ch
		return noticeMsg{text: t, ok: ok}
	}
}

func (m *Model) setDemo(on bool) tea.Cmd {
	c, base, timeout := m.client, m.ctx.Base, m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		return demoMsg{on: on, err: c.SetDemo(ctx, on)}
	}
}

func (m *Model) setFlash(l theme.Level, text string) {
	m.flash = flash{level: l, text: text, at: m.opts.Clock()}
}

func (m *Model) resize(w, h int) {
	m.w, m.h = w, h
	f := m.frame()
	for _, p := range m.pages {
		p.SetSize(f.Body.W, f.Body.H, f.Mode != layout.Full)
	}
	m.helpCur.SetH(max(f.Body.H-2, 1))
}

func (m *Model) frame() layout.Frame {
	return layout.Compute(m.w, m.h, layout.State{HideHints: m.hideHints})
}

func (m *Model) activePage() page.Page { return m.pages[m.active] }

func (m *Model) pageIndex(id string) int {
	return slices.IndexFunc(m.pages, func(p page.Page) bool { return p.ID() == id })
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case tickMsg:
		m.expire()
		return m, tea.Batch(m.tick(), m.poll())
	case snapshotMsg:
		m.polling = false
		if msg.seq < m.applied {
			return m, nil // a slower, older poll: keep the newer picture
		}
		m.applied = msg.seq
		if msg.err != nil && m.snapErr == nil {
			m.setFlash(theme.LevelBad, "snapshot: "+msg.err.Error())
		}
		m.snapErr = msg.err
		if msg.err == nil {
			m.snap, m.haveSnap = msg.snap, true
		}
		return m, m.broadcast(page.SnapshotMsg{Snap: msg.snap, Err: msg.err})
	case eventsMsg:
		if msg.err != nil {
			m.setFlash(theme.LevelWarn, "event stream: "+msg.err.Error()+" (retrying)")
			return m, tea.Tick(5*time.Second, func(time.Time) tea.Msg { return resubscribeMsg{} })
		}
		return m, waitEvent(msg.ch)
	case resubscribeMsg:
		return m, m.subscribe()
	case eventMsg:
		if !msg.ok {
			if m.ctx.Base.Err() != nil {
				return m, nil
			}
			return m, tea.Tick(5*time.Second, func(time.Time) tea.Msg { return resubscribeMsg{} })
		}
		if msg.e.Actor != "" && msg.e.Actor != m.opts.Actor.Name {
			m.setFlash(theme.LevelInfo, msg.e.Actor+": "+msg.e.Message)
		}
		return m, tea.Batch(waitEvent(msg.ch), m.broadcast(page.EventMsg{Event: msg.e}), m.poll())
	case noticeMsg:
		if !msg.ok {
			return m, nil
		}
		m.setFlash(theme.LevelInfo, msg.text)
		return m, m.waitNotice()
	case demoMsg:
		if msg.err != nil {
			m.setFlash(theme.LevelBad, "demo: "+msg.err.Error())
			return m, nil
		}
		m.setFlash(theme.LevelInfo, "demo traffic "+format.OnOff(msg.on))
		return m, m.poll()
	case copiedMsg:
		if msg.err != nil {
			m.setFlash(theme.LevelBad, "copy: "+msg.err.Error())
		} else {
			m.setFlash(theme.LevelOK, "copied "+msg.what+" to the clipboard (OSC 52)")
		}
		return m, nil
	case spinner.TickMsg:
		if !m.running() {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case versionsMsg:
		m.known = msg
		return m, nil
	case page.Routed:
		if i := m.pageIndex(msg.To); i >= 0 {
			return m, m.pages[i].Update(msg.Msg)
		}
		return m, nil
	case page.FlashMsg:
		m.setFlash(msg.Level, msg.Text)
		return m, nil
	case page.TaskMsg:
		return m, m.task(msg)
	case page.ConfirmMsg:
		b, _ := m.table.Action(msg.Action)
		if why := m.policy.Why(b); why != "" {
			m.setFlash(theme.LevelWarn, why)
			return m, nil
		}
		m.dialog = confirm.New(m.ctx.Theme, msg)
		return m, nil
	case page.WindowMsg:
		m.window = msg.Window
		m.polling = false // the answer of the old window no longer matters
		return m, m.poll()
	case page.PollMsg:
		m.polling = false
		return m, m.poll()
	case page.SwitchMsg:
		return m, m.switchTo(m.pageIndex(msg.ID), true)
	case page.CopyMsg:
		clip, what, text := m.opts.Clipboard, msg.What, msg.Text
		return m, func() tea.Msg { return copiedMsg{what: what, err: clip(text)} }
	case page.OpenRunbookMsg:
		i := m.pageIndex("runbooks")
		if i < 0 {
			m.setFlash(theme.LevelInfo, "runbook "+msg.ID+": the Runbooks page is not installed yet")
			return m, nil
		}
		return m, tea.Batch(m.switchTo(i, true), m.pages[i].Update(msg))
	}
	// Anything else (e.g. huh's internal messages) belongs to the visible page.
	return m, m.activePage().Update(msg)
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.pages))
	for _, p := range m.pages {
		cmds = append(cmds, p.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) running() bool {
	return slices.ContainsFunc(m.tasks, func(t task) bool { return !t.done })
}

func (m *Model) task(msg page.TaskMsg) tea.Cmd {
	now := m.opts.Clock()
	i := slices.IndexFunc(m.tasks, func(t task) bool { return t.id == msg.ID })
	if i < 0 {
		m.tasks = append(m.tasks, task{id: msg.ID})
		i = len(m.tasks) - 1
	}
	t := &m.tasks[i]
	if msg.Seq < t.seq {
		return nil // an older update that lost the race
	}
	t.seq = msg.Seq
	if msg.Label != "" {
		t.label = msg.Label
	}
	t.frac, t.done, t.at = msg.Fraction, msg.Done, now
	if m.running() && !m.spinning {
		m.spinning = true
		return m.spin.Tick
	}
	return nil
}

// expire clears old flashes and finished tasks (by the session clock).
func (m *Model) expire() {
	now := m.opts.Clock()
	if m.flash.text != "" && now.Sub(m.flash.at) > flashFor {
		m.flash = flash{}
	}
	m.tasks = slices.DeleteFunc(m.tasks, func(t task) bool { return t.done && now.Sub(t.at) > taskLinger })
}

// switchTo shows page i; push records the current page for esc.
func (m *Model) switchTo(i int, push bool) tea.Cmd {
	if i < 0 || i == m.active {
		return nil
	}
	m.pages[m.active].Stop()
	if push {
		m.back = append(m.back, m.active)
		if len(m.back) > maxBackStack {
			m.back = m.back[1:]
		}
	}
	m.active = i
	m.help = false
	f := m.frame()
	p := m.pages[i]
	p.SetSize(f.Body.W, f.Body.H, f.Mode != layout.Full)
	var cmds []tea.Cmd
	cmds = append(cmds, p.Start())
	if m.haveSnap {
		cmds = append(cmds, p.Update(page.SnapshotMsg{Snap: m.snap}))
	}
	return tea.Batch(cmds...)
}

// Close releases the session's streams (SSH sessions call it on exit; Run
// does it on quit).
func (m *Model) Close() { m.cancel() }
