package main

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"carvision/engine/local"
	"carvision/engine/store"
	"carvision/tui"
	"carvision/tui/sshserve"
)

type sshFlags struct {
	addr, authKeys, hostKey string
	readonly                bool
}

// startSSH serves the console over SSH, one console per session on the
// shared engine, when an address is given by flag or config.
func startSSH(ctx context.Context, cmd *cobra.Command, e *local.Engine, f sshFlags) error {
	cfg := e.ConfigSnapshot()
	addr := f.addr
	if addr == "" {
		addr = cfg.SSH.Addr
	}
	if addr == "" {
		return nil
	}
	keys, host := f.authKeys, f.hostKey
	if keys == "" {
		keys = e.Abs(cfg.SSH.AuthorizedKeysPath)
	}
	if host == "" {
		host = e.Abs(cfg.SSH.HostKeyPath)
	}
	log := e.Logger()
	srv, err := sshserve.New(sshserve.Options{
		Addr: addr, HostKeyPath: host, AuthorizedKeysPath: keys,
		IdleTimeout: cfg.SSH.IdleTimeout, MaxSession: cfg.SSH.MaxSession, MaxSessions: cfg.SSH.MaxSessions,
		Roles: cfg.SSH.Roles, Mouse: cfg.Console.Mouse, Logger: log,
		Factory: func(si sshserve.SessionInfo) (tea.Model, error) {
			return tui.New(e, tui.Options{Theme: cfg.Console.Theme, Mouse: cfg.Console.Mouse, ReadOnly: f.readonly,
				Actor: si.Actor, Width: si.Width, Height: si.Height, Renderer: si.Renderer,
				Notices: si.Notices, Environ: si.Environ, Context: si.Context}), nil
		},
		StatusFunc: func(ctx context.Context) string {
			snap, err := e.Snapshot(ctx, 0)
			if err != nil {
				return "carvision: " + err.Error() + "\n"
			}
			var b strings.Builder
			printStatus(&b, "ssh", snap)
			return b.String()
		},
		Notices: sshserve.EngineNotices(e, log),
		Audit: sshserve.AuditFunc(func(ctx context.Context, ev sshserve.AuditEvent) error {
			return e.Store().Audit(ctx, store.AuditEntry{At: ev.At, Actor: ev.Actor.Name, Fingerprint: ev.Actor.Fingerprint,
				Role: ev.Actor.Role, Address: ev.Actor.Address, Action: ev.Action,
				Detail: strings.TrimSpace("user=" + ev.User + " " + ev.Detail), Outcome: ev.Outcome})
		}),
	})
	if err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	go func() {
		if err := srv.ListenAndServe(ctx); err != nil {
			log.Error("ssh server stopped", "err", err)
		}
	}()
	fmt.Fprintf(cmd.ErrOrStderr(), "carvision console over SSH on %s (host key %s, keys %s)\n", addr, srv.HostKeyFingerprint(), keys)
	return nil
}
