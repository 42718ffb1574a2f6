package pipeline_test

import (
	"path/filepath"
	"slices"
	"testing"

	"carvision/engine/config"
	"carvision/engine/pipeline"
	"carvision/engine/prep"
)

func TestFromConfig(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		name  string
		edit  func(c *config.Config)
		check func(t *testing.T, s pipeline.Settings)
	}{
		{name: "defaults", check: func(t *testing.T, s pipeline.Settings) {
			d := pipeline.DefaultSettings(root)
			if s.DataPath != d.DataPath || s.ProcessedDir != d.ProcessedDir || s.ArtifactsDir != d.ArtifactsDir ||
				s.ModelsDir != d.ModelsDir || s.LockPath != d.LockPath {
				t.Errorf("paths %+v differ from the documented defaults %+v", s, d)
			}
			if s.Filters != prep.DefaultFilters() || s.Seed != 42 || s.DatasetYear != 2019 || s.Target != "sqrt" || s.Model != "gbdt" {
				t.Errorf("settings %+v", s)
			}
			g := config.Default().Training.GBDT
			if s.GBDT.Trees != g.Trees || s.GBDT.LearningRate != g.LearningRate || s.GBDT.NumLeaves != g.NumLeaves ||
				s.GBDT.EarlyStoppingRounds != g.EarlyStoppingRounds || s.GBDT.Mode != "gbdt" || g.MaxDepth != 0 || s.GBDT.MaxDepth != -1 {
				t.Errorf("gbdt %+v from %+v (max_depth 0 means no limit: -1)", s.GBDT, g)
			}
			if s.Bootstrap != 200 || s.TemporalFrac != 0.2 || s.SegmentMinN != 30 {
				t.Errorf("evaluation: bootstrap %d temporal %v segments %d", s.Bootstrap, s.TemporalFrac, s.SegmentMinN)
			}
			if !slices.Equal(s.DropColumns, []string{"price_per_mile", "price_category"}) {
				t.Errorf("drop columns %v", s.DropColumns)
			}
			if got := s.Abs(s.LockPath); got != filepath.Join(root, "carvision.lock") {
				t.Errorf("lock resolves to %s", got)
			}
		}},
		{name: "evaluation switched off", edit: func(c *config.Config) {
			c.Evaluation.Bootstrap.Enabled = false
			c.Evaluation.Temporal.Enabled = false
		}, check: func(t *testing.T, s pipeline.Settings) {
			if s.Bootstrap != 0 || s.TemporalFrac != 0 {
				t.Errorf("bootstrap %d temporal %v, want both off", s.Bootstrap, s.TemporalFrac)
			}
		}},
		{name: "random forest", edit: func(c *config.Config) {
			c.Training.Model = "random_forest"
			c.Training.RandomForest.Trees = 17
			c.Seed = 7
		}, check: func(t *testing.T, s pipeline.Settings) {
			p := s.Params()
			if p.Mode != "random_forest" || p.Trees != 17 || p.Seed != 7 || p.MaxDepth != 12 {
				t.Errorf("params %+v", p)
			}
		}},
		{name: "filters and paths", edit: func(c *config.Config) {
			c.Preprocessing.Filters.MinYear = 2001
			c.Preprocessing.Filters.MaxPrice = 90000
			c.Paths.DataPath = "/elsewhere/cars.csv"
			c.Training.GBDT.MaxDepth = 6
		}, check: func(t *testing.T, s pipeline.Settings) {
			if s.Filters.MinYear != 2001 || s.Filters.MaxPrice != 90000 || s.GBDT.MaxDepth != 6 {
				t.Errorf("settings %+v", s)
			}
			if s.Abs(s.DataPath) != "/elsewhere/cars.csv" {
				t.Errorf("an absolute data path resolves to %s", s.Abs(s.DataPath))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			if tc.edit != nil {
				tc.edit(c)
			}
			tc.check(t, pipeline.FromConfig(c, root))
		})
	}
}
