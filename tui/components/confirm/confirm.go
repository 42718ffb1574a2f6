// Package confirm is the typed-confirmation dialog of dangerous actions: the
// operator types the target's name (and, when asked, a reason) so that no
// single keystroke promotes, rolls back or launches a retrain.
package confirm

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/components/input"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// Dialog is one open confirmation.
type Dialog struct {
	Req    page.ConfirmMsg
	reason textinput.Model
	typed  textinput.Model
	focus  int // 0 reason, 1 typed
	err    string
}

// Outcome of a key.
type Outcome int

// Outcomes.
const (
	Open Outcome = iota
	Confirmed
	Cancelled
)

// New opens a dialog for req.
func New(th *theme.Theme, req page.ConfirmMsg) *Dialog {
	d := &Dialog{Req: req, reason: input.New(th, "reason  › "), typed: input.New(th, "confirm › ")}
	d.reason.Placeholder = "why (recorded with the action)"
	d.typed.Placeholder = req.Expect
	d.reason.CharLimit = 200
	d.reason.Width = 48
	d.typed.Width = 24
	d.typed.CharLimit = 64
	if req.AskReason {
		d.reason.Focus()
	} else {
		d.focus = 1
		d.typed.Focus()
	}
	return d
}

// Reason is the text of the reason field.
func (d *Dialog) Reason() string { return strings.TrimSpace(d.reason.Value()) }

// Update handles one key.
func (d *Dialog) Update(msg tea.KeyMsg) (Outcome, tea.Cmd) {
	switch msg.String() {
	case "esc":
		return Cancelled, nil
	case "tab", "shift+tab":
		if d.Req.AskReason {
			d.switchFocus()
		}
		return Open, nil
	case "enter":
		if d.Req.AskReason && d.focus == 0 {
			if d.Reason() == "" {
				d.err = "a reason is required"
				return Open, nil
			}
			d.switchFocus()
			return Open, nil
		}
		if d.Req.AskReason && d.Reason() == "" {
			d.err = "a reason is required"
			return Open, nil
		}
		if strings.TrimSpace(d.typed.Value()) != d.Req.Expect {
			d.err = fmt.Sprintf("type %q exactly to confirm, or esc to cancel", d.Req.Expect)
			return Open, nil
		}
		return Confirmed, nil
	}
	d.err = ""
	var cmd tea.Cmd
	if d.focus == 0 {
		d.reason, cmd = d.reason.Update(msg)
	} else {
		d.typed, cmd = d.typed.Update(msg)
	}
	return Open, cmd
}

func (d *Dialog) switchFocus() {
	if d.focus == 0 {
		d.focus = 1
		d.reason.Blur()
		d.typed.Focus()
	} else {
		d.focus = 0
		d.typed.Blur()
		d.reason.Focus()
	}
}

// View renders the dialog centred in a w×h area.
func (d *Dialog) View(th *theme.Theme, w, h int) string {
	bw := min(max(w-4, 20), 72)
	inner := bw - 4
	var lines []string
	lines = append(lines, th.Warn.Render(th.Sym.Warn+" "+d.Req.Title))
	lines = append(lines, "")
	for _, l := range d.Req.Lines {
		lines = append(lines, textblock.WrapLines(l, inner)...)
	}
	lines = append(lines, "", th.Text.Render("Type ")+th.Key.Render(d.Req.Expect)+th.Text.Render(" to confirm."))
	if d.Req.AskReason {
		lines = append(lines, d.marker(0, th)+d.reason.View())
	}
	lines = append(lines, d.marker(1, th)+d.typed.View())
	if d.err != "" {
		lines = append(lines, th.Bad.Render(th.Sym.Bad+" "+d.err))
	}
	lines = append(lines, "", th.Muted.Render("enter confirm · tab next field · esc cancel"))
	for i, l := range lines {
		lines[i] = textblock.Fit(l, inner)
	}
	box := th.Box.Border(th.Border()).Padding(0, 1).Render(strings.Join(lines, "\n"))
	return textblock.Center(box, w, h)
}

func (d *Dialog) marker(i int, th *theme.Theme) string {
	if d.focus == i {
		return th.Cursor(true) + " "
	}
	return "  "
}
