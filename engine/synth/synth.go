// Package synth generates deterministic synthetic used-car listings with the
// 13 columns of vehicles_us.csv: the embedded default dataset and the data
// of most tests.
//
// Each row draws a latent car (one of the real file's 100 models, its year,
// mileage, condition, body, engine, fuel, gearbox, drive), prices it with a
// multiplicative model plus log-normal noise, adds the real file's outliers
// (about 1.5 % of prices at 1 USD, a few far too low or too high), and then
// hides values at the real missing rates. Price uses the latent values, so a
// hidden odometer still shaped the price, as in real listings.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
)

// The embedded default dataset is Generate(DefaultRows, DefaultSeed).
const (
	DefaultRows = 6000
	DefaultSeed = 42
)

// Missing rates of the real file.
const (
	missYear     = 0.07
	missCyl      = 0.10
	missOdometer = 0.15
	missPaint    = 0.18
)

// Price model constants.
const (
	refYear      = 2019   // listings are posted 2018-05..2019-04
	depreciation = 0.075  // per year of age, log scale
	perMile      = 2.8e-6 // per mile, log scale (100k miles ≈ −24 %)
	milesPerYear = 11500.0
	noiseSigma   = 0.15 // log-normal price noise
	maxPrice     = 375000
)

var (
	conditions   = []string{"salvage", "fair", "good", "excellent", "like new", "new"}
	condWeights  = []float64{0.0022, 0.031, 0.39, 0.48, 0.092, 0.0028}
	condFactor   = []float64{0.45, 0.70, 0.92, 1.0, 1.10, 1.25}
	allTypes     = []string{"SUV", "truck", "sedan", "pickup", "coupe", "wagon", "mini-van", "hatchback", "van", "convertible", "other", "offroad", "bus"}
	typeFactor   = map[string]float64{"pickup": 1.05, "convertible": 1.10, "offroad": 1.05, "bus": 1.30, "van": 0.95, "mini-van": 0.95, "wagon": 0.95, "hatchback": 0.95, "other": 0.90}
	colors       = []string{"white", "black", "silver", "grey", "blue", "red", "green", "brown", "custom", "yellow", "orange", "purple"}
	colorWeights = []float64{10029, 7692, 6244, 5037, 4475, 4421, 1396, 1223, 1153, 255, 231, 102}
	gearboxes    = []string{"automatic", "manual", "other"}
	gearWeights  = []float64{0.91, 0.055, 0.035}
	gearFactor   = []float64{1.0, 0.93, 1.02}
	firstDay     = time.Date(2018, 5, 1, 0, 0, 0, 0, time.UTC)
	lastDay      = time.Date(2019, 4, 19, 0, 0, 0, 0, time.UTC)
)

// rng wraps PCG with transforms written here, so the stream depends only on
// the PCG algorithm (fixed by math/rand/v2), not on library sampling code.
type rng struct{ src *rand.PCG }

func newRNG(seed int64) *rng {
	return &rng{rand.NewPCG(uint64(seed), 0x9E3779B97F4A7C15)}
}

func (r *rng) float() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }

func (r *rng) intn(n int) int { return int(r.float() * float64(n)) }

func (r *rng) norm() float64 {
	// Box–Muller; 1-u keeps the log argument in (0, 1].
	u, v := 1-r.float(), r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

func (r *rng) pick(cum []float64) int {
	x := r.float() * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, v := range w {
		s += v
		out[i] = s
	}
	return out
}

// Generate returns rows synthetic listings; the same (rows, seed) always
// gives the same frame, hence the same CSV bytes. Row ids are 0..rows-1.
func Generate(rows int, seed int64) *dataset.Frame {
	rows = max(rows, 0)
	f := dataset.New(fmt.Sprintf("synth(rows=%d,seed=%d)", rows, seed), rows)
	r := newRNG(seed)
	mw := make([]float64, len(models))
	for i, m := range models {
		mw[i] = float64(m.weight)
	}
	modelCum := cumulative(mw)
	colorCum := cumulative(colorWeights)
	gearCum := cumulative(gearWeights)
	nDays := int(lastDay.Sub(firstDay).Hours()/24) + 1
	days := make([]string, nDays)
	for d := range days {
		days[d] = firstDay.AddDate(0, 0, d).Format("2006-01-02")
	}
	for i := 0; i < rows; i++ {
		f.Append(listing(r, modelCum, colorCum, gearCum, days), int32(i))
	}
	return f
}

func listing(r *rng, modelCum, colorCum, gearCum []float64, days []string) engine.Listing {
	m := models[r.pick(modelCum)]
	l := engine.EmptyListing()
	l.Model = m.name

	year := math.Round(m.medYear + 4.5*r.norm())
	year = math.Max(1975, math.Min(refYear, year))
	if r.float() < 0.004 { // a few old-timers, like the real 1908..1989 tail
		year = float64(1908 + r.intn(82))
	}
	age := refYear - year

	cw := append([]float64(nil), condWeights...)
	switch {
	case age <= 2:
		cw[4] *= 3
		cw[5] *= 10
		cw[1] *= 0.3
	case age >= 12:
		cw[1] *= 3
		cw[2] *= 1.3
		cw[4] *= 0.5
		cw[5] *= 0.1
	}
	cond := r.pick(cumulative(cw))
	l.Condition = conditions[cond]

	miles := math.Max(age, 0.3) * milesPerYear * math.Exp(0.35*r.norm())
	if cond == 5 {
		miles = 5 + 2000*r.float()
	}
	if r.float() < 0.4 {
		miles = math.Round(miles/1000) * 1000
	}
	miles = math.Round(miles)
	switch u := r.float(); {
	case u < 0.003:
		miles = 0 // placeholder odometers, as in the real file
	case u < 0.004:
		miles *= 10 // a typo'd extra digit
	}
	miles = math.Min(miles, 990000)

	l.Type = m.type1
	if r.float() < m.pType2 {
		l.Type = m.type2
	}
	if r.float() < 0.02 {
		l.Type = allTypes[r.intn(len(allTypes))]
	}
	l.Cylinders = m.cyl1
	if r.float() < m.pCyl2 {
		l.Cylinders = m.cyl2
	}
	fuelFactor := 1.0
	l.Fuel = m.fuel
	if u := r.float(); u < 0.07 {
		switch {
		case m.fuel == "diesel":
			l.Fuel, fuelFactor = "gas", 0.85
		case u < 0.05:
			l.Fuel, fuelFactor = "diesel", 1.2
		case u < 0.065:
			l.Fuel, fuelFactor = "hybrid", 1.05
		case u < 0.0698:
			l.Fuel, fuelFactor = "other", 0.9
		default:
			l.Fuel, fuelFactor = "electric", 1.1
		}
	}
	gear := r.pick(gearCum)
	l.Transmission = gearboxes[gear]
	fourWD := r.float() < m.p4wd
	if fourWD {
		l.Is4WD = 1
	}
	l.PaintColor = colors[r.pick(colorCum)]

	// "New" price of the model so that its median listing (median year,
	// typical mileage, good-to-excellent) lands on the real median price.
	medAge := refYear - m.medYear
	base := m.medPrice * math.Exp(depreciation*medAge) * math.Exp(perMile*milesPerYear*medAge) / 0.96
	price := base *
		math.Exp(-depreciation*math.Min(age, 25)) *
		math.Exp(-perMile*math.Min(miles, 400000)) *
		condFactor[cond] * tf(l.Type) * fuelFactor * gearFactor[gear] *
		math.Pow(l.Cylinders/m.cyl1, 0.35) *
		math.Exp(noiseSigma*r.norm())
	if fourWD {
		price *= 1.08
	}
	if l.PaintColor == "custom" {
		price *= 0.95
	}
	switch u := r.float(); {
	case u < 0.0155:
		price = 1 // "call for price" listings
	case u < 0.0185:
		price *= 0.05 + 0.15*r.float()
	case u < 0.0195:
		price *= 2 + 3*r.float()
	}
	price = math.Max(1, math.Min(maxPrice, price))
	if price >= 1000 {
		switch u := r.float(); {
		case u < 0.5:
			price = math.Round(price/100) * 100
		case u < 0.75:
			price = math.Round(price/1000)*1000 - 5
		default:
			price = math.Round(price)
		}
	} else {
		price = math.Round(price)
	}
	l.Price = math.Max(1, price)

	l.DatePosted = days[r.intn(len(days))]
	l.DaysListed = math.Min(271, math.Floor(-39*math.Log(1-r.float())))

	// Hide values at the real missing rates (the price above saw them).
	l.ModelYear = year
	if r.float() < missYear {
		l.ModelYear = math.NaN()
	}
	if r.float() < missCyl {
		l.Cylinders = math.NaN()
	}
	l.Odometer = miles
	if r.float() < missOdometer {
		l.Odometer = math.NaN()
	}
	if r.float() < missPaint {
		l.PaintColor = ""
	}
	if !fourWD {
		l.Is4WD = math.NaN() // the real file writes 1.0 or nothing
	}
	return l
}

func tf(t string) float64 {
	if v, ok := typeFactor[t]; ok {
		return v
	}
	return 1
}

// WriteFile writes Generate(rows, seed) as CSV to path, atomically.
func WriteFile(path string, rows int, seed int64) error {
	if rows < 1 {
		return fmt.Errorf("gen-data %s: rows must be at least 1, got %d", path, rows)
	}
	if err := Generate(rows, seed).WriteCSVFile(path, false); err != nil {
		return fmt.Errorf("gen-data: %w", err)
	}
	return nil
}
