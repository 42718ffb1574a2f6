package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/synth"
)

func newTrainCmd() *cobra.Command {
	var data, out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train and evaluate a model into a folder (model, metrics.json, processed splits)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := settings()
			if err != nil {
				return err
			}
			if data != "" {
				s.DataPath, _ = filepath.Abs(data)
			}
			if out == "" {
				out = s.Abs(s.ArtifactsDir)
			}
			s.ArtifactsDir, _ = filepath.Abs(out)
			s.ProcessedDir = filepath.Join(s.ArtifactsDir, "processed")
			s.ModelsDir = filepath.Join(s.ArtifactsDir, "models")
			res, err := pipeline.Repro(cmd.Context(), pipeline.Options{
				Settings: s, Force: true, NoLock: true,
				OnEvent: progressPrinter(cmd.ErrOrStderr(), asJSON, !asJSON && isTerminal(os.Stderr)),
			})
			if err != nil {
				return exit(1, err)
			}
			return printMetrics(cmd.OutOrStdout(), filepath.Join(s.ArtifactsDir, pipeline.MetricsFile), res, asJSON)
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "raw CSV (default: paths.data_path, or the synthetic default when absent)")
	cmd.Flags().StringVar(&out, "out", "", "output folder (default: paths.artifacts_dir)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON lines instead of a progress bar")
	return cmd
}

func printMetrics(w io.Writer, path string, res *pipeline.Result, asJSON bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return exit(1, err)
	}
	if asJSON {
		_, err := w.Write(b)
		return err
	}
	var rep pipeline.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return exit(1, err)
	}
	fmt.Fprintf(w, "model %s (%s, %d trees) → %s\n", rep.Model.ID, rep.Model.Kind, rep.Model.Trees, res.ModelPath)
	fmt.Fprintf(w, "rows: clean %d · train %d · valid %d · test %d\n\n", rep.Rows.Clean, rep.Rows.Train, rep.Rows.Valid, rep.Rows.Test)
	fmt.Fprintf(w, "%-10s %10s %10s %8s %7s\n", "", "RMSE", "MAE", "MAPE %", "R²")
	fmt.Fprintf(w, "%-10s %10.0f %10.0f %8.2f %7.4f\n", "model", rep.Test.RMSE, rep.Test.MAE, rep.Test.MAPE, rep.Test.R2)
	fmt.Fprintf(w, "%-10s %10.0f %10.0f %8.2f %7.4f\n", "baseline", rep.Baseline.RMSE, rep.Baseline.MAE, rep.Baseline.MAPE, rep.Baseline.R2)
	if rep.Temporal != nil {
		t := rep.Temporal.Metrics
		fmt.Fprintf(w, "%-10s %10.0f %10.0f %8.2f %7.4f  (trained before %s, scored %d newer)\n", "backtest", t.RMSE, t.MAE, t.MAPE, t.R2, rep.Temporal.Cut, t.N)
	}
	if rep.Bootstrap != nil {
		fmt.Fprintf(w, "\nΔRMSE vs baseline %.0f, 95%% CI [%.0f, %.0f]\n", rep.Bootstrap.DeltaRMSEMean, rep.Bootstrap.CI95[0], rep.Bootstrap.CI95[1])
	}
	fmt.Fprintf(w, "interval %.0f%%: coverage on test %.1f%%, mean width %.0f\n", 100*rep.Interval.Nominal, 100*rep.Interval.Coverage, rep.Interval.MeanWidth)
	fmt.Fprintf(w, "fit %.3fs\n", rep.FitSeconds)
	return nil
}

func newEvaluateCmd() *cobra.Command {
	var modelPath, data string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Score a model on a CSV, cleaned with the model's own filters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" || data == "" {
				return errorf("evaluate needs --model FILE and --data CSV")
			}
			m, err := model.Load(modelPath)
			if err != nil {
				return exit(2, err)
			}
			met, rep, err := pipeline.ScoreFile(m, data)
			if err != nil {
				return exit(1, err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"model": m.ID, "metrics": met, "clean": rep})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "model %s on %s: %d rows scored (%d raw)\nRMSE %.0f  MAE %.0f  MAPE %.2f%%  R² %.4f\n",
				m.ID, data, met.N, rep.RowsIn, met.RMSE, met.MAE, met.MAPE, met.R2)
			return nil
		},
	}
	cmd.Flags().StringVar(&modelPath, "model", "", "model file")
	cmd.Flags().StringVar(&data, "data", "", "CSV to score")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newPredictCmd() *cobra.Command {
	var modelPath string
	var explain bool
	cmd := &cobra.Command{
		Use:   "predict [JSON | -]",
		Short: "Price one listing or a JSON array of listings",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if modelPath == "" {
				return errorf("predict needs --model FILE")
			}
			m, err := model.Load(modelPath)
			if err != nil {
				return exit(2, err)
			}
			var raw []byte
			if len(args) == 0 || args[0] == "-" {
				if raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20)); err != nil {
					return exit(2, err)
				}
			} else {
				raw = []byte(args[0])
			}
			listings, isArray, err := decodeListings(raw)
			if err != nil {
				return exit(2, err)
			}
			out := make([]engine.Prediction, 0, len(listings))
			for i, l := range listings {
				p, err := m.Predict(l, engine.PredictOptions{Explain: explain})
				if err != nil {
					return exit(1, fmt.Errorf("listing %d: %w", i, err))
				}
				out = append(out, p)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			if isArray {
				return enc.Encode(out)
			}
			return enc.Encode(out[0])
		},
	}
	cmd.Flags().StringVar(&modelPath, "model", "", "model file")
	cmd.Flags().BoolVar(&explain, "explain", false, "add per-feature contributions")
	return cmd
}

func newGenDataCmd() *cobra.Command {
	var rows int
	var seed int64
	var out string
	cmd := &cobra.Command{
		Use:   "gen-data",
		Short: "Write a deterministic synthetic vehicles_us.csv",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rows <= 0 {
				return errorf("--rows must be positive, got %d", rows)
			}
			if out == "" {
				return errorf("gen-data needs --out CSV")
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return exit(1, err)
			}
			if err := synth.Generate(rows, seed).WriteCSVFile(out, false); err != nil {
				return exit(1, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d rows to %s\n", rows, out)
			return nil
		},
	}
	cmd.Flags().IntVar(&rows, "rows", synth.DefaultRows, "rows")
	cmd.Flags().Int64Var(&seed, "seed", synth.DefaultSeed, "seed")
	cmd.Flags().StringVar(&out, "out", "", "output CSV")
	return cmd
}
