package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one step of the schema. Steps are append-only: a released
// step is never edited, a change is a new step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema, in order. Plain tables and column names on
// purpose: people read this file with the sqlite3 CLI. No STRICT tables,
// so that older SQLite clients can open it; CHECK constraints guard the
// values instead.
var migrations = []migration{
	{1, "runs, registry and operational history", `
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('repro', 'train')),
	status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'killed')),
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
	who         TEXT NOT NULL DEFAULT '',
	data_hash   TEXT NOT NULL DEFAULT '',
	config_hash TEXT NOT NULL DEFAULT '',
	lock_hash   TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_started_at ON runs (started_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE params (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key    TEXT NOT NULL CHECK (key <> ''),
	value  TEXT NOT NULL,
	PRIMARY KEY (run_id, key)
);

CREATE TABLE metrics (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key    TEXT NOT NULL CHECK (key <> ''),
	-- NaN is stored as NULL by SQLite, so NOT NULL refuses it; the range refuses ±Inf.
	value  REAL NOT NULL CHECK (value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
	step   INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
	PRIMARY KEY (run_id, key, step)
);

CREATE TABLE artifacts (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	path   TEXT NOT NULL CHECK (path <> ''),
	sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
	bytes  INTEGER NOT NULL CHECK (bytes >= 0),
	PRIMARY KEY (run_id, path)
);

CREATE TABLE model_versions (
	version      INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id       TEXT NOT NULL REFERENCES runs (id),
	path         TEXT NOT NULL CHECK (path <> ''),
	sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
	created_at   TEXT NOT NULL,
	metrics_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics_json)),
	params_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
	schema_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(schema_json))
);
CREATE INDEX model_versions_run_id ON model_versions (run_id);

CREATE TABLE aliases (
	name       TEXT PRIMARY KEY CHECK (name <> ''),
	version    INTEGER NOT NULL REFERENCES model_versions (version),
	updated_at TEXT NOT NULL
);

CREATE TABLE events (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	at           TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind <> ''),
	actor        TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	alias        TEXT,
	from_version INTEGER,
	to_version   INTEGER,
	reason       TEXT NOT NULL DEFAULT '',
	data_json    TEXT CHECK (data_json IS NULL OR json_valid(data_json))
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_alias ON events (alias, id) WHERE alias IS NOT NULL;

CREATE TABLE alerts_history (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	rule     TEXT NOT NULL CHECK (rule <> ''),
	state    TEXT NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
	value    REAL,
	at       TEXT NOT NULL,
	severity TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_history_at ON alerts_history (at);
CREATE INDEX alerts_history_rule ON alerts_history (rule, at);

CREATE TABLE runbook_executions (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	execution_id TEXT NOT NULL CHECK (execution_id <> ''),
	runbook      TEXT NOT NULL CHECK (runbook <> ''),
	step         TEXT NOT NULL CHECK (step <> ''),
	verdict      TEXT NOT NULL CHECK (verdict IN ('pending', 'running', 'pass', 'warn', 'fail', 'skipped', 'error')),
	evidence     TEXT NOT NULL DEFAULT '',
	who          TEXT NOT NULL DEFAULT '',
	at           TEXT NOT NULL,
	duration_ms  INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0)
);
CREATE INDEX runbook_executions_execution ON runbook_executions (execution_id, id);
CREATE INDEX runbook_executions_runbook ON runbook_executions (runbook, id);

CREATE TABLE audit (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          TEXT NOT NULL,
	actor       TEXT NOT NULL DEFAULT '',
	fingerprint TEXT NOT NULL DEFAULT '',
	role        TEXT NOT NULL DEFAULT '',
	address     TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL CHECK (action <> ''),
	detail      TEXT NOT NULL DEFAULT '',
	outcome     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE predictions (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	at            TEXT NOT NULL,
	model_version TEXT NOT NULL DEFAULT '',
	status        INTEGER NOT NULL,
	latency_us    INTEGER NOT NULL CHECK (latency_us >= 0),
	features_json TEXT NOT NULL DEFAULT '{}',
	price         REAL
);
CREATE INDEX predictions_at ON predictions (at);
`},
	{2, "runs remember their process", `
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
`},
}

// latestVersion is the schema version this code writes.
func latestVersion(list []migration) int {
	if len(list) == 0 {
		return 0
	}
	return list[len(list)-1].version
}

// migrate brings the file to the latest schema. Each step runs in its own
// IMMEDIATE transaction and re-reads the version inside it, so two
// processes opening a new file at once apply each step exactly once.
func migrate(ctx context.Context, db *sql.DB, path string, list []migration, now func() time.Time) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`); err != nil {
		return classify(path, "create schema_migrations", err)
	}
	latest := latestVersion(list)
	current, err := schemaVersion(ctx, db)
	if err != nil {
		return classify(path, "read schema version", err)
	}
	if current > latest {
		return fmt.Errorf("store %s: schema version %d is newer than this carvision knows (%d); use a newer carvision or another store file: %w",
			path, current, latest, ErrSchemaTooNew)
	}
	for _, m := range list {
		if m.version <= current {
			continue
		}
		if err := applyMigration(ctx, db, m, now); err != nil {
			return fmt.Errorf("store %s: migration %d (%s): %w", path, m.version, m.name, err)
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, now func() time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current >= m.version {
		return nil // another process got there first
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, fmtTime(now())); err != nil {
		return err
	}
	// user_version mirrors the schema for tools that only look there.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version)); err != nil {
		return err
	}
	return tx.Commit()
}
