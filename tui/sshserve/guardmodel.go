package sshserve

import (
	"fmt"
	"reflect"
	"runtime/debug"

	tea "github.com/charmbracelet/bubbletea"
)

// Bounds of a window size passed to the console: a client may announce any
// size, and a console that renders 100000×100000 cells is a memory bomb.
const (
	maxCols = 1000
	maxRows = 500
)

// panicMsg carries a panic caught in a command's goroutine to the model.
type panicMsg struct {
	value any
	stack []byte
}

// guardModel wraps one session's console: a panic in Init, Update, View or
// a command turns the session into an error screen instead of reaching
// Bubble Tea, whose own catch prints the stack to the server's stdout and
// drops the session without a word.
type guardModel struct {
	inner   tea.Model
	crashed bool
	ref     string
	onPanic func(value any, stack []byte)
}

var cmdType = reflect.TypeOf((tea.Cmd)(nil))

func newGuardModel(inner tea.Model, ref string, onPanic func(any, []byte)) *guardModel {
	return &guardModel{inner: inner, ref: ref, onPanic: onPanic}
}

// Init implements tea.Model.
func (m *guardModel) Init() tea.Cmd {
	var cmd tea.Cmd
	if !m.safely(func() { cmd = m.inner.Init() }) {
		return nil
	}
	return wrapCmd(cmd)
}

// Update implements tea.Model.
func (m *guardModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch v := msg.(type) {
	case panicMsg:
		m.crash(v.value, v.stack)
		return m, nil
	case tea.WindowSizeMsg:
		msg = tea.WindowSizeMsg{Width: clampInt(v.Width, 1, maxCols), Height: clampInt(v.Height, 1, maxRows)}
	}
	if m.crashed {
		if k, ok := msg.(tea.KeyMsg); ok && (k.String() == "q" || k.String() == "ctrl+c") {
			return m, tea.Quit
		}
		return m, nil
	}
	var (
		next tea.Model
		cmd  tea.Cmd
	)
	if !m.safely(func() { next, cmd = m.inner.Update(msg) }) {
		return m, nil
	}
	if next != nil {
		m.inner = next
	}
	return m, wrapCmd(cmd)
}

// View implements tea.Model. Bubble Tea calls View on the event loop's
// goroutine, so recording the crash here is safe.
func (m *guardModel) View() string {
	if !m.crashed {
		var v string
		if m.safely(func() { v = m.inner.View() }) {
			return v
		}
	}
	return fmt.Sprintf("CarVision: this session hit an internal error and stopped.\n\n"+
		"The server and the other sessions are unaffected; the error is logged (ref %s).\n\n"+
		"Press q to disconnect.\n", m.ref)
}

// safely runs f, turning a panic into the error screen; false if it panicked.
func (m *guardModel) safely(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			m.crash(r, debug.Stack())
			ok = false
		}
	}()
	f()
	return true
}

func (m *guardModel) crash(value any, stack []byte) {
	if m.crashed {
		return
	}
	m.crashed = true
	if m.onPanic != nil {
		m.onPanic(value, stack)
	}
}

// wrapCmd makes cmd report a panic as a panicMsg. Batches and sequences
// (any message that is a slice of commands) are wrapped element by element,
// keeping their type so that Bubble Tea still recognises them.
func wrapCmd(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = panicMsg{value: r, stack: debug.Stack()}
			}
		}()
		return wrapMsg(cmd())
	}
}

func wrapMsg(msg tea.Msg) tea.Msg {
	v := reflect.ValueOf(msg)
	if !v.IsValid() || v.Kind() != reflect.Slice || v.Type().Elem() != cmdType {
		return msg
	}
	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	for i := range v.Len() {
		c, _ := v.Index(i).Interface().(tea.Cmd)
		out.Index(i).Set(reflect.ValueOf(wrapCmd(c)))
	}
	return out.Interface()
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
