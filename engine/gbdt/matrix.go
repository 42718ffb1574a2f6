// Package gbdt trains and evaluates histogram-based gradient-boosted trees
// (and a random forest on the same machinery), written here in Go.
package gbdt

// Kind is a feature's type.
type Kind uint8

const (
	// Numeric features split on a threshold; NaN is missing.
	Numeric Kind = iota
	// Categorical features hold codes 0..NumCats-1 as float64; NaN is
	// missing and a code outside the range is an unseen category.
	Categorical
)

// Matrix is a dense row-major feature matrix: row i, column j is
// Data[i*Cols+j]. Missing values are NaN.
type Matrix struct {
	Rows, Cols int
	Data       []float64
	Kinds      []Kind   // per column
	NumCats    []int    // per column: number of categories (0 for numeric)
	Names      []string // per column
}

// Row returns row i as a slice into Data (no copy).
func (m Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols] }
