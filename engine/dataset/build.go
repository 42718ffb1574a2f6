package dataset

import (
	"fmt"

	"carvision/engine"
)

// New returns an empty frame with room for n rows.
func New(source string, n int) *Frame {
	f := &Frame{Source: source}
	f.grow(max(n, 0))
	return f
}

// Append adds one listing as a row with the given row id.
func (f *Frame) Append(l engine.Listing, rowID int32) {
	f.RowID = append(f.RowID, rowID)
	f.Price = append(f.Price, l.Price)
	f.ModelYear = append(f.ModelYear, l.ModelYear)
	f.Model = append(f.Model, l.Model)
	f.Condition = append(f.Condition, l.Condition)
	f.Cylinders = append(f.Cylinders, l.Cylinders)
	f.Fuel = append(f.Fuel, l.Fuel)
	f.Odometer = append(f.Odometer, l.Odometer)
	f.Transmission = append(f.Transmission, l.Transmission)
	f.Type = append(f.Type, l.Type)
	f.PaintColor = append(f.PaintColor, l.PaintColor)
	f.Is4WD = append(f.Is4WD, l.Is4WD)
	f.DatePosted = append(f.DatePosted, l.DatePosted)
	f.DaysListed = append(f.DaysListed, l.DaysListed)
}

// Check reports a frame whose columns disagree in length (a frame built by
// hand gone wrong); frames from Read, Select and Append always pass.
func (f *Frame) Check() error {
	n := len(f.RowID)
	lens := []struct {
		name string
		n    int
	}{
		{"price", len(f.Price)}, {"model_year", len(f.ModelYear)}, {"model", len(f.Model)},
		{"condition", len(f.Condition)}, {"cylinders", len(f.Cylinders)}, {"fuel", len(f.Fuel)},
		{"odometer", len(f.Odometer)}, {"transmission", len(f.Transmission)}, {"type", len(f.Type)},
		{"paint_color", len(f.PaintColor)}, {"is_4wd", len(f.Is4WD)},
		{"date_posted", len(f.DatePosted)}, {"days_listed", len(f.DaysListed)},
	}
	for _, c := range lens {
		if c.n != n {
			return fmt.Errorf("frame %s: column %s has %d rows, row_id has %d", f.Source, c.name, c.n, n)
		}
	}
	return nil
}
