package split

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/synth"
)

// TestUnitMatchesPython: positions computed by the Python snippet of the
// package doc on testdata/csv/small.csv (python3, csv + hashlib + decimal).
func TestUnitMatchesPython(t *testing.T) {
	f, err := dataset.Load(filepath.Join("..", "..", "testdata", "csv", "small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{
		{0.8945298694029091, 0.7875088578301522},
		{0.4822496180423097, 0.5624203597690128},
		{0.6773565033300073, 0.02686053837199265},
		{0.1139762538575414, 0.5880734322633183},
		{0.8174641477455009, 0.9251430353987091},
		{0.3772910131763929, 0.11527885667892912},
	}
	for i, w := range want {
		if got := Unit(f, 42, i); got != w[0] {
			t.Errorf("row %d seed 42: %v, want %v", i, got, w[0])
		}
		if got := Unit(f, 7, i); got != w[1] {
			t.Errorf("row %d seed 7: %v, want %v", i, got, w[1])
		}
	}
	parts := Assign(f, 42, 0.2, 0.2)
	wantParts := []Part{Train, Train, Train, Test, Train, Valid} // u 0.89 0.48 0.68 0.11 0.82 0.38
	if !reflect.DeepEqual(parts, wantParts) {
		t.Errorf("parts %v, want %v", parts, wantParts)
	}
}

func TestCanonicalNumbers(t *testing.T) {
	// Expected strings from the Python num() of the package doc.
	tests := []struct {
		v    float64
		want string
	}{
		{2011, "2011"}, {145000.5, "145000.5"}, {1e-05, "0.00001"}, {-3.25, "-3.25"}, {0.1, "0.1"},
		{123456789.125, "123456789.125"}, {1e21, "1000000000000000000000"}, {0, "0"},
		{math.Copysign(0, -1), "0"}, {math.NaN(), ""},
		{1e300, "1" + strings.Repeat("0", 300)},
	}
	for _, tt := range tests {
		if got := string(appendNum(nil, tt.v)); got != tt.want {
			t.Errorf("appendNum(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	l := engine.EmptyListing()
	l.Price, l.Model, l.Odometer = 9400, "bmw x5", 145000
	f := dataset.New("x", 1)
	f.Append(l, 0)
	if got, want := string(AppendCanonical(nil, f, 0)), "9400\x1f\x1fbmw x5\x1f\x1f\x1f\x1f145000\x1f\x1f\x1f\x1f\x1f\x1f"; got != want {
		t.Errorf("canonical %q, want %q", got, want)
	}
}

func TestShares(t *testing.T) {
	f := synth.Generate(20000, 3)
	tests := []struct {
		valid, test float64
	}{{0.2, 0.2}, {0.1, 0.3}, {0, 0.25}}
	for _, tt := range tests {
		c := Counts(Assign(f, 42, tt.valid, tt.test))
		n := float64(f.Len())
		// 4 standard deviations of a binomial share at n=20000 is < 0.013.
		for p, want := range []float64{1 - tt.valid - tt.test, tt.valid, tt.test} {
			if got := float64(c[p]) / n; math.Abs(got-want) > 0.013 {
				t.Errorf("valid=%v test=%v: %s share %.4f, want %.2f", tt.valid, tt.test, Part(p), got, want)
			}
		}
	}
}

func TestStableAndSeeded(t *testing.T) {
	base := synth.Generate(3000, 1)
	more := synth.Generate(4000, 1) // the same 3000 rows, then 1000 new ones
	a := Assign(base, 42, 0.2, 0.2)
	b := Assign(more, 42, 0.2, 0.2)
	if !reflect.DeepEqual(a, b[:len(a)]) {
		t.Error("appending rows moved existing rows")
	}
	// Reordering rows does not move them either.
	rev := make([]int, base.Len())
	for i := range rev {
		rev[i] = base.Len() - 1 - i
	}
	r := Assign(base.Select(rev), 42, 0.2, 0.2)
	for i := range a {
		if r[len(a)-1-i] != a[i] {
			t.Fatalf("row %d changed part after reordering", i)
		}
	}
	// A different seed gives a different assignment.
	c := Assign(base, 43, 0.2, 0.2)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("seed has no effect")
	}
	// Identical rows share their part, whatever their row ids.
	dup := base.Select([]int{5, 5, 7, 7})
	dup.RowID = []int32{1, 2, 3, 4}
	d := Assign(dup, 42, 0.2, 0.2)
	if d[0] != d[1] || d[2] != d[3] || d[0] != a[5] || d[2] != a[7] {
		t.Errorf("duplicated rows split apart: %v (want %v %v)", d, a[5], a[7])
	}
}

func TestFractions(t *testing.T) {
	tests := []struct {
		valid, test float64
		ok          bool
	}{
		{0.2, 0.2, true}, {0, 0.2, true}, {0.5, 0.5, false}, {-0.1, 0.2, false},
		{0.2, 0, false}, {0.2, 1, false}, {math.NaN(), 0.2, false}, {0.2, math.NaN(), false},
	}
	for _, tt := range tests {
		if err := CheckFractions(tt.valid, tt.test); (err == nil) != tt.ok {
			t.Errorf("CheckFractions(%v, %v) = %v", tt.valid, tt.test, err)
		}
	}
	f := synth.Generate(500, 2)
	if c := Counts(Assign(f, 1, math.NaN(), 2)); c[Test] != 500 {
		t.Errorf("test=2 clamps to all rows in test, got %v", c)
	}
	if c := Counts(Assign(f, 1, 0.9, 0.5)); c[Train] != 0 || c[Test] == 0 || c[Valid] == 0 {
		t.Errorf("valid clamped to what test leaves, got %v", c)
	}
	if got := Part(9).String(); got != "part(9)" {
		t.Errorf("Part(9) = %q", got)
	}
}

func TestIndices(t *testing.T) {
	parts := []Part{Train, Test, Valid, Train, Test}
	if got := Indices(parts, Test); !reflect.DeepEqual(got, []int{1, 4}) {
		t.Errorf("Indices(Test) = %v", got)
	}
	if got := Indices(parts, Valid); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("Indices(Valid) = %v", got)
	}
	if got := Indices(nil, Train); got != nil {
		t.Errorf("Indices(nil) = %v", got)
	}
}

func dated(dates ...string) *dataset.Frame {
	f := dataset.New("dates.csv", len(dates))
	for i, d := range dates {
		l := engine.EmptyListing()
		l.DatePosted = d
		f.Append(l, int32(i))
	}
	return f
}

func TestTimeCut(t *testing.T) {
	tests := []struct {
		name          string
		dates         []string
		frac          float64
		cut           string
		before, after []int
		err           string
	}{
		{"simple", []string{"2018-05-03", "2018-05-01", "2018-05-04", "2018-05-02", "2018-05-05"}, 0.4,
			"2018-05-04", []int{1, 3, 0}, []int{2, 4}, ""},
		{"ties go to the scored side", []string{"2018-06-01", "2018-06-02", "2018-06-02", "2018-06-02", "2018-05-01"}, 0.2,
			"2018-06-02", []int{0, 4}, []int{1, 2, 3}, ""},
		{"undated rows skipped", []string{"", "2019-01-01", "2019-02-01", ""}, 0.5,
			"2019-02-01", []int{1}, []int{2}, ""},
		{"one day only", []string{"2019-01-01", "2019-01-01"}, 0.5, "", nil, nil, "nothing older"},
		{"bad fraction", []string{"2019-01-01", "2019-01-02"}, 1, "", nil, nil, "outside (0, 1)"},
		{"no dates", []string{"", ""}, 0.2, "", nil, nil, "need at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cut, before, after, err := TimeCut(dated(tt.dates...), tt.frac)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// before is in row order; compare as sets via sorted copies.
			if cut != tt.cut || !sameSet(before, tt.before) || !sameSet(after, tt.after) {
				t.Errorf("cut %s before %v after %v; want %s %v %v", cut, before, after, tt.cut, tt.before, tt.after)
			}
		})
	}
	// On synthetic data the scored share is about frac and strictly newer.
	f := synth.Generate(5000, 4)
	cut, before, after, err := TimeCut(f, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if s := float64(len(after)) / float64(f.Len()); s < 0.2 || s > 0.21 {
		t.Errorf("scored share %.3f", s)
	}
	for _, i := range before {
		if f.DatePosted[i] >= cut {
			t.Fatalf("training row %d posted %s, not before %s", i, f.DatePosted[i], cut)
		}
	}
}

func sameSet(a, b []int) bool {
	m := map[int]int{}
	for _, v := range a {
		m[v]++
	}
	for _, v := range b {
		m[v]--
	}
	for _, c := range m {
		if c != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

func BenchmarkAssign(b *testing.B) {
	f := synth.Generate(50000, 1)
	b.ReportAllocs()
	for b.Loop() {
		Assign(f, 42, 0.2, 0.2)
	}
}
