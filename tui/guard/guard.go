// Package guard is the console's one place that decides whether an action may
// run: read-only sessions (flag, viewer role, or a read-only client) refuse
// every state change, and actions a client cannot perform say why. The
// same policy wraps the engine client so that a path that forgot to ask is
// still refused at the engine boundary.
package guard

import (
	"context"
	"fmt"

	"carvision/engine"
	"carvision/tui/keys"
)

// Policy is one session's rights.
type Policy struct {
	ReadOnly bool // --readonly
	Actor    engine.Actor
	Caps     engine.Capabilities
}

// IsReadOnly reports whether state changes are refused in this session.
func (p Policy) IsReadOnly() bool {
	return p.ReadOnly || p.Caps.ReadOnly || p.Actor.Role == "viewer"
}

// readOnlyWhy says which of the three made the session read-only.
func (p Policy) readOnlyWhy() string {
	switch {
	case p.ReadOnly:
		return "read-only session (--readonly)"
	case p.Actor.Role == "viewer":
		return "read-only session (role viewer)"
	default:
		return "read-only engine"
	}
}

// Why returns why b is refused now, or "" when it is allowed.
func (p Policy) Why(b keys.Binding) string {
	if b.Mutates && p.IsReadOnly() {
		return fmt.Sprintf("%s refused: %s", b.Short, p.readOnlyWhy())
	}
	if have, name := p.has(b.Needs); !have {
		why := p.Caps.Why
		if why == "" {
			why = "this engine has no " + name
		}
		return fmt.Sprintf("%s unavailable: %s", b.Short, why)
	}
	return ""
}

func (p Policy) has(n keys.Need) (bool, string) {
	switch n {
	case keys.NeedStore:
		return p.Caps.Store, "model store"
	case keys.NeedLogs:
		return p.Caps.Logs, "service log"
	case keys.NeedConfig:
		return p.Caps.Config, "config access"
	case keys.NeedDemo:
		return p.Caps.Demo, "demo traffic"
	}
	return true, ""
}

// Client wraps c so that state-changing calls fail with engine.ErrReadOnly
// in a read-only session, whoever calls them.
func Client(c engine.Client, p Policy) engine.Client {
	if !p.IsReadOnly() {
		return c
	}
	return readOnly{Client: c, why: p.readOnlyWhy()}
}

type readOnly struct {
	engine.Client
	why string
}

func (r readOnly) refuse(action string) error {
	return fmt.Errorf("%s: %s: %w", action, r.why, engine.ErrReadOnly)
}

func (r readOnly) Capabilities() engine.Capabilities {
	c := r.Client.Capabilities()
	c.ReadOnly = true
	return c
}

func (r readOnly) Promote(context.Context, string, engine.ActionRequest) error {
	return r.refuse("promote")
}

func (r readOnly) Rollback(context.Context, engine.ActionRequest) error {
	return r.refuse("rollback")
}

func (r readOnly) Retrain(ctx context.Context, req engine.RetrainRequest) (<-chan engine.PipelineEvent, error) {
	if req.DryRun {
		return r.Client.Retrain(ctx, req)
	}
	return nil, r.refuse("retrain")
}

func (r readOnly) ReloadConfig(context.Context, engine.ActionRequest) (engine.ConfigState, error) {
	return engine.ConfigState{}, r.refuse("reload config")
}
