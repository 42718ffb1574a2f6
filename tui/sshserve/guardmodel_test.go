package sshserve

import (
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// bomb panics where told to.
type bomb struct {
	in, update, view bool
	cmd              tea.Cmd
	got              []tea.Msg
}

func (b *bomb) Init() tea.Cmd {
	if b.in {
		panic("init")
	}
	return b.cmd
}

func (b *bomb) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if b.update {
		panic("update")
	}
	b.got = append(b.got, msg)
	return b, b.cmd
}

func (b *bomb) View() string {
	if b.view {
		panic("view")
	}
	return "fine"
}

func TestGuardModelPanics(t *testing.T) {
	cases := []struct {
		name string
		b    *bomb
		act  func(m *guardModel)
	}{
		{"init", &bomb{in: true}, func(m *guardModel) { m.Init() }},
		{"update", &bomb{update: true}, func(m *guardModel) { m.Update(tea.KeyMsg{Type: tea.KeyEnter}) }},
		{"view", &bomb{view: true}, func(m *guardModel) { m.View() }},
		{"command", &bomb{cmd: func() tea.Msg { panic("cmd") }}, func(m *guardModel) {
			_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
			m.Update(cmd())
		}},
		{"command in a batch", &bomb{cmd: tea.Batch(func() tea.Msg { return nil }, func() tea.Msg { panic("batch") })}, func(m *guardModel) {
			_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
			batch := cmd().(tea.BatchMsg)
			m.Update(batch[1]())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var panics []any
			m := newGuardModel(tc.b, "ref123", func(v any, stack []byte) {
				if len(stack) == 0 {
					t.Error("no stack")
				}
				panics = append(panics, v)
			})
			tc.act(m)
			if len(panics) != 1 {
				t.Fatalf("panics reported = %v, want 1", panics)
			}
			v := m.View()
			if !strings.Contains(v, "internal error") || !strings.Contains(v, "ref123") {
				t.Errorf("view after panic = %q", v)
			}
			if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")}); cmd != nil {
				t.Error("a key other than q did something on the error screen")
			}
			_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
			if cmd == nil || !reflect.DeepEqual(cmd(), tea.Quit()) {
				t.Error("q does not quit the error screen")
			}
		})
	}
}

func TestGuardModelPassesThroughAndClamps(t *testing.T) {
	two := []tea.Cmd{func() tea.Msg { return "one" }, func() tea.Msg { return "two" }}
	b := &bomb{cmd: tea.Sequence(two...)}
	m := newGuardModel(b, "r", nil)
	_, cmd := m.Update(tea.WindowSizeMsg{Width: 100000, Height: 0})
	if got := b.got[0]; got != (tea.WindowSizeMsg{Width: maxCols, Height: 1}) {
		t.Errorf("size passed on = %v", got)
	}
	if m.View() != "fine" {
		t.Errorf("view = %q", m.View())
	}
	// A sequence keeps its (unexported) type, so Bubble Tea still runs it in
	// order, and its commands are wrapped.
	seq := tea.Sequence(two...)()
	got := cmd()
	if reflect.TypeOf(got) != reflect.TypeOf(seq) {
		t.Fatalf("wrapped sequence has type %T, want %T", got, seq)
	}
	inner := reflect.ValueOf(got).Index(0).Interface().(tea.Cmd)
	if inner() != "one" {
		t.Error("wrapped command lost its message")
	}
	if wrapCmd(nil) != nil {
		t.Error("nil command wrapped into a non-nil one")
	}
}
