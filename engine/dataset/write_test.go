package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"carvision/engine"
)

func unsafeData(s string) *byte { return unsafe.StringData(s) }

func TestWriteCSVFormats(t *testing.T) {
	nan := math.NaN()
	f := New("t", 0)
	f.Append(engine.Listing{Price: 9400, ModelYear: 2011, Model: "bmw x5", Condition: "good", Cylinders: 6,
		Fuel: "gas", Odometer: 145000, Transmission: "automatic", Type: "SUV", PaintColor: "",
		Is4WD: 1, DatePosted: "2018-06-23", DaysListed: 19}, 7)
	f.Append(engine.Listing{Price: 1234.5, ModelYear: nan, Model: `the "best", car`, Condition: "a\nb",
		Cylinders: nan, Fuel: "gas", Odometer: 0.25, Transmission: "x", Type: "y", PaintColor: "red",
		Is4WD: 0, DatePosted: "", DaysListed: nan}, 2)
	tests := []struct {
		withRowID bool
		want      string
	}{
		{false, header + "\n" +
			"9400,2011.0,bmw x5,good,6,gas,145000.0,automatic,SUV,,1.0,2018-06-23,19\n" +
			"1234.5,,\"the \"\"best\"\", car\",\"a\nb\",,gas,0.25,x,y,red,0.0,,\n"},
		{true, header + ",row_id\n" +
			"9400,2011.0,bmw x5,good,6,gas,145000.0,automatic,SUV,,1.0,2018-06-23,19,7\n" +
			"1234.5,,\"the \"\"best\"\", car\",\"a\nb\",,gas,0.25,x,y,red,0.0,,,2\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := f.WriteCSV(&buf, tt.withRowID); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("withRowID=%v:\n got %q\nwant %q", tt.withRowID, buf.String(), tt.want)
		}
		back, err := Read(&buf, "back.csv")
		if err != nil {
			t.Fatal(err)
		}
		if tt.withRowID {
			equalFrames(t, back, f)
		} else if back.Model[1] != f.Model[1] || back.Condition[1] != "a\nb" {
			t.Errorf("quoted text did not round-trip: %q %q", back.Model[1], back.Condition[1])
		}
	}
}

func TestWriteCSVRejectsRaggedFrame(t *testing.T) {
	f := New("ragged", 1)
	f.Append(engine.EmptyListing(), 0)
	f.Price = f.Price[:0]
	if err := f.WriteCSV(&bytes.Buffer{}, false); err == nil || !strings.Contains(err.Error(), "price") {
		t.Errorf("err = %v, want a column-length error naming price", err)
	}
}

func TestWriteCSVFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := Load(fixture("small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// A failing write (ragged frame) leaves the old file and no temp file.
	bad := good.Select([]int{0, 1})
	bad.Model = bad.Model[:1]
	if err := bad.WriteCSVFile(path, true); err == nil {
		t.Fatal("ragged frame written")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("old file changed to %q", b)
	}
	if err := good.WriteCSVFile(path, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want, _ := os.ReadFile(fixture("small.csv"))
	if !bytes.Equal(got, want) {
		t.Errorf("written file differs from the fixture:\n%s", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only out.csv", len(entries))
	}
	if err := good.WriteCSVFile(filepath.Join(dir, "no", "such", "dir.csv"), false); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

func TestHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h")
	data := []byte("price\n1\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	got, err := Hash(path)
	if err != nil || got != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, %v", got, err)
	}
	if _, err := Hash(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("hash of a missing file succeeded")
	}
}

// FuzzRead: any input either fails with a located *Error or loads to a
// frame that survives a write/read round trip unchanged.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"small.csv", "variant.csv", "semicolon.csv", "header_only.csv"} {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(header + ",row_id\n" + goodRow + ",4\n"))
	f.Add([]byte(header + "\n\"a\"\"b\",1,2,3,4,5,6,7,8,9,1,2018-01-01,1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := Read(bytes.NewReader(in), "fuzz.csv")
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := fr.WriteCSV(&buf, true); err != nil {
			t.Fatal(err)
		}
		back, err := Read(&buf, "fuzz-back.csv")
		if err != nil {
			t.Fatalf("re-reading our own output: %v\n%q", err, buf.String())
		}
		equalFrames(t, back, fr)
	})
}
