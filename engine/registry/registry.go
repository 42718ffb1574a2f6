// Package registry is the model registry's policy over the store: register a
// retrain as challenger, promote through the gate, roll back.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/evaluate"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/store"
)

// Aliases the registry moves.
const (
	Champion   = "champion"
	Challenger = "challenger"
)

// Gate is the promotion gate from config.yaml.
type Gate struct {
	MinR2         float64 // absolute: test R² at least this
	MaxRMSE       float64 // absolute: test RMSE at most this
	MaxRegression float64 // relative RMSE/MAPE worsening tolerated vs the champion
}

// Registry implements pipeline.Registrar and the promotion policy.
type Registry struct {
	Store *store.Store
	// Gate is read under mu: a config reload replaces it (SetGate) while
	// promotions run.
	Gate Gate
	mu   sync.RWMutex
	// TestRows loads the rows both models are scored on for the regression
	// check (the current test split).
	TestRows func() (*dataset.Frame, error)
}

// SetGate replaces the gate (a config reload), safely against running checks.
func (r *Registry) SetGate(g Gate) {
	r.mu.Lock()
	r.Gate = g
	r.mu.Unlock()
}

func (r *Registry) gate() Gate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.Gate
}

// StartRun records a new running run.
func (r *Registry) StartRun(ctx context.Context, who, dataHash, configHash string) (string, error) {
	return r.Store.StartRun(ctx, store.RunStart{Kind: store.RunRepro, Who: who, DataHash: dataHash, ConfigHash: configHash})
}

// FinishRun records the run's outcome in one transaction.
func (r *Registry) FinishRun(ctx context.Context, runID string, rec pipeline.RunRecord) error {
	res := store.RunResult{Params: rec.Params, LockHash: rec.LockHash}
	keys := make([]string, 0, len(rec.Metrics))
	for k := range rec.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := rec.Metrics[k]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			res.Metrics = append(res.Metrics, store.Metric{Key: k, Value: v})
		}
	}
	for _, a := range rec.Artifacts {
		res.Artifacts = append(res.Artifacts, store.Artifact{Path: a.Path, SHA256: a.SHA256, Bytes: a.Bytes})
	}
	status := store.RunSucceeded
	if rec.Status != "succeeded" {
		status = store.RunFailed
	}
	_, err := r.Store.FinishRun(ctx, runID, status, rec.Err, res)
	return err
}

// Register adds m as a new version with alias challenger.
func (r *Registry) Register(ctx context.Context, runID string, m *model.Model, metrics map[string]float64, params map[string]string) (string, error) {
	schema, _ := json.Marshal(m.Info().Features)
	clean := map[string]float64{}
	for k, v := range metrics {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			clean[k] = v
		}
	}
	return r.Store.RegisterModel(ctx, store.NewModel{
		RunID: runID, Path: m.Path, SHA256: m.SHA256, Metrics: clean, Params: params,
		SchemaJSON: string(schema), Alias: Challenger, Move: store.Move{Actor: "repro", Reason: "new retrain"},
	})
}

// HasModel reports whether a model file with this sha256 is registered.
func (r *Registry) HasModel(ctx context.Context, sha string) (string, bool, error) {
	vs, err := r.Store.ModelVersions(ctx)
	if err != nil {
		return "", false, err
	}
	for _, v := range vs {
		if v.SHA256 == sha {
			return v.Version, true, nil
		}
	}
	return "", false, nil
}

// Resolve returns the version an alias points at.
func (r *Registry) Resolve(ctx context.Context, alias string) (store.ModelVersion, bool, error) {
	v, ok, err := r.Store.Alias(ctx, alias)
	if err != nil || !ok {
		return store.ModelVersion{}, ok, err
	}
	mv, err := r.Store.ModelVersion(ctx, v)
	return mv, err == nil, err
}

// Check runs the gate for version: absolute thresholds on its test metrics,
// and no regression versus the champion beyond the tolerance, both models
// scored on the same test rows.
func (r *Registry) Check(ctx context.Context, version string) (engine.GateResult, error) {
	cand, err := r.Store.ModelVersion(ctx, version)
	if err != nil {
		return engine.GateResult{}, err
	}
	res := engine.GateResult{Pass: true}
	fail := func(format string, args ...any) {
		res.Pass = false
		res.Reasons = append(res.Reasons, "✗ "+fmt.Sprintf(format, args...))
	}
	ok := func(format string, args ...any) {
		res.Reasons = append(res.Reasons, "✓ "+fmt.Sprintf(format, args...))
	}
	gate := r.gate()
	r2, rmse := cand.Metrics["test.r2"], cand.Metrics["test.rmse"]
	if r2 >= gate.MinR2 {
		ok("R² %.4f ≥ %.2f", r2, gate.MinR2)
	} else {
		fail("R² %.4f < %.2f", r2, gate.MinR2)
	}
	if rmse <= gate.MaxRMSE {
		ok("RMSE %.0f ≤ %.0f", rmse, gate.MaxRMSE)
	} else {
		fail("RMSE %.0f > %.0f", rmse, gate.MaxRMSE)
	}
	champ, has, err := r.Resolve(ctx, Champion)
	if err != nil {
		return res, err
	}
	if !has || champ.Version == cand.Version {
		ok("no other champion to compare with")
		return res, nil
	}
	a, b, n, err := r.scoreBoth(champ.Path, cand.Path)
	if err != nil {
		fail("could not compare with champion v%s: %v", champ.Version, err)
		return res, nil
	}
	tol := gate.MaxRegression
	if b.RMSE <= a.RMSE*(1+tol) {
		ok("RMSE %.0f vs champion v%s %.0f on the same %d rows (tolerance %.1f%%)", b.RMSE, champ.Version, a.RMSE, n, 100*tol)
	} else {
		fail("RMSE %.0f regresses vs champion v%s %.0f on the same %d rows (> %.1f%%)", b.RMSE, champ.Version, a.RMSE, n, 100*tol)
	}
	if b.MAPE <= a.MAPE*(1+tol) {
		ok("MAPE %.2f%% vs champion %.2f%%", b.MAPE, a.MAPE)
	} else {
		fail("MAPE %.2f%% regresses vs champion %.2f%% (> %.1f%%)", b.MAPE, a.MAPE, 100*tol)
	}
	return res, nil
}

func (r *Registry) scoreBoth(champPath, candPath string) (a, b evaluate.Metrics, n int, err error) {
	if r.TestRows == nil {
		return a, b, 0, errors.New("no test rows configured")
	}
	rows, err := r.TestRows()
	if err != nil {
		return a, b, 0, err
	}
	ma, err := model.Load(champPath)
	if err != nil {
		return a, b, 0, err
	}
	mb, err := model.Load(candPath)
	if err != nil {
		return a, b, 0, err
	}
	a = evaluate.Score(rows.Price, pipeline.PredictFrame(ma, rows))
	b = evaluate.Score(rows.Price, pipeline.PredictFrame(mb, rows))
	return a, b, rows.Len(), nil
}

// ErrGate is returned when a promotion fails the gate without --force.
var ErrGate = errors.New("promotion gate failed")

// Promote moves champion to version through the gate. Force skips a failed
// gate but needs a reason; the gate's verdict is recorded either way.
func (r *Registry) Promote(ctx context.Context, version string, req engine.ActionRequest) (engine.GateResult, error) {
	if _, err := store.ParseVersion(version); err != nil {
		return engine.GateResult{}, err
	}
	version = strings.TrimPrefix(version, "v")
	if req.Force && strings.TrimSpace(req.Reason) == "" {
		return engine.GateResult{}, errors.New("--force needs --reason")
	}
	gate, err := r.Check(ctx, version)
	if err != nil {
		return gate, err
	}
	if !gate.Pass && !req.Force {
		return gate, fmt.Errorf("%w for v%s: %s", ErrGate, version, strings.Join(failed(gate), "; "))
	}
	reason := req.Reason
	if reason == "" {
		reason = "gate passed"
	}
	if !gate.Pass {
		reason = "forced past the gate: " + reason
	}
	return gate, r.Store.SetAlias(ctx, Champion, version, store.Move{Actor: actorName(req.Actor), Reason: reason})
}

// Rollback moves champion back to the previous champion.
func (r *Registry) Rollback(ctx context.Context, req engine.ActionRequest) (string, error) {
	reason := req.Reason
	if reason == "" {
		reason = "rollback"
	}
	return r.Store.Rollback(ctx, Champion, store.Move{Actor: actorName(req.Actor), Reason: reason})
}

// Diff compares two versions metric by metric and param by param, in the
// shape of `dvc metrics diff`.
func (r *Registry) Diff(ctx context.Context, a, b string, diffOnly bool) (engine.ModelDiff, error) {
	va, err := r.Store.ModelVersion(ctx, strings.TrimPrefix(a, "v"))
	if err != nil {
		return engine.ModelDiff{}, err
	}
	vb, err := r.Store.ModelVersion(ctx, strings.TrimPrefix(b, "v"))
	if err != nil {
		return engine.ModelDiff{}, err
	}
	d := engine.ModelDiff{A: va.Version, B: vb.Version}
	d.Metrics = MetricRows("metrics.json", va.Metrics, vb.Metrics, diffOnly)
	d.Params = ParamRows("params", va.Params, vb.Params, diffOnly)
	return d, nil
}

// MetricRows diffs two metric maps: path, metric, old, new, change.
func MetricRows(path string, a, b map[string]float64, diffOnly bool) []engine.DiffRow {
	keys := union(a, b)
	var out []engine.DiffRow
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		row := engine.DiffRow{Path: path, Name: k, Old: "-", New: "-", Change: "-"}
		if oka {
			row.Old = fmtNum(va)
		}
		if okb {
			row.New = fmtNum(vb)
		}
		if oka && okb {
			if va == vb {
				if diffOnly {
					continue
				}
				row.Change = "0"
			} else {
				row.Change = signed(vb - va)
			}
		}
		out = append(out, row)
	}
	return out
}

// ParamRows diffs two param maps.
func ParamRows(path string, a, b map[string]string, diffOnly bool) []engine.DiffRow {
	keys := union(a, b)
	var out []engine.DiffRow
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if diffOnly && oka && okb && va == vb {
			continue
		}
		row := engine.DiffRow{Path: path, Name: k, Old: "-", New: "-", Change: "-"}
		if oka {
			row.Old = va
		}
		if okb {
			row.New = vb
		}
		if va != vb {
			row.Change = "changed"
		}
		out = append(out, row)
	}
	return out
}

func union[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func signed(v float64) string {
	s := fmtNum(v)
	if v > 0 {
		return "+" + s
	}
	return s
}

func failed(g engine.GateResult) []string {
	var out []string
	for _, r := range g.Reasons {
		if strings.HasPrefix(r, "✗") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(r, "✗")))
		}
	}
	return out
}

func actorName(a engine.Actor) string {
	if a.Name == "" {
		return "local"
	}
	if a.Fingerprint != "" {
		return a.Name + " (" + a.Fingerprint + ")"
	}
	return a.Name
}
