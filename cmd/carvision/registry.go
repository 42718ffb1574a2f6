package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/local"
	"carvision/engine/pipeline"
	"carvision/engine/registry"
)

// withEngine runs a command with the engine open (quietly) and closes it after.
func withEngine(run func(cmd *cobra.Command, e *local.Engine, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		e, err := quietEngine(cmd)
		if err != nil {
			return err
		}
		defer e.Close()
		return run(cmd, e, args)
	}
}

// quietEngine opens the engine for a CLI command: logs go to the log file only.
func quietEngine(cmd *cobra.Command) (*local.Engine, error) {
	e, err := openEngine(cmd.Context(), local.Options{ConfigPath: g.configPath, Quiet: true})
	if err != nil {
		return nil, exit(2, err)
	}
	return e, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newReproCmd() *cobra.Command {
	var force, dry, asJSON, wait bool
	cmd := &cobra.Command{
		Use:   "repro",
		Short: "Run the pipeline, re-running only the stages whose inputs changed",
		Args:  cobra.NoArgs,
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, _ []string) error {
			s := e.Settings()
			opt := pipeline.Options{Settings: s, Force: force, DryRun: dry, Wait: wait, Who: localActor().Name,
				ConfigHash: e.ConfigHash(), Registrar: e.Registry(),
				OnEvent: progressPrinter(cmd.ErrOrStderr(), asJSON, !asJSON && isTerminal(os.Stderr))}
			if dry {
				opt.OnEvent = nil
			}
			res, err := pipeline.Repro(cmd.Context(), opt)
			if err != nil {
				if errors.Is(err, pipeline.ErrBusy) {
					return exit(2, err)
				}
				return exit(1, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "STAGE\tSTATUS\tDURATION\tWHY")
			for _, st := range res.Stages {
				d := "-"
				if st.Duration > 0 {
					d = st.Duration.Round(time.Millisecond).String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", st.Name, st.Status, d, st.Why)
			}
			w.Flush()
			if res.Version != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\nregistered v%s as challenger. Next: carvision metrics diff && carvision models promote %s\n", res.Version, res.Version)
			} else if !dry && !res.Ran() {
				fmt.Fprintln(cmd.OutOrStdout(), "\nnothing changed: every stage is up to date")
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&force, "force", false, "re-run every stage")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "say what would run and why, run nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON lines of progress and a JSON result")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for another running repro instead of refusing")
	return cmd
}

func newModelsCmd() *cobra.Command {
	var asJSON, force bool
	var reason string
	cmd := &cobra.Command{Use: "models", Short: "List, show, promote and roll back model versions"}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	list := &cobra.Command{
		Use: "list", Short: "List model versions with their metrics and aliases", Args: cobra.NoArgs,
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, _ []string) error {
			vs, err := e.Store().ModelVersions(cmd.Context())
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), vs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tALIASES\tCREATED\tRMSE\tMAPE %\tR²\tRUN")
			for _, v := range vs {
				fmt.Fprintf(w, "v%s\t%s\t%s\t%.0f\t%.2f\t%.4f\t%s\n", v.Version, strings.Join(v.Aliases, ","),
					v.CreatedAt.Local().Format("2006-01-02 15:04"), v.Metrics["test.rmse"], v.Metrics["test.mape"], v.Metrics["test.r2"], v.RunID)
			}
			return w.Flush()
		}),
	}
	show := &cobra.Command{
		Use: "show VERSION", Short: "Show one version: metrics, params, file", Args: cobra.ExactArgs(1),
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, args []string) error {
			v, err := e.Store().ModelVersion(cmd.Context(), strings.TrimPrefix(args[0], "v"))
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "version v%s  aliases [%s]  created %s\nfile %s (sha256 %s)\nrun %s\n\n", v.Version, strings.Join(v.Aliases, ","),
				v.CreatedAt.Local().Format(time.RFC3339), v.Path, v.SHA256, v.RunID)
			rows := registry.MetricRows("metrics", nil, v.Metrics, false)
			w := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\n", r.Name, r.New)
			}
			return w.Flush()
		}),
	}
	promote := &cobra.Command{
		Use: "promote VERSION", Short: "Make VERSION the champion (through the gate; --force needs --reason)", Args: cobra.ExactArgs(1),
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, args []string) error {
			gate, err := e.Registry().Promote(cmd.Context(), args[0], engine.ActionRequest{Actor: localActor(), Reason: reason, Force: force})
			if asJSON {
				_ = printJSON(cmd.OutOrStdout(), map[string]any{"version": args[0], "gate": gate, "error": errString(err)})
			} else {
				for _, r := range gate.Reasons {
					fmt.Fprintln(cmd.OutOrStdout(), r)
				}
			}
			if err != nil {
				return exit(1, err)
			}
			e.Publish("promote", localActor().Name, "v"+strings.TrimPrefix(args[0], "v")+" promoted to champion")
			if !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "v%s is now champion (a running `carvision serve` swaps to it)\n", strings.TrimPrefix(args[0], "v"))
			}
			return nil
		}),
	}
	promote.Flags().BoolVar(&force, "force", false, "promote even if the gate fails (needs --reason)")
	promote.Flags().StringVar(&reason, "reason", "", "why (recorded with the move)")
	rollback := &cobra.Command{
		Use: "rollback", Short: "Move champion back to the previous champion", Args: cobra.NoArgs,
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, _ []string) error {
			v, err := e.Registry().Rollback(cmd.Context(), engine.ActionRequest{Actor: localActor(), Reason: reason})
			if err != nil {
				return exit(1, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]string{"champion": v})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "champion rolled back to v%s\n", v)
			return nil
		}),
	}
	rollback.Flags().StringVar(&reason, "reason", "", "why (recorded with the move)")
	cmd.AddCommand(list, show, promote, rollback)
	return cmd
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func newRunsCmd() *cobra.Command {
	var asJSON, diffOnly bool
	var limit int
	cmd := &cobra.Command{Use: "runs", Short: "List, show and compare pipeline runs"}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	list := &cobra.Command{
		Use: "list", Short: "List runs, newest first", Args: cobra.NoArgs,
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, _ []string) error {
			runs, err := e.Store().ListRuns(cmd.Context(), limit)
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), runs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tSTATUS\tSTARTED\tDURATION\tWHO\tERROR")
			for _, r := range runs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, r.StartedAt.Local().Format("2006-01-02 15:04:05"),
					r.Duration.Round(time.Millisecond), r.Who, r.Error)
			}
			return w.Flush()
		}),
	}
	list.Flags().IntVar(&limit, "limit", 20, "how many")
	show := &cobra.Command{
		Use: "show ID", Short: "Show a run: params, metrics, artifacts", Args: cobra.ExactArgs(1),
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, args []string) error {
			ctx := cmd.Context()
			r, err := e.Store().GetRun(ctx, args[0])
			if err != nil {
				return exit(2, err)
			}
			params, _ := e.Store().RunParams(ctx, r.ID)
			metrics, _ := e.Store().LatestMetrics(ctx, r.ID)
			arts, _ := e.Store().RunArtifacts(ctx, r.ID)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"run": r, "params": params, "metrics": metrics, "artifacts": arts})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "run %s  %s  %s  by %s\n", r.ID, r.Status, r.Duration.Round(time.Millisecond), r.Who)
			if r.Error != "" {
				fmt.Fprintf(out, "error: %s\n", r.Error)
			}
			w := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "\nMETRIC\tVALUE")
			for _, row := range registry.MetricRows("", nil, metrics, false) {
				fmt.Fprintf(w, "%s\t%s\n", row.Name, row.New)
			}
			fmt.Fprintln(w, "\nPARAM\tVALUE")
			for _, row := range registry.ParamRows("", nil, params, false) {
				fmt.Fprintf(w, "%s\t%s\n", row.Name, row.New)
			}
			fmt.Fprintln(w, "\nARTIFACT\tBYTES\tSHA256")
			for _, a := range arts {
				fmt.Fprintf(w, "%s\t%d\t%s\n", a.Path, a.Bytes, a.SHA256[:12])
			}
			return w.Flush()
		}),
	}
	compare := &cobra.Command{
		Use: "compare A B", Short: "Compare two runs' metrics and params", Args: cobra.ExactArgs(2),
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, args []string) error {
			ctx := cmd.Context()
			ma, err := e.Store().LatestMetrics(ctx, args[0])
			if err != nil {
				return exit(2, err)
			}
			mb, err := e.Store().LatestMetrics(ctx, args[1])
			if err != nil {
				return exit(2, err)
			}
			pa, _ := e.Store().RunParams(ctx, args[0])
			pb, _ := e.Store().RunParams(ctx, args[1])
			rows := append(registry.MetricRows("metrics", ma, mb, diffOnly), registry.ParamRows("params", pa, pb, diffOnly)...)
			return printDiff(cmd.OutOrStdout(), rows, asJSON)
		}),
	}
	compare.Flags().BoolVar(&diffOnly, "diff-only", false, "only rows that differ")
	cmd.AddCommand(list, show, compare)
	return cmd
}

func printDiff(w io.Writer, rows []engine.DiffRow, asJSON bool) error {
	if asJSON {
		return printJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "Path\tMetric\tOld\tNew\tChange")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Path, r.Name, r.Old, r.New, r.Change)
	}
	return tw.Flush()
}

// diffSides resolves `metrics diff [A [B]]`: no args compares the champion
// with the workspace (artifacts/metrics.json); one arg, the champion with a
// version or run; two, those two.
func diffSides(cmd *cobra.Command, e *local.Engine, args []string, metrics bool) ([]engine.DiffRow, error) {
	ctx := cmd.Context()
	champ, ok, err := e.Registry().Resolve(ctx, registry.Champion)
	if err != nil {
		return nil, err
	}
	side := func(ref string) (map[string]float64, map[string]string, string, error) {
		if ref == "workspace" {
			s := e.Settings()
			b, err := os.ReadFile(s.Abs(filepath.Join(s.ArtifactsDir, pipeline.MetricsFile)))
			if err != nil {
				return nil, nil, "", fmt.Errorf("workspace: %w (run `carvision repro`)", err)
			}
			var rep pipeline.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				return nil, nil, "", err
			}
			return rep.Flat(), nil, "workspace", nil
		}
		if v, err := e.Store().ModelVersion(ctx, strings.TrimPrefix(ref, "v")); err == nil {
			return v.Metrics, v.Params, "v" + v.Version, nil
		}
		m, err := e.Store().LatestMetrics(ctx, ref)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s is neither a model version nor a run: %w", ref, err)
		}
		p, _ := e.Store().RunParams(ctx, ref)
		return m, p, ref, nil
	}
	a, b := "", "workspace"
	switch len(args) {
	case 0:
		if !ok {
			return nil, errors.New("no champion yet: pass two versions or runs")
		}
		a = champ.Version
	case 1:
		if !ok {
			return nil, errors.New("no champion yet: pass two versions or runs")
		}
		a, b = champ.Version, args[0]
	default:
		a, b = args[0], args[1]
	}
	ma, pa, la, err := side(a)
	if err != nil {
		return nil, err
	}
	mb, pb, lb, err := side(b)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("%s→%s", la, lb)
	if metrics {
		return registry.MetricRows(path, ma, mb, false), nil
	}
	return registry.ParamRows(path, pa, pb, false), nil
}

func newMetricsCmd() *cobra.Command {
	return newDiffCmd("metrics", "Compare metrics (dvc metrics diff)", "Metrics of champion vs workspace, or of two versions/runs", true)
}

func newParamsCmd() *cobra.Command {
	return newDiffCmd("params", "Compare params (dvc params diff)", "Params of champion vs a version/run, or of two", false)
}

// newDiffCmd is `metrics diff` and `params diff`: the rows of dvc's diff,
// path, name, old, new, change.
func newDiffCmd(use, short, diffShort string, metrics bool) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: use, Short: short}
	diff := &cobra.Command{
		Use: "diff [A] [B]", Short: diffShort, Args: cobra.MaximumNArgs(2),
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, args []string) error {
			if !metrics && len(args) == 0 {
				return errorf("params diff needs a version or run to compare the champion with")
			}
			rows, err := diffSides(cmd, e, args, metrics)
			if err != nil {
				return exit(2, err)
			}
			return printDiff(cmd.OutOrStdout(), rows, asJSON)
		}),
	}
	diff.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(diff)
	return cmd
}

func newAuditCmd() *cobra.Command {
	var since time.Duration
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use: "audit", Short: "List sessions and state-changing actions", Args: cobra.NoArgs,
		RunE: withEngine(func(cmd *cobra.Command, e *local.Engine, _ []string) error {
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			log, err := e.Store().AuditLog(cmd.Context(), from, limit)
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), log)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tACTOR\tROLE\tACTION\tDETAIL\tOUTCOME")
			for _, a := range log {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.At.Local().Format("2006-01-02 15:04:05"), a.Actor, a.Role, a.Action, a.Detail, a.Outcome)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().DurationVar(&since, "since", 0, "only entries newer than this (e.g. 24h)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "how many")
	return cmd
}
