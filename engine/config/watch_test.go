package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// patience bounds every wait on the watcher; events normally arrive in
// milliseconds, so only a broken watcher ever reaches it.
const patience = 10 * time.Second

type change struct {
	cfg *Config
	err error
}

// startWatch runs watch on path and returns the channel of its callbacks
// and one signalled for each reload skipped as unchanged; the watch is in
// place when it returns and stopped when the test ends.
func startWatch(t *testing.T, path string, debounce time.Duration) (<-chan change, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan change, 64)
	unchanged := make(chan struct{}, 64)
	ready := make(chan struct{})
	done := make(chan error, 1)
	hooks := watchHooks{ready: func() { close(ready) }, unchanged: func() { unchanged <- struct{}{} }}
	go func() {
		done <- watch(ctx, path, debounce, func(c *Config, err error) { changes <- change{c, err} }, hooks)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch did not start: %v", err)
	case <-time.After(patience):
		t.Fatal("watch did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v after cancel", err)
			}
		case <-time.After(patience):
			t.Error("watch did not stop after cancel")
		}
	})
	return changes, unchanged
}

func next(t *testing.T, changes <-chan change) change {
	t.Helper()
	select {
	case ch := <-changes:
		return ch
	case <-time.After(patience):
		t.Fatal("no callback from the watcher")
		return change{}
	}
}

// nextSettled is next, skipping the "empty config" an in-place write may
// show between truncating the file and writing it.
func nextSettled(t *testing.T, changes <-chan change) change {
	t.Helper()
	for {
		ch := next(t, changes)
		if !errors.Is(ch.err, ErrEmpty) {
			return ch
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameWrite replaces path the way editors do: write a temp file, rename it over.
func renameWrite(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".swp"
	writeFile(t, tmp, text)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchSequence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "seed: 1\n")
	live := NewLive(mustLoad(t, path))
	changes, _ := startWatch(t, path, 20*time.Millisecond)

	// 1. In-place write.
	writeFile(t, path, "seed: 2\n")
	ch := nextSettled(t, changes)
	if ch.err != nil || ch.cfg.Seed != 2 {
		t.Fatalf("in-place write: %+v", ch)
	}
	live.Update(ch.cfg, ch.err)

	// 2. Editor-style rename over the file.
	renameWrite(t, path, "seed: 3\n")
	ch = next(t, changes)
	if ch.err != nil || ch.cfg.Seed != 3 {
		t.Fatalf("rename write: %+v", ch)
	}
	live.Update(ch.cfg, ch.err)
	_, _, appliedAt, _ := live.State()

	// 3. A broken file: an error with its line; the old config stays.
	broken := "seed: 4\ntraining:\n  gbdt:\n    learning_rate: 1.5\n"
	writeFile(t, path, broken)
	ch = nextSettled(t, changes)
	if ch.cfg != nil || ErrorLine(ch.err) != 4 || !strings.Contains(ch.err.Error(), "training.gbdt.learning_rate: 1.5 is out of range (0, 1]") {
		t.Fatalf("broken file: cfg %v err %v", ch.cfg, ch.err)
	}
	live.Update(ch.cfg, ch.err)
	if live.Get().Seed != 3 {
		t.Errorf("broken file replaced the config: seed %d", live.Get().Seed)
	}
	lastErr, line, appliedAt2, text := live.State()
	if lastErr == nil || line != 4 || text != broken || !appliedAt2.Equal(appliedAt) {
		t.Errorf("state after broken file: err %v line %d text %q appliedAt moved %v", lastErr, line, text, !appliedAt2.Equal(appliedAt))
	}

	// 4. The file disappears: an error, then it comes back fixed.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	ch = next(t, changes)
	if ch.cfg != nil || !errors.Is(ch.err, os.ErrNotExist) {
		t.Fatalf("removed file: %+v", ch)
	}
	writeFile(t, path, "seed: 5\n")
	ch = nextSettled(t, changes)
	if ch.err != nil || ch.cfg.Seed != 5 {
		t.Fatalf("file back: %+v", ch)
	}
	live.Update(ch.cfg, ch.err)
	if lastErr, line, _, text := live.State(); lastErr != nil || line != 0 || text != "seed: 5\n" || live.Get().Seed != 5 {
		t.Errorf("state after fix: %v %d %q seed %d", lastErr, line, text, live.Get().Seed)
	}
}

func TestWatchIgnoresOtherFilesAndSameBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "seed: 1\n")
	changes, unchanged := startWatch(t, path, 20*time.Millisecond)

	// A rewrite with the same bytes is read and skipped, with no callback.
	// Rename-writes are atomic, so no half-written state can be read.
	renameWrite(t, path, "seed: 1\n")
	select {
	case <-unchanged:
	case ch := <-changes:
		t.Fatalf("callback for unchanged bytes: %+v", ch)
	case <-time.After(patience):
		t.Fatal("the same-bytes rewrite was never read")
	}
	// A neighbour's change is no change at all; the next callback must be
	// the real edit that follows it.
	writeFile(t, filepath.Join(dir, "carvision.lock"), "x")
	renameWrite(t, path, "seed: 6\n")
	ch := next(t, changes)
	if ch.err != nil || ch.cfg.Seed != 6 {
		t.Fatalf("first callback = %+v, want seed 6", ch)
	}
}

func TestWatchDebounceCoalesces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "seed: 0\n")
	changes, _ := startWatch(t, path, 300*time.Millisecond)

	const writes = 10
	for i := 1; i <= writes; i++ {
		renameWrite(t, path, "seed: "+strconv.Itoa(i)+"\n")
	}
	// Callbacks arrive until the last write's; a working debounce merges a
	// burst written back to back, so there are far fewer than writes.
	got := 0
	for {
		ch := next(t, changes)
		got++
		if ch.err != nil {
			t.Fatalf("callback error: %v", ch.err)
		}
		if ch.cfg.Seed == writes {
			break
		}
	}
	if got >= writes {
		t.Errorf("%d callbacks for %d back-to-back writes: no debounce", got, writes)
	}
}

func TestWatchErrors(t *testing.T) {
	if err := Watch(context.Background(), filepath.Join(t.TempDir(), "missing", "config.yaml"), 0, func(*Config, error) {}); err == nil {
		t.Error("watching a file in a missing folder succeeded")
	}
	if err := Watch(context.Background(), "config.yaml", 0, nil); err == nil {
		t.Error("nil onChange accepted")
	}
	// A cancelled context returns nil promptly.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Watch(ctx, filepath.Join(t.TempDir(), "config.yaml"), 0, func(*Config, error) {}); err != nil {
		t.Errorf("Watch after cancel = %v", err)
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLive(t *testing.T) {
	l := NewLive(nil)
	if l.Get() == nil || l.Get().Seed != 42 || l.Generation() != 1 {
		t.Fatalf("NewLive(nil): %+v gen %d", l.Get(), l.Generation())
	}
	first := l.Get()
	l.Apply(nil)
	l.Reject(nil)
	if l.Get() != first || l.Generation() != 1 {
		t.Error("Apply(nil) or Reject(nil) changed the config")
	}
	_, perr := Parse([]byte("seed: -3\n"), "c.yaml")
	l.Reject(perr)
	if err, line, _, text := l.State(); err == nil || line != 1 || text != "seed: -3\n" || l.Get() != first {
		t.Errorf("after Reject: %v %d %q", err, line, text)
	}
	l.Reject(errors.New("disk gone"))
	if err, line, _, text := l.State(); err == nil || line != 0 || text != "seed: -3\n" {
		t.Errorf("a plain error: %v %d %q", err, line, text)
	}
	c2, err := Parse([]byte("seed: 8\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.Update(c2, nil)
	if err, _, _, text := l.State(); err != nil || text != "seed: 8\n" || l.Get().Seed != 8 || l.Generation() != 2 {
		t.Errorf("after Update: %v %q gen %d", err, text, l.Generation())
	}
}

func TestLiveConcurrent(t *testing.T) {
	l := NewLive(Default())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c := l.Get(); c == nil || c.Serve.BatchMax < 1 {
					t.Error("reader saw no config")
					return
				}
				l.State()
			}
		}()
	}
	for i := 0; i < 200; i++ {
		c := Default()
		c.Seed = int64(i)
		if i%3 == 0 {
			l.Reject(errors.New("bad"))
		} else {
			l.Apply(c)
		}
	}
	close(stop)
	wg.Wait()
	if l.Get().Seed != 199 {
		t.Errorf("last applied seed %d, want 199", l.Get().Seed)
	}
}
