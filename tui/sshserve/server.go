package sshserve

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	"github.com/charmbracelet/wish/logging"
	wishrecover "github.com/charmbracelet/wish/recover"
	gossh "golang.org/x/crypto/ssh"

	"carvision/engine"
)

const (
	defaultMaxSessions = 32
	defaultGrace       = 5 * time.Second
	// connSlack is added to the connection-level timeouts of charmbracelet/ssh
	// so that our own session timers, which end the program cleanly and say
	// why, fire first; the connection deadlines remain as a backstop for a
	// stuck session or a stalled handshake.
	connSlack = 30 * time.Second
	// extFingerprint carries the fingerprint approved by the public key
	// handler to the session, where it is checked against the key that
	// actually authenticated.
	extFingerprint = "carvision-fp"
	noticeBuffer   = 32
	statusTimeout  = 5 * time.Second
	statusRows     = 24
)

// Server is the SSH console server.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	srv      *ssh.Server
	hostFP   string
	debounce time.Duration
	onReload func() // test hook: a reload was attempted
	// afterFunc starts the idle and max-session timers (time.AfterFunc).
	afterFunc func(time.Duration, func()) timer

	keys     atomic.Pointer[keySet]
	reloadMu sync.Mutex // serialises reloads
	status   KeysStatus // guarded by reloadMu
	roles    map[string]string

	mu      sync.Mutex
	live    map[ssh.Session]*liveSession
	closing bool
	running sync.WaitGroup // console sessions admitted and not yet released
}

// KeysStatus describes the authorized keys in force.
type KeysStatus struct {
	Path      string
	Keys      int
	Operators int
	// Problems are the malformed lines of the last read ("line 3: …").
	Problems []string
	// Err is why the last read failed; the keys before it stay in force.
	Err      string
	LoadedAt time.Time
}

// New checks opts, loads the host key (generating it on first start) and
// the authorized keys, and builds the server; Serve starts it.
func New(opts Options) (*Server, error) {
	if opts.Factory == nil {
		return nil, errors.New("sshserve: Factory is required")
	}
	if opts.AuthorizedKeysPath == "" {
		return nil, errors.New("sshserve: AuthorizedKeysPath is required (an authorized_keys-format file)")
	}
	if opts.MaxSessions < 0 || opts.IdleTimeout < 0 || opts.MaxSession < 0 {
		return nil, fmt.Errorf("sshserve: negative limit (max_sessions %d, idle_timeout %s, max_session %s)",
			opts.MaxSessions, opts.IdleTimeout, opts.MaxSession)
	}
	if opts.MaxSessions == 0 {
		opts.MaxSessions = defaultMaxSessions
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = defaultGrace
	}
	if err := validateRoles(opts.Roles); err != nil {
		return nil, err
	}
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		now:       opts.Now,
		debounce:  200 * time.Millisecond,
		roles:     copyRoles(opts.Roles),
		live:      map[ssh.Session]*liveSession{},
		afterFunc: func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) },
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "ssh")
	if s.now == nil {
		s.now = time.Now
	}
	if _, err := readKeysFile(opts.AuthorizedKeysPath); err != nil {
		return nil, fmt.Errorf("%w (one key per line; see the sshserve package doc for roles)", err)
	}
	if err := s.reload(true); err != nil {
		return nil, err
	}
	signer, err := ensureHostKey(opts.HostKeyPath, s.log)
	if err != nil {
		return nil, err
	}
	s.hostFP = gossh.FingerprintSHA256(signer.PublicKey())

	var idle, maxT time.Duration
	if opts.IdleTimeout > 0 {
		idle = opts.IdleTimeout + connSlack
	}
	if opts.MaxSession > 0 {
		maxT = opts.MaxSession + connSlack
	}
	srv, err := wish.NewServer(
		// The host key goes first: without one NewServer writes id_ed25519
		// into the working folder.
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithAddress(opts.Addr),
		wish.WithPublicKeyAuth(s.authorise),
		wish.WithIdleTimeout(idle),
		wish.WithMaxTimeout(maxT),
		wish.WithMiddleware(
			// Listed innermost first: logging runs first, then session (identity,
			// command and PTY checks, cap, audit), then, under recover,
			// activeterm and the Bubble Tea program.
			wishrecover.MiddlewareWithLogger(printfLog{s.log, slog.LevelError, "ssh session panic"},
				s.teaMiddleware(s.program),
				activeterm.Middleware(),
			),
			s.session,
			logging.MiddlewareWithLogger(printfLog{s.log, slog.LevelDebug, "ssh"}),
		),
		s.harden,
	)
	if err != nil {
		return nil, fmt.Errorf("sshserve: %w", err)
	}
	s.srv = srv
	return s, nil
}

// harden leaves only what the console needs: session channels with agent
// and X11 requests refused, no global requests (so no tcpip-forward), no
// direct-tcpip channels, no subsystems (so no sftp), no password or
// keyboard-interactive handlers.
func (s *Server) harden(srv *ssh.Server) error {
	srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel, "default": s.refuseChannel}
	srv.RequestHandlers = map[string]ssh.RequestHandler{"default": s.refuseRequest}
	srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
	srv.LocalPortForwardingCallback = func(ssh.Context, string, uint32) bool { return false }
	srv.ReversePortForwardingCallback = func(ssh.Context, string, uint32) bool { return false }
	srv.PasswordHandler = nil
	srv.KeyboardInteractiveHandler = nil
	srv.ConnCallback = s.trackConn
	return nil
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key, for users
// to compare on their first connection.
func (s *Server) HostKeyFingerprint() string { return s.hostFP }

// ActiveSessions is the number of console sessions open now.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// ListenAndServe listens on Options.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if s.opts.Addr == "" {
		return errors.New("sshserve: no listen address")
	}
	l, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("ssh listen %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx ends, then ends every session (they see why),
// waits up to ShutdownGrace for them and closes what is left. It returns nil
// after such a shutdown.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	stopWatch, err := s.watch()
	if err != nil {
		l.Close()
		return err
	}
	defer stopWatch()
	s.log.Info("ssh console listening", "addr", l.Addr().String(), "host_key", s.hostFP,
		"keys", s.keys.Load().len())
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("ssh serve: %w", err)
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.closing = true
	lives := make([]*liveSession, 0, len(s.live))
	for _, ls := range s.live {
		lives = append(lives, ls)
	}
	s.mu.Unlock()
	for _, ls := range lives {
		ls.end(endShutdown, "the server is shutting down")
	}
	gctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownGrace)
	defer cancel()
	if err := s.srv.Shutdown(gctx); err != nil {
		s.log.Warn("ssh sessions still open after the grace period; closing them", "grace", s.opts.ShutdownGrace)
		for _, ls := range lives {
			ls.cancel()
		}
		_ = s.srv.Close()
	}
	<-errc
	// Connections are closed; let the session handlers finish their
	// goodbyes and audit records before the caller moves on.
	drained := make(chan struct{})
	go func() { s.running.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(s.opts.ShutdownGrace):
		s.log.Warn("ssh sessions still finishing after the grace period")
	}
	s.log.Info("ssh console stopped")
	return nil
}

// authorise is the public key handler. It decides from the keys in force at
// this attempt only (no decision is cached across attempts) and stores the
// approved fingerprint in this attempt's permissions, which x/crypto (≥
// v0.31) hands to the connection only if this very key then authenticates.
func (s *Server) authorise(ctx ssh.Context, key ssh.PublicKey) bool {
	fp := gossh.FingerprintSHA256(key)
	if _, ok := s.keys.Load().lookup(key); !ok {
		if st, _ := ctx.Value(connStateKey).(*connState); st != nil {
			st.refuse(fp)
		}
		s.log.Debug("ssh key not authorised", "fingerprint", fp, "type", key.Type(), "address", addrOf(ctx))
		return false
	}
	perms := ctx.Permissions()
	if perms.Extensions == nil {
		perms.Extensions = map[string]string{}
	}
	perms.Extensions[extFingerprint] = fp
	return true
}

// identify returns the actor of an authenticated session from the keys in
// force now (a key removed since the handshake is refused here).
func (s *Server) identify(sess ssh.Session) (engine.Actor, string, error) {
	key := sess.PublicKey()
	if key == nil {
		return engine.Actor{}, "", errors.New("no public key")
	}
	fp := gossh.FingerprintSHA256(key)
	if got := sess.Permissions().Extensions[extFingerprint]; got != fp {
		s.log.Error("ssh session key differs from the approved key", "approved", got, "session", fp)
		return engine.Actor{}, "", errors.New("key mismatch")
	}
	a, ok := s.keys.Load().lookup(key)
	if !ok {
		return engine.Actor{Name: oneLine(sess.User(), 64), Fingerprint: fp, Address: sess.RemoteAddr().String()}, "",
			errors.New("key no longer authorised")
	}
	name := oneLine(a.comment, 64)
	if name == "" {
		name = oneLine(sess.User(), 64)
	}
	return engine.Actor{Name: name, Fingerprint: fp, Role: a.role, Address: sess.RemoteAddr().String()},
		string(key.Marshal()), nil
}

// session is the middleware that decides what a session gets: refusal,
// status text, or a console (admitted under the cap, timed, audited).
func (s *Server) session(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		user := oneLine(sess.User(), 64)
		actor, wire, err := s.identify(sess)
		if err != nil {
			s.record(sess.Context(), ActionSession, OutcomeRefused, user, actor, err.Error())
			s.refuse(sess, "access refused: "+err.Error())
			return
		}
		if cmd := strings.TrimSpace(sess.RawCommand()); cmd != "" {
			if cmd == "status" {
				s.serveStatus(sess, user, actor)
				return
			}
			s.record(sess.Context(), ActionExec, OutcomeRefused, user, actor, "command "+oneLine(cmd, 200))
			s.refuse(sess, fmt.Sprintf("commands are not run here (got %q). Connect without a command for the console, or run the command status.", oneLine(cmd, 80)))
			return
		}
		if _, _, ok := sess.Pty(); !ok {
			s.serveStatus(sess, user, actor)
			return
		}
		ls, why := s.admit(sess, actor, user, wire)
		if ls == nil {
			s.record(sess.Context(), ActionSession, OutcomeRefused, user, actor, why)
			s.refuse(sess, why)
			return
		}
		defer s.release(sess, ls)
		s.log.Info("ssh session start", "user", user, "actor", actor.Name, "fingerprint", actor.Fingerprint,
			"role", actor.Role, "address", actor.Address, "ref", ls.ref)
		s.record(sess.Context(), ActionSessionStart, OutcomeOK, user, actor, "")
		next(sess)
		reason, message := ls.outcome()
		if reason == "" && sess.Context().Err() != nil {
			reason = "disconnected"
		}
		took := s.now().Sub(ls.started).Round(time.Second)
		detail := "quit after " + took.String()
		if reason != "" {
			detail = reason + " after " + took.String()
		}
		s.log.Info("ssh session end", "user", user, "actor", actor.Name, "fingerprint", actor.Fingerprint,
			"role", actor.Role, "address", actor.Address, "ref", ls.ref, "reason", detail)
		s.record(sess.Context(), ActionSessionEnd, OutcomeOK, user, actor, detail)
		// Free the slot before the client learns the session is over, so
		// that an immediate reconnect is not refused by the cap.
		s.release(sess, ls)
		if message != "" {
			_, _ = fmt.Fprintf(sess, "\nCarVision: session ended: %s.\n", message)
		}
		if reason != "" {
			_ = sess.Exit(1)
			return
		}
		_ = sess.Exit(0)
	}
}

// admit registers a console session unless the server is full or closing.
func (s *Server) admit(sess ssh.Session, actor engine.Actor, user, wire string) (*liveSession, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, "the server is shutting down"
	}
	if n := len(s.live); n >= s.opts.MaxSessions {
		return nil, fmt.Sprintf("all %d console sessions are in use; try again later", s.opts.MaxSessions)
	}
	ctx, cancel := context.WithCancel(sess.Context())
	ls := &liveSession{
		ctx: ctx, cancel: cancel, actor: actor, user: user, wire: wire,
		ref: sessionRef(sess), started: s.now(), notices: newNoticeBox(noticeBuffer), idleFor: s.opts.IdleTimeout,
	}
	if s.opts.IdleTimeout > 0 {
		ls.idle = s.afterFunc(s.opts.IdleTimeout, func() {
			ls.end(endIdle, fmt.Sprintf("no input for %s", s.opts.IdleTimeout))
		})
	}
	if s.opts.MaxSession > 0 {
		ls.max = s.afterFunc(s.opts.MaxSession, func() {
			ls.end(endMax, fmt.Sprintf("it reached the maximum session length (%s)", s.opts.MaxSession))
		})
	}
	if s.opts.Notices != nil {
		if sub := s.opts.Notices.Subscribe(ctx); sub != nil {
			go ls.notices.forward(ctx, sub)
		}
	}
	s.live[sess] = ls
	s.running.Add(1)
	return ls, ""
}

// release frees a session's slot and resources; it may be called twice.
func (s *Server) release(sess ssh.Session, ls *liveSession) {
	ls.stopOnce.Do(func() {
		ls.stop()
		s.mu.Lock()
		delete(s.live, sess)
		s.mu.Unlock()
		s.running.Done()
	})
}

func (s *Server) liveOf(sess ssh.Session) *liveSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[sess]
}

// program builds the session's Bubble Tea program (nil skips the TUI).
func (s *Server) program(sess ssh.Session) *tea.Program {
	ls := s.liveOf(sess)
	if ls == nil {
		return nil
	}
	r := makeRenderer(sess)
	pty, _, _ := sess.Pty()
	info := SessionInfo{
		Context:  ls.ctx,
		Actor:    ls.actor,
		User:     ls.user,
		Renderer: r,
		Notices:  ls.notices.ch,
		Width:    clampInt(pty.Window.Width, 1, maxCols),
		Height:   clampInt(pty.Window.Height, 1, maxRows),
		Environ:  sess.Environ(),
	}
	model, err := s.build(info)
	if err != nil {
		s.log.Error("ssh console failed to start", "ref", ls.ref, "err", err)
		ls.end(endFactory, "the console failed to start: "+oneLine(err.Error(), 200))
		return nil
	}
	guarded := newGuardModel(model, ls.ref, func(v any, stack []byte) {
		s.log.Error("ssh console panic", "ref", ls.ref, "actor", ls.actor.Name, "panic", fmt.Sprint(v), "stack", string(stack))
		ls.mu.Lock()
		if ls.reason == "" {
			ls.reason = endPanic
		}
		ls.mu.Unlock()
	})
	in, opts := makeOptions(sess)
	opts = append(opts,
		tea.WithInput(activityReader{r: in, touch: ls.touch}),
		tea.WithAltScreen(),
		tea.WithContext(ls.ctx),
		// The server's own signals are not the session's: shutdown comes
		// through the context.
		tea.WithoutSignalHandler(),
		tea.WithEnvironment(sess.Environ()),
	)
	if s.opts.Mouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	p := tea.NewProgram(guarded, opts...)
	if !ls.attach(p) {
		return nil
	}
	return p
}

// build calls the factory, turning its panic into an error.
func (s *Server) build(info SessionInfo) (m tea.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	m, err = s.opts.Factory(info)
	if err == nil && m == nil {
		err = errors.New("factory returned no model")
	}
	return m, err
}

// serveStatus writes the one-screen status and exits 0.
func (s *Server) serveStatus(sess ssh.Session, user string, actor engine.Actor) {
	text := "CarVision: the console needs a terminal; connect with ssh -t."
	if s.opts.StatusFunc != nil {
		ctx, cancel := context.WithTimeout(sess.Context(), statusTimeout)
		text = s.opts.StatusFunc(ctx)
		cancel()
	}
	rows := statusRows
	if pty, _, ok := sess.Pty(); ok && pty.Window.Height > 2 {
		rows = pty.Window.Height - 1
	}
	_, _ = io.WriteString(sess, oneScreen(clean(text, 64<<10), rows))
	s.record(sess.Context(), ActionStatus, OutcomeOK, user, actor, "")
	_ = sess.Exit(0)
}

// oneScreen keeps the first rows lines of text, newline-terminated.
func oneScreen(text string, rows int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > rows {
		lines = append(lines[:rows-1], "…")
	}
	return strings.Join(lines, "\n") + "\n"
}

// refuse tells the client why and ends the session with status 1.
func (s *Server) refuse(sess ssh.Session, why string) {
	_, _ = fmt.Fprintf(sess, "CarVision: %s\n", why)
	_ = sess.Exit(1)
}

// record sends an audit event; a failing auditor is logged, never fatal.
func (s *Server) record(ctx context.Context, action, outcome, user string, actor engine.Actor, detail string) {
	if s.opts.Audit == nil {
		return
	}
	e := AuditEvent{At: s.now(), Action: action, Outcome: outcome, User: user, Actor: actor, Detail: detail}
	if err := s.opts.Audit.Record(ctx, e); err != nil {
		s.log.Warn("ssh audit record failed", "action", action, "err", err)
	}
}

// sessionRef is a short id of the connection, shown to users and logged.
func sessionRef(sess ssh.Session) string {
	id, _ := sess.Context().Value(ssh.ContextKeySessionID).(string)
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}

func addrOf(ctx ssh.Context) string {
	if a := ctx.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

func copyRoles(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func rolesSum(data []byte, roles map[string]string) [32]byte {
	h := sha256.New()
	h.Write(data)
	for _, k := range sortedKeys(roles) {
		fmt.Fprintf(h, "\x00%s=%s", k, roles[k])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// printfLog adapts slog to the Printf loggers of wish's middlewares.
type printfLog struct {
	l     *slog.Logger
	level slog.Level
	msg   string
}

func (p printfLog) Printf(format string, v ...any) {
	p.l.Log(context.Background(), p.level, p.msg, "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
