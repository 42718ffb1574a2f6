package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"carvision/engine"
	"carvision/runbook/checks"
)

// State is a step's state in an execution.
type State string

// Step states; the verdicts are spelled as the store records them.
const (
	Pending State = "pending"
	Running State = "running"
	Pass    State = "pass"
	Warn    State = "warn"
	Fail    State = "fail"
	Skipped State = "skipped"
	Errored State = "error" // the step could not run
)

// Errors of Execution.Run.
var (
	// ErrNeedsConfirmation: the step is an action or dangerous; run it with Confirmed.
	ErrNeedsConfirmation = errors.New("step needs confirmation")
	// ErrBusy: another step of the execution is running.
	ErrBusy = errors.New("another step is running")
)

// Pointer says which step (or other runbook) addresses a failure.
type Pointer struct {
	Step    int    `json:"step"` // index in this runbook, -1 when elsewhere
	Name    string `json:"name,omitempty"`
	Runbook string `json:"runbook,omitempty"` // another runbook
	Hint    string `json:"hint,omitempty"`
}

// String is "→ step 5 reload-config: hint" or "→ runbook x: hint".
func (p Pointer) String() string {
	var where string
	switch {
	case p.Step >= 0:
		where = fmt.Sprintf("step %d %s", p.Step+1, p.Name)
	case p.Runbook != "":
		where = "runbook " + p.Runbook
	}
	switch {
	case where == "":
		return p.Hint
	case p.Hint == "":
		return "→ " + where
	}
	return "→ " + where + ": " + p.Hint
}

// StepRun is one step's state and outcome in an execution.
type StepRun struct {
	State    State          `json:"state"`
	Result   *checks.Result `json:"result,omitempty"`    // check steps
	Output   string         `json:"output,omitempty"`    // sh and action steps (tail, capped)
	Dropped  int64          `json:"dropped,omitempty"`   // output bytes beyond the cap
	ExitCode int            `json:"exit_code,omitempty"` // sh steps
	Started  time.Time      `json:"started,omitempty"`
	Duration time.Duration  `json:"duration,omitempty"`
	Note     string         `json:"note,omitempty"` // why skipped, refused or errored
	Next     *Pointer       `json:"next,omitempty"` // what addresses a failure
	Resumed  bool           `json:"resumed,omitempty"`
	// RecordErr is set when the store refused the record.
	RecordErr string `json:"record_error,omitempty"`
}

// Summary is the step's one-line outcome.
func (s StepRun) Summary() string {
	switch {
	case s.Result != nil && s.Result.Finding != "":
		return s.Result.Finding
	case s.Note != "":
		return s.Note
	}
	return ""
}

// Runner executes runbooks against an Env and records every step.
type Runner struct {
	Env checks.Env
	Rec Recorder
	Log *slog.Logger
	// Concurrency bounds RunChecks (default: the number of CPUs, at least 2).
	Concurrency int
}

// NewRunner returns a runner; a nil rec keeps records in memory.
func NewRunner(env checks.Env, rec Recorder) *Runner {
	if rec == nil {
		rec = &MemRecorder{}
	}
	return &Runner{Env: env, Rec: rec, Log: slog.Default()}
}

// Execution is one run of a runbook by one actor. Its methods are safe for
// concurrent use (the console reads it while a step runs).
type Execution struct {
	ID       string
	Runbook  *Runbook
	Actor    engine.Actor
	ReadOnly bool

	r    *Runner
	memo *checks.Memo

	mu      sync.Mutex
	steps   []StepRun
	running map[int]*capBuffer
}

// Start begins a new execution of rb.
func (r *Runner) Start(rb *Runbook, actor engine.Actor, readOnly bool) *Execution {
	e := &Execution{ID: r.Rec.NewExecutionID(), Runbook: rb, Actor: actor, ReadOnly: readOnly, r: r,
		memo: &checks.Memo{}, steps: make([]StepRun, len(rb.Steps)), running: map[int]*capBuffer{}}
	for i := range e.steps {
		e.steps[i].State = Pending
	}
	return e
}

// Resume continues execution execID: steps whose last record passed stay
// passed (RunAll skips them); the others are pending again. New records
// join the same execution.
func (r *Runner) Resume(ctx context.Context, lib *Library, execID string, actor engine.Actor, readOnly bool) (*Execution, error) {
	recs, err := r.Rec.Execution(ctx, execID)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", execID, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("resume %s: no such execution", execID)
	}
	rb, ok := lib.Get(recs[0].Runbook)
	if !ok {
		return nil, fmt.Errorf("resume %s: runbook %q is no longer in the library", execID, recs[0].Runbook)
	}
	e := r.Start(rb, actor, readOnly)
	e.ID = execID
	last := map[string]Record{}
	for _, rec := range recs {
		last[rec.Step] = rec
	}
	for i, st := range rb.Steps {
		rec, ok := last[st.Name]
		if !ok {
			continue
		}
		if rec.Verdict != Pass {
			e.steps[i].Note = "last run: " + string(rec.Verdict)
			continue
		}
		sr := StepRun{State: Pass, Resumed: true, Started: rec.At, Duration: rec.Duration}
		var ev Evidence
		if json.Unmarshal([]byte(rec.Evidence), &ev) == nil {
			sr.Result, sr.Output, sr.Note = ev.Result, ev.Output, ev.Note
			if ev.ExitCode != nil {
				sr.ExitCode = *ev.ExitCode
			}
		}
		e.steps[i] = sr
	}
	return e, nil
}

// Steps returns a copy of every step's state.
func (e *Execution) Steps() []StepRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.steps)
}

// Step returns one step's state; while the step runs, Output is its live tail.
func (e *Execution) Step(i int) StepRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.steps) {
		return StepRun{}
	}
	s := e.steps[i]
	if b, ok := e.running[i]; ok {
		s.Output, s.Dropped = b.Snapshot()
	}
	return s
}

// Busy reports whether a step is running.
func (e *Execution) Busy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running) > 0
}

// IsReadOnly reports whether state changes are refused for this execution:
// the read-only flag, a viewer actor or a read-only engine.
func (e *Execution) IsReadOnly() bool {
	return e.ReadOnly || e.Actor.Role == "viewer" || e.r.Env.Client().Capabilities().ReadOnly
}

// Refusal returns why step i may not run in this execution ("" = it may).
func (e *Execution) Refusal(i int) string {
	if i < 0 || i >= len(e.Runbook.Steps) {
		return "no such step"
	}
	if e.Runbook.Steps[i].Mutates() && e.IsReadOnly() {
		return "refused: read-only session (" + e.roWhy() + ")"
	}
	return ""
}

func (e *Execution) roWhy() string {
	switch {
	case e.ReadOnly:
		return "--readonly"
	case e.Actor.Role == "viewer":
		return "role viewer"
	}
	return "read-only engine"
}

// RunOptions qualify one step run.
type RunOptions struct {
	Confirmed bool   // the operator confirmed an action or dangerous step
	Reason    string // recorded with actions ("" = runbook and step)
}

// Run runs step i now, whatever its when-condition (the operator chose
// it). A step that needs confirmation returns ErrNeedsConfirmation unless
// opts.Confirmed; a state-changing step in a read-only execution is
// refused (recorded as skipped, error wrapping engine.ErrReadOnly).
func (e *Execution) Run(ctx context.Context, i int, opts RunOptions) (StepRun, error) {
	if i < 0 || i >= len(e.Runbook.Steps) {
		return StepRun{}, fmt.Errorf("runbook %s: no step %d", e.Runbook.ID, i+1)
	}
	st := &e.Runbook.Steps[i]
	if why := e.Refusal(i); why != "" {
		sr := e.finish(ctx, i, StepRun{State: Skipped, Note: why}, e.now())
		return sr, fmt.Errorf("step %s: %s: %w", st.Name, why, engine.ErrReadOnly)
	}
	if st.NeedsConfirm() && !opts.Confirmed {
		return e.Step(i), fmt.Errorf("step %s (%s): %w", st.Name, st.Label(), ErrNeedsConfirmation)
	}
	if !e.claim(i, true) {
		return e.Step(i), ErrBusy
	}
	return e.exec(ctx, i, opts), nil
}

// Skip marks step i skipped (the operator chose not to run it).
func (e *Execution) Skip(ctx context.Context, i int, why string) (StepRun, error) {
	if i < 0 || i >= len(e.Runbook.Steps) {
		return StepRun{}, fmt.Errorf("runbook %s: no step %d", e.Runbook.ID, i+1)
	}
	e.mu.Lock()
	_, busy := e.running[i]
	e.mu.Unlock()
	if busy {
		return e.Step(i), ErrBusy
	}
	if why == "" {
		why = "skipped by " + actorName(e.Actor)
	}
	return e.finish(ctx, i, StepRun{State: Skipped, Note: why}, e.now()), nil
}

// claim marks i running; exclusive refuses when anything else runs.
func (e *Execution) claim(i int, exclusive bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.running[i]; ok || (exclusive && len(e.running) > 0) {
		return false
	}
	e.running[i] = newCapBuffer(int(e.r.Env.Config().Runbooks.ShOutputCap))
	e.steps[i] = StepRun{State: Running, Started: e.now()}
	return true
}

func (e *Execution) now() time.Time { return e.r.Env.Now() }

// exec runs a claimed step and records it.
func (e *Execution) exec(ctx context.Context, i int, opts RunOptions) StepRun {
	st := &e.Runbook.Steps[i]
	start := e.now()
	e.record(ctx, i, StepRun{State: Running, Started: start})
	e.mu.Lock()
	out := e.running[i]
	e.mu.Unlock()
	var sr StepRun
	switch st.Kind {
	case KindCheck:
		sr = e.runCheck(ctx, st)
	case KindSh:
		sr = e.runSh(ctx, st, out)
	case KindAction:
		sr = e.runAction(ctx, st, opts, out)
	}
	sr.Started = start
	return e.finish(ctx, i, sr, start)
}

// finish stores the final state, points a failure at its fix and records it.
func (e *Execution) finish(ctx context.Context, i int, sr StepRun, start time.Time) StepRun {
	if sr.Started.IsZero() {
		sr.Started = start
	}
	sr.Duration = max(e.now().Sub(start), 0)
	if sr.State == Fail || sr.State == Warn {
		sr.Next = e.pointer(i, sr)
	}
	sr.RecordErr = e.record(ctx, i, sr)
	e.mu.Lock()
	delete(e.running, i)
	e.steps[i] = sr
	e.mu.Unlock()
	return sr
}

func (e *Execution) runCheck(ctx context.Context, st *Step) StepRun {
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Timeout)
		defer cancel()
	}
	res := checks.Run(ctx, st.Check, checks.Input{Env: e.r.Env, Params: st.Params, Memo: e.memo})
	state := State(res.Verdict)
	if res.Verdict == checks.Error {
		state = Errored
	}
	return StepRun{State: state, Result: &res}
}

func (e *Execution) runSh(ctx context.Context, st *Step, out *capBuffer) StepRun {
	env := e.r.Env
	cfg := env.Config()
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = cfg.Runbooks.ShTimeout
	}
	vars := shellEnv(env.Root(), cfg.Source.Path, env.DataPath(), env.LogPath(), e.Runbook.ID, st.Name, e.ID)
	res := runShell(ctx, st.Body, env.Root(), vars, timeout, out)
	text, dropped := out.Snapshot()
	sr := StepRun{Output: text, Dropped: dropped, ExitCode: res.exit}
	switch {
	case res.err != nil:
		sr.State, sr.Note = Errored, "could not run: "+res.err.Error()
	case res.timedOut:
		sr.State, sr.Note = Fail, fmt.Sprintf("timed out after %s", timeout)
	case res.exit != 0:
		sr.State, sr.Note = Fail, fmt.Sprintf("exit code %d", res.exit)
	default:
		sr.State, sr.Note = Pass, "exit code 0"
	}
	return sr
}

// pointer finds what addresses a failed or warned step: the check's fix
// attribute, the step its result names, another runbook it names, or the
// next action step.
func (e *Execution) pointer(i int, sr StepRun) *Pointer {
	rb := e.Runbook
	st := &rb.Steps[i]
	var fix *checks.Fix
	if sr.Result != nil {
		fix = sr.Result.Fix
	}
	hint := ""
	if fix != nil {
		hint = fix.Hint
	}
	at := func(j int) *Pointer { return &Pointer{Step: j, Name: rb.Steps[j].Name, Hint: hint} }
	if st.Fix != "" {
		if s, ok := rb.Step(st.Fix); ok {
			return at(s.Index)
		}
	}
	if st.Kind != KindCheck {
		return nil
	}
	if fix != nil && fix.Step != "" {
		for j := i + 1; j < len(rb.Steps); j++ {
			if s := &rb.Steps[j]; s.Name == fix.Step || (s.Kind == KindAction && s.Do == fix.Step) {
				return at(j)
			}
		}
	}
	if fix != nil && fix.Runbook != "" && fix.Runbook != rb.ID {
		return &Pointer{Step: -1, Runbook: fix.Runbook, Hint: fix.String()}
	}
	for j := i + 1; j < len(rb.Steps); j++ {
		if rb.Steps[j].Kind == KindAction {
			return at(j)
		}
	}
	if fix != nil {
		return &Pointer{Step: -1, Hint: fix.String()}
	}
	return nil
}

// record writes a step record; it returns the store's complaint, if any.
func (e *Execution) record(ctx context.Context, i int, sr StepRun) string {
	st := &e.Runbook.Steps[i]
	ev := Evidence{Kind: st.Kind, Label: st.Label(), Result: sr.Result, Note: sr.Note, Next: sr.Next, Dropped: sr.Dropped}
	if sr.Output != "" {
		ev.Output = sr.Output
		if len(ev.Output) > maxRecordedOutput {
			ev.Dropped += int64(len(ev.Output) - maxRecordedOutput)
			ev.Output = ev.Output[len(ev.Output)-maxRecordedOutput:]
		}
		ev.Output = strings.ToValidUTF8(ev.Output, "")
	}
	if st.Kind == KindSh && sr.State != Running && sr.State != Skipped {
		code := sr.ExitCode
		ev.ExitCode = &code
	}
	data, err := json.Marshal(ev)
	if err != nil {
		data, _ = json.Marshal(Evidence{Kind: st.Kind, Label: st.Label(), Note: "evidence not encodable: " + err.Error()})
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = e.r.Rec.RecordStep(rctx, Record{ExecutionID: e.ID, Runbook: e.Runbook.ID, Step: st.Name, Verdict: sr.State,
		Evidence: string(data), Who: actorName(e.Actor), At: sr.Started, Duration: sr.Duration})
	if err != nil {
		if e.r.Log != nil {
			e.r.Log.Warn("runbook record", "runbook", e.Runbook.ID, "step", st.Name, "execution", e.ID, "err", err)
		}
		return err.Error()
	}
	return ""
}

func actorName(a engine.Actor) string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Fingerprint != "":
		return a.Fingerprint
	}
	return "unknown"
}

// conditionMet evaluates step i's when-condition against the states so far.
func (e *Execution) conditionMet(i int) (bool, string) {
	st := &e.Runbook.Steps[i]
	cond, ref := st.Condition()
	if cond == WhenAlways {
		return true, ""
	}
	steps := e.Steps()
	bad := func(s State) bool { return s == Fail || s == Warn }
	if ref != "" {
		r, _ := e.Runbook.Step(ref)
		s := steps[r.Index].State
		if cond == WhenFailed {
			return bad(s), fmt.Sprintf("%s did not fail", ref)
		}
		return s == Pass, fmt.Sprintf("%s did not pass", ref)
	}
	anyBad, allPass := false, true
	for j := 0; j < i; j++ {
		if e.Runbook.Steps[j].Kind != KindCheck {
			continue
		}
		switch s := steps[j].State; {
		case bad(s):
			anyBad, allPass = true, false
		case s == Errored:
			allPass = false
		}
	}
	if cond == WhenFailed {
		return anyBad, "no earlier check failed"
	}
	return allPass, "an earlier check did not pass"
}

// AllOptions configure RunAll.
type AllOptions struct {
	Yes        bool   // confirm actions and dangerous steps (non-interactive)
	OnlyChecks bool   // run check steps only
	Reason     string // recorded with actions
	// OnStep is called after each step settles (ran, skipped or refused).
	OnStep func(i int, s StepRun)
}

// Outcome is how RunAll ended.
type Outcome struct {
	// StoppedAt is the step RunAll stopped before (it needs confirmation
	// and Yes was not given); -1 when it ran to the end.
	StoppedAt int
	Refused   []int // steps refused by read-only
}

// RunAll runs the steps in order: passed steps (of a resumed execution)
// are kept, when-conditions are honoured, state-changing steps are refused
// in read-only, and it stops before a step needing confirmation unless Yes.
func (e *Execution) RunAll(ctx context.Context, opts AllOptions) Outcome {
	out := Outcome{StoppedAt: -1}
	notify := func(i int) {
		if opts.OnStep != nil {
			opts.OnStep(i, e.Step(i))
		}
	}
	for i := range e.Runbook.Steps {
		if ctx.Err() != nil {
			out.StoppedAt = i
			return out
		}
		st := &e.Runbook.Steps[i]
		if e.Step(i).State == Pass {
			notify(i)
			continue
		}
		if opts.OnlyChecks && st.Kind != KindCheck {
			e.finish(ctx, i, StepRun{State: Skipped, Note: "only checks"}, e.now())
			notify(i)
			continue
		}
		if ok, why := e.conditionMet(i); !ok {
			e.finish(ctx, i, StepRun{State: Skipped, Note: fmt.Sprintf("when %s: %s", st.When, why)}, e.now())
			notify(i)
			continue
		}
		if why := e.Refusal(i); why != "" {
			e.finish(ctx, i, StepRun{State: Skipped, Note: why}, e.now())
			out.Refused = append(out.Refused, i)
			notify(i)
			continue
		}
		if st.NeedsConfirm() && !opts.Yes {
			out.StoppedAt = i
			return out
		}
		if _, err := e.Run(ctx, i, RunOptions{Confirmed: true, Reason: opts.Reason}); err != nil && !errors.Is(err, engine.ErrReadOnly) {
			out.StoppedAt = i
			return out
		}
		notify(i)
	}
	return out
}

// RunChecks runs every check step that has not passed and is not a
// verification waiting on an earlier non-check step, a few at a time. It
// returns ErrBusy when a step is already running.
func (e *Execution) RunChecks(ctx context.Context) error {
	var todo []int
	for _, i := range e.Runbook.Checks() {
		st := &e.Runbook.Steps[i]
		if _, ref := st.Condition(); ref != "" {
			if r, _ := e.Runbook.Step(ref); r.Kind != KindCheck {
				continue
			}
		}
		if e.Step(i).State != Pass {
			todo = append(todo, i)
		}
	}
	e.mu.Lock()
	busy := len(e.running) > 0
	if !busy {
		for _, i := range todo {
			e.running[i] = newCapBuffer(1 << 10)
			e.steps[i] = StepRun{State: Running, Started: e.now()}
		}
	}
	e.mu.Unlock()
	if busy {
		return ErrBusy
	}
	n := e.r.Concurrency
	if n <= 0 {
		n = max(runtime.NumCPU(), 2)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			e.exec(ctx, i, RunOptions{})
		}(i)
	}
	wg.Wait()
	return nil
}

// ExitCode is the CLI's verdict: 2 when a step could not run, 1 when a
// check failed or warned (unless a later run of the same check passed) or
// an sh/action step failed, else 0.
func (e *Execution) ExitCode() int {
	steps := e.Steps()
	code := 0
	for i, s := range steps {
		st := &e.Runbook.Steps[i]
		switch s.State {
		case Errored:
			return 2
		case Fail, Warn:
			if st.Kind == KindCheck && e.resolvedLater(i, steps) {
				continue
			}
			code = 1
		}
	}
	return code
}

// resolvedLater reports whether a later step ran the same check and
// passed (a fix was applied and verified).
func (e *Execution) resolvedLater(i int, steps []StepRun) bool {
	st := &e.Runbook.Steps[i]
	for j := i + 1; j < len(steps); j++ {
		o := &e.Runbook.Steps[j]
		if o.Kind == KindCheck && o.Check == st.Check && steps[j].State == Pass {
			return true
		}
	}
	return false
}

// CheckRun is one distinct check of the library and its result.
type CheckRun struct {
	Check    string        `json:"check"`
	Params   checks.Params `json:"params,omitempty"`
	Runbooks []string      `json:"runbooks"` // runbook/step pairs that use it
	Result   checks.Result `json:"result"`
}

// CheckLibrary runs every distinct check (id and parameters) of every
// runbook once, a few at a time, sharing one memo: the "run all checks"
// health sweep. Verification checks that wait on an action are left out.
// Results are in library order. Nothing is recorded.
func (r *Runner) CheckLibrary(ctx context.Context, lib *Library) []CheckRun {
	var runs []CheckRun
	index := map[string]int{}
	for _, rb := range lib.List() {
		for _, i := range rb.Checks() {
			st := &rb.Steps[i]
			if _, ref := st.Condition(); ref != "" {
				if d, _ := rb.Step(ref); d.Kind != KindCheck {
					continue
				}
			}
			key := st.Check + "|" + st.Params.Key()
			j, ok := index[key]
			if !ok {
				j = len(runs)
				index[key] = j
				runs = append(runs, CheckRun{Check: st.Check, Params: st.Params})
			}
			runs[j].Runbooks = append(runs[j].Runbooks, rb.ID+"/"+st.Name)
		}
	}
	memo := &checks.Memo{}
	n := r.Concurrency
	if n <= 0 {
		n = max(runtime.NumCPU(), 2)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for j := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j int) {
			defer wg.Done()
			defer func() { <-sem }()
			runs[j].Result = checks.Run(ctx, runs[j].Check, checks.Input{Env: r.Env, Params: runs[j].Params, Memo: memo})
		}(j)
	}
	wg.Wait()
	return runs
}
