package predict

import (
	"fmt"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"carvision/engine"
	"carvision/tui/theme"
)

// huhTheme builds huh's styles from the session renderer (huh's own
// themes use the global renderer, which is wrong over SSH).
func huhTheme(th *theme.Theme) *huh.Theme {
	ns := th.R.NewStyle
	var t huh.Theme
	t.Form.Base = ns()
	t.Group.Base = ns()
	t.Group.Title = th.Title
	t.Group.Description = th.Muted
	t.FieldSeparator = ns().SetString("\n")
	f := &t.Focused
	f.Base = ns().PaddingLeft(1).BorderStyle(lipgloss.NormalBorder()).BorderLeft(true).BorderForeground(th.Accent.GetForeground())
	if th.Name == "mono" || th.Plain {
		f.Base = f.Base.BorderStyle(lipgloss.Border{Left: ">"})
	}
	f.Card = f.Base
	f.Title = th.Key
	f.Description = th.Muted
	f.ErrorIndicator = th.Bad.SetString(" " + th.Sym.Bad)
	f.ErrorMessage = th.Bad
	f.SelectSelector = th.Accent.SetString(th.Sym.Cursor + " ")
	f.Option = th.Text
	f.NextIndicator = th.Accent.MarginLeft(1).SetString("→")
	f.PrevIndicator = th.Accent.MarginRight(1).SetString("←")
	f.SelectedOption = th.Text.Bold(true)
	f.SelectedPrefix = th.Accent.SetString("[x] ")
	f.UnselectedPrefix = th.Muted.SetString("[ ] ")
	f.UnselectedOption = th.Text
	f.MultiSelectSelector = th.Accent.SetString(th.Sym.Cursor + " ")
	f.FocusedButton = th.Selected.Padding(0, 2)
	f.BlurredButton = th.Muted.Padding(0, 2)
	f.TextInput = huh.TextInputStyles{Cursor: ns().Reverse(true), CursorText: th.Text,
		Placeholder: th.Muted, Prompt: th.Accent, Text: th.Text}
	f.Next = th.Accent
	f.NoteTitle = th.Title
	t.Blurred = *f
	t.Blurred.Base = ns().PaddingLeft(1).BorderStyle(lipgloss.HiddenBorder()).BorderLeft(true)
	t.Blurred.Card = t.Blurred.Base
	t.Blurred.Title = th.Muted
	t.Blurred.SelectSelector = ns().SetString("  ")
	t.Blurred.NextIndicator = ns()
	t.Blurred.PrevIndicator = ns()
	t.Blurred.MultiSelectSelector = ns().SetString("  ")
	t.Blurred.TextInput.Prompt = th.Muted
	t.Help = help.Styles{ShortKey: th.Key, ShortDesc: th.Muted, ShortSeparator: th.Muted,
		FullKey: th.Key, FullDesc: th.Muted, FullSeparator: th.Muted, Ellipsis: th.Muted}
	return &t
}

// options lists a categorical feature's values after a "missing" choice:
// the form never invents a value the operator did not pick.
func options(cats []string) []huh.Option[string] {
	out := []huh.Option[string]{huh.NewOption("— missing —", "")}
	for _, c := range cats {
		out = append(out, huh.NewOption(c, c))
	}
	return out
}

func categories(info engine.ModelInfo, name string) []string {
	for _, f := range info.Features {
		if f.Name == name {
			return f.Categories
		}
	}
	return nil
}

// buildForm lays the fields out in two groups shown side by side; inputs
// sit on one line with their title, choices take two.
func (p *Page) buildForm() *huh.Form {
	v := &p.vals
	now := p.Ctx.Now()
	named := func(key string, check func(string) error) func(string) error {
		return func(s string) error {
			if err := check(s); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			return nil
		}
	}
	in := func(key string, val *string, check func(string) error) *huh.Input {
		return huh.NewInput().Key(key).Title(fmt.Sprintf("%-12s", key)).Inline(true).Prompt("").
			Placeholder("missing").Value(val).Validate(named(key, check)).CharLimit(12)
	}
	sel := func(key string, val *string, cats []string) *huh.Select[string] {
		return huh.NewSelect[string]().Key(key).Title(key).Inline(true).Options(options(cats)...).Value(val)
	}
	// The filter input is as wide as the title (huh), so the title is padded.
	model := sel("model", &v.Model, categories(p.info, "model")).Title(fmt.Sprintf("%-22s", "model")).
		Description("type to filter")
	yes := []huh.Option[string]{huh.NewOption("— missing —", ""), huh.NewOption("yes", "1"), huh.NewOption("no", "0")}
	return huh.NewForm(
		huh.NewGroup(
			model,
			in("model_year", &v.ModelYear, func(s string) error { return checkYear(s, now) }),
			in("odometer", &v.Odometer, checkOdometer),
			in("cylinders", &v.Cylinders, checkCylinders),
			sel("condition", &v.Condition, categories(p.info, "condition")),
			sel("type", &v.Type, categories(p.info, "type")),
		),
		huh.NewGroup(
			sel("fuel", &v.Fuel, categories(p.info, "fuel")),
			sel("transmission", &v.Transmission, categories(p.info, "transmission")),
			huh.NewSelect[string]().Key("is_4wd").Title("is_4wd").Inline(true).Options(yes...).Value(&v.Is4WD),
			sel("paint_color", &v.PaintColor, categories(p.info, "paint_color")),
			in("date_posted", &v.DatePosted, checkDate),
			in("days_listed", &v.DaysListed, checkDays),
		),
	).WithShowHelp(false).WithShowErrors(true).WithTheme(huhTheme(p.Ctx.Theme)).WithLayout(huh.LayoutColumns(2))
}
