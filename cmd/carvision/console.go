package main

import (
	"context"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/local"
	"carvision/engine/remote"
	"carvision/tui"
)

type consoleFlags struct {
	demo     bool
	readonly bool
	api      string
	theme    string
	mouse    bool
	addr     string
}

func newConsoleCmd() *cobra.Command {
	var f consoleFlags
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Open the operations console (the default command)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runConsole(cmd, f) },
	}
	cmd.Flags().BoolVar(&f.demo, "demo", false, "start demo traffic at once")
	cmd.Flags().BoolVar(&f.readonly, "readonly", false, "refuse every state-changing action")
	cmd.Flags().StringVar(&f.api, "api", "", "attach to a running `carvision serve` at this URL instead of serving in-process")
	cmd.Flags().StringVar(&f.theme, "theme", "", "default | mono | light (default from config)")
	cmd.Flags().BoolVar(&f.mouse, "mouse", false, "capture the mouse")
	cmd.Flags().StringVar(&f.addr, "addr", "", "API address to serve on (default serve.addr)")
	return cmd
}

func localActor() engine.Actor {
	name := "local"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return engine.Actor{Name: name, Role: "operator"}
}

func runConsole(cmd *cobra.Command, f consoleFlags) error {
	ctx := cmd.Context()
	opts := tui.Options{Theme: f.theme, Mouse: f.mouse, ReadOnly: f.readonly, Demo: f.demo, Actor: localActor()}
	if f.api != "" {
		c := remote.New(f.api, nil)
		if _, err := c.Health(ctx); err != nil {
			return exit(2, fmt.Errorf("attach to %s: %w", f.api, err))
		}
		opts.Demo = false
		return tui.Run(ctx, c, opts)
	}
	if !isTerminal(os.Stdout) {
		return errorf("the console needs a terminal; use `carvision status` for a text summary")
	}
	e, err := openEngine(ctx, local.Options{ConfigPath: g.configPath, ReadOnly: f.readonly, Quiet: true, APIAddr: f.addr})
	if err != nil {
		return exit(2, err)
	}
	defer e.Close()
	if opts.Theme == "" {
		opts.Theme = e.ConsoleTheme()
	}
	if err := bootstrap(ctx, e, opts.Theme); err != nil {
		return exit(1, err)
	}
	lib, runner, err := runbookKit(ctx, e)
	if err != nil {
		return exit(2, err)
	}
	addRunbookPage(lib, runner)
	if _, err := e.Serve(ctx, ""); err != nil {
		return exit(2, err)
	}
	if f.demo {
		if err := e.SetDemo(ctx, true); err != nil {
			return exit(2, err)
		}
		opts.Demo = false // already started; the console shows it on
	}
	return tui.Run(ctx, e, opts)
}

// bootstrap trains a first champion when there is none, drawing its
// progress full-screen, then starts the engine's watchers.
func bootstrap(ctx context.Context, e *local.Engine, themeName string) error {
	if e.HasChampion(ctx) {
		return e.Start(ctx)
	}
	// The training gets its own context (ctrl+c on the progress screen
	// cancels it); the watchers started after it live as long as the console.
	trainCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan engine.PipelineEvent, 64)
	done := make(chan error, 1)
	go func() {
		err := e.EnsureChampion(trainCtx, func(ev engine.PipelineEvent) {
			if ev.Done {
				events <- ev // the last event is never dropped
				return
			}
			select {
			case events <- ev:
			default: // a slow screen loses progress ticks, not the outcome
			}
		})
		close(events)
		done <- err
	}()
	if err := tui.Bootstrap(trainCtx, cancel, e.DataSource(), events, themeName); err != nil {
		return fmt.Errorf("first training: %w", err)
	}
	if err := <-done; err != nil {
		return err
	}
	return e.Start(ctx)
}

func openEngine(ctx context.Context, o local.Options) (*local.Engine, error) {
	return local.Open(ctx, o)
}
