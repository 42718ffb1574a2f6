package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// RunKind says what produced a run.
type RunKind string

// Run kinds.
const (
	RunRepro RunKind = "repro" // the whole pipeline
	RunTrain RunKind = "train" // a training run outside repro
)

// RunStatus is a run's life-cycle state.
type RunStatus string

// Run statuses; every run starts running and ends in one of the others.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunKilled    RunStatus = "killed"
)

// RunStart is what is known when a run begins.
type RunStart struct {
	Kind       RunKind // empty means repro
	Who        string
	DataHash   string
	ConfigHash string
	LockHash   string
}

// Metric is one numeric measurement; Step orders a metric's history.
type Metric struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
	Step  int64   `json:"step"`
}

// Artifact is one file a run produced.
type Artifact struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// RunResult is everything a run reports when it ends, written in one
// transaction with the final status.
type RunResult struct {
	Params    map[string]string
	Metrics   []Metric
	Artifacts []Artifact
	// DataHash and LockHash, when not empty, replace the values given at start
	// (the lock hash is only known once the lock file is written).
	DataHash string
	LockHash string
	// Model, when set on a succeeded run, is registered in the same
	// transaction (its RunID is filled in), so a version never exists
	// without its finished run.
	Model *NewModel
}

// Run is one row of the runs table.
type Run struct {
	ID         string        `json:"id"`
	Kind       RunKind       `json:"kind"`
	Status     RunStatus     `json:"status"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at,omitzero"` // zero while running
	Duration   time.Duration `json:"duration"`
	Who        string        `json:"who"`
	DataHash   string        `json:"data_hash"`
	ConfigHash string        `json:"config_hash"`
	LockHash   string        `json:"lock_hash"`
	Error      string        `json:"error,omitempty"`
	Host       string        `json:"host"` // where the run's process ran
	PID        int           `json:"pid"`
}

// StartRun records a new running run and returns its ID.
func (s *Store) StartRun(ctx context.Context, rs RunStart) (string, error) {
	if rs.Kind == "" {
		rs.Kind = RunRepro
	}
	if rs.Kind != RunRepro && rs.Kind != RunTrain {
		return "", fmt.Errorf("start run: kind %q: want repro or train", rs.Kind)
	}
	id := s.ids.next()
	at := s.now()
	err := s.write(ctx, "start run", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, kind, status, started_at, who, data_hash, config_hash, lock_hash, host, pid)
VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`, id, string(rs.Kind), fmtTime(at), rs.Who, rs.DataHash, rs.ConfigHash, rs.LockHash, s.host, s.pid)
		return err
	})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.active[id] = struct{}{}
	s.mu.Unlock()
	return id, nil
}

// validate checks a result before the transaction, so that bad input gets
// an error naming the field and nothing is written.
func (r RunResult) validate() error {
	for k := range r.Params {
		if k == "" {
			return errors.New("param with an empty key")
		}
	}
	seen := make(map[Metric]bool, len(r.Metrics))
	for i, m := range r.Metrics {
		switch {
		case m.Key == "":
			return fmt.Errorf("metric %d: empty key", i)
		case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
			return fmt.Errorf("metric %q step %d: value %v is not finite", m.Key, m.Step, m.Value)
		case m.Step < 0:
			return fmt.Errorf("metric %q: negative step %d", m.Key, m.Step)
		}
		k := Metric{Key: m.Key, Step: m.Step}
		if seen[k] {
			return fmt.Errorf("metric %q step %d: given twice", m.Key, m.Step)
		}
		seen[k] = true
	}
	paths := make(map[string]bool, len(r.Artifacts))
	for i, a := range r.Artifacts {
		switch {
		case a.Path == "":
			return fmt.Errorf("artifact %d: empty path", i)
		case !isSHA256(a.SHA256):
			return fmt.Errorf("artifact %q: sha256 %q is not 64 hex digits", a.Path, a.SHA256)
		case a.Bytes < 0:
			return fmt.Errorf("artifact %q: negative size %d", a.Path, a.Bytes)
		case paths[a.Path]:
			return fmt.Errorf("artifact %q: given twice", a.Path)
		}
		paths[a.Path] = true
	}
	return nil
}

// FinishRun ends a running run with status and errMsg and writes its params,
// metrics, artifacts (and model, if any) in one transaction: either all of
// it is stored or none, and the run stays 'running'. It returns the
// registered model version, or "" when res.Model is nil.
func (s *Store) FinishRun(ctx context.Context, runID string, status RunStatus, errMsg string, res RunResult) (string, error) {
	what := "finish run " + runID
	switch status {
	case RunSucceeded, RunFailed, RunKilled:
	default:
		return "", fmt.Errorf("%s: status %q: want succeeded, failed or killed", what, status)
	}
	if err := res.validate(); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var model NewModel
	if res.Model != nil {
		if status != RunSucceeded {
			return "", fmt.Errorf("%s: only a succeeded run registers a model (status %s)", what, status)
		}
		model = *res.Model
		model.RunID = runID
		if err := model.validate(); err != nil {
			return "", fmt.Errorf("%s: model: %w", what, err)
		}
	}

	end := s.now()
	var version string
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		var started string
		var cur RunStatus
		err := tx.QueryRowContext(ctx, `SELECT started_at, status FROM runs WHERE id = ?`, runID).Scan(&started, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("run %s: %w", runID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != RunRunning {
			return fmt.Errorf("run %s is already %s", runID, cur)
		}
		st, err := parseTime(started)
		if err != nil {
			return err
		}
		dur := max(end.Sub(st).Milliseconds(), 0)
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ?,
	data_hash = CASE WHEN ? <> '' THEN ? ELSE data_hash END,
	lock_hash = CASE WHEN ? <> '' THEN ? ELSE lock_hash END
WHERE id = ?`, string(status), fmtTime(end), dur, errMsg, res.DataHash, res.DataHash, res.LockHash, res.LockHash, runID); err != nil {
			return err
		}
		if err := insertParams(ctx, tx, runID, res.Params); err != nil {
			return err
		}
		if err := insertMetrics(ctx, tx, runID, res.Metrics); err != nil {
			return err
		}
		if err := s.fail("finish.metrics"); err != nil {
			return err
		}
		if err := insertArtifacts(ctx, tx, runID, res.Artifacts); err != nil {
			return err
		}
		if res.Model != nil {
			v, err := s.registerTx(ctx, tx, model)
			if err != nil {
				return err
			}
			version = v
		}
		return s.fail("finish.commit")
	})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	delete(s.active, runID)
	s.mu.Unlock()
	return version, nil
}

func insertParams(ctx context.Context, tx *sql.Tx, runID string, params map[string]string) error {
	if len(params) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for k, v := range params {
		if _, err := st.ExecContext(ctx, runID, k, v); err != nil {
			return fmt.Errorf("param %q: %w", k, err)
		}
	}
	return nil
}

func insertMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO metrics (run_id, key, value, step) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, m := range metrics {
		if _, err := st.ExecContext(ctx, runID, m.Key, m.Value, m.Step); err != nil {
			return fmt.Errorf("metric %q step %d: %w", m.Key, m.Step, err)
		}
	}
	return nil
}

func insertArtifacts(ctx context.Context, tx *sql.Tx, runID string, arts []Artifact) error {
	if len(arts) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO artifacts (run_id, path, sha256, bytes) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range arts {
		if _, err := st.ExecContext(ctx, runID, a.Path, a.SHA256, a.Bytes); err != nil {
			return fmt.Errorf("artifact %q: %w", a.Path, err)
		}
	}
	return nil
}

const runColumns = `id, kind, status, started_at, finished_at, duration_ms, who, data_hash, config_hash, lock_hash, error, host, pid`

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (Run, error) {
	var r Run
	var started string
	var finished sql.NullString
	var dur sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Kind, &r.Status, &started, &finished, &dur, &r.Who, &r.DataHash, &r.ConfigHash, &r.LockHash, &r.Error, &r.Host, &r.PID); err != nil {
		return Run{}, err
	}
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return Run{}, fmt.Errorf("run %s started_at: %w", r.ID, err)
	}
	if r.FinishedAt, err = parseNullTime(finished); err != nil {
		return Run{}, fmt.Errorf("run %s finished_at: %w", r.ID, err)
	}
	r.Duration = time.Duration(dur.Int64) * time.Millisecond
	return r, nil
}

// GetRun returns one run; ErrNotFound when there is none with that ID.
func (s *Store) GetRun(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	return r, nil
}

// ListRuns returns the latest runs, newest first (limit <= 0 means 100).
func (s *Store) ListRuns(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT ?`, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// RunParams returns a run's params (empty, not an error, for a run without).
func (s *Store) RunParams(ctx context.Context, runID string) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM params WHERE run_id = ? ORDER BY key`, runID)
	if err != nil {
		return nil, fmt.Errorf("params of run %s: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("params of run %s: %w", runID, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("params of run %s: %w", runID, err)
	}
	return out, nil
}

// RunMetrics returns a run's full metric history, by key then step.
func (s *Store) RunMetrics(ctx context.Context, runID string) ([]Metric, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value, step FROM metrics WHERE run_id = ? ORDER BY key, step`, runID)
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var m Metric
		if err := rows.Scan(&m.Key, &m.Value, &m.Step); err != nil {
			return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	return out, nil
}

// LatestMetrics returns each metric's value at its highest step (MLflow's
// "latest" value), which is what compare and diff show.
func (s *Store) LatestMetrics(ctx context.Context, runID string) (map[string]float64, error) {
	all, err := s.RunMetrics(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(all))
	for _, m := range all { // ordered by step, so the last one wins
		out[m.Key] = m.Value
	}
	return out, nil
}

// RunArtifacts returns a run's artifacts by path.
func (s *Store) RunArtifacts(ctx context.Context, runID string) ([]Artifact, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY path`, runID)
	if err != nil {
		return nil, fmt.Errorf("artifacts of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Artifact
	for rows.Next() {
		var a Artifact
		if err := rows.Scan(&a.Path, &a.SHA256, &a.Bytes); err != nil {
			return nil, fmt.Errorf("artifacts of run %s: %w", runID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("artifacts of run %s: %w", runID, err)
	}
	return out, nil
}

// MarkStaleRuns turns 'running' runs whose process is gone into 'killed'
// and returns how many it changed. A run is left alone when this Store
// started it, when it was started by this process, or when its pid is
// still alive on this host. A run started on another host cannot be
// checked and is taken as dead: when one store file is shared between
// hosts or containers, call this only while holding the repro file lock
// (repros are serialised by it, so no other run can be alive then).
func (s *Store) MarkStaleRuns(ctx context.Context) (int, error) {
	s.mu.Lock()
	mine := make(map[string]bool, len(s.active))
	for id := range s.active {
		mine[id] = true
	}
	s.mu.Unlock()

	end := s.now()
	var n int
	err := s.write(ctx, "mark stale runs", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, host, pid FROM runs WHERE status = 'running'`)
		if err != nil {
			return err
		}
		var stale []string
		for rows.Next() {
			var id, host string
			var pid int
			if err := rows.Scan(&id, &host, &pid); err != nil {
				rows.Close()
				return err
			}
			sameHost := host != "" && host == s.host
			switch {
			case mine[id]:
			case sameHost && pid == s.pid:
			case sameHost && s.alive(pid):
			default:
				stale = append(stale, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		msg := fmt.Sprintf("process ended before the run finished (marked killed at %s)", fmtTime(end))
		for _, id := range stale {
			// finished_at is when we noticed, not when the process died (the
			// error text says so); the duration is unknown, so it stays NULL.
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'killed', finished_at = ?, error = ?
WHERE id = ? AND status = 'running'`, fmtTime(end), msg, id); err != nil {
				return fmt.Errorf("run %s: %w", id, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
