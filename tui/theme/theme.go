// Package theme holds the console's palettes (a colour-blind-safe default,
// mono and light) and the symbols that always accompany a colour, built on a
// caller-supplied lipgloss renderer so that every SSH session styles its own
// output for its own terminal.
package theme

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/guptarohit/asciigraph"
	"github.com/muesli/termenv"
)

// Names lists the themes New accepts, the default first.
var Names = []string{"default", "mono", "light"}

// Level is the severity a piece of state is shown with.
type Level int

// Levels, from calm to alarming.
const (
	LevelMuted Level = iota
	LevelInfo
	LevelOK
	LevelWarn
	LevelBad
)

// Symbols are the glyphs that carry state without colour.
type Symbols struct {
	OK, Warn, Bad, Info, Muted string // state markers
	Cursor                     string // selected row marker
	NoCursor                   string // same width as Cursor
	Mark                       string // a row marked for compare
	BarFull, BarEmpty          string // horizontal bars
	Up, Down                   string // trend
	Sep                        string // between header items
	Dot                        string // median marker on gauges
}

// Unicode symbols are the default; ASCII ones are used by mono.
var (
	unicodeSymbols = Symbols{OK: "✓", Warn: "▲", Bad: "✗", Info: "•", Muted: "·",
		Cursor: "▶", NoCursor: " ", Mark: "◆", BarFull: "█", BarEmpty: "░",
		Up: "↑", Down: "↓", Sep: "·", Dot: "┃"}
	asciiSymbols = Symbols{OK: "ok", Warn: "!", Bad: "x", Info: "*", Muted: "-",
		Cursor: ">", NoCursor: " ", Mark: "*", BarFull: "#", BarEmpty: ".",
		Up: "^", Down: "v", Sep: "|", Dot: "|"}
)

// GraphStyle configures asciigraph for this theme. Colours are raw ANSI
// codes that bypass the renderer, so they are only set when the session's
// profile has colours.
type GraphStyle struct {
	Colors bool
	P50    asciigraph.AnsiColor
	P95    asciigraph.AnsiColor
	P99    asciigraph.AnsiColor
	SLO    asciigraph.AnsiColor
	Axis   asciigraph.AnsiColor
	// Chars distinguish series without colour (p50, p95, p99, SLO).
	Chars [4]asciigraph.CharSet
}

// Theme is a complete set of styles built from one renderer.
type Theme struct {
	Name string
	R    *lipgloss.Renderer
	Sym  Symbols
	// Plain is true when the profile carries no attributes at all (NO_COLOR,
	// dumb terminals): selection must then be visible from text alone.
	Plain bool

	Text, Muted, Title, Accent, Key lipgloss.Style
	OK, Warn, Bad, Info             lipgloss.Style
	Selected                        lipgloss.Style
	TabActive, TabIdle              lipgloss.Style
	Rule                            lipgloss.Style
	RefBar, LiveBar                 lipgloss.Style
	Box                             lipgloss.Style
	Graph                           GraphStyle
}

type palette struct {
	fg, muted, accent, ok, warn, bad, info, ref, live string
	g50, g95, g99, gslo, gaxis                        asciigraph.AnsiColor
}

// Okabe–Ito colours: distinguishable with red–green and blue–yellow
// deficiencies; state never relies on them alone.
var palettes = map[string]palette{
	"default": {fg: "", muted: "245", accent: "#56B4E9", ok: "#009E73", warn: "#E69F00",
		bad: "#D55E00", info: "#56B4E9", ref: "#0072B2", live: "#E69F00",
		g50: 39, g95: 214, g99: 202, gslo: 245, gaxis: 243},
	"light": {fg: "", muted: "242", accent: "#0072B2", ok: "#00735A", warn: "#A05A00",
		bad: "#A33A00", info: "#0072B2", ref: "#0072B2", live: "#B36B00",
		g50: 25, g95: 130, g99: 160, gslo: 242, gaxis: 244},
}

// New builds the named theme on r (nil: a renderer on no output with the
// Ascii profile, which suits tests).
func New(name string, r *lipgloss.Renderer) (*Theme, error) {
	if name == "" {
		name = "default"
	}
	if !slices.Contains(Names, name) {
		return nil, fmt.Errorf("theme %q: unknown (choose %s)", name, strings.Join(Names, ", "))
	}
	if r == nil {
		r = lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.Ascii)
	}
	t := &Theme{Name: name, R: r, Plain: r.ColorProfile() == termenv.Ascii}
	ns := r.NewStyle
	t.Text = ns()
	t.Box = ns()
	if name == "mono" {
		t.Sym = asciiSymbols
		t.Muted = ns().Faint(true)
		t.Title = ns().Bold(true)
		t.Accent = ns().Bold(true)
		t.Key = ns().Bold(true)
		t.OK = ns()
		t.Warn = ns().Bold(true)
		t.Bad = ns().Bold(true).Underline(true)
		t.Info = ns()
		t.Selected = ns().Reverse(true)
		t.TabActive = ns().Reverse(true).Bold(true)
		t.TabIdle = ns().Faint(true)
		t.Rule = ns().Faint(true)
		t.RefBar = ns()
		t.LiveBar = ns().Bold(true)
		t.Graph = GraphStyle{Chars: [4]asciigraph.CharSet{
			asciigraph.DefaultCharSet, asciigraph.CreateCharSet("+"),
			asciigraph.CreateCharSet("*"), asciigraph.CreateCharSet("-")}}
		return t, nil
	}
	p := palettes[name]
	c := func(s string) lipgloss.TerminalColor { return lipgloss.Color(s) }
	t.Sym = unicodeSymbols
	t.Muted = ns().Foreground(c(p.muted))
	t.Title = ns().Bold(true).Foreground(c(p.accent))
	t.Accent = ns().Foreground(c(p.accent))
	t.Key = ns().Bold(true).Foreground(c(p.accent))
	t.OK = ns().Foreground(c(p.ok))
	t.Warn = ns().Foreground(c(p.warn)).Bold(true)
	t.Bad = ns().Foreground(c(p.bad)).Bold(true)
	t.Info = ns().Foreground(c(p.info))
	t.Selected = ns().Reverse(true)
	t.TabActive = ns().Reverse(true).Bold(true)
	t.TabIdle = ns().Foreground(c(p.muted))
	t.Rule = ns().Foreground(c(p.muted))
	t.RefBar = ns().Foreground(c(p.ref))
	t.LiveBar = ns().Foreground(c(p.live))
	dotted := asciigraph.CreateCharSet("┄")
	t.Graph = GraphStyle{Colors: !t.Plain, P50: p.g50, P95: p.g95, P99: p.g99, SLO: p.gslo, Axis: p.gaxis,
		Chars: [4]asciigraph.CharSet{asciigraph.DefaultCharSet, asciigraph.DefaultCharSet, asciigraph.DefaultCharSet, dotted}}
	if t.Plain {
		// Without colour the three latency lines must differ by shape.
		t.Graph.Chars = [4]asciigraph.CharSet{asciigraph.DefaultCharSet,
			asciigraph.CreateCharSet("+"), asciigraph.CreateCharSet("*"), dotted}
	}
	return t, nil
}

// Style returns the style of a level.
func (t *Theme) Style(l Level) lipgloss.Style {
	switch l {
	case LevelOK:
		return t.OK
	case LevelWarn:
		return t.Warn
	case LevelBad:
		return t.Bad
	case LevelInfo:
		return t.Info
	default:
		return t.Muted
	}
}

// Symbol returns the glyph of a level.
func (t *Theme) Symbol(l Level) string {
	switch l {
	case LevelOK:
		return t.Sym.OK
	case LevelWarn:
		return t.Sym.Warn
	case LevelBad:
		return t.Sym.Bad
	case LevelInfo:
		return t.Sym.Info
	default:
		return t.Sym.Muted
	}
}

// State renders "symbol word" in the level's style: state is never colour alone.
func (t *Theme) State(l Level, word string) string {
	return t.Style(l).Render(t.Symbol(l) + " " + word)
}

// Rulef renders a section title followed by a rule to width w.
func (t *Theme) Rulef(w int, title string) string {
	tw := lipgloss.Width(title)
	if tw+2 >= w {
		return t.Title.Render(title)
	}
	line := "─"
	if t.Name == "mono" {
		line = "-"
	}
	return t.Title.Render(title) + " " + t.Rule.Render(strings.Repeat(line, w-tw-1))
}

// Bar renders a horizontal bar of frac (0..1) over w cells.
func (t *Theme) Bar(frac float64, w int, s lipgloss.Style) string {
	if w <= 0 {
		return ""
	}
	if frac != frac || frac < 0 { // NaN or negative
		frac = 0
	}
	if frac > 1 {
		frac = 1
	}
	n := int(frac*float64(w) + 0.5)
	full := strings.Repeat(t.Sym.BarFull, n)
	empty := strings.Repeat(t.Sym.BarEmpty, w-n)
	return s.Render(full) + t.Muted.Render(empty)
}

// Cursor returns the selection marker column for a row.
func (t *Theme) Cursor(selected bool) string {
	if selected {
		return t.Accent.Render(t.Sym.Cursor)
	}
	return t.Sym.NoCursor
}

// Border is the dialog border of the theme: ASCII for mono.
func (t *Theme) Border() lipgloss.Border {
	if t.Name == "mono" {
		return lipgloss.Border{Top: "-", Bottom: "-", Left: "|", Right: "|", TopLeft: "+", TopRight: "+", BottomLeft: "+", BottomRight: "+"}
	}
	return lipgloss.RoundedBorder()
}
