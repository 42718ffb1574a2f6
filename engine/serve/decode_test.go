package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"carvision/engine"
)

var testOpts = DecodeOptions{Strict: true, MaxYear: 2027}

func TestDecodeListingValid(t *testing.T) {
	d, err := DecodeListing([]byte(validBody), testOpts)
	if err != nil || len(d.Errors) > 0 {
		t.Fatalf("err %v, field errors %v", err, d.Errors)
	}
	want := engine.Listing{Price: math.NaN(), ModelYear: 2014, Model: "ford f-150", Condition: "excellent", Cylinders: 8,
		Fuel: "gas", Odometer: 98000, Transmission: "automatic", Type: "pickup", PaintColor: "white", Is4WD: 1,
		DatePosted: "2019-03-15", DaysListed: math.NaN()}
	if !sameListing(d.Listing, want) {
		t.Errorf("got %+v\nwant %+v", d.Listing, want)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("unexpected warnings %v", d.Warnings)
	}
}

func sameListing(a, b engine.Listing) bool {
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return eq(a.Price, b.Price) && eq(a.ModelYear, b.ModelYear) && a.Model == b.Model && a.Condition == b.Condition &&
		eq(a.Cylinders, b.Cylinders) && a.Fuel == b.Fuel && eq(a.Odometer, b.Odometer) && a.Transmission == b.Transmission &&
		a.Type == b.Type && a.PaintColor == b.PaintColor && eq(a.Is4WD, b.Is4WD) && a.DatePosted == b.DatePosted && eq(a.DaysListed, b.DaysListed)
}

func TestDecodeListingHandling(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(l engine.Listing) bool
		warn  string // substring of a warning, if any
	}{
		{"absent optional fields are missing", `{"model_year":2011,"model":"bmw x5"}`, func(l engine.Listing) bool {
			return math.IsNaN(l.Odometer) && math.IsNaN(l.Cylinders) && math.IsNaN(l.Is4WD) && l.Condition == "" && l.DatePosted == ""
		}, ""},
		{"null is missing", `{"model_year":2011,"model":"x","odometer":null,"condition":null,"is_4wd":null,"date_posted":null,"cylinders":null}`, func(l engine.Listing) bool {
			return math.IsNaN(l.Odometer) && l.Condition == "" && math.IsNaN(l.Is4WD) && l.DatePosted == "" && math.IsNaN(l.Cylinders)
		}, ""},
		{"integral float year", `{"model_year":2011.0,"model":"x"}`, func(l engine.Listing) bool { return l.ModelYear == 2011 }, ""},
		{"exponent year", `{"model_year":2.011e3,"model":"x"}`, func(l engine.Listing) bool { return l.ModelYear == 2011 }, ""},
		{"is_4wd true", `{"model_year":2011,"model":"x","is_4wd":true}`, func(l engine.Listing) bool { return l.Is4WD == 1 }, ""},
		{"is_4wd false", `{"model_year":2011,"model":"x","is_4wd":false}`, func(l engine.Listing) bool { return l.Is4WD == 0 }, ""},
		{"is_4wd 0.0", `{"model_year":2011,"model":"x","is_4wd":0.0}`, func(l engine.Listing) bool { return l.Is4WD == 0 }, ""},
		{"text trimmed, case kept", `{"model_year":2011,"model":"  Ford F-150 ","type":"SUV"}`, func(l engine.Listing) bool { return l.Model == "Ford F-150" && l.Type == "SUV" }, ""},
		{"empty optional text is missing", `{"model_year":2011,"model":"x","paint_color":"","date_posted":""}`, func(l engine.Listing) bool { return l.PaintColor == "" && l.DatePosted == "" }, ""},
		{"escapes decoded", `{"model_year":2011,"model":"a\"b\\c\/d\u00e9\ud83d\ude97"}`, func(l engine.Listing) bool { return l.Model == "a\"b\\c/dé🚗" }, ""},
		{"lone surrogate becomes U+FFFD", `{"model_year":2011,"model":"x\ud800y"}`, func(l engine.Listing) bool { return l.Model == "x\uFFFDy" }, ""},
		{"unicode text", `{"model_year":2011,"model":"トヨタ カローラ","fuel":"électrique","type":"Geländewagen","paint_color":"красный","condition":"بحالة جيدة","transmission":"自动"}`, func(l engine.Listing) bool {
			return l.Model == "トヨタ カローラ" && l.Fuel == "électrique" && l.PaintColor == "красный"
		}, ""},
		{"days_listed accepted and ignored", `{"model_year":2011,"model":"x","days_listed":19}`, func(l engine.Listing) bool { return math.IsNaN(l.DaysListed) }, ""},
		{"price accepted, ignored, warned", `{"model_year":2011,"model":"x","price":9400}`, func(l engine.Listing) bool { return math.IsNaN(l.Price) }, "price ignored"},
		{"whitespace everywhere", " \n\t{ \"model_year\" : 2011 ,\r\n \"model\" : \"x\" } \n", func(l engine.Listing) bool { return l.ModelYear == 2011 }, ""},
		{"max year accepted", `{"model_year":2027,"model":"x"}`, func(l engine.Listing) bool { return l.ModelYear == 2027 }, ""},
		{"odometer zero", `{"model_year":2011,"model":"x","odometer":0}`, func(l engine.Listing) bool { return l.Odometer == 0 }, ""},
		{"leap day", `{"model_year":2011,"model":"x","date_posted":"2016-02-29"}`, func(l engine.Listing) bool { return l.DatePosted == "2016-02-29" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeListing([]byte(tc.body), testOpts)
			if err != nil || len(d.Errors) > 0 {
				t.Fatalf("err %v, field errors %+v", err, d.Errors)
			}
			if !tc.check(d.Listing) {
				t.Errorf("unexpected listing %+v", d.Listing)
			}
			joined := strings.Join(d.Warnings, "|")
			if (tc.warn == "") != (len(d.Warnings) == 0) || !strings.Contains(joined, tc.warn) {
				t.Errorf("warnings %q, want %q", d.Warnings, tc.warn)
			}
		})
	}
}

func TestDecodeListingFieldErrors(t *testing.T) {
	type fe struct{ field, typ string }
	tests := []struct {
		name   string
		body   string
		strict bool
		want   []fe
	}{
		{"missing required", `{}`, true, []fe{{"model_year", "missing"}, {"model", "missing"}}},
		{"null required", `{"model_year":null,"model":null}`, true, []fe{{"model_year", "missing"}, {"model", "missing"}}},
		{"year as string", `{"model_year":"2011","model":"x"}`, true, []fe{{"model_year", "int_type"}}},
		{"year fractional", `{"model_year":2011.5,"model":"x"}`, true, []fe{{"model_year", "int_from_float"}}},
		{"year too old", `{"model_year":1899,"model":"x"}`, true, []fe{{"model_year", "greater_than_equal"}}},
		{"year too new", `{"model_year":2028,"model":"x"}`, true, []fe{{"model_year", "less_than_equal"}}},
		{"year huge", `{"model_year":1e400,"model":"x"}`, true, []fe{{"model_year", "finite_number"}}},
		{"year bool", `{"model_year":true,"model":"x"}`, true, []fe{{"model_year", "int_type"}}},
		{"model empty", `{"model_year":2011,"model":"  "}`, true, []fe{{"model", "string_too_short"}}},
		{"model number", `{"model_year":2011,"model":42}`, true, []fe{{"model", "string_type"}}},
		{"model object", `{"model_year":2011,"model":{"a":[1,2]}}`, true, []fe{{"model", "string_type"}}},
		{"model too long", `{"model_year":2011,"model":"` + strings.Repeat("a", MaxTextLen+1) + `"}`, true, []fe{{"model", "string_too_long"}}},
		{"model control char", `{"model_year":2011,"model":"a\u0000b"}`, true, []fe{{"model", "string_pattern_mismatch"}}},
		{"negative odometer", `{"model_year":2011,"model":"x","odometer":-1}`, true, []fe{{"odometer", "greater_than_equal"}}},
		{"huge odometer", `{"model_year":2011,"model":"x","odometer":1e300}`, true, []fe{{"odometer", "less_than_equal"}}},
		{"odometer string", `{"model_year":2011,"model":"x","odometer":"98000"}`, true, []fe{{"odometer", "float_type"}}},
		{"cylinders 7", `{"model_year":2011,"model":"x","cylinders":7}`, true, []fe{{"cylinders", "literal_error"}}},
		{"cylinders 4.5", `{"model_year":2011,"model":"x","cylinders":4.5}`, true, []fe{{"cylinders", "literal_error"}}},
		{"is_4wd 2", `{"model_year":2011,"model":"x","is_4wd":2}`, true, []fe{{"is_4wd", "bool_parsing"}}},
		{"is_4wd string", `{"model_year":2011,"model":"x","is_4wd":"yes"}`, true, []fe{{"is_4wd", "bool_type"}}},
		{"bad date", `{"model_year":2011,"model":"x","date_posted":"2019-02-30"}`, true, []fe{{"date_posted", "date_parsing"}}},
		{"date wrong format", `{"model_year":2011,"model":"x","date_posted":"15/03/2019"}`, true, []fe{{"date_posted", "date_parsing"}}},
		{"days_listed string", `{"model_year":2011,"model":"x","days_listed":"x"}`, true, []fe{{"days_listed", "float_type"}}},
		{"unknown strict", `{"model_year":2011,"model":"x","drive":"fwd"}`, true, []fe{{"drive", "extra_forbidden"}}},
		{"duplicate", `{"model_year":2011,"model":"x","model":"y"}`, true, []fe{{"model", "duplicate_field"}}},
		{"all at once", `{"model_year":"x","odometer":-5,"cylinders":9,"drive":1}`, true,
			[]fe{{"model_year", "int_type"}, {"odometer", "greater_than_equal"}, {"cylinders", "literal_error"}, {"drive", "extra_forbidden"}, {"model", "missing"}}},
		{"not an object", `[1,2]`, true, []fe{{"body", "model_attributes_type"}}},
		{"empty body", ``, true, []fe{{"body", "missing"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := testOpts
			opt.Strict = tc.strict
			d, err := DecodeListing([]byte(tc.body), opt)
			if err != nil {
				t.Fatalf("unexpected syntax error %v", err)
			}
			var got []fe
			for _, e := range d.Errors {
				if e.Loc[0] != "body" {
					t.Errorf("loc %v does not start with body", e.Loc)
				}
				if e.Msg == "" {
					t.Errorf("empty msg in %+v", e)
				}
				got = append(got, fe{e.Field(), e.Type})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("errors %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecodeListingTooManyErrors(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"model_year":2011,"model":"x"`)
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&sb, `,"extra%d":1`, i)
	}
	sb.WriteString("}")
	d, err := DecodeListing([]byte(sb.String()), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Errors) != maxReported+1 || d.Errors[maxReported].Type != "too_many_errors" {
		t.Fatalf("got %d errors, last %+v", len(d.Errors), d.Errors[len(d.Errors)-1])
	}
	if !strings.Contains(d.Errors[maxReported].Msg, "30 more") {
		t.Errorf("summary %q should count the 30 hidden errors", d.Errors[maxReported].Msg)
	}
}

func TestDecodeListingLenient(t *testing.T) {
	d, err := DecodeListing([]byte(`{"model_year":2011,"model":"x","drive":"fwd","`+strings.Repeat("k", 100)+`":{"deep":[1]}}`), DecodeOptions{MaxYear: 2027})
	if err != nil || len(d.Errors) > 0 {
		t.Fatalf("err %v, errors %v", err, d.Errors)
	}
	if len(d.Warnings) != 2 || !strings.Contains(d.Warnings[0], `"drive"`) || !strings.Contains(d.Warnings[1], "…") {
		t.Errorf("warnings %q: want the unknown names, the long one clipped", d.Warnings)
	}
}

func TestDecodeSyntaxErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		offset int
		msg    string
	}{
		{"truncated", `{"model_year": 2011, "mod`, 25, "unterminated string"},
		{"missing colon", `{"model_year" 2011}`, 14, "expected ':'"},
		{"NaN literal", `{"model_year": NaN, "model":"x"}`, 15, "NaN"},
		{"Infinity", `{"model_year":2011,"model":"x","odometer":Infinity}`, 42, "beginning of a value"},
		{"negative Infinity", `{"odometer":-Infinity}`, 13, "expected a digit"},
		{"leading zero", `{"odometer":0123}`, 13, "expected ',' or '}'"},
		{"trailing comma", `{"model":"x",}`, 13, "expected a string key"},
		{"single quotes", `{'model':'x'}`, 1, "expected a string key"},
		{"trailing data", `{"model":"x"} {}`, 14, "after the JSON value"},
		{"raw newline in string", "{\"model\":\"a\nb\"}", 11, "control character"},
		{"invalid UTF-8", "{\"model\":\"a\xffb\"}", 11, "invalid UTF-8"},
		{"bad escape", `{"model":"a\qb"}`, 11, "invalid escape"},
		{"bad unicode escape", `{"model":"a\u12G4"}`, 11, "invalid \\u escape"},
		{"exponent without digits", `{"odometer":1e}`, 14, "exponent"},
		{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 5 + MaxDepth - 1, "nesting deeper"},
		{"deep nesting top", strings.Repeat("[", 100), MaxDepth, "nesting deeper"},
		{"bare word", `true false`, 5, "after the JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeListing([]byte(tc.body), testOpts)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want *SyntaxError, got %v", err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("got offset %d %q, want offset %d containing %q", se.Offset, se.Msg, tc.offset, tc.msg)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	okItem := `{"model_year":2011,"model":"x"}`
	tests := []struct {
		name     string
		body     string
		strict   bool
		max      int
		items    int
		itemErrs []int    // indexes with errors
		top      []string // top-level error types
		loc0     string   // the first item error's loc, printed
	}{
		{"wrapped", `{"vehicles":[` + okItem + `,` + okItem + `]}`, true, 10, 2, nil, nil, ""},
		{"bare array", `[` + okItem + `]`, true, 10, 1, nil, nil, ""},
		{"per item errors in order", `{"vehicles":[` + okItem + `,{"model_year":1},3]}`, true, 10, 3, []int{1, 2}, nil, "[body vehicles 1 model_year]"},
		{"bare per item loc", `[{"model":"x"}]`, true, 10, 1, []int{0}, nil, "[body 0 model_year]"},
		{"too many", `[` + okItem + `,` + okItem + `,` + okItem + `]`, true, 2, 0, nil, []string{"too_long"}, ""},
		{"empty", `{"vehicles":[]}`, true, 10, 0, nil, []string{"too_short"}, ""},
		{"missing vehicles", `{}`, true, 10, 0, nil, []string{"missing"}, ""},
		{"vehicles not a list", `{"vehicles":{}}`, true, 10, 0, nil, []string{"list_type"}, ""},
		{"unknown top key strict", `{"vehicles":[` + okItem + `],"batch_id":1}`, true, 10, 0, nil, []string{"extra_forbidden"}, ""},
		{"unknown top key lenient", `{"batch_id":1,"vehicles":[` + okItem + `]}`, false, 10, 1, nil, nil, ""},
		{"scalar body", `42`, true, 10, 0, nil, []string{"model_attributes_type"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := testOpts
			opt.Strict = tc.strict
			items, _, top, err := DecodeBatch([]byte(tc.body), opt, tc.max)
			if err != nil {
				t.Fatalf("syntax error %v", err)
			}
			var topTypes []string
			for _, e := range top {
				topTypes = append(topTypes, e.Type)
			}
			if fmt.Sprint(topTypes) != fmt.Sprint(tc.top) {
				t.Fatalf("top errors %v, want %v", topTypes, tc.top)
			}
			if len(items) != tc.items {
				t.Fatalf("%d items, want %d", len(items), tc.items)
			}
			var bad []int
			for i, it := range items {
				if len(it.Errors) > 0 {
					bad = append(bad, i)
				}
			}
			if fmt.Sprint(bad) != fmt.Sprint(tc.itemErrs) {
				t.Errorf("items with errors %v, want %v", bad, tc.itemErrs)
			}
			if tc.loc0 != "" && fmt.Sprint(items[bad[0]].Errors[0].Loc) != tc.loc0 {
				t.Errorf("loc %v, want %s", items[bad[0]].Errors[0].Loc, tc.loc0)
			}
		})
	}
	if _, _, _, err := DecodeBatch([]byte(`{"vehicles":[{"model":"x"`), testOpts, 10); err == nil {
		t.Error("truncated batch: want a syntax error")
	}
}

// jsonDepth returns the nesting depth of valid JSON.
func jsonDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, max := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return max
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			max = maxInt(max, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// FuzzDecode checks the decoder against encoding/json: it never panics, it
// accepts exactly the valid UTF-8 JSON within the depth limit, and what it
// accepts agrees with encoding/json's reading of the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{validBody, `{}`, `[]`, `{"model_year":2011.0,"model":"x","is_4wd":true}`,
		`{"model":"\ud83d\ude97","model_year":2019,"odometer":null}`, `{"a":[{"b":[]}]}`, `{"model_year":1e999}`,
		`{"model":"x\u0000"}`, "{\"model\":\"\xff\"}", `[{"model_year":2011,"model":"x"}]`, `{"vehicles":[{}]}`, `NaN`, `{"x":-0.0e+1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeListing(data, testOpts)
		_, _, _, berr := DecodeBatch(data, testOpts, 5)
		if len(bytes.Trim(data, " \t\r\n")) == 0 {
			if err != nil || len(d.Errors) != 1 || d.Errors[0].Type != "missing" {
				t.Fatalf("blank body: want one missing-body error, got %v %v", err, d.Errors)
			}
			return
		}
		valid := json.Valid(data) && utf8.Valid(data) && jsonDepth(data) <= MaxDepth
		if valid != (err == nil) {
			t.Fatalf("json.Valid=%v (depth %d) but DecodeListing err=%v for %q", valid, jsonDepth(data), err, data)
		}
		if (err == nil) != (berr == nil) {
			t.Fatalf("listing err %v but batch err %v for %q", err, berr, data)
		}
		if err != nil || len(d.Errors) > 0 {
			return
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			t.Fatalf("accepted a listing encoding/json cannot read as an object: %q", data)
		}
		l := d.Listing
		if l.ModelYear < MinModelYear || l.ModelYear > float64(testOpts.MaxYear) || l.ModelYear != math.Trunc(l.ModelYear) {
			t.Fatalf("model_year %v accepted", l.ModelYear)
		}
		if want := strings.TrimSpace(m["model"].(string)); l.Model != want || l.Model == "" {
			t.Fatalf("model %q, encoding/json reads %q", l.Model, want)
		}
		if v, ok := m["odometer"].(float64); ok && v != l.Odometer {
			t.Fatalf("odometer %v, encoding/json reads %v", l.Odometer, v)
		}
		if !math.IsNaN(l.Odometer) && (l.Odometer < 0 || l.Odometer > MaxOdometer) {
			t.Fatalf("odometer %v accepted", l.Odometer)
		}
		for _, s := range []string{l.Model, l.Condition, l.Fuel, l.Type, l.PaintColor, l.Transmission, l.DatePosted} {
			if !utf8.ValidString(s) || len(s) > MaxTextLen {
				t.Fatalf("text %q accepted", s)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(validBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		d, err := DecodeListing(body, testOpts)
		if err != nil || len(d.Errors) > 0 {
			b.Fatal(err, d.Errors)
		}
	}
}
