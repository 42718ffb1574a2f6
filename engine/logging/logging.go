// Package logging sets up the service log: slog lines (JSON or text) to
// stdout and to a rotated file (lumberjack: by size, plus daily through a
// timer), a bounded in-memory ring of recent records for the console's Logs
// page, and a bounded scan of the file for the runbook's checks.
package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"carvision/engine"
)

// Clock is the time source of the daily rotation (a fake in tests).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configures Setup. Zero values take the defaults noted.
type Options struct {
	Level      string // debug | info (default) | warn | error
	Format     string // json (default) | text
	File       string // e.g. logs/carvision.log; "" logs to stdout only
	MaxSizeMB  int    // rotate when a write would pass this size (default 100)
	MaxBackups int    // rotated files kept (0: all)
	MaxAgeDays int    // rotated files older than this are removed (0: never)
	Compress   bool   // gzip rotated files
	// DailyRotate rotates at local midnight, on top of the size rule
	// (lumberjack has no time-based rotation).
	DailyRotate bool
	Stdout      io.Writer // default os.Stdout; io.Discard silences it
	RingSize    int       // recent records kept for Recent (default 2000)
	// FlushInterval batches writes: lines are buffered and written at
	// least this often (default 200 ms), and at once for ERROR records, so a
	// busy server does not pay two write syscalls per request. Negative:
	// every line is written synchronously.
	FlushInterval time.Duration
	AddSource     bool
	Clock         Clock // nil: the real clock
}

// Rotator owns the log outputs: it rotates the file, flushes buffered lines,
// and keeps the ring of recent records. Close it at exit.
type Rotator struct {
	opt   Options
	clock Clock
	level *slog.LevelVar
	file  *lumberjack.Logger // nil without a file
	out   *bufWriter
	ring  *ring

	renderMu  sync.Mutex
	renderBuf bytes.Buffer

	lastRotate atomic.Pointer[time.Time]
	nextRotate atomic.Pointer[time.Time]
	stop       chan struct{}
	wg         sync.WaitGroup
	closeOnce  sync.Once
}

// ParseLevel reads debug | info | warn | warning | error (any case).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// Setup builds the logger and its Rotator.
func Setup(opt Options) (*slog.Logger, *Rotator, error) {
	lvl, err := ParseLevel(opt.Level)
	if err != nil {
		return nil, nil, fmt.Errorf("logging: %w", err)
	}
	format := strings.ToLower(opt.Format)
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "text" {
		return nil, nil, fmt.Errorf("logging: format %q: want json or text", opt.Format)
	}
	opt.Format = format
	if opt.MaxSizeMB <= 0 {
		opt.MaxSizeMB = 100
	}
	if opt.MaxBackups < 0 || opt.MaxAgeDays < 0 {
		return nil, nil, fmt.Errorf("logging: max_backups and max_age_days must be >= 0")
	}
	if opt.RingSize <= 0 {
		opt.RingSize = 2000
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = 200 * time.Millisecond
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	r := &Rotator{opt: opt, clock: opt.Clock, level: new(slog.LevelVar), ring: newRing(opt.RingSize), stop: make(chan struct{})}
	if r.clock == nil {
		r.clock = realClock{}
	}
	r.level.Set(lvl)
	outs := []io.Writer{opt.Stdout}
	if opt.File != "" {
		if err := os.MkdirAll(filepath.Dir(opt.File), 0o755); err != nil {
			return nil, nil, fmt.Errorf("logging: create log directory: %w", err)
		}
		// lumberjack opens lazily; open once now so a bad path fails here,
		// not silently at the first line.
		f, err := os.OpenFile(opt.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("logging: open %s: %w", opt.File, err)
		}
		f.Close()
		r.file = &lumberjack.Logger{Filename: opt.File, MaxSize: opt.MaxSizeMB, MaxBackups: opt.MaxBackups,
			MaxAge: opt.MaxAgeDays, Compress: opt.Compress, LocalTime: true}
		outs = append(outs, r.file)
	}
	r.out = &bufWriter{outs: outs, buffered: opt.FlushInterval > 0}
	hopt := &slog.HandlerOptions{Level: r.level, AddSource: opt.AddSource}
	mk := func(w io.Writer) slog.Handler {
		if format == "text" {
			return slog.NewTextHandler(w, hopt)
		}
		return slog.NewJSONHandler(w, hopt)
	}
	h := &teeHandler{inner: mk(r.out), render: mk(&r.renderBuf), r: r}
	if opt.FlushInterval > 0 {
		r.wg.Add(1)
		go r.flushLoop()
	}
	if opt.DailyRotate && r.file != nil {
		r.wg.Add(1)
		go r.dailyLoop()
	}
	return slog.New(h), r, nil
}

// Level is the live level; SetLevel changes it at run time.
func (r *Rotator) Level() *slog.LevelVar { return r.level }

// SetLevel changes the minimum level (config reload).
func (r *Rotator) SetLevel(s string) error {
	l, err := ParseLevel(s)
	if err != nil {
		return err
	}
	r.level.Set(l)
	return nil
}

// Path is the active log file ("" without one).
func (r *Rotator) Path() string { return r.opt.File }

// Flush writes buffered lines now.
func (r *Rotator) Flush() error { return r.out.Flush() }

// Rotate closes the active file, renames it to a timestamped backup and
// starts a new one (also applying retention). Without a file it only flushes.
func (r *Rotator) Rotate() error {
	if r.file == nil {
		return r.out.Flush()
	}
	r.out.mu.Lock() // no line may land between the flush and the rename
	defer r.out.mu.Unlock()
	if err := r.out.flushLocked(); err != nil {
		return fmt.Errorf("logging: flush before rotate: %w", err)
	}
	if err := r.file.Rotate(); err != nil {
		return fmt.Errorf("logging: rotate %s: %w", r.opt.File, err)
	}
	now := r.clock.Now()
	r.lastRotate.Store(&now)
	return nil
}

// Close stops the timers, flushes and closes the file.
func (r *Rotator) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.stop)
		r.wg.Wait()
		err = r.out.Flush()
		if r.file != nil {
			if cerr := r.file.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	})
	return err
}

func (r *Rotator) flushLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			_ = r.out.Flush()
		}
	}
}

// nextMidnight is the next local midnight strictly after now.
func nextMidnight(now time.Time) time.Time {
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, now.Location())
}

func (r *Rotator) dailyLoop() {
	defer r.wg.Done()
	for {
		now := r.clock.Now()
		next := nextMidnight(now)
		r.nextRotate.Store(&next)
		select {
		case <-r.stop:
			return
		case <-r.clock.After(next.Sub(now)):
		}
		if st, err := os.Stat(r.opt.File); err == nil && st.Size() == 0 && r.out.pending() == 0 {
			continue // nothing logged since the last rotation: no empty backup
		}
		if err := r.Rotate(); err != nil {
			fmt.Fprintf(r.opt.Stdout, "logging: daily rotation failed: %v\n", err)
		}
	}
}

// bufWriter fans lines out to stdout and the file, buffering between
// flushes. A failing output does not stop the others.
type bufWriter struct {
	mu       sync.Mutex
	outs     []io.Writer
	buffered bool
	buf      []byte
	errs     atomic.Int64
	lastErr  atomic.Pointer[string]
}

const flushAt = 64 << 10

func (w *bufWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.buffered {
		w.writeAll(p)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= flushAt {
		_ = w.flushLocked()
	}
	return len(p), nil
}

func (w *bufWriter) writeAll(p []byte) error {
	var first error
	for _, o := range w.outs {
		if _, err := o.Write(p); err != nil {
			w.errs.Add(1)
			msg := err.Error()
			w.lastErr.Store(&msg)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func (w *bufWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *bufWriter) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.writeAll(w.buf)
	if cap(w.buf) > 4*flushAt {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return err
}

func (w *bufWriter) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// teeHandler writes through inner and keeps each record in the ring, with
// a twin handler (same attrs and groups) to render it again on demand.
type teeHandler struct {
	inner  slog.Handler
	render slog.Handler
	r      *Rotator
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	err := h.inner.Handle(ctx, rec)
	h.r.ring.add(entry{rec: rec.Clone(), render: h.render})
	if rec.Level >= slog.LevelError {
		_ = h.r.out.Flush()
	}
	return err
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &teeHandler{inner: h.inner.WithAttrs(as), render: h.render.WithAttrs(as), r: h.r}
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{inner: h.inner.WithGroup(name), render: h.render.WithGroup(name), r: h.r}
}

type entry struct {
	rec    slog.Record
	render slog.Handler
}

// ring is a bounded FIFO of recent records.
type ring struct {
	mu   sync.Mutex
	buf  []entry
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]entry, n)} }

func (g *ring) add(e entry) {
	g.mu.Lock()
	g.buf[g.next] = e
	g.next++
	if g.next == len(g.buf) {
		g.next, g.full = 0, true
	}
	g.mu.Unlock()
}

// newestFirst copies the entries, newest first.
func (g *ring) newestFirst() []entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.next
	if g.full {
		n = len(g.buf)
	}
	out := make([]entry, 0, n)
	for i, j := 0, g.next-1; i < n; i, j = i+1, j-1 {
		if j < 0 {
			j = len(g.buf) - 1
		}
		out = append(out, g.buf[j])
	}
	return out
}

// Recent returns the ring's records at or above q.Level whose line contains
// q.Search (case-insensitive), newest first, at most q.Limit (default 200).
func (r *Rotator) Recent(q engine.LogQuery) []engine.LogLine {
	min := slog.LevelDebug
	if q.Level != "" {
		if l, err := ParseLevel(q.Level); err == nil {
			min = l
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	search := strings.ToLower(q.Search)
	var out []engine.LogLine
	for _, e := range r.ring.newestFirst() {
		if e.rec.Level < min {
			continue
		}
		raw := r.renderEntry(e)
		if search != "" && !strings.Contains(strings.ToLower(raw), search) {
			continue
		}
		out = append(out, ParseLine(raw))
		if len(out) == limit {
			break
		}
	}
	return out
}

func (r *Rotator) renderEntry(e entry) string {
	r.renderMu.Lock()
	defer r.renderMu.Unlock()
	r.renderBuf.Reset()
	_ = e.render.Handle(context.Background(), e.rec)
	return strings.TrimRight(r.renderBuf.String(), "\n")
}

// BackupFile is one rotated log file.
type BackupFile struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// FileInfo is what the runbook's logs.rotation check reads.
type FileInfo struct {
	Path        string       `json:"path"`
	Exists      bool         `json:"exists"`
	Size        int64        `json:"size"`
	ModTime     time.Time    `json:"mod_time"`
	Backups     []BackupFile `json:"backups"` // oldest first
	MaxSizeMB   int          `json:"max_size_mb"`
	MaxBackups  int          `json:"max_backups"`
	MaxAgeDays  int          `json:"max_age_days"`
	Compress    bool         `json:"compress"`
	DailyRotate bool         `json:"daily_rotate"`
	LastRotate  time.Time    `json:"last_rotate,omitempty"` // by this process
	NextRotate  time.Time    `json:"next_rotate,omitempty"`
	WriteErrors int64        `json:"write_errors"`
	LastError   string       `json:"last_error,omitempty"`
}

// ErrNoFile is returned by Info when logging goes to stdout only.
var ErrNoFile = errors.New("logging: no log file configured")

// Info describes the active file and its rotated backups.
func (r *Rotator) Info() (FileInfo, error) {
	fi := FileInfo{Path: r.opt.File, MaxSizeMB: r.opt.MaxSizeMB, MaxBackups: r.opt.MaxBackups,
		MaxAgeDays: r.opt.MaxAgeDays, Compress: r.opt.Compress, DailyRotate: r.opt.DailyRotate,
		WriteErrors: r.out.errs.Load()}
	if p := r.out.lastErr.Load(); p != nil {
		fi.LastError = *p
	}
	if t := r.lastRotate.Load(); t != nil {
		fi.LastRotate = *t
	}
	if t := r.nextRotate.Load(); t != nil {
		fi.NextRotate = *t
	}
	if r.opt.File == "" {
		return fi, ErrNoFile
	}
	st, err := os.Stat(r.opt.File)
	switch {
	case err == nil:
		fi.Exists, fi.Size, fi.ModTime = true, st.Size(), st.ModTime()
	case !errors.Is(err, os.ErrNotExist):
		return fi, fmt.Errorf("logging: stat %s: %w", r.opt.File, err)
	}
	b, err := Backups(r.opt.File)
	fi.Backups = b
	return fi, err
}

// Backups lists lumberjack's rotated files of path
// (name-2006-01-02T15-04-05.000.ext, optionally .gz), oldest first.
func Backups(path string) ([]BackupFile, error) {
	dir := filepath.Dir(path)
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("logging: list %s: %w", dir, err)
	}
	var out []BackupFile
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, prefix) {
			continue
		}
		stamp := strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), ext)[len(prefix):]
		if _, err := time.Parse("2006-01-02T15-04-05.000", stamp); err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, BackupFile{Name: n, Size: info.Size(), ModTime: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
