package store

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	t0 := clk.Now()
	var ids []int64
	for i, kind := range []string{"retrain", "reload", "alert"} {
		id, err := s.AddEvent(ctx, Event{Kind: kind, Actor: "ops", Message: kind + " happened", DataJSON: json.RawMessage(`{"n":1}`)})
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		ids = append(ids, id)
		clk.Advance(time.Minute)
	}
	all, err := s.Events(ctx, time.Time{}, 0)
	if err != nil || len(all) != 3 || all[0].ID != ids[2] || all[2].ID != ids[0] {
		t.Fatalf("Events = %+v, %v", all, err)
	}
	if all[2].At != t0 || string(all[2].DataJSON) != `{"n":1}` || all[2].Engine().Message != "retrain happened" {
		t.Errorf("oldest event = %+v", all[2])
	}
	since, _ := s.Events(ctx, t0.Add(time.Minute), 0)
	if len(since) != 2 {
		t.Errorf("Events since +1m = %d, want 2", len(since))
	}
	if one, _ := s.Events(ctx, time.Time{}, 1); len(one) != 1 || one[0].Kind != "alert" {
		t.Errorf("Events limit 1 = %+v", one)
	}

	bad := []struct {
		name string
		e    Event
		want string
	}{
		{"no kind", Event{Message: "x"}, "empty kind"},
		{"bad data", Event{Kind: "x", DataJSON: json.RawMessage("{")}, "not valid JSON"},
		{"bad version", Event{Kind: "x", ToVersion: "abc"}, "to_version"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.AddEvent(ctx, tc.e); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddEvent = %v, want %q", err, tc.want)
			}
		})
	}
	if n := countRows(t, s, "events", ""); n != 3 {
		t.Errorf("%d events stored, want 3", n)
	}
}

func TestAlertHistory(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	seq := []AlertRecord{
		{Rule: "latency_p95", State: AlertPending, Value: 0.61, Severity: "warning"},
		{Rule: "error_rate", State: AlertPending, Value: math.NaN(), Severity: "critical"},
		{Rule: "latency_p95", State: AlertFiring, Value: 0.72, Severity: "warning"},
		{Rule: "latency_p95", State: AlertResolved, Value: math.Inf(1), Severity: "warning"},
	}
	for _, a := range seq {
		if err := s.RecordAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	got, err := s.AlertHistory(ctx, "latency_p95", time.Time{}, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("AlertHistory = %+v, %v", got, err)
	}
	states := []string{got[0].State, got[1].State, got[2].State}
	if !reflect.DeepEqual(states, []string{AlertResolved, AlertFiring, AlertPending}) {
		t.Errorf("states newest first = %v", states)
	}
	if !math.IsNaN(got[0].Value) || got[1].Value != 0.72 || got[2].At != newFakeClock().Now() {
		t.Errorf("values/times = %+v", got)
	}
	if all, _ := s.AlertHistory(ctx, "", time.Time{}, 0); len(all) != 4 || !math.IsNaN(all[2].Value) {
		t.Errorf("all rules = %+v", all)
	}
	for _, bad := range []AlertRecord{{State: AlertFiring}, {Rule: "x", State: "on"}} {
		if err := s.RecordAlert(ctx, bad); err == nil {
			t.Errorf("RecordAlert(%+v) accepted", bad)
		}
	}
}

func TestRunbookExecutionResume(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	exec1 := s.NewExecutionID()
	steps := []RunbookStep{
		{Step: "health", Verdict: VerdictPass, Evidence: "status healthy", Duration: 12 * time.Millisecond},
		{Step: "logs.missing_column", Verdict: VerdictRunning},
		{Step: "logs.missing_column", Verdict: VerdictFail, Evidence: `3 × Missing column "vehicle_age"`, Duration: 40 * time.Millisecond},
	}
	for _, st := range steps {
		st.ExecutionID, st.Runbook, st.Who = exec1, "api-500", "alice"
		if _, err := s.RecordRunbookStep(ctx, st); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	other := s.NewExecutionID()
	if other <= exec1 {
		t.Errorf("execution ids not increasing: %s then %s", exec1, other)
	}
	if _, err := s.RecordRunbookStep(ctx, RunbookStep{ExecutionID: other, Runbook: "disk-space", Step: "disk.usage", Verdict: VerdictWarn}); err != nil {
		t.Fatal(err)
	}

	got, err := s.RunbookExecution(ctx, exec1)
	if err != nil || len(got) != 3 {
		t.Fatalf("RunbookExecution = %+v, %v", got, err)
	}
	last := got[2]
	if last.Step != "logs.missing_column" || last.Verdict != VerdictFail || last.Duration != 40*time.Millisecond || last.Who != "alice" ||
		!strings.Contains(last.Evidence, "vehicle_age") || last.At != got[0].At.Add(2*time.Second) {
		t.Errorf("last record = %+v", last)
	}
	if id, ok, err := s.LastRunbookExecution(ctx, "api-500"); id != exec1 || !ok || err != nil {
		t.Errorf("LastRunbookExecution = %q %v %v", id, ok, err)
	}
	if _, ok, err := s.LastRunbookExecution(ctx, "never-ran"); ok || err != nil {
		t.Errorf("LastRunbookExecution(never) ok=%v err=%v", ok, err)
	}
	if none, err := s.RunbookExecution(ctx, "nope"); err != nil || len(none) != 0 {
		t.Errorf("unknown execution = %v, %v", none, err)
	}

	bad := []struct {
		st   RunbookStep
		want string
	}{
		{RunbookStep{Runbook: "r", Step: "s", Verdict: VerdictPass}, "execution_id"},
		{RunbookStep{ExecutionID: "e", Step: "s", Verdict: VerdictPass}, "runbook"},
		{RunbookStep{ExecutionID: "e", Runbook: "r", Verdict: VerdictPass}, "empty step"},
		{RunbookStep{ExecutionID: "e", Runbook: "r", Step: "s", Verdict: "ok"}, `verdict "ok"`},
		{RunbookStep{ExecutionID: "e", Runbook: "r", Step: "s", Verdict: VerdictPass, Duration: -1}, "negative duration"},
	}
	for _, tc := range bad {
		if _, err := s.RecordRunbookStep(ctx, tc.st); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RecordRunbookStep(%+v) = %v, want %q", tc.st, err, tc.want)
		}
	}
}

func TestAuditLog(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	entries := []AuditEntry{
		{Actor: "alice", Fingerprint: "SHA256:abc", Role: "operator", Address: "10.0.0.5:51234", Action: "session.start", Outcome: "ok"},
		{Actor: "bob", Fingerprint: "SHA256:def", Role: "viewer", Address: "10.0.0.6:40000", Action: "retrain", Outcome: "refused", Detail: "viewer role"},
		{Actor: "alice", Fingerprint: "SHA256:abc", Role: "operator", Action: "promote", Detail: "version 3", Outcome: "ok"},
	}
	t0 := clk.Now()
	for _, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	got, err := s.AuditLog(ctx, t0.Add(time.Minute), 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("AuditLog = %+v, %v", got, err)
	}
	want := entries[1]
	want.ID, want.At = got[1].ID, t0.Add(time.Minute)
	if got[0].Action != "promote" || !reflect.DeepEqual(got[1], want) {
		t.Errorf("AuditLog = %+v", got)
	}
	if err := s.Audit(ctx, AuditEntry{Actor: "x"}); err == nil || !strings.Contains(err.Error(), "empty action") {
		t.Errorf("Audit without action = %v", err)
	}
}

func TestPredictions(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	t0 := clk.Now()
	batch := []PredictionRow{
		{At: t0, ModelVersion: "3", Status: 200, Latency: 850 * time.Microsecond, FeaturesJSON: json.RawMessage(`{"model_year":2011}`), Price: 9400},
		{At: t0.Add(time.Second), ModelVersion: "3", Status: 422, Latency: 90 * time.Microsecond, FeaturesJSON: json.RawMessage(`{"odometer":-1}`), Price: math.NaN()},
		{ModelVersion: "3", Status: 200, Price: 12000}, // At from the clock, features default
	}
	if err := s.InsertPredictions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Predictions(ctx, time.Time{}, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Predictions = %+v, %v", got, err)
	}
	if got[2].Latency != 850*time.Microsecond || got[2].Price != 9400 || string(got[2].FeaturesJSON) != `{"model_year":2011}` || got[2].At != t0 {
		t.Errorf("first row = %+v", got[2])
	}
	if !math.IsNaN(got[1].Price) || got[1].Status != 422 {
		t.Errorf("error row = %+v", got[1])
	}
	if string(got[0].FeaturesJSON) != "{}" || got[0].At != t0 {
		t.Errorf("defaulted row = %+v", got[0])
	}

	for _, bad := range []struct {
		row  PredictionRow
		want string
	}{
		{PredictionRow{Status: 200, FeaturesJSON: json.RawMessage(`{"model_year":`)}, "row 1: features"},
		{PredictionRow{Status: 200, Latency: -time.Millisecond}, "row 1: negative latency"},
	} {
		err := s.InsertPredictions(ctx, []PredictionRow{{Status: 200}, bad.row, {Status: 200}})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("InsertPredictions = %v, want %q", err, bad.want)
		}
	}
	if n := countRows(t, s, "predictions", ""); n != 3 {
		t.Errorf("%d predictions after refused batches, want 3", n)
	}

	n, err := s.PrunePredictions(ctx, t0.Add(time.Millisecond), 0)
	if err != nil || n != 2 {
		t.Errorf("PrunePredictions = %d, %v; want 2", n, err)
	}
	if left, _ := s.Predictions(ctx, time.Time{}, 0); len(left) != 1 || left[0].Status != 422 {
		t.Errorf("after prune = %+v", left)
	}
}

func TestPrunePredictionsByCount(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		rows    int
		before  time.Time // rows are at t0 + i seconds
		maxRows int
		gone    int64
		oldest  int // status of the oldest row left (rows have status 200+i)
	}{
		{"under the cap", 5, t0, 10, 0, 200},
		{"at the cap", 5, t0, 5, 0, 200},
		{"over the cap keeps the newest", 8, t0, 3, 5, 205},
		{"age first, then count", 8, t0.Add(2 * time.Second), 4, 4, 204},
		{"age alone", 8, t0.Add(6 * time.Second), 0, 6, 206},
		{"age prunes more than count", 8, t0.Add(7 * time.Second), 5, 7, 207},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			rows := make([]PredictionRow, tc.rows)
			for i := range rows {
				rows[i] = PredictionRow{At: t0.Add(time.Duration(i) * time.Second), Status: 200 + i, Price: 1}
			}
			if err := s.InsertPredictions(ctx, rows); err != nil {
				t.Fatal(err)
			}
			n, err := s.PrunePredictions(ctx, tc.before, tc.maxRows)
			if err != nil || n != tc.gone {
				t.Fatalf("PrunePredictions = %d, %v; want %d", n, err, tc.gone)
			}
			left, err := s.Predictions(ctx, time.Time{}, 0)
			if err != nil || len(left) != tc.rows-int(tc.gone) {
				t.Fatalf("%d rows left (%v), want %d", len(left), err, tc.rows-int(tc.gone))
			}
			if got := left[len(left)-1].Status; got != tc.oldest {
				t.Errorf("oldest row left has status %d, want %d", got, tc.oldest)
			}
		})
	}
}
