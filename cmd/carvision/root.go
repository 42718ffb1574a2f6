package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"carvision/engine/config"
	"carvision/engine/local"
	"carvision/engine/pipeline"
)

// globals are the flags every command shares.
type globals struct {
	configPath string
	pprofAddr  string
}

var g globals

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "carvision",
		Short:         "Used-car price model and the console that operates it",
		Long:          "CarVision trains, serves and operates a used-car price model.\nWith no subcommand it opens the console.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsole(cmd, consoleFlags{demo: false})
		},
	}
	defConfig := "config.yaml"
	if v := os.Getenv("CARVISION_CONFIG"); v != "" {
		defConfig = v // runbook sh steps run `carvision …` with the engine's config
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", defConfig, "config file (env CARVISION_CONFIG)")
	root.PersistentFlags().StringVar(&g.pprofAddr, "pprof", "", "serve runtime profiles on this loopback address (diagnostics)")
	_ = root.PersistentFlags().MarkHidden("pprof")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if g.pprofAddr == "" {
			return nil
		}
		return startPprof(g.pprofAddr)
	}
	root.AddCommand(
		newConsoleCmd(), newServeCmd(), newReproCmd(), newTrainCmd(), newEvaluateCmd(), newPredictCmd(),
		newDriftCmd(), newModelsCmd(), newRunsCmd(), newMetricsCmd(), newParamsCmd(), newMarketCmd(),
		newGenDataCmd(), newLoadtestCmd(), newStatusCmd(), newAuditCmd(), newRunbookCmd(), newHealthCmd(),
		newVersionCmd(), newBenchFitCmd(),
	)
	return root
}

// loadConfig reads --config with the engine's rule for a missing default file.
func loadConfig() (*config.Config, string, error) { return local.LoadConfig(g.configPath) }

func settings() (pipeline.Settings, *config.Config, error) {
	c, root, err := loadConfig()
	if err != nil {
		return pipeline.Settings{}, nil, exit(2, err)
	}
	return pipeline.FromConfig(c, root), c, nil
}

func errorf(format string, args ...any) error { return exit(2, fmt.Errorf(format, args...)) }
