package sshserve

import (
	"context"
	"errors"
	"io"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/muesli/termenv"
)

// This file is wish v1.4.7's bubbletea middleware (MiddlewareWithProgramHandler,
// MakeRenderer, MakeOptions), kept here because that package imports
// github.com/charmbracelet/x/input, which is not in our go.sum. Two
// deliberate differences: the client's background colour is not queried
// (the query reads session input with a timeout and loses the first keys of
// a client that does not answer, wish#262; dark is assumed and the console's
// light theme is a setting), and a closed window-change channel ends the
// program instead of spinning.

// teaMiddleware runs the program handler's program on the session, forwards
// every window change as a tea.WindowSizeMsg, quits it when the session's
// context ends and kills it after Run returns; a nil program skips the TUI.
func (s *Server) teaMiddleware(handler func(ssh.Session) *tea.Program) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			program := handler(sess)
			if program == nil {
				next(sess)
				return
			}
			_, windowChanges, ok := sess.Pty()
			if !ok {
				wish.Fatalln(sess, "no active terminal, skipping")
				return
			}
			ctx, cancel := context.WithCancel(sess.Context())
			go func() {
				for {
					select {
					case <-ctx.Done():
						program.Quit()
						return
					case w, ok := <-windowChanges:
						if !ok { // the session's channel is closed
							program.Quit()
							return
						}
						program.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
					}
				}
			}()
			if _, err := program.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
				s.log.Warn("ssh console exited with an error", "err", err)
			}
			// Kill restores the terminal if the program is somehow still
			// running, and releases senders blocked on it.
			program.Kill()
			cancel()
			next(sess)
		}
	}
}

// makeRenderer returns the session's renderer: Ascii without a PTY or with
// an empty or dumb TERM, else the profile of the client's TERM, COLORTERM,
// NO_COLOR and CLICOLOR_FORCE as the client sent them.
func makeRenderer(sess ssh.Session) *lipgloss.Renderer {
	pty, _, ok := sess.Pty()
	if !ok || pty.Term == "" || pty.Term == "dumb" {
		r := lipgloss.NewRenderer(sess, termenv.WithProfile(termenv.Ascii))
		r.SetHasDarkBackground(true)
		return r
	}
	env := sshEnviron(append(sess.Environ(), "TERM="+pty.Term))
	var r *lipgloss.Renderer
	if !sess.EmulatedPty() && pty.Slave != nil {
		r = lipgloss.NewRenderer(pty.Slave, termenv.WithEnvironment(env), termenv.WithColorCache(true))
	} else {
		r = lipgloss.NewRenderer(sess, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	}
	r.SetHasDarkBackground(true)
	r.SetColorProfile(r.ColorProfile()) // resolve once, now, from the session's environment
	return r
}

// makeOptions returns the program's input and output: the PTY's slave when
// one was allocated, else the session itself (emulated PTY).
func makeOptions(sess ssh.Session) (in io.Reader, opts []tea.ProgramOption) {
	pty, _, ok := sess.Pty()
	if !ok || sess.EmulatedPty() || pty.Slave == nil {
		return sess, []tea.ProgramOption{tea.WithOutput(sess)}
	}
	return pty.Slave, []tea.ProgramOption{tea.WithOutput(pty.Slave)}
}

// sshEnviron is a session's environment for termenv; the last value of a
// variable wins, so the PTY's TERM (appended last) beats a TERM sent by env.
type sshEnviron []string

// Environ implements termenv.Environ.
func (e sshEnviron) Environ() []string { return e }

// Getenv implements termenv.Environ.
func (e sshEnviron) Getenv(k string) string {
	for i := len(e) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(e[i], k+"="); ok {
			return v
		}
	}
	return ""
}
