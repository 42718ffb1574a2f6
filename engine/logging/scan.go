package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"carvision/engine"
)

// Bounds of ScanFile.
const (
	DefaultScanBytes = 16 << 20 // tail of the file read
	MaxScanLines     = 1000     // matching lines returned (the most recent)
	maxLineBytes     = 1 << 20  // longer lines are skipped
)

// ScanFile returns the lines of the log file at path written at or after
// since (zero: any time) that contain pattern (case-insensitive; "" matches
// all), oldest first. It reads at most the last DefaultScanBytes of the file
// and returns at most MaxScanLines, the most recent.
func ScanFile(path string, since time.Time, pattern string) ([]engine.LogLine, error) {
	return ScanFileLimit(path, since, pattern, DefaultScanBytes)
}

// ScanFileLimit is ScanFile reading at most maxBytes from the end of the file.
func ScanFileLimit(path string, since time.Time, pattern string, maxBytes int64) ([]engine.LogLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scan log %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("scan log %s: %w", path, err)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultScanBytes
	}
	off := int64(0)
	if st.Size() > maxBytes {
		off = st.Size() - maxBytes
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("scan log %s: %w", path, err)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, maxBytes), 64<<10)
	pat := strings.ToLower(pattern)
	var out []engine.LogLine
	first := off > 0 // the first line is probably cut: skip it
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(line)+len(chunk) <= maxLineBytes {
				line = append(line, chunk...)
			} else {
				tooLong = true
			}
			for errors.Is(err, bufio.ErrBufferFull) { // consume the rest of the line
				chunk, err = br.ReadSlice('\n')
				if !tooLong && len(line)+len(chunk) <= maxLineBytes {
					line = append(line, chunk...)
				} else {
					tooLong = true
				}
			}
		} else {
			line = append(line, chunk...)
		}
		if err != nil && err != io.EOF {
			return out, fmt.Errorf("scan log %s: %w", path, err)
		}
		text := string(bytes.TrimRight(line, "\r\n"))
		line = line[:0]
		if first {
			first = false
		} else if !tooLong && text != "" && (pat == "" || strings.Contains(strings.ToLower(text), pat)) {
			l := ParseLine(text)
			if since.IsZero() || (!l.At.IsZero() && !l.At.Before(since)) {
				out = append(out, l)
				if len(out) > 2*MaxScanLines {
					out = append(out[:0], out[len(out)-MaxScanLines:]...)
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if len(out) > MaxScanLines {
		out = out[len(out)-MaxScanLines:]
	}
	return out, nil
}

// ParseLine reads one log line written by the JSON or the text handler. A
// line in neither form becomes a LogLine with only Message and Raw.
func ParseLine(line string) engine.LogLine {
	l := engine.LogLine{Raw: line}
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			for k, v := range m {
				switch k {
				case "time":
					if s, ok := v.(string); ok {
						l.At, _ = time.Parse(time.RFC3339Nano, s)
					}
				case "level":
					l.Level = fmt.Sprint(v)
				case "msg":
					l.Message = fmt.Sprint(v)
				default:
					flatten(&l, k, v)
				}
			}
			return l
		}
	}
	kv, ok := parseText(line)
	if !ok {
		l.Message = line
		return l
	}
	for _, p := range kv {
		switch p[0] {
		case "time":
			l.At, _ = time.Parse(time.RFC3339Nano, p[1])
		case "level":
			l.Level = p[1]
		case "msg":
			l.Message = p[1]
		default:
			if l.Attrs == nil {
				l.Attrs = map[string]string{}
			}
			l.Attrs[p[0]] = p[1]
		}
	}
	return l
}

func flatten(l *engine.LogLine, key string, v any) {
	if l.Attrs == nil {
		l.Attrs = map[string]string{}
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flatten(l, key+"."+k, x[k])
		}
	case string:
		l.Attrs[key] = x
	case json.Number:
		l.Attrs[key] = x.String()
	case nil:
		l.Attrs[key] = ""
	case bool:
		l.Attrs[key] = strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		l.Attrs[key] = string(b)
	}
}

// parseText splits slog's text format: key=value pairs, values bare or
// Go-quoted.
func parseText(s string) ([][2]string, bool) {
	var out [][2]string
	for i := 0; i < len(s); {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 || strings.ContainsAny(s[i:i+eq], ` "`) {
			return nil, false
		}
		key := s[i : i+eq]
		i += eq + 1
		var val string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, false
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, false
			}
			val, i = v, j+1
		} else {
			j := strings.IndexByte(s[i:], ' ')
			if j < 0 {
				j = len(s) - i
			}
			val, i = s[i:i+j], i+j
		}
		out = append(out, [2]string{key, val})
	}
	return out, len(out) > 0
}
