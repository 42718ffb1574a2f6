package serve

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"carvision/engine"
)

// Limits of the request decoder. They bound the work a hostile body can cause.
const (
	MaxDepth       = 32       // nesting of objects and arrays, the top level counting as 1
	MaxTextLen     = 256      // bytes in a text field
	MaxOdometer    = 10000000 // miles; far beyond any real vehicle
	MinModelYear   = 1900
	maxReported    = 20 // field errors per listing; the rest are summarised
	maxNameInError = 64 // bytes of an unknown field's name quoted back
)

// allowedCylinders is the set the dataset uses; anything else is a typo.
var allowedCylinders = [...]float64{3, 4, 5, 6, 8, 10, 12}

// FieldError is one item of a 422 body's "detail" list, in FastAPI's shape:
// {"loc":["body","odometer"],"msg":"…","type":"…"}.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Field returns the last element of Loc as text (the field name or index).
func (e FieldError) Field() string {
	if len(e.Loc) == 0 {
		return ""
	}
	return fmt.Sprint(e.Loc[len(e.Loc)-1])
}

// SyntaxError is malformed JSON (400), with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.Offset, e.Msg)
}

// DecodeOptions controls validation of a listing.
type DecodeOptions struct {
	// Strict rejects unknown fields with 422; otherwise they become warnings.
	Strict bool
	// MaxYear is the newest model_year accepted (the server uses next year).
	MaxYear int
}

// DefaultDecodeOptions is strict with model years up to next year.
func DefaultDecodeOptions(now time.Time) DecodeOptions {
	return DecodeOptions{Strict: true, MaxYear: now.Year() + 1}
}

// Decoded is one decoded listing with its warnings and field errors.
type Decoded struct {
	Listing  engine.Listing
	Warnings []string
	Errors   []FieldError // non-empty: the listing is invalid (422)
}

// DecodeListing decodes one /predict body. A *SyntaxError means malformed
// JSON (400); otherwise Errors lists every bad field (422) at once.
//
// Handling: null or an absent field is missing (NaN or ""), never a default;
// text fields are trimmed but not case-folded (the data has "SUV" and
// "sedan"); "" in an optional text field is missing; "price" and
// "days_listed" are accepted and ignored ("price" adds a warning, since a
// client sending it probably replays a dataset row); unknown fields are 422
// when Strict, else warnings; a field given twice is 422.
func DecodeListing(data []byte, opt DecodeOptions) (Decoded, error) {
	s := scanner{data: data}
	s.ws()
	if s.pos >= len(data) {
		return Decoded{Listing: engine.EmptyListing(), Errors: []FieldError{{Loc: []any{"body"}, Msg: "Field required", Type: "missing"}}}, nil
	}
	var d Decoded
	var err error
	if data[s.pos] != '{' {
		if err = s.skip(1); err != nil {
			return Decoded{}, err
		}
		d = Decoded{Listing: engine.EmptyListing(), Errors: []FieldError{notObject(loc{})}}
	} else if d, err = s.listing(1, loc{}, opt); err != nil {
		return Decoded{}, err
	}
	if err := s.end(); err != nil {
		return Decoded{}, err
	}
	return d, nil
}

// DecodeBatch decodes a /predict_batch body: {"vehicles":[…]} or a bare
// array. A *SyntaxError means malformed JSON (400); a non-empty top-level
// error list means the batch as a whole is invalid (422: not a list, empty,
// more than max items, unknown top-level keys in strict mode); otherwise each
// item carries its own warnings and errors, in order.
func DecodeBatch(data []byte, opt DecodeOptions, max int) (items []Decoded, warnings []string, top []FieldError, err error) {
	s := scanner{data: data}
	s.ws()
	if s.pos >= len(data) {
		return nil, nil, []FieldError{{Loc: []any{"body"}, Msg: "Field required", Type: "missing"}}, nil
	}
	switch data[s.pos] {
	case '[':
		items, top, err = s.batchArray(1, loc{bare: true}, opt, max)
	case '{':
		items, warnings, top, err = s.batchObject(opt, max)
	default:
		if err = s.skip(1); err == nil {
			top = []FieldError{{Loc: []any{"body"}, Msg: "Input should be an object with a \"vehicles\" list, or a list", Type: "model_attributes_type"}}
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.end(); err != nil {
		return nil, nil, nil, err
	}
	if len(top) > 0 {
		return nil, warnings, top, nil
	}
	return items, warnings, nil, nil
}

func (s *scanner) batchObject(opt DecodeOptions, max int) (items []Decoded, warnings []string, top []FieldError, err error) {
	s.pos++ // '{'
	seen := false
	first := true
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return nil, nil, nil, s.errAt(s.pos, "unexpected end of input in object")
		}
		if first && s.data[s.pos] == '}' {
			s.pos++
			break
		}
		first = false
		key, err := s.key()
		if err != nil {
			return nil, nil, nil, err
		}
		if string(key) == "vehicles" && !seen {
			seen = true
			s.ws()
			if s.pos < len(s.data) && s.data[s.pos] == '[' {
				var aerr []FieldError
				items, aerr, err = s.batchArray(2, loc{}, opt, max)
				if err != nil {
					return nil, nil, nil, err
				}
				top = append(top, aerr...)
			} else {
				if err := s.skip(2); err != nil {
					return nil, nil, nil, err
				}
				top = append(top, FieldError{Loc: []any{"body", "vehicles"}, Msg: "Input should be a valid list", Type: "list_type"})
			}
		} else {
			if err := s.skip(2); err != nil {
				return nil, nil, nil, err
			}
			name := clip(key)
			switch {
			case string(key) == "vehicles":
				top = append(top, FieldError{Loc: []any{"body", "vehicles"}, Msg: "Field given more than once", Type: "duplicate_field"})
			case opt.Strict:
				top = append(top, FieldError{Loc: []any{"body", name}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
			default:
				warnings = append(warnings, fmt.Sprintf("unknown field %q ignored", name))
			}
		}
		if done, err := s.next('}'); err != nil {
			return nil, nil, nil, err
		} else if done {
			break
		}
	}
	if !seen && len(top) == 0 {
		top = append(top, FieldError{Loc: []any{"body", "vehicles"}, Msg: "Field required", Type: "missing"})
	}
	return items, warnings, top, nil
}

func (s *scanner) batchArray(depth int, base loc, opt DecodeOptions, max int) ([]Decoded, []FieldError, error) {
	if depth > MaxDepth {
		return nil, nil, s.errAt(s.pos, "nesting deeper than %d levels", MaxDepth)
	}
	arrLoc := []any{"body", "vehicles"}
	if base.bare {
		arrLoc = []any{"body"}
	}
	s.pos++ // '['
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil, []FieldError{{Loc: arrLoc, Msg: "List should have at least 1 item after validation, not 0", Type: "too_short"}}, nil
	}
	var items []Decoded
	for i := 0; ; i++ {
		s.ws()
		if s.pos >= len(s.data) {
			return nil, nil, s.errAt(s.pos, "unexpected end of input in array")
		}
		il := loc{bare: base.bare, batch: true, index: i}
		switch {
		case i >= max:
			// Over the limit: the verdict is known, but the rest must still
			// be valid JSON for a 422 rather than a 400.
			if err := s.skip(depth + 1); err != nil {
				return nil, nil, err
			}
		case s.data[s.pos] == '{':
			d, err := s.listing(depth+1, il, opt)
			if err != nil {
				return nil, nil, err
			}
			items = append(items, d)
		default:
			if err := s.skip(depth + 1); err != nil {
				return nil, nil, err
			}
			items = append(items, Decoded{Listing: engine.EmptyListing(), Errors: []FieldError{notObject(il)}})
		}
		if done, err := s.next(']'); err != nil {
			return nil, nil, err
		} else if done {
			if i >= max {
				return nil, []FieldError{{Loc: arrLoc, Msg: fmt.Sprintf("List should have at most %d items after validation, not %d", max, i+1), Type: "too_long"}}, nil
			}
			return items, nil, nil
		}
	}
}

// loc says where a listing sits in the body, so errors carry FastAPI's loc.
type loc struct {
	batch bool // inside a batch
	bare  bool // the batch is a bare array (no "vehicles" key)
	index int
}

func (l loc) path(field string) []any {
	p := make([]any, 0, 4)
	p = append(p, "body")
	if l.batch {
		if !l.bare {
			p = append(p, "vehicles")
		}
		p = append(p, l.index)
	}
	if field != "" {
		p = append(p, field)
	}
	return p
}

func notObject(l loc) FieldError {
	return FieldError{Loc: l.path(""), Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type"}
}

// Known fields, as bits for duplicate detection.
const (
	fModelYear = 1 << iota
	fModel
	fCondition
	fCylinders
	fFuel
	fOdometer
	fTransmission
	fType
	fPaintColor
	fIs4WD
	fDatePosted
	fDaysListed
	fPrice
)

// listing decodes one object at s.pos ('{').
func (s *scanner) listing(depth int, at loc, opt DecodeOptions) (Decoded, error) {
	if depth > MaxDepth {
		return Decoded{}, s.errAt(s.pos, "nesting deeper than %d levels", MaxDepth)
	}
	d := Decoded{Listing: engine.EmptyListing()}
	l := &d.Listing
	var seen, bad int
	var extra int // field errors beyond maxReported
	addErr := func(field, typ, msg string) {
		if len(d.Errors) >= maxReported {
			extra++
			return
		}
		d.Errors = append(d.Errors, FieldError{Loc: at.path(field), Msg: msg, Type: typ})
	}
	s.pos++ // '{'
	first := true
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return Decoded{}, s.errAt(s.pos, "unexpected end of input in object")
		}
		if first && s.data[s.pos] == '}' {
			s.pos++
			break
		}
		first = false
		key, err := s.key()
		if err != nil {
			return Decoded{}, err
		}
		t, err := s.value(depth + 1)
		if err != nil {
			return Decoded{}, err
		}
		var bit int
		var name string
		switch string(key) {
		case "model_year":
			bit, name = fModelYear, "model_year"
		case "model":
			bit, name = fModel, "model"
		case "condition":
			bit, name = fCondition, "condition"
		case "cylinders":
			bit, name = fCylinders, "cylinders"
		case "fuel":
			bit, name = fFuel, "fuel"
		case "odometer":
			bit, name = fOdometer, "odometer"
		case "transmission":
			bit, name = fTransmission, "transmission"
		case "type":
			bit, name = fType, "type"
		case "paint_color":
			bit, name = fPaintColor, "paint_color"
		case "is_4wd":
			bit, name = fIs4WD, "is_4wd"
		case "date_posted":
			bit, name = fDatePosted, "date_posted"
		case "days_listed":
			bit, name = fDaysListed, "days_listed"
		case "price":
			bit, name = fPrice, "price"
		default:
			n := clip(key)
			if opt.Strict {
				addErr(n, "extra_forbidden", "Extra inputs are not permitted")
			} else {
				d.Warnings = append(d.Warnings, fmt.Sprintf("unknown field %q ignored", n))
			}
		}
		if bit != 0 {
			if seen&bit != 0 {
				if bad&bit == 0 {
					addErr(name, "duplicate_field", "Field given more than once")
				}
				bad |= bit
			} else {
				seen |= bit
				if typ, msg := s.assign(l, bit, t, opt); typ != "" {
					bad |= bit
					addErr(name, typ, msg)
				}
			}
		}
		if done, err := s.next('}'); err != nil {
			return Decoded{}, err
		} else if done {
			break
		}
	}
	if seen&fModelYear == 0 {
		addErr("model_year", "missing", "Field required")
	}
	if seen&fModel == 0 {
		addErr("model", "missing", "Field required")
	}
	if extra > 0 {
		d.Errors = append(d.Errors, FieldError{Loc: at.path(""), Msg: fmt.Sprintf("%d more errors not shown", extra), Type: "too_many_errors"})
	}
	if seen&fPrice != 0 && bad&fPrice == 0 {
		d.Warnings = append(d.Warnings, "price ignored: it is what the model predicts")
	}
	return d, nil
}

// assign validates t for the field and stores it; it returns a pydantic-style
// error type and message when the value is refused.
func (s *scanner) assign(l *engine.Listing, bit int, t token, opt DecodeOptions) (typ, msg string) {
	switch bit {
	case fModelYear:
		if t.kind == kNull {
			return "missing", "Field required"
		}
		v, typ, msg := intValue(t)
		if typ != "" {
			return typ, msg
		}
		if v < MinModelYear {
			return "greater_than_equal", "Input should be greater than or equal to " + strconv.Itoa(MinModelYear)
		}
		if opt.MaxYear > 0 && v > float64(opt.MaxYear) {
			return "less_than_equal", "Input should be less than or equal to " + strconv.Itoa(opt.MaxYear)
		}
		l.ModelYear = v
	case fModel:
		if t.kind == kNull {
			return "missing", "Field required"
		}
		str, typ, msg := textValue(t)
		if typ != "" {
			return typ, msg
		}
		if str == "" {
			return "string_too_short", "String should have at least 1 character"
		}
		l.Model = str
	case fCondition, fFuel, fTransmission, fType, fPaintColor:
		if t.kind == kNull {
			return "", ""
		}
		str, typ, msg := textValue(t)
		if typ != "" {
			return typ, msg
		}
		switch bit {
		case fCondition:
			l.Condition = str
		case fFuel:
			l.Fuel = str
		case fTransmission:
			l.Transmission = str
		case fType:
			l.Type = str
		case fPaintColor:
			l.PaintColor = str
		}
	case fCylinders:
		if t.kind == kNull {
			return "", ""
		}
		v, typ, msg := intValue(t)
		if typ != "" {
			if typ == "int_from_float" {
				return "literal_error", "Input should be 3, 4, 5, 6, 8, 10 or 12"
			}
			return typ, msg
		}
		for _, c := range allowedCylinders {
			if v == c {
				l.Cylinders = v
				return "", ""
			}
		}
		return "literal_error", "Input should be 3, 4, 5, 6, 8, 10 or 12"
	case fOdometer:
		if t.kind == kNull {
			return "", ""
		}
		v, typ, msg := numValue(t)
		if typ != "" {
			return typ, msg
		}
		if v < 0 {
			return "greater_than_equal", "Input should be greater than or equal to 0"
		}
		if v > MaxOdometer {
			return "less_than_equal", "Input should be less than or equal to " + strconv.Itoa(MaxOdometer)
		}
		l.Odometer = v
	case fIs4WD:
		switch t.kind {
		case kNull:
		case kTrue:
			l.Is4WD = 1
		case kFalse:
			l.Is4WD = 0
		case kNum:
			v, err := parseFloat(t.raw)
			if err != nil || (v != 0 && v != 1) {
				return "bool_parsing", "Input should be a valid boolean: true, false, 0 or 1"
			}
			l.Is4WD = v
		default:
			return "bool_type", "Input should be a valid boolean"
		}
	case fDatePosted:
		if t.kind == kNull {
			return "", ""
		}
		str, typ, msg := textValue(t)
		if typ != "" {
			return typ, msg
		}
		if str == "" {
			return "", ""
		}
		if !validDate(str) {
			return "date_parsing", "Input should be a valid date in the format YYYY-MM-DD"
		}
		l.DatePosted = str
	case fDaysListed, fPrice:
		// Accepted and ignored, but still type-checked so garbage is not
		// silently swallowed.
		if t.kind == kNull {
			return "", ""
		}
		if _, typ, msg := numValue(t); typ != "" {
			return typ, msg
		}
	}
	return "", ""
}

func numValue(t token) (float64, string, string) {
	if t.kind != kNum {
		return 0, "float_type", "Input should be a valid number"
	}
	v, err := parseFloat(t.raw)
	if err != nil {
		return 0, "finite_number", "Input should be a finite number"
	}
	return v, "", ""
}

func intValue(t token) (float64, string, string) {
	if t.kind != kNum {
		return 0, "int_type", "Input should be a valid integer"
	}
	v, err := parseFloat(t.raw)
	if err != nil {
		return 0, "finite_number", "Input should be a finite number"
	}
	if v != math.Trunc(v) {
		return 0, "int_from_float", "Input should be a valid integer, got a number with a fractional part"
	}
	return v, "", ""
}

func textValue(t token) (string, string, string) {
	if t.kind != kStr {
		return "", "string_type", "Input should be a valid string"
	}
	b := bytes.TrimSpace(t.raw)
	if len(b) > MaxTextLen {
		return "", "string_too_long", "String should have at most " + strconv.Itoa(MaxTextLen) + " characters"
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return "", "string_pattern_mismatch", "String should not contain control characters"
		}
	}
	return string(b), "", ""
}

// validDate accepts YYYY-MM-DD naming a real calendar day.
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, d := num(0, 4), num(5, 7), num(8, 10)
	if y < MinModelYear || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func parseFloat(b []byte) (float64, error) {
	// The scanner keeps the body alive and unmodified during the call, so
	// viewing it as a string without a copy is safe.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		return 0, err
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, strconv.ErrRange
	}
	return v, nil
}

// clip shortens an unknown field's name before it is quoted back or logged.
func clip(b []byte) string {
	if len(b) > maxNameInError {
		b = b[:maxNameInError]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	return string(b)
}

// Token kinds.
const (
	kNull = iota
	kTrue
	kFalse
	kNum
	kStr
	kComposite // an object or array (validated and skipped)
)

type token struct {
	kind int
	raw  []byte // number text, or decoded string bytes
}

// scanner is a strict RFC 8259 reader over one body; it never allocates for
// bodies without string escapes.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errAt(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// end checks nothing but whitespace follows the top-level value.
func (s *scanner) end() error {
	s.ws()
	if s.pos < len(s.data) {
		return s.errAt(s.pos, "unexpected data after the JSON value")
	}
	return nil
}

// key reads `"name" :`.
func (s *scanner) key() ([]byte, error) {
	if s.data[s.pos] != '"' {
		return nil, s.errAt(s.pos, "expected a string key, found %s", describe(s.data[s.pos]))
	}
	k, err := s.str()
	if err != nil {
		return nil, err
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, s.errAt(s.pos, "expected ':' after object key")
	}
	s.pos++
	return k, nil
}

// next consumes ',' (false) or the closing byte (true).
func (s *scanner) next(closing byte) (bool, error) {
	s.ws()
	if s.pos >= len(s.data) {
		return false, s.errAt(s.pos, "unexpected end of input")
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		return false, nil
	case closing:
		s.pos++
		return true, nil
	}
	return false, s.errAt(s.pos, "expected ',' or '%c', found %s", closing, describe(s.data[s.pos]))
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// value reads any value at depth; objects and arrays are validated and
// skipped (no field of a listing takes one).
func (s *scanner) value(depth int) (token, error) {
	s.ws()
	if s.pos >= len(s.data) {
		return token{}, s.errAt(s.pos, "unexpected end of input, expected a value")
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		b, err := s.str()
		return token{kind: kStr, raw: b}, err
	case c == '-' || (c >= '0' && c <= '9'):
		b, err := s.num()
		return token{kind: kNum, raw: b}, err
	case c == 't':
		return token{kind: kTrue}, s.lit("true")
	case c == 'f':
		return token{kind: kFalse}, s.lit("false")
	case c == 'n':
		return token{kind: kNull}, s.lit("null")
	case c == '{' || c == '[':
		return token{kind: kComposite}, s.skip(depth)
	default:
		return token{}, s.errAt(s.pos, "invalid character %s looking for the beginning of a value (NaN, Infinity and bare words are not JSON)", describe(c))
	}
}

func (s *scanner) lit(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errAt(s.pos, "invalid literal, expected %s", word)
	}
	s.pos += len(word)
	return nil
}

// skip validates and skips one value.
func (s *scanner) skip(depth int) error {
	s.ws()
	if s.pos >= len(s.data) {
		return s.errAt(s.pos, "unexpected end of input, expected a value")
	}
	c := s.data[s.pos]
	if c != '{' && c != '[' {
		_, err := s.value(depth)
		return err
	}
	if depth > MaxDepth {
		return s.errAt(s.pos, "nesting deeper than %d levels", MaxDepth)
	}
	s.pos++
	closing := byte(']')
	if c == '{' {
		closing = '}'
	}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == closing {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return s.errAt(s.pos, "unexpected end of input")
		}
		if c == '{' {
			if _, err := s.key(); err != nil {
				return err
			}
		}
		if err := s.skip(depth + 1); err != nil {
			return err
		}
		if done, err := s.next(closing); err != nil {
			return err
		} else if done {
			return nil
		}
	}
}

// num reads a number per the JSON grammar and returns its text.
func (s *scanner) num() ([]byte, error) {
	start, i, d := s.pos, s.pos, s.data
	if d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		digits()
	default:
		return nil, s.errAt(i, "invalid number: expected a digit")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return nil, s.errAt(i, "invalid number: expected a digit after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return nil, s.errAt(i, "invalid number: expected a digit in the exponent")
		}
	}
	s.pos = i
	return d[start:i], nil
}

// str reads a string at s.pos ('"'). Without escapes the result aliases the
// body (no allocation); with escapes it is a new buffer.
func (s *scanner) str() ([]byte, error) {
	d := s.data
	start := s.pos + 1
	for i := start; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return d[start:i], nil
		case c == '\\':
			return s.strEscaped(start, i)
		case c < 0x20:
			return nil, s.errAt(i, "control character %s in string", describe(c))
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, s.errAt(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return nil, s.errAt(len(d), "unterminated string")
}

func (s *scanner) strEscaped(start, i int) ([]byte, error) {
	d := s.data
	out := make([]byte, 0, i-start+16)
	out = append(out, d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return out, nil
		case c == '\\':
			if i+1 >= len(d) {
				return nil, s.errAt(i, "unterminated escape")
			}
			e := d[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(d, i)
				if !ok {
					return nil, s.errAt(i-2, "invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair decodes to one rune; a lone half becomes U+FFFD,
					// as encoding/json does.
					r2, ok2 := rune(-1), false
					if i+6 <= len(d) && d[i] == '\\' && d[i+1] == 'u' {
						r2, ok2 = hex4(d, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, s.errAt(i-2, "invalid escape %s", describe(e))
			}
		case c < 0x20:
			return nil, s.errAt(i, "control character %s in string", describe(c))
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, s.errAt(i, "invalid UTF-8 in string")
			}
			out = append(out, d[i:i+size]...)
			i += size
		}
	}
	return nil, s.errAt(len(d), "unterminated string")
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
