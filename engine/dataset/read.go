package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLineBytes caps one CSV record. A real row is about 90 bytes; the cap
// only exists so that a corrupt file (no newlines, a runaway quote) fails
// cleanly instead of exhausting memory.
const MaxLineBytes = 1 << 20

// Required columns must be in the header (the original's data gate list).
// The other columns of engine.Columns are optional: when absent every row
// holds a missing value there.
var Required = []string{"price", "model_year", "model", "condition", "odometer", "fuel", "transmission", "type"}

// Column ids, in engine.Columns order; colRowID is the optional row_id.
const (
	colPrice = iota
	colModelYear
	colModel
	colCondition
	colCylinders
	colFuel
	colOdometer
	colTransmission
	colType
	colPaintColor
	colIs4WD
	colDatePosted
	colDaysListed
	colRowID
	numCols
)

var colNames = [numCols]string{
	"price", "model_year", "model", "condition", "cylinders", "fuel", "odometer",
	"transmission", "type", "paint_color", "is_4wd", "date_posted", "days_listed", "row_id",
}

type colKind uint8

const (
	kindNum colKind = iota
	kindText
	kindFlag
	kindDate
	kindRowID
)

var colKinds = [numCols]colKind{
	kindNum, kindNum, kindText, kindText, kindNum, kindText, kindNum,
	kindText, kindText, kindText, kindFlag, kindDate, kindNum, kindRowID,
}

// Load reads a vehicles CSV file. Errors are *Error values naming the file
// as given, the line, the column and the value.
func Load(path string) (*Frame, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer fh.Close()
	hint := 0
	if st, err := fh.Stat(); err == nil && st.Size() > 0 {
		hint = int(st.Size()/80) + 16
	}
	return read(fh, path, hint)
}

// Read parses a vehicles CSV from r; name is used in errors and as Source.
//
// Format: comma-separated, RFC 4180 quoting, LF or CRLF line ends, an
// optional UTF-8 BOM, header names matched case-insensitively in any order,
// unknown columns ignored (a row_id column, as in processed splits, is used
// as the frame's RowID). Empty cells are missing; in numeric columns NA,
// N/A, NaN, null and None are missing too. Blank lines are skipped.
func Read(r io.Reader, name string) (*Frame, error) {
	hint := 0
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		hint = l.Len()/80 + 16
	}
	return read(r, name, hint)
}

type parser struct {
	name   string
	br     *bufio.Reader
	line   int    // physical lines consumed so far
	start  int    // physical line where the current record starts
	long   []byte // a record that outgrew the bufio buffer or spans lines
	unq    []byte // unquoted field bytes of a quoted record
	fields [][]byte
	offs   []int
	first  bool
}

func read(r io.Reader, name string, hint int) (*Frame, error) {
	p := &parser{name: name, br: bufio.NewReaderSize(r, 256<<10), first: true}
	header, err := p.next()
	if err == io.EOF {
		return nil, p.errf(1, "", nil, ErrEmpty, "file is empty")
	}
	if err != nil {
		return nil, err
	}
	cols, err := p.header(header)
	if err != nil {
		return nil, err
	}
	f := &Frame{Source: name}
	// The hint only pre-sizes columns; capped so a huge or bogus file cannot
	// reserve gigabytes before its first row is even read.
	hint = min(max(hint, 1024), 1<<18)
	f.grow(hint)
	var present [numCols]bool
	for _, c := range cols {
		if c >= 0 {
			present[c] = true
		}
	}
	interns := make([]map[string]string, numCols)
	for c := range interns {
		if colKinds[c] == kindText || colKinds[c] == kindDate {
			interns[c] = make(map[string]string, 128)
		}
	}
	nHeader := len(cols)
	var row [numCols]float64
	var text, last [numCols]string
	for {
		rec, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != nHeader {
			return nil, p.errf(p.start, "", nil, ErrFieldCount,
				fmt.Sprintf("has %d fields, the header has %d", len(rec), nHeader))
		}
		rowID := float64(f.Len())
		for c := range row {
			row[c] = math.NaN()
			text[c] = ""
		}
		for j, b := range rec {
			c := cols[j]
			if c < 0 {
				continue
			}
			switch colKinds[c] {
			case kindNum:
				v, ok := parseNum(b)
				if !ok {
					return nil, p.errf(p.start, colNames[c], b, ErrNotNumber, "is not a number")
				}
				row[c] = v
			case kindFlag:
				v, ok := parseFlag(b)
				if !ok {
					return nil, p.errf(p.start, colNames[c], b, ErrBadFlag, "is not a 0/1 flag (want 1.0, 1, 0, true, false or empty)")
				}
				row[c] = v
			case kindRowID:
				v, ok := parseNum(b)
				if !ok || math.IsNaN(v) || v < 0 || v > math.MaxInt32 || v != math.Trunc(v) {
					return nil, p.errf(p.start, colNames[c], b, ErrNotNumber, "is not a row number (want a non-negative integer)")
				}
				rowID = v
			case kindText, kindDate:
				if string(b) == last[c] {
					// Low-cardinality columns (fuel, transmission) mostly repeat the row above.
					text[c] = last[c]
					continue
				}
				s, ok := interns[c][string(b)]
				if !ok {
					if !utf8.Valid(b) {
						return nil, p.errf(p.start, colNames[c], b, ErrEncoding, "is not valid UTF-8")
					}
					if colKinds[c] == kindDate && len(b) > 0 && !ValidDate(b) {
						return nil, p.errf(p.start, colNames[c], b, ErrBadDate, "is not a date (want YYYY-MM-DD)")
					}
					s = string(b)
					interns[c][s] = s
				}
				text[c] = s
				last[c] = s
			}
		}
		if f.Len() >= math.MaxInt32 {
			return nil, p.errf(p.start, "", nil, ErrFieldCount, "too many rows")
		}
		f.RowID = append(f.RowID, int32(rowID))
		f.Price = append(f.Price, row[colPrice])
		f.ModelYear = append(f.ModelYear, row[colModelYear])
		f.Model = append(f.Model, text[colModel])
		f.Condition = append(f.Condition, text[colCondition])
		f.Cylinders = append(f.Cylinders, row[colCylinders])
		f.Fuel = append(f.Fuel, text[colFuel])
		f.Odometer = append(f.Odometer, row[colOdometer])
		f.Transmission = append(f.Transmission, text[colTransmission])
		f.Type = append(f.Type, text[colType])
		f.PaintColor = append(f.PaintColor, text[colPaintColor])
		f.Is4WD = append(f.Is4WD, row[colIs4WD])
		f.DatePosted = append(f.DatePosted, text[colDatePosted])
		f.DaysListed = append(f.DaysListed, row[colDaysListed])
	}
	if f.Len() == 0 {
		return nil, p.errf(p.line+1, "", nil, ErrNoRows, "no data rows after the header")
	}
	return f, nil
}

// header maps each file column to a column id (-1: ignored).
func (p *parser) header(rec [][]byte) ([]int, error) {
	if len(rec) == 1 {
		h := rec[0]
		for _, d := range []byte{';', '\t', '|'} {
			if bytes.IndexByte(h, d) >= 0 {
				return nil, p.errf(p.start, "", nil, ErrDelimiter,
					fmt.Sprintf("the header is separated by %q, want ','", string(d)))
			}
		}
	}
	cols := make([]int, len(rec))
	seen := make(map[string]int, len(rec))
	for j, b := range rec {
		name := strings.ToLower(strings.TrimSpace(string(b)))
		cols[j] = -1
		if name == "" {
			continue // e.g. a pandas index column
		}
		if k, dup := seen[name]; dup {
			return nil, p.errf(p.start, name, nil, ErrDuplicate,
				fmt.Sprintf("duplicated header name (fields %d and %d)", k+1, j+1))
		}
		seen[name] = j
		for c, cn := range colNames {
			if cn == name {
				cols[j] = c
			}
		}
	}
	var missing []string
	for _, req := range Required {
		if _, ok := seen[req]; !ok {
			missing = append(missing, req)
		}
	}
	if len(missing) > 0 {
		msg := "missing required column"
		if len(missing) > 1 {
			msg += " (also missing: " + strings.Join(missing[1:], ", ") + ")"
		}
		return nil, p.errf(p.start, missing[0], nil, ErrMissingColumn, msg)
	}
	return cols, nil
}

func (p *parser) errf(line int, col string, val []byte, cause error, msg string) *Error {
	return &Error{File: p.name, Line: line, Column: col, Value: shorten(val), Msg: msg, Err: cause}
}

// next returns the fields of the next non-blank record; the slices are valid
// until the following call.
func (p *parser) next() ([][]byte, error) {
	for {
		line, err := p.physical()
		if err != nil {
			return nil, err
		}
		p.start = p.line
		if p.first {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
			p.first = false
		}
		if len(line) == 0 {
			continue
		}
		if bytes.IndexByte(line, '"') < 0 {
			return p.split(line), nil
		}
		return p.quoted(line)
	}
}

// physical reads one line without its line end. io.EOF only when no bytes
// are left at all.
func (p *parser) physical() ([]byte, error) {
	b, err := p.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		p.long = append(p.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(p.long) > MaxLineBytes {
				return nil, p.errf(p.line+1, "", nil, ErrLineTooLong,
					fmt.Sprintf("line is longer than %d bytes", MaxLineBytes))
			}
			b, err = p.br.ReadSlice('\n')
			p.long = append(p.long, b...)
		}
		b = p.long
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s line %d: %w", p.name, p.line+1, err)
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	if len(b) > MaxLineBytes {
		return nil, p.errf(p.line+1, "", nil, ErrLineTooLong,
			fmt.Sprintf("line is longer than %d bytes", MaxLineBytes))
	}
	p.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}

func (p *parser) split(line []byte) [][]byte {
	p.fields = p.fields[:0]
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			p.fields = append(p.fields, line)
			return p.fields
		}
		p.fields = append(p.fields, line[:i])
		line = line[i+1:]
	}
}

// quoted parses a record holding at least one quote; a quoted field may
// continue over following physical lines.
func (p *parser) quoted(line []byte) ([][]byte, error) {
	// Own the bytes: the bufio buffer is reused when more lines are read.
	rec := append(p.long[:0:0], line...)
	p.unq = p.unq[:0]
	p.offs = p.offs[:0]
	i := 0
	for {
		// start of a field at rec[i]
		if i < len(rec) && rec[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					// The quoted field goes on over the line end.
					p.unq = append(p.unq, rec[i:]...)
					p.unq = append(p.unq, '\n')
					more, err := p.physical()
					if err == io.EOF {
						return nil, p.errf(p.start, "", nil, ErrQuote, "quoted field is not closed before the end of the file")
					}
					if err != nil {
						return nil, err
					}
					if len(p.unq)+len(more) > MaxLineBytes {
						return nil, p.errf(p.start, "", nil, ErrLineTooLong,
							fmt.Sprintf("record is longer than %d bytes (a quote not closed?)", MaxLineBytes))
					}
					rec = append(rec[:0], more...)
					i = 0
					continue
				}
				p.unq = append(p.unq, rec[i:i+j]...)
				i += j + 1
				if i < len(rec) && rec[i] == '"' { // escaped quote
					p.unq = append(p.unq, '"')
					i++
					continue
				}
				break
			}
			if i < len(rec) && rec[i] != ',' {
				return nil, p.errf(p.start, "", nil, ErrQuote,
					fmt.Sprintf("unexpected %q after a closing quote", rune(rec[i])))
			}
		} else {
			j := bytes.IndexByte(rec[i:], ',')
			end := len(rec)
			if j >= 0 {
				end = i + j
			}
			if k := bytes.IndexByte(rec[i:end], '"'); k >= 0 {
				return nil, p.errf(p.start, "", nil, ErrQuote, "quote inside an unquoted field")
			}
			p.unq = append(p.unq, rec[i:end]...)
			i = end
		}
		p.offs = append(p.offs, len(p.unq))
		if i >= len(rec) {
			break
		}
		i++ // the comma
	}
	p.fields = p.fields[:0]
	from := 0
	for _, to := range p.offs {
		p.fields = append(p.fields, p.unq[from:to:to])
		from = to
	}
	return p.fields, nil
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseNum parses a numeric cell: (NaN, true) when missing, (v, true) for a
// finite number, ok=false otherwise. Plain decimals such as 145000.0 take a
// fast exact path (mantissa < 2^53 divided by an exact power of ten is
// correctly rounded); anything else goes through strconv.
func parseNum(b []byte) (float64, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return math.NaN(), true
	}
	i, neg := 0, false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
	}
	var mant uint64
	digits, frac := 0, 0
	dot := false
	fast := i < len(b)
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			fast = false
		}
		if !fast || digits > 15 {
			fast = false
			break
		}
	}
	if fast && digits > 0 {
		v := float64(mant) / pow10[frac]
		if neg {
			v = -v
		}
		return v, true
	}
	if isNA(b) {
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func parseFlag(b []byte) (float64, bool) {
	b = trimSpace(b)
	switch len(b) {
	case 0:
		return math.NaN(), true
	case 1, 2, 3, 4, 5:
		var low [5]byte
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		switch string(low[:len(b)]) {
		case "true", "yes", "t", "y":
			return 1, true
		case "false", "no", "f", "n":
			return 0, true
		}
	}
	v, ok := parseNum(b)
	if !ok || !(math.IsNaN(v) || v == 0 || v == 1) {
		return 0, false
	}
	return v, true
}

func isNA(b []byte) bool {
	if len(b) > 4 {
		return false
	}
	var low [4]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(b)]) {
	case "na", "n/a", "nan", "null", "none":
		return true
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ValidDate reports whether b is a real calendar date written YYYY-MM-DD.
func ValidDate[T string | []byte](b T) bool {
	_, _, _, ok := ParseDate(b)
	return ok
}

// ParseDate splits a YYYY-MM-DD date without allocating; ok is false for
// anything else, including impossible days such as 2019-02-29.
func ParseDate[T string | []byte](b T) (year, month, day int, ok bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(s T) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	m, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IsInputError reports whether err is a located input problem (*Error).
func IsInputError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
