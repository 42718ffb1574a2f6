package sshserve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/wish/testsession"
	gossh "golang.org/x/crypto/ssh"

	"carvision/engine"
	"carvision/tui/guard"
)

// wait bounds every wait for an event in these tests; nothing sleeps.
const wait = 10 * time.Second

// harness is a running Server on loopback with fakes around it.
type harness struct {
	t        *testing.T
	srv      *Server
	addr     string
	keysPath string
	audit    *fakeAudit
	logs     *syncBuffer
	bus      *fakeBus
	client   *fakeClient
	infos    chan SessionInfo
	sizes    chan tea.WindowSizeMsg
	reloads  chan struct{}
	timers   *fakeTimers
	cancel   context.CancelFunc
	served   chan error
}

// newHarness starts a server whose keys file holds keys; tweak adjusts the
// options before New.
func newHarness(t *testing.T, keys string, tweak func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{
		t:        t,
		keysPath: filepath.Join(dir, "authorized_keys"),
		audit:    &fakeAudit{ch: make(chan AuditEvent, 256)},
		logs:     &syncBuffer{},
		bus:      &fakeBus{},
		client:   &fakeClient{},
		infos:    make(chan SessionInfo, 16),
		sizes:    make(chan tea.WindowSizeMsg, 64),
		reloads:  make(chan struct{}, 64),
		timers:   &fakeTimers{started: make(chan *fakeTimer, 64)},
		served:   make(chan error, 1),
	}
	if err := os.WriteFile(h.keysPath, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		HostKeyPath:        filepath.Join(dir, "state", "ssh_host_ed25519"),
		AuthorizedKeysPath: h.keysPath,
		MaxSessions:        8,
		Factory:            h.standInFactory,
		StatusFunc:         func(context.Context) string { return "CarVision status: healthy, champion v7" },
		Audit:              h.audit,
		Notices:            h.bus,
		ShutdownGrace:      2 * time.Second,
		Logger:             slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.debounce = 20 * time.Millisecond
	srv.afterFunc = h.timers.afterFunc
	srv.onReload = func() {
		select {
		case h.reloads <- struct{}{}:
		default:
		}
	}
	h.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.served <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		defer func() {
			if t.Failed() || os.Getenv("SSHSERVE_TEST_LOGS") != "" {
				t.Logf("server log:\n%s", h.logs.String())
			}
		}()
		select {
		case err := <-h.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(wait):
			t.Error("Serve did not return after its context ended")
		}
	})
	return h
}

// config is a client configuration for key that checks the host key.
func (h *harness) config(user string, keys ...testKey) *gossh.ClientConfig {
	signers := make([]gossh.Signer, len(keys))
	for i, k := range keys {
		signers[i] = k.signer
	}
	return &gossh.ClientConfig{
		User: user,
		Auth: []gossh.AuthMethod{gossh.PublicKeys(signers...)},
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			if fp := gossh.FingerprintSHA256(k); fp != h.srv.HostKeyFingerprint() {
				return fmt.Errorf("host key %s, want %s", fp, h.srv.HostKeyFingerprint())
			}
			return nil
		},
		Timeout: wait,
	}
}

// session opens a session with testsession's client.
func (h *harness) session(user string, keys ...testKey) (*gossh.Session, error) {
	return testsession.NewClientSession(h.t, h.addr, h.config(user, keys...))
}

// mustSession is session that fails the test on error.
func (h *harness) mustSession(user string, keys ...testKey) *gossh.Session {
	h.t.Helper()
	s, err := h.session(user, keys...)
	if err != nil {
		h.t.Fatalf("session as %s: %v", user, err)
	}
	return s
}

// dial returns a bare client, for protocol-level checks.
func (h *harness) dial(user string, keys ...testKey) (*gossh.Client, error) {
	c, err := gossh.Dial("tcp", h.addr, h.config(user, keys...))
	if err == nil {
		h.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// writeKeys replaces the keys file the way editors do: temp file + rename.
func (h *harness) writeKeys(content string) {
	h.t.Helper()
	tmp := h.keysPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.keysPath); err != nil {
		h.t.Fatal(err)
	}
}

// waitReload waits until the watcher has applied a state satisfying ok.
func (h *harness) waitReload(ok func(KeysStatus) bool) {
	h.t.Helper()
	deadline := time.After(wait)
	for !ok(h.srv.KeysStatus()) {
		select {
		case <-h.reloads:
		case <-deadline:
			h.t.Fatalf("keys not reloaded; status %+v", h.srv.KeysStatus())
		}
	}
}

// ---- the stand-in console ----

type noticeMsg string

type promoteMsg struct{ err error }

// standIn is a small console: it shows who is connected, the last window
// size, the outcome of a state-changing action and the last notice.
type standIn struct {
	h      *harness
	info   SessionInfo
	client engine.Client
	w, ht  int
	last   string
	notice string
}

func (h *harness) standInFactory(info SessionInfo) (tea.Model, error) {
	h.infos <- info
	if info.Actor.Name == "factory-fails" {
		return nil, errors.New("engine unreachable")
	}
	// The console's real read-only policy, fed by the actor's role.
	c := guard.Client(h.client, guard.Policy{Actor: info.Actor, Caps: h.client.Capabilities()})
	return &standIn{h: h, info: info, client: c}, nil
}

func (m *standIn) waitNotice() tea.Msg {
	n, ok := <-m.info.Notices
	if !ok {
		return nil
	}
	return noticeMsg(n)
}

func (m *standIn) Init() tea.Cmd { return m.waitNotice }

func (m *standIn) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.ht = msg.Width, msg.Height
		m.h.sizes <- msg
	case noticeMsg:
		m.notice = string(msg)
		return m, m.waitNotice
	case promoteMsg:
		if msg.err != nil {
			m.last = "promote refused: " + msg.err.Error()
		} else {
			m.last = "promote ok"
		}
	case tea.KeyMsg:
		switch msg.String() {
		case "q":
			return m, tea.Quit
		case "p":
			actor := m.info.Actor
			return m, func() tea.Msg {
				return promoteMsg{m.client.Promote(context.Background(), "7", engine.ActionRequest{Actor: actor})}
			}
		case "!":
			panic("stand-in exploded")
		}
	}
	return m, nil
}

func (m *standIn) View() string {
	return fmt.Sprintf("STANDIN %s role=%s size=%dx%d\n%s\nnotice=%s\n",
		m.info.Actor.Name, m.info.Actor.Role, m.w, m.ht, m.last, m.notice)
}

// ---- fakes ----

// fakeClient is an engine whose only state change is Promote.
type fakeClient struct {
	engine.Client
	mu       sync.Mutex
	promoted []engine.Actor
}

func (f *fakeClient) Capabilities() engine.Capabilities {
	return engine.Capabilities{Store: true, Logs: true, Config: true, Demo: true}
}

func (f *fakeClient) Promote(_ context.Context, _ string, req engine.ActionRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.promoted = append(f.promoted, req.Actor)
	return nil
}

func (f *fakeClient) promotions() []engine.Actor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Actor(nil), f.promoted...)
}

type fakeAudit struct {
	mu     sync.Mutex
	events []AuditEvent
	ch     chan AuditEvent
}

func (a *fakeAudit) Record(_ context.Context, e AuditEvent) error {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	a.ch <- e
	return nil
}

// waitFor returns the first event (already recorded or coming) matching.
func (a *fakeAudit) waitFor(t *testing.T, action, outcome string) AuditEvent {
	t.Helper()
	a.mu.Lock()
	for _, e := range a.events {
		if e.Action == action && e.Outcome == outcome {
			a.mu.Unlock()
			return e
		}
	}
	a.mu.Unlock()
	deadline := time.After(wait)
	for {
		select {
		case e := <-a.ch:
			if e.Action == action && e.Outcome == outcome {
				return e
			}
		case <-deadline:
			t.Fatalf("no audit %s %s; have %+v", action, outcome, a.all())
		}
	}
}

func (a *fakeAudit) all() []AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AuditEvent(nil), a.events...)
}

// fakeBus is a Broadcaster with a Publish.
type fakeBus struct {
	mu   sync.Mutex
	subs map[chan string]struct{}
}

func (b *fakeBus) Subscribe(ctx context.Context) <-chan string {
	ch := make(chan string, 8)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan string]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}()
	return ch
}

func (b *fakeBus) Publish(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- s:
		default:
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- a terminal on the client side ----

// term is an interactive session with a PTY whose output is collected.
type term struct {
	t       *testing.T
	sess    *gossh.Session
	in      io.WriteCloser
	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{}
	done    chan struct{}
	waitErr error
}

// openTerm requests a PTY of w×h with env and starts the shell.
func openTerm(t *testing.T, sess *gossh.Session, w, h int, env ...string) *term {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := sess.Setenv(k, v); err != nil {
			t.Fatalf("setenv %s: %v", k, err)
		}
	}
	termName := "xterm-256color"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TERM="); ok {
			termName = v
		}
	}
	if err := sess.RequestPty(termName, h, w, gossh.TerminalModes{}); err != nil {
		t.Fatalf("pty: %v", err)
	}
	tm := &term{t: t, sess: sess, changed: make(chan struct{}, 1), done: make(chan struct{})}
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tm.in = in
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				tm.mu.Lock()
				tm.out.Write(buf[:n])
				tm.mu.Unlock()
				select {
				case tm.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				tm.waitErr = sess.Wait()
				close(tm.done)
				return
			}
		}
	}()
	return tm
}

// mark is the current length of the output, for waitAfter.
func (tm *term) mark() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.Len()
}

// waitFor waits until the output contains s.
func (tm *term) waitFor(s string) { tm.t.Helper(); tm.waitAfter(0, s) }

// waitAfter waits until the output after mark contains s.
func (tm *term) waitAfter(mark int, s string) {
	tm.t.Helper()
	deadline := time.After(wait)
	for {
		tm.mu.Lock()
		got := tm.out.String()
		tm.mu.Unlock()
		if strings.Contains(got[min(mark, len(got)):], s) {
			return
		}
		select {
		case <-tm.changed:
		case <-tm.done:
			tm.mu.Lock()
			got := tm.out.String()
			tm.mu.Unlock()
			if !strings.Contains(got[min(mark, len(got)):], s) {
				tm.t.Fatalf("session ended without %q; output:\n%q", s, got)
			}
			return
		case <-deadline:
			tm.t.Fatalf("no %q within %s; output:\n%q", s, wait, got)
		}
	}
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, s); err != nil {
		tm.t.Fatalf("send %q: %v", s, err)
	}
}

// exit waits for the session to end and returns its exit status.
func (tm *term) exit() int {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(wait):
		tm.t.Fatal("session did not end")
	}
	return exitCode(tm.t, tm.waitErr)
}

func (tm *term) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *gossh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	t.Fatalf("session ended without a status: %v", err)
	return -1
}

// nextInfo returns the SessionInfo of the next console built.
func (h *harness) nextInfo() SessionInfo {
	h.t.Helper()
	select {
	case i := <-h.infos:
		return i
	case <-time.After(wait):
		h.t.Fatal("no console was built")
		return SessionInfo{}
	}
}

// fakeTimers stands in for time.AfterFunc: tests fire timers by hand.
type fakeTimers struct {
	started chan *fakeTimer
}

type fakeTimer struct {
	d      time.Duration
	f      func()
	mu     sync.Mutex
	resets int
}

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) timer {
	t := &fakeTimer{d: d, f: f}
	ft.started <- t
	return t
}

// next returns the next timer started with duration d.
func (ft *fakeTimers) next(t *testing.T, d time.Duration) *fakeTimer {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case x := <-ft.started:
			if x.d == d {
				return x
			}
		case <-deadline:
			t.Fatalf("no %s timer started", d)
			return nil
		}
	}
}

func (x *fakeTimer) Reset(time.Duration) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.resets++
	return true
}

func (x *fakeTimer) Stop() bool { return true }

func (x *fakeTimer) resetCount() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.resets
}
