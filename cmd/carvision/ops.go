package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/demo"
	"carvision/engine/drift"
	"carvision/engine/loadtest"
	"carvision/engine/market"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/prep"
	"carvision/engine/remote"
	"carvision/engine/synth"
)

func newDriftCmd() *cobra.Command {
	var refPath, curPath, modelPath string
	var asJSON bool
	var year int
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Compare two CSVs for drift (exit 0 no drift, 1 drift, 2 error)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if refPath == "" || curPath == "" {
				return errorf("drift needs --ref A.csv and --cur B.csv")
			}
			ref, err := dataset.Load(refPath)
			if err != nil {
				return exit(2, err)
			}
			cur, err := dataset.Load(curPath)
			if err != nil {
				return exit(2, err)
			}
			_, cfg, err := settings()
			if err != nil {
				return err
			}
			if year == 0 {
				year = cfg.DatasetYear
			}
			var m *model.Model
			if modelPath != "" {
				if m, err = model.Load(modelPath); err != nil {
					return exit(2, err)
				}
				year = m.Spec.DatasetYear
			}
			rn, rc := driftColumns(ref, year, m)
			cn, cc := driftColumns(cur, year, m)
			c := cfg.Drift
			th := drift.Thresholds{MinWindow: c.MinWindow, PSIThreshold: c.PSIThreshold, PSIRetrain: c.PSIRetrain,
				PSIRetrainFeatures: c.PSIRetrainFeatures, KSP: c.KSP, JSThreshold: c.JSThreshold,
				WassersteinThreshold: c.WassersteinThreshold, DatasetDriftShare: c.DatasetDriftShare}
			res, err := drift.CompareFrames(rn, cn, rc, cc, th)
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), res); err != nil {
					return exit(2, err)
				}
			} else {
				printDrift(cmd.OutOrStdout(), res.DriftSummary(), res.Summary.MaxPSI, res.Summary.MinPValue)
			}
			if res.Drifted() {
				return exit(1, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&refPath, "ref", "", "reference CSV (e.g. the training data)")
	cmd.Flags().StringVar(&curPath, "cur", "", "current CSV (e.g. recent listings)")
	cmd.Flags().StringVar(&modelPath, "model", "", "model file: adds predicted price and uses its reference year")
	cmd.Flags().IntVar(&year, "year", 0, "reference year for vehicle_age (default dataset_year)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the original check_drift.py JSON plus verdicts")
	return cmd
}

// driftColumns extracts the monitored columns of a frame (and the model's
// predicted price when a model is given).
func driftColumns(f *dataset.Frame, year int, m *model.Model) (map[string][]float64, map[string][]string) {
	age := make([]float64, f.Len())
	brand := make([]string, f.Len())
	for i := range age {
		age[i] = prep.VehicleAge(f.ModelYear[i], year)
		brand[i] = prep.Brand(f.Model[i])
	}
	num := map[string][]float64{"price": f.Price, "vehicle_age": age, "model_year": f.ModelYear,
		"odometer": f.Odometer, "cylinders": f.Cylinders}
	if m != nil {
		num["predicted_price"] = pipeline.PredictFrame(m, f)
	}
	cat := map[string][]string{"model": f.Model, "brand": brand, "condition": f.Condition, "fuel": f.Fuel,
		"transmission": f.Transmission, "type": f.Type, "paint_color": f.PaintColor}
	return num, cat
}

func printDrift(w io.Writer, d engine.DriftSummary, maxPSI, minP float64) {
	verdict := map[bool]string{true: "DRIFT", false: "no drift"}[d.Status == "drift" || d.DatasetDrift || d.RecommendRetrain]
	if d.Status == "collecting" {
		verdict = fmt.Sprintf("collecting (%d of %d requests)", d.WindowSize, d.MinWindow)
	}
	fmt.Fprintf(w, "drift: %s · drifted share %.0f%% · retrain: %v (%s)\n", verdict, 100*d.DriftShare, d.RecommendRetrain, d.Reason)
	if !math.IsNaN(maxPSI) && maxPSI > 0 {
		fmt.Fprintf(w, "max PSI %.3f · min KS p %.3g\n", maxPSI, minP)
	}
	if d.MaxTrainYear > 0 {
		fmt.Fprintf(w, "beyond training range (model_year > %d): %.1f%%\n", d.MaxTrainYear, 100*d.OutOfRangeShare)
	}
	fmt.Fprintf(w, "\n%-16s %-15s %9s %9s %8s  %s\n", "FEATURE", "TEST", "SCORE", "THRESH", "PSI", "VERDICT")
	for _, f := range d.Features {
		v := "✓ ok"
		if f.Drifted {
			v = "✗ drift"
		}
		fmt.Fprintf(w, "%-16s %-15s %9.4f %9.4f %8.4f  %s\n", f.Feature, f.Test, f.Score, f.Threshold, f.PSI, v)
	}
}

func newMarketCmd() *cobra.Command {
	var data, format, brands string
	var year, minYear, maxYear int
	var minPrice, maxPrice float64
	cmd := &cobra.Command{
		Use:   "market",
		Short: "Market analytics of the cleaned listings (table, json, md or html)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, cfg, err := settings()
			if err != nil {
				return err
			}
			path := data
			if path == "" {
				path = s.Abs(cfg.Paths.DataPath)
				if _, err := os.Stat(path); err != nil {
					path = ""
				}
			}
			var raw *dataset.Frame
			if path == "" {
				raw = synth.Generate(synth.DefaultRows, synth.DefaultSeed)
				fmt.Fprintln(cmd.ErrOrStderr(), "no data file: using the synthetic default")
			} else if raw, err = dataset.Load(path); err != nil {
				return exit(2, err)
			}
			clean, _, err := prep.Clean(raw, s.Filters)
			if err != nil {
				return exit(1, err)
			}
			f := engine.MarketFilter{MinPrice: minPrice, MaxPrice: maxPrice, MinYear: minYear, MaxYear: maxYear, Year: year}
			if brands != "" {
				f.Brands = strings.Split(brands, ",")
			}
			rep, err := market.Analyze(clean, f)
			if err != nil {
				return exit(2, err)
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				return printJSON(out, rep)
			case "md":
				return market.RenderMarkdown(out, rep)
			case "html":
				return market.RenderHTML(out, rep)
			case "table", "":
				return market.RenderTable(out, rep)
			}
			return errorf("--format must be table, json, md or html, got %q", format)
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "raw CSV (default paths.data_path, else the synthetic default)")
	cmd.Flags().IntVar(&year, "year", 0, "reference year for vehicle_age (default: the current year, as the original's analysis)")
	cmd.Flags().StringVar(&format, "format", "table", "table | json | md | html")
	cmd.Flags().Float64Var(&minPrice, "min-price", 0, "price filter (inclusive)")
	cmd.Flags().Float64Var(&maxPrice, "max-price", 0, "price filter (inclusive, 0 = none)")
	cmd.Flags().IntVar(&minYear, "min-year", 0, "model year filter")
	cmd.Flags().IntVar(&maxYear, "max-year", 0, "model year filter (0 = none)")
	cmd.Flags().StringVar(&brands, "brands", "", "comma-separated brands")
	return cmd
}

func newLoadtestCmd() *cobra.Command {
	var url, data string
	var rate float64
	var conc, maxReq int
	var dur time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Replay held-out listings against an API (bounded, loopback by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := settings()
			if err != nil {
				return err
			}
			var f *dataset.Frame
			if data == "" {
				data = s.Abs(filepath.Join(s.ProcessedDir, "test.csv"))
			}
			if f, err = dataset.Load(data); err != nil {
				f = synth.Generate(2000, 11)
				fmt.Fprintf(cmd.ErrOrStderr(), "no %s: replaying synthetic listings\n", data)
			}
			ls := make([]engine.Listing, f.Len())
			for i := range ls {
				ls[i] = f.Row(i)
			}
			opt := loadtest.Options{URL: url, Rate: rate, Concurrency: conc, Duration: dur, MaxRequests: maxReq, Bodies: demo.Bodies(ls)}
			if !asJSON && isTerminal(os.Stderr) {
				opt.Progress = func(p loadtest.Progress) {
					fmt.Fprintf(os.Stderr, "\r\x1b[K%6.0f req/s  %d done  %d non-2xx  %d errors  %3.0f%%", p.RPS, p.Requests, p.Non2xx, p.Errors, 100*p.Fraction)
					if p.Done {
						fmt.Fprintln(os.Stderr)
					}
				}
			}
			res, err := loadtest.Run(cmd.Context(), opt)
			if err != nil {
				return exit(2, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.String())
			if res.Errors > 0 || res.Status[500] > 0 {
				return exit(1, errors.New("requests failed"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8000/predict", "target URL (loopback only)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "requests per second (open loop); 0 = closed loop with --concurrency")
	cmd.Flags().IntVar(&conc, "concurrency", 8, "workers (closed loop)")
	cmd.Flags().DurationVar(&dur, "duration", 10*time.Second, "how long")
	cmd.Flags().IntVar(&maxReq, "max-requests", 0, "stop after this many (0 = bound by duration)")
	cmd.Flags().StringVar(&data, "data", "", "listings to replay (default the held-out test split)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newStatusCmd() *cobra.Command {
	var api string
	var asJSON bool
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One screen: health, model, latency, errors, drift, firing alerts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if api == "" {
				_, cfg, err := settings()
				if err != nil {
					return err
				}
				api = "http://" + cfg.Serve.Addr
			}
			c := remote.New(api, nil)
			snap, err := c.Snapshot(cmd.Context(), window)
			if err != nil {
				return exit(2, fmt.Errorf("status %s: %w (is `carvision serve` running?)", api, err))
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), snap)
			}
			printStatus(cmd.OutOrStdout(), api, snap)
			if snap.Health.Status != "healthy" {
				return exit(1, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&api, "api", "", "API base URL (default http://serve.addr)")
	cmd.Flags().DurationVar(&window, "window", 5*time.Minute, "latency window")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(w io.Writer, api string, s engine.Snapshot) {
	mark := "✓"
	if s.Health.Status != "healthy" {
		mark = "✗"
	}
	fmt.Fprintf(w, "%s %s  %s  model %s  up %s\n", mark, strings.ToUpper(s.Health.Status), api, s.Health.ModelVersion,
		(time.Duration(s.Health.UptimeSeconds) * time.Second).String())
	if s.Health.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", s.Health.Reason)
	}
	if m := s.Model; m.Version != "" {
		fmt.Fprintf(w, "model %s (%s, %d trees)  test RMSE %.0f  MAPE %.2f%%  R² %.4f\n", m.Version, m.Kind, m.Trees,
			m.Metrics["test.rmse"], m.Metrics["test.mape"], m.Metrics["test.r2"])
	}
	fmt.Fprintf(w, "\nlatency (%s)  %8s %8s %8s %8s %8s %8s\n", s.Window, "req/s", "p50 ms", "p95 ms", "p99 ms", "5xx", "4xx")
	for _, l := range s.Latency {
		fmt.Fprintf(w, "  %-16s %8.1f %8.2f %8.2f %8.2f %7.2f%% %7.2f%%\n", l.Endpoint, l.RPS, l.P50MS, l.P95MS, l.P99MS, 100*l.Rate5xx, 100*l.Rate4xx)
	}
	fmt.Fprintf(w, "  SLO: p95 < %.0f ms, p99 < %.0f ms, 5xx < %.1f%%\n\n", s.SLO.P95MS, s.SLO.P99MS, 100*s.SLO.ErrorRate)
	printDrift(w, s.Drift, math.NaN(), math.NaN())
	var firing []engine.Alert
	for _, a := range s.Alerts {
		if a.State != "inactive" {
			firing = append(firing, a)
		}
	}
	sort.Slice(firing, func(i, j int) bool { return firing[i].State > firing[j].State })
	fmt.Fprintf(w, "\nalerts: %d active\n", len(firing))
	for _, a := range firing {
		fmt.Fprintf(w, "  %s %-8s %s (%s) → runbook %s\n", map[string]string{"firing": "✗", "pending": "…"}[a.State], a.State, a.Name, a.Description, a.Runbook)
	}
}
