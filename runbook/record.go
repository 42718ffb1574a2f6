package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"carvision/runbook/checks"
)

// Record is one recorded step of an execution (the runbook_executions row).
type Record struct {
	ExecutionID string        `json:"execution_id"`
	Runbook     string        `json:"runbook"`
	Step        string        `json:"step"`
	Verdict     State         `json:"verdict"`
	Evidence    string        `json:"evidence"` // JSON of Evidence
	Who         string        `json:"who"`
	At          time.Time     `json:"at"`
	Duration    time.Duration `json:"duration"`
}

// Recorder stores executions so they can be audited and resumed. The
// store adapter is runbook/storerec; MemRecorder keeps them in memory.
type Recorder interface {
	// NewExecutionID returns a fresh, sortable execution id.
	NewExecutionID() string
	// RecordStep appends one record; a step may be recorded several times
	// (running, then its verdict): the last record is its state.
	RecordStep(ctx context.Context, r Record) error
	// Execution returns an execution's records in the order written
	// (empty, no error, when unknown).
	Execution(ctx context.Context, execID string) ([]Record, error)
}

// Evidence is what a record's Evidence JSON holds.
type Evidence struct {
	Kind     Kind           `json:"kind"`
	Label    string         `json:"label"`
	Result   *checks.Result `json:"result,omitempty"`
	Output   string         `json:"output,omitempty"` // tail, capped for the store
	Dropped  int64          `json:"output_dropped,omitempty"`
	ExitCode *int           `json:"exit_code,omitempty"`
	Note     string         `json:"note,omitempty"`
	Next     *Pointer       `json:"next,omitempty"`
}

// maxRecordedOutput bounds the output kept in one record.
const maxRecordedOutput = 4 << 10

// MemRecorder is a Recorder in memory (tests, and engines without a store).
type MemRecorder struct {
	mu   sync.Mutex
	n    int
	recs []Record
	// Err, when set, fails every RecordStep.
	Err error
}

// NewExecutionID implements Recorder.
func (m *MemRecorder) NewExecutionID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	return fmt.Sprintf("exec-%04d", m.n)
}

// RecordStep implements Recorder.
func (m *MemRecorder) RecordStep(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if !json.Valid([]byte(r.Evidence)) {
		return fmt.Errorf("record %s/%s: evidence is not JSON", r.Runbook, r.Step)
	}
	m.recs = append(m.recs, r)
	return nil
}

// Execution implements Recorder.
func (m *MemRecorder) Execution(_ context.Context, execID string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, r := range m.recs {
		if r.ExecutionID == execID {
			out = append(out, r)
		}
	}
	return out, nil
}

// All returns every record written.
func (m *MemRecorder) All() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.recs...)
}
