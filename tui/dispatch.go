package tui

import (
	"context"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/components/confirm"
	"carvision/tui/components/prompt"
	"carvision/tui/components/table"
	"carvision/tui/keys"
	"carvision/tui/layout"
	"carvision/tui/page"
	"carvision/tui/theme"
)

// key dispatches one key: quit confirmation → dialog → prompts → help →
// a capturing page → the key table (page, navigation, global).
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	s := k.String()
	if m.askQuit {
		m.askQuit = false
		if s == "q" || s == "y" || s == "ctrl+c" {
			return m.doQuit()
		}
		m.setFlash(theme.LevelInfo, "still here")
		return nil
	}
	if s == "ctrl+c" {
		return m.quitOrAsk()
	}
	if m.dialog != nil {
		out, cmd := m.dialog.Update(k)
		switch out {
		case confirm.Cancelled:
			m.setFlash(theme.LevelInfo, m.dialog.Req.Title+": cancelled")
			m.dialog = nil
		case confirm.Confirmed:
			req, reason := m.dialog.Req, m.dialog.Reason()
			m.dialog = nil
			b, _ := m.table.Action(req.Action)
			if why := m.policy.Why(b); why != "" { // rights may have changed while typing
				m.setFlash(theme.LevelWarn, why)
				return nil
			}
			return page.Emit(page.Route(req.From, req.OnConfirm(reason)))
		}
		return cmd
	}
	if m.cmdline.IsOpen() {
		res, cmd := m.cmdline.Update(k)
		if res == prompt.Submitted {
			return tea.Batch(cmd, m.runCommand(m.cmdline.Value()))
		}
		return cmd
	}
	if m.filter.IsOpen() {
		return m.filterKey(k)
	}
	if m.help {
		return m.helpKey(k)
	}
	p := m.activePage()
	if p.Capturing() {
		return p.Update(k)
	}
	// Bubble Tea delivers fast typing as one message of several runes;
	// as commands each rune is its own key ("jd" is j, then d).
	if k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		var cmds []tea.Cmd
		for _, r := range k.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
		}
		return tea.Batch(cmds...)
	}
	if m.frame().Mode == layout.TooSmall && s != "q" {
		return nil
	}
	b, ok := m.table.Lookup(keys.Scope(p.ID()), s)
	if !ok {
		return nil
	}
	return m.run(b, "")
}

// run performs one action after the guard: the one place read-only and
// missing capabilities are refused, for keys and commands alike.
func (m *Model) run(b keys.Binding, arg string) tea.Cmd {
	if why := m.policy.Why(b); why != "" {
		m.setFlash(theme.LevelWarn, why)
		return nil
	}
	if id, ok := strings.CutPrefix(b.Action, "goto."); ok {
		return m.switchTo(m.pageIndex(id), true)
	}
	switch b.Action {
	case keys.Help:
		m.help = true
		m.helpCur = table.Cursor{}
		return nil
	case keys.Command:
		return tea.Batch(m.cmdline.Open(""), m.fetchVersions())
	case keys.Filter:
		if _, ok := m.activePage().(page.Filterable); !ok {
			m.setFlash(theme.LevelInfo, "nothing to filter on "+m.activePage().Title())
			return nil
		}
		return m.filter.Open(m.filters[m.activePage().ID()])
	case keys.Back:
		return m.goBack()
	case keys.Quit:
		return m.quitOrAsk()
	case keys.NextPage, keys.PrevPage:
		d := 1
		if b.Action == keys.PrevPage {
			d = len(m.pages) - 1
		}
		return m.switchTo((m.active+d)%len(m.pages), true)
	case keys.LastPage:
		if len(m.back) == 0 {
			return nil
		}
		return m.switchTo(m.back[len(m.back)-1], true)
	case keys.Hints:
		m.hideHints = !m.hideHints
		m.resize(m.w, m.h)
		return nil
	case keys.Refresh:
		m.polling = false
		return tea.Batch(m.poll(), m.activePage().Start())
	case keys.Demo:
		return m.setDemo(!m.snap.Demo)
	}
	return m.activePage().Update(page.ActionMsg{Action: b.Action, Arg: arg})
}

func (m *Model) goBack() tea.Cmd {
	if f, ok := m.activePage().(page.Filterable); ok && m.filters[m.activePage().ID()] != "" {
		delete(m.filters, m.activePage().ID())
		f.SetFilter("")
		return nil
	}
	if b, ok := m.activePage().(page.Backer); ok && b.Back() {
		return nil
	}
	if len(m.back) == 0 {
		return nil
	}
	prev := m.back[len(m.back)-1]
	m.back = m.back[:len(m.back)-1]
	return m.switchTo(prev, false)
}

func (m *Model) quitOrAsk() tea.Cmd {
	if slices.ContainsFunc(m.tasks, func(t task) bool { return !t.done && t.id == "retrain" }) {
		m.askQuit = true
		return nil
	}
	return m.doQuit()
}

func (m *Model) doQuit() tea.Cmd {
	m.quit = true
	m.cancel()
	return tea.Quit
}

func (m *Model) filterKey(k tea.KeyMsg) tea.Cmd {
	res, cmd := m.filter.Update(k)
	p := m.activePage()
	f, _ := p.(page.Filterable)
	switch res {
	case prompt.Changed, prompt.Submitted:
		m.filters[p.ID()] = m.filter.Value()
		if f != nil {
			f.SetFilter(m.filter.Value())
		}
	case prompt.Cancelled:
		delete(m.filters, p.ID())
		if f != nil {
			f.SetFilter("")
		}
	}
	return cmd
}

func (m *Model) helpKey(k tea.KeyMsg) tea.Cmd {
	switch k.String() {
	case "esc", "?", "q":
		m.help = false
		return nil
	}
	if b, ok := m.table.Lookup(keys.Nav, k.String()); ok {
		m.helpCur.Nav(b.Action)
	}
	return nil
}

// mouse: the wheel scrolls the focused list, a click on a tab switches page.
func (m *Model) mouse(ev tea.MouseMsg) tea.Cmd {
	if !m.opts.Mouse || m.dialog != nil || m.cmdline.IsOpen() {
		return nil
	}
	switch {
	case ev.Button == tea.MouseButtonWheelUp:
		return m.activePage().Update(page.ActionMsg{Action: keys.Up})
	case ev.Button == tea.MouseButtonWheelDown:
		return m.activePage().Update(page.ActionMsg{Action: keys.Down})
	case ev.Action == tea.MouseActionRelease && ev.Button == tea.MouseButtonLeft:
		f := m.frame()
		if f.Mode == layout.Full && ev.Y == f.Tabs.Y {
			for i, span := range m.tabSpans() {
				if ev.X >= span[0] && ev.X < span[1] {
					return m.switchTo(i, true)
				}
			}
		}
	}
	return nil
}

// fetchVersions refreshes the versions `:promote` completes.
func (m *Model) fetchVersions() tea.Cmd {
	if !m.policy.Caps.Store {
		return nil
	}
	c, base, timeout := m.client, m.ctx.Base, m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		vs, err := c.Models(ctx)
		if err != nil {
			return nil
		}
		out := make(versionsMsg, len(vs))
		for i, v := range vs {
			out[i] = v.Version
		}
		return out
	}
}
