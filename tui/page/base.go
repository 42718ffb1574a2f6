package page

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Base carries what most pages share: the session context, the area and
// the visibility generation that invalidates ticks of a hidden page.
type Base struct {
	Ctx     *Context
	W, H    int
	Compact bool
	active  bool
	gen     int
}

// SetSize records the page's area.
func (b *Base) SetSize(w, h int, compact bool) { b.W, b.H, b.Compact = w, h, compact }

// Capturing is false for pages without text fields.
func (b *Base) Capturing() bool { return false }

// Stop marks the page hidden; its pending ticks become stale.
func (b *Base) Stop() {
	b.active = false
	b.gen++
}

// Activate marks the page visible and returns the new generation.
func (b *Base) Activate() int {
	b.active = true
	b.gen++
	return b.gen
}

// Active reports whether the page is visible.
func (b *Base) Active() bool { return b.active }

// Current reports whether a tick of generation gen is still wanted.
func (b *Base) Current(gen int) bool { return b.active && gen == b.gen }

// Gen is the current visibility generation.
func (b *Base) Gen() int { return b.gen }

// TickMsg is a page's own polling tick; Gen identifies its visibility period.
type TickMsg struct{ Gen int }

// Tick schedules a routed TickMsg for page id after d.
func Tick(id string, gen int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return Route(id, TickMsg{Gen: gen}) })
}

// Backer pages close a sub-view on esc before the root pops the page.
type Backer interface {
	Back() bool
}
