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
	if err := bootstrap(ctx, e); err != nil {
		return exit(1, err)
	}
	if opts.Theme == "" {
		opts.Theme = e.ConsoleTheme()
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

// bootstrap trains a first champion when there is none, with a progress
// line, then starts the engine's watchers.
func bootstrap(ctx context.Context, e *local.Engine) error {
	if err := e.EnsureChampion(ctx, progressPrinter(os.Stderr, false, isTerminal(os.Stderr))); err != nil {
		return err
	}
	return e.Start(ctx)
}

func openEngine(ctx context.Context, o local.Options) (*local.Engine, error) {
	return local.Open(ctx, o)
}
