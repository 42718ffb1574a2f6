package model_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"carvision/engine"
	"carvision/engine/gbdt"
	"carvision/engine/model"
	"carvision/engine/synth"
)

// sameFloat is bit equality with every NaN equal to every NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func TestRoundTripPredictsIdentically(t *testing.T) {
	for _, target := range []string{"sqrt", "none"} {
		t.Run(target, func(t *testing.T) {
			m := fullModel(t, target)
			data := encode(t, m)
			back, err := model.Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if back.ID != m.ID || back.Target != target || back.FormatVersion != model.FormatVersion {
				t.Fatalf("meta changed: id %s→%s target %q format %d", m.ID, back.ID, back.Target, back.FormatVersion)
			}
			// A model file is self-describing: re-encoding the decoded model
			// gives the same bytes.
			if again := encode(t, back); !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs: %d vs %d bytes", len(again), len(data))
			}
			f := synth.Generate(200, 99)
			for i := 0; i < f.Len(); i++ {
				l := f.Row(i)
				opt := engine.PredictOptions{Explain: true, Comparables: 3}
				a, errA := m.Predict(l, opt)
				b, errB := back.Predict(l, opt)
				if (errA == nil) != (errB == nil) {
					t.Fatalf("row %d: errors differ: %v vs %v", i, errA, errB)
				}
				if !sameFloat(a.Price, b.Price) || !sameFloat(a.BaseValue, b.BaseValue) {
					t.Fatalf("row %d: price %v vs %v, base %v vs %v", i, a.Price, b.Price, a.BaseValue, b.BaseValue)
				}
				if len(a.Contributions) != len(b.Contributions) {
					t.Fatalf("row %d: %d vs %d contributions", i, len(a.Contributions), len(b.Contributions))
				}
				for j := range a.Contributions {
					if a.Contributions[j].Feature != b.Contributions[j].Feature || !sameFloat(a.Contributions[j].Amount, b.Contributions[j].Amount) {
						t.Fatalf("row %d contribution %d: %+v vs %+v", i, j, a.Contributions[j], b.Contributions[j])
					}
				}
				if (a.Interval == nil) != (b.Interval == nil) || (a.Interval != nil && *a.Interval != *b.Interval) {
					t.Fatalf("row %d: interval %+v vs %+v", i, a.Interval, b.Interval)
				}
				if a.Band != b.Band || !sameFloat(a.Percentile, b.Percentile) || len(a.Comparables) != len(b.Comparables) {
					t.Fatalf("row %d: market context differs", i)
				}
			}
			// The batch path agrees with the one-row path after the round trip.
			batch := back.PredictMatrix(back.Spec.Matrix(f, seq(f.Len())), 2)
			for i, v := range batch {
				p, _ := m.Predict(f.Row(i), engine.PredictOptions{})
				if !sameFloat(v, p.Price) {
					t.Fatalf("row %d: batch %v vs single %v", i, v, p.Price)
				}
			}
		})
	}
}

func seq(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func TestSaveIsAtomicAndReturnsTheFileHash(t *testing.T) {
	m1 := fullModel(t, "sqrt")
	m2 := fullModel(t, "none")
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "models", "model.cvm")

	// Save works on private copies: the cached models are shared by tests.
	c1, c2 := mustDecode(t, encode(t, m1)), mustDecode(t, encode(t, m2))
	sum, err := c1.Save(path)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if sum != hex.EncodeToString(want[:]) || c1.SHA256 != sum || c1.Path != path {
		t.Fatalf("Save returned %s, file hashes to %x; model records %s at %s", sum, want, c1.SHA256, c1.Path)
	}
	loaded, err := model.Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if loaded.SHA256 != sum || loaded.Path != path || loaded.ID != m1.ID {
		t.Fatalf("load: sha %s path %s id %s", loaded.SHA256, loaded.Path, loaded.ID)
	}
	assertOnly(t, filepath.Dir(path), "model.cvm")

	// Readers racing with writers see the old file or the new one, whole.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	loads := 0
	var loadErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := model.Load(path)
			if err != nil {
				loadErr = err
				return
			}
			if got.ID != m1.ID && got.ID != m2.ID {
				loadErr = fmt.Errorf("loaded unknown model %s", got.ID)
				return
			}
			loads++
		}
	}()
	for i := 0; i < 12; i++ {
		c := c1
		if i%2 == 0 {
			c = c2
		}
		if _, err := c.Save(path); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("a reader saw a partial file after %d good loads: %v", loads, loadErr)
	}
	assertOnly(t, filepath.Dir(path), "model.cvm")
}

func TestSaveFailureLeavesNoTempFile(t *testing.T) {
	m := mustDecode(t, encode(t, fullModel(t, "sqrt")))
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "model.cvm")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"parent is a file":                filepath.Join(blocker, "model.cvm"),
		"target is a non-empty directory": target,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := m.Save(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Save(%s) = %v, want an error naming the path", path, err)
			}
		})
	}
	assertOnly(t, dir, "file", "model.cvm")
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Fatalf("the directory in the way was damaged: %v", err)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("%s holds %v, want exactly %v (a temp file left behind?)", dir, got, names)
	}
}

func mustDecode(t testing.TB, b []byte) *model.Model {
	t.Helper()
	m, err := model.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// decodeSafely reports a panic as an error so one bad case names itself.
func decodeSafely(b []byte) (m *model.Model, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	return model.Decode(b)
}

func TestDecodeRefusesTruncatedFiles(t *testing.T) {
	data := encode(t, fullModel(t, "sqrt"))
	lay := parseLayout(data)
	cuts := map[int]bool{}
	for i := 0; i <= 64; i++ {
		cuts[i] = true
	}
	for _, b := range []int{lay.metaStart, lay.forestLenAt, lay.forestStart, lay.body} {
		for d := -3; d <= 3; d++ {
			cuts[b+d] = true
		}
	}
	for i := 0; i < 40; i++ {
		cuts[len(data)-1-i] = true
	}
	for i := 0; i < len(data); i += max(1, len(data)/157) {
		cuts[i] = true
	}
	for cut := range cuts {
		if cut < 0 || cut >= len(data) {
			continue
		}
		_, err := decodeSafely(data[:cut])
		if err == nil {
			t.Fatalf("cut at %d of %d: decoded a truncated file", cut, len(data))
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "PANIC") || !(strings.Contains(msg, "truncated") || strings.Contains(msg, "corrupted")) {
			t.Fatalf("cut at %d of %d: unclear error %q", cut, len(data), msg)
		}
	}
}

func TestDecodeRefusesFlippedBytes(t *testing.T) {
	data := encode(t, fullModel(t, "sqrt"))
	var positions []int
	for i := 0; i < 24; i++ {
		positions = append(positions, i)
	}
	for i := 24; i < len(data); i += max(1, len(data)/211) {
		positions = append(positions, i)
	}
	for i := 1; i <= 32; i++ {
		positions = append(positions, len(data)-i)
	}
	for _, pos := range positions {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := append([]byte(nil), data...)
			b[pos] ^= mask
			_, err := decodeSafely(b)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: decoded a corrupted file", pos, mask)
			}
			if strings.HasPrefix(err.Error(), "PANIC") {
				t.Fatalf("byte %d ^ %#x: %v", pos, mask, err)
			}
		}
	}
}

func TestDecodeErrorsSayWhatIsWrong(t *testing.T) {
	data := encode(t, fullModel(t, "sqrt"))
	lay := parseLayout(data)
	withVersion := func(v uint32) []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[8:12], v)
		return reseal(b)
	}
	var meta map[string]any
	if err := json.Unmarshal(data[lay.metaStart:lay.forestLenAt], &meta); err != nil {
		t.Fatal(err)
	}
	rebuild := func(metaJSON, forest []byte) []byte {
		var b bytes.Buffer
		b.Write(data[:12])
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(metaJSON)))
		b.Write(metaJSON)
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(forest)))
		b.Write(forest)
		b.Write(make([]byte, 32))
		return reseal(b.Bytes())
	}
	forest := data[lay.forestStart:lay.body]
	noFeatures := func() []byte {
		m := map[string]any{}
		for k, v := range meta {
			m[k] = v
		}
		m["spec"] = map[string]any{"dataset_year": 2019, "features": []any{}}
		j, _ := json.Marshal(m)
		return rebuild(j, forest)
	}()
	badMetaLen := func() []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[12:16], uint32(len(data)))
		return reseal(b)
	}()
	hugeMetaLen := func() []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[12:16], math.MaxUint32)
		return reseal(b)
	}()
	badForestLen := func() []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[lay.forestLenAt:lay.forestStart], uint32(lay.forestLen-1))
		return reseal(b)
	}()
	garbageForest := func() []byte {
		g := bytes.Repeat([]byte{0xA5}, len(forest))
		return rebuild(data[lay.metaStart:lay.forestLenAt], g)
	}()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated model file (0 bytes)"},
		{"header only", data[:16], "truncated model file (16 bytes)"},
		{"bad magic", append([]byte("NOTAMODL"), data[8:]...), "bad magic"},
		{"gzip file", append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, data[8:]...), "not a carvision model file"},
		{"future version", withVersion(model.FormatVersion + 1), fmt.Sprintf("format v%d is newer than this carvision supports (v%d)", model.FormatVersion+1, model.FormatVersion)},
		{"far future version", withVersion(math.MaxUint32), "newer than this carvision supports"},
		{"zero version", withVersion(0), "format v0 is invalid"},
		{"checksum", append(append([]byte(nil), data[:len(data)-1]...), data[len(data)-1]^1), "checksum mismatch"},
		{"meta length past the end", badMetaLen, "meta length"},
		{"meta length 4 GiB", hugeMetaLen, "meta length"},
		{"forest length off by one", badForestLen, "forest length"},
		{"meta not JSON", rebuild([]byte("{not json"), forest), "corrupted model meta"},
		{"forest garbage", garbageForest, "corrupted forest"},
		{"no features", noFeatures, "no feature schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeSafely(tc.data)
			if err == nil {
				t.Fatalf("decoded %q (model %s), want an error", tc.name, m.ID)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	good := encode(t, fullModel(t, "sqrt"))
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)/2] ^= 0x10
	cases := []struct {
		name, file string
		data       []byte
		want       string
		notExist   bool
	}{
		{name: "missing", file: "absent.cvm", notExist: true},
		{name: "corrupted", file: "corrupt.cvm", data: corrupt, want: "checksum mismatch"},
		{name: "truncated", file: "short.cvm", data: good[:len(good)/3], want: "corrupted or truncated"},
		{name: "text file", file: "notes.cvm", data: []byte("hello\n"), want: "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if tc.data != nil {
				if err := os.WriteFile(path, tc.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := model.Load(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load = %v, want an error naming %s", err, path)
			}
			if tc.notExist && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("missing file: %v is not ErrNotExist", err)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// predictSafely turns a panic into a test failure naming the listing.
func predictSafely(t *testing.T, m *model.Model, l engine.Listing, opt engine.PredictOptions) (p engine.Prediction, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Predict panicked on %+v with %+v: %v", l, opt, r)
		}
	}()
	return m.Predict(l, opt)
}

func TestPredictNeverPanicsOnOddListings(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	typical := func() engine.Listing {
		l := engine.EmptyListing()
		l.ModelYear, l.Model, l.Condition, l.Cylinders, l.Fuel = 2014, "ford f-150", "excellent", 8, "gas"
		l.Odometer, l.Transmission, l.Type, l.PaintColor, l.Is4WD = 98000, "automatic", "pickup", "white", 1
		return l
	}
	with := func(f func(*engine.Listing)) engine.Listing { l := typical(); f(&l); return l }
	cases := []struct {
		name  string
		l     engine.Listing
		warns []string // substrings that must appear among the warnings
	}{
		{name: "typical", l: typical()},
		{name: "everything missing", l: engine.EmptyListing()},
		{name: "zero value", l: engine.Listing{}},
		{name: "NaN everywhere", l: engine.Listing{Price: nan, ModelYear: nan, Cylinders: nan, Odometer: nan, Is4WD: nan, DaysListed: nan}},
		{name: "unknown model", l: with(func(l *engine.Listing) { l.Model = "zorgmobile x9" }), warns: []string{`unknown model "zorgmobile x9"`, `unknown brand "zorgmobile"`}},
		{name: "unknown categories", l: with(func(l *engine.Listing) {
			l.Fuel, l.Type, l.PaintColor, l.Transmission = "plasma", "hovercraft", "octarine", "telepathic"
		}),
			warns: []string{`unknown fuel "plasma"`, `unknown type "hovercraft"`, `unknown paint_color "octarine"`, `unknown transmission "telepathic"`}},
		{name: "unknown condition", l: with(func(l *engine.Listing) { l.Condition = "mint-ish" }), warns: []string{`unknown condition "mint-ish"`}},
		{name: "empty strings", l: with(func(l *engine.Listing) {
			l.Model, l.Condition, l.Fuel, l.Transmission, l.Type, l.PaintColor, l.DatePosted = "", "", "", "", "", "", ""
		})},
		{name: "whitespace and unicode", l: with(func(l *engine.Listing) { l.Model, l.Fuel = "   ", "ガソリン\u0000\xff" })},
		{name: "huge numbers", l: with(func(l *engine.Listing) { l.ModelYear, l.Odometer, l.Cylinders, l.Is4WD = 1e308, 1e308, -1e308, 1e300 }),
			warns: []string{"beyond the training range"}},
		{name: "infinities", l: with(func(l *engine.Listing) { l.ModelYear, l.Odometer, l.Cylinders = -inf, inf, inf })},
		{name: "negative", l: with(func(l *engine.Listing) { l.ModelYear, l.Odometer, l.Cylinders = -2014, -1, -8 }), warns: []string{"below the training range"}},
		{name: "future car", l: with(func(l *engine.Listing) { l.ModelYear = 2031 }), warns: []string{"model_year 2031 is beyond the training range"}},
		{name: "bad date", l: with(func(l *engine.Listing) { l.DatePosted = "yesterday" })},
		{name: "long model name", l: with(func(l *engine.Listing) { l.Model = strings.Repeat("chevrolet ", 100000) })},
	}
	for _, target := range []string{"sqrt", "none"} {
		m := fullModel(t, target)
		for _, tc := range cases {
			t.Run(target+"/"+tc.name, func(t *testing.T) {
				for _, opt := range []engine.PredictOptions{{}, {Explain: true, Comparables: 5}} {
					p, err := predictSafely(t, m, tc.l, opt)
					if err != nil {
						if !strings.Contains(err.Error(), "non-finite") {
							t.Fatalf("unclear error %v", err)
						}
						continue
					}
					if math.IsNaN(p.Price) || math.IsInf(p.Price, 0) {
						t.Fatalf("price %v without an error", p.Price)
					}
					if target == "sqrt" && p.Price < 0 {
						t.Fatalf("negative price %v on the sqrt scale", p.Price)
					}
					if p.ModelVersion != m.Label {
						t.Fatalf("model version %q, want %q", p.ModelVersion, m.Label)
					}
					for _, w := range tc.warns {
						if !slices.ContainsFunc(p.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
							t.Fatalf("warnings %q lack %q", p.Warnings, w)
						}
					}
				}
			})
		}
	}
}

func TestPredictIsSafeForConcurrentUse(t *testing.T) {
	m := fullModel(t, "sqrt")
	f := synth.Generate(64, 17)
	want := make([]float64, f.Len())
	for i := range want {
		p, err := m.Predict(f.Row(i), engine.PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = p.Price
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 5; rep++ {
				for i := range want {
					p, err := m.Predict(f.Row(i), engine.PredictOptions{Explain: i%3 == 0})
					if err != nil || !sameFloat(p.Price, want[i]) {
						errs <- fmt.Errorf("goroutine %d row %d: %v / %v, want %v", g, i, err, p.Price, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// randomListing draws from the model's own categories, unseen values,
// missing values and out-of-range numbers.
func randomListing(r *rand.Rand, m *model.Model) engine.Listing {
	cats := map[string][]string{}
	for _, f := range m.Spec.Features {
		if f.Kind == gbdt.Categorical {
			cats[f.Name] = f.Categories
		}
	}
	pick := func(name string) string {
		switch r.IntN(10) {
		case 0:
			return ""
		case 1:
			return "unseen-" + name
		}
		c := cats[name]
		if len(c) == 0 {
			return ""
		}
		return c[r.IntN(len(c))]
	}
	num := func(lo, hi float64) float64 {
		switch r.IntN(12) {
		case 0:
			return math.NaN()
		case 1:
			return hi * 3
		}
		return lo + r.Float64()*(hi-lo)
	}
	l := engine.EmptyListing()
	l.Model = pick("model")
	l.ModelYear = math.Round(num(1985, 2020))
	l.Odometer = num(0, 300000)
	l.Cylinders = float64([]int{3, 4, 5, 6, 8, 10, 12}[r.IntN(7)])
	l.Condition = []string{"new", "like new", "excellent", "good", "fair", "salvage", "", "weird"}[r.IntN(8)]
	l.Fuel, l.Transmission, l.Type, l.PaintColor = pick("fuel"), pick("transmission"), pick("type"), pick("paint_color")
	l.Is4WD = []float64{0, 1, math.NaN()}[r.IntN(3)]
	return l
}

func TestExplainContributionsSumToThePrice(t *testing.T) {
	for _, target := range []string{"none", "sqrt"} {
		t.Run(target, func(t *testing.T) {
			m := fullModel(t, target)
			r := rand.New(rand.NewPCG(7, uint64(len(target))))
			names := m.Spec.Names()
			for i := 0; i < 400; i++ {
				l := randomListing(r, m)
				p, err := m.Predict(l, engine.PredictOptions{Explain: true})
				if err != nil {
					t.Fatalf("listing %d %+v: %v", i, l, err)
				}
				if len(p.Contributions) != len(names) {
					t.Fatalf("listing %d: %d contributions for %d features", i, len(p.Contributions), len(names))
				}
				sum := p.BaseValue
				seen := map[string]bool{}
				for j, c := range p.Contributions {
					sum += c.Amount
					seen[c.Feature] = true
					if j > 0 && math.Abs(c.Amount) > math.Abs(p.Contributions[j-1].Amount) {
						t.Fatalf("listing %d: contributions not sorted by size: %v", i, p.Contributions)
					}
				}
				for _, n := range names {
					if !seen[n] {
						t.Fatalf("listing %d: no contribution for %s", i, n)
					}
				}
				if tol := 1e-6 * math.Max(1, math.Abs(p.Price)); math.Abs(sum-p.Price) > tol {
					t.Fatalf("listing %d (%s): base %.6f + Σ contributions = %.9f, price %.9f (off by %.3g)",
						i, target, p.BaseValue, sum, p.Price, sum-p.Price)
				}
			}
		})
	}
}

func TestSchemaCheck(t *testing.T) {
	m := fullModel(t, "sqrt")
	names := m.Spec.Names()
	if !slices.Contains(names, "odometer") || !slices.Contains(names, "model_year") {
		t.Fatalf("model features %v lack the ones this test drops", names)
	}
	cases := []struct {
		name string
		drop []string
		want string // prefix; "" means no error
		also []string
	}{
		{name: "nothing dropped", drop: nil},
		{name: "config default", drop: []string{"price_per_mile", "price_category"}},
		{name: "not a feature", drop: []string{"vehicle_age", "days_listed", "date_posted"}},
		{name: "odometer", drop: []string{"price_per_mile", "odometer"}, want: `Missing column "odometer"`},
		{name: "two features", drop: []string{"cylinders", "model_year"}, want: `Missing column "model_year"`, also: []string{"cylinders"}},
		{name: "case matters", drop: []string{"Odometer"}},
	}
	// Every model feature is caught on its own.
	for _, n := range names {
		cases = append(cases, struct {
			name string
			drop []string
			want string
			also []string
		}{name: "feature " + n, drop: []string{n}, want: fmt.Sprintf("Missing column %q", n)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := m.SchemaCheck(tc.drop)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("SchemaCheck(%v) = %v, want nil", tc.drop, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("SchemaCheck(%v) = %v, want an error starting with %s", tc.drop, err, tc.want)
			}
			for _, a := range append(tc.also, "preprocessing.drop_columns", m.Label) {
				if !strings.Contains(err.Error(), a) {
					t.Fatalf("error %q does not mention %q", err, a)
				}
			}
		})
	}
}

func TestInverseAndTransform(t *testing.T) {
	cases := []struct {
		target string
		price  float64
		want   float64 // transform
	}{
		{"none", 12345, 12345},
		{"", 777, 777},
		{"sqrt", 10000, 100},
		{"sqrt", -4, 0},
		{"log", 1, 0},
		{"log", 0, 0},
	}
	for _, tc := range cases {
		got := model.Transform(tc.target, []float64{tc.price})[0]
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Transform(%q, %v) = %v, want %v", tc.target, tc.price, got, tc.want)
		}
		if tc.price > 1 {
			if back := model.InverseOf(tc.target, got); math.Abs(back-tc.price) > 1e-9*tc.price {
				t.Errorf("InverseOf(%q, Transform(%v)) = %v", tc.target, tc.price, back)
			}
		}
	}
	if v := model.InverseOf("sqrt", -3); v != 0 {
		t.Errorf("a negative sqrt-scale output maps to %v dollars, want 0", v)
	}
}

func TestNewRefusesIncompleteModels(t *testing.T) {
	m := tinyModel(t)
	if _, err := model.New(m.Meta, nil); err == nil {
		t.Error("New accepted a nil forest")
	}
	meta := m.Meta
	meta.Spec.Features = nil
	if _, err := model.New(meta, m.Forest); err == nil {
		t.Error("New accepted an empty schema")
	}
	// The ID names the trees, not the metadata.
	meta = m.Meta
	meta.DataHash = "something else"
	n, err := model.New(meta, m.Forest)
	if err != nil || n.ID != m.ID || !strings.HasPrefix(n.ID, "m-") || len(n.ID) != 12 {
		t.Errorf("New: id %q (was %q), err %v", n.ID, m.ID, err)
	}
}

func TestInfoDescribesTheModel(t *testing.T) {
	m := fullModel(t, "sqrt")
	info := m.Info()
	if info.Version != m.Label || info.Trees != m.Forest.NumTrees() || info.Trees == 0 || len(info.Features) != len(m.Spec.Features) {
		t.Fatalf("info %+v", info)
	}
	for i, f := range info.Features {
		want := "numeric"
		if m.Spec.Features[i].Kind == gbdt.Categorical {
			want = "categorical"
			if len(f.Categories) == 0 {
				t.Errorf("categorical %s without categories", f.Name)
			}
		}
		if f.Kind != want || f.Name != m.Spec.Features[i].Name {
			t.Errorf("feature %d: %+v, want kind %s", i, f, want)
		}
	}
	if y := m.MaxTrainYear(); math.IsNaN(y) || y < 2015 || y > 2020 {
		t.Errorf("MaxTrainYear = %v", y)
	}
}
