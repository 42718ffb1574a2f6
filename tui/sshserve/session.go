package sshserve

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"carvision/engine"
)

// Why a console session ended, when the user did not simply quit.
const (
	endIdle     = "idle"
	endMax      = "max session"
	endRevoked  = "key revoked"
	endRole     = "role changed"
	endShutdown = "shutdown"
	endPanic    = "internal error"
	endFactory  = "console failed to start"
)

// liveSession is one running console session.
type liveSession struct {
	ctx      context.Context
	cancel   context.CancelFunc
	actor    engine.Actor
	user     string
	wire     string // the key's wire encoding, to find it again on reload
	ref      string // short id shown on the error screen and in logs
	started  time.Time
	notices  *noticeBox
	idleFor  time.Duration
	stopOnce sync.Once

	mu      sync.Mutex
	prog    *tea.Program
	reason  string // "" while nothing but the user ended it
	message string // shown to the user after the program ends
	idle    timer
	max     timer
}

// timer is the part of *time.Timer a session uses; tests fire fakes.
type timer interface {
	Reset(time.Duration) bool
	Stop() bool
}

// end asks the session to stop for reason; the first reason wins.
func (ls *liveSession) end(reason, message string) {
	ls.mu.Lock()
	if ls.reason == "" {
		ls.reason, ls.message = reason, message
	}
	p := ls.prog
	ls.mu.Unlock()
	if p != nil {
		// Quit blocks until the event loop takes it or the program's context
		// ends; the middleware kills the program after Run, so this returns.
		go p.Quit()
	}
}

// attach records the session's program; false when the session was ended
// before its program existed (the program must then not start).
func (ls *liveSession) attach(p *tea.Program) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.reason != "" {
		return false
	}
	ls.prog = p
	return true
}

// outcome returns why the session ended ("" when the user quit).
func (ls *liveSession) outcome() (reason, message string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.reason, ls.message
}

// touch restarts the idle clock on input.
func (ls *liveSession) touch() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	// Under the lock, so that a read finishing after stop cannot re-arm
	// the timer of a session that is over.
	if ls.idle != nil {
		ls.idle.Reset(ls.idleFor)
	}
}

// stop releases the session's timers, context and notices; called once the
// program has ended, so nothing reads or writes the notices any more except
// command goroutines still parked on them, which the close releases.
func (ls *liveSession) stop() {
	ls.mu.Lock()
	if ls.idle != nil {
		ls.idle.Stop()
		ls.idle = nil
	}
	if ls.max != nil {
		ls.max.Stop()
		ls.max = nil
	}
	ls.mu.Unlock()
	ls.cancel()
	ls.notices.close()
}

// noticeBox is a session's notices channel: sends never block (a session
// that does not read its notices only loses its own) and never race the
// close.
type noticeBox struct {
	mu     sync.Mutex
	ch     chan string
	closed bool
}

func newNoticeBox(n int) *noticeBox { return &noticeBox{ch: make(chan string, n)} }

func (b *noticeBox) send(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	select {
	case b.ch <- s:
	default:
	}
}

func (b *noticeBox) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.ch)
	}
}

// forward copies a subscription into the box until ctx ends or the
// subscription closes.
func (b *noticeBox) forward(ctx context.Context, sub <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-sub:
			if !ok {
				return
			}
			b.send(clean(n, 500))
		}
	}
}

// activityReader reports every read that brought input, which is what
// "idle" means: the connection-level timeout of charmbracelet/ssh also
// counts our own redraws, so a live page would never go idle.
type activityReader struct {
	r     io.Reader
	touch func()
}

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// clean makes client- or engine-supplied text safe to print on someone's
// terminal: escape sequences and other control characters are dropped and
// the length is capped.
func clean(s string, max int) string {
	s = ansi.Strip(s) // whole sequences, not just their ESC
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// oneLine is clean for a single-line field (names, commands).
func oneLine(s string, max int) string {
	return strings.Join(strings.Fields(clean(s, max)), " ")
}
