// Package predict is page 4: a form with every listing field (choices from
// the served model's categories, nothing invented), inline validation, and a
// result card with price, version, latency, interval, market band, gauge,
// contributions and comparables; the last predictions stay in a history and
// a result can be copied as JSON (OSC 52).
package predict

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"carvision/engine"
	"carvision/tui/components/ring"
	"carvision/tui/format"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/textblock"
	"carvision/tui/theme"
)

// ID is the page id.
const ID = "predict"

// Actions of this page.
const (
	Edit    = "predict.edit"
	Submit  = "predict.submit"
	Copy    = "predict.copy"
	History = "predict.history"
	Reset   = "predict.reset"
)

// HistorySize bounds the kept predictions.
const HistorySize = 20

// Entry is one prediction made in this session.
type Entry struct {
	At      time.Time
	Listing engine.Listing
	Result  engine.Prediction
}

type (
	infoMsg struct {
		info engine.ModelInfo
		err  error
	}
	resultMsg struct {
		seq     int
		listing engine.Listing
		pred    engine.Prediction
		err     error
	}
)

// Page is the Predict page.
type Page struct {
	page.Base
	info     engine.ModelInfo
	haveInfo bool
	vals     Values
	form     *huh.Form
	editing  bool
	seq      int
	pending  bool
	last     *Entry
	lastErr  error
	errs     []FieldError
	history  *ring.Ring[Entry]
	showHist bool
	// huh moves between fields through commands; keys typed before the
	// move lands are queued so fast typing and pastes lose nothing.
	navFrom huh.Field
	queue   []tea.KeyMsg
}

// New builds the page.
func New(ctx *page.Context) page.Page {
	return &Page{Base: page.Base{Ctx: ctx}, history: ring.New[Entry](HistorySize)}
}

// ID implements page.Page.
func (p *Page) ID() string { return ID }

// Title implements page.Page.
func (p *Page) Title() string { return "Predict" }

// Bindings implements page.Page.
func (p *Page) Bindings() []keys.Binding {
	return []keys.Binding{
		{Action: Edit, Keys: []string{"enter", "e"}, Short: "edit", Help: "edit the listing (esc leaves the form; tab/shift+tab move between fields)", Scope: ID, Hint: true},
		{Action: Submit, Keys: []string{"ctrl+s"}, Short: "predict", Help: "price the listing (also enter on the last field)", Scope: ID, Hint: true},
		{Action: Copy, Keys: []string{"y"}, Short: "copy", Help: "copy the last result as JSON to the clipboard (OSC 52)", Scope: ID, Hint: true},
		{Action: History, Keys: []string{"h"}, Short: "history", Help: "show or hide the last predictions", Scope: ID, Hint: true},
		{Action: Reset, Keys: []string{"r"}, Short: "reset", Help: "clear every field (all missing)", Scope: ID},
	}
}

// Capturing implements page.Page: the form takes the keys while editing.
func (p *Page) Capturing() bool { return p.editing }

// Start implements page.Page.
func (p *Page) Start() tea.Cmd {
	p.Activate()
	if p.haveInfo {
		return nil
	}
	return p.fetchInfo()
}

func (p *Page) fetchInfo() tea.Cmd {
	c := p.Ctx
	return func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		info, err := c.Client.Model(ctx)
		return page.Route(ID, infoMsg{info, err})
	}
}

// SetSize implements page.Page.
func (p *Page) SetSize(w, h int, compact bool) {
	p.Base.SetSize(w, h, compact)
	p.sizeForm()
}

func (p *Page) formWidth() int {
	if p.Compact {
		return min(p.W, 84)
	}
	return min(max(p.W/2, 60), 84)
}

func (p *Page) sizeForm() {
	if p.form != nil {
		p.form.Update(tea.WindowSizeMsg{Width: p.formWidth() - 4, Height: max(p.H-2, 1)})
	}
}

func (p *Page) newForm() tea.Cmd {
	p.form = p.buildForm()
	cmd := p.form.Init()
	p.sizeForm()
	return cmd
}

// Update implements page.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case infoMsg:
		if msg.err != nil {
			return page.Flash(theme.LevelBad, "model schema unavailable: "+msg.err.Error())
		}
		p.info, p.haveInfo = msg.info, true
		return p.newForm()
	case page.ThemeMsg:
		if p.form != nil {
			p.form.WithTheme(huhTheme(p.Ctx.Theme))
		}
	case resultMsg:
		return p.result(msg)
	case page.ActionMsg:
		return p.action(msg.Action)
	case page.SnapshotMsg, page.EventMsg, page.TickMsg:
		return nil // broadcasts: nothing for the form
	case tea.KeyMsg:
		if p.editing {
			return p.edit(msg)
		}
	default:
		// huh's own messages (next field, group changes) come back here.
		if p.form != nil && p.editing {
			return p.forward(msg)
		}
	}
	return nil
}

func (p *Page) action(a string) tea.Cmd {
	switch a {
	case Edit:
		if p.form == nil {
			return page.Flash(theme.LevelWarn, "the model's schema is not loaded yet")
		}
		p.editing = true
		p.showHist = false
	case Submit:
		return p.submit()
	case Copy:
		return p.copy()
	case History:
		p.showHist = !p.showHist
	case Reset:
		p.vals = Values{}
		p.errs = nil
		if p.form != nil {
			return p.newForm()
		}
	}
	return nil
}

// edit handles a key while the form has focus.
func (p *Page) edit(k tea.KeyMsg) tea.Cmd {
	if p.navFrom != nil && k.String() != "esc" {
		if len(p.queue) < 256 {
			p.queue = append(p.queue, k)
		}
		return nil
	}
	switch k.String() {
	case "esc":
		p.takeHovered()
		p.editing = false
		p.navFrom, p.queue = nil, nil
		return nil
	case "ctrl+s":
		p.takeHovered()
		p.editing = false
		return p.submit()
	}
	// Type-to-filter on the model choice: the first letter opens huh's
	// filter (otherwise "/"), so typing "f-15" finds the ford f-150.
	if f, ok := p.form.GetFocusedField().(*huh.Select[string]); ok && f.GetKey() == "model" &&
		!f.GetFiltering() && k.Type == tea.KeyRunes && k.String() != "/" {
		cmd := p.forward(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'/'}})
		return tea.Batch(cmd, p.forward(k))
	}
	return p.forward(k)
}

func (p *Page) forward(msg tea.Msg) tea.Cmd {
	before := p.form.GetFocusedField()
	_, cmd := p.form.Update(msg)
	if p.form.State == huh.StateCompleted {
		p.editing = false
		p.navFrom, p.queue = nil, nil
		return tea.Batch(cmd, p.submit())
	}
	k, isKey := msg.(tea.KeyMsg)
	switch {
	case isKey && cmd != nil && isMove(k):
		p.navFrom = before // the move happens when huh's command returns
	case !isKey && p.navFrom != nil && p.form.GetFocusedField() != p.navFrom:
		p.navFrom = nil
		cmds := []tea.Cmd{cmd}
		for len(p.queue) > 0 && p.navFrom == nil && p.editing {
			next := p.queue[0]
			p.queue = p.queue[1:]
			cmds = append(cmds, p.edit(next))
		}
		return tea.Batch(cmds...)
	}
	return cmd
}

// takeHovered commits the choice under the cursor of the focused select:
// huh stores it only when the field is left, but ctrl+s submits in place.
func (p *Page) takeHovered() {
	sel, ok := p.form.GetFocusedField().(*huh.Select[string])
	if !ok {
		return
	}
	if v, ok := sel.Hovered(); ok {
		if ptr := p.vals.field(sel.GetKey()); ptr != nil {
			*ptr = v
		}
	}
}

func isMove(k tea.KeyMsg) bool {
	switch k.String() {
	case "tab", "shift+tab", "enter":
		return true
	}
	return false
}

func (p *Page) submit() tea.Cmd {
	if p.form == nil {
		return page.Flash(theme.LevelWarn, "the model's schema is not loaded yet")
	}
	listing, errs := p.vals.Listing(p.Ctx.Now())
	var rebuild tea.Cmd
	if p.form.State != huh.StateNormal {
		rebuild = p.newForm()
	}
	p.errs = errs
	if len(errs) > 0 {
		p.last, p.lastErr = nil, nil
		msg := errs[0].Error()
		if len(errs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		return tea.Batch(rebuild, page.Flash(theme.LevelBad, "not sent: "+msg))
	}
	p.seq++
	p.pending = true
	seq, c := p.seq, p.Ctx
	call := func() tea.Msg {
		ctx, cancel := c.Call()
		defer cancel()
		pred, err := c.Client.Predict(ctx, listing, engine.PredictOptions{Explain: true, Comparables: 5})
		return page.Route(ID, resultMsg{seq: seq, listing: listing, pred: pred, err: err})
	}
	return tea.Batch(rebuild, call)
}

func (p *Page) result(m resultMsg) tea.Cmd {
	if m.seq != p.seq {
		return nil // an older request answered late
	}
	p.pending = false
	if m.err != nil {
		p.last, p.lastErr = nil, m.err
		return page.Flash(theme.LevelBad, "predict failed: "+m.err.Error())
	}
	e := Entry{At: p.Ctx.Now(), Listing: m.listing, Result: m.pred}
	p.last, p.lastErr = &e, nil
	p.history.Push(e)
	return page.Flash(theme.LevelOK, fmt.Sprintf("%s for %s (%s, %s)", format.Money(m.pred.Price), m.listing.Model,
		format.Version(m.pred.ModelVersion), format.MS(latencyMS(m.pred))))
}

func latencyMS(p engine.Prediction) float64 {
	if p.LatencyMS > 0 {
		return p.LatencyMS
	}
	return float64(p.Latency.Microseconds()) / 1000
}

// JSON is what `y` copies: the listing as sent and the full prediction.
func JSON(e Entry) (string, error) {
	type out struct {
		Listing    map[string]any    `json:"listing"`
		Prediction engine.Prediction `json:"prediction"`
	}
	b, err := json.Marshal(out{Listing: listingMap(e.Listing), Prediction: e.Result})
	return string(b), err
}

// listingMap drops missing fields (JSON has no NaN) instead of inventing values.
func listingMap(l engine.Listing) map[string]any {
	m := map[string]any{}
	num := func(k string, v float64) {
		if v == v {
			m[k] = v
		}
	}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	num("model_year", l.ModelYear)
	str("model", l.Model)
	str("condition", l.Condition)
	num("cylinders", l.Cylinders)
	str("fuel", l.Fuel)
	num("odometer", l.Odometer)
	str("transmission", l.Transmission)
	str("type", l.Type)
	str("paint_color", l.PaintColor)
	num("is_4wd", l.Is4WD)
	str("date_posted", l.DatePosted)
	num("days_listed", l.DaysListed)
	return m
}

func (p *Page) copy() tea.Cmd {
	if p.last == nil {
		return page.Flash(theme.LevelInfo, "nothing to copy yet: predict first")
	}
	js, err := JSON(*p.last)
	if err != nil {
		return page.Flash(theme.LevelBad, "copy: "+err.Error())
	}
	return page.Emit(page.CopyMsg{What: "prediction JSON", Text: js})
}

// View implements page.Page.
func (p *Page) View() string {
	th := p.Ctx.Theme
	if p.form == nil {
		msg := th.Muted.Render("loading the model's schema…")
		return textblock.Block(msg, p.W, p.H)
	}
	state := th.Muted.Render("enter edits the listing · empty fields are sent as missing")
	if p.editing {
		state = th.Accent.Render(th.Sym.Cursor+" editing") + th.Muted.Render(" · tab next · ←/→ choose · ctrl+s predict · esc done")
	}
	if p.pending {
		state = th.Accent.Render("pricing…")
	}
	formW := p.formWidth()
	if p.Compact {
		if !p.editing && (p.last != nil || p.lastErr != nil || len(p.errs) > 0 || p.showHist) {
			card := p.card(p.W, p.H-1)
			if p.showHist {
				card = p.historyView(p.W, p.H-1)
			}
			return textblock.Block(textblock.Stack(textblock.Fit(state, p.W), card), p.W, p.H)
		}
		return textblock.Block(textblock.Stack(textblock.Fit(state, p.W), p.formView()), p.W, p.H)
	}
	left := textblock.Stack(textblock.Fit(state, formW), p.formView())
	cardW := p.W - formW - 3
	rightH := p.H
	histH := 0
	if p.showHist || p.history.Len() > 0 {
		histH = min(p.history.Len()+2, p.H/3)
		if p.showHist {
			histH = p.H / 2
		}
	}
	right := textblock.Stack(p.card(cardW, rightH-histH), p.historyView(cardW, histH))
	return textblock.Join(p.H, 3, textblock.Col{Text: left, W: formW}, textblock.Col{Text: right, W: cardW})
}

// formView drops the empty header line huh's column layout starts with.
func (p *Page) formView() string {
	return strings.TrimLeft(p.form.View(), "\n")
}

// card renders the last result (or the validation errors) in w×h.
func (p *Page) card(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	out := []string{th.Rulef(w, "Result")}
	switch {
	case len(p.errs) > 0:
		out = append(out, th.Bad.Render(th.Sym.Bad+" not sent: fix these fields"))
		for _, e := range p.errs {
			out = append(out, "  "+th.Key.Render(e.Field)+" "+e.Msg)
		}
	case p.lastErr != nil:
		out = append(out, textblock.WrapLines(th.Bad.Render(th.Sym.Bad+" "+p.lastErr.Error()), w)...)
		out = append(out, th.Muted.Render("the form is unchanged: fix it and press ctrl+s again"))
	case p.last == nil:
		out = append(out, th.Muted.Render("fill in what you know (empty = missing), then ctrl+s"))
	default:
		out = append(out, Card(th, *p.last, w)...)
	}
	return textblock.Lines(out, w, h)
}

func (p *Page) historyView(w, h int) string {
	th := p.Ctx.Theme
	if h <= 0 {
		return ""
	}
	out := []string{th.Rulef(w, fmt.Sprintf("History · last %d", p.history.Len()))}
	for _, e := range p.history.Newest(h - 1) {
		year := "—"
		if e.Listing.ModelYear == e.Listing.ModelYear {
			year = fmt.Sprintf("%.0f", e.Listing.ModelYear)
		}
		out = append(out, textblock.Cut(fmt.Sprintf("%s  %-8s  %-4s %-8s %s %s", format.Clock(e.At),
			format.Money(e.Result.Price), format.Version(e.Result.ModelVersion), format.MS(latencyMS(e.Result)), year, e.Listing.Model), w))
	}
	return textblock.Lines(out, w, h)
}

// Card renders a prediction: price line, then each optional part the
// engine returned (interval, market band and gauge, contributions,
// comparables, warnings).
func Card(th *theme.Theme, e Entry, w int) []string {
	r := e.Result
	out := []string{
		th.Title.Render(format.Money(r.Price)) + th.Muted.Render(fmt.Sprintf("  model %s · %s · %s", format.Version(r.ModelVersion), format.MS(latencyMS(r)), r.RequestID)),
	}
	if r.Interval != nil {
		out = append(out, fmt.Sprintf("%.0f%% interval %s – %s", r.Interval.Coverage*100, format.Money(r.Interval.Lower), format.Money(r.Interval.Upper)))
	}
	if r.Band != "" {
		out = append(out, th.State(bandLevel(r.Band), r.Band)+" · "+format.Ordinal(int(math.Round(r.Percentile)))+" percentile of listings")
	}
	if r.Market != nil && w >= 24 {
		out = append(out, Gauge(th, r.Price, *r.Market, w)...)
	}
	for _, warn := range r.Warnings {
		out = append(out, textblock.WrapLines(th.Warn.Render(th.Sym.Warn+" "+warn), w)...)
	}
	if len(r.Contributions) > 0 {
		out = append(out, "", th.Rulef(w, fmt.Sprintf("Why · from the mean %s", format.Money(r.BaseValue))))
		out = append(out, Contributions(th, r.Contributions, w, 6)...)
	}
	if len(r.Comparables) > 0 {
		out = append(out, "", th.Rulef(w, "Comparables · median "+format.Money(r.ComparablesMedian)))
		out = append(out, th.Muted.Render(textblock.Cut(fmt.Sprintf("%-4s  %12s  %9s  %-9s %4s", "year", "odometer", "price", "condition", "days"), w)))
		for _, c := range r.Comparables {
			out = append(out, textblock.Cut(fmt.Sprintf("%d  %9s mi  %9s  %-9s %3dd", c.ModelYear, format.Thousands(c.Odometer),
				format.Money(c.Price), c.Condition, c.DaysListed), w))
		}
	}
	return out
}

func bandLevel(b string) theme.Level {
	switch b {
	case "premium", "upper":
		return theme.LevelInfo
	}
	return theme.LevelOK
}

// Gauge places price on a 0…max bar: the Q1–Q3 band filled, the median
// marked, the price pointed at, and the scale written under it.
func Gauge(th *theme.Theme, price float64, m engine.MarketPlace, w int) []string {
	top := max(m.Q3*2, price*1.1)
	gw := w - 2
	pos := func(v float64) int { return min(max(int(v/top*float64(gw-1)+0.5), 0), gw-1) }
	cells := make([]string, gw)
	q1, q3, med, at := pos(m.Q1), pos(m.Q3), pos(m.Median), pos(price)
	for i := range cells {
		if i >= q1 && i <= q3 {
			cells[i] = th.RefBar.Render(th.Sym.BarFull)
		} else {
			cells[i] = th.Muted.Render(th.Sym.BarEmpty)
		}
	}
	cells[med] = th.Text.Render(th.Sym.Dot)
	pointer := strings.Repeat(" ", at) + th.Accent.Render("▼ "+format.Money(price))
	if th.Name == "mono" {
		pointer = strings.Repeat(" ", at) + "v " + format.Money(price)
	}
	if at > gw-12 {
		pointer = strings.Repeat(" ", max(at-len(format.Money(price))-1, 0)) + format.Money(price) + " " + th.Accent.Render("▼")
	}
	legend := th.Muted.Render(fmt.Sprintf("%s Q1–Q3 %s–%s  %s median %s",
		th.Sym.BarFull, compactMoney(m.Q1), compactMoney(m.Q3), th.Sym.Dot, compactMoney(m.Median)))
	return []string{" " + textblock.Cut(pointer, gw), " " + strings.Join(cells, ""), " " + textblock.Cut(legend, gw)}
}

func compactMoney(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("$%.0fk", v/1000)
	}
	return format.Money(v)
}

// Contributions draws up to n signed bars: "+" bars push the price up, "−"
// bars pull it down (the sign is written, not only coloured).
func Contributions(th *theme.Theme, cs []engine.Contribution, w, n int) []string {
	top := 0.0
	for _, c := range cs[:min(n, len(cs))] {
		top = max(top, abs(c.Amount))
	}
	if top == 0 {
		top = 1
	}
	labelW := min(24, w/2)
	amtW := 9
	barW := max(w-labelW-amtW-3, 4)
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		label := textblock.Fit(c.Feature+"="+c.Value, labelW)
		n := int(abs(c.Amount)/top*float64(barW) + 0.5)
		bar := strings.Repeat(th.Sym.BarFull, n)
		amt := fmt.Sprintf("%*s", amtW, format.SignedMoney(c.Amount))
		if c.Amount >= 0 {
			bar = th.OK.Render("+" + bar)
		} else {
			bar = th.Warn.Render("−" + bar)
		}
		out = append(out, label+" "+amt+" "+bar)
	}
	return out
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
