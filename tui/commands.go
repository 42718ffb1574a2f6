package tui

import (
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/pages/config"
	"carvision/tui/pages/models"
	"carvision/tui/pages/predict"
	"carvision/tui/pages/retrain"
	"carvision/tui/theme"
)

// command is one `:` command. Commands that change state name the action of
// the key table, so the same guard decides for keys and commands.
type command struct {
	name    string
	aliases []string
	help    string
	args    func(m *Model) []string
	run     func(m *Model, arg string) tea.Cmd
}

// commands lists the `:` commands: actions first (so `:runbook latency`
// opens the runbook even when a page is also called "runbook"), then every
// page by id and aliases.
func (m *Model) commands() []command {
	var out []command
	action := func(pageID, action string) func(m *Model, arg string) tea.Cmd {
		return func(m *Model, arg string) tea.Cmd {
			b, ok := m.table.Action(action)
			if !ok {
				return nil
			}
			if why := m.policy.Why(b); why != "" {
				m.setFlash(theme.LevelWarn, why)
				return nil
			}
			// switchTo is synchronous, so run reaches the page just shown.
			return tea.Batch(m.switchTo(m.pageIndex(pageID), true), m.run(b, arg))
		}
	}
	out = append(out,
		command{name: "promote", help: "promote a version: :promote 7", args: (*Model).versions, run: action(models.ID, models.Promote)},
		command{name: "rollback", help: "roll the champion back", run: action(models.ID, models.Rollback)},
		command{name: "reload", help: "re-read config.yaml", run: action(config.ID, config.Reload)},
		command{name: "theme", help: "switch theme: :theme mono", args: func(*Model) []string { return theme.Names },
			run: func(m *Model, arg string) tea.Cmd { return m.setTheme(arg) }},
		command{name: "demo", help: "demo traffic: :demo on|off", args: func(*Model) []string { return []string{"on", "off"} },
			run: func(m *Model, arg string) tea.Cmd {
				b, _ := m.table.Action(keys.Demo)
				if why := m.policy.Why(b); why != "" {
					m.setFlash(theme.LevelWarn, why)
					return nil
				}
				switch arg {
				case "on", "off":
					return m.setDemo(arg == "on")
				case "":
					return m.setDemo(!m.snap.Demo)
				}
				m.setFlash(theme.LevelBad, "demo: say on or off")
				return nil
			}},
		command{name: "runbook", aliases: []string{"rb"}, help: "open a runbook: :runbook latency", args: (*Model).runbooks,
			run: func(m *Model, arg string) tea.Cmd {
				if arg == "" {
					if i := m.pageIndex("runbooks"); i >= 0 {
						return m.switchTo(i, true)
					}
					m.setFlash(theme.LevelInfo, "the Runbooks page is not installed yet")
					return nil
				}
				return page.Emit(page.OpenRunbookMsg{ID: arg})
			}},
		command{name: "help", help: "show the key bindings", run: func(m *Model, _ string) tea.Cmd {
			b, _ := m.table.Action(keys.Help)
			return m.run(b, "")
		}},
		command{name: "quit", aliases: []string{"q", "q!"}, help: "quit", run: func(m *Model, _ string) tea.Cmd { return m.quitOrAsk() }},
	)
	for i, e := range Registry {
		i := i
		p := m.pages[i]
		out = append(out, command{name: p.ID(), aliases: e.Aliases, help: "go to the " + p.Title() + " page",
			run: func(m *Model, _ string) tea.Cmd { return m.switchTo(i, true) }})
	}
	// `:predict` and `:retrain` go to their page and start the page's main
	// action (edit the form; open the launch confirmation).
	for i := range out {
		switch out[i].name {
		case predict.ID:
			out[i].run = action(predict.ID, predict.Edit)
		case retrain.ID:
			out[i].run = action(retrain.ID, retrain.Launch)
			out[i].help = "go to Retrain and launch a run (typed confirmation)"
		}
	}
	return out
}

// versions are the registry's versions, fetched when the command line opens.
func (m *Model) versions() []string { return m.known }

func (m *Model) runbooks() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range m.snap.Alerts {
		if a.Runbook != "" && !seen[a.Runbook] {
			seen[a.Runbook] = true
			out = append(out, a.Runbook)
		}
	}
	sort.Strings(out)
	return out
}

// complete lists whole command lines that extend text.
func (m *Model) complete(text string) []string {
	name, arg, hasArg := strings.Cut(text, " ")
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, c := range m.commands() {
		if !hasArg {
			for _, n := range append([]string{c.name}, c.aliases...) {
				if strings.HasPrefix(n, name) {
					add(n)
				}
			}
			continue
		}
		if (c.name == name || contains(c.aliases, name)) && c.args != nil {
			for _, a := range c.args(m) {
				if strings.HasPrefix(a, arg) {
					add(name + " " + a)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runCommand executes one command line; an unknown one flashes and stays.
func (m *Model) runCommand(line string) tea.Cmd {
	line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), ":"))
	if line == "" {
		return nil
	}
	// A unique completion is as good as typing it out: ":theme m" → mono.
	if c := m.complete(line); len(c) == 1 && strings.HasPrefix(c[0], line) {
		line = c[0]
	}
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	for _, c := range m.commands() {
		if c.name == name || contains(c.aliases, name) {
			return c.run(m, arg)
		}
	}
	m.setFlash(theme.LevelBad, "unknown command :"+name+" (tab completes, :help lists keys)")
	return nil
}

func (m *Model) setTheme(name string) tea.Cmd {
	th, err := theme.New(name, m.opts.Renderer)
	if err != nil {
		m.setFlash(theme.LevelBad, err.Error())
		return nil
	}
	m.ctx.Theme = th
	m.cmdline.Restyle(th)
	m.filter.Restyle(th)
	m.spin.Style = th.Accent
	m.setFlash(theme.LevelOK, "theme "+th.Name)
	return m.broadcast(page.ThemeMsg{})
}
