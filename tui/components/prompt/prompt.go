// Package prompt is the one-line `:` command and `/` filter prompt: history
// on up/down, an inline suggestion accepted with tab or →, and the matching
// candidates listed beside the input.
package prompt

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/components/input"
	"carvision/tui/components/ring"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// Result is what a key did to the prompt.
type Result int

// Results of Update.
const (
	Editing   Result = iota // still open
	Changed                 // open, text changed (live filter)
	Submitted               // enter: Value() is the answer
	Cancelled               // esc
)

// Prompt is a one-line input with history and completion.
type Prompt struct {
	in       textinput.Model
	history  *ring.Ring[string]
	hpos     int // -1: not browsing
	complete func(string) []string
	open     bool
}

// New returns a closed prompt; complete (may be nil) lists candidate lines
// for the text typed so far.
func New(th *theme.Theme, symbol string, complete func(string) []string) *Prompt {
	p := &Prompt{in: input.New(th, symbol), history: ring.New[string](50), hpos: -1, complete: complete}
	p.in.ShowSuggestions = complete != nil
	return p
}

// Restyle applies a new theme.
func (p *Prompt) Restyle(th *theme.Theme) { input.Restyle(&p.in, th) }

// Open shows the prompt with text.
func (p *Prompt) Open(text string) tea.Cmd {
	p.open = true
	p.hpos = -1
	p.in.SetValue(text)
	p.in.CursorEnd()
	p.suggest()
	return p.in.Focus()
}

// IsOpen reports whether the prompt has focus.
func (p *Prompt) IsOpen() bool { return p.open }

// Value is the current text.
func (p *Prompt) Value() string { return p.in.Value() }

// Close hides the prompt.
func (p *Prompt) Close() {
	p.open = false
	p.in.Blur()
}

// Update handles one key.
func (p *Prompt) Update(msg tea.KeyMsg) (Result, tea.Cmd) {
	switch msg.String() {
	case "esc":
		p.Close()
		return Cancelled, nil
	case "enter":
		v := strings.TrimSpace(p.in.Value())
		if v != "" && (p.history.Len() == 0 || p.history.At(p.history.Len()-1) != v) {
			p.history.Push(v)
		}
		p.Close()
		return Submitted, nil
	case "up", "down":
		p.browse(msg.String() == "up")
		return Changed, nil
	case "right":
		if p.in.Position() == len([]rune(p.in.Value())) && p.in.CurrentSuggestion() != "" {
			p.in.SetValue(p.in.CurrentSuggestion())
			p.in.CursorEnd()
			p.suggest()
			return Changed, nil
		}
	}
	before := p.in.Value()
	var cmd tea.Cmd
	p.in, cmd = p.in.Update(msg)
	if p.in.Value() != before {
		p.suggest()
		return Changed, cmd
	}
	return Editing, cmd
}

func (p *Prompt) browse(up bool) {
	n := p.history.Len()
	if n == 0 {
		return
	}
	switch {
	case up && p.hpos == -1:
		p.hpos = n - 1
	case up && p.hpos > 0:
		p.hpos--
	case !up && p.hpos >= 0 && p.hpos < n-1:
		p.hpos++
	case !up:
		p.hpos = -1
		p.in.SetValue("")
		p.suggest()
		return
	}
	p.in.SetValue(p.history.At(p.hpos))
	p.in.CursorEnd()
	p.suggest()
}

func (p *Prompt) suggest() {
	if p.complete == nil {
		return
	}
	p.in.SetSuggestions(p.complete(p.in.Value()))
}

// Candidates are the completions matching the current text.
func (p *Prompt) Candidates() []string { return p.in.MatchedSuggestions() }

// View renders the prompt line, candidates to the right, in w cells.
func (p *Prompt) View(th *theme.Theme, w int) string {
	line := p.in.View()
	if c := p.Candidates(); len(c) > 1 && p.in.Value() != "" {
		tail := "  " + th.Muted.Render(strings.Join(c[:min(len(c), 6)], " · "))
		line += tail
	}
	return textblock.Fit(line, w)
}
