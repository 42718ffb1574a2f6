package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"carvision/engine"
)

// Event kinds the store writes itself; callers add their own (retrain,
// reload, config, alert, session, runbook).
const (
	EventRegister = "register" // a model version was registered
	EventPromote  = "promote"  // the champion alias moved forward
	EventAlias    = "alias"    // another alias moved
	EventRollback = "rollback" // an alias moved back
)

// Event is one row of the event log. FromVersion and ToVersion are empty
// when the event is not about a model version.
type Event struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Kind        string          `json:"kind"`
	Actor       string          `json:"actor,omitempty"`
	Message     string          `json:"message"`
	Alias       string          `json:"alias,omitempty"`
	FromVersion string          `json:"from_version,omitempty"`
	ToVersion   string          `json:"to_version,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	DataJSON    json.RawMessage `json:"data,omitempty"`
}

// Engine converts to the shared type the console shows.
func (e Event) Engine() engine.Event {
	return engine.Event{At: e.At, Kind: e.Kind, Actor: e.Actor, Message: e.Message}
}

func nullVersion(v string) (sql.NullInt64, error) {
	if v == "" {
		return sql.NullInt64{}, nil
	}
	n, err := ParseVersion(v)
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: n, Valid: true}, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, e Event) (int64, error) {
	if e.Kind == "" {
		return 0, errors.New("event: empty kind")
	}
	from, err := nullVersion(e.FromVersion)
	if err != nil {
		return 0, fmt.Errorf("event from_version: %w", err)
	}
	to, err := nullVersion(e.ToVersion)
	if err != nil {
		return 0, fmt.Errorf("event to_version: %w", err)
	}
	var data sql.NullString
	if len(e.DataJSON) > 0 {
		if !json.Valid(e.DataJSON) {
			return 0, errors.New("event data: not valid JSON")
		}
		data = sql.NullString{String: string(e.DataJSON), Valid: true}
	}
	var alias sql.NullString
	if e.Alias != "" {
		alias = sql.NullString{String: e.Alias, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (at, kind, actor, message, alias, from_version, to_version, reason, data_json)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmtTime(e.At), e.Kind, e.Actor, e.Message, alias, from, to, e.Reason, data)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AddEvent appends an event (At zero means now) and returns its id.
func (s *Store) AddEvent(ctx context.Context, e Event) (int64, error) {
	e.At = s.stamp(e.At)
	var id int64
	err := s.write(ctx, "add event", func(tx *sql.Tx) error {
		var err error
		id, err = insertEvent(ctx, tx, e)
		return err
	})
	return id, err
}

const eventColumns = `id, at, kind, actor, message, alias, from_version, to_version, reason, data_json`

func collectEvents(rows *sql.Rows, what string) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at string
		var alias, data sql.NullString
		var from, to sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Actor, &e.Message, &alias, &from, &to, &e.Reason, &data); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		var err error
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("%s: event %d: %w", what, e.ID, err)
		}
		e.Alias = alias.String
		if data.Valid {
			e.DataJSON = json.RawMessage(data.String)
		}
		if from.Valid {
			e.FromVersion = versionString(from.Int64)
		}
		if to.Valid {
			e.ToVersion = versionString(to.Int64)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Events returns events at or after since (zero: all), newest first
// (limit <= 0 means 100).
func (s *Store) Events(ctx context.Context, since time.Time, limit int) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE at >= ? ORDER BY id DESC LIMIT ?`,
		sinceArg(since), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return collectEvents(rows, "events")
}

// Alert states as the alerts_history table stores them.
const (
	AlertInactive = "inactive"
	AlertPending  = "pending"
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// AlertRecord is one alert state change. Value is NaN when the monitored
// value was not a number (stored as NULL).
type AlertRecord struct {
	ID       int64     `json:"id"`
	Rule     string    `json:"rule"`
	State    string    `json:"state"`
	Value    float64   `json:"value"`
	Severity string    `json:"severity"`
	At       time.Time `json:"at"`
}

// RecordAlert appends an alert state change (At zero means now).
func (s *Store) RecordAlert(ctx context.Context, a AlertRecord) error {
	if a.Rule == "" {
		return errors.New("record alert: empty rule")
	}
	switch a.State {
	case AlertInactive, AlertPending, AlertFiring, AlertResolved:
	default:
		return fmt.Errorf("record alert %s: state %q: want inactive, pending, firing or resolved", a.Rule, a.State)
	}
	var v sql.NullFloat64
	if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
		v = sql.NullFloat64{Float64: a.Value, Valid: true}
	}
	at := s.stamp(a.At)
	return s.write(ctx, "record alert "+a.Rule, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO alerts_history (rule, state, value, at, severity) VALUES (?, ?, ?, ?, ?)`,
			a.Rule, a.State, v, fmtTime(at), a.Severity)
		return err
	})
}

// AlertHistory returns alert state changes at or after since, newest
// first; rule "" means every rule (limit <= 0 means 100).
func (s *Store) AlertHistory(ctx context.Context, rule string, since time.Time, limit int) ([]AlertRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, rule, state, value, at, severity FROM alerts_history
WHERE (? = '' OR rule = ?) AND at >= ? ORDER BY id DESC LIMIT ?`, rule, rule, sinceArg(since), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	defer rows.Close()
	var out []AlertRecord
	for rows.Next() {
		var a AlertRecord
		var v sql.NullFloat64
		var at string
		if err := rows.Scan(&a.ID, &a.Rule, &a.State, &v, &at, &a.Severity); err != nil {
			return nil, fmt.Errorf("alert history: %w", err)
		}
		a.Value = math.NaN()
		if v.Valid {
			a.Value = v.Float64
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("alert history: row %d: %w", a.ID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	return out, nil
}

// Runbook step verdicts as the runbook_executions table stores them.
const (
	VerdictPending = "pending"
	VerdictRunning = "running"
	VerdictPass    = "pass"
	VerdictWarn    = "warn"
	VerdictFail    = "fail"
	VerdictSkipped = "skipped"
	VerdictError   = "error" // the step could not run
)

// RunbookStep is one recorded step of a runbook execution. A step may be
// recorded several times (running, then its verdict; or rerun): the last
// row for a step is its current state.
type RunbookStep struct {
	ID          int64         `json:"id"`
	ExecutionID string        `json:"execution_id"`
	Runbook     string        `json:"runbook"`
	Step        string        `json:"step"`
	Verdict     string        `json:"verdict"`
	Evidence    string        `json:"evidence"`
	Who         string        `json:"who"`
	At          time.Time     `json:"at"`
	Duration    time.Duration `json:"duration"`
}

// NewExecutionID returns a fresh, sortable id for a runbook execution.
func (s *Store) NewExecutionID() string { return s.ids.next() }

// RecordRunbookStep appends a step record (At zero means now) and returns its id.
func (s *Store) RecordRunbookStep(ctx context.Context, st RunbookStep) (int64, error) {
	switch {
	case st.ExecutionID == "":
		return 0, errors.New("record runbook step: empty execution_id")
	case st.Runbook == "":
		return 0, errors.New("record runbook step: empty runbook")
	case st.Step == "":
		return 0, fmt.Errorf("record runbook step (%s): empty step", st.Runbook)
	case st.Duration < 0:
		return 0, fmt.Errorf("record runbook step %s/%s: negative duration %s", st.Runbook, st.Step, st.Duration)
	}
	switch st.Verdict {
	case VerdictPending, VerdictRunning, VerdictPass, VerdictWarn, VerdictFail, VerdictSkipped, VerdictError:
	default:
		return 0, fmt.Errorf("record runbook step %s/%s: verdict %q: want pending, running, pass, warn, fail, skipped or error",
			st.Runbook, st.Step, st.Verdict)
	}
	at := s.stamp(st.At)
	var id int64
	err := s.write(ctx, "record runbook step", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runbook_executions (execution_id, runbook, step, verdict, evidence, who, at, duration_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, st.ExecutionID, st.Runbook, st.Step, st.Verdict, st.Evidence, st.Who, fmtTime(at), st.Duration.Milliseconds())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

const stepColumns = `id, execution_id, runbook, step, verdict, evidence, who, at, duration_ms`

// RunbookExecution returns every record of one execution in the order
// written (empty when unknown); the runner resumes from it.
func (s *Store) RunbookExecution(ctx context.Context, execID string) ([]RunbookStep, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+stepColumns+` FROM runbook_executions WHERE execution_id = ? ORDER BY id`, execID)
	if err != nil {
		return nil, fmt.Errorf("runbook execution %s: %w", execID, err)
	}
	defer rows.Close()
	var out []RunbookStep
	for rows.Next() {
		var st RunbookStep
		var at string
		var ms int64
		if err := rows.Scan(&st.ID, &st.ExecutionID, &st.Runbook, &st.Step, &st.Verdict, &st.Evidence, &st.Who, &at, &ms); err != nil {
			return nil, fmt.Errorf("runbook execution %s: %w", execID, err)
		}
		if st.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("runbook execution %s: row %d: %w", execID, st.ID, err)
		}
		st.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runbook execution %s: %w", execID, err)
	}
	return out, nil
}

// LastRunbookExecution returns the id of the most recent execution of a
// runbook; ok is false when it never ran.
func (s *Store) LastRunbookExecution(ctx context.Context, runbook string) (string, bool, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT execution_id FROM runbook_executions WHERE runbook = ? ORDER BY id DESC LIMIT 1`, runbook).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("last execution of runbook %s: %w", runbook, err)
	}
	return id, true, nil
}

// AuditEntry is one audited action: SSH session start/end or a state change.
type AuditEntry struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Role        string    `json:"role,omitempty"`
	Address     string    `json:"address,omitempty"`
	Action      string    `json:"action"`
	Detail      string    `json:"detail,omitempty"`
	Outcome     string    `json:"outcome"` // e.g. ok | refused | error
}

// Audit appends an audit entry (At zero means now).
func (s *Store) Audit(ctx context.Context, a AuditEntry) error {
	if a.Action == "" {
		return errors.New("audit: empty action")
	}
	at := s.stamp(a.At)
	return s.write(ctx, "audit "+a.Action, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, fingerprint, role, address, action, detail, outcome)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, fmtTime(at), a.Actor, a.Fingerprint, a.Role, a.Address, a.Action, a.Detail, a.Outcome)
		return err
	})
}

// AuditLog returns audit entries at or after since, newest first
// (limit <= 0 means 100).
func (s *Store) AuditLog(ctx context.Context, since time.Time, limit int) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, fingerprint, role, address, action, detail, outcome FROM audit
WHERE at >= ? ORDER BY id DESC LIMIT ?`, sinceArg(since), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var at string
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Fingerprint, &a.Role, &a.Address, &a.Action, &a.Detail, &a.Outcome); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("audit log: row %d: %w", a.ID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
