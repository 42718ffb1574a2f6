package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSetsPragmasAndCreatesFolders(t *testing.T) {
	s, _ := openTest(t)
	if _, err := os.Stat(s.Path()); err != nil {
		t.Fatalf("store file not created: %v", err)
	}
	ctx := context.Background()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", "5000"},
	}
	for _, tc := range tests {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := s.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("writer: %v", err)
			}
			if got != tc.want {
				t.Errorf("writer PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
			if err := s.r.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("reader: %v", err)
			}
			if got != tc.want {
				t.Errorf("reader PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
}

func TestReadersAreQueryOnly(t *testing.T) {
	s, _ := openTest(t)
	_, err := s.r.ExecContext(context.Background(), `INSERT INTO audit (at, action) VALUES ('x', 'y')`)
	if err == nil {
		t.Fatal("a write through the read pool succeeded; readers must be query-only")
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"empty", "", "empty path"},
		{"query char", filepath.Join(dir, "a?b.db"), "must not contain"},
		{"folder", dir, "is a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	ctx := context.Background()
	var runID string
	for i := range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := latestVersion(migrations); v != want {
			t.Errorf("open #%d: schema version %d, want %d", i+1, v, want)
		}
		if n := countRows(t, s, "schema_migrations", ""); n != len(migrations) {
			t.Errorf("open #%d: %d rows in schema_migrations, want %d", i+1, n, len(migrations))
		}
		var uv int
		if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
			t.Fatal(err)
		}
		if uv != latestVersion(migrations) {
			t.Errorf("open #%d: user_version %d", i+1, uv)
		}
		if i == 0 {
			if runID, err = s.StartRun(ctx, RunStart{Who: "a"}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.GetRun(ctx, runID); err != nil {
			t.Errorf("open #%d: run written before reopen is gone: %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A file written by the first schema is upgraded in place on open and
// keeps its rows.
func TestUpgradeFromFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Rebuild the file as migration 1 alone left it.
	os.Remove(path)
	db, err := sql.Open("sqlite", dsn(path, 5000, true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clk := newFakeClock()
	if err := migrate(ctx, db, path, migrations[:1], clk.Now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO runs (id, kind, status, started_at) VALUES ('01OLD', 'repro', 'succeeded', ?)`, fmtTime(clk.Now())); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatalf("open a version-1 file: %v", err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != latestVersion(migrations) {
		t.Errorf("schema version %d after upgrade", v)
	}
	r, err := s.GetRun(ctx, "01OLD")
	if err != nil || r.Status != RunSucceeded || r.Host != "" || r.PID != 0 {
		t.Errorf("old run after upgrade = %+v, %v", r, err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	broken := append(append([]migration{}, migrations...), migration{
		version: latestVersion(migrations) + 1,
		name:    "broken",
		sql:     `CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1);`,
	})
	err := migrate(ctx, s.w, s.Path(), broken, clk.Now)
	if err == nil {
		t.Fatal("a broken migration succeeded")
	}
	if !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error %q should name the migration and the file", err)
	}
	if v, _ := s.SchemaVersion(ctx); v != latestVersion(migrations) {
		t.Errorf("schema version moved to %d after a failed migration", v)
	}
	if n := countRows(t, s, "sqlite_master", "name = 'half_done'"); n != 0 {
		t.Error("table of the failed migration exists: the migration was not one transaction")
	}
}

func TestFutureSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	future := latestVersion(migrations) + 7
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 'x')`, future); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, fmt.Sprint(future), fmt.Sprint(latestVersion(migrations))} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// buildStore writes a store with enough rows to span many pages.
func buildStore(t *testing.T, path string) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]PredictionRow, 2000)
	for i := range rows {
		rows[i] = PredictionRow{ModelVersion: "1", Status: 200, FeaturesJSON: fmt.Appendf(nil, `{"model":"ford f-150","odometer":%d}`, i), Price: float64(i)}
	}
	if err := s.InsertPredictions(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if st, _ := os.Stat(path + "-wal"); st.Size() > 0 {
			t.Fatalf("WAL left with %d bytes after close", st.Size())
		}
	}
}

func TestCorruptFileDetected(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string)
		problem string
	}{
		{"random bytes", func(t *testing.T, path string) {
			os.WriteFile(path, randomBytes(8192), 0o644)
		}, "not a SQLite database"},
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("model_year,price\n2011,9400\n"), 0o644)
		}, "not a SQLite database"},
		{"header cut short", func(t *testing.T, path string) {
			buildStore(t, path)
			os.Truncate(path, 60)
		}, "truncated"},
		{"truncated database", func(t *testing.T, path string) {
			buildStore(t, path)
			st, _ := os.Stat(path)
			os.Truncate(path, st.Size()/2)
		}, "truncated"},
		{"garbage over the pages", func(t *testing.T, path string) {
			buildStore(t, path)
			data, _ := os.ReadFile(path)
			// Keep the header page, scramble every later page: the
			// file still looks like SQLite from the outside.
			copy(data[4096:], randomBytes(len(data)-4096))
			os.WriteFile(path, data, 0o644)
		}, "(corrupted?)"},
		{"one page scrambled", func(t *testing.T, path string) {
			buildStore(t, path)
			data, _ := os.ReadFile(path)
			// A single b-tree page in the middle: only an integrity
			// check over the pages finds it.
			mid := (len(data) / 4096 / 2) * 4096
			copy(data[mid:mid+4096], randomBytes(4096))
			os.WriteFile(path, data, 0o644)
		}, "(corrupted?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "artifacts", "carvision.db")
			os.MkdirAll(filepath.Dir(path), 0o755)
			tc.damage(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged file")
			}
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			msg := err.Error()
			for _, want := range []string{"store " + path + ": ", tc.problem, "model files are untouched", "move it aside to start a new store"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("Open changed the damaged file; it must leave it for the operator")
			}
		})
	}
}

func TestCorruptErrorMessage(t *testing.T) {
	err := &CorruptError{Path: "artifacts/carvision.db", Problem: "file is not a SQLite database"}
	want := "store artifacts/carvision.db: file is not a SQLite database (corrupted?); model files are untouched; move it aside to start a new store"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}
}

func TestEmptyFileIsANewStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("an empty file should become a new store: %v", err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(context.Background()); v != latestVersion(migrations) {
		t.Errorf("schema version %d", v)
	}
}
