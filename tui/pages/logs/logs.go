// Package logs is page 7: the service log with a level filter, search (`/`),
// follow / pause, wrap toggle, and a bounded buffer.
package logs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/engine"
	"carvision/tui/components/ring"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "logs"

// Actions of this page.
const (
	Level  = "logs.level"
	Follow = "logs.follow"
	Wrap   = "logs.wrap"
)

// Buffer bounds the lines kept in memory.
const Buffer = 5000

// Levels in increasing severity, cycled by the level filter.
var Levels = []string{"debug", "info", "warn", "error"}

type linesMsg struct {
	lines []engine.LogLine
	err   error
}

// Page is the Logs page.
type Page struct {
	page.Base
	buf     *ring.Ring[engine.LogLine]
	lastAt  int64
	lastSet map[string]bool // raw lines at lastAt, to drop duplicates
	level   int
	search  string
	follow  bool
	wrap    bool
	top     int // first visible filtered line when not following
	view    []int
	dirty   bool
	err     error
	loading bool
}

// New builds the page.
func New(ctx *page.Context) page.Page {
	return &Page{Base: page.Base{Ctx: ctx}, buf: ring.New[engine.LogLine](Buffer), follow: true, level: 1, lastSet: map[string]bool{}}
}

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Logs" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Level, Keys: []string{"l"}, Short: "level", Help: "cycle the minimum level: debug, info, warn, error", Scope: ID, Hint: true},
		{Action: Follow, Keys: []string{"f"}, Short: "follow", Help: "follow new lines or pause (scrolling up pauses too; G follows again)", Scope: ID, Hint: true},
		{Action: Wrap, Keys: []string{"w"}, Short: "wrap", Help: "wrap long lines or cut them", Scope: ID, Hint: true},
	}
}

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	gen := p.Activate()
	return tea.Batch(p.fetch(), page.Tick(ID, gen, p.interval()))
}

func (p *Page) interval() time.Duration {
	if p.Ctx.Refresh > 0 {
		return p.Ctx.Refresh
	}
	return time.Second
}

func (p *Page) fetch() tea.Cmd {
	if p.loading {
		return nil
	}
	p.loading = true
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		lines, err := c.Client.Logs(ctx, engine.LogQuery{Level: "debug", Limit: 1000})
		return page.Route(ID, linesMsg{lines, err})
	}
}

// SetFilter implements page.Filterable: the search text.
func (p *Page) SetFilter(text string) {
	p.search = strings.ToLower(text)
	p.dirty = true
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case page.TickMsg:
		if !p.Current(msg.Gen) {
			return nil
		}
		var cmd tea.Cmd
		if p.follow {
			cmd = p.fetch()
		}
		return tea.Batch(cmd, page.Tick(ID, msg.Gen, p.interval()))
	case linesMsg:
		p.loading = false
		p.err = msg.err
		if msg.err == nil {
			p.merge(msg.lines)
		}
	case page.ActionMsg:
		return p.action(msg.Action)
	}
	return nil
}

// merge appends lines newer than the last seen one (the engine returns the
// newest N each time, overlapping the previous answer). The answer may come
// newest first (the local engine) or oldest first: it is put in time order.
func (p *Page) merge(lines []engine.LogLine) {
	if n := len(lines); n > 1 && lines[0].At.After(lines[n-1].At) {
		lines = slices.Clone(lines)
		slices.Reverse(lines)
	}
	slices.SortStableFunc(lines, func(a, b engine.LogLine) int { return a.At.Compare(b.At) })
	for _, l := range lines {
		at := l.At.UnixNano()
		switch {
		case at < p.lastAt:
			continue
		case at == p.lastAt && p.lastSet[l.Raw]:
			continue
		case at > p.lastAt:
			p.lastAt = at
			clear(p.lastSet)
		}
		p.lastSet[l.Raw] = true
		p.buf.Push(l)
		p.dirty = true
	}
}

func (p *Page) action(a string) tea.Cmd {
	switch a {
	case Level:
		p.level = (p.level + 1) % len(Levels)
		p.dirty = true
		return page.Flash(theme.LevelInfo, "showing "+Levels[p.level]+" and above")
	case Follow:
		p.follow = !p.follow
		if p.follow {
			return p.fetch()
		}
		p.pin()
	case Wrap:
		p.wrap = !p.wrap
	case keys.Up, keys.PgUp, keys.Top:
		p.pin()
		p.follow = false
		p.scroll(a)
	case keys.Down, keys.PgDown:
		p.pin()
		p.scroll(a)
	case keys.Bottom:
		p.follow = true
		return p.fetch()
	}
	return nil
}

// pin freezes the current bottom view as the scroll position.
func (p *Page) pin() {
	if p.follow {
		p.refilter()
		p.top = max(len(p.view)-p.rows(), 0)
	}
}

func (p *Page) rows() int { return max(p.H-1, 1) }

func (p *Page) scroll(a string) {
	p.refilter()
	switch a {
	case keys.Up:
		p.top--
	case keys.Down:
		p.top++
	case keys.PgUp:
		p.top -= p.rows()
	case keys.PgDown:
		p.top += p.rows()
	case keys.Top:
		p.top = 0
	}
	p.top = min(max(p.top, 0), max(len(p.view)-1, 0))
}

var rank = map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3}

// refilter recomputes the visible line indices after new lines or filters.
func (p *Page) refilter() {
	if !p.dirty && p.view != nil {
		return
	}
	p.dirty = false
	p.view = p.view[:0]
	for i := 0; i < p.buf.Len(); i++ {
		l := p.buf.At(i)
		if rank[strings.ToLower(l.Level)] < p.level {
			continue
		}
		if p.search != "" && !strings.Contains(strings.ToLower(l.Raw), p.search) {
			continue
		}
		p.view = append(p.view, i)
	}
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	p.refilter()
	state := th.State(theme.LevelOK, "following")
	if !p.follow {
		state = th.State(theme.LevelWarn, "paused")
	}
	head := state + th.Muted.Render(fmt.Sprintf(" · level ≥ %s · wrap %s · %s/%s lines", Levels[p.level], format.OnOff(p.wrap),
		format.Thousands(float64(len(p.view))), format.Thousands(float64(p.buf.Len()))))
	if p.search != "" {
		head += th.Muted.Render(" · search ") + th.Accent.Render(p.search)
	}
	if p.err != nil {
		head += "  " + th.State(theme.LevelBad, p.err.Error())
	}
	h := p.rows()
	var rendered []string
	if p.follow {
		// Fill from the bottom up so the newest line is always visible.
		for i := len(p.view) - 1; i >= 0 && len(rendered) < h; i-- {
			parts := p.render(p.buf.At(p.view[i]))
			for j := len(parts) - 1; j >= 0 && len(rendered) < h; j-- {
				rendered = append(rendered, parts[j])
			}
		}
		for i, j := 0, len(rendered)-1; i < j; i, j = i+1, j-1 {
			rendered[i], rendered[j] = rendered[j], rendered[i]
		}
	} else {
		for i := p.top; i < len(p.view) && len(rendered) < h; i++ {
			rendered = append(rendered, p.render(p.buf.At(p.view[i]))...)
		}
	}
	if len(p.view) == 0 {
		rendered = []string{th.Muted.Render("no line matches")}
	}
	lines := append([]string{textblock.Cut(head, p.W)}, rendered...)
	return textblock.Lines(lines, p.W, p.H)
}

func (p *Page) render(l engine.LogLine) []string {
	th := p.Ctx.Theme
	lvl := strings.ToUpper(l.Level)
	style := th.Muted
	switch strings.ToLower(l.Level) {
	case "info":
		style = th.Text
	case "warn":
		style = th.Warn
	case "error":
		style = th.Bad
	}
	var attrs strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l.Attrs)) {
		fmt.Fprintf(&attrs, " %s=%s", k, l.Attrs[k])
	}
	line := th.Muted.Render(format.Clock(l.At)) + " " + style.Render(fmt.Sprintf("%-5s", lvl)) + " " + l.Message + th.Muted.Render(attrs.String())
	if p.wrap {
		return textblock.WrapLines(line, p.W)
	}
	return []string{textblock.Cut(line, p.W)}
}
