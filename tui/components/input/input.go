// Package input builds bubbles text inputs styled from the session's theme
// (never the global renderer) with a steady cursor: no blink timer, so an
// idle console wakes up only for its data ticks.
package input

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"

	"carvision/tui/theme"
)

// New returns a focused-ready text input with the given prompt.
func New(th *theme.Theme, prompt string) textinput.Model {
	in := textinput.New()
	Restyle(&in, th)
	in.Prompt = prompt
	in.Cursor.SetMode(cursor.CursorStatic)
	km := textinput.DefaultKeyMap
	// up/down belong to history in our prompts; suggestions cycle with ctrl+n/p.
	km.NextSuggestion = key.NewBinding(key.WithKeys("ctrl+n"))
	km.PrevSuggestion = key.NewBinding(key.WithKeys("ctrl+p"))
	in.KeyMap = km
	return in
}

// Restyle applies th to an input (after `:theme`).
func Restyle(in *textinput.Model, th *theme.Theme) {
	in.PromptStyle = th.Key
	in.TextStyle = th.Text
	in.PlaceholderStyle = th.Muted
	in.CompletionStyle = th.Muted
	in.Cursor.Style = th.R.NewStyle().Reverse(true)
	in.Cursor.TextStyle = th.Text
}
