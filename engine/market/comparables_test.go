package market

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"carvision/engine"
)

// compRows: four f-150s and one civic at the means, so the scales are round:
// years 2010 2012 2014 2016 2013 → mean 2013, squared deviations 9 1 1 9 0 → σ_year = sqrt(20/5) = 2;
// odometers 100k 80k 60k 40k 70k → mean 70k, deviations ±30k ±10k 0 → σ_odo = sqrt(2000e6/5) = 20000.
// The last two rows lack a price / an odometer and are not indexed.
var compRows = []row{
	{8000, 2010, "ford f-150", 100000, "fair", 40},
	{12000, 2012, "ford f-150", 80000, "good", 30},
	{15000, 2014, "ford f-150", 60000, "excellent", 20},
	{20000, 2016, "ford f-150", 40000, "like new", 10},
	{9000, 2013, "honda civic", 70000, "good", 5},
	{nan, 2015, "ford f-150", 50000, "good", 1},
	{9999, 2015, "ford f-150", nan, "good", 1},
}

func TestComparablesFind(t *testing.T) {
	c := NewComparables(frameOf(compRows))
	if c.Len() != 5 {
		t.Fatalf("Len = %d, want 5", c.Len())
	}
	if y, o := c.Scales(); y != 2 || o != 20000 {
		t.Fatalf("scales = %v, %v; want 2, 20000", y, o)
	}
	// Query 2013, 62000 mi. d² = ((year−2013)/2)² + ((odo−62000)/20000)²:
	// 2010/100k: 2.25 + 3.61 = 5.86; 2012/80k: 0.25 + 0.81 = 1.06;
	// 2014/60k: 0.25 + 0.01 = 0.26; 2016/40k: 2.25 + 1.21 = 3.46.
	tests := []struct {
		name       string
		model      string
		year, odo  float64
		k          int
		wantYears  []int
		wantMedian float64
	}{
		{"two nearest", "ford f-150", 2013, 62000, 2, []int{2014, 2012}, (15000 + 12000) / 2},
		{"all of them", "ford f-150", 2013, 62000, 10, []int{2014, 2012, 2016, 2010}, (12000 + 15000) / 2},
		// Year only: 2014 and 2016 tie at 0.25, the older first; then 2012 (2.25).
		{"no odometer", "ford f-150", 2015, nan, 3, []int{2014, 2016, 2012}, 15000},
		// Odometer only: |odo−45000|/20000: 40k 0.0625, 60k 0.5625.
		{"no year", "ford f-150", nan, 45000, 2, []int{2016, 2014}, (20000 + 15000) / 2},
		{"case and spaces", "  Ford F-150 ", 2017, 30000, 1, []int{2016}, 20000},
		{"unknown model", "tesla model 3", 2015, 1000, 3, nil, 0},
		{"k zero", "ford f-150", 2015, 1000, 0, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, med := c.Find(tc.model, tc.year, tc.odo, tc.k)
			var years []int
			for _, g := range got {
				years = append(years, g.ModelYear)
			}
			if !slices.Equal(years, tc.wantYears) || med != tc.wantMedian {
				t.Errorf("Find = years %v median %v, want %v median %v", years, med, tc.wantYears, tc.wantMedian)
			}
		})
	}
	got, _ := c.Find("ford f-150", 2014, 60000, 1)
	want := engine.Comparable{Model: "ford f-150", ModelYear: 2014, Odometer: 60000, Price: 15000, Condition: "excellent", DaysListed: 20}
	if len(got) != 1 || got[0] != want {
		t.Errorf("comparable = %+v, want %+v", got, want)
	}
}

func TestComparablesMissingColumns(t *testing.T) {
	f := frameOf(compRows)
	f.Odometer = nil
	if n := NewComparables(f).Len(); n != 0 {
		t.Errorf("no odometer column: %d indexed", n)
	}
	if got, med := NewComparables(nil).Find("ford f-150", 2015, 1, 3); got != nil || med != 0 {
		t.Errorf("nil frame: %v %v", got, med)
	}
	var nilIdx *Comparables
	if got, _ := nilIdx.Find("x", 1, 1, 1); got != nil {
		t.Error("nil index found something")
	}
}

// randomComparables builds n listings over a handful of models.
func randomComparables(n int, seed uint64) (*Comparables, []row) {
	rng := rand.New(rand.NewPCG(seed, 7))
	models := []string{"ford f-150", "chevrolet silverado 1500", "honda civic", "toyota camry", "bmw x5"}
	conds := []string{"excellent", "good", "like new", "fair", "new", "salvage"}
	rows := make([]row, n)
	for i := range rows {
		y := float64(1995 + rng.IntN(25))
		rows[i] = row{
			price: float64(1000 + rng.IntN(60000)),
			year:  y,
			model: models[rng.IntN(len(models))],
			odo:   float64(rng.IntN(300000)),
			cond:  conds[rng.IntN(len(conds))],
			days:  float64(rng.IntN(270)),
		}
	}
	return NewComparables(frameOf(rows)), rows
}

// The pruned outward walk must return exactly what a brute-force sort returns.
func TestComparablesMatchesBruteForce(t *testing.T) {
	c, rows := randomComparables(3000, 1)
	sy, so := c.Scales()
	rng := rand.New(rand.NewPCG(9, 9))
	for q := range 300 {
		model := rows[rng.IntN(len(rows))].model
		year := float64(1990 + rng.IntN(35))
		odo := float64(rng.IntN(350000))
		if q%10 == 0 {
			odo = nan
		}
		k := 1 + rng.IntN(12)
		got, med := c.Find(model, year, odo, k)

		type cand struct {
			d        float64
			r        row
			year, od float64
		}
		var all []cand
		for _, r := range rows {
			if r.model != model {
				continue
			}
			d := math.Pow((r.year-year)/sy, 2)
			if !math.IsNaN(odo) {
				d += math.Pow((r.odo-odo)/so, 2)
			}
			all = append(all, cand{d: d, r: r})
		}
		slices.SortStableFunc(all, func(a, b cand) int {
			if a.d != b.d {
				return compareFloat(a.d, b.d)
			}
			// documented tie-break: older, then lower mileage, then cheaper
			if a.r.year != b.r.year {
				return compareFloat(a.r.year, b.r.year)
			}
			if a.r.odo != b.r.odo {
				return compareFloat(a.r.odo, b.r.odo)
			}
			return compareFloat(a.r.price, b.r.price)
		})
		all = all[:min(k, len(all))]
		if len(got) != len(all) {
			t.Fatalf("query %d: %d results, want %d", q, len(got), len(all))
		}
		var prices []float64
		for i := range all {
			if got[i].ModelYear != int(all[i].r.year) || got[i].Odometer != all[i].r.odo || got[i].Price != all[i].r.price {
				t.Fatalf("query %d (%s %v %v k=%d) result %d = %+v, want %+v", q, model, year, odo, k, i, got[i], all[i].r)
			}
			prices = append(prices, all[i].r.price)
		}
		slices.Sort(prices)
		wantMed := (prices[(len(prices)-1)/2] + prices[len(prices)/2]) / 2
		if med != wantMed {
			t.Fatalf("query %d: median %v, want %v", q, med, wantMed)
		}
	}
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestComparablesSerialization(t *testing.T) {
	c, _ := randomComparables(30000, 2)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) > 1<<20 {
		t.Errorf("30k listings take %d bytes of JSON, want < 1 MB", len(js))
	}
	bin, _ := c.MarshalBinary()
	t.Logf("30,000 listings: %d bytes binary, %d bytes JSON", len(bin), len(js))
	var back Comparables
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Len() != c.Len() {
		t.Fatalf("Len %d after round trip, want %d", back.Len(), c.Len())
	}
	for _, q := range []struct {
		m    string
		y, o float64
	}{{"ford f-150", 2012, 90000}, {"bmw x5", 2018, nan}, {"honda civic", 1999, 250000}} {
		a, am := c.Find(q.m, q.y, q.o, 8)
		b, bm := back.Find(q.m, q.y, q.o, 8)
		if fmt.Sprint(a) != fmt.Sprint(b) || am != bm {
			t.Errorf("%v: results differ after round trip", q)
		}
	}
	// Every truncation of a valid encoding is an error, never a panic.
	small := NewComparables(frameOf(compRows))
	sb, _ := small.MarshalBinary()
	for n := range len(sb) {
		var x Comparables
		if err := x.UnmarshalBinary(sb[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: accepted", n, len(sb))
		}
	}
	var x Comparables
	if err := x.UnmarshalBinary(append(slices.Clone(sb), 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing byte: %v", err)
	}
	if err := json.Unmarshal([]byte(`"bm90IGFuIGluZGV4"`), &x); err == nil {
		t.Error("garbage JSON accepted")
	}
}

func FuzzComparablesUnmarshal(f *testing.F) {
	small := NewComparables(frameOf(compRows))
	sb, _ := small.MarshalBinary()
	f.Add(sb)
	f.Add([]byte(compMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Comparables
		if err := c.UnmarshalBinary(data); err != nil {
			return
		}
		// Whatever decodes must answer queries and survive a round trip
		// (input varints may be non-minimal, so compare re-encodings).
		c.Find("ford f-150", 2015, 50000, 5)
		once, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d Comparables
		if err := d.UnmarshalBinary(once); err != nil {
			t.Fatalf("re-encoded index does not decode: %v", err)
		}
		twice, _ := d.MarshalBinary()
		if string(once) != string(twice) {
			t.Fatal("round trip is not stable")
		}
	})
}

func BenchmarkComparablesFind(b *testing.B) {
	c, _ := randomComparables(30000, 3)
	b.ReportAllocs()
	for b.Loop() {
		c.Find("ford f-150", 2012, 90000, 10)
	}
}

func BenchmarkComparablesFindReal(b *testing.B) {
	c := NewComparables(loadRealCleaned(b))
	b.ReportAllocs()
	for b.Loop() {
		c.Find("ford f-150", 2012, 90000, 10)
	}
}
