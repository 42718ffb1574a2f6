package predict

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"carvision/engine"
)

// Values are the form's raw texts, one per listing field; "" is missing.
type Values struct {
	ModelYear, Model, Condition, Cylinders, Fuel, Odometer string
	Transmission, Type, PaintColor, Is4WD, DatePosted      string
	DaysListed                                             string
}

// field returns the text of a choice field by its key (nil for inputs).
func (v *Values) field(key string) *string {
	switch key {
	case "model":
		return &v.Model
	case "condition":
		return &v.Condition
	case "fuel":
		return &v.Fuel
	case "transmission":
		return &v.Transmission
	case "type":
		return &v.Type
	case "paint_color":
		return &v.PaintColor
	case "is_4wd":
		return &v.Is4WD
	}
	return nil
}

// FieldError names the field a value is wrong for.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Checks per field, shared by the form's inline validation and the submit.
func checkYear(s string, now time.Time) error {
	if s == "" {
		return nil
	}
	y, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("a whole year like 2015")
	}
	if y < 1900 || y > now.Year()+1 {
		return fmt.Errorf("between 1900 and %d", now.Year()+1)
	}
	return nil
}

func number(s string) (float64, error) {
	s = strings.NewReplacer(",", "", "_", "", " ", "").Replace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return v, nil
}

func checkOdometer(s string) error {
	if s == "" {
		return nil
	}
	v, err := number(s)
	if err != nil {
		return fmt.Errorf("miles, e.g. 120000")
	}
	if v < 0 || v > 2_000_000 {
		return fmt.Errorf("between 0 and 2,000,000 miles")
	}
	return nil
}

func checkCylinders(s string) error {
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 3 || v > 16 {
		return fmt.Errorf("a whole number 3–16")
	}
	return nil
}

func checkDays(s string) error {
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 || v > 10000 {
		return fmt.Errorf("whole days ≥ 0")
	}
	return nil
}

func checkDate(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", strings.TrimSpace(s)); err != nil {
		return fmt.Errorf("YYYY-MM-DD")
	}
	return nil
}

func checkModel(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("required: pick the car model")
	}
	return nil
}

// Listing converts the form to an engine listing. Empty fields stay missing
// (NaN or ""): nothing is invented. Every bad field is reported.
func (v Values) Listing(now time.Time) (engine.Listing, []FieldError) {
	l := engine.EmptyListing()
	var errs []FieldError
	add := func(field string, err error) bool {
		if err != nil {
			errs = append(errs, FieldError{field, err.Error()})
			return false
		}
		return true
	}
	if add("model", checkModel(v.Model)) {
		l.Model = strings.TrimSpace(v.Model)
	}
	if add("model_year", checkYear(v.ModelYear, now)) && v.ModelYear != "" {
		y, _ := strconv.Atoi(strings.TrimSpace(v.ModelYear))
		l.ModelYear = float64(y)
	}
	if add("cylinders", checkCylinders(v.Cylinders)) && v.Cylinders != "" {
		c, _ := strconv.Atoi(strings.TrimSpace(v.Cylinders))
		l.Cylinders = float64(c)
	}
	if add("odometer", checkOdometer(v.Odometer)) && v.Odometer != "" {
		l.Odometer, _ = number(v.Odometer)
	}
	if add("days_listed", checkDays(v.DaysListed)) && v.DaysListed != "" {
		d, _ := strconv.Atoi(strings.TrimSpace(v.DaysListed))
		l.DaysListed = float64(d)
	}
	if add("date_posted", checkDate(v.DatePosted)) {
		l.DatePosted = strings.TrimSpace(v.DatePosted)
	}
	switch v.Is4WD {
	case "1":
		l.Is4WD = 1
	case "0":
		l.Is4WD = 0
	}
	l.Condition, l.Fuel, l.Transmission, l.Type, l.PaintColor = v.Condition, v.Fuel, v.Transmission, v.Type, v.PaintColor
	return l, errs
}
