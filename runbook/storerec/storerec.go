// Package storerec records runbook executions in the SQLite store
// (engine/store's runbook_executions table).
package storerec

import (
	"context"

	"carvision/engine/store"
	"carvision/runbook"
)

// Recorder adapts *store.Store to runbook.Recorder.
type Recorder struct{ S *store.Store }

// New returns a Recorder over s.
func New(s *store.Store) Recorder { return Recorder{S: s} }

// NewExecutionID implements runbook.Recorder.
func (r Recorder) NewExecutionID() string { return r.S.NewExecutionID() }

// RecordStep implements runbook.Recorder.
func (r Recorder) RecordStep(ctx context.Context, rec runbook.Record) error {
	_, err := r.S.RecordRunbookStep(ctx, store.RunbookStep{
		ExecutionID: rec.ExecutionID, Runbook: rec.Runbook, Step: rec.Step, Verdict: string(rec.Verdict),
		Evidence: rec.Evidence, Who: rec.Who, At: rec.At, Duration: rec.Duration,
	})
	return err
}

// Execution implements runbook.Recorder.
func (r Recorder) Execution(ctx context.Context, execID string) ([]runbook.Record, error) {
	rows, err := r.S.RunbookExecution(ctx, execID)
	if err != nil {
		return nil, err
	}
	out := make([]runbook.Record, len(rows))
	for i, s := range rows {
		out[i] = runbook.Record{ExecutionID: s.ExecutionID, Runbook: s.Runbook, Step: s.Step, Verdict: runbook.State(s.Verdict),
			Evidence: s.Evidence, Who: s.Who, At: s.At, Duration: s.Duration}
	}
	return out, nil
}
