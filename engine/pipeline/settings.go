// Package pipeline runs validate → clean → split → train → evaluate → register,
// keyed by the hash of each stage's inputs, params and code version, and
// skips what has not changed (what `dvc repro` does). carvision.lock records
// the hashes.
package pipeline

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"carvision/engine/config"
	"carvision/engine/gbdt"
	"carvision/engine/prep"
)

// Settings is what the pipeline reads from config.yaml, already resolved
// against the project root. Each stage hashes only the part it reads, so
// changing a filter re-runs clean onwards and changing the trees only train
// onwards.
type Settings struct {
	Root         string // project root; paths in the lock are relative to it
	DataPath     string // raw CSV; absent means the synthetic default
	ProcessedDir string
	ArtifactsDir string
	ModelsDir    string
	LockPath     string

	SynthRows int
	SynthSeed int64

	Seed        int64
	DatasetYear int
	ValSize     float64
	TestSize    float64
	Filters     prep.Filters
	DropColumns []string
	Features    []string // empty: the engine's default set
	Model       string   // gbdt | random_forest
	GBDT        gbdt.Params
	RF          gbdt.Params
	// Target is the scale the trees learn price on (none | sqrt | log).
	Target string
	// Refit retrains on train+valid after early stopping, with the best
	// iteration × RefitFactor trees.
	Refit       bool
	RefitFactor float64

	// scoreOnly skips what only a served model needs (drift reference,
	// interval calibration, market context): the backtest's model.
	scoreOnly bool

	Coverage     float64 // prediction interval coverage
	Bootstrap    int     // resamples; 0 disables
	BootSeed     int64
	TemporalFrac float64
	SegmentMinN  int
	SegmentCols  []string
}

// DefaultSettings are the defaults config.yaml documents.
func DefaultSettings(root string) Settings {
	gp := gbdt.DefaultParams()
	rf := gbdt.DefaultParams()
	rf.Mode = "random_forest"
	return Settings{
		Root: root, DataPath: "data/raw/vehicles_us.csv", ProcessedDir: "data/processed",
		ArtifactsDir: "artifacts", ModelsDir: "artifacts/models", LockPath: "carvision.lock",
		SynthRows: 6000, SynthSeed: 42,
		Seed: 42, DatasetYear: 2019, ValSize: 0.2, TestSize: 0.2, Filters: prep.DefaultFilters(),
		DropColumns: []string{"price_per_mile", "price_category"}, Model: "gbdt", GBDT: gp, RF: rf, Target: "sqrt", Refit: true, RefitFactor: 1,
		Coverage: 0.8, Bootstrap: 200, BootSeed: 42, TemporalFrac: 0.2, SegmentMinN: 30,
		SegmentCols: []string{"condition", "type", "model_year", "brand"},
	}
}

func (s Settings) Abs(p string) string {
	if filepath.IsAbs(p) || s.Root == "" {
		return p
	}
	return filepath.Join(s.Root, p)
}

func (s Settings) rel(p string) string {
	if s.Root == "" {
		return p
	}
	if r, err := filepath.Rel(s.Root, p); err == nil {
		return r
	}
	return p
}

// Params returns the model parameters in force.
func (s Settings) Params() gbdt.Params {
	p := s.GBDT
	if s.Model == "random_forest" {
		p = s.RF
		p.Mode = "random_forest"
	}
	p.Seed = s.Seed
	return p
}

func jsonParam(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// FromConfig resolves config.yaml into pipeline settings; relative paths
// resolve against root (the folder holding config.yaml).
func FromConfig(c *config.Config, root string) Settings {
	s := DefaultSettings(root)
	s.DataPath = c.Paths.DataPath
	s.ProcessedDir = c.Paths.ProcessedDir
	s.ArtifactsDir = c.Paths.ArtifactsDir
	s.ModelsDir = c.Paths.ModelsDir
	s.LockPath = c.Paths.LockPath
	s.Seed = c.Seed
	s.DatasetYear = c.DatasetYear
	s.ValSize = c.Training.ValSize
	s.TestSize = c.Training.TestSize
	f := c.Preprocessing.Filters
	s.Filters = prep.Filters{MinPrice: f.MinPrice, MaxPrice: f.MaxPrice, MinYear: float64(f.MinYear), MaxOdometer: f.MaxOdometer}
	s.DropColumns = append([]string(nil), c.Preprocessing.DropColumns...)
	s.Features = append([]string(nil), c.Training.Features...)
	s.Model = c.Training.Model
	s.Target = c.Training.TargetTransform
	s.Refit = c.Training.Refit
	s.RefitFactor = c.Training.RefitTreeFactor
	g := c.Training.GBDT
	s.GBDT.Mode = "gbdt"
	s.GBDT.Trees, s.GBDT.LearningRate, s.GBDT.NumLeaves = g.Trees, g.LearningRate, g.NumLeaves
	s.GBDT.MaxDepth = g.MaxDepth
	if s.GBDT.MaxDepth == 0 {
		s.GBDT.MaxDepth = -1
	}
	s.GBDT.MinDataInLeaf, s.GBDT.MinSumHessian, s.GBDT.LambdaL2 = g.MinDataInLeaf, g.MinSumHessian, g.LambdaL2
	s.GBDT.MaxBin, s.GBDT.EarlyStoppingRounds, s.GBDT.Threads = g.MaxBin, g.EarlyStoppingRounds, g.Threads
	s.GBDT.MaxCatThreshold, s.GBDT.CatSmooth, s.GBDT.CatL2 = g.MaxCatThreshold, g.CatSmooth, g.CatL2
	s.GBDT.MinDataPerGroup, s.GBDT.MaxCatToOnehot = g.MinDataPerGroup, g.MaxCatToOnehot
	r := c.Training.RandomForest
	s.RF.Mode = "random_forest"
	s.RF.Trees, s.RF.NumLeaves, s.RF.MinDataInLeaf = r.Trees, r.NumLeaves, r.MinDataInLeaf
	s.RF.MaxDepth = r.MaxDepth
	if s.RF.MaxDepth == 0 {
		s.RF.MaxDepth = -1
	}
	s.RF.BaggingFraction, s.RF.FeatureFraction, s.RF.MaxBin, s.RF.Threads = r.BaggingFraction, r.FeatureFraction, r.MaxBin, r.Threads
	s.Coverage = c.Evaluation.Interval.Coverage
	s.Bootstrap = 0
	if c.Evaluation.Bootstrap.Enabled {
		s.Bootstrap = c.Evaluation.Bootstrap.NResamples
	}
	s.BootSeed = c.Evaluation.Bootstrap.RandomState
	s.TemporalFrac = 0
	if c.Evaluation.Temporal.Enabled {
		s.TemporalFrac = c.Evaluation.Temporal.TestSize
	}
	s.SegmentMinN = c.Evaluation.Segments.MinN
	s.SegmentCols = append([]string(nil), c.Evaluation.Segments.Columns...)
	return s
}
