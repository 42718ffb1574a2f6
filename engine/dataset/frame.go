// Package dataset reads vehicles_us.csv into typed columns with explicit
// missing values and reports problems by file, line and column.
package dataset

import "carvision/engine"

// Frame holds a dataset column by column. Missing numbers are NaN, missing
// text is "". Text columns share their strings (100 models, not 51k copies).
type Frame struct {
	Source string  // file name, for error messages
	RowID  []int32 // 0-based data row in the source file (header excluded)

	Price        []float64
	ModelYear    []float64
	Model        []string
	Condition    []string
	Cylinders    []float64
	Fuel         []string
	Odometer     []float64
	Transmission []string
	Type         []string
	PaintColor   []string
	Is4WD        []float64 // 1, 0 or NaN
	DatePosted   []string  // YYYY-MM-DD, validated at load
	DaysListed   []float64
}

// Len is the number of rows.
func (f *Frame) Len() int { return len(f.RowID) }

// Row returns row i as a Listing.
func (f *Frame) Row(i int) engine.Listing {
	return engine.Listing{
		Price: f.Price[i], ModelYear: f.ModelYear[i], Model: f.Model[i],
		Condition: f.Condition[i], Cylinders: f.Cylinders[i], Fuel: f.Fuel[i],
		Odometer: f.Odometer[i], Transmission: f.Transmission[i], Type: f.Type[i],
		PaintColor: f.PaintColor[i], Is4WD: f.Is4WD[i], DatePosted: f.DatePosted[i],
		DaysListed: f.DaysListed[i],
	}
}

// Select returns a new frame with the rows at idx, in that order.
func (f *Frame) Select(idx []int) *Frame {
	out := &Frame{Source: f.Source}
	out.grow(len(idx))
	for _, i := range idx {
		out.appendFrom(f, i)
	}
	return out
}

func (f *Frame) grow(n int) {
	f.RowID = make([]int32, 0, n)
	f.Price = make([]float64, 0, n)
	f.ModelYear = make([]float64, 0, n)
	f.Model = make([]string, 0, n)
	f.Condition = make([]string, 0, n)
	f.Cylinders = make([]float64, 0, n)
	f.Fuel = make([]string, 0, n)
	f.Odometer = make([]float64, 0, n)
	f.Transmission = make([]string, 0, n)
	f.Type = make([]string, 0, n)
	f.PaintColor = make([]string, 0, n)
	f.Is4WD = make([]float64, 0, n)
	f.DatePosted = make([]string, 0, n)
	f.DaysListed = make([]float64, 0, n)
}

func (f *Frame) appendFrom(src *Frame, i int) {
	f.RowID = append(f.RowID, src.RowID[i])
	f.Price = append(f.Price, src.Price[i])
	f.ModelYear = append(f.ModelYear, src.ModelYear[i])
	f.Model = append(f.Model, src.Model[i])
	f.Condition = append(f.Condition, src.Condition[i])
	f.Cylinders = append(f.Cylinders, src.Cylinders[i])
	f.Fuel = append(f.Fuel, src.Fuel[i])
	f.Odometer = append(f.Odometer, src.Odometer[i])
	f.Transmission = append(f.Transmission, src.Transmission[i])
	f.Type = append(f.Type, src.Type[i])
	f.PaintColor = append(f.PaintColor, src.PaintColor[i])
	f.Is4WD = append(f.Is4WD, src.Is4WD[i])
	f.DatePosted = append(f.DatePosted, src.DatePosted[i])
	f.DaysListed = append(f.DaysListed, src.DaysListed[i])
}
