package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch reloads the config file at path whenever it changes and calls
// onChange with the new config, or with (nil, err) when the file is broken
// or unreadable (the caller keeps its current config). It watches the
// file's directory, so editors' write-to-temp-and-rename and Kubernetes'
// ConfigMap symlink swaps are seen, waits until changes have been quiet for
// debounce, and skips reloads whose bytes are unchanged since the last
// delivery (or since Watch started).
//
// Watch blocks until ctx ends and then returns nil; it returns an error at
// once if the watch cannot be set up. onChange runs on Watch's goroutine,
// one call at a time, and never after Watch has returned.
func Watch(ctx context.Context, path string, debounce time.Duration, onChange func(*Config, error)) error {
	return watch(ctx, path, debounce, onChange, watchHooks{})
}

// watchHooks let tests synchronise with the watcher instead of sleeping.
type watchHooks struct {
	ready     func() // the watch is in place
	unchanged func() // a reload found the same bytes and was skipped
}

func watch(ctx context.Context, path string, debounce time.Duration, onChange func(*Config, error), hooks watchHooks) error {
	if onChange == nil {
		return errors.New("watch config: onChange is nil")
	}
	if debounce < 0 {
		debounce = 0
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch config %s: %w", path, err)
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config %s: %w", path, err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch config %s: %w", path, err)
	}
	// A symlinked file (a ConfigMap mount) changes through events on other
	// names in the directory, so any event there triggers a (deduplicated) read.
	fi, lerr := os.Lstat(abs)
	symlink := lerr == nil && fi.Mode()&os.ModeSymlink != 0

	var last []byte // hash of the last bytes delivered or seen at start
	if data, err := readCapped(path); err == nil {
		sum := sha256.Sum256(data)
		last = sum[:]
	}
	if hooks.ready != nil {
		hooks.ready()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	arm := func() {
		timer.Stop()
		select { // drain a fire that raced with Stop
		case <-timer.C:
		default:
		}
		timer.Reset(debounce)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch config: watcher closed")
			}
			name := filepath.Base(ev.Name)
			if ev.Op == fsnotify.Chmod || (name != base && !symlink && !strings.HasPrefix(name, "..")) {
				continue
			}
			arm()
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch config: watcher closed")
			}
			// Events may have been lost (queue overflow): re-read to be sure.
			slog.Warn("config watcher", "path", path, "err", err)
			arm()
		case <-timer.C:
			if ctx.Err() != nil {
				return nil
			}
			data, err := readCapped(path)
			if err != nil {
				last = nil
				onChange(nil, fmt.Errorf("reload config %s: %w", path, err))
				continue
			}
			sum := sha256.Sum256(data)
			if bytes.Equal(sum[:], last) {
				if hooks.unchanged != nil {
					hooks.unchanged()
				}
				continue
			}
			last = sum[:]
			onChange(Parse(data, path))
		}
	}
}
