package sshserve

import (
	"context"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"carvision/engine"
)

// Roles a key may carry.
const (
	RoleViewer   = "viewer"   // the console read-only
	RoleOperator = "operator" // may change state
)

// Audit actions recorded through the Auditor.
const (
	ActionAuth         = "ssh.auth"          // a connection whose keys were all refused
	ActionSessionStart = "ssh.session.start" // a console session began
	ActionSessionEnd   = "ssh.session.end"   // a console session ended (Detail says why)
	ActionSession      = "ssh.session"       // a console session refused (cap, revoked key, factory error)
	ActionStatus       = "ssh.status"        // the plain-text status was served
	ActionExec         = "ssh.exec"          // a command was refused
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeError   = "error"
)

// SessionInfo is what a ModelFactory gets to build one session's console.
type SessionInfo struct {
	// Context ends when the session ends.
	Context context.Context
	// Actor is who is connected: Name is the key comment (or the SSH user
	// when the key has none), Role is viewer or operator.
	Actor engine.Actor
	// User is the SSH login name (informative only: identity is the key).
	User string
	// Renderer is this session's renderer, with the colour profile of the
	// client's TERM, COLORTERM and NO_COLOR; build every style from it.
	Renderer *lipgloss.Renderer
	// Notices carries the broadcast notices and the server's own notices for
	// this session; it is closed after the session's program has ended.
	Notices <-chan string
	// Width and Height are the PTY size at start; later sizes arrive as
	// tea.WindowSizeMsg.
	Width, Height int
	// Environ is the environment the client sent (TERM always included).
	Environ []string
}

// ModelFactory builds the console for one session. It must honour
// Actor.Role: a viewer's session refuses every state-changing action. An
// error ends the session with the error's text.
type ModelFactory func(SessionInfo) (tea.Model, error)

// AuditEvent is one audited SSH event.
type AuditEvent struct {
	At      time.Time
	Action  string // one of the Action* constants
	Outcome string // ok | refused | error
	User    string // SSH login name
	Actor   engine.Actor
	Detail  string // why, how long, which command
}

// Auditor records AuditEvents (the store's audit table). Record is called on
// the connection's goroutine: it should return promptly; errors are logged.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// AuditFunc adapts a function to an Auditor.
type AuditFunc func(ctx context.Context, e AuditEvent) error

// Record implements Auditor.
func (f AuditFunc) Record(ctx context.Context, e AuditEvent) error { return f(ctx, e) }

// Broadcaster hands every session its own stream of notices (retrain
// started, model promoted, alert firing). The channel must be closed or
// abandoned when ctx ends, and a slow session must never block the publisher.
type Broadcaster interface {
	Subscribe(ctx context.Context) <-chan string
}

// BroadcastFunc adapts a function to a Broadcaster.
type BroadcastFunc func(ctx context.Context) <-chan string

// Subscribe implements Broadcaster.
func (f BroadcastFunc) Subscribe(ctx context.Context) <-chan string { return f(ctx) }

// Options configure a Server.
type Options struct {
	Addr               string // listen address for ListenAndServe, e.g. 127.0.0.1:2222
	HostKeyPath        string // ed25519 host key; generated (0600) when missing
	AuthorizedKeysPath string // authorized_keys-format file; must exist
	// IdleTimeout closes a session without input for this long (0: never).
	IdleTimeout time.Duration
	// MaxSession closes a session this long after it began (0: never).
	MaxSession time.Duration
	// MaxSessions caps concurrent console sessions (0: 32).
	MaxSessions int
	// Roles maps a key fingerprint ("SHA256:…") or key comment to a role.
	Roles map[string]string

	// Factory builds each session's console (required).
	Factory ModelFactory
	// StatusFunc returns the plain-text status shown to sessions without a
	// PTY and to the "status" command (nil: a one-line hint).
	StatusFunc func(ctx context.Context) string
	// Audit records session starts, ends and refusals (nil: logs only).
	Audit Auditor
	// Notices feeds every session's notices (nil: none).
	Notices Broadcaster
	// Mouse turns on mouse reporting in every session.
	Mouse bool
	// ShutdownGrace is how long Serve waits for sessions to end once its
	// context is done before closing connections (0: 5s).
	ShutdownGrace time.Duration
	// Logger receives structured logs (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock of audit records (nil: time.Now).
	Now func() time.Time
}
