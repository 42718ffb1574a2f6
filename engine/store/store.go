// Package store keeps CarVision's runs, model registry and operational
// history in one SQLite file (modernc.org/sqlite, pure Go).
//
// The tables are plain and meant to be read by people with the sqlite3 CLI:
// runs, params, metrics, artifacts, model_versions, aliases, events,
// alerts_history, runbook_executions, audit, predictions and
// schema_migrations. Timestamps are UTC text of fixed width
// ("2006-01-02T15:04:05.000000Z", microseconds), so they sort as text and
// read as dates. Model versions are integers shown as "1", "2", …; run IDs
// are ULID-style (26 characters, sortable by creation time).
//
// Concurrency: a Store is safe for use from many goroutines. Every write
// goes through a single connection (BEGIN IMMEDIATE), so goroutines of one
// process queue in Go instead of meeting SQLITE_BUSY; reads use a separate
// pool and run in parallel under WAL. Two processes on the same file are
// serialised by SQLite's lock with a busy timeout (default 5 s).
//
// Stale runs: a process killed during a run leaves its row 'running'.
// MarkStaleRuns turns such rows into 'killed'; each run records the host
// and pid that started it, so a run whose process is still alive on this
// host is left alone and the call is safe at any open (it is not made by
// Open itself: the caller decides when and logs the count).
package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// ErrCorrupt marks a store file that is not a usable SQLite database.
var ErrCorrupt = errors.New("store file is corrupted")

// ErrSchemaTooNew marks a store written by a newer carvision.
var ErrSchemaTooNew = errors.New("store schema is newer than this carvision")

// ErrNotFound marks a run, model version or alias that does not exist.
var ErrNotFound = errors.New("not found")

// CorruptError explains why a store file cannot be opened and what to do.
type CorruptError struct {
	Path    string
	Problem string
	Err     error // the underlying SQLite error, if any
}

// Error says what is wrong, that model files are safe, and the way out.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("store %s: %s (corrupted?); model files are untouched; move it aside to start a new store",
		e.Path, e.Problem)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying SQLite error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Options tunes Open; the zero value is what production uses.
type Options struct {
	// Clock stamps every row; nil means time.Now. Tests pass a fake clock.
	Clock func() time.Time
	// BusyTimeout is how long a write waits for another process's lock;
	// zero means 5 s.
	BusyTimeout time.Duration
	// Readers is the size of the read pool; zero means 4.
	Readers int
}

// Store is an open store file. Its methods are safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // exactly one connection: the single writer
	r    *sql.DB // read pool
	now  func() time.Time
	ids  *idGen

	// host and pid identify this process in runs it starts; alive tells
	// MarkStaleRuns whether another process on this host still exists.
	host  string
	pid   int
	alive func(pid int) bool

	mu     sync.Mutex
	active map[string]struct{} // runs this Store started and has not finished

	// failpoint lets tests break a transaction half-way; nil in production.
	failpoint func(point string) error
}

// Open opens (creating if needed) the store at path with default options.
func Open(path string) (*Store, error) {
	return OpenWith(path, Options{})
}

// OpenWith opens (creating if needed) the store at path.
//
// It creates the parent folders, refuses a file that is not a SQLite
// database or fails PRAGMA quick_check (CorruptError), refuses a schema
// newer than this code (ErrSchemaTooNew), and applies pending migrations,
// each in its own transaction.
func OpenWith(path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store %s: path must not contain '?' or '#'", path)
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.Readers <= 0 {
		opt.Readers = 4
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store %s: create folder: %w", path, err)
		}
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}

	ctx := context.Background()
	busy := opt.BusyTimeout.Milliseconds()
	w, err := sql.Open("sqlite", dsn(path, busy, true))
	if err != nil {
		return nil, fmt.Errorf("store %s: open: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	fail := func(err error) (*Store, error) {
		w.Close()
		return nil, err
	}
	if err := w.PingContext(ctx); err != nil {
		return fail(classify(path, "open", err))
	}
	if err := quickCheck(ctx, w, path); err != nil {
		return fail(err)
	}
	if err := migrate(ctx, w, path, migrations, opt.Clock); err != nil {
		return fail(err)
	}

	r, err := sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		return fail(fmt.Errorf("store %s: open readers: %w", path, err))
	}
	r.SetMaxOpenConns(opt.Readers)
	r.SetMaxIdleConns(opt.Readers)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return fail(classify(path, "open readers", err))
	}
	return &Store{
		path:   path,
		w:      w,
		r:      r,
		now:    opt.Clock,
		ids:    newIDGen(opt.Clock),
		host:   hostname(),
		pid:    os.Getpid(),
		alive:  processAlive,
		active: map[string]struct{}{},
	}, nil
}

// dsn builds the connection string. The writer sets the persistent WAL mode
// and takes write locks up front (BEGIN IMMEDIATE) so that a transaction
// never fails half-way on a lock upgrade; readers are query-only.
func dsn(path string, busyMS int64, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// 512 KiB of page cache per connection instead of SQLite's 2 MiB: the
	// store's hot pages are few (the tail of the prediction log, the small
	// registry tables) and the OS caches the file anyway, while five
	// connections each filling 2 MiB as the log grows made a serving
	// process's RSS creep for its first hour.
	q.Add("_pragma", "cache_size(-512)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// Close closes the store. Runs still open stay 'running' until MarkStaleRuns.
func (s *Store) Close() error {
	errR := s.r.Close()
	errW := s.w.Close()
	if err := errors.Join(errW, errR); err != nil {
		return fmt.Errorf("store %s: close: %w", s.path, err)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// SchemaVersion is the highest migration applied to the file.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store %s: schema version: %w", s.path, err)
	}
	return v, nil
}

const sqliteMagic = "SQLite format 3\x00"

// checkHeader looks at the first bytes before SQLite does, so that a file
// that is not a database (or was cut short) gets a plain explanation
// instead of "file is not a database (26)" at an arbitrary later query.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("store %s: is a folder, not a file", path)
	}
	if st.Size() == 0 {
		return nil // SQLite treats an empty file as an empty database
	}
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("store %s: read header: %w", path, err)
	}
	if n < len(sqliteMagic) || !bytes.Equal(hdr[:len(sqliteMagic)], []byte(sqliteMagic)) {
		return &CorruptError{Path: path, Problem: "file is not a SQLite database"}
	}
	if n < 100 {
		return &CorruptError{Path: path, Problem: fmt.Sprintf("file is truncated: %d bytes, shorter than the 100-byte header", st.Size())}
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(hdr[28:32]))
	changeCounter := binary.BigEndian.Uint32(hdr[24:28])
	validFor := binary.BigEndian.Uint32(hdr[92:96])
	// The page count in the header is only trustworthy when it was written
	// with the current change counter. A WAL with content may legitimately
	// hold pages beyond the main file's end (a checkpoint cut short), so
	// only a file without one is judged by its size.
	if changeCounter == validFor && pages > 0 && st.Size() < pages*pageSize && !hasWAL(path) {
		return &CorruptError{Path: path, Problem: fmt.Sprintf("file is truncated: %d bytes, header says %d", st.Size(), pages*pageSize)}
	}
	return nil
}

func hasWAL(path string) bool {
	st, err := os.Stat(path + "-wal")
	return err == nil && st.Size() > 0
}

// quickCheck runs PRAGMA quick_check (O(file size), no index cross-check).
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return classify(path, "quick_check", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return classify(path, "quick_check", err)
		}
		if line != "ok" && len(problems) < 3 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(path, "quick_check", err)
	}
	if len(problems) > 0 {
		return &CorruptError{Path: path, Problem: "integrity check failed: " + strings.Join(problems, "; ")}
	}
	return nil
}

// SQLite primary result codes that mean the file itself is bad.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// classify turns SQLite's corruption codes into a CorruptError and wraps
// anything else with the file and the step.
func classify(path, step string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteNotADB:
			return &CorruptError{Path: path, Problem: "file is not a SQLite database", Err: err}
		case sqliteCorrupt:
			return &CorruptError{Path: path, Problem: "database disk image is malformed", Err: err}
		}
	}
	return fmt.Errorf("store %s: %s: %w", path, step, err)
}

// write runs fn in one write transaction on the single writer connection.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(s.path, "begin", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, classify(s.path, "commit", err))
	}
	return nil
}

func (s *Store) fail(point string) error {
	if s.failpoint == nil {
		return nil
	}
	return s.failpoint(point)
}

// timeLayout is fixed-width UTC so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		// Rows written by hand in the sqlite3 CLI may use RFC 3339.
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// stamp returns t, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// sinceArg turns a zero time into the earliest possible timestamp.
func sinceArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtTime(t)
}

// limitArg applies the default page size.
func limitArg(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}
