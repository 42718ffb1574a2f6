package synth

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"carvision/engine/dataset"
	"carvision/engine/evaluate"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/prep"
	"carvision/engine/split"
)

func csvBytes(t *testing.T, f *dataset.Frame) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.WriteCSV(&b, false); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	tests := []struct {
		rows int
		seed int64
	}{{1, 0}, {500, 7}, {DefaultRows, DefaultSeed}}
	for _, tt := range tests {
		a := csvBytes(t, Generate(tt.rows, tt.seed))
		b := csvBytes(t, Generate(tt.rows, tt.seed))
		if !bytes.Equal(a, b) {
			t.Errorf("rows=%d seed=%d: two runs differ", tt.rows, tt.seed)
		}
		c := csvBytes(t, Generate(tt.rows, tt.seed+1))
		if bytes.Equal(a, c) {
			t.Errorf("rows=%d: seeds %d and %d give the same data", tt.rows, tt.seed, tt.seed+1)
		}
	}
	// A longer run starts with the shorter one: rows do not depend on n.
	short, long := csvBytes(t, Generate(100, 3)), csvBytes(t, Generate(200, 3))
	if !bytes.HasPrefix(long, short) {
		t.Error("Generate(200) does not extend Generate(100)")
	}
	if n := Generate(0, 1).Len(); n != 0 {
		t.Errorf("Generate(0) has %d rows", n)
	}
	if n := Generate(-5, 1).Len(); n != 0 {
		t.Errorf("Generate(-5) has %d rows", n)
	}
}

func frac(xs []float64) float64 {
	n := 0
	for _, v := range xs {
		if math.IsNaN(v) {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

func TestShape(t *testing.T) {
	f := Generate(20000, 11)
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	emptyPaint := 0
	for _, v := range f.PaintColor {
		if v == "" {
			emptyPaint++
		}
	}
	rates := []struct {
		name      string
		got, want float64
	}{
		{"model_year", frac(f.ModelYear), missYear}, {"cylinders", frac(f.Cylinders), missCyl},
		{"odometer", frac(f.Odometer), missOdometer}, {"is_4wd", frac(f.Is4WD), 0.5},
		{"paint_color", float64(emptyPaint) / float64(f.Len()), missPaint},
		{"price", frac(f.Price), 0}, {"days_listed", frac(f.DaysListed), 0},
	}
	for _, r := range rates {
		if math.Abs(r.got-r.want) > 0.1*r.want+0.005 {
			t.Errorf("%s missing rate %.4f, want about %.2f", r.name, r.got, r.want)
		}
	}
	brands, modelsSeen, types := map[string]bool{}, map[string]bool{}, map[string]bool{}
	ones, old := 0, 0
	for i := 0; i < f.Len(); i++ {
		brands[strings.Fields(f.Model[i])[0]] = true
		modelsSeen[f.Model[i]] = true
		types[f.Type[i]] = true
		if p := f.Price[i]; p < 1 || p > 375000 || p != math.Trunc(p) {
			t.Fatalf("row %d price %v", i, p)
		} else if p == 1 {
			ones++
		}
		if y := f.ModelYear[i]; !math.IsNaN(y) && (y > 2019 || y < 1908) {
			t.Fatalf("row %d model_year %v", i, y)
		} else if y < 1990 {
			old++
		}
		if o := f.Odometer[i]; o < 0 || o > 990000 {
			t.Fatalf("row %d odometer %v", i, o)
		}
		if d := f.DatePosted[i]; d < "2018-05-01" || d > "2019-04-19" || !dataset.ValidDate(d) {
			t.Fatalf("row %d date_posted %q", i, d)
		}
		if d := f.DaysListed[i]; d < 0 || d > 271 || d != math.Trunc(d) {
			t.Fatalf("row %d days_listed %v", i, d)
		}
		if v := f.Is4WD[i]; !math.IsNaN(v) && v != 1 {
			t.Fatalf("row %d is_4wd %v", i, v)
		}
		if f.RowID[i] != int32(i) {
			t.Fatalf("row %d has row id %d", i, f.RowID[i])
		}
	}
	if len(brands) != 19 {
		t.Errorf("%d brands, want 19", len(brands))
	}
	if len(modelsSeen) < 95 {
		t.Errorf("%d models, want about 100", len(modelsSeen))
	}
	if len(types) != 13 {
		t.Errorf("%d body types, want 13", len(types))
	}
	if r := float64(ones) / float64(f.Len()); r < 0.01 || r > 0.02 {
		t.Errorf("share of price 1 = %.4f, want about 0.015", r)
	}
	if old == 0 {
		t.Error("no model_year before 1990")
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// Price moves the way the market does: newer, less driven and better kept
// cars are dearer; trucks dearer than compact sedans.
func TestRelations(t *testing.T) {
	f := Generate(30000, 5)
	var byAge [3][]float64
	var byMiles [3][]float64
	byCond := map[string][]float64{}
	byModel := map[string][]float64{}
	for i := 0; i < f.Len(); i++ {
		p := f.Price[i]
		if p <= 1000 {
			continue
		}
		switch y := f.ModelYear[i]; {
		case y >= 2015:
			byAge[0] = append(byAge[0], p)
		case y >= 2008 && y < 2012:
			byAge[1] = append(byAge[1], p)
		case y < 2004:
			byAge[2] = append(byAge[2], p)
		}
		switch o := f.Odometer[i]; {
		case o < 50000:
			byMiles[0] = append(byMiles[0], p)
		case o >= 100000 && o < 150000:
			byMiles[1] = append(byMiles[1], p)
		case o >= 200000:
			byMiles[2] = append(byMiles[2], p)
		}
		byCond[f.Condition[i]] = append(byCond[f.Condition[i]], p)
		byModel[f.Model[i]] = append(byModel[f.Model[i]], p)
	}
	dec := func(name string, groups ...[]float64) {
		for i := 1; i < len(groups); i++ {
			if !(median(groups[i]) < median(groups[i-1])) {
				t.Errorf("%s: median %v of group %d not below %v", name, median(groups[i]), i, median(groups[i-1]))
			}
		}
	}
	dec("age", byAge[:]...)
	dec("odometer", byMiles[:]...)
	dec("condition", byCond["like new"], byCond["excellent"], byCond["good"], byCond["fair"], byCond["salvage"])
	dec("model", byModel["ram 3500"], byModel["ford f-150"], byModel["nissan versa"])
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.csv")
	if err := WriteFile(path, 300, 9); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, csvBytes(t, Generate(300, 9))) {
		t.Error("file differs from Generate's CSV")
	}
	back, err := dataset.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 300 {
		t.Errorf("reloaded %d rows", back.Len())
	}
	if err := WriteFile(path, 0, 1); err == nil {
		t.Error("rows=0 accepted")
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "x.csv"), 5, 1); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

func BenchmarkGenerateDefault(b *testing.B) {
	for b.Loop() {
		Generate(DefaultRows, DefaultSeed)
	}
}

// The embedded default must train a decent model: R² > 0.8 on its test
// split with the project's GBDT and default features.
func TestDefaultTrainsWell(t *testing.T) {
	raw := Generate(DefaultRows, DefaultSeed)
	clean, rep, err := prep.Clean(raw, prep.DefaultFilters())
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsOut < 4000 {
		t.Errorf("only %d of %d rows survive cleaning", rep.RowsOut, rep.RowsIn)
	}
	parts := split.Assign(clean, DefaultSeed, 0.2, 0.2)
	tr, va, te := split.Indices(parts, split.Train), split.Indices(parts, split.Valid), split.Indices(parts, split.Test)
	spec, err := features.Fit(clean, tr, features.DefaultNames, 2019)
	if err != nil {
		t.Fatal(err)
	}
	ys := func(idx []int) []float64 {
		out := make([]float64, len(idx))
		for k, i := range idx {
			out[k] = clean.Price[i]
		}
		return out
	}
	mtr, mva, mte := spec.Matrix(clean, tr), spec.Matrix(clean, va), spec.Matrix(clean, te)
	p := gbdt.DefaultParams()
	p.Trees, p.LearningRate, p.EarlyStoppingRounds = 1000, 0.05, 50
	model, err := gbdt.Train(context.Background(), mtr, ys(tr), &mva, ys(va), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	pred := make([]float64, mte.Rows)
	model.PredictBatch(mte, pred, 0)
	m := evaluate.Score(ys(te), pred)
	base := make([]float64, len(te))
	for i := range base {
		base[i] = evaluate.Median(ys(append(tr, va...)))
	}
	t.Logf("default synthetic data: %d clean rows, test %+v, baseline RMSE %.0f, %d trees",
		clean.Len(), m, evaluate.Score(ys(te), base).RMSE, model.NumTrees())
	if m.R2 <= 0.8 {
		t.Errorf("test R² = %.3f, want > 0.8", m.R2)
	}
}
