package tui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"carvision/engine"
	"carvision/tui/theme"
)

// Bootstrap draws the first training's progress full-screen: the console
// has nothing to show until a champion exists. It returns when the last
// event (Done) arrives, when the channel closes, or when the operator
// presses ctrl+c (ctx's cancel is then called so the pipeline stops).
func Bootstrap(ctx context.Context, cancel context.CancelFunc, source string, events <-chan engine.PipelineEvent, themeName string) error {
	r := lipgloss.NewRenderer(os.Stdout)
	th, err := theme.New(themeName, r)
	if err != nil {
		th, _ = theme.New("", r)
	}
	m := &bootModel{events: events, th: th, source: source, cancel: cancel, start: time.Now()}
	_, err = tea.NewProgram(m, tea.WithContext(ctx), tea.WithAltScreen()).Run()
	if m.interrupted {
		return context.Canceled
	}
	return err
}

type bootEventMsg struct {
	ev engine.PipelineEvent
	ok bool
}

type bootStage struct {
	name, status, msg string
}

type bootModel struct {
	events      <-chan engine.PipelineEvent
	th          *theme.Theme
	source      string
	cancel      context.CancelFunc
	start       time.Time
	stages      []bootStage
	cur         engine.PipelineEvent
	w, h        int
	interrupted bool
}

func (m *bootModel) wait() tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-m.events
		return bootEventMsg{ev, ok}
	}
}

func (m *bootModel) Init() tea.Cmd { return m.wait() }

func (m *bootModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	case tea.KeyMsg:
		if msg.String() == "ctrl+c" {
			m.interrupted = true
			if m.cancel != nil {
				m.cancel()
			}
			return m, tea.Quit
		}
	case bootEventMsg:
		if !msg.ok || msg.ev.Done {
			return m, tea.Quit
		}
		m.cur = msg.ev
		m.note(msg.ev)
		return m, m.wait()
	}
	return m, nil
}

// note records a stage's latest status, in the order stages first appear.
func (m *bootModel) note(ev engine.PipelineEvent) {
	for i := range m.stages {
		if m.stages[i].name == ev.Stage {
			m.stages[i].status, m.stages[i].msg = ev.Status, ev.Message
			return
		}
	}
	m.stages = append(m.stages, bootStage{name: ev.Stage, status: ev.Status, msg: ev.Message})
}

func (m *bootModel) View() string {
	th := m.th
	w := m.w
	if w <= 0 {
		w = 80
	}
	var b strings.Builder
	b.WriteString(th.Title.Render("CarVision") + th.Muted.Render(" · training the first model (no champion yet)") + "\n")
	b.WriteString(th.Muted.Render("data: "+m.source) + "\n\n")
	for _, s := range m.stages {
		lvl, word := theme.LevelMuted, s.status
		switch s.status {
		case "done", "skipped":
			lvl = theme.LevelOK
		case "failed":
			lvl = theme.LevelBad
		case "running":
			lvl = theme.LevelInfo
		}
		b.WriteString(fmt.Sprintf("  %s %-9s %s\n", th.State(lvl, fmt.Sprintf("%-7s", word)), s.name, th.Muted.Render(truncate(s.msg, max(10, w-24)))))
	}
	bw := max(10, min(50, w-30))
	b.WriteString("\n  " + th.Bar(m.cur.Fraction, bw, th.Accent) + fmt.Sprintf(" %3.0f%%", 100*m.cur.Fraction))
	if m.cur.ETA > 0 {
		b.WriteString(th.Muted.Render(fmt.Sprintf("  ETA %s", m.cur.ETA.Round(100*time.Millisecond))))
	}
	b.WriteString(th.Muted.Render(fmt.Sprintf("  elapsed %s", time.Since(m.start).Round(100*time.Millisecond))) + "\n\n")
	b.WriteString(th.Muted.Render("  The console opens when the model is registered and promoted.  ctrl+c stops.") + "\n")
	return b.String()
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
