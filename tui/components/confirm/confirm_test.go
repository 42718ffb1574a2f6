package confirm

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"carvision/tui/page"
	"carvision/tui/theme"
)

func typ(d *Dialog, s string) {
	for _, r := range s {
		d.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

var enter = tea.KeyMsg{Type: tea.KeyEnter}

func TestTypedConfirmation(t *testing.T) {
	th, _ := theme.New("mono", nil)
	for _, tc := range []struct {
		name         string
		ask          bool
		reason, word string
		want         Outcome
		err          string
	}{
		{"right word", false, "", "v7", Confirmed, ""},
		{"wrong word", false, "", "v6", Open, `type "v7" exactly`},
		{"nothing typed", false, "", "", Open, `type "v7" exactly`},
		{"reason required", true, "", "v7", Open, "a reason is required"},
		{"reason and word", true, "better RMSE", "v7", Confirmed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(th, page.ConfirmMsg{Title: "Promote v7", Expect: "v7", AskReason: tc.ask})
			if tc.ask {
				typ(d, tc.reason)
				d.Update(enter) // moves to the confirmation field (or complains)
				if tc.reason == "" {
					d.Update(tea.KeyMsg{Type: tea.KeyTab})
				}
			}
			typ(d, tc.word)
			got, _ := d.Update(enter)
			if got != tc.want {
				t.Fatalf("outcome %v, want %v", got, tc.want)
			}
			view := ansi.Strip(d.View(th, 80, 20))
			if tc.err != "" && !strings.Contains(view, tc.err) {
				t.Fatalf("view lacks %q:\n%s", tc.err, view)
			}
			if tc.ask && d.Reason() != tc.reason {
				t.Fatalf("reason %q", d.Reason())
			}
		})
	}
	d := New(th, page.ConfirmMsg{Expect: "rollback"})
	if got, _ := d.Update(tea.KeyMsg{Type: tea.KeyEsc}); got != Cancelled {
		t.Fatal("esc must cancel")
	}
}
