package market

import (
	"reflect"
	"strings"
	"testing"

	"carvision/engine"
)

func TestParseFilter(t *testing.T) {
	base := engine.MarketFilter{MinPrice: 1000, MaxPrice: 2000, MinYear: 2001, MaxYear: 2002, Brands: []string{"kia"}, Year: 2024}
	for _, tc := range []struct {
		in   string
		base engine.MarketFilter
		want engine.MarketFilter
	}{
		{"price 5000-30000", engine.MarketFilter{}, engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000}},
		{"price $5,000 - $30,000", engine.MarketFilter{}, engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000}},
		{"PRICE 5k..30K", engine.MarketFilter{}, engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000}},
		{"price 1.5m-", engine.MarketFilter{}, engine.MarketFilter{MinPrice: 1.5e6}},
		{"price -30000", engine.MarketFilter{}, engine.MarketFilter{MaxPrice: 30000}},
		{"price 0-0", engine.MarketFilter{}, engine.MarketFilter{}},
		{"year 2005-2015", engine.MarketFilter{}, engine.MarketFilter{MinYear: 2005, MaxYear: 2015}},
		{"years 2010", engine.MarketFilter{}, engine.MarketFilter{MinYear: 2010, MaxYear: 2010}},
		{"year 2010-", engine.MarketFilter{}, engine.MarketFilter{MinYear: 2010}},
		{"year –2015", engine.MarketFilter{}, engine.MarketFilter{MaxYear: 2015}},
		{"brands ford,toyota", engine.MarketFilter{}, engine.MarketFilter{Brands: []string{"ford", "toyota"}}},
		{"brand Ford, TOYOTA ford", engine.MarketFilter{}, engine.MarketFilter{Brands: []string{"ford", "toyota"}}},
		{"brands mercedes-benz", engine.MarketFilter{}, engine.MarketFilter{Brands: []string{"mercedes-benz"}}},
		{"ref 2020", engine.MarketFilter{}, engine.MarketFilter{Year: 2020}},
		{"price 5000-30000 year 2005-2015 brands ford,toyota ref 2020", engine.MarketFilter{},
			engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000, MinYear: 2005, MaxYear: 2015, Brands: []string{"ford", "toyota"}, Year: 2020}},
		{"year 2005-2015; price 5000-", engine.MarketFilter{}, engine.MarketFilter{MinPrice: 5000, MinYear: 2005, MaxYear: 2015}},
		// Clauses apply on top of the current filter; "any" clears one field.
		{"price 3000-4000", base, engine.MarketFilter{MinPrice: 3000, MaxPrice: 4000, MinYear: 2001, MaxYear: 2002, Brands: []string{"kia"}, Year: 2024}},
		{"price any", base, engine.MarketFilter{MinYear: 2001, MaxYear: 2002, Brands: []string{"kia"}, Year: 2024}},
		{"year all brands any", base, engine.MarketFilter{MinPrice: 1000, MaxPrice: 2000, Year: 2024}},
		{"ref -", base, engine.MarketFilter{MinPrice: 1000, MaxPrice: 2000, MinYear: 2001, MaxYear: 2002, Brands: []string{"kia"}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFilter(tc.in, tc.base)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			// What is shown is what one would type: it parses back to the same filter.
			back, err := ParseFilter(FormatFilter(got), engine.MarketFilter{})
			if FormatFilter(got) != "" && (err != nil || !reflect.DeepEqual(back, got)) {
				t.Fatalf("round trip %q: %+v, %v", FormatFilter(got), back, err)
			}
		})
	}
}

func TestParseFilterRejects(t *testing.T) {
	base := engine.MarketFilter{MinPrice: 1000, Brands: []string{"kia"}}
	for _, tc := range []struct {
		in    string
		field string // the error starts with the field it is about
		says  string
	}{
		{"", "filter", "empty"},
		{"   ", "filter", "empty"},
		{"colour red", `filter "colour"`, "unknown field"},
		{"5000-30000", `filter "5000-30000"`, "unknown field"},
		{"price", "price", "missing value"},
		{"price abc-5000", "price", `"abc" is not a number`},
		{"price 30000-5000", "price", "from 30000 is above to 5000"},
		{"price 5000", "price", "a range is needed"},
		{"price -", "", ""}, // clears: valid, checked below
		{"price 1-2-3", "price", "more than one"},
		{"price inf-", "price", "not a number"},
		{"price NaN-5", "price", "not a number"},
		{"price 2000m-", "price", "outside"},
		{"year 20x5-2015", "year", `"20x5" is not a year`},
		{"year 2015-2005", "year", "from 2015 is after to 2005"},
		{"year 1850-1900", "year", "1850 is outside 1900..2100"},
		{"year 2005-3000", "year", "outside"},
		{"year", "year", "missing value"},
		{"brands", "brands", "missing value"},
		{"brands ,,", "brands", "missing value"},
		{"brands ford;toyota", "", ""}, // ; is a space: both are brands, checked below
		{"brands for$d", "brands", `"for$d" is not a brand name`},
		{"ref 2020 2021", "ref", "one year only"},
		{"ref soon", "ref", "not a year"},
		{"price 1-2 price 3-4", "price", "given twice"},
		{"year 2005 years 2006", "year", "given twice"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			snapshot := FormatFilter(base)
			got, err := ParseFilter(tc.in, base)
			switch tc.in {
			case "price -":
				if err != nil || got.MinPrice != 0 {
					t.Fatalf("price - should clear: %+v, %v", got, err)
				}
				return
			case "brands ford;toyota":
				if err != nil || !reflect.DeepEqual(got.Brands, []string{"ford", "toyota"}) {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !strings.HasPrefix(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q: want it to start with %q and say %q", err, tc.field, tc.says)
			}
			if FormatFilter(got) != snapshot || FormatFilter(base) != snapshot {
				t.Fatalf("a rejected filter changed the filter: %q (base %q)", FormatFilter(got), FormatFilter(base))
			}
		})
	}
}

// TestParseFilterDoesNotAliasBase: editing the result never edits the base.
func TestParseFilterDoesNotAliasBase(t *testing.T) {
	base := engine.MarketFilter{Brands: []string{"kia", "ford"}}
	got, err := ParseFilter("price 1-2", base)
	if err != nil {
		t.Fatal(err)
	}
	got.Brands[0] = "changed"
	if base.Brands[0] != "kia" {
		t.Fatalf("base brands aliased: %v", base.Brands)
	}
}

func TestFormatFilter(t *testing.T) {
	for _, tc := range []struct {
		f    engine.MarketFilter
		want string
	}{
		{engine.MarketFilter{}, ""},
		{engine.MarketFilter{MinPrice: 5000, MaxPrice: 30000}, "price 5000-30000"},
		{engine.MarketFilter{MinPrice: 5000}, "price 5000-"},
		{engine.MarketFilter{MaxPrice: 1500.5}, "price -1500.5"},
		{engine.MarketFilter{MinYear: 2010, MaxYear: 2010}, "year 2010"},
		{engine.MarketFilter{MaxYear: 2015}, "year -2015"},
		{engine.MarketFilter{Brands: []string{"ford", "ram"}, Year: 2020}, "brands ford,ram ref 2020"},
	} {
		if got := FormatFilter(tc.f); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
}
