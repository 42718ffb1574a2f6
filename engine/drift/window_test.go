package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	brands     = []string{"ford", "chevrolet", "toyota", "honda", "ram", "nissan", "jeep", "gmc", "subaru", "dodge"}
	conditions = []string{"excellent", "good", "like new", "fair"}
	fuels      = []string{"gas", "diesel", "hybrid"}
	types      = []string{"SUV", "sedan", "truck", "pickup", "coupe"}
	colors     = []string{"white", "black", "silver", "red", "blue", ""}
)

// synth draws n listings; yearShift moves model years (newer cars).
func synth(r *rand.Rand, n int, yearShift float64) (map[string][]float64, map[string][]string) {
	num := map[string][]float64{}
	cat := map[string][]string{}
	for range n {
		year := math.Round(min(max(r.NormFloat64()*4+2011+yearShift, 1990), 2019+yearShift))
		odo := math.Round(math.Exp(11 + 0.6*r.NormFloat64()))
		cyl := []float64{4, 6, 8}[r.IntN(3)]
		if r.IntN(10) == 0 {
			cyl = math.NaN()
		}
		price := math.Exp(9.3+0.7*r.NormFloat64()) * (1 + (year-2011)/30)
		b := brands[min(int(r.ExpFloat64()*2.5), len(brands)-1)]
		num[VehicleAge] = append(num[VehicleAge], 2019-year)
		num[ModelYear] = append(num[ModelYear], year)
		num["odometer"] = append(num["odometer"], odo)
		num["cylinders"] = append(num["cylinders"], cyl)
		num[PredictedPrice] = append(num[PredictedPrice], price) // model output: not rounded
		cat["brand"] = append(cat["brand"], b)
		cat["model"] = append(cat["model"], fmt.Sprintf("%s m%d", b, r.IntN(4)))
		cat["condition"] = append(cat["condition"], conditions[r.IntN(len(conditions))])
		cat["fuel"] = append(cat["fuel"], fuels[min(int(r.ExpFloat64()*0.4), 2)])
		cat["transmission"] = append(cat["transmission"], []string{"automatic", "manual"}[r.IntN(10)/9])
		cat["type"] = append(cat["type"], types[r.IntN(len(types))])
		cat["paint_color"] = append(cat["paint_color"], colors[r.IntN(len(colors))])
	}
	return num, cat
}

func fillWindow(w *Window, num map[string][]float64, cat map[string][]string) {
	s := w.Schema()
	n := len(num[s.Numeric[0]])
	nv := make([]float64, len(s.Numeric))
	cv := make([]string, len(s.Categorical))
	for i := range n {
		for f, name := range s.Numeric {
			nv[f] = num[name][i]
		}
		for f, name := range s.Categorical {
			cv[f] = cat[name][i]
		}
		w.Add(nv, cv)
	}
}

func reference(t testing.TB, seed uint64, n int) Reference {
	t.Helper()
	num, cat := synth(rand.New(rand.NewPCG(seed, 1)), n, 0)
	return BuildReference(num, cat)
}

func TestBuildReference(t *testing.T) {
	num := map[string][]float64{
		"x":     {3, math.NaN(), 1, math.Inf(1), 2, math.Inf(-1)},
		"empty": {math.NaN(), math.NaN()},
		"big":   make([]float64, 5000),
	}
	for i := range num["big"] {
		num["big"][i] = float64((i * 7919) % 5000)
	}
	cat := map[string][]string{"c": {"b", "a", "", "b"}}
	ref := BuildReference(num, cat)
	if err := ref.Validate(); err != nil {
		t.Fatal(err)
	}
	x, _ := ref.NumericFeature("x")
	if x.Count != 3 || x.Missing != 3 || x.Min != 1 || x.Max != 3 || x.Mean != 2 || !slices.Equal(x.Sample, []float64{1, 2, 3}) {
		t.Errorf("x summary wrong: %+v", x)
	}
	if e, _ := ref.NumericFeature("empty"); e.Count != 0 || e.Missing != 2 || e.Edges != nil {
		t.Errorf("all-NaN feature: %+v", e)
	}
	big, _ := ref.NumericFeature("big")
	if len(big.Sample) != MaxSample || !slices.IsSorted(big.Sample) || big.Sample[0] != 1 || big.Sample[MaxSample-1] != 4998 {
		t.Errorf("sample: %d values, first %v last %v", len(big.Sample), big.Sample[0], big.Sample[len(big.Sample)-1])
	}
	c, _ := ref.CategoricalFeature("c")
	if !slices.Equal(c.Categories, []string{"b", "a"}) || !slices.Equal(c.Counts, []int{2, 1}) || c.Missing != 1 {
		t.Errorf("categorical: %+v", c)
	}
	// Serialisable without loss (it travels inside the model file).
	b, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	var back Reference
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) {
		t.Error("JSON round trip changed the reference")
	}
	if again := BuildReference(num, cat); fmt.Sprint(again) != fmt.Sprint(ref) {
		t.Error("BuildReference is not deterministic")
	}
}

func TestReferenceValidateNamesTheFeature(t *testing.T) {
	good := reference(t, 1, 500)
	cases := []struct {
		name   string
		break_ func(r *Reference)
		want   string
	}{
		{"short edges", func(r *Reference) { r.Numeric[0].Edges = r.Numeric[0].Edges[:3] }, r0(good)},
		{"NaN share", func(r *Reference) { r.Numeric[1].Shares[2] = math.NaN() }, good.Numeric[1].Name},
		{"unsorted sample", func(r *Reference) { s := r.Numeric[2].Sample; s[0], s[1] = s[len(s)-1], s[0] }, good.Numeric[2].Name},
		{"counts mismatch", func(r *Reference) { r.Categorical[0].Counts = r.Categorical[0].Counts[1:] }, good.Categorical[0].Name},
		{"future version", func(r *Reference) { r.Version = 99 }, "version 99"},
	}
	for _, tc := range cases {
		r := clone(t, good)
		tc.break_(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func r0(r Reference) string { return r.Numeric[0].Name }

func clone(t *testing.T, r Reference) Reference {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out Reference
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWindowVerdicts(t *testing.T) {
	ref := reference(t, 1, 20000)
	cases := []struct {
		name       string
		n          int
		yearShift  float64
		status     string
		retrain    bool
		reason     string
		ageDrifted bool
		outOfRange bool
	}{
		{"empty window", 0, 0, StatusCollecting, false, ReasonCollecting, false, false},
		{"below min window, even if drifted", 199, 6, StatusCollecting, false, ReasonCollecting, false, true},
		{"same distribution, small window", 300, 0, StatusOK, false, ReasonNone, false, false},
		{"same distribution, large window", 20000, 0, StatusOK, false, ReasonNone, false, false},
		{"2025 cars", 5000, 6, StatusDrift, true, ReasonMaxPSI, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(0, DefaultSchema())
			num, cat := synth(rand.New(rand.NewPCG(99, uint64(tc.n))), tc.n, tc.yearShift)
			if tc.n > 0 {
				fillWindow(w, num, cat)
			}
			a := w.Analyze(ref, Thresholds{})
			s := a.Summary
			if s.Status != tc.status || s.RecommendRetrain != tc.retrain || s.Reason != tc.reason {
				t.Fatalf("status %q retrain %v reason %q, want %q %v %q\n%s", s.Status, s.RecommendRetrain, s.Reason,
					tc.status, tc.retrain, tc.reason, describe(a))
			}
			if s.WindowSize != tc.n || s.MinWindow != 200 || s.MaxTrainYear != 2019 {
				t.Errorf("window %d min %d max year %d", s.WindowSize, s.MinWindow, s.MaxTrainYear)
			}
			if (s.OutOfRangeShare > 0) != tc.outOfRange {
				t.Errorf("out-of-range share %v", s.OutOfRangeShare)
			}
			if s.Status == StatusCollecting {
				if len(s.Features) != 0 || s.DatasetDrift {
					t.Errorf("collecting but judged: %+v", s)
				}
				return
			}
			if s.Features[0].Feature != VehicleAge || s.Features[1].Feature != PredictedPrice {
				t.Errorf("pinned features not first: %s, %s", s.Features[0].Feature, s.Features[1].Feature)
			}
			if s.Features[0].Drifted != tc.ageDrifted {
				t.Errorf("vehicle_age drifted = %v\n%s", s.Features[0].Drifted, describe(a))
			}
			if !tc.ageDrifted {
				for _, f := range s.Features {
					if f.Drifted {
						t.Errorf("false alarm on %s\n%s", f.Feature, describe(a))
					}
				}
			}
			if _, err := json.Marshal(s); err != nil {
				t.Errorf("summary does not encode: %v", err)
			}
		})
	}
}

func describe(a Analysis) string {
	var b strings.Builder
	for _, f := range a.Features {
		fmt.Fprintf(&b, "  %-16s %-14s score %.4f thr %.3f drifted %-5v psi %.4f ks %.4f p %.3g w %.4f js %.4f chi %.3g\n",
			f.Feature, f.Test, f.Score, f.Threshold, f.Drifted, f.PSI, f.KS, f.KSP, f.Wasserstein, f.JS, f.ChiSquareP)
	}
	for _, s := range a.Skipped {
		fmt.Fprintf(&b, "  skipped %s: %s\n", s.Feature, s.Reason)
	}
	return b.String()
}

func TestWindowBadInputs(t *testing.T) {
	full := reference(t, 1, 3000)
	noCyl := clone(t, full)
	noCyl.Numeric = slices.DeleteFunc(noCyl.Numeric, func(f NumericRef) bool { return f.Name == "cylinders" })
	broken := clone(t, full)
	for i := range broken.Numeric {
		if broken.Numeric[i].Name == "odometer" {
			broken.Numeric[i].Edges = nil
		}
	}
	num, cat := synth(rand.New(rand.NewPCG(5, 5)), 1000, 0)
	allNaN := map[string][]float64{}
	for k, v := range num {
		allNaN[k] = v
	}
	allNaN["odometer"] = slices.Repeat([]float64{math.NaN()}, 1000)

	cases := []struct {
		name    string
		ref     Reference
		num     map[string][]float64
		skipped map[string]string // feature → part of the reason
		status  string
	}{
		{"reference without a feature", noCyl, num, map[string]string{"cylinders": "not in the reference"}, StatusOK},
		{"broken reference feature", broken, num, map[string]string{"odometer": "broken reference"}, StatusOK},
		{"all-NaN column", full, allNaN, map[string]string{"odometer": "0 values in the window"}, StatusOK},
		{"empty reference", Reference{}, num, nil, StatusCollecting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(0, DefaultSchema())
			fillWindow(w, tc.num, cat)
			a := w.Analyze(tc.ref, Thresholds{})
			if a.Summary.Status != tc.status {
				t.Errorf("status %q, want %q\n%s", a.Summary.Status, tc.status, describe(a))
			}
			for f, why := range tc.skipped {
				i := slices.IndexFunc(a.Skipped, func(s Skipped) bool { return s.Feature == f })
				if i < 0 || !strings.Contains(a.Skipped[i].Reason, why) {
					t.Errorf("feature %s not skipped with %q: %+v", f, why, a.Skipped)
				}
				for _, fd := range a.Summary.Features {
					if fd.Feature == f {
						t.Errorf("skipped feature %s still judged", f)
					}
				}
			}
		})
	}
}

func TestWindowAdd(t *testing.T) {
	w := NewWindow(3, Schema{Numeric: []string{"a"}, Categorical: []string{"c"}})
	w.Add([]float64{1, 2}, []string{"x"}) // wrong length
	w.Add([]float64{1}, nil)              // wrong length
	for i := range 5 {
		w.Add([]float64{float64(i)}, []string{"x"})
	}
	if added, invalid := w.Counts(); added != 5 || invalid != 2 || w.Len() != 3 {
		t.Errorf("added %d invalid %d len %d, want 5 2 3", added, invalid, w.Len())
	}
	w.snapshot()
	if got := slices.Sorted(slices.Values(w.sNum[0])); !slices.Equal(got, []float64{2, 3, 4}) {
		t.Errorf("ring keeps %v, want the newest three", got)
	}
	w.Reset()
	if w.Len() != 0 {
		t.Error("Reset left rows")
	}
}

func TestWindowAddAllocatesNothing(t *testing.T) {
	w := NewWindow(1000, DefaultSchema())
	num := []float64{3, 2016, 80000, 6, 15000}
	cat := []string{"ford f-150", "ford", "good", "gas", "automatic", "truck", "white"}
	w.Add(num, cat) // first sight of each category allocates once
	if a := testing.AllocsPerRun(1000, func() { w.Add(num, cat) }); a != 0 {
		t.Errorf("Add allocates %.1f times per call", a)
	}
}

func TestCategoryFloodIsBounded(t *testing.T) {
	w := NewWindow(10000, Schema{Categorical: []string{"model"}})
	for i := range 6000 {
		w.Add(nil, []string{fmt.Sprintf("junk-%d", i)})
	}
	if got := len(w.names[0]); got != MaxCategories+idFirst {
		t.Errorf("%d names kept, want the cap %d", got, MaxCategories+idFirst)
	}
	ref := BuildReference(nil, map[string][]string{"model": {"a", "b"}})
	a := w.Analyze(ref, Thresholds{})
	f := a.Features[0]
	if f.Bins[len(f.Bins)-1] != "(unseen)" || f.CurShare[len(f.CurShare)-1] != 1 || !f.Drifted {
		t.Errorf("junk should all be unseen and drifted: %+v", f.FeatureDrift)
	}
}

func TestConcurrentAddAndReport(t *testing.T) {
	ref := reference(t, 1, 2000)
	w := NewWindow(5000, DefaultSchema())
	num, cat := synth(rand.New(rand.NewPCG(3, 3)), 4000, 0)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := map[string][]float64{}
			pc := map[string][]string{}
			for k, v := range num {
				part[k] = v[g*2000 : (g+1)*2000]
			}
			for k, v := range cat {
				pc[k] = v[g*2000 : (g+1)*2000]
			}
			fillWindow(w, part, pc)
		}()
	}
	for range 5 {
		_ = w.Report(ref, Thresholds{})
	}
	wg.Wait()
	if s := w.Report(ref, Thresholds{}); s.WindowSize != 4000 {
		t.Errorf("window size %d, want 4000", s.WindowSize)
	}
}

func TestRetrainRuleOrder(t *testing.T) {
	th := DefaultThresholds()
	cases := []struct {
		maxPSI  float64
		many    int
		minP    float64
		haveKS  bool
		retrain bool
		reason  string
	}{
		{0.30, 5, 0.0001, true, true, ReasonMaxPSI},
		{0.25, 0, 1, true, true, ReasonMaxPSI},
		{0.20, 3, 0.0001, true, true, ReasonManyPSI},
		{0.20, 2, 0.009, true, true, ReasonKS},
		{0.20, 2, 0.01, true, false, ReasonNone},
		{0.0, 0, 0, false, false, ReasonNone},
	}
	for _, tc := range cases {
		r, why := retrainRule(tc.maxPSI, tc.many, tc.minP, tc.haveKS, th)
		if r != tc.retrain || why != tc.reason {
			t.Errorf("rule(%v, %d, %v) = %v %q, want %v %q", tc.maxPSI, tc.many, tc.minP, r, why, tc.retrain, tc.reason)
		}
	}
}

func TestCompareFrames(t *testing.T) {
	rr := rand.New(rand.NewPCG(8, 8))
	refNum, refCat := synth(rr, 3000, 0)
	curNum, curCat := synth(rr, 1500, 4)
	delete(curNum, "cylinders")          // only in the reference
	curNum["days_listed"] = []float64{1} // only in the current data
	res, err := CompareFrames(refNum, curNum, refCat, curCat, Thresholds{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ks", "psi", "evidently_html", "summary"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("JSON lacks the original's key %q", k)
		}
	}
	var sum map[string]any
	_ = json.Unmarshal(shape["summary"], &sum)
	for _, k := range []string{"max_psi", "min_p_value", "num_features_psi_ge_0_1", "recommend_retrain", "recommendation_reason"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	if _, ok := res.KS[VehicleAge]; !ok || !res.Drifted() || res.Summary.Reason != ReasonMaxPSI {
		t.Errorf("newer cars not flagged: %+v", res.Summary)
	}
	if res.OutOfRangeShare <= 0 || res.MaxTrainYear != 2019 {
		t.Errorf("out of range %v max year %d", res.OutOfRangeShare, res.MaxTrainYear)
	}
	for _, f := range []string{"cylinders", "days_listed"} {
		if !slices.ContainsFunc(res.Skipped, func(s Skipped) bool { return s.Feature == f }) {
			t.Errorf("%s not skipped: %+v", f, res.Skipped)
		}
	}
	// The KS p-value here comes from scipy's exact path count (≤ 10,000 a side).
	a := refNum[VehicleAge]
	c := curNum[VehicleAge]
	want, _ := KS2Samp(a, c, KSExact)
	if got := res.KS[VehicleAge]; got != want {
		t.Errorf("offline KS %+v, exact %+v", got, want)
	}

	if _, err := CompareFrames(map[string][]float64{"a": {1}}, map[string][]float64{"b": {1}}, nil, nil, Thresholds{}); err == nil ||
		!strings.Contains(err.Error(), "a: not in the current data") {
		t.Errorf("disjoint features: error %v", err)
	}
	if _, err := CompareFrames(nil, nil, nil, nil, Thresholds{}); err == nil {
		t.Error("no error for empty input")
	}
	same, err := CompareFrames(refNum, refNum, refCat, refCat, Thresholds{})
	if err != nil || same.Drifted() || same.Summary.MaxPSI != 0 || same.Summary.MinPValue != 1 {
		t.Errorf("a data set against itself: %+v %v", same.Summary, err)
	}
}

func TestStatisticEdgeCases(t *testing.T) {
	if _, err := KS2Samp(nil, []float64{1}, KSAuto); err == nil {
		t.Error("KS of an empty sample: no error")
	}
	if _, err := KS2Samp([]float64{math.NaN()}, []float64{1}, KSAuto); err == nil {
		t.Error("KS of an all-NaN sample: no error")
	}
	if !math.IsNaN(PSI([]float64{1}, []float64{0.5, 0.5})) || !math.IsNaN(JensenShannon(nil, nil)) || !math.IsNaN(Wasserstein(nil, []float64{1})) {
		t.Error("mismatched or empty inputs must give NaN")
	}
	if got := PSI([]float64{0.5, 0.5, 0}, []float64{0.5, 0.5, 0}); got != 0 {
		t.Errorf("PSI of equal shares with an empty bucket = %v", got)
	}
	if p, in := PSIFromValues(NumericRef{}, []float64{1}); !math.IsNaN(p) || in != 0 {
		t.Error("PSI against an empty reference feature must be NaN")
	}
	if d := JensenShannon([]float64{1, 0}, []float64{0, 1}); math.Abs(d-1) > 1e-15 {
		t.Errorf("JS of disjoint distributions = %v, want 1 (base 2)", d)
	}
}

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	gens := map[string]func() float64{
		"mixed signs": func() float64 { return r.NormFloat64() * 1e6 },
		"integers":    func() float64 { return float64(r.IntN(30) + 1990) },
		"tiny":        func() float64 { return r.Float64() * 1e-300 },
		"zeros":       func() float64 { return []float64{0, math.Copysign(0, -1), 1}[r.IntN(3)] },
		"ages":        func() float64 { return float64(r.IntN(40) - 6) },
		"wide ints":   func() float64 { return float64(r.IntN(1 << 20)) },
	}
	for name, g := range gens {
		xs := make([]float64, 5000)
		for i := range xs {
			xs[i] = g()
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		for sorter, f := range map[string]func([]float64, []uint64, []uint64){"radix": radixSortFloats, "sortFinite": sortFinite} {
			got := slices.Clone(xs)
			f(got, make([]uint64, len(xs)), make([]uint64, len(xs)))
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s %s: position %d = %v, want %v", sorter, name, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkDriftReport100k(b *testing.B) {
	ref := reference(b, 1, 30000)
	w := NewWindow(100000, DefaultSchema())
	num, cat := synth(rand.New(rand.NewPCG(2, 2)), 100000, 1)
	fillWindow(w, num, cat)
	b.ReportAllocs()
	for b.Loop() {
		s := w.Report(ref, Thresholds{})
		if s.WindowSize != 100000 || len(s.Features) != 12 {
			b.Fatalf("report covers %d rows and %d features", s.WindowSize, len(s.Features))
		}
	}
}

func BenchmarkWindowAdd(b *testing.B) {
	w := NewWindow(100000, DefaultSchema())
	num := []float64{3, 2016, 80000, 6, 15000}
	cat := []string{"ford f-150", "ford", "good", "gas", "automatic", "truck", "white"}
	b.ReportAllocs()
	for b.Loop() {
		w.Add(num, cat)
	}
}
