package dataset

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel causes carried by *Error, for errors.Is.
var (
	ErrEmpty         = errors.New("file is empty")
	ErrNoRows        = errors.New("no data rows after the header")
	ErrMissingColumn = errors.New("missing required column")
	ErrDuplicate     = errors.New("duplicated header name")
	ErrDelimiter     = errors.New("wrong delimiter")
	ErrFieldCount    = errors.New("wrong number of fields")
	ErrNotNumber     = errors.New("not a number")
	ErrBadDate       = errors.New("not a date")
	ErrBadFlag       = errors.New("not a 0/1 flag")
	ErrLineTooLong   = errors.New("line too long")
	ErrQuote         = errors.New("bad quoting")
	ErrEncoding      = errors.New("bad encoding")
)

// maxValueShown caps the value quoted in a message: a 10 MB cell must not
// become a 10 MB error string.
const maxValueShown = 40

// Error is a problem with the input, located by file, line and column.
type Error struct {
	File   string // as given to Load or Read
	Line   int    // 1-based physical line; the header is line 1
	Column string // header name, "" when the problem is not a cell
	Value  string // the offending cell (shortened), "" when none
	Msg    string // what is wrong, e.g. "is not a number"
	Err    error  // one of the Err* sentinels
}

// Error formats as: vehicles_us.csv line 17 column "odometer": "12a" is not a number.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	fmt.Fprintf(&b, " line %d", e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, " column %q", e.Column)
	}
	b.WriteString(": ")
	if e.Value != "" {
		fmt.Fprintf(&b, "%q ", e.Value)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap gives the sentinel cause.
func (e *Error) Unwrap() error { return e.Err }

func shorten(v []byte) string {
	if len(v) <= maxValueShown {
		return string(v)
	}
	// Cut on a rune boundary so the message stays valid UTF-8.
	cut := maxValueShown
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return string(v[:cut]) + "…"
}
