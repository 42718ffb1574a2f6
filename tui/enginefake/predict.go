package enginefake

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"carvision/engine"
)

// Market quartiles of the cleaned listings (the Predict card's gauge).
var market = engine.MarketPlace{Q1: 5000, Median: 9000, Q3: 16839, Max: 375000}

const baseValue = 12132.46 // mean price: the explanation's starting point

// FieldError is the fake's validation error: it names the field.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Predict implements engine.Client with a transparent pricing formula.
func (f *Fake) Predict(ctx context.Context, l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	f.count("Predict")
	if err := ctx.Err(); err != nil {
		return engine.Prediction{}, err
	}
	f.mu.Lock()
	perr, version := f.predictErr, "v"+f.champion
	f.mu.Unlock()
	if perr != nil {
		return engine.Prediction{}, perr
	}
	now := f.clock()
	if strings.TrimSpace(l.Model) == "" {
		return engine.Prediction{}, &FieldError{"model", "required"}
	}
	if !math.IsNaN(l.ModelYear) && (l.ModelYear < 1900 || l.ModelYear > float64(now.Year()+1)) {
		return engine.Prediction{}, &FieldError{"model_year", fmt.Sprintf("%v outside 1900…%d", l.ModelYear, now.Year()+1)}
	}
	if !math.IsNaN(l.Odometer) && l.Odometer < 0 {
		return engine.Prediction{}, &FieldError{"odometer", "must be ≥ 0"}
	}
	var warnings []string
	if !math.IsNaN(l.ModelYear) && l.ModelYear > 2019 {
		warnings = append(warnings, fmt.Sprintf("model_year %.0f is beyond the training range (≤ 2019): extrapolation", l.ModelYear))
	}
	if !slices.Contains(carModels, l.Model) {
		warnings = append(warnings, fmt.Sprintf("model %q was not seen in training", l.Model))
	}
	parts := factors(l)
	price := baseValue
	for _, p := range parts {
		price *= p.mult
	}
	price = math.Round(price/10) * 10
	h := hash(fmt.Sprintf("%+v", l))
	lat := time.Duration(600+h%1200) * time.Microsecond
	p := engine.Prediction{Price: price, ModelVersion: version, RequestID: fmt.Sprintf("req-%08x", h%(1<<32)),
		Warnings: warnings, Latency: lat, LatencyMS: float64(lat.Microseconds()) / 1000,
		Interval: &engine.Interval{Lower: math.Round(price*0.82/10) * 10, Upper: math.Round(price*1.21/10) * 10, Coverage: 0.8},
		Market:   &market}
	p.Percentile = percentile(price)
	p.Band = band(price)
	if opt.Explain {
		p.BaseValue = baseValue
		p.Contributions = contributions(parts, price)
	}
	if opt.Comparables > 0 {
		p.Comparables, p.ComparablesMedian = comparables(l, price, opt.Comparables)
	}
	return p, nil
}

type factor struct {
	feature, value string
	mult           float64
}

func factors(l engine.Listing) []factor {
	var out []factor
	num := func(v float64) string {
		if math.IsNaN(v) {
			return "missing"
		}
		return fmt.Sprintf("%g", v)
	}
	age := 8.0
	if !math.IsNaN(l.ModelYear) {
		age = math.Max(2019-l.ModelYear, 0)
	}
	out = append(out, factor{"vehicle_age", fmt.Sprintf("%.0f", age), math.Pow(0.9, age-8)})
	odo := 1.0
	if !math.IsNaN(l.Odometer) {
		odo = math.Exp(-(l.Odometer - 113000) / 260000)
	}
	out = append(out, factor{"odometer", num(l.Odometer), odo})
	cond := map[string]float64{"new": 1.3, "like new": 1.15, "excellent": 1.04, "good": 0.95, "fair": 0.68, "salvage": 0.42}
	cm, ok := cond[l.Condition]
	if !ok {
		cm = 1
	}
	out = append(out, factor{"condition", orMissing(l.Condition), cm})
	typ := map[string]float64{"pickup": 1.35, "truck": 1.4, "SUV": 1.05, "sedan": 0.78, "coupe": 1.05,
		"convertible": 1.1, "van": 0.9, "mini-van": 0.8, "hatchback": 0.72, "wagon": 0.85, "offroad": 1.2, "bus": 1.3}
	tm, ok := typ[l.Type]
	if !ok {
		tm = 1
	}
	out = append(out, factor{"type", orMissing(l.Type), tm})
	mm := 0.85 + float64(hash(l.Model)%30)/100
	out = append(out, factor{"model", orMissing(l.Model), mm})
	fuel := map[string]float64{"diesel": 1.3, "hybrid": 1.05, "electric": 1.1}
	fm, ok := fuel[l.Fuel]
	if !ok {
		fm = 1
	}
	out = append(out, factor{"fuel", orMissing(l.Fuel), fm})
	cyl := 1.0
	if l.Cylinders >= 8 {
		cyl = 1.08
	} else if l.Cylinders > 0 && l.Cylinders <= 4 {
		cyl = 0.93
	}
	out = append(out, factor{"cylinders", num(l.Cylinders), cyl})
	wd := 1.0
	if l.Is4WD == 1 {
		wd = 1.07
	}
	out = append(out, factor{"is_4wd", num(l.Is4WD), wd})
	return out
}

func orMissing(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// contributions splits price−base over the factors by their log share, so
// they sum exactly to the difference (as TreeSHAP's do).
func contributions(parts []factor, price float64) []engine.Contribution {
	total := 0.0
	for _, p := range parts {
		total += math.Log(p.mult)
	}
	diff := price - baseValue
	out := make([]engine.Contribution, 0, len(parts))
	sum := 0.0
	for i, p := range parts {
		amt := 0.0
		if total != 0 {
			amt = math.Round(diff * math.Log(p.mult) / total)
		}
		if i == len(parts)-1 {
			amt = math.Round(diff - sum)
		}
		sum += amt
		out = append(out, engine.Contribution{Feature: p.feature, Value: p.value, Amount: amt})
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].Amount) > math.Abs(out[j].Amount) })
	return out
}

func percentile(price float64) float64 {
	xs := []float64{1, market.Q1, market.Median, market.Q3, 40000, market.Max}
	ys := []float64{0, 25, 50, 75, 97, 100}
	for i := 1; i < len(xs); i++ {
		if price <= xs[i] {
			return math.Round((ys[i-1]+(price-xs[i-1])/(xs[i]-xs[i-1])*(ys[i]-ys[i-1]))*10) / 10
		}
	}
	return 100
}

func band(price float64) string {
	switch {
	case price > market.Q3:
		return "premium"
	case price > market.Median:
		return "upper"
	case price > market.Q1:
		return "mid"
	}
	return "economy"
}

func comparables(l engine.Listing, price float64, k int) ([]engine.Comparable, float64) {
	year := 2013
	if !math.IsNaN(l.ModelYear) {
		year = int(l.ModelYear)
	}
	odo := 113000.0
	if !math.IsNaN(l.Odometer) {
		odo = l.Odometer
	}
	out := make([]engine.Comparable, k)
	prices := make([]float64, k)
	for i := range out {
		h := hash(fmt.Sprint(l.Model, i))
		c := engine.Comparable{Model: l.Model, ModelYear: min(year+i%3-1, 2019),
			Odometer:  math.Round(odo*(0.85+float64(h%30)/100)/100) * 100,
			Price:     math.Round(price*(0.86+float64(h%28)/100)/50) * 50,
			Condition: conditions[h%3], DaysListed: int(5 + h%60)}
		out[i] = c
		prices[i] = c.Price
	}
	sort.Float64s(prices)
	med := prices[k/2]
	if k%2 == 0 {
		med = (prices[k/2-1] + prices[k/2]) / 2
	}
	return out, med
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// IsFieldError reports whether err names a bad listing field.
func IsFieldError(err error) bool {
	var fe *FieldError
	return errors.As(err, &fe)
}
