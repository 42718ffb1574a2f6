package features

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/gbdt"
	"carvision/engine/synth"
)

var nan = math.NaN()

func listing(price, year float64, model, cond string, cyl float64, fuel string, odo float64, trans, typ, paint string, fourWD float64, date string) engine.Listing {
	return engine.Listing{Price: price, ModelYear: year, Model: model, Condition: cond, Cylinders: cyl, Fuel: fuel,
		Odometer: odo, Transmission: trans, Type: typ, PaintColor: paint, Is4WD: fourWD, DatePosted: date, DaysListed: 10}
}

func small() *dataset.Frame {
	f := dataset.New("small", 4)
	f.Append(listing(9400, 2011, "bmw x5", "good", 6, "gas", 145000, "automatic", "SUV", "", 1, "2018-06-23"), 0)
	f.Append(listing(25500, nan, "ford f-150", "excellent", 8, "gas", 88705, "automatic", "pickup", "white", nan, "2018-01-02"), 1)
	f.Append(listing(5500, 2013, "hyundai sonata", "like new", 4, "gas", nan, "manual", "sedan", "red", nan, "2019-02-07"), 2)
	// row 3 is held out: its model and colour must not enter the dictionaries
	f.Append(listing(3000, 2001, "kia soul", "fair", nan, "diesel", 200000, "other", "wagon", "purple", 1, ""), 3)
	return f
}

func TestFit(t *testing.T) {
	f := small()
	spec, err := Fit(f, []int{0, 1, 2}, Candidates, 2019)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Feature{
		"model_year":      {Name: "model_year", Kind: gbdt.Numeric, Min: 2011, Max: 2013},
		"vehicle_age":     {Name: "vehicle_age", Kind: gbdt.Numeric, Min: 6, Max: 8},
		"posted_age":      {Name: "posted_age", Kind: gbdt.Numeric, Min: 6, Max: 7}, // 2018−2011, 2019−2013
		"odometer":        {Name: "odometer", Kind: gbdt.Numeric, Min: 88705, Max: 145000},
		"cylinders":       {Name: "cylinders", Kind: gbdt.Numeric, Min: 4, Max: 8},
		"is_4wd":          {Name: "is_4wd", Kind: gbdt.Numeric, Min: 0, Max: 1},
		"condition_score": {Name: "condition_score", Kind: gbdt.Numeric, Min: 2, Max: 4},
		"date_posted":     {Name: "date_posted", Kind: gbdt.Numeric, Min: 1, Max: 402}, // 2018-01-02 .. 2019-02-07
		"posted_month":    {Name: "posted_month", Kind: gbdt.Numeric, Min: 1, Max: 6},
		"days_listed":     {Name: "days_listed", Kind: gbdt.Numeric, Min: 10, Max: 10},
		"model":           {Name: "model", Kind: gbdt.Categorical, Categories: []string{"bmw x5", "ford f-150", "hyundai sonata"}},
		"brand":           {Name: "brand", Kind: gbdt.Categorical, Categories: []string{"bmw", "ford", "hyundai"}},
		"condition":       {Name: "condition", Kind: gbdt.Categorical, Categories: []string{"excellent", "good", "like new"}},
		"fuel":            {Name: "fuel", Kind: gbdt.Categorical, Categories: []string{"gas"}},
		"transmission":    {Name: "transmission", Kind: gbdt.Categorical, Categories: []string{"automatic", "manual"}},
		"type":            {Name: "type", Kind: gbdt.Categorical, Categories: []string{"SUV", "pickup", "sedan"}},
		"paint_color":     {Name: "paint_color", Kind: gbdt.Categorical, Categories: []string{"red", "white"}},
	}
	if !reflect.DeepEqual(spec.Names(), Candidates) {
		t.Errorf("names %v", spec.Names())
	}
	for _, ft := range spec.Features {
		if !reflect.DeepEqual(ft, want[ft.Name]) {
			t.Errorf("%s:\n got %+v\nwant %+v", ft.Name, ft, want[ft.Name])
		}
	}
	if spec.DatasetYear != 2019 {
		t.Errorf("DatasetYear %d", spec.DatasetYear)
	}
}

func TestFitErrors(t *testing.T) {
	f := small()
	tests := []struct {
		name  string
		idx   []int
		names []string
		want  string
	}{
		{"unknown name", []int{0}, []string{"odometer", "colour"}, `unknown feature "colour"`},
		{"twice", []int{0}, []string{"odometer", "odometer"}, `"odometer" listed twice`},
		{"no names", []int{0}, nil, "no features selected"},
		{"no rows", nil, []string{"odometer"}, "no training rows"},
		{"index out of range", []int{0, 9}, []string{"odometer"}, "row index 9"},
		{"numeric all missing", []int{1}, []string{"model_year"}, "model_year has no values in the 1 training rows"},
		{"category all missing", []int{0}, []string{"paint_color"}, "paint_color has no values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fit(f, tt.idx, tt.names, 2019)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMatrix(t *testing.T) {
	f := small()
	spec, err := Fit(f, []int{0, 1, 2}, []string{"vehicle_age", "model", "is_4wd", "condition_score", "date_posted", "paint_color"}, 2019)
	if err != nil {
		t.Fatal(err)
	}
	m := spec.Matrix(f, []int{3, 0, 1})
	if m.Rows != 3 || m.Cols != 6 || len(m.Data) != 18 {
		t.Fatalf("shape %dx%d, %d values", m.Rows, m.Cols, len(m.Data))
	}
	if !reflect.DeepEqual(m.Kinds, []gbdt.Kind{gbdt.Numeric, gbdt.Categorical, gbdt.Numeric, gbdt.Numeric, gbdt.Numeric, gbdt.Categorical}) ||
		!reflect.DeepEqual(m.NumCats, []int{0, 3, 0, 0, 0, 2}) ||
		!reflect.DeepEqual(m.Names, []string{"vehicle_age", "model", "is_4wd", "condition_score", "date_posted", "paint_color"}) {
		t.Errorf("kinds %v numcats %v names %v", m.Kinds, m.NumCats, m.Names)
	}
	want := [][]float64{
		{18, nan, 1, 1, nan, nan}, // kia soul unseen, purple unseen, no date
		{8, 0, 1, 2, 173, nan},    // 2018-06-23 is day 173; no paint colour
		{nan, 1, 0, 3, 1, 1},      // year missing; is_4wd missing means 0
	}
	for r, w := range want {
		got := m.Row(r)
		for j := range w {
			if !(got[j] == w[j] || math.IsNaN(got[j]) && math.IsNaN(w[j])) {
				t.Errorf("row %d col %s = %v, want %v", r, m.Names[j], got[j], w[j])
			}
		}
	}
}

// Row and Matrix must agree exactly on every row: serving sees what
// training saw.
func TestRowMatchesMatrix(t *testing.T) {
	f := synth.Generate(3000, 8)
	train := make([]int, 0, 2000)
	for i := 0; i < 2000; i++ {
		train = append(train, i)
	}
	spec, err := Fit(f, train, Candidates, 2019)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, f.Len())
	for i := range all {
		all[i] = i
	}
	m := spec.Matrix(f, all)
	dst := make([]float64, len(spec.Features))
	for i := range all {
		spec.Row(f.Row(i), dst)
		for j, v := range m.Row(i) {
			if !(dst[j] == v || math.IsNaN(dst[j]) && math.IsNaN(v)) {
				t.Fatalf("row %d %s: Row %v, Matrix %v", i, spec.Features[j].Name, dst[j], v)
			}
		}
	}
}

func TestRowWarnings(t *testing.T) {
	f := small()
	base := f.Row(0)
	spec, err := Fit(f, []int{0, 1, 2}, Candidates, 2019)
	if err != nil {
		t.Fatal(err)
	}
	ageOnly, err := Fit(f, []int{0, 1, 2}, []string{"vehicle_age", "condition_score", "odometer"}, 2019)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spec   Spec
		change func(l *engine.Listing)
		want   []string
	}{
		{"clean", spec, func(l *engine.Listing) {}, nil},
		{"missing values are silent", spec, func(l *engine.Listing) {
			l.ModelYear, l.Odometer, l.PaintColor, l.Model, l.DatePosted, l.Is4WD = nan, nan, "", "", "", nan
		}, nil},
		{"case and spaces forgiven", spec, func(l *engine.Listing) { l.Model, l.Type = " BMW X5", "suv" }, nil},
		{"unknown model", spec, func(l *engine.Listing) { l.Model = "foo bar" }, []string{
			`unknown model "foo bar": treated as missing`, `unknown brand "foo": treated as missing`}},
		{"year beyond", spec, func(l *engine.Listing) { l.ModelYear = 2025 }, []string{
			"model_year 2025 is beyond the training range (max 2013)"}},
		{"year below, age only", ageOnly, func(l *engine.Listing) { l.ModelYear = 1995 }, []string{
			"model_year 1995 is below the training range (min 2011)"}},
		{"odometer beyond", ageOnly, func(l *engine.Listing) { l.Odometer = 990000 }, []string{
			"odometer 990000 is beyond the training range (max 145000)"}},
		{"unknown condition once", spec, func(l *engine.Listing) { l.Condition = "mint" }, []string{
			`unknown condition "mint": treated as missing`}},
		{"unknown condition, score only", ageOnly, func(l *engine.Listing) { l.Condition = "mint" }, []string{
			`unknown condition "mint": treated as missing`}},
		{"bad date once", spec, func(l *engine.Listing) { l.DatePosted = "06/23/2018" }, []string{
			`date_posted "06/23/2018" is not YYYY-MM-DD: treated as missing`}},
		{"date beyond", spec, func(l *engine.Listing) { l.DatePosted = "2020-01-01" }, []string{
			"age when posted (model_year 2011, date_posted 2020-01-01) 9 is beyond the training range (max 7)",
			"date_posted 2020-01-01 is beyond the training range (max 2019-02-07)"}},
		{"odd flag", spec, func(l *engine.Listing) { l.Is4WD = 3 }, []string{
			"is_4wd 3 is beyond the training range (max 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			tt.change(&l)
			dst := make([]float64, len(tt.spec.Features))
			got := tt.spec.Row(l, dst)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	if w := spec.Row(base, make([]float64, 3)); len(w) != 1 || !strings.Contains(w[0], "needs 17") {
		t.Errorf("short buffer: %q", w)
	}
}

func TestRowAllocations(t *testing.T) {
	f := synth.Generate(500, 1)
	idx := make([]int, f.Len())
	for i := range idx {
		idx[i] = i
	}
	spec, err := Fit(f, idx, DefaultNames, 2019)
	if err != nil {
		t.Fatal(err)
	}
	l := f.Row(0)
	l.ModelYear, l.Odometer = 2012, 90000
	dst := make([]float64, len(spec.Features))
	if w := spec.Row(l, dst); w != nil {
		t.Fatalf("unexpected warnings %q", w)
	}
	if n := testing.AllocsPerRun(200, func() { spec.Row(l, dst) }); n != 0 {
		t.Errorf("Row allocates %v times per call", n)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		drop []string
		want []string
	}{
		{nil, DefaultNames},
		{[]string{"price_per_mile", "price_category"}, DefaultNames},
		{[]string{"cylinders", "model"}, []string{"model_year", "odometer", "is_4wd", "condition_score",
			"brand", "fuel", "transmission", "type", "paint_color"}},
	}
	for _, tt := range tests {
		if got := Names(tt.drop); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Names(%v) = %v", tt.drop, got)
		}
	}
	for _, n := range DefaultNames {
		if !slices.Contains(Candidates, n) {
			t.Errorf("default %q is not a candidate", n)
		}
	}
}

func TestDates(t *testing.T) {
	l := engine.EmptyListing()
	for _, tt := range []struct {
		date string
		days float64
	}{{"2018-01-01", 0}, {"2018-12-31", 364}, {"2019-01-01", 365}, {"2019-04-19", 473}, {"2020-03-01", 790}, {"2017-12-31", -1}} {
		l.DatePosted = tt.date
		if got, _ := number("date_posted", &l, 2019); got != tt.days {
			t.Errorf("%s → %v days, want %v", tt.date, got, tt.days)
		}
		if back := dateOf(tt.days); back != tt.date {
			t.Errorf("dateOf(%v) = %s, want %s", tt.days, back, tt.date)
		}
	}
}

func TestSpecJSON(t *testing.T) {
	spec, err := Fit(small(), []int{0, 1, 2}, DefaultNames, 2024)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, spec) {
		t.Errorf("JSON round trip changed the spec:\n%s", b)
	}
}

func BenchmarkRow(b *testing.B) {
	f := synth.Generate(2000, 1)
	idx := make([]int, f.Len())
	for i := range idx {
		idx[i] = i
	}
	spec, err := Fit(f, idx, DefaultNames, 2019)
	if err != nil {
		b.Fatal(err)
	}
	l := f.Row(3)
	l.ModelYear, l.Odometer = 2012, 90000
	dst := make([]float64, len(spec.Features))
	b.ReportAllocs()
	for b.Loop() {
		spec.Row(l, dst)
	}
}

func BenchmarkMatrix(b *testing.B) {
	f := synth.Generate(40000, 1)
	idx := make([]int, f.Len())
	for i := range idx {
		idx[i] = i
	}
	spec, err := Fit(f, idx, DefaultNames, 2019)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		spec.Matrix(f, idx)
	}
}

func TestInfo(t *testing.T) {
	spec, err := Fit(small(), []int{0, 1, 2}, []string{"odometer", "fuel"}, 2019)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Feature{
		{Name: "odometer", Kind: "numeric", Min: 88705, Max: 145000},
		{Name: "fuel", Kind: "categorical", Categories: []string{"gas"}},
	}
	if got := spec.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info() = %+v", got)
	}
}
