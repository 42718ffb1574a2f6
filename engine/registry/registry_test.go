package registry_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/prep"
	"carvision/engine/registry"
	"carvision/engine/split"
	"carvision/engine/store"
	"carvision/engine/synth"
)

// models holds two encodings trained once for the package: a decent model
// and a poor one (two trees), plus the rows both are scored on.
var models struct {
	once      sync.Once
	good, bad []byte
	rows      *dataset.Frame
	err       error
}

func fixtures(t *testing.T) (good, bad []byte, rows *dataset.Frame) {
	t.Helper()
	models.once.Do(func() {
		c, _, err := prep.Clean(synth.Generate(1500, 11), prep.DefaultFilters())
		if err != nil {
			models.err = err
			return
		}
		parts := split.Assign(c, 42, 0.2, 0.2)
		train, valid := c.Select(split.Indices(parts, split.Train)), c.Select(split.Indices(parts, split.Valid))
		models.rows = c.Select(split.Indices(parts, split.Test))
		fit := func(trees int) []byte {
			s := pipeline.DefaultSettings("")
			s.GBDT.Trees, s.GBDT.EarlyStoppingRounds, s.Refit = trees, 10, false
			m, err := pipeline.Fit(context.Background(), s, train, valid, nil)
			if err != nil {
				models.err = err
				return nil
			}
			b, err := m.Encode()
			if err != nil {
				models.err = err
			}
			return b
		}
		models.good, models.bad = fit(60), fit(2)
	})
	if models.err != nil {
		t.Fatal(models.err)
	}
	return models.good, models.bad, models.rows
}

type env struct {
	t   *testing.T
	ctx context.Context
	dir string
	st  *store.Store
	reg *registry.Registry
}

func newEnv(t *testing.T, gate registry.Gate) *env {
	t.Helper()
	_, _, rows := fixtures(t)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "carvision.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := &registry.Registry{Store: st, Gate: gate, TestRows: func() (*dataset.Frame, error) { return rows, nil }}
	return &env{t: t, ctx: context.Background(), dir: dir, st: st, reg: reg}
}

var lenient = registry.Gate{MinR2: -1, MaxRMSE: 1e9, MaxRegression: 0.02}

// register saves the encoded model as a new file and registers it with
// the given (claimed) test metrics.
func (e *env) register(encoded []byte, metrics map[string]float64) string {
	e.t.Helper()
	m, err := model.Decode(encoded)
	if err != nil {
		e.t.Fatal(err)
	}
	n, _ := e.st.ModelVersions(e.ctx)
	if _, err := m.Save(filepath.Join(e.dir, "models", strings.Repeat("v", len(n)+1)+".cvm")); err != nil {
		e.t.Fatal(err)
	}
	run, err := e.reg.StartRun(e.ctx, "tester", "data", "config")
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := e.reg.Register(e.ctx, run, m, metrics, map[string]string{"training.params": "{}"})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) champion() string {
	e.t.Helper()
	v, ok, err := e.st.Alias(e.ctx, registry.Champion)
	if err != nil {
		e.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return v
}

func hasReason(g engine.GateResult, prefix, text string) bool {
	return slices.ContainsFunc(g.Reasons, func(r string) bool { return strings.HasPrefix(r, prefix) && strings.Contains(r, text) })
}

func TestGateAbsoluteThresholds(t *testing.T) {
	good, _, _ := fixtures(t)
	gate := registry.Gate{MinR2: 0.70, MaxRMSE: 6000, MaxRegression: 0.02}
	cases := []struct {
		name    string
		metrics map[string]float64
		pass    bool
		reasons []string // "✓ …" or "✗ …" fragments
	}{
		{"passes", map[string]float64{"test.r2": 0.85, "test.rmse": 3000}, true, []string{"✓ R² 0.8500 ≥ 0.70", "✓ RMSE 3000 ≤ 6000"}},
		{"at the thresholds", map[string]float64{"test.r2": 0.70, "test.rmse": 6000}, true, []string{"✓ R² 0.7000", "✓ RMSE 6000"}},
		{"low R²", map[string]float64{"test.r2": 0.5, "test.rmse": 3000}, false, []string{"✗ R² 0.5000 < 0.70", "✓ RMSE"}},
		{"high RMSE", map[string]float64{"test.r2": 0.9, "test.rmse": 7000}, false, []string{"✓ R²", "✗ RMSE 7000 > 6000"}},
		{"both", map[string]float64{"test.r2": -0.2, "test.rmse": 9000}, false, []string{"✗ R²", "✗ RMSE"}},
		{"no metrics", nil, false, []string{"✗ R² 0.0000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, gate)
			v := e.register(good, tc.metrics)
			g, err := e.reg.Check(e.ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			if g.Pass != tc.pass {
				t.Fatalf("pass %v, want %v: %q", g.Pass, tc.pass, g.Reasons)
			}
			for _, r := range append(tc.reasons, "✓ no other champion") {
				if !hasReason(g, r[:len("✓")], r[len("✓ "):]) {
					t.Errorf("reasons %q lack %q", g.Reasons, r)
				}
			}
		})
	}
}

func TestGateComparesWithTheChampionOnTheSameRows(t *testing.T) {
	good, bad, rows := fixtures(t)
	great := map[string]float64{"test.r2": 0.99, "test.rmse": 10} // claims only: the gate re-scores
	cases := []struct {
		name       string
		champ      []byte
		cand       []byte
		tolerance  float64
		testRows   func() (*dataset.Frame, error)
		pass       bool
		wantReason string
	}{
		{name: "worse than the champion", champ: good, cand: bad, tolerance: 0.02, pass: false, wantReason: "✗ RMSE"},
		{name: "better than the champion", champ: bad, cand: good, tolerance: 0.02, pass: true, wantReason: "✓ RMSE"},
		{name: "the same model", champ: good, cand: good, tolerance: 0, pass: true, wantReason: "✓ MAPE"},
		{name: "within a wide tolerance", champ: good, cand: bad, tolerance: 1000, pass: true, wantReason: "✓ RMSE"},
		{name: "no test rows", champ: good, cand: good, tolerance: 0.02, testRows: nil, pass: false, wantReason: "✗ could not compare with champion"},
		{name: "test rows unreadable", champ: good, cand: good, tolerance: 0.02,
			testRows: func() (*dataset.Frame, error) { return nil, errors.New("test.csv: gone") }, pass: false, wantReason: "test.csv: gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, registry.Gate{MinR2: -1, MaxRMSE: 1e9, MaxRegression: tc.tolerance})
			if tc.name == "no test rows" || tc.testRows != nil {
				e.reg.TestRows = tc.testRows
			}
			v1 := e.register(tc.champ, great)
			if _, err := e.reg.Promote(e.ctx, v1, engine.ActionRequest{}); err != nil {
				t.Fatalf("first promotion: %v", err)
			}
			v2 := e.register(tc.cand, great)
			g, err := e.reg.Check(e.ctx, v2)
			if err != nil {
				t.Fatal(err)
			}
			if g.Pass != tc.pass || !slices.ContainsFunc(g.Reasons, func(r string) bool { return strings.Contains(r, tc.wantReason) }) {
				t.Fatalf("pass %v (want %v), reasons %q (want %q)", g.Pass, tc.pass, g.Reasons, tc.wantReason)
			}
			if tc.testRows == nil && tc.name != "no test rows" {
				n := rows.Len()
				if !slices.ContainsFunc(g.Reasons, func(r string) bool { return strings.Contains(r, "on the same "+strconv.Itoa(n)+" rows") }) {
					t.Errorf("reasons %q do not name the %d shared rows", g.Reasons, n)
				}
			}
		})
	}
}

func TestPromote(t *testing.T) {
	good, bad, _ := fixtures(t)
	ok := map[string]float64{"test.r2": 0.9, "test.rmse": 2000}
	e := newEnv(t, registry.Gate{MinR2: 0.7, MaxRMSE: 6000, MaxRegression: 0.02})
	v1 := e.register(good, ok)
	alice := engine.Actor{Name: "alice", Fingerprint: "SHA256:abc", Role: "operator"}
	g, err := e.reg.Promote(e.ctx, "v"+v1, engine.ActionRequest{Actor: alice})
	if err != nil || !g.Pass || e.champion() != v1 {
		t.Fatalf("promote v%s: %v %+v, champion %q", v1, err, g, e.champion())
	}
	v2 := e.register(bad, ok) // regresses against v1 on the shared rows

	cases := []struct {
		name    string
		version string
		req     engine.ActionRequest
		errIs   error
		errHas  string
	}{
		{name: "gate fails", version: v2, req: engine.ActionRequest{Actor: alice}, errIs: registry.ErrGate, errHas: "regresses"},
		{name: "force without a reason", version: v2, req: engine.ActionRequest{Actor: alice, Force: true}, errHas: "--force needs --reason"},
		{name: "force with a blank reason", version: v2, req: engine.ActionRequest{Actor: alice, Force: true, Reason: " \t"}, errHas: "--force needs --reason"},
		{name: "not a version", version: "latest", req: engine.ActionRequest{Actor: alice}, errHas: `model version "latest"`},
		{name: "version zero", version: "0", req: engine.ActionRequest{Actor: alice}, errHas: "positive number"},
		{name: "unknown version", version: "99", req: engine.ActionRequest{Actor: alice, Force: true, Reason: "x"}, errIs: store.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.reg.Promote(e.ctx, tc.version, tc.req)
			if err == nil {
				t.Fatal("promotion accepted")
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("error %v is not %v", err, tc.errIs)
			}
			if tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not say %q", err, tc.errHas)
			}
			if c := e.champion(); c != v1 {
				t.Fatalf("a refused promotion moved the champion to %s", c)
			}
		})
	}

	// Forced with a reason: promoted, and the move records who and why.
	g, err = e.reg.Promote(e.ctx, v2, engine.ActionRequest{Actor: alice, Force: true, Reason: "hotfix for the demo"})
	if err != nil || g.Pass || e.champion() != v2 {
		t.Fatalf("forced promotion: %v, gate pass %v, champion %s", err, g.Pass, e.champion())
	}
	hist, err := e.st.AliasHistory(e.ctx, registry.Champion)
	if err != nil || len(hist) != 2 {
		t.Fatalf("champion history %+v %v", hist, err)
	}
	first, last := hist[0], hist[1]
	if first.Reason != "gate passed" || first.ToVersion != v1 || first.FromVersion != "" {
		t.Errorf("first move %+v", first)
	}
	if last.Kind != store.EventPromote || last.Reason != "forced past the gate: hotfix for the demo" ||
		last.Actor != "alice (SHA256:abc)" || last.FromVersion != v1 || last.ToVersion != v2 {
		t.Errorf("forced move %+v", last)
	}
	// Promoting the champion again is refused by the store, not silently repeated.
	if _, err := e.reg.Promote(e.ctx, v2, engine.ActionRequest{Force: true, Reason: "again"}); !errors.Is(err, store.ErrAliasUnchanged) {
		t.Errorf("re-promoting the champion: %v", err)
	}
}

func TestRollbackWalksBack(t *testing.T) {
	good, _, _ := fixtures(t)
	e := newEnv(t, lenient)
	var vs []string
	for i := 0; i < 3; i++ {
		v := e.register(good, map[string]float64{"test.r2": 0.9, "test.rmse": 2000})
		if _, err := e.reg.Promote(e.ctx, v, engine.ActionRequest{Actor: engine.Actor{Name: "bob"}}); err != nil {
			t.Fatalf("promote %s: %v", v, err)
		}
		vs = append(vs, v)
	}
	for _, want := range []string{vs[1], vs[0]} {
		got, err := e.reg.Rollback(e.ctx, engine.ActionRequest{})
		if err != nil || got != want || e.champion() != want {
			t.Fatalf("rollback → %q (%v), champion %s; want %s", got, err, e.champion(), want)
		}
	}
	if _, err := e.reg.Rollback(e.ctx, engine.ActionRequest{}); !errors.Is(err, store.ErrNoPrevious) {
		t.Fatalf("rollback past the first champion: %v", err)
	}
	hist, _ := e.st.AliasHistory(e.ctx, registry.Champion)
	last := hist[len(hist)-1]
	if last.Kind != store.EventRollback || last.Actor != "local" || last.Reason != "rollback" || last.FromVersion != vs[1] || last.ToVersion != vs[0] {
		t.Errorf("last rollback event %+v", last)
	}
	// No champion at all: nothing to roll back.
	empty := newEnv(t, lenient)
	if _, err := empty.reg.Rollback(empty.ctx, engine.ActionRequest{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rollback without a champion: %v", err)
	}
}

func TestRegistrarRecordsRuns(t *testing.T) {
	good, _, _ := fixtures(t)
	e := newEnv(t, lenient)
	run, err := e.reg.StartRun(e.ctx, "carol", "datahash", "cfghash")
	if err != nil {
		t.Fatal(err)
	}
	err = e.reg.FinishRun(e.ctx, run, pipeline.RunRecord{Status: "succeeded",
		Metrics:   map[string]float64{"test.rmse": 1234.5, "temporal.r2": math.NaN(), "x": math.Inf(1)},
		Params:    map[string]string{"seed": "42"},
		Artifacts: []pipeline.FileHash{{Path: "artifacts/model.cvm", SHA256: strings.Repeat("ab", 32), Bytes: 10}}})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	r, _ := e.st.GetRun(e.ctx, run)
	ms, _ := e.st.LatestMetrics(e.ctx, run)
	arts, _ := e.st.RunArtifacts(e.ctx, run)
	if r.Status != store.RunSucceeded || r.Who != "carol" || len(ms) != 1 || ms["test.rmse"] != 1234.5 || len(arts) != 1 {
		t.Fatalf("run %+v metrics %v artifacts %v (non-finite metrics must be dropped)", r, ms, arts)
	}
	failed, _ := e.reg.StartRun(e.ctx, "carol", "", "")
	if err := e.reg.FinishRun(e.ctx, failed, pipeline.RunRecord{Status: "failed", Err: "clean: every row filtered"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.st.GetRun(e.ctx, failed); r.Status != store.RunFailed || r.Error != "clean: every row filtered" {
		t.Fatalf("failed run %+v", r)
	}
	// A failed run cannot register a model.
	m, _ := model.Decode(good)
	m.Save(filepath.Join(e.dir, "m.cvm"))
	if _, err := e.reg.Register(e.ctx, failed, m, nil, nil); err == nil {
		t.Fatal("registered a model from a failed run")
	}
	v := e.register(good, map[string]float64{"test.rmse": math.NaN(), "test.r2": 0.8})
	mv, _ := e.st.ModelVersion(e.ctx, v)
	if _, has := mv.Metrics["test.rmse"]; has || mv.Metrics["test.r2"] != 0.8 || !slices.Contains(mv.Aliases, registry.Challenger) {
		t.Fatalf("registered version %+v", mv)
	}
	if got, ok, err := e.reg.HasModel(e.ctx, mv.SHA256); !ok || got != v || err != nil {
		t.Fatalf("HasModel(%s) = %s %v %v", mv.SHA256, got, ok, err)
	}
	if _, ok, _ := e.reg.HasModel(e.ctx, strings.Repeat("0", 64)); ok {
		t.Fatal("HasModel found an unregistered file")
	}
	res, ok, err := e.reg.Resolve(e.ctx, registry.Challenger)
	if !ok || err != nil || res.Version != v {
		t.Fatalf("Resolve(challenger) = %+v %v %v", res, ok, err)
	}
}

func TestMetricRows(t *testing.T) {
	a := map[string]float64{"test.rmse": 3000, "test.r2": 0.8, "test.mape": 20.5, "old.only": 1}
	b := map[string]float64{"test.rmse": 2900, "test.r2": 0.8, "test.mape": 21.25, "new.only": 7}
	cases := []struct {
		diffOnly bool
		want     []engine.DiffRow
	}{
		{false, []engine.DiffRow{
			{Path: "p", Name: "new.only", Old: "-", New: "7", Change: "-"},
			{Path: "p", Name: "old.only", Old: "1", New: "-", Change: "-"},
			{Path: "p", Name: "test.mape", Old: "20.5", New: "21.25", Change: "+0.75"},
			{Path: "p", Name: "test.r2", Old: "0.8", New: "0.8", Change: "0"},
			{Path: "p", Name: "test.rmse", Old: "3000", New: "2900", Change: "-100"},
		}},
		{true, []engine.DiffRow{
			{Path: "p", Name: "new.only", Old: "-", New: "7", Change: "-"},
			{Path: "p", Name: "old.only", Old: "1", New: "-", Change: "-"},
			{Path: "p", Name: "test.mape", Old: "20.5", New: "21.25", Change: "+0.75"},
			{Path: "p", Name: "test.rmse", Old: "3000", New: "2900", Change: "-100"},
		}},
	}
	for _, tc := range cases {
		got := registry.MetricRows("p", a, b, tc.diffOnly)
		if !slices.Equal(got, tc.want) {
			t.Errorf("diffOnly=%v:\n got %+v\nwant %+v", tc.diffOnly, got, tc.want)
		}
	}
	if rows := registry.MetricRows("p", nil, nil, false); len(rows) != 0 {
		t.Errorf("two empty maps give %v", rows)
	}
}

func TestParamRows(t *testing.T) {
	a := map[string]string{"seed": "42", "training.params": `{"trees":60}`, "gone": "x"}
	b := map[string]string{"seed": "42", "training.params": `{"trees":80}`, "added": "y"}
	cases := []struct {
		diffOnly bool
		want     []engine.DiffRow
	}{
		{false, []engine.DiffRow{
			{Path: "params", Name: "added", Old: "-", New: "y", Change: "changed"},
			{Path: "params", Name: "gone", Old: "x", New: "-", Change: "changed"},
			{Path: "params", Name: "seed", Old: "42", New: "42", Change: "-"},
			{Path: "params", Name: "training.params", Old: `{"trees":60}`, New: `{"trees":80}`, Change: "changed"},
		}},
		{true, []engine.DiffRow{
			{Path: "params", Name: "added", Old: "-", New: "y", Change: "changed"},
			{Path: "params", Name: "gone", Old: "x", New: "-", Change: "changed"},
			{Path: "params", Name: "training.params", Old: `{"trees":60}`, New: `{"trees":80}`, Change: "changed"},
		}},
	}
	for _, tc := range cases {
		got := registry.ParamRows("params", a, b, tc.diffOnly)
		if !slices.Equal(got, tc.want) {
			t.Errorf("diffOnly=%v:\n got %+v\nwant %+v", tc.diffOnly, got, tc.want)
		}
	}
}

func TestDiffVersions(t *testing.T) {
	good, bad, _ := fixtures(t)
	e := newEnv(t, lenient)
	v1 := e.register(good, map[string]float64{"test.rmse": 2000, "test.r2": 0.9})
	v2 := e.register(bad, map[string]float64{"test.rmse": 2500, "test.r2": 0.9})
	d, err := e.reg.Diff(e.ctx, "v"+v1, v2, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.DiffRow{{Path: "metrics.json", Name: "test.rmse", Old: "2000", New: "2500", Change: "+500"}}
	if d.A != v1 || d.B != v2 || !slices.Equal(d.Metrics, want) || len(d.Params) != 0 {
		t.Fatalf("diff %+v", d)
	}
	if _, err := e.reg.Diff(e.ctx, v1, "42", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("diff with an unknown version: %v", err)
	}
}

// A config reload replaces the gate while promotions may be checking it.
func TestSetGateWhileChecking(t *testing.T) {
	good, _, _ := fixtures(t)
	e := newEnv(t, registry.Gate{MinR2: 0.7, MaxRMSE: 6000})
	v := e.register(good, map[string]float64{"test.r2": 0.8, "test.rmse": 3000})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			e.reg.SetGate(registry.Gate{MinR2: 0.9, MaxRMSE: 6000})
		}
	}()
	for i := 0; i < 20; i++ {
		if _, err := e.reg.Check(e.ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if g, _ := e.reg.Check(e.ctx, v); g.Pass || !hasReason(g, "✗", "R² 0.8000 < 0.90") {
		t.Fatalf("the new gate is not in force: %+v", g)
	}
}
