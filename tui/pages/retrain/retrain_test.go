package retrain

import (
	"testing"

	"carvision/engine"
)

func TestDiffRowsPutKeyMetricsFirstAndDropUnchanged(t *testing.T) {
	rows := []engine.DiffRow{
		{Name: "baseline.rmse", Old: "6854", New: "6854"},
		{Name: "fit_seconds", Old: "0.25", New: "0.28"},
		{Name: "test.r2", Old: "0.85", New: "0.85"},
		{Name: "rows.raw", Old: "4611", New: "6000"},
		{Name: "test.rmse", Old: "3832", New: "3801"},
	}
	got := DiffRows(rows)
	want := []string{"test.rmse", "test.r2", "fit_seconds", "rows.raw"}
	if len(got) != len(want) {
		t.Fatalf("rows %+v", got)
	}
	for i, r := range got {
		if r.Name != want[i] {
			t.Fatalf("row %d = %s, want %s", i, r.Name, want[i])
		}
	}
}

func TestOverall(t *testing.T) {
	p := &Page{runs: map[string]stageRun{
		"validate": {status: "done"}, "clean": {status: "skipped"}, "split": {status: "done"},
		"train": {status: "running", fraction: 0.5}, "done": {status: "done"}}}
	if got := p.Overall(); got != 3.5/6 {
		t.Fatalf("overall %v, want %v (unknown stages ignored)", got, 3.5/6)
	}
}
