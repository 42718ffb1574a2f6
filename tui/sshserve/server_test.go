package sshserve

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

func operatorLine(k testKey, comment string) string {
	return `environment="CARVISION_ROLE=operator" ` + k.line + " " + comment + "\n"
}

func TestAuthorisedKeyGetsTheConsoleAndQuitEndsIt(t *testing.T) {
	alice := newTestKey(t)
	h := newHarness(t, operatorLine(alice, "alice@laptop"), nil)

	tm := openTerm(t, h.mustSession("ops", alice), 80, 24)
	tm.waitFor("STANDIN alice@laptop role=operator size=80x24")
	info := h.nextInfo()
	if info.Actor.Fingerprint != alice.fp || info.Actor.Role != RoleOperator || info.User != "ops" {
		t.Errorf("actor = %+v user %q", info.Actor, info.User)
	}
	if !strings.HasPrefix(info.Actor.Address, "127.0.0.1:") {
		t.Errorf("actor address %q", info.Actor.Address)
	}
	if info.Width != 80 || info.Height != 24 || info.Renderer == nil || info.Context == nil {
		t.Errorf("session info %+v", info)
	}
	start := h.audit.waitFor(t, ActionSessionStart, OutcomeOK)
	if start.Actor != info.Actor || start.User != "ops" {
		t.Errorf("audit start %+v", start)
	}
	if n := h.srv.ActiveSessions(); n != 1 {
		t.Errorf("active sessions %d, want 1", n)
	}

	tm.send("q")
	if code := tm.exit(); code != 0 {
		t.Errorf("exit status after q = %d, want 0", code)
	}
	end := h.audit.waitFor(t, ActionSessionEnd, OutcomeOK)
	if !strings.HasPrefix(end.Detail, "quit after") || end.Actor.Fingerprint != alice.fp {
		t.Errorf("audit end %+v", end)
	}
	if strings.Contains(tm.output(), "session ended") {
		t.Error("a clean quit printed an end message")
	}
	// The program left the alternate screen on the way out.
	if !strings.Contains(tm.output(), "\x1b[?1049l") {
		t.Error("alternate screen not restored")
	}
	if n := h.srv.ActiveSessions(); n != 0 {
		t.Errorf("active sessions after quit %d, want 0", n)
	}
	// The stand-in's notices goroutine was released by the close.
	select {
	case _, ok := <-info.Notices:
		if ok {
			t.Error("notices channel still open")
		}
	case <-time.After(wait):
		t.Error("notices channel not closed")
	}
}

func TestUnknownKeyIsRefusedAndLoggedWithItsFingerprint(t *testing.T) {
	alice, mallory := newTestKey(t), newTestKey(t)
	h := newHarness(t, alice.line+" alice\n", nil)

	_, err := h.session("ops", mallory)
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown key: err = %v", err)
	}
	e := h.audit.waitFor(t, ActionAuth, OutcomeRefused)
	if e.Actor.Fingerprint != mallory.fp || !strings.Contains(e.Detail, mallory.fp) || e.User != "ops" {
		t.Errorf("audit %+v, want mallory's fingerprint %s", e, mallory.fp)
	}
	if logs := h.logs.String(); !strings.Contains(logs, mallory.fp) || !strings.Contains(logs, "unknown key") {
		t.Errorf("log does not name the refused fingerprint:\n%s", logs)
	}

	// An agent offering an unknown key first still gets in with the right
	// key, and the session's identity is the key that authenticated.
	tm := openTerm(t, h.mustSession("ops", mallory, alice), 80, 24)
	tm.waitFor("STANDIN alice role=viewer")
	if got := h.nextInfo().Actor.Fingerprint; got != alice.fp {
		t.Errorf("actor fingerprint %s, want alice's %s", got, alice.fp)
	}
}

func TestPasswordAndKeyboardInteractiveAreOff(t *testing.T) {
	alice := newTestKey(t)
	h := newHarness(t, alice.line+"\n", nil)
	for name, auth := range map[string]gossh.AuthMethod{
		"password": gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return nil, nil
		}),
	} {
		cfg := h.config("ops")
		cfg.Auth = []gossh.AuthMethod{auth}
		if c, err := gossh.Dial("tcp", h.addr, cfg); err == nil {
			c.Close()
			t.Errorf("%s authentication accepted", name)
		}
	}
}

func TestViewerIsRefusedStateChangesOperatorIsNot(t *testing.T) {
	viewer, operator := newTestKey(t), newTestKey(t)
	h := newHarness(t, viewer.line+" vera\n"+operatorLine(operator, "otto"), nil)

	cases := []struct {
		key      testKey
		name     string
		role     string
		want     string
		promoted int
	}{
		{viewer, "vera", RoleViewer, "promote refused: promote: read-only session (role viewer)", 0},
		{operator, "otto", RoleOperator, "promote ok", 1},
	}
	for _, tc := range cases {
		t.Run(tc.role, func(t *testing.T) {
			tm := openTerm(t, h.mustSession("ops", tc.key), 100, 30)
			tm.waitFor("STANDIN " + tc.name + " role=" + tc.role)
			m := tm.mark()
			tm.send("p")
			tm.waitAfter(m, tc.want)
			got := h.client.promotions()
			if len(got) != tc.promoted {
				t.Fatalf("promotions %d, want %d", len(got), tc.promoted)
			}
			if tc.promoted > 0 && (got[0].Role != RoleOperator || got[0].Fingerprint != operator.fp || got[0].Name != "otto") {
				t.Errorf("promotion by %+v", got[0])
			}
			tm.send("q")
			if code := tm.exit(); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}

func TestResizeReachesTheConsole(t *testing.T) {
	alice := newTestKey(t)
	h := newHarness(t, alice.line+" a\n", nil)
	sess := h.mustSession("ops", alice)
	tm := openTerm(t, sess, 80, 24)
	tm.waitFor("size=80x24")
	if got := <-h.sizes; got != (tea.WindowSizeMsg{Width: 80, Height: 24}) {
		t.Errorf("first size %v", got)
	}
	cases := []struct {
		w, h int
		want tea.WindowSizeMsg
		text string
	}{
		{120, 40, tea.WindowSizeMsg{Width: 120, Height: 40}, "size=120x40"},
		{50, 12, tea.WindowSizeMsg{Width: 50, Height: 12}, "size=50x12"},
		{100000, 100000, tea.WindowSizeMsg{Width: maxCols, Height: maxRows}, "size=1000x500"},
	}
	for _, tc := range cases {
		m := tm.mark()
		if err := sess.WindowChange(tc.h, tc.w); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-h.sizes:
			if got != tc.want {
				t.Errorf("window %dx%d reached the console as %v, want %v", tc.w, tc.h, got, tc.want)
			}
		case <-time.After(wait):
			t.Fatalf("no WindowSizeMsg for %dx%d", tc.w, tc.h)
		}
		tm.waitAfter(m, tc.text)
	}
	tm.send("q")
	tm.exit()
}

func TestWithoutPTYOrWithACommand(t *testing.T) {
	alice := newTestKey(t)
	h := newHarness(t, alice.line+" a\n", func(o *Options) {
		o.StatusFunc = func(context.Context) string {
			return "CarVision status\x1b]52;c;cHduZWQ=\x07: healthy\n" + strings.Repeat("row\n", 40)
		}
	})
	cases := []struct {
		name    string
		command string
		code    int
		want    string
		action  string
		outcome string
	}{
		{"no pty", "", 0, "CarVision status: healthy\n", ActionStatus, OutcomeOK},
		{"status command", "status", 0, "CarVision status: healthy\n", ActionStatus, OutcomeOK},
		{"any other command", "rm -rf / ; echo pwned", 1, "commands are not run here", ActionExec, OutcomeRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := h.mustSession("ops", alice)
			out, err := sess.CombinedOutput(tc.command)
			if code := exitCode(t, err); code != tc.code {
				t.Errorf("exit %d, want %d (%s)", code, tc.code, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q lacks %q", out, tc.want)
			}
			if strings.Contains(string(out), "\x1b") {
				t.Errorf("control sequence reached the client: %q", out)
			}
			if tc.code == 0 {
				if lines := strings.Count(string(out), "\n"); lines != statusRows {
					t.Errorf("status is %d lines, want one screen of %d", lines, statusRows)
				}
			}
			e := h.audit.waitFor(t, tc.action, tc.outcome)
			if e.Actor.Fingerprint != alice.fp {
				t.Errorf("audit %+v", e)
			}
		})
	}
	select {
	case i := <-h.infos:
		t.Errorf("a console was built for %+v", i.Actor)
	default:
	}
	if strings.Contains(h.audit.all()[2].Detail, "\x1b") {
		t.Error("audit detail kept control characters")
	}
}

func TestSessionCap(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	h := newHarness(t, a.line+" a\n"+b.line+" b\n", func(o *Options) { o.MaxSessions = 1 })

	first := openTerm(t, h.mustSession("ops", a), 80, 24)
	first.waitFor("STANDIN a")

	second := openTerm(t, h.mustSession("ops", b), 80, 24)
	if code := second.exit(); code != 1 {
		t.Errorf("refused session exit %d, want 1", code)
	}
	if out := second.output(); !strings.Contains(out, "all 1 console sessions are in use; try again later") {
		t.Errorf("refusal output %q", out)
	}
	if e := h.audit.waitFor(t, ActionSession, OutcomeRefused); e.Actor.Fingerprint != b.fp {
		t.Errorf("refusal audit %+v", e)
	}

	first.send("q")
	first.exit()
	third := openTerm(t, h.mustSession("ops", b), 80, 24)
	third.waitFor("STANDIN b")
	third.send("q")
	third.exit()
}

func TestMalformedLineIsSkippedAndReported(t *testing.T) {
	alice := newTestKey(t)
	keys := "# keys\nssh-ed25519 AAAA-broken bob\n" + operatorLine(alice, "alice")
	h := newHarness(t, keys, nil)

	tm := openTerm(t, h.mustSession("ops", alice), 80, 24)
	tm.waitFor("STANDIN alice role=operator")
	st := h.srv.KeysStatus()
	if st.Keys != 1 || st.Operators != 1 || len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], "line 2: ") {
		t.Errorf("keys status %+v", st)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "line=2") {
		t.Errorf("log does not name line 2:\n%s", logs)
	}
	tm.send("q")
	tm.exit()
}

func TestKeysFileReload(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	h := newHarness(t, operatorLine(a, "a")+b.line+" b\n", nil)

	tmA := openTerm(t, h.mustSession("ops", a), 80, 24)
	tmA.waitFor("STANDIN a role=operator")
	tmB := openTerm(t, h.mustSession("ops", b), 80, 24)
	tmB.waitFor("STANDIN b role=viewer")

	// Remove a, promote b: a's session ends at once, b's is ended so that
	// it reconnects with its new role.
	h.writeKeys(operatorLine(b, "b"))
	h.waitReload(func(st KeysStatus) bool { return st.Keys == 1 && st.Operators == 1 })
	if code := tmA.exit(); code != 1 {
		t.Errorf("revoked session exit %d, want 1", code)
	}
	if !strings.Contains(tmA.output(), "session ended: your key was removed from the authorized keys") {
		t.Errorf("revoked session output %q", tmA.output())
	}
	tmB.exit()
	if !strings.Contains(tmB.output(), "your role changed from viewer to operator") {
		t.Errorf("role change output %q", tmB.output())
	}
	if _, err := h.session("ops", a); err == nil {
		t.Error("a removed key still gets in")
	}
	tm := openTerm(t, h.mustSession("ops", b), 80, 24)
	tm.waitFor("STANDIN b role=operator")
	tm.send("q")
	tm.exit()

	// A file that cannot be read keeps the keys in force.
	if err := os.Remove(h.keysPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(h.keysPath, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.ReloadKeys(); err == nil {
		t.Error("unreadable keys file: no error")
	}
	if st := h.srv.KeysStatus(); st.Keys != 1 || st.Err == "" {
		t.Errorf("after an unreadable file: %+v", st)
	}
	if _, err := h.dial("ops", b); err != nil {
		t.Errorf("unreadable file dropped the keys in force: %v", err)
	}

	// A deleted file means no keys.
	if err := os.Remove(h.keysPath); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dial("ops", b); err == nil {
		t.Error("a deleted keys file still lets keys in")
	}
}

func TestConfigRolesApplyLive(t *testing.T) {
	a := newTestKey(t)
	h := newHarness(t, a.line+" ann@desk\n", func(o *Options) { o.Roles = map[string]string{"ann@desk": RoleOperator} })
	tm := openTerm(t, h.mustSession("ops", a), 80, 24)
	tm.waitFor("STANDIN ann@desk role=operator")
	if err := h.srv.SetRoles(map[string]string{a.fp: "root"}); err == nil {
		t.Error("invalid role accepted")
	}
	if err := h.srv.SetRoles(nil); err != nil {
		t.Fatal(err)
	}
	tm.exit()
	if !strings.Contains(tm.output(), "role changed from operator to viewer") {
		t.Errorf("output %q", tm.output())
	}
}

func TestPanicInOneSessionShowsAnErrorScreen(t *testing.T) {
	a := newTestKey(t)
	h := newHarness(t, a.line+" a\n", nil)
	tm := openTerm(t, h.mustSession("ops", a), 80, 24)
	tm.waitFor("STANDIN a")
	other := openTerm(t, h.mustSession("ops", a), 80, 24)
	other.waitFor("STANDIN a")

	tm.send("!")
	tm.waitFor("this session hit an internal error")
	if logs := h.logs.String(); !strings.Contains(logs, "stand-in exploded") {
		t.Errorf("panic not logged:\n%s", logs)
	}
	// The other session and new ones are unaffected.
	m := other.mark()
	other.send("p")
	other.waitAfter(m, "promote refused")
	third := openTerm(t, h.mustSession("ops", a), 80, 24)
	third.waitFor("STANDIN a")

	tm.send("q")
	if code := tm.exit(); code != 1 {
		t.Errorf("crashed session exit %d, want 1", code)
	}
	if e := h.audit.waitFor(t, ActionSessionEnd, OutcomeOK); !strings.HasPrefix(e.Detail, "internal error") {
		t.Errorf("audit end %+v", e)
	}
	for _, x := range []*term{other, third} {
		x.send("q")
		if code := x.exit(); code != 0 {
			t.Errorf("healthy session exit %d", code)
		}
	}
}

func TestFactoryErrorEndsTheSessionWithItsReason(t *testing.T) {
	a := newTestKey(t)
	h := newHarness(t, a.line+" factory-fails\n", nil)
	tm := openTerm(t, h.mustSession("ops", a), 80, 24)
	if code := tm.exit(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(tm.output(), "the console failed to start: engine unreachable") {
		t.Errorf("output %q", tm.output())
	}
}

func TestIdleAndMaxSessionTimeouts(t *testing.T) {
	const idle, maxLen = 15 * time.Minute, 8 * time.Hour
	cases := []struct {
		name  string
		fire  time.Duration
		want  string
		audit string
	}{
		{"idle", idle, "session ended: no input for 15m0s", "idle after"},
		{"max", maxLen, "session ended: it reached the maximum session length (8h0m0s)", "max session after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestKey(t)
			h := newHarness(t, a.line+" a\n", func(o *Options) { o.IdleTimeout, o.MaxSession = idle, maxLen })
			tm := openTerm(t, h.mustSession("ops", a), 80, 24)
			tm.waitFor("STANDIN a")
			timers := map[time.Duration]*fakeTimer{idle: h.timers.next(t, idle), maxLen: h.timers.next(t, maxLen)}

			// Input restarts the idle clock; the reply proves it was read.
			before := timers[idle].resetCount()
			m := tm.mark()
			tm.send("p")
			tm.waitAfter(m, "promote refused")
			if timers[idle].resetCount() <= before {
				t.Error("input did not restart the idle timer")
			}

			timers[tc.fire].f()
			if code := tm.exit(); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(tm.output(), tc.want) {
				t.Errorf("output %q lacks %q", tm.output(), tc.want)
			}
			if e := h.audit.waitFor(t, ActionSessionEnd, OutcomeOK); !strings.HasPrefix(e.Detail, tc.audit) {
				t.Errorf("audit end %+v", e)
			}
		})
	}
}

func TestForwardingAndSubsystemsAreRefused(t *testing.T) {
	a := newTestKey(t)
	h := newHarness(t, a.line+" a\n", nil)
	c, err := h.dial("ops", a)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("remote port forwarding accepted")
	}
	if conn, err := c.Dial("tcp", h.addr); err == nil {
		conn.Close()
		t.Error("local port forwarding (direct-tcpip) accepted")
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for _, req := range []string{"auth-agent-req@openssh.com", "x11-req"} {
		ok, err := sess.SendRequest(req, true, nil)
		if err != nil || ok {
			t.Errorf("%s: ok=%v err=%v, want refused", req, ok, err)
		}
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
}

func TestNoticesReachEverySession(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	h := newHarness(t, a.line+" a\n"+b.line+" b\n", nil)
	tmA := openTerm(t, h.mustSession("ops", a), 80, 24)
	tmA.waitFor("STANDIN a")
	tmB := openTerm(t, h.mustSession("ops", b), 80, 24)
	tmB.waitFor("STANDIN b")
	ma, mb := tmA.mark(), tmB.mark()
	h.bus.Publish("retrain · alice@laptop: retrain started\x1b[2J")
	tmA.waitAfter(ma, "notice=retrain · alice@laptop: retrain started")
	tmB.waitAfter(mb, "notice=retrain · alice@laptop: retrain started")
	if strings.Contains(tmA.output()[ma:], "\x1b[2J") {
		t.Error("a notice's control sequence reached the terminal")
	}
	for _, tm := range []*term{tmA, tmB} {
		tm.send("q")
		tm.exit()
	}
}

func TestColourProfileFollowsTheClient(t *testing.T) {
	a := newTestKey(t)
	h := newHarness(t, a.line+" a\n", nil)
	cases := []struct {
		name string
		env  []string
		want termenv.Profile
	}{
		{"truecolor", []string{"TERM=xterm-256color", "COLORTERM=truecolor"}, termenv.TrueColor},
		{"256", []string{"TERM=xterm-256color"}, termenv.ANSI256},
		{"no color", []string{"TERM=xterm-256color", "COLORTERM=truecolor", "NO_COLOR=1"}, termenv.Ascii},
		{"dumb", []string{"TERM=dumb"}, termenv.Ascii},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := openTerm(t, h.mustSession("ops", a), 80, 24, tc.env...)
			tm.waitFor("STANDIN a")
			if got := h.nextInfo().Renderer.ColorProfile(); got != tc.want {
				t.Errorf("profile %v, want %v", got, tc.want)
			}
			tm.send("q")
			tm.exit()
		})
	}
}

func TestShutdownEndsSessionsAndSaysWhy(t *testing.T) {
	a := newTestKey(t)
	// A short grace: the test client keeps its connection open after its
	// session ends, as a stuck client would, so Serve closes it at the end.
	h := newHarness(t, a.line+" a\n", func(o *Options) { o.ShutdownGrace = 100 * time.Millisecond })
	tm := openTerm(t, h.mustSession("ops", a), 80, 24)
	tm.waitFor("STANDIN a")
	h.cancel()
	if code := tm.exit(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(tm.output(), "session ended: the server is shutting down") {
		t.Errorf("output %q", tm.output())
	}
	select {
	case err := <-h.served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		h.served <- nil // for the cleanup
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	if _, err := h.session("ops", a); err == nil {
		t.Error("server still accepts after shutdown")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	factory := func(SessionInfo) (tea.Model, error) { return nil, errors.New("unused") }
	quiet := slog.New(slog.DiscardHandler)
	host := filepath.Join(dir, "hk")
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no factory", Options{HostKeyPath: host, AuthorizedKeysPath: keys}, "Factory"},
		{"no keys path", Options{HostKeyPath: host, Factory: factory}, "AuthorizedKeysPath"},
		{"missing keys file", Options{HostKeyPath: host, AuthorizedKeysPath: filepath.Join(dir, "nope"), Factory: factory}, filepath.Join(dir, "nope")},
		{"no host key path", Options{AuthorizedKeysPath: keys, Factory: factory}, "host key"},
		{"bad role", Options{HostKeyPath: host, AuthorizedKeysPath: keys, Factory: factory, Roles: map[string]string{"x": "god"}}, `"god"`},
		{"negative cap", Options{HostKeyPath: host, AuthorizedKeysPath: keys, Factory: factory, MaxSessions: -1}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = quiet
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	wd, _ := os.Getwd()
	if _, err := os.Stat(filepath.Join(wd, "id_ed25519")); err == nil {
		t.Error("a host key was written into the working folder")
	}
}
