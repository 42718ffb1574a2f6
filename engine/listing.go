// Package engine holds the types every layer shares and the Client interface
// through which the console (and anything else above the engine) reaches it.
// It imports no other package of this module, so every engine sub-package may
// import it without cycles.
package engine

import "math"

// Listing is one used-car listing: the 13 columns of vehicles_us.csv.
// Missing numbers are NaN and missing text is "", so "absent" is never
// confused with a default value (the original filled odometer with 0).
type Listing struct {
	Price        float64 `json:"price"`
	ModelYear    float64 `json:"model_year"`
	Model        string  `json:"model"`
	Condition    string  `json:"condition"`
	Cylinders    float64 `json:"cylinders"`
	Fuel         string  `json:"fuel"`
	Odometer     float64 `json:"odometer"`
	Transmission string  `json:"transmission"`
	Type         string  `json:"type"`
	PaintColor   string  `json:"paint_color"`
	Is4WD        float64 `json:"is_4wd"`
	DatePosted   string  `json:"date_posted"` // YYYY-MM-DD or ""
	DaysListed   float64 `json:"days_listed"`
}

// EmptyListing returns a listing with every field missing.
func EmptyListing() Listing {
	n := math.NaN()
	return Listing{Price: n, ModelYear: n, Cylinders: n, Odometer: n, Is4WD: n, DaysListed: n}
}

// Columns is the header of vehicles_us.csv, in file order.
var Columns = []string{
	"price", "model_year", "model", "condition", "cylinders", "fuel", "odometer",
	"transmission", "type", "paint_color", "is_4wd", "date_posted", "days_listed",
}
