package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/prep"
)

// MaxBadLines is how many located problems data.csv_schema reports.
const MaxBadLines = 3

// maxRescanBytes bounds the files data.csv_schema re-reads to find more
// than the first bad line.
const maxRescanBytes = 64 << 20

func init() {
	register(&Check{ID: "data.csv_schema", Title: "Raw CSV columns and types",
		Help:    "the raw CSV's header against the required columns, and the first lines whose values do not parse (line and column).",
		Timeout: 20 * time.Second, Run: runCSVSchema})
	register(&Check{ID: "data.filters", Title: "Rows surviving each cleaning filter",
		Help:    "applies preprocessing.filters to the raw CSV and counts the rows each filter removes; flags a filter that removes everything or more than runbooks.warn_removed_share.",
		Timeout: 20 * time.Second, Run: runFilters})
}

type loaded struct {
	frame *dataset.Frame
	size  int64
}

// loadData reads the raw CSV once per execution (memoised by path, size and
// modification time, so a replaced file is read again).
func loadData(in Input) (*dataset.Frame, int64, error) {
	path := in.Env.DataPath()
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	key := fmt.Sprintf("csv|%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	v, err := in.Memo.Get(key, func() (any, error) {
		f, err := dataset.Load(path)
		return loaded{frame: f, size: st.Size()}, err
	})
	l, _ := v.(loaded)
	return l.frame, st.Size(), err
}

func dataMissing(path string) Result {
	return Result{Verdict: Fail, Finding: "no data file at " + path,
		Fix: &Fix{Runbook: "retrain-compare", Step: "new-data", Hint: "put the raw CSV in place (paths.data_path)"}}
}

// readHeader returns the first line's column names.
func readHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(io.LimitReader(f, 1<<16), 1<<16).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	line = strings.TrimPrefix(strings.TrimRight(line, "\r\n"), "\ufeff")
	if line == "" {
		return nil, nil
	}
	parts := strings.Split(line, ",")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.Trim(strings.TrimSpace(p), `"`))
	}
	return parts, nil
}

func runCSVSchema(ctx context.Context, in Input) Result {
	path := in.Env.DataPath()
	header, err := readHeader(path)
	if errors.Is(err, fs.ErrNotExist) {
		return dataMissing(path)
	}
	if err != nil {
		return errorf("read %s: %s", path, oneLine(err.Error()))
	}
	var ev Evidence
	var unknown []string
	ev.Row("column", "required", "in file")
	for _, c := range engine.Columns {
		req := "no"
		if slices.Contains(dataset.Required, c) {
			req = "yes"
		}
		got := "yes"
		if !slices.Contains(header, c) {
			got = "MISSING"
			if req == "no" {
				got = "absent (optional)"
			}
		}
		ev.Row(c, req, got)
	}
	for _, h := range header {
		if h != "" && h != "row_id" && !slices.Contains(engine.Columns, h) {
			unknown = append(unknown, h)
			ev.Row(h, "—", "unknown (ignored)")
		}
	}
	ev.Add("columns", float64(len(header)), "count")
	frame, size, err := loadData(in)
	ev.Add("bytes", float64(size), "bytes")
	fix := &Fix{Runbook: "pipeline-clean-fails", Step: "data.csv_schema", Hint: "fix the CSV (or its export) so every required column is present and typed"}
	if err != nil {
		var de *dataset.Error
		if !errors.As(err, &de) {
			return errorf("load %s: %s", path, oneLine(err.Error()))
		}
		bad := moreBadLines(ctx, path, de)
		for _, b := range bad {
			ev.Line(fmt.Sprintf("%s line %d: %s", filepath.Base(path), b.Line, b.Msg+valueNote(b)+columnNote(b)))
		}
		ev.Add("bad lines shown", float64(len(bad)), "count")
		finding := de.Error()
		if errors.Is(de, dataset.ErrMissingColumn) {
			finding = fmt.Sprintf("required column %q is missing from %s", de.Column, filepath.Base(path))
			if len(unknown) > 0 {
				finding += fmt.Sprintf(" (the header has unknown %s: renamed?)", quoteAll(unknown))
			}
		}
		return Result{Verdict: Fail, Finding: finding, Evidence: ev, Fix: fix}
	}
	ev.Add("rows", float64(frame.Len()), "count")
	if len(unknown) > 0 {
		return Result{Verdict: Warn, Finding: fmt.Sprintf("%d rows parse, but the header has unknown %s (ignored)", frame.Len(), quoteAll(unknown)), Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("%d rows, %d columns: every required column present and every value parses", frame.Len(), len(header)), Evidence: ev}
}

func valueNote(e *dataset.Error) string {
	if e.Value == "" {
		return ""
	}
	return fmt.Sprintf(" (value %q)", e.Value)
}

func columnNote(e *dataset.Error) string {
	if e.Column == "" {
		return ""
	}
	return fmt.Sprintf(" [column %s]", e.Column)
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return plural(len(s), "column ", "columns ") + strings.Join(q, ", ")
}

// moreBadLines finds up to MaxBadLines located problems: the loader stops
// at the first, so the rest of the file (after the bad line, under the same
// header) is read again. Header problems end the search.
func moreBadLines(ctx context.Context, path string, first *dataset.Error) []*dataset.Error {
	out := []*dataset.Error{first}
	if first.Line <= 1 {
		return out
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() > maxRescanBytes {
		return out
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return out
	}
	header := data[:nl+1]
	line := first.Line
	for len(out) < MaxBadLines && ctx.Err() == nil {
		off := lineOffset(data, line) // start of the line after the bad one
		if off < 0 || off >= len(data) {
			break
		}
		_, err := dataset.Read(io.MultiReader(bytes.NewReader(header), bytes.NewReader(data[off:])), first.File)
		var de *dataset.Error
		if !errors.As(err, &de) || de.Line <= 1 || errors.Is(de, dataset.ErrNoRows) {
			break
		}
		e := *de
		e.Line = line + de.Line - 1
		out = append(out, &e)
		line = e.Line
	}
	return out
}

// lineOffset returns the byte offset where physical line n+1 starts.
func lineOffset(data []byte, n int) int {
	off := 0
	for i := 0; i < n; i++ {
		j := bytes.IndexByte(data[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j + 1
	}
	return off
}

func runFilters(ctx context.Context, in Input) Result {
	path := in.Env.DataPath()
	cfg := in.Env.Config()
	frame, _, err := loadData(in)
	if errors.Is(err, fs.ErrNotExist) {
		return dataMissing(path)
	}
	if err != nil {
		return Result{Verdict: Fail, Finding: "cannot read the data: " + oneLine(err.Error()),
			Fix: &Fix{Runbook: "pipeline-clean-fails", Step: "data.csv_schema", Hint: "fix the CSV first"}}
	}
	f := cfg.Preprocessing.Filters
	flt := prep.Filters{MinPrice: f.MinPrice, MaxPrice: f.MaxPrice, MinYear: float64(f.MinYear), MaxOdometer: f.MaxOdometer}
	_, rep, cerr := prep.Clean(frame, flt)
	var ev Evidence
	ev.Add("rows in", float64(rep.RowsIn), "count")
	ev.Add("rows out", float64(rep.RowsOut), "count")
	ev.Row("filter", "rule", "removed", "share", "remaining", "range before")
	prev := rep.RowsIn
	limit := cfg.Runbooks.WarnRemovedShare
	var heavy []string
	for _, st := range rep.Steps {
		share := 0.0
		if prev > 0 {
			share = float64(st.Removed) / float64(prev)
		}
		ev.Row(st.Filter, st.Rule, fmt.Sprint(st.Removed), pct(share), fmt.Sprint(st.Remaining), st.Range)
		if share > limit && st.Remaining > 0 {
			heavy = append(heavy, fmt.Sprintf("%s removes %s (%s)", st.Filter, pct(share), st.Rule))
		}
		prev = st.Remaining
	}
	fix := &Fix{Runbook: "pipeline-clean-fails", Step: "reload-config",
		Hint: "relax preprocessing.filters in config.yaml, then reload the config"}
	if cerr != nil {
		if len(rep.Steps) == 0 {
			return Result{Verdict: Fail, Finding: oneLine(cerr.Error()), Evidence: ev, Fix: fix}
		}
		last := rep.Steps[len(rep.Steps)-1]
		fix.Hint = fmt.Sprintf("relax preprocessing.filters.%s (the data has %s), then reload the config", last.Filter, last.Range)
		return Result{Verdict: Fail, Finding: fmt.Sprintf("filter %s removes every remaining row: %s, data %s", last.Filter, last.Rule, last.Range),
			Evidence: ev, Fix: fix}
	}
	if len(heavy) > 0 {
		return Result{Verdict: Warn, Finding: strings.Join(heavy, "; ") + fmt.Sprintf(" (> %s of its input)", pct(limit)), Evidence: ev, Fix: fix}
	}
	return Result{Verdict: Pass, Finding: fmt.Sprintf("%d of %d rows survive the filters (%s)", rep.RowsOut, rep.RowsIn,
		pct(float64(rep.RowsOut)/float64(max(rep.RowsIn, 1)))), Evidence: ev}
}
