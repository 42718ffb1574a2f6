package market

import (
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"carvision/engine/dataset"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var nan = math.NaN()

// row is the part of a listing the market analyses read.
type row struct {
	price, year float64
	model       string
	odo         float64
	cond        string
	days        float64
}

// frameOf builds a frame with every column filled, so tests never depend on
// dataset.Load.
func frameOf(rows []row) *dataset.Frame {
	f := &dataset.Frame{Source: "fixture"}
	for i, r := range rows {
		f.RowID = append(f.RowID, int32(i))
		f.Price = append(f.Price, r.price)
		f.ModelYear = append(f.ModelYear, r.year)
		f.Model = append(f.Model, r.model)
		f.Condition = append(f.Condition, r.cond)
		f.Cylinders = append(f.Cylinders, 6)
		f.Fuel = append(f.Fuel, "gas")
		f.Odometer = append(f.Odometer, r.odo)
		f.Transmission = append(f.Transmission, "automatic")
		f.Type = append(f.Type, "sedan")
		f.PaintColor = append(f.PaintColor, "white")
		f.Is4WD = append(f.Is4WD, 0)
		f.DatePosted = append(f.DatePosted, "2019-01-01")
		f.DaysListed = append(f.DaysListed, r.days)
	}
	return f
}

func fixedClock() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }

func approx(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %v, want %v (± %v)", what, got, want, tol)
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; run `go test ./engine/market -run %s -update` if the change is intended.\n--- got ---\n%s", path, t.Name(), got)
	}
}

// realDataPath finds vehicles_us.csv: $CARVISION_REAL_DATA, else
// ../shared/data or ../../shared/data next to the repo root (the folder with go.mod).
func realDataPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("CARVISION_REAL_DATA"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Skip("no working directory")
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("repo root not found")
		}
		dir = parent
	}
	for _, rel := range []string{"../shared/data/vehicles_us.csv", "../../shared/data/vehicles_us.csv"} {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skip("real data vehicles_us.csv not found")
	return ""
}

// loadRealCleaned reads the real CSV with a minimal reader (dataset.Load is
// another package's job) and applies the original's default cleaning:
// 1000 < price < 500000, model_year ≥ 1990, 0 < odometer < 500000.
func loadRealCleaned(tb testing.TB) *dataset.Frame {
	tb.Helper()
	return loadReal(tb, true)
}

// loadReal reads every row of the real CSV, cleaned or not.
func loadReal(tb testing.TB, clean bool) *dataset.Frame {
	tb.Helper()
	path := realDataPath(tb)
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	header, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	num := func(s string) float64 {
		if s == "" {
			return nan
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			tb.Fatalf("%s: %q: %v", path, s, err)
		}
		return v
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		rw := row{
			price: num(rec[col["price"]]), year: num(rec[col["model_year"]]), model: rec[col["model"]],
			odo: num(rec[col["odometer"]]), cond: rec[col["condition"]], days: num(rec[col["days_listed"]]),
		}
		if clean && !(rw.price > 1000 && rw.price < 500000) || !(rw.year >= 1990) || !(rw.odo > 0 && rw.odo < 500000) {
			continue
		}
		rows = append(rows, rw)
	}
	return frameOf(rows)
}
