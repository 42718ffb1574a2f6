package storerec

import (
	"context"
	"path/filepath"
	"testing"

	"carvision/engine"
	"carvision/engine/store"
	"carvision/runbook"
	"carvision/runbook/checks"
)

// TestStoreRecordsAndResumes runs a runbook against the SQLite store and
// resumes the execution from what the store kept.
func TestStoreRecordsAndResumes(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "cv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := New(s)
	env := checks.NewFakeEnv(t.TempDir())
	lib, err := runbook.LoadLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := lib.Get("high-latency")
	r := runbook.NewRunner(env, rec)
	actor := engine.Actor{Name: "carol"}
	e := r.Start(rb, actor, false)
	e.RunAll(context.Background(), runbook.AllOptions{OnlyChecks: true})
	for i, st := range e.Steps() {
		if st.RecordErr != "" {
			t.Errorf("step %d not recorded: %s", i, st.RecordErr)
		}
	}
	recs, err := rec.Execution(context.Background(), e.ID)
	if err != nil || len(recs) == 0 {
		t.Fatalf("records = %v, %v", recs, err)
	}
	if recs[0].Runbook != "high-latency" || recs[0].Who != "carol" || recs[0].Verdict != runbook.Running {
		t.Errorf("first record = %+v", recs[0])
	}
	e2, err := r.Resume(context.Background(), lib, e.ID, actor, false)
	if err != nil {
		t.Fatal(err)
	}
	if st := e2.Step(0); st.State != runbook.Pass || !st.Resumed || st.Result == nil {
		t.Errorf("resumed health step = %+v", st)
	}
	if id, ok, err := s.LastRunbookExecution(context.Background(), "high-latency"); id != e.ID || !ok || err != nil {
		t.Errorf("last execution = %q %v %v", id, ok, err)
	}
}
