package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"carvision/engine"
	"carvision/engine/dataset"
	"carvision/engine/drift"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/market"
	"carvision/engine/model"
	"carvision/engine/prep"
	"carvision/engine/split"
	"carvision/engine/synth"
)

// File names inside the artifacts and processed folders.
const (
	ModelFile    = "model.cvm"
	MetricsFile  = "metrics.json"
	ValidateFile = "validate.json"
	CleanReport  = "clean_report.json"
	CleanCSV     = "clean.csv"
)

// SynthPath is where the synthetic default dataset is generated when the
// raw file is absent (deterministic: same rows, same bytes, every time).
const SynthPath = "data/synthetic/vehicles_us.csv"

type stage struct {
	name   string
	code   int // bump when the stage's logic changes its outputs
	deps   func(*state) ([]FileHash, error)
	params func(Settings) map[string]string
	outs   func(*state) []string
	run    func(context.Context, *state) error
	intact func(*state, StageLock) string // extra up-to-date check beyond files
}

type state struct {
	s           Settings
	opt         Options
	lock        *Lock
	newLock     *Lock
	staging     string
	staged      []string
	moved       []moved // files commit put in place, for rollback
	lockPath    string
	oldLock     []byte // the lock's bytes before this run wrote it (nil: none)
	lockWritten bool
	runID       string
	stageIdx    int
	stageCount  int

	dataPath string
	raw      *dataset.Frame
	clean    *dataset.Frame
	model    *model.Model
	metrics  map[string]float64
	version  string
}

func (st *state) processed(name string) string {
	return st.s.Abs(filepath.Join(st.s.ProcessedDir, name))
}
func (st *state) artifact(name string) string {
	return st.s.Abs(filepath.Join(st.s.ArtifactsDir, name))
}

// resolveData picks the raw CSV, generating the synthetic default if absent.
func (st *state) resolveData() error {
	if st.dataPath != "" {
		return nil
	}
	p := st.s.Abs(st.s.DataPath)
	if exists(p) {
		st.dataPath = p
		return nil
	}
	sp := st.s.Abs(SynthPath)
	if !exists(sp) {
		f := synth.Generate(st.s.SynthRows, st.s.SynthSeed)
		if err := os.MkdirAll(filepath.Dir(sp), 0o755); err != nil {
			return fmt.Errorf("generate synthetic default: %w", err)
		}
		if err := f.WriteCSVFile(sp, false); err != nil {
			return fmt.Errorf("generate synthetic default: %w", err)
		}
	}
	st.dataPath = sp
	return nil
}

// deps hashes a stage's input files: the copy this run staged if there is
// one, recorded under the file's final path.
func (st *state) deps(paths ...string) ([]FileHash, error) {
	var out []FileHash
	for _, p := range paths {
		h, err := HashFile(st.in(p))
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", st.s.rel(p), err)
		}
		h.Path = p
		out = append(out, h)
	}
	return out, nil
}

func (st *state) stages() []stage {
	list := []stage{
		{name: "validate", code: 1,
			deps: func(st *state) ([]FileHash, error) {
				if err := st.resolveData(); err != nil {
					return nil, err
				}
				return st.deps(st.dataPath)
			},
			params: func(s Settings) map[string]string { return map[string]string{"paths.data_path": s.DataPath} },
			outs:   func(st *state) []string { return []string{st.artifact(ValidateFile)} },
			run:    runValidate},
		{name: "clean", code: 1,
			deps: func(st *state) ([]FileHash, error) { return st.deps(st.dataPath) },
			params: func(s Settings) map[string]string {
				return map[string]string{"preprocessing.filters": jsonParam(s.Filters)}
			},
			outs: func(st *state) []string { return []string{st.processed(CleanCSV), st.artifact(CleanReport)} },
			run:  runClean},
		{name: "split", code: 1,
			deps: func(st *state) ([]FileHash, error) { return st.deps(st.processed(CleanCSV)) },
			params: func(s Settings) map[string]string {
				return map[string]string{"seed": strconv.FormatInt(s.Seed, 10),
					"training.val_size": jsonParam(s.ValSize), "training.test_size": jsonParam(s.TestSize)}
			},
			outs: func(st *state) []string {
				return []string{st.processed("train.csv"), st.processed("valid.csv"), st.processed("test.csv")}
			},
			run: runSplit},
		{name: "train", code: 1,
			deps: func(st *state) ([]FileHash, error) {
				return st.deps(st.processed("train.csv"), st.processed("valid.csv"))
			},
			params: trainParams,
			outs:   func(st *state) []string { return []string{st.artifact(ModelFile)} },
			run:    runTrain},
		{name: "evaluate", code: 2, // 2: rows.raw counts the raw file's rows
			deps: func(st *state) ([]FileHash, error) {
				return st.deps(st.artifact(ModelFile), st.processed("test.csv"), st.processed(CleanCSV), st.artifact(CleanReport))
			},
			params: func(s Settings) map[string]string {
				return map[string]string{"evaluation.bootstrap": jsonParam([]any{s.Bootstrap, s.BootSeed}),
					"evaluation.temporal.test_size": jsonParam(s.TemporalFrac),
					"evaluation.segments":           jsonParam([]any{s.SegmentMinN, s.SegmentCols})}
			},
			outs: func(st *state) []string { return []string{st.artifact(MetricsFile)} },
			run:  runEvaluate},
	}
	if st.opt.Registrar != nil {
		list = append(list, stage{name: "register", code: 1,
			deps: func(st *state) ([]FileHash, error) {
				return st.deps(st.artifact(ModelFile), st.artifact(MetricsFile))
			},
			params: func(Settings) map[string]string { return nil },
			outs:   func(*state) []string { return nil },
			run:    runRegister,
			intact: func(st *state, prev StageLock) string {
				if len(prev.Deps) == 0 {
					return "never registered"
				}
				if _, ok, err := st.opt.Registrar.HasModel(context.Background(), prev.Deps[0].SHA256); err != nil || !ok {
					return "model not in the store"
				}
				return ""
			}})
	}
	return list
}

func trainParams(s Settings) map[string]string {
	return map[string]string{
		"training.model":               s.Model,
		"training.target_transform":    s.Target,
		"training.refit":               jsonParam([]any{s.Refit, s.RefitFactor}),
		"training.params":              jsonParam(s.Params()),
		"training.features":            jsonParam(s.Features),
		"dataset_year":                 strconv.Itoa(s.DatasetYear),
		"preprocessing.drop_columns":   jsonParam(s.DropColumns),
		"evaluation.interval.coverage": jsonParam(s.Coverage),
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return model.WriteFileAtomic(path, append(b, '\n'), 0o644)
}

func (st *state) loadRaw() (*dataset.Frame, error) {
	if st.raw != nil {
		return st.raw, nil
	}
	f, err := dataset.Load(st.dataPath)
	if err != nil {
		return nil, err
	}
	st.raw = f
	return f, nil
}

func runValidate(ctx context.Context, st *state) error {
	f, err := st.loadRaw()
	if err != nil {
		return err
	}
	h, _ := HashFile(st.dataPath)
	rep := map[string]any{"source": st.s.rel(st.dataPath), "sha256": h.SHA256, "rows": f.Len(), "columns": engine.Columns,
		"missing": missingCounts(f)}
	return writeJSON(st.out(st.artifact(ValidateFile)), rep)
}

func missingCounts(f *dataset.Frame) map[string]int {
	num := map[string][]float64{"price": f.Price, "model_year": f.ModelYear, "cylinders": f.Cylinders,
		"odometer": f.Odometer, "is_4wd": f.Is4WD, "days_listed": f.DaysListed}
	txt := map[string][]string{"model": f.Model, "condition": f.Condition, "fuel": f.Fuel, "transmission": f.Transmission,
		"type": f.Type, "paint_color": f.PaintColor, "date_posted": f.DatePosted}
	out := map[string]int{}
	for k, v := range num {
		for _, x := range v {
			if math.IsNaN(x) {
				out[k]++
			}
		}
	}
	for k, v := range txt {
		for _, x := range v {
			if x == "" {
				out[k]++
			}
		}
	}
	return out
}

func runClean(ctx context.Context, st *state) error {
	f, err := st.loadRaw()
	if err != nil {
		return err
	}
	c, rep, err := prep.Clean(f, st.s.Filters)
	if err != nil {
		return err
	}
	st.clean = c
	if err := c.WriteCSVFile(st.out(st.processed(CleanCSV)), true); err != nil {
		return err
	}
	return writeJSON(st.out(st.artifact(CleanReport)), rep)
}

func (st *state) loadClean() (*dataset.Frame, error) {
	if st.clean != nil {
		return st.clean, nil
	}
	f, err := dataset.Load(st.in(st.processed(CleanCSV)))
	if err != nil {
		return nil, err
	}
	st.clean = f
	return f, nil
}

func runSplit(ctx context.Context, st *state) error {
	c, err := st.loadClean()
	if err != nil {
		return err
	}
	parts := split.Assign(c, st.s.Seed, st.s.ValSize, st.s.TestSize)
	for _, p := range []struct {
		name string
		part split.Part
	}{{"train.csv", split.Train}, {"valid.csv", split.Valid}, {"test.csv", split.Test}} {
		idx := split.Indices(parts, p.part)
		if len(idx) == 0 {
			return fmt.Errorf("split %s is empty (%d clean rows): add data or loosen the filters", p.name, c.Len())
		}
		if err := c.Select(idx).WriteCSVFile(st.out(st.processed(p.name)), true); err != nil {
			return err
		}
	}
	return nil
}

// Fit trains a model on train with early stopping on valid and packs it
// with its schema, drift reference, calibration and market context.
func Fit(ctx context.Context, s Settings, train, valid *dataset.Frame, onProgress func(gbdt.Progress)) (*model.Model, error) {
	names := s.Features
	if len(names) == 0 {
		names = features.Names(s.DropColumns)
	} else {
		names = without(names, s.DropColumns)
	}
	all := func(f *dataset.Frame) []int { return seq(f.Len()) }
	spec, err := features.Fit(train, all(train), names, s.DatasetYear)
	if err != nil {
		return nil, err
	}
	xt := spec.Matrix(train, all(train))
	xv := spec.Matrix(valid, all(valid))
	p := s.Params()
	t0 := time.Now()
	forest, err := gbdt.Train(ctx, xt, model.Transform(s.Target, train.Price), &xv, model.Transform(s.Target, valid.Price), p, onProgress)
	if err != nil {
		return nil, err
	}
	// Valid predictions of the early-stopped model are out of sample: they
	// calibrate the interval and give the drift reference its price
	// distribution even when the served model is refitted on train+valid.
	predValid := make([]float64, xv.Rows)
	forest.PredictBatch(xv, predValid, p.Threads)
	for i, v := range predValid {
		predValid[i] = model.InverseOf(s.Target, v)
	}
	both := Concat(train, valid)
	if s.Refit && p.Mode != "random_forest" {
		rp := p
		rp.EarlyStoppingRounds = 0
		rp.Trees = max(1, int(math.Ceil(float64(forest.NumTrees())*max(s.RefitFactor, 1))))
		xb := spec.Matrix(both, all(both))
		if forest, err = gbdt.Train(ctx, xb, model.Transform(s.Target, both.Price), nil, nil, rp, nil); err != nil {
			return nil, err
		}
	}
	fitSeconds := time.Since(t0).Seconds()
	meta := model.Meta{
		Kind: p.Mode, TrainedAt: time.Now().UTC().Truncate(time.Second), Spec: spec, Params: p,
		DropColumns: s.DropColumns, Metrics: map[string]float64{"fit_seconds": fitSeconds},
		RowsTrain: train.Len(), Filters: s.Filters, Target: s.Target,
	}
	if meta.Kind == "" {
		meta.Kind = "gbdt"
	}
	if s.scoreOnly {
		return model.New(meta, forest) // the backtest only scores: no serving context
	}
	ref := buildReference(spec, train, predValid)
	conf, err := market.FitConformal(valid.Price, predValid, s.Coverage, true)
	if err != nil {
		return nil, fmt.Errorf("calibrate interval: %w", err)
	}
	prices := append(append([]float64{}, train.Price...), valid.Price...)
	pi := market.NewPriceIndex(prices)
	comps := market.NewComparables(both)
	meta.Reference, meta.Conformal, meta.Prices, meta.Comparables = ref, &conf, &pi, comps
	return model.New(meta, forest)
}

func without(names, drop []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

// Concat stacks two frames (train and valid for the market context).
func Concat(a, b *dataset.Frame) *dataset.Frame {
	out := a.Select(seq(a.Len()))
	out.RowID = append(out.RowID, b.RowID...)
	out.Price = append(out.Price, b.Price...)
	out.ModelYear = append(out.ModelYear, b.ModelYear...)
	out.Model = append(out.Model, b.Model...)
	out.Condition = append(out.Condition, b.Condition...)
	out.Cylinders = append(out.Cylinders, b.Cylinders...)
	out.Fuel = append(out.Fuel, b.Fuel...)
	out.Odometer = append(out.Odometer, b.Odometer...)
	out.Transmission = append(out.Transmission, b.Transmission...)
	out.Type = append(out.Type, b.Type...)
	out.PaintColor = append(out.PaintColor, b.PaintColor...)
	out.Is4WD = append(out.Is4WD, b.Is4WD...)
	out.DatePosted = append(out.DatePosted, b.DatePosted...)
	out.DaysListed = append(out.DaysListed, b.DaysListed...)
	return out
}

func seq(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// buildReference captures the training distributions drift detection compares against.
func buildReference(spec features.Spec, train *dataset.Frame, predValid []float64) drift.Reference {
	age := make([]float64, train.Len())
	for i, y := range train.ModelYear {
		age[i] = prep.VehicleAge(y, spec.DatasetYear)
	}
	brand := make([]string, train.Len())
	for i, m := range train.Model {
		brand[i] = prep.Brand(m)
	}
	num := map[string][]float64{
		"vehicle_age": age, "model_year": train.ModelYear, "odometer": train.Odometer,
		"cylinders": train.Cylinders, "predicted_price": predValid,
	}
	cat := map[string][]string{
		"model": train.Model, "brand": brand, "condition": train.Condition, "fuel": train.Fuel,
		"transmission": train.Transmission, "type": train.Type, "paint_color": train.PaintColor,
	}
	return drift.BuildReference(num, cat)
}

func runTrain(ctx context.Context, st *state) error {
	train, err := dataset.Load(st.in(st.processed("train.csv")))
	if err != nil {
		return err
	}
	valid, err := dataset.Load(st.in(st.processed("valid.csv")))
	if err != nil {
		return err
	}
	total := st.s.Params().Trees
	t0 := time.Now()
	last := time.Time{}
	m, err := Fit(ctx, st.s, train, valid, func(p gbdt.Progress) {
		if time.Since(last) < 100*time.Millisecond && p.Tree < p.Total {
			return
		}
		last = time.Now()
		frac := float64(p.Tree) / float64(max(total, 1))
		eta := time.Duration(0)
		if frac > 0 {
			eta = time.Duration(float64(time.Since(t0)) * (1 - frac) / frac)
		}
		st.emit(engine.PipelineEvent{Stage: "train", Status: "running", Fraction: frac, ETA: eta,
			Message: fmt.Sprintf("tree %d/%d (early stopping may end sooner), valid rmse %.4g on the %s scale", p.Tree, p.Total, p.ValidLoss, scaleName(st.s.Target))})
	})
	if err != nil {
		return err
	}
	dh, _ := HashFile(st.dataPath)
	m.DataHash = dh.SHA256
	m.ConfigHash = st.opt.ConfigHash
	if _, err := m.Save(st.out(st.artifact(ModelFile))); err != nil {
		return err
	}
	st.model = m
	return nil
}

func runEvaluate(ctx context.Context, st *state) error {
	m := st.model
	if m == nil {
		var err error
		if m, err = model.Load(st.in(st.artifact(ModelFile))); err != nil {
			return err
		}
	}
	test, err := dataset.Load(st.in(st.processed("test.csv")))
	if err != nil {
		return err
	}
	clean, err := st.loadClean()
	if err != nil {
		return err
	}
	rep, err := Evaluate(ctx, st.s, m, clean, test)
	if err != nil {
		return err
	}
	// Evaluate sees the cleaned rows only; the raw count is clean's input.
	b, err := os.ReadFile(st.in(st.artifact(CleanReport)))
	if err != nil {
		return err
	}
	var cr prep.Report
	if err := json.Unmarshal(b, &cr); err != nil {
		return fmt.Errorf("read %s: %w", CleanReport, err)
	}
	rep.Rows.Raw = cr.RowsIn
	st.metrics = rep.Flat()
	return writeJSON(st.out(st.artifact(MetricsFile)), rep)
}

func runRegister(ctx context.Context, st *state) error {
	m := st.model
	if m == nil {
		var err error
		if m, err = model.Load(st.in(st.artifact(ModelFile))); err != nil {
			return err
		}
	}
	if st.metrics == nil {
		var rep Report
		b, err := os.ReadFile(st.in(st.artifact(MetricsFile)))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("read %s: %w", MetricsFile, err)
		}
		st.metrics = rep.Flat()
	}
	// The registered copy is content-addressed and written before the store
	// row, so a kill in between leaves an orphan file, never a dangling row.
	// The name holds the file's hash, not only the trees' ID: a retrain that
	// reproduces the trees (with a new fit time or config hash) must not
	// overwrite the file an earlier version's sha256 describes.
	data, err := m.Encode()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	dst := st.s.Abs(filepath.Join(st.s.ModelsDir, fmt.Sprintf("%s-%x.cvm", m.ID, sum[:6])))
	if _, err := m.Save(dst); err != nil {
		return err
	}
	v, err := st.opt.Registrar.Register(ctx, st.runID, m, st.metrics, st.params())
	if err != nil {
		return err
	}
	st.version = v
	st.emit(engine.PipelineEvent{Stage: "register", Status: "running", Fraction: 1, Message: "registered version " + v + " as challenger"})
	return nil
}

// params flattens the settings a run records.
func (st *state) params() map[string]string {
	out := map[string]string{}
	for _, stg := range st.stages() {
		for k, v := range stg.params(st.s) {
			out[k] = v
		}
	}
	return out
}

func scaleName(target string) string {
	switch target {
	case "sqrt":
		return "√price"
	case "log":
		return "log price"
	}
	return "price"
}
