package dataset

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteCSV writes the 13 original columns in the original order (and
// row_id last when withRowID), formatted like vehicles_us.csv: price,
// cylinders and days_listed as integers, model_year, odometer and is_4wd
// with a ".0" (2011.0), missing values empty, LF line ends. Loading the
// real file and writing it back reproduces it byte for byte.
func (f *Frame) WriteCSV(w io.Writer, withRowID bool) error {
	if err := f.Check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	line := make([]byte, 0, 256)
	line = append(line, strings.Join(colNames[:colRowID], ",")...)
	if withRowID {
		line = append(line, ",row_id"...)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return fmt.Errorf("write %s: %w", f.Source, err)
	}
	for i := 0; i < f.Len(); i++ {
		line = line[:0]
		line = appendInt(line, f.Price[i])
		line = append(line, ',')
		line = appendPointZero(line, f.ModelYear[i])
		line = append(line, ',')
		line = appendText(line, f.Model[i])
		line = append(line, ',')
		line = appendText(line, f.Condition[i])
		line = append(line, ',')
		line = appendInt(line, f.Cylinders[i])
		line = append(line, ',')
		line = appendText(line, f.Fuel[i])
		line = append(line, ',')
		line = appendPointZero(line, f.Odometer[i])
		line = append(line, ',')
		line = appendText(line, f.Transmission[i])
		line = append(line, ',')
		line = appendText(line, f.Type[i])
		line = append(line, ',')
		line = appendText(line, f.PaintColor[i])
		line = append(line, ',')
		line = appendPointZero(line, f.Is4WD[i])
		line = append(line, ',')
		line = appendText(line, f.DatePosted[i])
		line = append(line, ',')
		line = appendInt(line, f.DaysListed[i])
		if withRowID {
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(f.RowID[i]), 10)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write %s: %w", f.Source, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", f.Source, err)
	}
	return nil
}

// WriteCSVFile writes the frame to path atomically: a temporary file in the
// same folder, synced, then renamed over path. A failure leaves any previous
// file untouched.
func (f *Frame) WriteCSVFile(path string, withRowID bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = f.WriteCSV(tmp, withRowID); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Hash returns the hex sha256 of the file's bytes.
func Hash(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// integral values up to this magnitude print as plain digits.
const maxPlainInt = 1e15

func appendInt(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return b
	case v == math.Trunc(v) && math.Abs(v) < maxPlainInt:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendPointZero(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return b
	case v == math.Trunc(v) && math.Abs(v) < maxPlainInt:
		b = strconv.AppendInt(b, int64(v), 10)
		return append(b, '.', '0')
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendText quotes only when needed (like pandas' QUOTE_MINIMAL).
func appendText(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
