package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"carvision/engine"
	"carvision/runbook/checks"
)

// CLIOptions configure `carvision runbook run`.
type CLIOptions struct {
	Yes        bool // run actions and dangerous steps without asking
	JSON       bool // one JSON document instead of text
	OnlyChecks bool // run check steps only
	Actor      engine.Actor
	ReadOnly   bool   // refuse state-changing steps
	Resume     string // continue this execution id instead of starting one
	Reason     string // recorded with actions
}

// Exit codes of RunCLI.
const (
	ExitOK     = 0 // every step that ran passed
	ExitFailed = 1 // a check failed or warned, or a step failed
	ExitError  = 2 // the runbook could not run (unknown id, step error)
)

// cliStep is one step in the JSON report.
type cliStep struct {
	Index      int            `json:"index"`
	Name       string         `json:"name"`
	Kind       Kind           `json:"kind"`
	Label      string         `json:"label"`
	State      State          `json:"state"`
	Finding    string         `json:"finding,omitempty"`
	Note       string         `json:"note,omitempty"`
	Next       *Pointer       `json:"next,omitempty"`
	DurationMS float64        `json:"duration_ms"`
	ExitCode   *int           `json:"exit_code,omitempty"`
	Output     string         `json:"output,omitempty"`
	Result     *checks.Result `json:"result,omitempty"`
}

type cliReport struct {
	Runbook   string    `json:"runbook"`
	Title     string    `json:"title"`
	Execution string    `json:"execution"`
	ExitCode  int       `json:"exit_code"`
	StoppedAt string    `json:"stopped_at,omitempty"`
	Stopped   string    `json:"stopped_reason,omitempty"`
	Steps     []cliStep `json:"steps"`
	Error     string    `json:"error,omitempty"`
}

// RunCLI runs runbook id non-interactively and prints the outcome to w:
// it stops before actions and dangerous steps unless opts.Yes, and returns
// ExitOK, ExitFailed or ExitError.
func RunCLI(ctx context.Context, w io.Writer, r *Runner, lib *Library, id string, opts CLIOptions) int {
	fail := func(msg string) int {
		if opts.JSON {
			writeJSON(w, cliReport{Runbook: id, ExitCode: ExitError, Error: msg})
		} else {
			fmt.Fprintln(w, "error: "+msg)
		}
		return ExitError
	}
	var e *Execution
	if opts.Resume != "" {
		var err error
		if e, err = r.Resume(ctx, lib, opts.Resume, opts.Actor, opts.ReadOnly); err != nil {
			return fail(err.Error())
		}
		if id != "" && e.Runbook.ID != id {
			return fail(fmt.Sprintf("execution %s is of runbook %s, not %s", opts.Resume, e.Runbook.ID, id))
		}
	} else {
		rb, ok := lib.Get(id)
		if !ok {
			return fail(unknownRunbook(lib, id))
		}
		e = r.Start(rb, opts.Actor, opts.ReadOnly)
	}
	rb := e.Runbook
	if !opts.JSON {
		fmt.Fprintf(w, "runbook %s: %s (execution %s)\n", rb.ID, rb.Title, e.ID)
	}
	onStep := func(i int, s StepRun) {
		if !opts.JSON {
			printStep(w, rb, i, s)
		}
	}
	out := e.RunAll(ctx, AllOptions{Yes: opts.Yes, OnlyChecks: opts.OnlyChecks, Reason: opts.Reason, OnStep: onStep})
	code := e.ExitCode()
	rep := cliReport{Runbook: rb.ID, Title: rb.Title, Execution: e.ID, ExitCode: code}
	if out.StoppedAt >= 0 {
		st := &rb.Steps[out.StoppedAt]
		rep.StoppedAt = st.Name
		rep.Stopped = "needs confirmation: rerun with --yes (or resume with --resume " + e.ID + " --yes)"
		if ctx.Err() != nil {
			rep.Stopped = "interrupted: " + ctx.Err().Error()
		}
	}
	if opts.JSON {
		for i, s := range e.Steps() {
			rep.Steps = append(rep.Steps, jsonStep(rb, i, s))
		}
		writeJSON(w, rep)
		return code
	}
	if out.StoppedAt >= 0 {
		st := &rb.Steps[out.StoppedAt]
		fmt.Fprintf(w, "stopped before step %d %s (%s): %s\n", out.StoppedAt+1, st.Name, st.Label(), rep.Stopped)
	}
	fmt.Fprintf(w, "result: %s; exit %d\n", tally(e.Steps()), code)
	return code
}

func unknownRunbook(lib *Library, id string) string {
	var ids []string
	for _, rb := range lib.List() {
		ids = append(ids, rb.ID)
	}
	msg := fmt.Sprintf("unknown runbook %q (known: %s)", id, strings.Join(ids, ", "))
	for _, p := range lib.Problems() {
		if strings.Contains(p.Error(), id) {
			msg += "; " + p.Error()
		}
	}
	return msg
}

func jsonStep(rb *Runbook, i int, s StepRun) cliStep {
	st := &rb.Steps[i]
	cs := cliStep{Index: i + 1, Name: st.Name, Kind: st.Kind, Label: st.Label(), State: s.State, Note: s.Note, Next: s.Next,
		DurationMS: float64(s.Duration) / float64(time.Millisecond), Output: s.Output, Result: s.Result}
	if s.Result != nil {
		cs.Finding = s.Result.Finding
	}
	if st.Kind == KindSh && (s.State == Pass || s.State == Fail) {
		code := s.ExitCode
		cs.ExitCode = &code
	}
	return cs
}

// Symbol is the text mark of a state (no colour needed).
func Symbol(s State) string {
	switch s {
	case Pass:
		return "✓"
	case Warn:
		return "▲"
	case Fail:
		return "✗"
	case Errored:
		return "!"
	case Running:
		return "…"
	case Skipped:
		return "-"
	}
	return "·"
}

func printStep(w io.Writer, rb *Runbook, i int, s StepRun) {
	st := &rb.Steps[i]
	line := fmt.Sprintf("%2d %s %-7s %-24s", i+1, Symbol(s.State), s.State, st.Name)
	if sum := s.Summary(); sum != "" {
		line += " " + sum
	}
	if s.Resumed {
		line += " (passed earlier)"
	} else if s.State != Skipped && s.Duration > 0 {
		line += fmt.Sprintf(" [%s]", s.Duration.Round(time.Millisecond))
	}
	fmt.Fprintln(w, line)
	if s.Next != nil {
		fmt.Fprintf(w, "             %s\n", s.Next)
	}
	if s.Output != "" && st.Kind != KindCheck {
		lines := strings.Split(strings.TrimRight(s.Output, "\n"), "\n")
		if len(lines) > 20 {
			fmt.Fprintf(w, "             … %d earlier lines\n", len(lines)-20)
			lines = lines[len(lines)-20:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "             | %s\n", l)
		}
	}
}

func tally(steps []StepRun) string {
	n := map[State]int{}
	for _, s := range steps {
		n[s.State]++
	}
	var parts []string
	for _, st := range []State{Fail, Errored, Warn, Pass, Skipped, Pending} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type listEntry struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Summary   string   `json:"summary"`
	Tags      []string `json:"tags"`
	Alerts    []string `json:"alerts"`
	Steps     int      `json:"steps"`
	Checks    int      `json:"checks"`
	Source    string   `json:"source"`
	Builtin   bool     `json:"builtin"`
	Overrides bool     `json:"overrides,omitempty"`
}

// PrintList writes the library as a table (or JSON: {runbooks, problems}).
func PrintList(w io.Writer, lib *Library, asJSON bool) error {
	var entries []listEntry
	for _, rb := range lib.List() {
		entries = append(entries, listEntry{ID: rb.ID, Title: rb.Title, Summary: rb.Summary, Tags: nonNil(rb.Tags), Alerts: nonNil(rb.Alerts),
			Steps: len(rb.Steps), Checks: len(rb.Checks()), Source: rb.Source, Builtin: rb.Builtin, Overrides: rb.Overrides})
	}
	var problems []string
	for _, p := range lib.Problems() {
		problems = append(problems, p.Error())
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Runbooks []listEntry `json:"runbooks"`
			Problems []string    `json:"problems"`
		}{entries, nonNil(problems)})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTEPS\tTAGS\tALERTS\tTITLE")
	for _, e := range entries {
		title := e.Title
		if e.Overrides {
			title += " (user override)"
		} else if !e.Builtin {
			title += " (user)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", e.ID, e.Steps, strings.Join(e.Tags, ","), dash(strings.Join(e.Alerts, ",")), title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(w, "problem: "+p)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// PrintShow writes one runbook with every step and its explanation (or
// the Runbook as JSON). An unknown id is an error listing the known ones.
func PrintShow(w io.Writer, lib *Library, id string, asJSON bool) error {
	rb, ok := lib.Get(id)
	if !ok {
		return fmt.Errorf("%s", unknownRunbook(lib, id))
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rb)
	}
	fmt.Fprintf(w, "%s: %s\n", rb.ID, rb.Title)
	if rb.Summary != "" {
		fmt.Fprintln(w, wrap(rb.Summary, 78, ""))
	}
	fmt.Fprintf(w, "tags: %s · alerts: %s · source: %s\n", dash(strings.Join(rb.Tags, ", ")), dash(strings.Join(rb.Alerts, ", ")), rb.Source)
	for i := range rb.Steps {
		st := &rb.Steps[i]
		var flags []string
		if st.Mutates() {
			flags = append(flags, "changes state")
		}
		if st.NeedsConfirm() {
			flags = append(flags, fmt.Sprintf("confirm %q", st.ConfirmText()))
		}
		if st.When != "" && st.When != WhenAlways {
			flags = append(flags, "when "+st.When)
		}
		if st.Timeout > 0 {
			flags = append(flags, "timeout "+st.Timeout.String())
		}
		fl := ""
		if len(flags) > 0 {
			fl = " [" + strings.Join(flags, ", ") + "]"
		}
		fmt.Fprintf(w, "\n%d. %s: %s%s\n", i+1, st.Name, st.Label(), fl)
		if st.Why != "" {
			fmt.Fprintln(w, wrap(st.Why, 76, "   "))
		}
		if st.Kind == KindSh {
			for _, l := range strings.Split(strings.TrimRight(st.Body, "\n"), "\n") {
				fmt.Fprintln(w, "   $ "+l)
			}
		}
		if st.Kind == KindCheck && len(st.Params) > 0 {
			keys := make([]string, 0, len(st.Params))
			for k := range st.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var kv []string
			for _, k := range keys {
				kv = append(kv, fmt.Sprintf("%s=%v", k, st.Params[k]))
			}
			fmt.Fprintln(w, "   params: "+strings.Join(kv, " "))
		}
	}
	if rb.After != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, wrap(rb.After, 78, ""))
	}
	return nil
}

// wrap re-flows prose paragraphs to width, keeping blank lines and code
// fences/lists as they are.
func wrap(text string, width int, indent string) string {
	var out []string
	for _, para := range strings.Split(text, "\n\n") {
		lines := strings.Split(para, "\n")
		keep := false
		for _, l := range lines {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "|") {
				keep = true
			}
		}
		if keep {
			for _, l := range lines {
				out = append(out, indent+l)
			}
			out = append(out, "")
			continue
		}
		line := indent
		for _, word := range strings.Fields(para) {
			if len(line) > len(indent) && len(line)+1+len(word) > width {
				out = append(out, line)
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += word
		}
		out = append(out, line, "")
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n ")
}
