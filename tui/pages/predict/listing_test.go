package predict

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"carvision/engine"
	"carvision/tui/theme"
)

var now = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

func TestListingKeepsMissingMissing(t *testing.T) {
	l, errs := Values{Model: "ford f-150"}.Listing(now)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for name, v := range map[string]float64{"model_year": l.ModelYear, "odometer": l.Odometer,
		"cylinders": l.Cylinders, "is_4wd": l.Is4WD, "days_listed": l.DaysListed} {
		if !math.IsNaN(v) {
			t.Errorf("%s = %v, want missing (NaN): nothing is invented", name, v)
		}
	}
	if l.Condition != "" || l.Fuel != "" || l.DatePosted != "" {
		t.Errorf("text fields invented: %+v", l)
	}
}

func TestListingParsesAndReportsEveryBadField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v      Values
		fields []string // fields reported, in order
	}{
		{"all good", Values{Model: "honda civic", ModelYear: "2015", Odometer: "120,000", Cylinders: "4",
			DaysListed: "12", DatePosted: "2019-03-01", Is4WD: "0"}, nil},
		{"model required", Values{}, []string{"model"}},
		{"year not a number", Values{Model: "x", ModelYear: "20l5"}, []string{"model_year"}},
		{"year in the future", Values{Model: "x", ModelYear: "2031"}, []string{"model_year"}},
		{"several", Values{ModelYear: "1800", Odometer: "-5", Cylinders: "2", DaysListed: "-1", DatePosted: "14/03/2025"},
			[]string{"model", "model_year", "cylinders", "odometer", "days_listed", "date_posted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, errs := tc.v.Listing(now)
			if len(errs) != len(tc.fields) {
				t.Fatalf("errors %v, want fields %v", errs, tc.fields)
			}
			for i, e := range errs {
				if e.Field != tc.fields[i] || !strings.HasPrefix(e.Error(), e.Field+": ") {
					t.Fatalf("error %d = %q, want field %s", i, e.Error(), tc.fields[i])
				}
			}
			if tc.fields == nil && (l.ModelYear != 2015 || l.Odometer != 120000 || l.Cylinders != 4 || l.Is4WD != 0 || l.DaysListed != 12) {
				t.Fatalf("parsed listing %+v", l)
			}
		})
	}
}

func TestJSONDropsMissingFields(t *testing.T) {
	l := engine.EmptyListing()
	l.Model, l.ModelYear = "bmw x5", 2011
	js, err := JSON(Entry{Listing: l, Result: engine.Prediction{Price: 9400, ModelVersion: "6"}})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Listing    map[string]any `json:"listing"`
		Prediction map[string]any `json:"prediction"`
	}
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	if len(back.Listing) != 2 || back.Listing["model"] != "bmw x5" || back.Prediction["predicted_price"] != 9400.0 {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestGaugeAndContributionsFitWidth(t *testing.T) {
	th, _ := theme.New("default", nil)
	m := engine.MarketPlace{Q1: 5000, Median: 9000, Q3: 16839, Max: 375000}
	for _, price := range []float64{100, 9000, 25150, 300000} {
		lines := Gauge(th, price, m, 40)
		if len(lines) != 3 {
			t.Fatalf("gauge has %d lines", len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > 40 {
				t.Fatalf("price %v: gauge line %q wider than 40", price, ansi.Strip(l))
			}
		}
		if !strings.Contains(ansi.Strip(lines[0]), "$") {
			t.Fatalf("price %v: pointer line lacks the price: %q", price, lines[0])
		}
	}
	cs := []engine.Contribution{{Feature: "vehicle_age", Value: "4", Amount: 2000}, {Feature: "condition", Value: "fair", Amount: -1000}}
	out := Contributions(th, cs, 50, 6)
	if len(out) != 2 || !strings.Contains(ansi.Strip(out[0]), "+$2,000 +") || !strings.Contains(ansi.Strip(out[1]), "-$1,000 −") {
		t.Fatalf("contributions must carry the sign in text: %q", out)
	}
}
