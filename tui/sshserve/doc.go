// Package sshserve serves the CarVision console over SSH with wish: every
// connection gets its own Bubble Tea program, renderer and notices, all on one
// shared engine.
//
// # Who gets in
//
// Public keys only: no password, no keyboard-interactive. The keys live in an
// authorized_keys-format file, re-read on every change (fsnotify on its
// folder, debounced). The file is parsed line by line: a malformed line is
// logged with its number and skipped, the other keys still load, and a
// removed key loses access at once (open sessions of that key are ended). A
// file that exists but cannot be read keeps the previous keys; a file that
// was deleted means no keys at all.
//
// # Roles
//
// Each key is a viewer (the console read-only) or an operator (may retrain,
// promote, roll back and run dangerous runbook steps). A key line names its
// role with the standard OpenSSH environment option, so the file stays valid
// for sshd and ssh-keygen:
//
//	environment="CARVISION_ROLE=operator" ssh-ed25519 AAAAC3Nz… alice@laptop
//	ssh-ed25519 AAAAC3Nz… bob@desk                  # no role: viewer
//
// Config (ssh.roles) may also map a key fingerprint ("SHA256:…") or a key
// comment to a role. When several sources name a role the narrowest wins
// (viewer beats operator); when none does the key is a viewer. An unknown
// role value, or an option this package cannot enforce (from=, command=,
// expiry-time=, no-pty, permitopen=, principals=, cert-authority, …), makes
// the line malformed: it is skipped rather than loaded without its
// restriction. Options that only disable what this server never offers
// (no-port-forwarding, no-agent-forwarding, no-X11-forwarding, no-user-rc,
// restrict, …) are accepted.
//
// # Sessions
//
// A session needs a PTY: without one (or with the command "status") it gets a
// one-screen plain-text status and exits 0; any other command is refused and
// nothing is ever executed. Port, agent and X11 forwarding and subsystems are
// refused. Sessions end on q (exit 0), after IdleTimeout without input, after
// MaxSession, when their key is revoked or when the server shuts down (exit
// 1, with a line saying why). Beyond MaxSessions a new console session is
// refused with a message. A panic in one session's model shows that session an
// error screen and never stops the server.
package sshserve
