// Package config is page 8: the live config.yaml with its validation state.
// When the file changes on disk (the engine watches it) the page refetches
// and flashes: applied, or invalid with its line while the old config stays
// in force.
package config

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/table"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "config"

// Actions of this page.
const (
	Reload    = "config.reload"
	ErrorLine = "config.error_line"
)

type stateMsg struct {
	st        engine.ConfigState
	err       error
	flash     bool   // announce the result (after a change or a reload)
	cause     string // what triggered the fetch
	reloadErr error  // a reload the engine refused (the state is still shown)
}

// Page is the Config page.
type Page struct {
	page.Base
	st   engine.ConfigState
	have bool
	err  error
	cur  table.Cursor
}

// New builds the page.
func New(ctx *page.Context) page.Page { return &Page{Base: page.Base{Ctx: ctx}} }

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Config" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Reload, Keys: []string{"r"}, Short: "reload", Help: "re-read config.yaml and apply it if valid", Scope: ID, Hint: true, Mutates: true, Needs: keys.NeedConfig},
		{Action: ErrorLine, Keys: []string{"e"}, Short: "error line", Help: "jump to the line of the validation error", Scope: ID, Hint: true},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	return p.fetch(false, "")
}

func (p *Page) fetch(flash bool, cause string) tea.Cmd {
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		st, err := c.Client.Config(ctx)
		return page.Route(ID, stateMsg{st: st, err: err, flash: flash, cause: cause})
	}
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.EventMsg:
		if msg.Event.Kind == "config" {
			return p.fetch(true, "changed on disk")
		}
	case stateMsg:
		p.err = msg.err
		if msg.err != nil {
			if msg.flash {
				return page.Flash(theme.LevelBad, "config: "+msg.err.Error())
			}
			return nil
		}
		p.st, p.have = msg.st, true
		p.cur.SetN(strings.Count(p.st.Text, "\n") + 1)
		if msg.reloadErr != nil {
			if p.st.Line > 0 {
				p.cur.To(p.st.Line - 1)
			}
			return page.Flash(theme.LevelBad, "not applied: "+msg.reloadErr.Error())
		}
		if !msg.flash {
			return nil
		}
		if p.st.Valid {
			return page.Flash(theme.LevelOK, fmt.Sprintf("%s %s: applied", p.st.Path, msg.cause))
		}
		p.cur.To(p.st.Line - 1)
		return page.Flash(theme.LevelBad, fmt.Sprintf("%s line %d: %s (the previous config stays in force)", p.st.Path, p.st.Line, p.st.Error))
	case page.ActionMsg:
		if p.cur.Nav(msg.Action) {
			return nil
		}
		switch msg.Action {
		case ErrorLine:
			if p.st.Valid || p.st.Line == 0 {
				return page.Flash(theme.LevelInfo, "no error to jump to")
			}
			p.cur.To(p.st.Line - 1)
		case Reload:
			c := p.Ctx
			return func() tea.Msg {
				ctx, cancel := c.Call()
				defer cancel()
				st, err := c.Client.ReloadConfig(ctx, c.Request("reload from the console"))
				switch {
				case err != nil && st.Path == "":
					return page.Route(ID, stateMsg{err: err, flash: true})
				case err != nil:
					return page.Route(ID, stateMsg{st: st, reloadErr: err})
				}
				return page.Route(ID, stateMsg{st: st, flash: true, cause: "reloaded"})
			}
		}
	}
	return nil
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if !p.have {
		msg := th.Muted.Render("loading config…")
		if p.err != nil {
			msg = th.State(theme.LevelBad, "config unavailable: "+p.err.Error())
		}
		return textblock.Block(msg, p.W, p.H)
	}
	st := p.st
	now := p.Ctx.Now()
	var head []string
	if st.Valid {
		head = append(head, th.State(theme.LevelOK, "valid")+th.Muted.Render(fmt.Sprintf(" · %s · applied %s (%s)", st.Path, format.Clock(st.AppliedAt), format.Ago(now, st.AppliedAt))))
	} else {
		head = append(head, th.State(theme.LevelBad, fmt.Sprintf("invalid at line %d: %s", st.Line, st.Error)))
		head = append(head, th.Muted.Render(fmt.Sprintf("the config applied at %s (%s) stays in force · e jumps to the line", format.Clock(st.AppliedAt), format.Ago(now, st.AppliedAt))))
	}
	for i := range head {
		head[i] = textblock.Cut(head[i], p.W)
	}
	lines := strings.Split(st.Text, "\n")
	bodyH := p.H - len(head) - 1
	p.cur.SetH(bodyH)
	numW := len(fmt.Sprint(len(lines)))
	out := append(head, th.Rulef(p.W, st.Path))
	for i := p.cur.Offset; i < len(lines) && i < p.cur.Offset+bodyH; i++ {
		mark := th.Cursor(i == p.cur.Pos)
		num := th.Muted.Render(fmt.Sprintf("%*d ", numW, i+1))
		text := lines[i]
		if !st.Valid && i+1 == st.Line {
			mark = th.Bad.Render(th.Sym.Bad)
			text = th.Bad.Render(text) + "  " + th.Bad.Render("← "+st.Error)
		}
		out = append(out, textblock.Cut(mark+" "+num+text, p.W))
	}
	return textblock.Lines(out, p.W, p.H)
}
