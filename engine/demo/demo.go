// Package demo scripts the console's demo traffic: held-out listings at a
// modest rate, with episodes that give every page something to show — a wave
// of model years beyond the training range (drift), a slow spell (latency
// alerts), a burst of malformed requests (4xx, never 5xx).
package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"carvision/engine"
)

// Phase names an episode of the demo cycle.
type Phase string

// The phases of one cycle, in order.
const (
	Normal    Phase = "normal"
	DriftWave Phase = "drift wave"
	SlowSpell Phase = "slow spell"
	Malformed Phase = "malformed burst"
)

// Script is the demo's timetable: one cycle of episodes, repeated.
type Script struct {
	Normal, Drift, Slow, Bad time.Duration
	// SlowLatency is the extra delay each request gets during the slow spell.
	SlowLatency time.Duration
}

// DefaultScript runs a ten-minute cycle: the slow spell lasts long enough
// for the latency alert (for: 5m at the demo's time scale) to fire.
func DefaultScript() Script {
	return Script{Normal: 3 * time.Minute, Drift: 2 * time.Minute, Slow: 90 * time.Second, Bad: 30 * time.Second,
		SlowLatency: 600 * time.Millisecond}
}

// At returns the phase at elapsed time t.
func (s Script) At(t time.Duration) Phase {
	cycle := s.Normal + s.Drift + s.Slow + s.Bad
	if cycle <= 0 {
		return Normal
	}
	t %= cycle
	switch {
	case t < s.Normal:
		return Normal
	case t < s.Normal+s.Drift:
		return DriftWave
	case t < s.Normal+s.Drift+s.Slow:
		return SlowSpell
	}
	return Malformed
}

// Bodies turns listings into request bodies (the replayed pool).
func Bodies(ls []engine.Listing) [][]byte {
	out := make([][]byte, 0, len(ls))
	for _, l := range ls {
		out = append(out, Body(l))
	}
	return out
}

// Body is one listing as a /predict request: absent fields are left out.
func Body(l engine.Listing) []byte {
	m := map[string]any{"model": l.Model}
	num := func(k string, v float64) {
		if !math.IsNaN(v) {
			m[k] = v
		}
	}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	if !math.IsNaN(l.ModelYear) {
		m["model_year"] = int(l.ModelYear)
	}
	num("odometer", l.Odometer)
	if !math.IsNaN(l.Cylinders) {
		m["cylinders"] = int(l.Cylinders)
	}
	if !math.IsNaN(l.Is4WD) {
		m["is_4wd"] = l.Is4WD == 1
	}
	str("condition", l.Condition)
	str("fuel", l.Fuel)
	str("transmission", l.Transmission)
	str("type", l.Type)
	str("paint_color", l.PaintColor)
	str("date_posted", l.DatePosted)
	b, _ := json.Marshal(m)
	return b
}

// malformed bodies: each is a different client mistake the API must answer with 4xx.
var malformed = [][]byte{
	[]byte(`{"model":"ford f-150","model_year":"twenty"}`),
	[]byte(`{"model_year":2015}`),
	[]byte(`{"model":"ford f-150","model_year":2015,"odometer":-5}`),
	[]byte(`{"model":"ford f-150","model_year":2015,"drive":"4wd"}`),
	[]byte(`{"model":"ford f-150",`),
	[]byte(`[1,2,3]`),
}

// Next returns the i-th request body for phase p, drawn from the pool.
func Next(p Phase, pool [][]byte, pool2025 [][]byte, i int) []byte {
	switch p {
	case DriftWave:
		if len(pool2025) > 0 && i%4 != 0 {
			return pool2025[i%len(pool2025)]
		}
	case Malformed:
		if i%3 != 0 {
			return malformed[i%len(malformed)]
		}
	}
	if len(pool) == 0 {
		return []byte(fmt.Sprintf(`{"model":"ford f-150","model_year":%d}`, 2005+i%14))
	}
	return pool[i%len(pool)]
}

// Future shifts listings into model years beyond training (2024–2026): the
// "people asking about 2025 cars" case.
func Future(ls []engine.Listing) []engine.Listing {
	out := make([]engine.Listing, len(ls))
	for i, l := range ls {
		l.ModelYear = float64(2024 + i%3)
		if !math.IsNaN(l.Odometer) {
			l.Odometer = math.Max(1000, l.Odometer/8)
		}
		out[i] = l
	}
	return out
}
