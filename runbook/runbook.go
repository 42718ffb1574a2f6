// Package runbook turns operations runbooks into executable steps: markdown
// files with YAML front matter whose fenced blocks are built-in checks, shell
// commands and engine actions (runme-compatible), a library of them (the
// embedded set plus a user folder, reloaded on change), a runner that
// executes, records and resumes them, and the CLI printers.
package runbook

import (
	"slices"
	"strings"
	"time"

	"carvision/runbook/checks"
)

// Kind is what a step does.
type Kind string

// Step kinds.
const (
	KindCheck  Kind = "check"
	KindSh     Kind = "sh"
	KindAction Kind = "action"
)

// Actions an action step may call.
var Actions = []string{"repro", "promote", "rollback", "reload-config", "rotate-logs"}

// When conditions of a step.
const (
	WhenAlways = "always"
	WhenFailed = "failed" // only when an earlier check (or the named step) failed or warned
	WhenPassed = "passed" // only when every earlier check (or the named step) passed
)

// Step is one fenced block of a runbook.
type Step struct {
	Index int    `json:"index"`
	Kind  Kind   `json:"kind"`
	Name  string `json:"name"` // unique in its runbook; the id used in records
	Why   string `json:"why"`  // the prose before the block
	Line  int    `json:"line"` // line of the opening fence
	Body  string `json:"body"` // the block's text (the command of an sh step)

	Check  string        `json:"check,omitempty"`  // check id
	Params checks.Params `json:"params,omitempty"` // check parameters
	Fix    string        `json:"fix,omitempty"`    // check: the step that addresses a failure

	Do      string `json:"do,omitempty"`      // action
	Version string `json:"version,omitempty"` // promote: version or alias (default challenger)
	Force   bool   `json:"force,omitempty"`   // repro: re-run every stage

	Timeout   time.Duration `json:"timeout,omitempty"`
	Dangerous bool          `json:"dangerous,omitempty"`
	Confirm   string        `json:"confirm,omitempty"` // text the operator types ("" = the step name)
	When      string        `json:"when,omitempty"`
}

// NeedsConfirm reports whether the step runs only after a confirmation:
// every action and every dangerous (or confirm-marked) sh step.
func (s *Step) NeedsConfirm() bool {
	return s.Kind == KindAction || s.Dangerous || s.Confirm != ""
}

// Condition splits When into its condition (always, failed, passed) and
// the step it refers to ("" = every earlier check).
func (s *Step) Condition() (cond, ref string) {
	cond, ref, _ = strings.Cut(s.When, ":")
	if cond == "" {
		cond = WhenAlways
	}
	return cond, ref
}

// Mutates reports whether the step changes state, so read-only sessions
// refuse it.
func (s *Step) Mutates() bool { return s.Kind == KindAction || s.Dangerous }

// ConfirmText is what the operator types to confirm the step.
func (s *Step) ConfirmText() string {
	if s.Confirm != "" {
		return s.Confirm
	}
	return s.Name
}

// Label is a short description: "check logs.missing_column", "sh df -h", "action repro".
func (s *Step) Label() string {
	switch s.Kind {
	case KindCheck:
		return "check " + s.Check
	case KindAction:
		l := "action " + s.Do
		if s.Do == "promote" {
			l += " " + s.promoteTarget()
		}
		return l
	}
	first, _, _ := strings.Cut(strings.TrimSpace(s.Body), "\n")
	return "sh " + first
}

func (s *Step) promoteTarget() string {
	if s.Version == "" {
		return "challenger"
	}
	return s.Version
}

// Runbook is one parsed runbook.
type Runbook struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Tags    []string `json:"tags"`
	Alerts  []string `json:"alerts"` // alert rule names that open it
	Steps   []Step   `json:"steps"`
	After   string   `json:"after,omitempty"` // prose after the last step
	Source  string   `json:"source"`          // "library/x.md" or a file path
	Builtin bool     `json:"builtin"`
	// Overrides is set on a user runbook that replaces a built-in one.
	Overrides bool `json:"overrides,omitempty"`
}

// Step returns the step named name.
func (r *Runbook) Step(name string) (*Step, bool) {
	i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Name == name })
	if i < 0 {
		return nil, false
	}
	return &r.Steps[i], true
}

// HasTag reports whether the runbook carries tag t.
func (r *Runbook) HasTag(t string) bool { return slices.Contains(r.Tags, t) }

// Checks returns the indexes of its check steps.
func (r *Runbook) Checks() []int {
	var out []int
	for i, s := range r.Steps {
		if s.Kind == KindCheck {
			out = append(out, i)
		}
	}
	return out
}
