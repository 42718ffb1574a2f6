package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"carvision/engine"
)

// Well-known aliases.
const (
	AliasChampion   = "champion"
	AliasChallenger = "challenger"
)

// ErrAliasUnchanged is returned when an alias already points to the version.
var ErrAliasUnchanged = errors.New("alias already points to that version")

// ErrNoPrevious is returned by Rollback when there is nothing to go back to.
var ErrNoPrevious = errors.New("no previous version to roll back to")

// Move says who moves an alias and why; it becomes the event's actor and reason.
type Move struct {
	Actor  string
	Reason string
}

// NewModel is a model version to register.
type NewModel struct {
	RunID      string
	Path       string
	SHA256     string
	Metrics    map[string]float64
	Params     map[string]string
	SchemaJSON string // the model's feature schema as JSON; empty means {}
	// Alias, when not empty, is pointed at the new version in the same
	// transaction (a repro uses "challenger").
	Alias string
	Move  Move
}

// ModelVersion is one registered model version with the aliases on it.
type ModelVersion struct {
	Version    string             `json:"version"`
	RunID      string             `json:"run_id"`
	Path       string             `json:"path"`
	SHA256     string             `json:"sha256"`
	CreatedAt  time.Time          `json:"created_at"`
	Metrics    map[string]float64 `json:"metrics"`
	Params     map[string]string  `json:"params"`
	SchemaJSON json.RawMessage    `json:"schema"`
	Aliases    []string           `json:"aliases"`
}

// Engine converts to the shared type the console and the API show.
func (m ModelVersion) Engine() engine.ModelVersion {
	return engine.ModelVersion{
		Version:   m.Version,
		RunID:     m.RunID,
		Path:      m.Path,
		Aliases:   m.Aliases,
		CreatedAt: m.CreatedAt,
		Metrics:   m.Metrics,
		Params:    m.Params,
	}
}

func (m NewModel) validate() error {
	switch {
	case m.RunID == "":
		return errors.New("empty run id")
	case m.Path == "":
		return errors.New("empty path")
	case !isSHA256(m.SHA256):
		return fmt.Errorf("sha256 %q is not 64 hex digits", m.SHA256)
	case m.SchemaJSON != "" && !json.Valid([]byte(m.SchemaJSON)):
		return errors.New("schema is not valid JSON")
	}
	for k, v := range m.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metric %q: value %v is not finite", k, v)
		}
	}
	return nil
}

// ParseVersion reads "3" or "v3" as version 3.
func ParseVersion(v string) (int64, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("model version %q: want a positive number such as 3", v)
	}
	return n, nil
}

func versionString(n int64) string { return strconv.FormatInt(n, 10) }

// RegisterModel records a new model version (and moves m.Alias to it, if
// set) in one transaction and returns the version, "1", "2", …
// The run must exist and must not have failed or been killed.
func (s *Store) RegisterModel(ctx context.Context, m NewModel) (string, error) {
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("register model: %w", err)
	}
	var v string
	err := s.write(ctx, "register model", func(tx *sql.Tx) error {
		var err error
		v, err = s.registerTx(ctx, tx, m)
		return err
	})
	return v, err
}

func (s *Store) registerTx(ctx context.Context, tx *sql.Tx, m NewModel) (string, error) {
	var status RunStatus
	err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, m.RunID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("run %s: %w", m.RunID, ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	if status == RunFailed || status == RunKilled {
		return "", fmt.Errorf("run %s is %s: a model is only registered from a live or succeeded run", m.RunID, status)
	}
	metrics, err := json.Marshal(nonNilF(m.Metrics))
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	params, err := json.Marshal(nonNilS(m.Params))
	if err != nil {
		return "", fmt.Errorf("params: %w", err)
	}
	schema := m.SchemaJSON
	if schema == "" {
		schema = "{}"
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO model_versions (run_id, path, sha256, created_at, metrics_json, params_json, schema_json)
VALUES (?, ?, ?, ?, ?, ?, ?)`, m.RunID, m.Path, strings.ToLower(m.SHA256), fmtTime(s.now()), string(metrics), string(params), schema)
	if err != nil {
		return "", err
	}
	n, err := res.LastInsertId()
	if err != nil {
		return "", err
	}
	if _, err := insertEvent(ctx, tx, Event{
		At: s.now(), Kind: EventRegister, Actor: m.Move.Actor, Reason: m.Move.Reason,
		ToVersion: versionString(n),
		Message:   fmt.Sprintf("registered version %d from run %s", n, m.RunID),
	}); err != nil {
		return "", err
	}
	if m.Alias != "" {
		if err := s.setAliasTx(ctx, tx, m.Alias, n, m.Move, aliasKind(m.Alias)); err != nil {
			return "", err
		}
	}
	return versionString(n), nil
}

func nonNilF(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

func nonNilS(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

const versionColumns = `version, run_id, path, sha256, created_at, metrics_json, params_json, schema_json`

func scanVersion(sc scanner) (ModelVersion, error) {
	var mv ModelVersion
	var n int64
	var created, metrics, params, schema string
	if err := sc.Scan(&n, &mv.RunID, &mv.Path, &mv.SHA256, &created, &metrics, &params, &schema); err != nil {
		return ModelVersion{}, err
	}
	mv.SchemaJSON = json.RawMessage(schema)
	mv.Version = versionString(n)
	var err error
	if mv.CreatedAt, err = parseTime(created); err != nil {
		return ModelVersion{}, fmt.Errorf("version %d created_at: %w", n, err)
	}
	if err := json.Unmarshal([]byte(metrics), &mv.Metrics); err != nil {
		return ModelVersion{}, fmt.Errorf("version %d metrics_json: %w", n, err)
	}
	if err := json.Unmarshal([]byte(params), &mv.Params); err != nil {
		return ModelVersion{}, fmt.Errorf("version %d params_json: %w", n, err)
	}
	mv.Aliases = []string{}
	return mv, nil
}

// aliasesByVersion maps version → alias names (sorted).
func (s *Store) aliasesByVersion(ctx context.Context) (map[string][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, version FROM aliases ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, err
		}
		out[versionString(v)] = append(out[versionString(v)], name)
	}
	return out, rows.Err()
}

// ModelVersions returns every registered version, newest first.
func (s *Store) ModelVersions(ctx context.Context) ([]ModelVersion, error) {
	aliases, err := s.aliasesByVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+versionColumns+` FROM model_versions ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	defer rows.Close()
	var out []ModelVersion
	for rows.Next() {
		mv, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("model versions: %w", err)
		}
		if a := aliases[mv.Version]; a != nil {
			mv.Aliases = a
		}
		out = append(out, mv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	return out, nil
}

// ModelVersion returns one version ("3" or "v3"); ErrNotFound if absent.
func (s *Store) ModelVersion(ctx context.Context, version string) (ModelVersion, error) {
	n, err := ParseVersion(version)
	if err != nil {
		return ModelVersion{}, err
	}
	mv, err := scanVersion(s.r.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM model_versions WHERE version = ?`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return ModelVersion{}, fmt.Errorf("model version %d: %w", n, ErrNotFound)
	}
	if err != nil {
		return ModelVersion{}, fmt.Errorf("model version %d: %w", n, err)
	}
	aliases, err := s.aliasesByVersion(ctx)
	if err != nil {
		return ModelVersion{}, fmt.Errorf("model version %d: %w", n, err)
	}
	if a := aliases[mv.Version]; a != nil {
		mv.Aliases = a
	}
	return mv, nil
}

// aliasKind is the event kind of a plain alias move.
func aliasKind(alias string) string {
	if alias == AliasChampion {
		return EventPromote
	}
	return EventAlias
}

// SetAlias points alias at version and records who moved it, from where
// and why, in the same transaction. Moving the champion is a "promote"
// event, any other alias an "alias" event. The gate is the caller's job.
func (s *Store) SetAlias(ctx context.Context, alias, version string, mv Move) error {
	if alias == "" {
		return errors.New("set alias: empty alias name")
	}
	n, err := ParseVersion(version)
	if err != nil {
		return fmt.Errorf("set alias %s: %w", alias, err)
	}
	return s.write(ctx, "set alias "+alias, func(tx *sql.Tx) error {
		return s.setAliasTx(ctx, tx, alias, n, mv, aliasKind(alias))
	})
}

func (s *Store) setAliasTx(ctx context.Context, tx *sql.Tx, alias string, to int64, mv Move, kind string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM model_versions WHERE version = ?`, to).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("model version %d: %w", to, ErrNotFound)
	}
	if err != nil {
		return err
	}
	from, err := aliasTx(ctx, tx, alias)
	if err != nil {
		return err
	}
	if from.Valid && from.Int64 == to {
		return fmt.Errorf("alias %s is already version %d: %w", alias, to, ErrAliasUnchanged)
	}
	at := s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (name, version, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`, alias, to, fmtTime(at)); err != nil {
		return err
	}
	ev := Event{At: at, Kind: kind, Actor: mv.Actor, Reason: mv.Reason, Alias: alias, ToVersion: versionString(to)}
	fromText := "none"
	if from.Valid {
		ev.FromVersion = versionString(from.Int64)
		fromText = ev.FromVersion
	}
	ev.Message = fmt.Sprintf("%s: %s → %d", alias, fromText, to)
	if kind == EventRollback {
		ev.Message += " (rollback)"
	}
	if _, err = insertEvent(ctx, tx, ev); err != nil || alias != AliasChampion {
		return err
	}
	// A challenger that becomes champion is no longer challenging anything;
	// leaving the alias would show one version as both.
	res, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE name = ? AND version = ?`, AliasChallenger, to)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		_, err = insertEvent(ctx, tx, Event{At: at, Kind: EventAlias, Actor: mv.Actor, Reason: mv.Reason, Alias: AliasChallenger,
			FromVersion: versionString(to), Message: fmt.Sprintf("%s: %d → none (now the champion)", AliasChallenger, to)})
	}
	return err
}

func aliasTx(ctx context.Context, tx *sql.Tx, alias string) (sql.NullInt64, error) {
	var v sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT version FROM aliases WHERE name = ?`, alias).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.NullInt64{}, nil
	}
	return v, err
}

// Alias returns the version an alias points to; ok is false when unset.
func (s *Store) Alias(ctx context.Context, name string) (string, bool, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM aliases WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("alias %s: %w", name, err)
	}
	return versionString(v), true, nil
}

// Aliases returns every alias and its version.
func (s *Store) Aliases(ctx context.Context) (map[string]string, error) {
	byVersion, err := s.aliasesByVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("aliases: %w", err)
	}
	out := map[string]string{}
	for v, names := range byVersion {
		for _, n := range names {
			out[n] = v
		}
	}
	return out, nil
}

// AliasHistory returns every move of one alias, oldest first.
func (s *Store) AliasHistory(ctx context.Context, alias string) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE alias = ? ORDER BY id`, alias)
	if err != nil {
		return nil, fmt.Errorf("alias history %s: %w", alias, err)
	}
	return collectEvents(rows, "alias history "+alias)
}

// Rollback moves alias back to the version it pointed to before the
// current one, and returns that version. Rollbacks unwind: after
// 1 → 2 → 3, rollback goes to 2, a second one to 1, and a third fails
// with ErrNoPrevious (rather than bouncing between 3 and 2).
func (s *Store) Rollback(ctx context.Context, alias string, mv Move) (string, error) {
	var target int64
	err := s.write(ctx, "rollback "+alias, func(tx *sql.Tx) error {
		cur, err := aliasTx(ctx, tx, alias)
		if err != nil {
			return err
		}
		if !cur.Valid {
			return fmt.Errorf("alias %s is not set: %w", alias, ErrNotFound)
		}
		stack, err := aliasStack(ctx, tx, alias)
		if err != nil {
			return err
		}
		if len(stack) == 0 || stack[len(stack)-1] != cur.Int64 {
			stack = append(stack, cur.Int64) // moved by hand outside the event log
		}
		if len(stack) < 2 {
			return fmt.Errorf("alias %s at version %d: %w", alias, cur.Int64, ErrNoPrevious)
		}
		target = stack[len(stack)-2]
		return s.setAliasTx(ctx, tx, alias, target, mv, EventRollback)
	})
	if err != nil {
		return "", err
	}
	return versionString(target), nil
}

// aliasStack replays an alias's moves: a move pushes its target, a
// rollback pops. The top is the current version, the one below it is
// where a rollback goes.
func aliasStack(ctx context.Context, tx *sql.Tx, alias string) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT kind, to_version FROM events WHERE alias = ? AND to_version IS NOT NULL ORDER BY id`, alias)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stack []int64
	for rows.Next() {
		var kind string
		var to int64
		if err := rows.Scan(&kind, &to); err != nil {
			return nil, err
		}
		if kind == EventRollback && len(stack) > 0 {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 || stack[len(stack)-1] != to {
			stack = append(stack, to)
		}
	}
	return stack, rows.Err()
}
