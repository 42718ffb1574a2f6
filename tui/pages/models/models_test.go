package models

import (
	"testing"

	"carvision/engine"
)

func TestRowsDiffOnly(t *testing.T) {
	d := engine.ModelDiff{
		Metrics: []engine.DiffRow{{Name: "rmse", Old: "3,874", New: "3,802"}, {Name: "r2", Old: "0.814", New: "0.814"}},
		Params:  []engine.DiffRow{{Name: "max_depth", Old: "8", New: "8"}, {Name: "num_trees", Old: "420", New: "468"}},
	}
	if got := Rows(d, false); len(got) != 4 {
		t.Fatalf("all rows: %d", len(got))
	}
	got := Rows(d, true)
	if len(got) != 2 || got[0].Name != "rmse" || got[1].Name != "num_trees" {
		t.Fatalf("diff only: %+v", got)
	}
}
