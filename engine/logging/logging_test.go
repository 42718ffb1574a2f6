package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carvision/engine"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func setup(t *testing.T, opt Options) (*slog.Logger, *Rotator, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	if opt.Stdout == nil {
		opt.Stdout = out
	}
	log, r, err := Setup(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return log, r, out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetupWritesStdoutAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "logs", "carvision.log")
	log, r, out := setup(t, Options{File: file})
	log.Info("request", "request_id", "r1", "status", 200)
	if strings.Contains(readFile(t, file), "r1") {
		t.Error("buffered line reached the file before a flush")
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"stdout": out.String(), "file": readFile(t, file)} {
		l := ParseLine(strings.TrimSpace(got))
		if l.Message != "request" || l.Level != "INFO" || l.Attrs["request_id"] != "r1" || l.Attrs["status"] != "200" || l.At.IsZero() {
			t.Errorf("%s: parsed %+v from %q", name, l, got)
		}
	}
	// ERROR lines are flushed at once: a crash right after keeps them.
	log.Error("boom", "request_id", "r2")
	if !strings.Contains(readFile(t, file), `"request_id":"r2"`) {
		t.Error("error line not flushed immediately")
	}
}

func TestSetupErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"bad level", Options{Level: "loud"}, `log level "loud"`},
		{"bad format", Options{Format: "xml"}, `format "xml"`},
		{"negative backups", Options{MaxBackups: -1}, "max_backups"},
		{"unwritable dir", Options{File: filepath.Join(blocker, "sub", "c.log")}, "create log directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Setup(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLevelFilterAndRing(t *testing.T) {
	log, r, out := setup(t, Options{Level: "warn", FlushInterval: -1, RingSize: 3})
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if strings.Contains(out.String(), "hidden") || !strings.Contains(out.String(), "shown") {
		t.Errorf("level filter: %q", out.String())
	}
	if err := r.SetLevel("debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("dbg")
	if !strings.Contains(out.String(), "dbg") {
		t.Error("SetLevel(debug) not applied")
	}
	if r.SetLevel("nope") == nil {
		t.Error("SetLevel accepted a bad level")
	}
	// Ring: bounded to 3, newest first, filters.
	log.With("component", "serve").WithGroup("req").Info("request", "status", 422, "path", "/predict")
	log.Error("Missing column \"brand\"", "model_version", "v3")
	all := r.Recent(engine.LogQuery{})
	var msgs []string
	for _, l := range all {
		msgs = append(msgs, l.Message)
	}
	if got := strings.Join(msgs, "|"); got != `Missing column "brand"|request|dbg` {
		t.Errorf("ring %q", got)
	}
	req := all[1]
	if req.Attrs["component"] != "serve" || req.Attrs["req.status"] != "422" || req.Attrs["req.path"] != "/predict" || req.Raw == "" {
		t.Errorf("attrs with groups: %+v", req)
	}
	tests := []struct {
		q    engine.LogQuery
		want string
	}{
		{engine.LogQuery{Level: "error"}, `Missing column "brand"`},
		{engine.LogQuery{Search: "MISSING COLUMN"}, `Missing column "brand"`},
		{engine.LogQuery{Search: "/predict"}, "request"},
		{engine.LogQuery{Limit: 1}, `Missing column "brand"`},
		{engine.LogQuery{Level: "warn", Search: "nothing"}, ""},
	}
	for _, tc := range tests {
		var got []string
		for _, l := range r.Recent(tc.q) {
			got = append(got, l.Message)
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("Recent(%+v) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestTextFormat(t *testing.T) {
	log, r, out := setup(t, Options{Format: "text", FlushInterval: -1})
	log.Info("reload refused", "error", `open "m.cvm": no such file`, "n", 3)
	l := ParseLine(strings.TrimSpace(out.String()))
	if l.Message != "reload refused" || l.Level != "INFO" || l.Attrs["error"] != `open "m.cvm": no such file` || l.Attrs["n"] != "3" || l.At.IsZero() {
		t.Errorf("text line parsed as %+v", l)
	}
	rec := r.Recent(engine.LogQuery{})
	if len(rec) != 1 || rec[0].Raw != strings.TrimSpace(out.String()) {
		t.Errorf("ring raw %q, stdout %q", rec, out.String())
	}
}

func TestParseLineOddInput(t *testing.T) {
	for _, in := range []string{"", "plain words", `{"broken`, "k=\"unterminated", "=x", `{"msg":1,"time":"bad","a":{"b":[1,2]},"c":null,"d":true}`} {
		l := ParseLine(in)
		if l.Raw != in {
			t.Errorf("%q: raw %q", in, l.Raw)
		}
	}
	l := ParseLine(`{"msg":1,"time":"bad","a":{"b":[1,2]},"c":null,"d":true}`)
	if l.Message != "1" || l.Attrs["a.b"] != "[1,2]" || l.Attrs["d"] != "true" || !l.At.IsZero() {
		t.Errorf("parsed %+v", l)
	}
}

func TestSizeRotationAndInfo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "carvision.log")
	log, r, _ := setup(t, Options{File: file, MaxSizeMB: 1, MaxBackups: 2, Stdout: discard{}})
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 2500; i++ { // ~2.6 MB
		log.Info("line", "i", i, "pad", pad)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	info, err := r.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !info.Exists || info.Size == 0 || info.Size > 1<<20 {
		t.Errorf("active file size %d", info.Size)
	}
	if len(info.Backups) != 2 {
		t.Fatalf("backups %+v, want 2 (MaxBackups)", info.Backups)
	}
	for _, b := range info.Backups {
		if !strings.HasPrefix(b.Name, "carvision-") || b.Size == 0 {
			t.Errorf("backup %+v", b)
		}
	}
	if info.MaxSizeMB != 1 || info.MaxBackups != 2 {
		t.Errorf("info %+v", info)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestFailingStdoutDoesNotStopTheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.log")
	log, r, _ := setup(t, Options{File: file, Stdout: failWriter{}, FlushInterval: -1})
	log.Info("kept")
	if !strings.Contains(readFile(t, file), "kept") {
		t.Error("file missed the line")
	}
	info, _ := r.Info()
	if info.WriteErrors != 1 || info.LastError != "stdout closed" {
		t.Errorf("write errors %d %q", info.WriteErrors, info.LastError)
	}
}

func TestInfoWithoutFile(t *testing.T) {
	_, r, _ := setup(t, Options{})
	if _, err := r.Info(); !errors.Is(err, ErrNoFile) {
		t.Errorf("err %v", err)
	}
	if err := r.Rotate(); err != nil {
		t.Errorf("rotate without a file: %v", err)
	}
}

// fakeClock hands out After channels the test fires by hand.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d  time.Duration
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- fakeWait{d, ch}
	return ch
}
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func nextWait(t *testing.T, c *fakeClock) fakeWait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("rotator never armed its timer")
	}
	return fakeWait{}
}

func TestDailyRotation(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	clock := &fakeClock{now: time.Date(2026, 3, 1, 22, 30, 0, 0, loc), waits: make(chan fakeWait)}
	file := filepath.Join(t.TempDir(), "carvision.log")
	log, r, _ := setup(t, Options{File: file, DailyRotate: true, Clock: clock, Stdout: discard{}})
	w := nextWait(t, clock)
	if w.d != 90*time.Minute {
		t.Errorf("first rotation in %s, want 1h30m (to local midnight)", w.d)
	}
	log.Info("day one")
	clock.set(time.Date(2026, 3, 2, 0, 0, 0, 0, loc))
	w.ch <- clock.Now()
	w = nextWait(t, clock) // re-armed: the rotation is done
	if w.d != 24*time.Hour {
		t.Errorf("next rotation in %s, want 24h", w.d)
	}
	info, err := r.Info()
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Backups) != 1 || info.LastRotate.IsZero() || !info.NextRotate.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, loc)) {
		t.Fatalf("after midnight: %+v", info)
	}
	if b := readFile(t, filepath.Join(filepath.Dir(file), info.Backups[0].Name)); !strings.Contains(b, "day one") {
		t.Errorf("backup lacks the day's line: %q", b)
	}
	// A quiet day makes no empty backup.
	clock.set(time.Date(2026, 3, 3, 0, 0, 0, 0, loc))
	w.ch <- clock.Now()
	nextWait(t, clock)
	if info, _ := r.Info(); len(info.Backups) != 1 {
		t.Errorf("quiet day rotated: %+v", info.Backups)
	}
	// Close stops the loop (it is waiting on After now).
	done := make(chan error)
	go func() { done <- r.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
}

func TestScanFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.log")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var sb strings.Builder
	for i := 0; i < 10; i++ {
		msg := "request"
		if i%3 == 0 {
			msg = fmt.Sprintf(`Missing column \"brand\" #%d`, i)
		}
		fmt.Fprintf(&sb, `{"time":%q,"level":"ERROR","msg":"%s"}`+"\n", base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339Nano), msg)
	}
	sb.WriteString(`{"time":"` + base.Add(time.Hour).Format(time.RFC3339Nano) + `","msg":"` + strings.Repeat("y", 2<<20) + `"}` + "\n")
	sb.WriteString("not json, no time: Missing column x\n")
	os.WriteFile(p, []byte(sb.String()), 0o644)
	tests := []struct {
		name    string
		since   time.Time
		pattern string
		limit   int64
		want    []string
	}{
		{"pattern", time.Time{}, "missing column", 0, []string{`Missing column "brand" #0`, `Missing column "brand" #3`, `Missing column "brand" #6`, `Missing column "brand" #9`, "not json, no time: Missing column x"}},
		{"since", base.Add(4 * time.Minute), "Missing column", 0, []string{`Missing column "brand" #6`, `Missing column "brand" #9`}},
		{"tail only", time.Time{}, "missing", int64(2<<20) + 200, []string{`Missing column "brand" #9`, "not json, no time: Missing column x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := ScanFileLimit(p, tc.since, tc.pattern, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				got = append(got, l.Message)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	if _, err := ScanFile(filepath.Join(dir, "absent.log"), time.Time{}, ""); err == nil || !strings.Contains(err.Error(), "absent.log") {
		t.Errorf("missing file: %v", err)
	}
}

func TestScanFileBoundsResults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.log")
	var sb strings.Builder
	for i := 0; i < 3*MaxScanLines; i++ {
		fmt.Fprintf(&sb, "{\"msg\":\"m%d\"}\n", i)
	}
	os.WriteFile(p, []byte(sb.String()), 0o644)
	lines, err := ScanFile(p, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != MaxScanLines || lines[len(lines)-1].Message != fmt.Sprintf("m%d", 3*MaxScanLines-1) {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1].Message)
	}
}

func BenchmarkLogRequest(b *testing.B) {
	file := filepath.Join(b.TempDir(), "c.log")
	log, r, err := Setup(Options{File: file, Stdout: discard{}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		log.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("request_id", "abc-1"), slog.String("method", "POST"),
			slog.String("path", "/predict"), slog.Int("status", 200), slog.Float64("latency_ms", 0.05), slog.String("model_version", "v3"), slog.Int("bytes", 120))
	}
}
