package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/local"
	"carvision/runbook"
	"carvision/runbook/checks"
	"carvision/runbook/storerec"
	"carvision/tui"
	"carvision/tui/pages/runbooks"
)

// runbookKit loads the runbook library (shipped + the user folder) and a
// runner whose checks and actions reach the engine.
func runbookKit(ctx context.Context, e *local.Engine) (*runbook.Library, *runbook.Runner, error) {
	cfg := e.ConfigSnapshot()
	dir := ""
	if cfg.Paths.RunbooksDir != "" {
		dir = e.Abs(cfg.Paths.RunbooksDir)
	}
	lib, err := runbook.LoadLibrary(dir)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		go func() {
			_ = lib.Watch(ctx, 200*time.Millisecond, func(problems []error) {
				for _, p := range problems {
					e.Logger().Warn("runbook refused", "err", p)
				}
			})
		}()
	}
	env := &checks.OSEnv{Engine: e, Conf: e.ConfigSnapshot, Dir: e.Abs("."),
		Rotate: func(ctx context.Context, req engine.ActionRequest) error { return e.RotateLogs(ctx, req.Actor) }}
	return lib, runbook.NewRunner(env, storerec.New(e.Store())), nil
}

// addRunbookPage gives the console its Runbooks page (key 9), before Market
// (key 0) so that tab follows the number row.
func addRunbookPage(lib *runbook.Library, r *runbook.Runner) {
	e := tui.Entry{Key: "9", Aliases: []string{"rb", "runbook"}, New: runbooks.New(lib, r)}
	for i, x := range tui.Registry {
		if x.Key == "9" {
			return
		}
		if x.Key == "0" {
			tui.Registry = append(tui.Registry[:i:i], append([]tui.Entry{e}, tui.Registry[i:]...)...)
			return
		}
	}
	tui.Registry = append(tui.Registry, e)
}

func newRunbookCmd() *cobra.Command {
	var asJSON, yes, onlyChecks, readonly bool
	var resume, reason string
	cmd := &cobra.Command{Use: "runbook", Short: "List, show and run the troubleshooting runbooks"}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	kit := func(cmd *cobra.Command) (*local.Engine, *runbook.Library, *runbook.Runner, error) {
		e, err := quietEngine(cmd)
		if err != nil {
			return nil, nil, nil, err
		}
		lib, r, err := runbookKit(cmd.Context(), e)
		if err != nil {
			e.Close()
			return nil, nil, nil, exit(2, err)
		}
		return e, lib, r, nil
	}
	list := &cobra.Command{
		Use: "list", Short: "List runbooks (shipped and from paths.runbooks_dir)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, lib, _, err := kit(cmd)
			if err != nil {
				return err
			}
			defer e.Close()
			return runbook.PrintList(cmd.OutOrStdout(), lib, asJSON)
		},
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show a runbook's steps and why each exists", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, lib, _, err := kit(cmd)
			if err != nil {
				return err
			}
			defer e.Close()
			if err := runbook.PrintShow(cmd.OutOrStdout(), lib, args[0], asJSON); err != nil {
				return exit(2, err)
			}
			return nil
		},
	}
	run := &cobra.Command{
		Use:   "run ID",
		Short: "Run a runbook non-interactively (exit 0 all pass, 1 a check failed or warned, 2 could not run)",
		Long:  "Runs the steps in order against the live engine. It stops before actions and dangerous steps unless --yes.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, lib, r, err := kit(cmd)
			if err != nil {
				return err
			}
			defer e.Close()
			// Checks read the served model and the live windows: load the champion.
			if err := e.Start(cmd.Context()); err != nil {
				return exit(2, err)
			}
			code := runbook.RunCLI(cmd.Context(), cmd.OutOrStdout(), r, lib, args[0], runbook.CLIOptions{
				Yes: yes, JSON: asJSON, OnlyChecks: onlyChecks, Actor: localActor(), ReadOnly: readonly, Resume: resume, Reason: reason})
			if code != 0 {
				return exit(code, nil)
			}
			return nil
		},
	}
	run.Flags().BoolVar(&yes, "yes", false, "run actions and dangerous steps without stopping")
	run.Flags().BoolVar(&onlyChecks, "only-checks", false, "run the check steps only")
	run.Flags().BoolVar(&readonly, "readonly", false, "refuse state-changing steps")
	run.Flags().StringVar(&resume, "resume", "", "continue this execution id")
	run.Flags().StringVar(&reason, "reason", "", "recorded with actions")
	cmd.AddCommand(list, show, run)
	return cmd
}
