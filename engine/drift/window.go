package drift

import (
	"strings"
	"sync"
)

// Feature names with a special role in reports.
const (
	VehicleAge     = "vehicle_age"
	ModelYear      = "model_year"
	PredictedPrice = "predicted_price"
)

// DefaultCapacity is the default number of requests a Window keeps.
const DefaultCapacity = 100000

// MaxCategories bounds the distinct values a Window remembers per
// categorical feature; later new values share one "unseen" bucket, so a
// flood of junk strings cannot grow memory.
const MaxCategories = 4096

// Category ids: 0 is missing (""), 1 the overflow bucket past MaxCategories.
const (
	idMissing  = 0
	idOverflow = 1
	idFirst    = 2
)

// Schema names a Window's columns, in the order Add receives them.
type Schema struct {
	Numeric     []string `json:"numeric"`
	Categorical []string `json:"categorical"`
}

// DefaultSchema is what serve records for each prediction: the model's
// request features as the training reference names them, plus the
// predicted price.
func DefaultSchema() Schema {
	return Schema{
		Numeric:     []string{VehicleAge, ModelYear, "odometer", "cylinders", PredictedPrice},
		Categorical: []string{"model", "brand", "condition", "fuel", "transmission", "type", "paint_color"},
	}
}

// NumericIndex returns the position of a numeric column, or -1.
func (s Schema) NumericIndex(name string) int { return indexOf(s.Numeric, name) }

// CategoricalIndex returns the position of a categorical column, or -1.
func (s Schema) CategoricalIndex(name string) int { return indexOf(s.Categorical, name) }

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// Window is a bounded ring of served requests' feature values. Add is cheap,
// allocation-free once the categories are known, and safe for concurrent
// use; reports read it without stopping Add for more than a chunk copy.
type Window struct {
	schema   Schema
	capacity int

	mu      sync.Mutex
	n, pos  int
	added   int64
	invalid int64
	num     [][]float64 // [feature][row]
	cat     [][]uint16  // [feature][row]: category ids
	dict    []map[string]uint16
	names   [][]string // [feature][id]

	rmu   sync.Mutex // one report at a time: it owns the scratch below
	sNum  [][]float64
	sorts []sortScratch // one per report worker, made on first use
	sCat  [][]int       // [feature][id] counts
	sName [][]string
}

// NewWindow returns an empty window of the given capacity (≤ 0:
// DefaultCapacity) over the schema's columns.
func NewWindow(capacity int, schema Schema) *Window {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	w := &Window{schema: Schema{
		Numeric:     append([]string(nil), schema.Numeric...),
		Categorical: append([]string(nil), schema.Categorical...),
	}, capacity: capacity}
	w.num = make([][]float64, len(schema.Numeric))
	w.sNum = make([][]float64, len(schema.Numeric))
	for i := range w.num {
		w.num[i] = make([]float64, capacity)
		scratch := make([]float64, capacity)
		// Touch the ring and its scratch now: fresh pages are mapped on
		// first write, so a window filling over an hour would otherwise
		// read as a slow leak in RSS. The footprint is paid, and seen, at
		// start.
		clear(w.num[i])
		clear(scratch)
		w.sNum[i] = scratch[:0]
	}
	w.cat = make([][]uint16, len(schema.Categorical))
	w.dict = make([]map[string]uint16, len(schema.Categorical))
	w.names = make([][]string, len(schema.Categorical))
	w.sCat = make([][]int, len(schema.Categorical))
	w.sName = make([][]string, len(schema.Categorical))
	for i := range w.cat {
		w.cat[i] = make([]uint16, capacity)
		clear(w.cat[i]) // touched at start, as above
		w.dict[i] = map[string]uint16{}
		w.names[i] = []string{"", "(more than 4096 categories)"}
		w.sCat[i] = make([]int, MaxCategories+idFirst)
	}
	return w
}

// Schema returns (a copy of) the window's columns.
func (w *Window) Schema() Schema {
	return Schema{Numeric: append([]string(nil), w.schema.Numeric...), Categorical: append([]string(nil), w.schema.Categorical...)}
}

// Capacity returns how many requests the window keeps.
func (w *Window) Capacity() int { return w.capacity }

// Add records one request: num and cat in schema order (NaN and "" for
// missing values). A call with the wrong number of values is counted as
// invalid and ignored.
func (w *Window) Add(num []float64, cat []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(num) != len(w.num) || len(cat) != len(w.cat) {
		w.invalid++
		return
	}
	i := w.pos
	for f, v := range num {
		w.num[f][i] = v
	}
	for f, s := range cat {
		w.cat[f][i] = w.intern(f, s)
	}
	w.pos++
	if w.pos == w.capacity {
		w.pos = 0
	}
	if w.n < w.capacity {
		w.n++
	}
	w.added++
}

func (w *Window) intern(f int, s string) uint16 {
	if s == "" {
		return idMissing
	}
	if id, ok := w.dict[f][s]; ok {
		return id
	}
	if len(w.names[f]) >= MaxCategories+idFirst {
		return idOverflow
	}
	id := uint16(len(w.names[f]))
	s = strings.Clone(s) // do not pin the request's buffer
	w.dict[f][s] = id
	w.names[f] = append(w.names[f], s)
	return id
}

// Len returns how many requests the window holds now.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Counts returns how many requests were added in total and how many calls
// were refused as invalid.
func (w *Window) Counts() (added, invalid int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.added, w.invalid
}

// Reset empties the window (after a model swap, say); known categories stay.
func (w *Window) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n, w.pos = 0, 0
}

const copyChunk = 8192

// snapshot copies the window into the report scratch in chunks, releasing
// the lock between chunks so Add never waits long: finite numeric values per
// feature and category counts per id. It returns the number of rows.
func (w *Window) snapshot() int {
	w.mu.Lock()
	rows := w.n
	w.mu.Unlock()
	for f := range w.sNum {
		w.sNum[f] = w.sNum[f][:0]
	}
	for f := range w.sCat {
		clear(w.sCat[f])
	}
	for lo := 0; lo < rows; lo += copyChunk {
		hi := min(lo+copyChunk, rows)
		w.mu.Lock()
		for f, col := range w.num {
			dst := w.sNum[f]
			for _, v := range col[lo:hi] {
				if v-v == 0 { // false for NaN and ±Inf; cheaper than finite()
					dst = append(dst, v)
				}
			}
			w.sNum[f] = dst
		}
		for f, col := range w.cat {
			counts := w.sCat[f]
			for _, id := range col[lo:hi] {
				counts[id]++
			}
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	for f := range w.cat {
		// names only grow, so this prefix names every id counted above.
		w.sName[f] = w.names[f][:len(w.names[f]):len(w.names[f])]
	}
	w.mu.Unlock()
	return rows
}
