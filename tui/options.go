// Package tui is the CarVision operations console: a Bubble Tea program that
// reaches the engine only through engine.Client. New builds one session's
// model (locally or per SSH session); Run runs it in the terminal.
package tui

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"carvision/engine"
	"carvision/tui/theme"
)

// Options configure one console session.
type Options struct {
	Theme    string // default | mono | light ("" = default, or mono under NO_COLOR)
	Mouse    bool   // capture the mouse (breaks terminal text selection)
	ReadOnly bool   // refuse every state-changing action
	Demo     bool   // start demo traffic at launch
	Actor    engine.Actor
	Clock    func() time.Time // default time.Now; fixed in tests
	// Width and Height pre-size the model (tests); a WindowSizeMsg overrides.
	Width, Height int
	// Renderer styles every string of this session (per SSH session);
	// default: a renderer on stdout.
	Renderer *lipgloss.Renderer
	// Notices are shared status-line messages (e.g. other SSH sessions' actions).
	Notices <-chan string
	// Environ is the session's environment (NO_COLOR); default os.Environ().
	Environ []string
	// Refresh is the polling interval of snapshots and logs (default 1s).
	Refresh time.Duration
	// Timeout bounds one engine call (default 3s).
	Timeout time.Duration
	// Clipboard copies text to the operator's clipboard; default OSC 52
	// through the renderer's output, which reaches a local clipboard over SSH.
	Clipboard func(text string) error
	// Context bounds the session; cancelling it stops streams and retrains.
	Context context.Context
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Renderer == nil {
		o.Renderer = lipgloss.NewRenderer(os.Stdout)
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.Theme == "" && noColor(o.Environ) {
		o.Theme = "mono"
	}
	if o.Clipboard == nil {
		r := o.Renderer
		o.Clipboard = func(text string) error {
			r.Output().Copy(text)
			return nil
		}
	}
}

// noColor reports NO_COLOR set to anything non-empty (no-color.org).
func noColor(env []string) bool {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return true
		}
	}
	return false
}

// Run runs the console in the terminal until the operator quits or ctx ends.
func Run(ctx context.Context, client engine.Client, opts Options, popts ...tea.ProgramOption) error {
	opts.Context = ctx
	m, err := newModel(client, opts)
	if err != nil {
		return err
	}
	all := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if opts.Mouse {
		all = append(all, tea.WithMouseCellMotion())
	}
	all = append(all, popts...)
	defer m.Close()
	_, err = tea.NewProgram(m, all...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // the caller ended the session
	}
	return err
}

// New builds the console model for one session. An unknown theme falls back
// to the default with a flash; use Run to run it. A key table made invalid
// by a registered page (two actions on one key) is a programming error and
// panics with both actions named.
func New(client engine.Client, opts Options) tea.Model {
	themeErr := error(nil)
	if _, err := theme.New(opts.Theme, nil); err != nil {
		themeErr, opts.Theme = err, ""
	}
	m, err := newModel(client, opts)
	if err != nil {
		panic("tui: " + err.Error())
	}
	if themeErr != nil {
		m.setFlash(theme.LevelWarn, themeErr.Error()+"; using the default theme")
	}
	return m
}
