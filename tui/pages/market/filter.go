package market

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"carvision/engine"
)

// FilterSyntax is the one-line help of the filter input.
const FilterSyntax = "price 5000-30000  year 2005-2015  brands ford,toyota  ref 2020  (<field> any clears it)"

// Year bounds a filter accepts; the engine refuses reference years outside them too.
const (
	minYear = 1900
	maxYear = 2100
)

// clause keywords and the field each sets.
var keywords = map[string]string{
	"price": "price", "prices": "price",
	"year": "year", "years": "year",
	"brand": "brands", "brands": "brands",
	"ref": "ref", "asof": "ref",
}

// ParseFilter reads a filter line such as "price 5000-30000 year 2005-2015
// brands ford,toyota" and applies it on top of base: fields the line does
// not name keep base's value, so clauses can be given one at a time, and
// "<field> any" clears one field. Ranges may be open ("5000-", "-30000");
// prices accept "$", thousands commas and a k/m suffix. The error names the
// field and the offending text; base is never modified.
func ParseFilter(text string, base engine.MarketFilter) (engine.MarketFilter, error) {
	out := base
	out.Brands = slices.Clone(base.Brands)
	tokens := strings.Fields(strings.ReplaceAll(text, ";", " "))
	if len(tokens) == 0 {
		return out, errors.New("filter: empty (e.g. " + FilterSyntax + ")")
	}
	seen := map[string]bool{}
	for i := 0; i < len(tokens); {
		field, ok := keywords[strings.ToLower(tokens[i])]
		if !ok {
			return base, fmt.Errorf("filter %q: unknown field (use price, year, brands or ref)", tokens[i])
		}
		if seen[field] {
			return base, fmt.Errorf("%s: given twice", field)
		}
		seen[field] = true
		j := i + 1
		for j < len(tokens) {
			if _, kw := keywords[strings.ToLower(tokens[j])]; kw {
				break
			}
			j++
		}
		args := tokens[i+1 : j]
		i = j
		if err := apply(&out, field, args); err != nil {
			return base, err
		}
	}
	return out, nil
}

func apply(f *engine.MarketFilter, field string, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s: missing value (e.g. %s)", field, example(field))
	}
	joined := strings.Join(args, "")
	if cleared(joined) {
		switch field {
		case "price":
			f.MinPrice, f.MaxPrice = 0, 0
		case "year":
			f.MinYear, f.MaxYear = 0, 0
		case "brands":
			f.Brands = nil
		case "ref":
			f.Year = 0
		}
		return nil
	}
	switch field {
	case "price":
		lo, hi, err := priceRange(joined)
		if err != nil {
			return fmt.Errorf("price %q: %w (e.g. %s)", joined, err, example(field))
		}
		f.MinPrice, f.MaxPrice = lo, hi
	case "year":
		lo, hi, err := yearRange(joined)
		if err != nil {
			return fmt.Errorf("year %q: %w (e.g. %s)", joined, err, example(field))
		}
		f.MinYear, f.MaxYear = lo, hi
	case "brands":
		var brands []string
		for _, b := range strings.Split(strings.Join(args, ","), ",") {
			b = strings.ToLower(strings.TrimSpace(b))
			if b == "" {
				continue
			}
			if !validBrand(b) {
				return fmt.Errorf("brands %q: %q is not a brand name (letters, digits, - only)", strings.Join(args, " "), b)
			}
			if !slices.Contains(brands, b) {
				brands = append(brands, b)
			}
		}
		if len(brands) == 0 {
			return fmt.Errorf("brands: missing value (e.g. %s)", example(field))
		}
		f.Brands = brands
	case "ref":
		if len(args) > 1 {
			return fmt.Errorf("ref %q: one year only (e.g. %s)", strings.Join(args, " "), example(field))
		}
		y, err := year(joined)
		if err != nil {
			return fmt.Errorf("ref %q: %w (e.g. %s)", joined, err, example(field))
		}
		f.Year = y
	}
	return nil
}

func example(field string) string {
	switch field {
	case "price":
		return "price 5000-30000"
	case "year":
		return "year 2005-2015"
	case "brands":
		return "brands ford,toyota"
	}
	return "ref 2020"
}

func cleared(s string) bool {
	switch strings.ToLower(s) {
	case "any", "all", "*", "none", "-":
		return true
	}
	return false
}

var errNoRange = errors.New("a range is needed, open ends allowed")

// split cuts "a-b" (also "a..b", "a–b") into its ends; an end may be empty.
func split(s string) (string, string, error) {
	parts := strings.Split(strings.NewReplacer("..", "-", "–", "-", "—", "-").Replace(s), "-")
	switch len(parts) {
	case 1:
		return "", "", errNoRange
	case 2:
		if parts[0] == "" && parts[1] == "" {
			return "", "", errors.New("both ends are empty")
		}
		return parts[0], parts[1], nil
	}
	return "", "", errors.New("more than one '-'")
}

func priceRange(s string) (float64, float64, error) {
	a, b, err := split(s)
	if err != nil {
		return 0, 0, err
	}
	lo, err := price(a)
	if err != nil {
		return 0, 0, err
	}
	hi, err := price(b)
	if err != nil {
		return 0, 0, err
	}
	if hi > 0 && lo > hi {
		return 0, 0, fmt.Errorf("from %s is above to %s", num(lo), num(hi))
	}
	return lo, hi, nil
}

// price parses one end of a price range; "" is no bound (0).
func price(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	t := strings.ToLower(strings.NewReplacer("$", "", ",", "", "_", "").Replace(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v *= mult
	if v < 0 || v > 1e9 {
		return 0, fmt.Errorf("%q is outside 0..1,000,000,000", s)
	}
	return v, nil
}

func yearRange(s string) (int, int, error) {
	a, b, err := split(s)
	if errors.Is(err, errNoRange) {
		y, err := year(s)
		return y, y, err
	}
	if err != nil {
		return 0, 0, err
	}
	var lo, hi int
	if a != "" {
		if lo, err = year(a); err != nil {
			return 0, 0, err
		}
	}
	if b != "" {
		if hi, err = year(b); err != nil {
			return 0, 0, err
		}
	}
	if hi > 0 && lo > hi {
		return 0, 0, fmt.Errorf("from %d is after to %d", lo, hi)
	}
	return lo, hi, nil
}

func year(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a year", s)
	}
	if y < minYear || y > maxYear {
		return 0, fmt.Errorf("%d is outside %d..%d", y, minYear, maxYear)
	}
	return y, nil
}

func validBrand(b string) bool {
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// FormatFilter writes f in the syntax ParseFilter reads ("" when f narrows
// nothing), so the filter shown is the filter one would type.
func FormatFilter(f engine.MarketFilter) string {
	var parts []string
	if f.MinPrice > 0 || f.MaxPrice > 0 {
		parts = append(parts, "price "+bounds(num(f.MinPrice), num(f.MaxPrice), f.MinPrice > 0, f.MaxPrice > 0))
	}
	if f.MinYear > 0 || f.MaxYear > 0 {
		if f.MinYear == f.MaxYear {
			parts = append(parts, "year "+strconv.Itoa(f.MinYear))
		} else {
			parts = append(parts, "year "+bounds(strconv.Itoa(f.MinYear), strconv.Itoa(f.MaxYear), f.MinYear > 0, f.MaxYear > 0))
		}
	}
	if len(f.Brands) > 0 {
		parts = append(parts, "brands "+strings.Join(f.Brands, ","))
	}
	if f.Year > 0 {
		parts = append(parts, "ref "+strconv.Itoa(f.Year))
	}
	return strings.Join(parts, " ")
}

func bounds(lo, hi string, hasLo, hasHi bool) string {
	switch {
	case hasLo && hasHi:
		return lo + "-" + hi
	case hasLo:
		return lo + "-"
	}
	return "-" + hi
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// narrows reports whether f selects fewer rows than the whole market (the
// reference year changes ages, not which rows are counted).
func narrows(f engine.MarketFilter) bool {
	return f.MinPrice > 0 || f.MaxPrice > 0 || f.MinYear > 0 || f.MaxYear > 0 || len(f.Brands) > 0
}
