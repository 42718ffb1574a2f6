package serve

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"carvision/engine"
)

// The hot responses are appended by hand: encoding/json's reflection costs
// more than the whole prediction.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat formats like encoding/json; non-finite values become null
// (never produced on purpose: a non-finite price is refused before this).
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

func appendStrings(b []byte, ss ...[]string) []byte {
	b = append(b, '[')
	n := 0
	for _, list := range ss {
		for _, s := range list {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
			n++
		}
	}
	return append(b, ']')
}

// appendPredictionFields appends the members of a prediction object
// (without braces). warnings are the decoder's, then the model's.
func appendPredictionFields(b []byte, p *engine.Prediction, decodeWarnings []string) []byte {
	b = append(b, `"predicted_price":`...)
	b = appendFloat(b, p.Price)
	b = append(b, `,"warnings":`...)
	b = appendStrings(b, decodeWarnings, p.Warnings)
	if p.Interval != nil && finite(p.Interval.Lower, p.Interval.Upper, p.Interval.Coverage) {
		b = append(b, `,"interval":{"lower":`...)
		b = appendFloat(b, p.Interval.Lower)
		b = append(b, `,"upper":`...)
		b = appendFloat(b, p.Interval.Upper)
		b = append(b, `,"coverage":`...)
		b = appendFloat(b, p.Interval.Coverage)
		b = append(b, '}')
	}
	if p.Percentile != 0 && finite(p.Percentile) {
		b = append(b, `,"market_percentile":`...)
		b = appendFloat(b, p.Percentile)
	}
	if p.Band != "" {
		b = append(b, `,"market_band":`...)
		b = appendString(b, p.Band)
	}
	if m := p.Market; m != nil && finite(m.Q1, m.Median, m.Q3, m.Max) {
		b = append(b, `,"market":{"q1":`...)
		b = appendFloat(b, m.Q1)
		b = append(b, `,"median":`...)
		b = appendFloat(b, m.Median)
		b = append(b, `,"q3":`...)
		b = appendFloat(b, m.Q3)
		b = append(b, `,"max":`...)
		b = appendFloat(b, m.Max)
		b = append(b, '}')
	}
	if len(p.Contributions) > 0 {
		b = append(b, `,"contributions":[`...)
		for i, c := range p.Contributions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"feature":`...)
			b = appendString(b, c.Feature)
			b = append(b, `,"value":`...)
			b = appendString(b, c.Value)
			b = append(b, `,"contribution":`...)
			b = appendFloat(b, c.Amount)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if p.BaseValue != 0 && finite(p.BaseValue) {
		b = append(b, `,"base_value":`...)
		b = appendFloat(b, p.BaseValue)
	}
	if len(p.Comparables) > 0 {
		b = append(b, `,"comparables":[`...)
		for i, c := range p.Comparables {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"model":`...)
			b = appendString(b, c.Model)
			b = append(b, `,"model_year":`...)
			b = strconv.AppendInt(b, int64(c.ModelYear), 10)
			b = append(b, `,"odometer":`...)
			b = appendFloat(b, c.Odometer)
			b = append(b, `,"price":`...)
			b = appendFloat(b, c.Price)
			b = append(b, `,"condition":`...)
			b = appendString(b, c.Condition)
			b = append(b, `,"days_listed":`...)
			b = strconv.AppendInt(b, int64(c.DaysListed), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if p.ComparablesMedian != 0 && finite(p.ComparablesMedian) {
		b = append(b, `,"comparables_median":`...)
		b = appendFloat(b, p.ComparablesMedian)
	}
	return b
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// marshalLenient is json.Marshal that survives NaN and ±Inf (which
// encoding/json refuses) by writing them as 0 in a copy of v. Snapshots carry
// statistics that are undefined on empty windows; a scrape must not fail
// because of one.
func marshalLenient(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err == nil {
		return b, nil
	}
	if _, ok := err.(*json.UnsupportedValueError); !ok {
		return nil, err
	}
	rv := reflect.New(reflect.TypeOf(v)).Elem()
	rv.Set(reflect.ValueOf(v))
	return json.Marshal(scrubFloats(rv).Interface())
}

// scrubFloats returns a copy of v with non-finite floats replaced by 0.
func scrubFloats(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return reflect.Zero(v.Type())
		}
		return v
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(scrubFloats(v.Elem()))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(scrubFloats(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if out.Field(i).CanSet() {
				out.Field(i).Set(scrubFloats(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(scrubFloats(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(scrubFloats(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), scrubFloats(iter.Value()))
		}
		return out
	}
	return v
}
