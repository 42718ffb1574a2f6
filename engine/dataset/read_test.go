package dataset

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"carvision/engine/dataset/datasettest"
)

const header = "price,model_year,model,condition,cylinders,fuel,odometer,transmission,type,paint_color,is_4wd,date_posted,days_listed"
const goodRow = "9400,2011.0,bmw x5,good,6,gas,145000.0,automatic,SUV,,1.0,2018-06-23,19"

func fixture(name string) string { return filepath.Join("..", "..", "testdata", "csv", name) }

// equalFrames compares two frames value by value, NaN equal to NaN.
func equalFrames(t *testing.T, got, want *Frame) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("rows: got %d, want %d", got.Len(), want.Len())
	}
	nums := []struct {
		name string
		g, w []float64
	}{
		{"price", got.Price, want.Price}, {"model_year", got.ModelYear, want.ModelYear},
		{"cylinders", got.Cylinders, want.Cylinders}, {"odometer", got.Odometer, want.Odometer},
		{"is_4wd", got.Is4WD, want.Is4WD}, {"days_listed", got.DaysListed, want.DaysListed},
	}
	for _, c := range nums {
		for i := range c.w {
			if !(c.g[i] == c.w[i] || math.IsNaN(c.g[i]) && math.IsNaN(c.w[i])) {
				t.Errorf("row %d %s: got %v, want %v", i, c.name, c.g[i], c.w[i])
			}
		}
	}
	texts := []struct {
		name string
		g, w []string
	}{
		{"model", got.Model, want.Model}, {"condition", got.Condition, want.Condition},
		{"fuel", got.Fuel, want.Fuel}, {"transmission", got.Transmission, want.Transmission},
		{"type", got.Type, want.Type}, {"paint_color", got.PaintColor, want.PaintColor},
		{"date_posted", got.DatePosted, want.DatePosted},
	}
	for _, c := range texts {
		if !reflect.DeepEqual(c.g, c.w) {
			t.Errorf("%s: got %q, want %q", c.name, c.g, c.w)
		}
	}
	if !reflect.DeepEqual(got.RowID, want.RowID) {
		t.Errorf("row_id: got %v, want %v", got.RowID, want.RowID)
	}
}

func TestLoadSmall(t *testing.T) {
	f, err := Load(fixture("small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 6 {
		t.Fatalf("rows = %d, want 6", f.Len())
	}
	l := f.Row(1)
	if l.Price != 25500 || !math.IsNaN(l.ModelYear) || l.Model != "ford f-150" || l.Odometer != 88705 ||
		l.PaintColor != "white" || l.Is4WD != 1 || l.DatePosted != "2018-10-19" || l.DaysListed != 50 {
		t.Errorf("row 1 = %+v", l)
	}
	if !math.IsNaN(f.Is4WD[2]) || f.PaintColor[0] != "" || !math.IsNaN(f.Odometer[3]) {
		t.Errorf("missing values not kept: is_4wd %v paint %q odometer %v", f.Is4WD[2], f.PaintColor[0], f.Odometer[3])
	}
	if want := []int32{0, 1, 2, 3, 4, 5}; !reflect.DeepEqual(f.RowID, want) {
		t.Errorf("RowID = %v", f.RowID)
	}
	// Text columns are interned: equal values share one backing string.
	if unsafeData(f.Model[1]) != unsafeData(f.Model[3]) {
		t.Error("model strings not interned")
	}
}

// Formatting variants of the same rows load to the same frame: BOM, CRLF,
// quotes (with commas, doubled quotes, a line break), reordered and
// upper-case header names, an extra column, a blank line, integers written
// without .0, NaN, true.
func TestReadVariants(t *testing.T) {
	want, err := Load(fixture("small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(fixture("variant.csv"))
	if err != nil {
		t.Fatal(err)
	}
	equalFrames(t, got, want)
}

func TestReadRowIDColumn(t *testing.T) {
	in := header + ",row_id\n" + goodRow + ",17\n" + goodRow + ",3\n"
	f, err := Read(strings.NewReader(in), "split.csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{17, 3}; !reflect.DeepEqual(f.RowID, want) {
		t.Errorf("RowID = %v, want %v", f.RowID, want)
	}
}

func TestReadOptionalColumnsAbsent(t *testing.T) {
	in := "price,model_year,model,condition,odometer,fuel,transmission,type\n5000,2010.0,kia soul,good,1000.0,gas,automatic,hatchback\n"
	f, err := Read(strings.NewReader(in), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(f.Cylinders[0]) || !math.IsNaN(f.Is4WD[0]) || !math.IsNaN(f.DaysListed[0]) ||
		f.PaintColor[0] != "" || f.DatePosted[0] != "" {
		t.Errorf("absent optional columns should be missing: %+v", f.Row(0))
	}
}

func TestReadNumbers(t *testing.T) {
	tests := []struct {
		cell string
		want float64 // NaN for missing
	}{
		{"145000.0", 145000}, {"145000", 145000}, {" 12 ", 12}, {"0.1", 0.1}, {"-3.25", -3.25},
		{"+7", 7}, {"1e5", 100000}, {"1.5E-3", 0.0015}, {"123456789012345678", 123456789012345678},
		{"0.30000000000000004", 0.30000000000000004}, {"", math.NaN()}, {"NaN", math.NaN()},
		{"nan", math.NaN()}, {"NA", math.NaN()}, {"N/A", math.NaN()}, {"null", math.NaN()}, {"None", math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.cell, func(t *testing.T) {
			in := header + "\n" + strings.Replace(goodRow, "145000.0", tt.cell, 1) + "\n"
			f, err := Read(strings.NewReader(in), "n.csv")
			if err != nil {
				t.Fatal(err)
			}
			got := f.Odometer[0]
			if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("odometer %q = %v, want %v", tt.cell, got, tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	longLine := header + "\n" + strings.Repeat("x", 10<<20) + "\n"
	tests := []struct {
		name     string
		in       string
		want     error
		line     int
		column   string
		contains string
	}{
		{"empty file", "", ErrEmpty, 1, "", "file is empty"},
		{"only a BOM", "\xEF\xBB\xBF", ErrEmpty, 1, "", "file is empty"},
		{"header only", header + "\n", ErrNoRows, 2, "", "no data rows"},
		{"header and blank lines", header + "\n\n\r\n", ErrNoRows, 4, "", "no data rows"},
		{"missing column", strings.Replace(header, ",odometer", "", 1) + "\n" + goodRow + "\n", ErrMissingColumn, 1, "odometer", "missing required column"},
		{"several missing", "price,model\n1,a\n", ErrMissingColumn, 1, "model_year", "also missing: condition, odometer, fuel, transmission, type"},
		{"duplicated header", header + ",price\n" + goodRow + ",3\n", ErrDuplicate, 1, "price", "fields 1 and 14"},
		{"duplicated ignoring case", header + ",Notes,notes\n" + goodRow + ",a,b\n", ErrDuplicate, 1, "notes", "duplicated header name"},
		{"semicolon delimiter", strings.ReplaceAll(header, ",", ";") + "\n" + strings.ReplaceAll(goodRow, ",", ";") + "\n", ErrDelimiter, 1, "", `";"`},
		{"tab delimiter", strings.ReplaceAll(header, ",", "\t") + "\n", ErrDelimiter, 1, "", `"\t"`},
		{"non-numeric odometer", header + "\n" + goodRow + "\n" + strings.Replace(goodRow, "145000.0", "12a", 1) + "\n", ErrNotNumber, 3, "odometer", `"12a" is not a number`},
		{"infinite price", header + "\n" + strings.Replace(goodRow, "9400", "Inf", 1) + "\n", ErrNotNumber, 2, "price", `"Inf" is not a number`},
		{"number with comma in quotes", header + "\n" + strings.Replace(goodRow, "9400", `"9,400"`, 1) + "\n", ErrNotNumber, 2, "price", `"9,400"`},
		{"bad date format", header + "\n" + strings.Replace(goodRow, "2018-06-23", "6/23/18", 1) + "\n", ErrBadDate, 2, "date_posted", `"6/23/18" is not a date`},
		{"impossible date", header + "\n" + strings.Replace(goodRow, "2018-06-23", "2019-02-29", 1) + "\n", ErrBadDate, 2, "date_posted", "YYYY-MM-DD"},
		{"bad flag", header + "\n" + strings.Replace(goodRow, ",1.0,", ",2.0,", 1) + "\n", ErrBadFlag, 2, "is_4wd", `"2.0" is not a 0/1 flag`},
		{"too few fields", header + "\n" + goodRow + "\n9400,2011.0,bmw x5\n", ErrFieldCount, 3, "", "has 3 fields, the header has 13"},
		{"too many fields", header + "\n" + goodRow + ",extra\n", ErrFieldCount, 2, "", "has 14 fields"},
		{"line after CRLF rows", header + "\r\n" + goodRow + "\r\n" + goodRow + "\r\n" + goodRow + ",x\r\n", ErrFieldCount, 4, "", "has 14 fields"},
		{"unclosed quote", header + "\n" + strings.Replace(goodRow, "bmw x5", `"bmw x5`, 1) + "\n", ErrQuote, 2, "", "not closed"},
		{"text after quote", header + "\n" + strings.Replace(goodRow, "bmw x5", `"bmw" x5`, 1) + "\n", ErrQuote, 2, "", "after a closing quote"},
		{"bare quote", header + "\n" + strings.Replace(goodRow, "bmw x5", `bmw 5"`, 1) + "\n", ErrQuote, 2, "", "quote inside an unquoted field"},
		{"invalid utf-8", header + "\n" + strings.Replace(goodRow, "bmw x5", "bmw \xff", 1) + "\n", ErrEncoding, 2, "model", "not valid UTF-8"},
		{"bad row_id", header + ",row_id\n" + goodRow + ",-1\n", ErrNotNumber, 2, "row_id", "not a row number"},
		{"10 MB line", longLine, ErrLineTooLong, 2, "", "longer than"},
		{"10 MB quoted field", header + "\n\"" + strings.Repeat("y\n", 5<<20), ErrLineTooLong, 2, "", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(strings.NewReader(tt.in), "vehicles_us.csv")
			if err == nil {
				t.Fatalf("no error; %d rows", f.Len())
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("cause = %v, want %v", e.Err, tt.want)
			}
			if e.Line != tt.line || e.Column != tt.column {
				t.Errorf("at line %d column %q, want line %d column %q", e.Line, e.Column, tt.line, tt.column)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "vehicles_us.csv line ") || !strings.Contains(msg, tt.contains) {
				t.Errorf("message %q lacks file/line or %q", msg, tt.contains)
			}
			if len(msg) > 300 {
				t.Errorf("message is %d bytes long", len(msg))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "vehicles_us.csv", Line: 17, Column: "odometer", Value: "12a", Msg: "is not a number"}
	if got, want := e.Error(), `vehicles_us.csv line 17 column "odometer": "12a" is not a number`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	e = &Error{File: "a.csv", Line: 1, Msg: "file is empty"}
	if got, want := e.Error(), `a.csv line 1: file is empty`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestLoadFixtureErrors(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"empty.csv", ErrEmpty}, {"header_only.csv", ErrNoRows}, {"semicolon.csv", ErrDelimiter},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(fixture(tt.file))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.file) {
				t.Errorf("%q does not name the file", err)
			}
		})
	}
	if _, err := Load(fixture("no-such-file.csv")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestValidDate(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"2018-05-01", true}, {"2020-02-29", true}, {"2000-02-29", true}, {"1900-02-29", false},
		{"2019-02-29", false}, {"2019-04-31", false}, {"2019-13-01", false}, {"2019-00-10", false},
		{"2019-1-01", false}, {"2019/01/01", false}, {"2019-01-01T00:00", false}, {"", false}, {"20a9-01-01", false},
	}
	for _, tt := range tests {
		if got := ValidDate(tt.in); got != tt.ok {
			t.Errorf("ValidDate(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestRealFile(t *testing.T) {
	path := datasettest.Real(t)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// §23 of original-system.md, computed independently with awk:
	// awk -F, 'NR>1 && $2==""' | wc -l etc.
	missing := func(xs []float64) (n int) {
		for _, v := range xs {
			if math.IsNaN(v) {
				n++
			}
		}
		return n
	}
	emptyText := func(xs []string) (n int) {
		for _, v := range xs {
			if v == "" {
				n++
			}
		}
		return n
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"rows", f.Len(), 51525},
		{"model_year missing", missing(f.ModelYear), 3619},
		{"cylinders missing", missing(f.Cylinders), 5260},
		{"odometer missing", missing(f.Odometer), 7892},
		{"paint_color missing", emptyText(f.PaintColor), 9267},
		{"is_4wd missing", missing(f.Is4WD), 25953},
		{"price missing", missing(f.Price), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	var buf bytes.Buffer
	if err := f.WriteCSV(&buf, false); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Error("writing the real file back does not reproduce it byte for byte")
	}
	sum, err := Hash(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum != "f018c23feba7a500798bebb4493031ebc791860523eef721144ad5efb1891391" {
		t.Errorf("sha256 = %s", sum)
	}
}

func BenchmarkLoadReal(b *testing.B) {
	path := datasettest.Real(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadSynth reads 50k rows shaped like the real file from memory.
func BenchmarkLoadSynth(b *testing.B) {
	data := benchCSV(50000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), "synth.csv"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCSV builds n rows from a handful of templates (the synth package
// would import this one, so it cannot be used here).
func benchCSV(n int) []byte {
	rows := []string{
		goodRow,
		"25500,,ford f-150,good,6,gas,88705.0,automatic,pickup,white,1.0,2018-10-19,50",
		"5500,2013.0,hyundai sonata,like new,4,gas,110000.0,automatic,sedan,red,,2019-02-07,79",
		"1500,2003.0,ford f-150,fair,8,gas,,automatic,pickup,,,2019-03-22,9",
		"14900,2017.0,chrysler 200,excellent,4,gas,80903.0,automatic,sedan,black,,2019-04-02,28",
	}
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for i := 0; i < n; i++ {
		b.WriteString(rows[i%len(rows)])
		b.WriteByte('\n')
	}
	return b.Bytes()
}
