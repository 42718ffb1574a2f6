package prep

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/dataset/datasettest"
)

var nan = math.NaN()

func frame(rows ...[3]float64) *dataset.Frame {
	f := dataset.New("t.csv", len(rows))
	for i, r := range rows {
		l := engine.EmptyListing()
		l.Price, l.ModelYear, l.Odometer = r[0], r[1], r[2]
		l.Model = "ford f-150"
		f.Append(l, int32(i))
	}
	return f
}

func TestCleanBoundaries(t *testing.T) {
	tests := []struct {
		name string
		row  [3]float64 // price, model_year, odometer
		keep bool
	}{
		{"typical", [3]float64{9000, 2011, 100000}, true},
		{"price at min dropped (strict)", [3]float64{1000, 2011, 100000}, false},
		{"price just above min", [3]float64{1001, 2011, 100000}, true},
		{"price at max dropped (strict)", [3]float64{500000, 2011, 100000}, false},
		{"price just below max", [3]float64{499999, 2011, 100000}, true},
		{"price missing", [3]float64{nan, 2011, 100000}, false},
		{"year at min kept (inclusive)", [3]float64{9000, 1990, 100000}, true},
		{"year below min", [3]float64{9000, 1989, 100000}, false},
		{"year missing", [3]float64{9000, nan, 100000}, false},
		{"odometer 0 dropped", [3]float64{9000, 2011, 0}, false},
		{"odometer 1 kept", [3]float64{9000, 2011, 1}, true},
		{"odometer at max dropped (strict)", [3]float64{9000, 2011, 500000}, false},
		{"odometer missing", [3]float64{9000, 2011, nan}, false},
		{"negative odometer", [3]float64{9000, 2011, -5}, false},
		{"future year kept (no upper bound)", [3]float64{9000, 2030, 10}, true},
	}
	anchor := [3]float64{5000, 2015, 50000} // keeps the output non-empty
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rep, err := Clean(frame(anchor, tt.row), DefaultFilters())
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if tt.keep {
				want = 2
			}
			if out.Len() != want || rep.RowsOut != want || rep.RowsIn != 2 {
				t.Errorf("kept %d rows (report %d of %d), want %d", out.Len(), rep.RowsOut, rep.RowsIn, want)
			}
		})
	}
}

func TestCleanReport(t *testing.T) {
	f := frame(
		[3]float64{1, 2011, 100},        // min_price
		[3]float64{nan, 2011, 100},      // min_price
		[3]float64{600000, 2011, 100},   // max_price
		[3]float64{5000, 1980, 100},     // min_year
		[3]float64{5000, nan, 100},      // min_year
		[3]float64{5000, 2010, 0},       // max_odometer
		[3]float64{5000, 2010, nan},     // max_odometer
		[3]float64{5000, 2010, 990000},  // max_odometer
		[3]float64{7000, 2012, 120000},  // kept
		[3]float64{8000, 2014, 20000.5}, // kept
	)
	out, rep, err := Clean(f, DefaultFilters())
	if err != nil {
		t.Fatal(err)
	}
	want := Report{RowsIn: 10, RowsOut: 2, Steps: []Step{
		{Filter: "min_price", Rule: "price > 1000", Removed: 2, Remaining: 8, Range: "price 1..600000", Missing: 1},
		{Filter: "max_price", Rule: "price < 500000", Removed: 1, Remaining: 7, Range: "price 5000..600000"},
		{Filter: "min_year", Rule: "model_year >= 1990", Removed: 2, Remaining: 5, Range: "model_year 1980..2014", Missing: 1},
		{Filter: "max_odometer", Rule: "0 < odometer < 500000", Removed: 3, Remaining: 2, Range: "odometer 0..990000", Missing: 1},
	}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report\n got %+v\nwant %+v", rep, want)
	}
	if !reflect.DeepEqual(out.RowID, []int32{8, 9}) {
		t.Errorf("kept row ids %v, want [8 9]", out.RowID)
	}
}

func TestCleanEmptiesError(t *testing.T) {
	f := frame([3]float64{5000, 2010, 1}, [3]float64{6000, 2012, 990000}, [3]float64{7000, 2011, nan})
	tests := []struct {
		name string
		flt  Filters
		want string
	}{
		{"odometer", Filters{MinPrice: 1000, MaxPrice: 500000, MinYear: 1990, MaxOdometer: 0},
			"clean: filter max_odometer removed the last 3 rows (odometer 1..990000 and 1 missing, filter 0 < odometer < 0)"},
		{"min price", Filters{MinPrice: 10000, MaxPrice: 500000, MinYear: 1990, MaxOdometer: 500000},
			"clean: filter min_price removed the last 3 rows (price 5000..7000, filter price > 10000)"},
		{"max price below min", Filters{MinPrice: 1000, MaxPrice: 900, MinYear: 1990, MaxOdometer: 500000},
			"clean: filter max_price removed the last 3 rows (price 5000..7000, filter price < 900)"},
		{"year", Filters{MinPrice: 1000, MaxPrice: 500000, MinYear: 2020, MaxOdometer: 500000},
			"clean: filter min_year removed the last 3 rows (model_year 2010..2012, filter model_year >= 2020)"},
		{"nan filter", Filters{MinPrice: nan, MaxPrice: 500000, MinYear: 1990, MaxOdometer: 500000},
			"clean: filter min_price is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := Clean(f, tt.flt)
			if err == nil {
				t.Fatalf("no error, %d rows", out.Len())
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
	_, _, err := Clean(frame([3]float64{5000, nan, 10}), DefaultFilters())
	if err == nil || !strings.Contains(err.Error(), "model_year all missing") {
		t.Errorf("all-missing year: err = %v", err)
	}
	if _, _, err := Clean(dataset.New("empty.csv", 0), DefaultFilters()); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("empty frame: err = %v", err)
	}
}

func TestVehicleAgeAndBrand(t *testing.T) {
	if got := VehicleAge(2020, 2024); got != 4 {
		t.Errorf("VehicleAge(2020, 2024) = %v, want 4", got)
	}
	if got := VehicleAge(nan, 2024); !math.IsNaN(got) {
		t.Errorf("VehicleAge(NaN) = %v, want NaN", got)
	}
	tests := []struct{ in, want string }{
		{"ford f-150", "ford"}, {"Ford F-150", "ford"}, {"  mercedes-benz benze sprinter 2500", "mercedes-benz"},
		{"bmw\tx5", "bmw"}, {"ram", "ram"}, {"", ""}, {"   ", ""},
	}
	for _, tt := range tests {
		if got := Brand(tt.in); got != tt.want {
			t.Errorf("Brand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = Brand("chevrolet silverado 1500") }); n != 0 {
		t.Errorf("Brand allocates %v times for a lower-case model", n)
	}
}

// TestRealRowCount: the default filters keep the original's 38,804 rows.
// Computed independently on the raw file:
//
//	awk -F, 'NR>1 && $1+0>1000 && $1+0<500000 && $2!="" && $2+0>=1990 &&
//	         $7!="" && $7+0>0 && $7+0<500000' vehicles_us.csv | wc -l   # 38804
//
// and per step with Python's csv module: 1560 (price <= 1000), 0
// (price >= 500000), 3936 (year missing or < 1990), 7225 (odometer missing,
// 0 or >= 500000).
func TestRealRowCount(t *testing.T) {
	f, err := dataset.Load(datasettest.Real(t))
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := Clean(f, DefaultFilters())
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 38804 {
		t.Errorf("clean rows = %d, want 38804", out.Len())
	}
	removed := []int{1560, 0, 3936, 7225}
	for i, st := range rep.Steps {
		if st.Removed != removed[i] {
			t.Errorf("step %s removed %d, want %d", st.Filter, st.Removed, removed[i])
		}
	}
	if rep.Steps[0].Range != "price 1..375000" {
		t.Errorf("price range %q", rep.Steps[0].Range)
	}
}
