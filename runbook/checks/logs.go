package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"carvision/engine"
)

// MissingColumn is the text the service logs when the model expects a
// column the request path does not provide (engine/model SchemaCheck).
const MissingColumn = "Missing column"

func init() {
	register(&Check{ID: "logs.missing_column", Title: `"Missing column" errors in the log`,
		Help: `counts "Missing column" errors in the tail of the service log, with the column and the model version.`,
		Params: []ParamSpec{{Name: "since", Kind: KindDuration, Help: "only lines this recent (default 1h; 0 = any)"},
			{Name: "max_mb", Kind: KindNumber, Help: "read at most this many MiB from the end of the log (default 8)"}},
		Timeout: 5 * time.Second, Run: runMissingColumn})
	register(&Check{ID: "logs.rotation", Title: "Log rotation and retention",
		Help:    "size and age of the active log, the rotated files beside it, and whether retention (max_backups, max_age_days) holds.",
		Timeout: 5 * time.Second, Run: runRotation})
}

// TailBytes reads at most max bytes from the end of path, starting at a
// line boundary. It returns the bytes and the file's size.
func TailBytes(path string, max int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	off := max64(size-max, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, size, err
	}
	if off > 0 {
		// The first line is probably cut: drop it.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		} else {
			buf = nil
		}
	}
	return buf, size, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

var (
	reColumn  = regexp.MustCompile(`Missing column \\?"([^"\\]+)\\?"`)
	reTime    = regexp.MustCompile(`"?\btime"?[=:]"?([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:?[0-9]{2})?)`)
	reVersion = regexp.MustCompile(`"?\bmodel_version"?[=:]"?([A-Za-z0-9._-]+)`)
)

// LogTime finds a slog time (JSON or text handler) in a log line.
func LogTime(line string) (time.Time, bool) {
	m := reTime.FindStringSubmatch(line)
	if m == nil {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, m[1]); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

type mcHit struct {
	at      time.Time
	dated   bool
	column  string
	version string
	line    string
}

func parseMissing(line string) mcHit {
	h := mcHit{line: line}
	h.at, h.dated = LogTime(line)
	if m := reColumn.FindStringSubmatch(line); m != nil {
		h.column = m[1]
	}
	if m := reVersion.FindStringSubmatch(line); m != nil {
		h.version = m[1]
	}
	return h
}

func runMissingColumn(ctx context.Context, in Input) Result {
	env := in.Env
	sinceD := in.Params.Duration("since", time.Hour)
	maxBytes := int64(in.Params.Number("max_mb", 8) * (1 << 20))
	if maxBytes <= 0 {
		maxBytes = 8 << 20
	}
	var hits []mcHit
	var ev Evidence
	source := env.LogPath()
	data, size, err := TailBytes(source, maxBytes)
	switch {
	case err == nil:
		ev.Add("log bytes read", float64(len(data)), "bytes")
		ev.Add("log size", float64(size), "bytes")
		for len(data) > 0 {
			if ctx.Err() != nil {
				return errorf("scan %s: %v", source, ctx.Err())
			}
			i := bytes.Index(data, []byte(MissingColumn))
			if i < 0 {
				break
			}
			start := bytes.LastIndexByte(data[:i], '\n') + 1
			end := bytes.IndexByte(data[i:], '\n')
			if end < 0 {
				end = len(data)
			} else {
				end += i
			}
			hits = append(hits, parseMissing(string(data[start:end])))
			if end >= len(data) {
				break
			}
			data = data[end+1:]
		}
	case errors.Is(err, fs.ErrNotExist):
		c := env.Client()
		if !c.Capabilities().Logs {
			return Result{Verdict: Skipped, Finding: "no log file at " + source + " and the engine serves no logs"}
		}
		lines, lerr := c.Logs(ctx, engine.LogQuery{Search: MissingColumn, Limit: 1000})
		if lerr != nil {
			return errorf("no log file at %s; engine logs: %s", source, oneLine(lerr.Error()))
		}
		source = "engine log buffer"
		for _, l := range lines {
			raw := l.Raw
			if raw == "" {
				raw = l.Message
			}
			if !strings.Contains(raw, MissingColumn) {
				continue
			}
			h := parseMissing(raw)
			if !l.At.IsZero() {
				h.at, h.dated = l.At, true
			}
			if v := l.Attrs["model_version"]; v != "" {
				h.version = v
			}
			hits = append(hits, h)
		}
	default:
		return errorf("read %s: %s", source, oneLine(err.Error()))
	}
	now := env.Now()
	var recent []mcHit
	undated := 0
	for _, h := range hits {
		switch {
		case !h.dated:
			undated++
			if sinceD == 0 {
				recent = append(recent, h)
			}
		case sinceD == 0 || !h.at.Before(now.Add(-sinceD)):
			recent = append(recent, h)
		}
	}
	window := "in the log"
	if sinceD > 0 {
		window = "in the last " + sinceD.String()
	}
	ev.Add("occurrences", float64(len(recent)), "count")
	ev.Add("older or undated", float64(len(hits)-len(recent)), "count")
	if undated > 0 && sinceD > 0 {
		ev.Line(fmt.Sprintf("%d matching lines carry no time and were not counted", undated))
	}
	if len(recent) == 0 {
		return Result{Verdict: Pass, Finding: fmt.Sprintf("no %q errors %s (%s)", MissingColumn, window, source), Evidence: ev}
	}
	type agg struct {
		n    int
		last time.Time
	}
	byKey := map[[2]string]*agg{}
	var keys [][2]string
	for _, h := range recent {
		k := [2]string{h.column, h.version}
		a := byKey[k]
		if a == nil {
			a = &agg{}
			byKey[k] = a
			keys = append(keys, k)
		}
		a.n++
		if h.at.After(a.last) {
			a.last = h.at
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return byKey[keys[i]].n > byKey[keys[j]].n })
	ev.Row("column", "model", "count", "last seen")
	for _, k := range keys {
		last := "—"
		if !byKey[k].last.IsZero() {
			last = byKey[k].last.UTC().Format(time.RFC3339)
		}
		ev.Row(orNone(k[0]), ver(k[1]), fmt.Sprint(byKey[k].n), last)
	}
	for _, h := range recent[max(len(recent)-5, 0):] {
		ev.Line(h.line)
	}
	top := keys[0]
	return Result{Verdict: Fail,
		Finding:  fmt.Sprintf("%d × Missing column %q %s (model %s)", len(recent), orNone(top[0]), window, ver(top[1])),
		Evidence: ev,
		Fix: &Fix{Runbook: "api-500-missing-column", Step: "reload-config",
			Hint: "make preprocessing.drop_columns agree with the served model (or roll back), then reload the config"}}
}

// RotatedLogs lists lumberjack's rotated siblings of logPath
// (name-<timestamp>.ext, optionally .gz), newest first, at most limit
// directory entries examined.
func RotatedLogs(logPath string, limit int) ([]os.FileInfo, error) {
	dir, base := filepath.Split(logPath)
	if dir == "" {
		dir = "."
	}
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(limit)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var out []os.FileInfo
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, prefix) || !(strings.HasSuffix(n, ext) || strings.HasSuffix(n, ext+".gz")) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out = append(out, fi)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ModTime().After(out[j].ModTime()) })
	return out, nil
}

func firstLineTime(path string) (time.Time, bool) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := io.ReadFull(f, buf)
	line := buf[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return LogTime(string(line))
}

func runRotation(ctx context.Context, in Input) Result {
	env, lc := in.Env, in.Env.Config().Logging
	path := env.LogPath()
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Result{Verdict: Skipped, Finding: "no log file yet at " + path}
	}
	if err != nil {
		return errorf("stat %s: %s", path, oneLine(err.Error()))
	}
	now := env.Now()
	var ev Evidence
	ev.Add("active size", float64(st.Size()), "bytes")
	ev.Add("max size", float64(lc.MaxSizeMB)*(1<<20), "bytes")
	rotated, err := RotatedLogs(path, 10000)
	if err != nil {
		return errorf("list %s: %s", filepath.Dir(path), oneLine(err.Error()))
	}
	var total int64
	for _, r := range rotated {
		total += r.Size()
	}
	ev.Add("rotated files", float64(len(rotated)), "count")
	ev.Add("rotated bytes", float64(total), "bytes")
	ev.Row("file", "size", "modified")
	ev.Row(filepath.Base(path)+" (active)", Bytes(float64(st.Size())), st.ModTime().UTC().Format(time.RFC3339))
	for i, r := range rotated {
		if i == 10 {
			ev.Row(fmt.Sprintf("… %d more", len(rotated)-10), "", "")
			break
		}
		ev.Row(r.Name(), Bytes(float64(r.Size())), r.ModTime().UTC().Format(time.RFC3339))
	}
	fix := &Fix{Runbook: "maintenance", Step: "rotate-logs", Hint: "rotate the log now and check the logging settings"}
	var warns []string
	if limit := float64(lc.MaxSizeMB) * (1 << 20); lc.MaxSizeMB > 0 && float64(st.Size()) > 1.05*limit {
		return Result{Verdict: Fail, Finding: fmt.Sprintf("active log is %s, over max_size_mb %d: rotation is not happening",
			Bytes(float64(st.Size())), lc.MaxSizeMB), Evidence: ev, Fix: fix}
	}
	if first, ok := firstLineTime(path); ok {
		age := now.Sub(first)
		ev.Add("active log age", age.Seconds(), "s")
		if lc.DailyRotate && age > 25*time.Hour {
			warns = append(warns, fmt.Sprintf("the active log spans %s although daily_rotate is on", age.Round(time.Minute)))
		}
	}
	if lc.MaxBackups > 0 && len(rotated) > lc.MaxBackups {
		warns = append(warns, fmt.Sprintf("%d rotated files kept, max_backups is %d", len(rotated), lc.MaxBackups))
	}
	if lc.MaxAgeDays > 0 && len(rotated) > 0 {
		oldest := rotated[len(rotated)-1]
		if age := now.Sub(oldest.ModTime()); age > time.Duration(lc.MaxAgeDays+1)*24*time.Hour {
			warns = append(warns, fmt.Sprintf("%s is %d days old, max_age_days is %d", oldest.Name(), int(age.Hours()/24), lc.MaxAgeDays))
		}
	}
	if len(warns) > 0 {
		return Result{Verdict: Warn, Finding: strings.Join(warns, "; "), Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("active log %s, %d rotated files (%s), within retention",
		Bytes(float64(st.Size())), len(rotated), Bytes(float64(total))), Evidence: ev}
}
