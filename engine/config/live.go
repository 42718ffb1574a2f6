package config

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Live holds the config in force and what became of the last reload. Get
// is a single atomic load, cheap enough for every request.
type Live struct {
	cur atomic.Pointer[Config]
	gen atomic.Uint64

	mu        sync.Mutex
	text      string
	lastErr   error
	line      int
	appliedAt time.Time
	now       func() time.Time
}

// NewLive starts with c in force (Default() when c is nil).
func NewLive(c *Config) *Live {
	l := &Live{now: time.Now}
	if c == nil {
		c = Default()
	}
	l.Apply(c)
	return l
}

// Get returns the config in force. Never nil; never modify it.
func (l *Live) Get() *Config { return l.cur.Load() }

// Generation counts applied configs, so a cache can tell it is stale.
func (l *Live) Generation() uint64 { return l.gen.Load() }

// Apply puts c in force and clears the last error; nil is ignored.
func (l *Live) Apply(c *Config) {
	if c == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur.Store(c)
	l.gen.Add(1)
	l.text = c.Source.Text
	l.lastErr, l.line = nil, 0
	l.appliedAt = l.now()
}

// Reject records a failed reload; the config in force stays. The text
// becomes the rejected file's (when the error carries it) so a viewer can
// show the bad line.
func (l *Live) Reject(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastErr = err
	l.line = ErrorLine(err)
	var ce *Error
	if errors.As(err, &ce) && ce.Text != "" {
		l.text = ce.Text
	}
}

// Update is Watch's onChange: Apply on success, Reject on error.
func (l *Live) Update(c *Config, err error) {
	if err != nil {
		l.Reject(err)
		return
	}
	l.Apply(c)
}

// State reports the last reload error (nil when the file on disk is the
// config in force), the line it names, when the config in force was
// applied, and the file text last seen.
func (l *Live) State() (lastErr error, line int, appliedAt time.Time, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr, l.line, l.appliedAt, l.text
}
