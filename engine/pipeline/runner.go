package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"carvision/engine"
	"carvision/engine/model"
)

// Registrar records runs and registers models; the store implements it.
// A nil Registrar (as for `carvision train`) skips the register stage.
type Registrar interface {
	StartRun(ctx context.Context, who, dataHash, configHash string) (string, error)
	FinishRun(ctx context.Context, runID string, r RunRecord) error
	// Register adds the model as a new version (alias challenger) and returns the version.
	Register(ctx context.Context, runID string, m *model.Model, metrics map[string]float64, params map[string]string) (string, error)
	// HasModel reports whether a model file with this sha256 is registered.
	HasModel(ctx context.Context, sha string) (string, bool, error)
}

// RunRecord is what a finished run leaves in the store.
type RunRecord struct {
	Status    string // succeeded | failed
	Err       string
	LockHash  string
	Params    map[string]string
	Metrics   map[string]float64
	Artifacts []FileHash
}

// Options controls one repro.
type Options struct {
	Settings   Settings
	Force      bool
	DryRun     bool
	Wait       bool // wait for another repro's lock instead of refusing
	NoLock     bool // write no carvision.lock (train into a folder)
	Who        string
	ConfigHash string
	Registrar  Registrar
	OnEvent    func(engine.PipelineEvent)
	Now        func() time.Time
}

// StageResult is one stage's outcome in a run.
type StageResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"` // ran | skipped | would-run | up-to-date | failed
	Why      string        `json:"why,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Result is a repro's outcome.
type Result struct {
	RunID     string             `json:"run_id,omitempty"`
	Version   string             `json:"version,omitempty"`
	Stages    []StageResult      `json:"stages"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	ModelPath string             `json:"model_path,omitempty"`
	Duration  time.Duration      `json:"duration_ns"`
}

// Ran reports whether any stage ran.
func (r *Result) Ran() bool {
	for _, s := range r.Stages {
		if s.Status == "ran" {
			return true
		}
	}
	return false
}

// ErrBusy is returned when another repro holds the pipeline lock.
var ErrBusy = errors.New("another repro is running (pass --wait to wait for it)")

// Repro runs the pipeline. Outputs are staged in a private folder and moved
// into place only when every stage succeeded, so a failed or killed run
// leaves the last good artifacts and carvision.lock untouched.
func Repro(ctx context.Context, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := opt.Settings
	start := opt.Now()
	if err := os.MkdirAll(s.Abs(s.ArtifactsDir), 0o755); err != nil {
		return nil, fmt.Errorf("repro: %w", err)
	}
	unlock, err := acquire(s.Abs(filepath.Join(s.ArtifactsDir, ".repro.lock")), opt.Wait, opt.DryRun)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cleanStaging(s.Abs(s.ArtifactsDir))

	lock := &Lock{Schema: LockSchema}
	if !opt.NoLock && s.LockPath != "" {
		if lock, err = ReadLock(s.Abs(s.LockPath)); err != nil {
			return nil, err
		}
	}
	st := &state{s: s, opt: opt, lock: lock, newLock: &Lock{Schema: LockSchema}}
	st.staging = s.Abs(filepath.Join(s.ArtifactsDir, fmt.Sprintf(".staging-%d", os.Getpid())))
	defer os.RemoveAll(st.staging)

	res := &Result{}
	stages := st.stages()
	if opt.Registrar != nil && !opt.DryRun {
		if err := st.resolveData(); err != nil {
			return nil, err
		}
		dh, _ := HashFile(st.dataPath)
		if res.RunID, err = opt.Registrar.StartRun(ctx, opt.Who, dh.SHA256, opt.ConfigHash); err != nil {
			return nil, fmt.Errorf("repro: start run: %w", err)
		}
		st.runID = res.RunID
	}
	fail := func(stage string, err error) (*Result, error) {
		// Files already moved into place (and the lock) go back to the last
		// good run's.
		st.rollback()
		res.Stages = append(res.Stages, StageResult{Name: stage, Status: "failed", Why: err.Error()})
		st.emit(engine.PipelineEvent{Stage: stage, Status: "failed", Done: true, Err: err.Error(), RunID: res.RunID})
		if opt.Registrar != nil && res.RunID != "" {
			// The run's failure is recorded even though ctx may be cancelled.
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = opt.Registrar.FinishRun(fctx, res.RunID, RunRecord{Status: "failed", Err: fmt.Sprintf("%s: %v", stage, err), Params: st.params()})
			cancel()
		}
		return res, fmt.Errorf("repro: stage %s: %w", stage, err)
	}

	// publish moves the staged outputs into place and writes the lock. It
	// runs before the register stage, so that a run whose files cannot be
	// put in place registers nothing; a later failure rolls it back.
	published := false
	publish := func(writeLock bool) (string, error) {
		if published {
			return "", nil
		}
		published = true
		if err := st.commit(); err != nil {
			return "commit", err
		}
		if writeLock && !opt.NoLock && s.LockPath != "" {
			if err := st.writeLock(s.Abs(s.LockPath)); err != nil {
				return "lock", err
			}
		}
		return "", nil
	}

	upstreamRan := ""
	for i, stg := range stages {
		if err := ctx.Err(); err != nil {
			return fail(stg.name, err)
		}
		st.stageIdx, st.stageCount = i, len(stages)
		t0 := opt.Now()
		deps, err := stg.deps(st)
		if err != nil && opt.DryRun && upstreamRan != "" {
			// A dry run writes nothing: an input that an earlier stage would
			// (re)create may be missing now, and that is no error.
			res.Stages = append(res.Stages, StageResult{Name: stg.name, Status: "would-run", Why: "upstream stage " + upstreamRan + " will run"})
			upstreamRan = stg.name
			continue
		}
		if err != nil {
			return fail(stg.name, err)
		}
		params := stg.params(s)
		// Paths relative to the root: a project cloned elsewhere keeps its keys.
		key := stageKey(stg.code, relHashes(s, deps), params)
		why := st.why(stg, key, deps, params)
		if opt.Force {
			why = "forced"
		}
		if why == "" && upstreamRan != "" && opt.DryRun {
			why = "upstream stage " + upstreamRan + " will run"
		}
		if opt.DryRun {
			status := "up-to-date"
			if why != "" {
				status = "would-run"
				upstreamRan = stg.name
			}
			res.Stages = append(res.Stages, StageResult{Name: stg.name, Status: status, Why: why})
			continue
		}
		if why == "" {
			prev, _ := lock.Stage(stg.name)
			st.newLock.set(prev)
			res.Stages = append(res.Stages, StageResult{Name: stg.name, Status: "skipped", Why: "up to date"})
			st.emit(engine.PipelineEvent{Stage: stg.name, Status: "skipped", Fraction: 1, Message: stg.name + ": up to date"})
			continue
		}
		st.emit(engine.PipelineEvent{Stage: stg.name, Status: "running", Message: stg.name + ": " + why})
		if stg.name == "register" {
			st.newLock.set(StageLock{Name: stg.name, Code: stg.code, Key: key, Deps: relHashes(s, deps), Params: params})
			if name, err := publish(true); err != nil {
				return fail(name, err)
			}
		}
		if err := stg.run(ctx, st); err != nil {
			return fail(stg.name, err)
		}
		outs, err := st.hashOuts(stg.outs(st))
		if err != nil {
			return fail(stg.name, err)
		}
		st.newLock.set(StageLock{Name: stg.name, Code: stg.code, Key: key, Deps: relHashes(s, deps), Params: params, Outs: outs})
		d := opt.Now().Sub(t0)
		res.Stages = append(res.Stages, StageResult{Name: stg.name, Status: "ran", Why: why, Duration: d})
		st.emit(engine.PipelineEvent{Stage: stg.name, Status: "done", Fraction: 1, Took: d, Message: fmt.Sprintf("%s: done in %s", stg.name, d.Round(time.Millisecond))})
		upstreamRan = stg.name
	}
	if opt.DryRun {
		res.Duration = opt.Now().Sub(start)
		return res, nil
	}
	// Every stage succeeded: move staged outputs into place, then the lock
	// (unless the register stage already did).
	if name, err := publish(res.Ran()); err != nil {
		return fail(name, err)
	}
	res.Metrics = st.metrics
	res.ModelPath = s.Abs(filepath.Join(s.ArtifactsDir, ModelFile))
	res.Version = st.version
	if opt.Registrar != nil && res.RunID != "" {
		lh, _ := HashFile(s.Abs(s.LockPath))
		arts := []FileHash{}
		for _, sl := range st.newLock.Stages {
			arts = append(arts, sl.Outs...)
		}
		if err := opt.Registrar.FinishRun(ctx, res.RunID, RunRecord{Status: "succeeded", LockHash: lh.SHA256, Params: st.params(), Metrics: st.metrics, Artifacts: arts}); err != nil {
			return res, fmt.Errorf("repro: finish run: %w", err)
		}
	}
	res.Duration = opt.Now().Sub(start)
	st.emit(engine.PipelineEvent{Stage: "done", Status: "done", Fraction: 1, Done: true, RunID: res.RunID, Version: res.Version,
		Message: fmt.Sprintf("repro finished in %s", res.Duration.Round(time.Millisecond))})
	return res, nil
}

// why says why a stage must run, or "" when it is up to date.
func (st *state) why(stg stage, key string, deps []FileHash, params map[string]string) string {
	prev, ok := st.lock.Stage(stg.name)
	if !ok {
		return "never ran"
	}
	if prev.Code != stg.code {
		return fmt.Sprintf("code version %d → %d", prev.Code, stg.code)
	}
	if prev.Key != key {
		var changed []string
		old := map[string]string{}
		for _, d := range prev.Deps {
			old[d.Path] = d.SHA256
		}
		for _, d := range relHashes(st.s, deps) {
			if old[d.Path] != d.SHA256 {
				changed = append(changed, d.Path)
			}
		}
		var pch []string
		for k, v := range params {
			if prev.Params[k] != v {
				pch = append(pch, k)
			}
		}
		for k := range prev.Params {
			if _, ok := params[k]; !ok {
				pch = append(pch, k)
			}
		}
		sort.Strings(pch)
		var parts []string
		if len(changed) > 0 {
			parts = append(parts, "changed deps: "+strings.Join(changed, ", "))
		}
		if len(pch) > 0 {
			parts = append(parts, "changed params: "+strings.Join(pch, ", "))
		}
		if len(parts) == 0 {
			return "inputs changed"
		}
		return strings.Join(parts, "; ")
	}
	// Outputs moved (a new processed_dir or artifacts_dir): the stage must
	// write them where the next stage will look.
	var want, had []string
	for _, p := range stg.outs(st) {
		want = append(want, st.s.rel(p))
	}
	for _, o := range prev.Outs {
		had = append(had, o.Path)
	}
	if !slices.Equal(want, had) {
		return "changed outs: " + strings.Join(want, ", ")
	}
	for _, o := range prev.Outs {
		h, err := HashFile(st.s.Abs(o.Path))
		if err != nil {
			return "missing output " + o.Path
		}
		if h.SHA256 != o.SHA256 {
			return "modified output " + o.Path
		}
	}
	if stg.intact != nil {
		if w := stg.intact(st, prev); w != "" {
			return w
		}
	}
	return ""
}

func relHashes(s Settings, hs []FileHash) []FileHash {
	out := make([]FileHash, len(hs))
	for i, h := range hs {
		h.Path = s.rel(h.Path)
		out[i] = h
	}
	return out
}

func (st *state) hashOuts(paths []string) ([]FileHash, error) {
	var out []FileHash
	for _, p := range paths {
		h, err := HashFile(st.in(p))
		if err != nil {
			return nil, fmt.Errorf("hash output: %w", err)
		}
		h.Path = st.s.rel(p)
		out = append(out, h)
	}
	return out, nil
}

func (st *state) emit(e engine.PipelineEvent) {
	if st.opt.OnEvent == nil {
		return
	}
	if e.At.IsZero() {
		e.At = st.opt.Now()
	}
	if e.Stage != "done" && st.stageCount > 0 && !e.Done {
		// Overall fraction: finished stages plus this stage's share.
		e.Fraction = (float64(st.stageIdx) + e.Fraction) / float64(st.stageCount)
	}
	st.opt.OnEvent(e)
}

// acquire takes the pipeline's file lock: two repros never interleave.
func acquire(path string, wait, shared bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("repro lock %s: %w", path, err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("repro lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// cleanStaging removes staging folders left by killed runs.
func cleanStaging(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".staging-") {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// moved is a file commit put in place, and where the file it replaced
// waits ("" when there was none) until the run ends.
type moved struct{ path, backup string }

// commit moves every staged output into its final place. The files it
// replaces are kept in the staging folder until the run ends, so that a
// failure part-way, or a later failed registration, can put them back;
// on error it has already done so.
func (st *state) commit() error {
	for _, p := range st.staged {
		src := st.stagedPath(p)
		if err := st.commitOne(src, p); err != nil {
			st.rollback()
			return fmt.Errorf("move %s into place: %w", st.s.rel(p), err)
		}
	}
	st.staged = nil
	return nil
}

func (st *state) commitOne(src, p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	backup := ""
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s is a folder", p)
		}
		backup = filepath.Join(st.staging, ".previous", st.stagingRel(p))
		if err := os.MkdirAll(filepath.Dir(backup), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, backup); err != nil {
			return err
		}
	}
	st.moved = append(st.moved, moved{path: p, backup: backup})
	return os.Rename(src, p)
}

// rollback undoes commit and writeLock, newest first.
func (st *state) rollback() {
	for i := len(st.moved) - 1; i >= 0; i-- {
		m := st.moved[i]
		if m.backup == "" {
			_ = os.Remove(m.path)
			continue
		}
		_ = os.Rename(m.backup, m.path)
	}
	st.moved = nil
	if st.lockWritten {
		st.lockWritten = false
		if st.oldLock == nil {
			_ = os.Remove(st.lockPath)
		} else {
			_ = model.WriteFileAtomic(st.lockPath, st.oldLock, 0o644)
		}
	}
}

// writeLock writes the new lock, keeping the old bytes for rollback.
func (st *state) writeLock(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read lock %s: %w", path, err)
	}
	if err := WriteLock(path, st.newLock); err != nil {
		return err
	}
	st.lockPath, st.oldLock, st.lockWritten = path, old, true
	return nil
}

func (st *state) stagedPath(p string) string {
	return filepath.Join(st.staging, st.stagingRel(p))
}

// stagingRel is where final path p lives inside the staging folder: its
// path relative to the project root, or, for a path outside the root (as
// `carvision train --out` elsewhere), the whole path, so that a staged file
// never lands outside the staging folder.
func (st *state) stagingRel(p string) string {
	r := st.s.rel(p)
	if filepath.IsAbs(r) || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.Join("_outside", p)
	}
	return r
}

// out returns where a stage writes final path p during this run.
func (st *state) out(p string) string {
	if !slices.Contains(st.staged, p) {
		st.staged = append(st.staged, p)
	}
	sp := st.stagedPath(p)
	_ = os.MkdirAll(filepath.Dir(sp), 0o755)
	return sp
}

// in returns where to read final path p: the staged copy if this run wrote it.
func (st *state) in(p string) string {
	if slices.Contains(st.staged, p) {
		return st.stagedPath(p)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
