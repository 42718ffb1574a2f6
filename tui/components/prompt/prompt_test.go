package prompt

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/theme"
)

func key(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func words(list ...string) func(string) []string {
	return func(text string) []string {
		var out []string
		for _, w := range list {
			if strings.HasPrefix(w, text) {
				out = append(out, w)
			}
		}
		return out
	}
}

func TestCompletionAndSubmit(t *testing.T) {
	th, _ := theme.New("mono", nil)
	p := New(th, ":", words("theme", "predict", "promote"))
	p.Open("")
	for _, k := range []string{"p", "r"} {
		if res, _ := p.Update(key(k)); res != Changed {
			t.Fatalf("typing %q: %v", k, res)
		}
	}
	if c := p.Candidates(); len(c) != 2 {
		t.Fatalf("candidates for pr: %v", c)
	}
	if v := p.View(th, 60); !strings.Contains(v, "predict · promote") {
		t.Fatalf("candidates not listed: %q", v)
	}
	p.Update(key("o"))
	p.Update(key("tab")) // accept "promote"
	if p.Value() != "promote" {
		t.Fatalf("tab accepted %q", p.Value())
	}
	if res, _ := p.Update(key("enter")); res != Submitted || p.IsOpen() {
		t.Fatalf("enter: %v open=%v", res, p.IsOpen())
	}
}

func TestHistory(t *testing.T) {
	th, _ := theme.New("mono", nil)
	p := New(th, ":", nil)
	for _, cmd := range []string{"drift", "logs", "logs"} {
		p.Open("")
		for _, r := range cmd {
			p.Update(key(string(r)))
		}
		p.Update(key("enter"))
	}
	p.Open("")
	p.Update(key("up"))
	if p.Value() != "logs" {
		t.Fatalf("first up: %q", p.Value())
	}
	p.Update(key("up"))
	if p.Value() != "drift" {
		t.Fatalf("second up: %q (repeated commands are kept once)", p.Value())
	}
	p.Update(key("down"))
	p.Update(key("down"))
	if p.Value() != "" {
		t.Fatalf("down past the newest: %q", p.Value())
	}
	if res, _ := p.Update(key("esc")); res != Cancelled || p.IsOpen() {
		t.Fatal("esc did not cancel")
	}
}
