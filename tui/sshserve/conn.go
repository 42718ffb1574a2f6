package sshserve

import (
	"context"
	"net"
	"strings"
	"sync"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"

	"carvision/engine"
)

// maxRefusedKept bounds the fingerprints remembered per connection (x/crypto
// allows a handful of attempts, this only caps a misbehaving client).
const maxRefusedKept = 16

type connStateKeyType struct{}

// connStateKey finds a connection's connState in its ssh.Context.
var connStateKey = connStateKeyType{}

// connState remembers the keys a connection offered and we refused, so that
// a connection that never gets in is logged and audited once with all its
// fingerprints, while a user whose agent offers two unknown keys before the
// right one leaves no false refusal in the audit.
type connState struct {
	mu      sync.Mutex
	refused []string
}

func (c *connState) refuse(fp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.refused {
		if f == fp {
			return
		}
	}
	if len(c.refused) < maxRefusedKept {
		c.refused = append(c.refused, fp)
	}
}

func (c *connState) fingerprints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.refused...)
}

// trackConn is the server's ConnCallback.
func (s *Server) trackConn(ctx ssh.Context, conn net.Conn) net.Conn {
	st := &connState{}
	ctx.SetValue(connStateKey, st)
	tc := &trackedConn{Conn: conn}
	tc.onClose = func() { s.connClosed(ctx, st, conn.RemoteAddr()) }
	return tc
}

// connClosed reports a connection that ended without authenticating.
func (s *Server) connClosed(ctx ssh.Context, st *connState, addr net.Addr) {
	if ctx.Value(ssh.ContextKeyConn) != nil {
		return // authenticated: its sessions did their own reporting
	}
	fps := st.fingerprints()
	user, _ := ctx.Value(ssh.ContextKeyUser).(string)
	user = oneLine(user, 64)
	address := ""
	if addr != nil {
		address = addr.String()
	}
	if len(fps) == 0 {
		s.log.Debug("ssh connection closed before authentication", "address", address, "user", user)
		return
	}
	s.log.Warn("ssh access refused: unknown key", "user", user, "address", address,
		"fingerprints", strings.Join(fps, ","))
	actor := engine.Actor{Name: user, Fingerprint: fps[0], Address: address}
	s.record(context.Background(), ActionAuth, OutcomeRefused, user, actor, "unknown key "+strings.Join(fps, ", "))
}

// trackedConn calls onClose once, whichever side closes first.
type trackedConn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// Session requests refused on every channel. charmbracelet/ssh answers yes
// to auth-agent-req without serving anything; we say no, so that the
// client knows forwarding is off.
var refusedRequests = map[string]bool{
	"auth-agent-req@openssh.com": true,
	"x11-req":                    true,
}

// sessionChannel is the "session" channel handler: the default one, fed
// with the channel's requests minus the refused ones.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{NewChannel: nc, s: s, ctx: ctx}, ctx)
}

// filteredChannel drops refused requests between the client and the session.
type filteredChannel struct {
	gossh.NewChannel
	s   *Server
	ctx ssh.Context
}

func (f filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		for r := range reqs {
			if refusedRequests[r.Type] {
				f.s.log.Info("ssh request refused", "request", r.Type, "address", addrOf(f.ctx))
				_ = r.Reply(false, nil)
				continue
			}
			out <- r
		}
	}()
	return ch, out, nil
}

// refuseChannel rejects every channel but "session" (direct-tcpip, that is
// local port forwarding, among them) and says so in the log.
func (s *Server) refuseChannel(_ *ssh.Server, _ *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	s.log.Info("ssh channel refused", "type", oneLine(nc.ChannelType(), 64), "address", addrOf(ctx))
	_ = nc.Reject(gossh.Prohibited, "not offered by this server")
}

// refuseRequest answers no to every global request (tcpip-forward, that is
// remote port forwarding, among them).
func (s *Server) refuseRequest(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	if strings.HasPrefix(req.Type, "keepalive@") || req.Type == "no-more-sessions@openssh.com" {
		return false, nil // routine: a "no" is the expected answer
	}
	s.log.Info("ssh request refused", "request", oneLine(req.Type, 64), "address", addrOf(ctx))
	return false, nil
}
