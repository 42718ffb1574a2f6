package tui

import (
	"fmt"
	"strings"

	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/layout"
	"carvision/tui/textblock"
	"carvision/tui/theme"
	"carvision/tui/verdict"
)

// View implements tea.Model: exactly w×h cells, whatever the state.
func (m *Model) View() string {
	if m.quit {
		return ""
	}
	f := m.frame()
	if f.W == 0 || f.H == 0 {
		return ""
	}
	if f.Mode == layout.TooSmall {
		return layout.TooSmallText(f.W, f.H)
	}
	th := m.ctx.Theme
	parts := make([]string, 0, 5)
	parts = append(parts, m.header(f))
	if !f.Tabs.Empty() {
		parts = append(parts, m.tabs(f.W))
	}
	var body string
	switch {
	case m.dialog != nil:
		body = m.dialog.View(th, f.Body.W, f.Body.H)
	case m.help:
		body = m.helpView(f.Body.W, f.Body.H)
	default:
		body = m.activePage().View()
	}
	parts = append(parts, textblock.Block(body, f.Body.W, f.Body.H))
	if !f.Hints.Empty() {
		parts = append(parts, m.hints(f.W))
	}
	parts = append(parts, m.status(f.W))
	return strings.Join(parts, "\n")
}

func (m *Model) header(f layout.Frame) string {
	th := m.ctx.Theme
	s := m.snap
	lvl, word := verdict.Health(s.Health, m.snapErr)
	if !m.haveSnap && m.snapErr == nil {
		lvl, word = theme.LevelMuted, "connecting"
	}
	sep := th.Muted.Render(" " + th.Sym.Sep + " ")
	items := []string{th.State(lvl, word)}
	if m.haveSnap {
		v := "model " + format.Version(s.Model.Version)
		if s.Model.Alias != "" && f.Mode == layout.Full {
			v += " " + s.Model.Alias
		}
		items = append(items, th.Text.Render(v))
		if f.Mode == layout.Full {
			items = append(items, th.Muted.Render("up ")+format.Duration(format.Seconds(s.Health.UptimeSeconds)))
		}
		rps := 0.0
		if len(s.Latency) > 0 {
			rps = s.Latency[0].RPS
		}
		items = append(items, format.Rate(rps))
		firing, pending := 0, 0
		for _, a := range s.Alerts {
			switch a.State {
			case "firing":
				firing++
			case "pending":
				pending++
			}
		}
		switch {
		case firing > 0:
			items = append(items, th.State(theme.LevelBad, fmt.Sprintf("%d firing", firing)))
		case pending > 0:
			items = append(items, th.State(theme.LevelWarn, fmt.Sprintf("%d pending", pending)))
		default:
			items = append(items, th.State(theme.LevelOK, "no alerts"))
		}
	}
	left := strings.Join(items, sep)
	if f.Mode == layout.Full {
		left = th.Title.Render("CarVision") + "  " + left
	}
	var flags []string
	if m.haveSnap && s.Demo {
		flags = append(flags, th.Info.Render("demo"))
	}
	if m.policy.IsReadOnly() {
		flags = append(flags, th.Warn.Render("read-only"))
	}
	if f.Mode != layout.Full {
		p := m.activePage()
		flags = append(flags, th.TabActive.Render(tabLabel(th, m.keyOf[p.ID()], p.Title())))
	}
	right := strings.Join(flags, " ")
	return joinEnds(" "+left, right+" ", f.W)
}

// joinEnds puts left and right on one line of w cells; left is cut first.
func joinEnds(left, right string, w int) string {
	rw := textblock.Width(right)
	if rw >= w {
		return textblock.Fit(right, w)
	}
	return textblock.Fit(textblock.Cut(left, w-rw-1), w-rw) + right
}

func tabLabel(th *theme.Theme, key, title string) string {
	if th.Plain {
		return "[" + key + " " + title + "]"
	}
	return " " + key + " " + title + " "
}

// tabSpans are the x ranges of the tabs, for mouse clicks.
func (m *Model) tabSpans() [][2]int {
	x := 1
	out := make([][2]int, len(m.pages))
	for i, p := range m.pages {
		w := textblock.Width(tabLabel(m.ctx.Theme, m.keyOf[p.ID()], p.Title()))
		out[i] = [2]int{x, x + w}
		x += w + 1
	}
	return out
}

func (m *Model) tabs(w int) string {
	th := m.ctx.Theme
	var b strings.Builder
	b.WriteString(" ")
	for i, p := range m.pages {
		label := tabLabel(th, m.keyOf[p.ID()], p.Title())
		if i == m.active {
			b.WriteString(th.TabActive.Render(label))
		} else if th.Plain {
			b.WriteString(" " + m.keyOf[p.ID()] + " " + p.Title() + " ")
		} else {
			b.WriteString(th.Key.Render(" "+m.keyOf[p.ID()]) + th.TabIdle.Render(" "+p.Title()+" "))
		}
		b.WriteString(" ")
	}
	if filter := m.filters[m.activePage().ID()]; filter != "" {
		b.WriteString(th.Muted.Render(" filter /") + th.Accent.Render(filter))
	}
	return textblock.Fit(b.String(), w)
}

// hints is the key-hint line: generated from the key table, the active
// page's hinted keys first; refused actions are greyed with no key colour.
func (m *Model) hints(w int) string {
	th := m.ctx.Theme
	if m.cmdline.IsOpen() {
		return m.cmdline.View(th, w)
	}
	if m.filter.IsOpen() {
		return m.filter.View(th, w)
	}
	if m.dialog != nil {
		return textblock.Fit(" "+th.Key.Render("enter")+th.Muted.Render(" confirm  ")+th.Key.Render("tab")+th.Muted.Render(" next field  ")+th.Key.Render("esc")+th.Muted.Render(" cancel"), w)
	}
	if m.help {
		return textblock.Fit(" "+th.Key.Render("j/k")+th.Muted.Render(" scroll  ")+th.Key.Render("esc")+th.Muted.Render(" close"), w)
	}
	p := m.activePage()
	var items []string
	if p.Capturing() {
		items = append(items, th.Key.Render("esc")+" "+th.Muted.Render("leave field"), th.Key.Render("ctrl+c")+" "+th.Muted.Render("quit"))
	} else {
		for _, b := range m.table.Hints(keys.Scope(p.ID())) {
			label := b.Keys[0]
			if m.policy.Why(b) != "" {
				items = append(items, th.Muted.Render(label+" "+b.Short+" (off)"))
				continue
			}
			items = append(items, th.Key.Render(label)+" "+th.Muted.Render(b.Short))
		}
		if len(m.pages) > 1 {
			items = append(items, th.Key.Render(fmt.Sprintf("%s-%s", m.keyOf[m.pages[0].ID()], m.keyOf[m.pages[len(m.pages)-1].ID()]))+" "+th.Muted.Render("pages"))
		}
	}
	// Fill the line with as many hints as fit, in order of importance.
	line := ""
	for _, it := range items {
		next := line
		if next != "" {
			next += "  "
		}
		next += it
		if textblock.Width(next)+1 > w {
			break
		}
		line = next
	}
	return textblock.Fit(" "+line, w)
}

// status shows the flash on the left and running tasks on the right.
func (m *Model) status(w int) string {
	th := m.ctx.Theme
	left := ""
	switch {
	case m.askQuit:
		left = th.State(theme.LevelWarn, "a retrain is running: quit anyway? y/q quits (the run stops), any other key stays")
	case m.flash.text != "":
		left = th.State(m.flash.level, m.flash.text)
	case m.haveSnap:
		left = th.Muted.Render(fmt.Sprintf("window %s · updated %s", format.Window(m.snap.Window), format.Clock(m.snap.At)))
	}
	var right []string
	for _, t := range m.tasks {
		if t.done {
			right = append(right, th.State(theme.LevelOK, t.id+" finished"))
			continue
		}
		label := t.label
		if label == "" {
			label = t.id
		}
		right = append(right, th.Accent.Render(m.spin.View())+" "+label)
	}
	return joinEnds(" "+left, strings.Join(right, "  ")+" ", w)
}

// helpView lists this page's keys, then navigation and global keys, all
// from the key table; refused actions say why.
func (m *Model) helpView(w, h int) string {
	lines := m.helpLines(w)
	m.helpCur.SetN(len(lines))
	m.helpCur.SetH(h)
	end := min(m.helpCur.Offset+h, len(lines))
	return textblock.Lines(lines[m.helpCur.Offset:end], w, h)
}

func (m *Model) helpLines(w int) []string {
	th := m.ctx.Theme
	p := m.activePage()
	var out []string
	section := func(title string, bs []keys.Binding) {
		if len(bs) == 0 {
			return
		}
		out = append(out, th.Rulef(w, title))
		for _, b := range bs {
			label := fmt.Sprintf("  %-16s ", b.Label())
			desc := b.Help
			if b.Confirm {
				desc += " " + th.Warn.Render("★")
			}
			if why := m.policy.Why(b); why != "" {
				out = append(out, textblock.Cut(th.Muted.Render(label+b.Help+" — "+why), w))
				continue
			}
			out = append(out, textblock.Cut(th.Key.Render(label)+desc, w))
		}
		out = append(out, "")
	}
	var global, pages []keys.Binding
	for _, b := range m.table.Scope(keys.Global) {
		if strings.HasPrefix(b.Action, "goto.") {
			pages = append(pages, b)
		} else {
			global = append(global, b)
		}
	}
	section("This page: "+p.Title(), m.table.Scope(keys.Scope(p.ID())))
	section("Global", global)
	section("Lists", m.table.Scope(keys.Nav))
	section("Pages", pages)
	out = append(out, th.Muted.Render("  ★ typed confirmation · commands: "+strings.Join(m.commandNames(), " :")))
	return out
}

func (m *Model) commandNames() []string {
	var out []string
	for _, c := range m.commands() {
		out = append(out, c.name)
	}
	out[0] = ":" + out[0]
	return out
}

// KeyDocs renders the session's whole key table as Markdown (the source
// of tui/KEYBINDINGS.md).
func (m *Model) KeyDocs() string {
	titles := map[keys.Scope]string{keys.Global: "Global", keys.Nav: "Lists"}
	for _, p := range m.pages {
		titles[keys.Scope(p.ID())] = p.Title() + " page"
	}
	return m.table.Markdown(titles)
}
