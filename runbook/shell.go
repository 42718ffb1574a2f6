package runbook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// capBuffer keeps the last cap bytes written to it (the tail is what
// explains a failure) and counts what it dropped. Safe for concurrent use.
type capBuffer struct {
	mu      sync.Mutex
	cap     int
	buf     []byte
	dropped int64
}

func newCapBuffer(cap int) *capBuffer {
	if cap <= 0 {
		cap = 64 << 10
	}
	return &capBuffer{cap: cap}
}

// Write implements io.Writer; it never fails.
func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) > b.cap {
		b.dropped += int64(len(p) - b.cap)
		p = p[len(p)-b.cap:]
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.cap; over > 0 {
		b.dropped += int64(over)
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return n, nil
}

// Snapshot returns the kept text (starting on a rune boundary) and the
// number of bytes dropped.
func (b *capBuffer) Snapshot() (string, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf
	lost := b.dropped
	for len(s) > 0 && lost > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return string(s), lost
}

// shResult is what one sh step did.
type shResult struct {
	exit     int
	timedOut bool
	err      error // could not start
}

// runShell runs body with bash -c in dir, output into out, killing the
// whole process group when ctx ends or the timeout passes.
func runShell(ctx context.Context, body, dir string, env []string, timeout time.Duration, out *capBuffer) shResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", body)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 2 * time.Second // a background child holding the pipes must not hang us
	setProcessGroup(cmd)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return shResult{}
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return shResult{exit: -1, timedOut: true}
	case errors.As(err, &ee):
		code := ee.ExitCode()
		if code < 0 && ctx.Err() != nil {
			return shResult{exit: -1, err: fmt.Errorf("cancelled: %w", ctx.Err())}
		}
		return shResult{exit: code}
	case errors.Is(err, exec.ErrWaitDelay):
		return shResult{exit: 0}
	}
	return shResult{exit: -1, err: err}
}

// shellEnv is the environment of sh steps: the process's, plus where things
// are, plus the carvision binary on PATH when this process is it.
func shellEnv(root, config, data, log, runbook, step, exec string) []string {
	env := os.Environ()
	if exe, err := os.Executable(); err == nil && filepath.Base(exe) == "carvision" {
		env = append(env, "PATH="+filepath.Dir(exe)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return append(env,
		"CARVISION_ROOT="+root,
		"CARVISION_CONFIG="+config,
		"CARVISION_DATA="+data,
		"CARVISION_LOG="+log,
		"CARVISION_RUNBOOK="+runbook,
		"CARVISION_STEP="+step,
		"CARVISION_EXECUTION="+exec,
	)
}
