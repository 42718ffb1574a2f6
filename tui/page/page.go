// Package page defines what a console page is and the messages pages and the
// root model exchange. Pages import this package, never the root, so a new
// page (Runbooks, Market) plugs in without touching the others.
package page

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/keys"
	"carvision/tui/theme"
)

// Page is one screen of the console. Pages are pointers: Update mutates.
type Page interface {
	// ID is the stable name used by routing, commands and the key scope.
	ID() string
	// Title is the name in tabs and the help overlay.
	Title() string
	// Bindings are the page's keys (scope = ID); they join the key table.
	Bindings() []keys.Binding
	// Start is called when the page becomes visible: fetch, subscribe, tick.
	Start() tea.Cmd
	// Stop is called when the page is hidden: stop polling.
	Stop()
	// Update handles messages: ActionMsg from the key table, routed results,
	// broadcasts (SnapshotMsg, EventMsg) and, while Capturing, raw keys.
	Update(msg tea.Msg) tea.Cmd
	// SetSize gives the page its area and the layout mode.
	SetSize(w, h int, compact bool)
	// View renders exactly the area given by SetSize.
	View() string
	// Capturing reports that a text field has focus: printable keys go to
	// the page, only ctrl+c and the page's own handling of esc act globally.
	Capturing() bool
}

// Filterable pages accept the `/` filter.
type Filterable interface {
	SetFilter(text string)
}

// Factory builds a page for a session.
type Factory func(ctx *Context) Page

// Context is what every page of a session shares. The root owns it and may
// change Theme (`:theme`) between updates; pages read it in View.
type Context struct {
	Client   engine.Client // already guarded against read-only mutations
	Theme    *theme.Theme
	Clock    func() time.Time
	Actor    engine.Actor
	Caps     engine.Capabilities
	ReadOnly bool
	Base     context.Context // ends when the console quits
	Timeout  time.Duration   // for one engine call
	Refresh  time.Duration   // page polling interval
	// Guard returns why an action is refused now ("" when allowed); pages
	// use it to grey out actions in their views.
	Guard func(action string) string
}

// Call returns a context for one engine call, bounded by Timeout.
func (c *Context) Call() (context.Context, context.CancelFunc) {
	base := c.Base
	if base == nil {
		base = context.Background()
	}
	t := c.Timeout
	if t <= 0 {
		t = 3 * time.Second
	}
	return context.WithTimeout(base, t)
}

// Now is the session clock.
func (c *Context) Now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock()
}

// Request builds an ActionRequest on behalf of the session's actor.
func (c *Context) Request(reason string) engine.ActionRequest {
	return engine.ActionRequest{Actor: c.Actor, Reason: reason}
}

// Messages from the root to pages.
type (
	// ActionMsg is a key-table action that passed the guard.
	ActionMsg struct {
		Action string
		Arg    string // from the command line, e.g. ":promote 7"
	}
	// SnapshotMsg carries the latest engine snapshot to every page.
	SnapshotMsg struct {
		Snap engine.Snapshot
		Err  error
	}
	// EventMsg carries one engine event to every page.
	EventMsg struct{ Event engine.Event }
)

// Messages from pages to the root.
type (
	// Routed delivers Msg to page To even when it is hidden (async results
	// of a page's own commands).
	Routed struct {
		To  string
		Msg tea.Msg
	}
	// FlashMsg shows a message in the status line.
	FlashMsg struct {
		Level theme.Level
		Text  string
	}
	// TaskMsg starts, updates or ends a task in the status line. Commands
	// run concurrently, so updates may arrive out of order: the root keeps
	// the one with the highest Seq per task.
	TaskMsg struct {
		ID       string
		Seq      int
		Label    string
		Fraction float64 // <0: unknown
		Done     bool
	}
	// ConfirmMsg asks the root to open a typed-confirmation dialog for a
	// dangerous action; OnConfirm's message is routed back to From.
	ConfirmMsg struct {
		From      string
		Action    string
		Title     string
		Lines     []string
		Expect    string // text the operator must type
		AskReason bool
		OnConfirm func(reason string) tea.Msg
	}
	// WindowMsg changes the snapshot window (Monitor's 1m/5m/1h).
	WindowMsg struct{ Window time.Duration }
	// SwitchMsg shows another page.
	SwitchMsg struct{ ID string }
	// CopyMsg copies Text to the operator's clipboard (OSC 52).
	CopyMsg struct {
		What string
		Text string
	}
	// PollMsg asks the root for a snapshot now.
	PollMsg struct{}
)

// OpenRunbookMsg asks the Runbooks page to open runbook ID (sent by the
// Overview on an alert and by `:runbook ID`).
type OpenRunbookMsg struct{ ID string }

// Route wraps a page's async result so it reaches the page while hidden.
func Route(id string, msg tea.Msg) tea.Msg { return Routed{To: id, Msg: msg} }

// Flash returns a command showing a status-line message.
func Flash(l theme.Level, text string) tea.Cmd {
	return func() tea.Msg { return FlashMsg{Level: l, Text: text} }
}

// Emit returns a command producing msg.
func Emit(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// ThemeMsg tells pages the theme changed (`:theme`): rebuild cached styles.
type ThemeMsg struct{}
