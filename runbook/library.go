package runbook

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

//go:embed library/*.md
var builtin embed.FS

// MaxUserFiles bounds the user folder: more runbooks than this are ignored
// (and reported).
const MaxUserFiles = 500

// Library is the set of runbooks: the embedded ones plus a user folder that
// adds runbooks or overrides built-in ones by id. It is safe for concurrent
// use; a reload that finds broken files keeps the last good version of each.
type Library struct {
	dir string

	mu       sync.RWMutex
	builtin  map[string]*Runbook
	user     map[string]*Runbook // by file path: last good parse
	byID     map[string]*Runbook
	order    []string
	problems []error
	gen      uint64
}

// Builtin returns the embedded runbooks (a fresh parse each call).
func Builtin() ([]*Runbook, error) {
	ents, err := fs.ReadDir(builtin, "library")
	if err != nil {
		return nil, fmt.Errorf("read embedded library: %w", err)
	}
	var out []*Runbook
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		name := "library/" + e.Name()
		data, err := builtin.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rb, err := Parse(data, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rb.Builtin = true
		out = append(out, rb)
	}
	return out, errors.Join(errs...)
}

// LoadLibrary loads the embedded runbooks and, when dir is not "", the
// user runbooks in dir (a missing folder is not an error). Problems in the
// user folder do not fail the load: they are listed by Problems.
func LoadLibrary(dir string) (*Library, error) {
	bs, err := Builtin()
	if err != nil {
		return nil, err
	}
	l := &Library{dir: dir, builtin: map[string]*Runbook{}, user: map[string]*Runbook{}}
	for _, rb := range bs {
		if prev, dup := l.builtin[rb.ID]; dup {
			return nil, fmt.Errorf("embedded library: id %q in both %s and %s", rb.ID, prev.Source, rb.Source)
		}
		l.builtin[rb.ID] = rb
	}
	l.Reload()
	return l, nil
}

// Dir is the user folder ("" when none).
func (l *Library) Dir() string { return l.dir }

// Reload re-reads the user folder. A file that no longer parses keeps its
// last good version (and is reported); a deleted file's runbooks go away.
// It returns the problems found (nil when none).
func (l *Library) Reload() []error {
	var problems []error
	files := map[string][]byte{}
	if l.dir != "" {
		ents, err := os.ReadDir(l.dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			problems = append(problems, fmt.Errorf("runbooks folder %s: %w", l.dir, err))
		}
		n := 0
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if n++; n > MaxUserFiles {
				problems = append(problems, fmt.Errorf("runbooks folder %s: more than %d files, the rest ignored", l.dir, MaxUserFiles))
				break
			}
			path := filepath.Join(l.dir, e.Name())
			data, err := readCapped(path)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			files[path] = data
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	user := map[string]*Runbook{}
	for path, data := range files {
		rb, err := Parse(data, path)
		if err != nil {
			problems = append(problems, err)
			if prev, ok := l.user[path]; ok {
				user[path] = prev // keep the last good version
			}
			continue
		}
		user[path] = rb
	}
	l.user = user
	l.rebuild(&problems)
	sort.Slice(problems, func(i, j int) bool { return problems[i].Error() < problems[j].Error() })
	l.problems = problems
	l.gen++
	return problems
}

func readCapped(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileBytes {
		return nil, &ParseError{File: path, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}
	}
	return os.ReadFile(path)
}

// rebuild merges built-in and user runbooks by id; the caller holds mu.
func (l *Library) rebuild(problems *[]error) {
	byID := map[string]*Runbook{}
	for id, rb := range l.builtin {
		byID[id] = rb
	}
	paths := make([]string, 0, len(l.user))
	for p := range l.user {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	userIDs := map[string]string{}
	for _, p := range paths {
		rb := l.user[p]
		if prev, dup := userIDs[rb.ID]; dup {
			*problems = append(*problems, fmt.Errorf("%s: id %q is also used by %s (that one is kept)", p, rb.ID, prev))
			continue
		}
		userIDs[rb.ID] = p
		cp := *rb
		_, cp.Overrides = l.builtin[rb.ID]
		byID[rb.ID] = &cp
	}
	order := make([]string, 0, len(byID))
	for id := range byID {
		order = append(order, id)
	}
	sort.Strings(order)
	l.byID, l.order = byID, order
}

// List returns every runbook sorted by id.
func (l *Library) List() []*Runbook {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Runbook, len(l.order))
	for i, id := range l.order {
		out[i] = l.byID[id]
	}
	return out
}

// Get returns the runbook with this id.
func (l *Library) Get(id string) (*Runbook, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rb, ok := l.byID[id]
	return rb, ok
}

// ForAlert returns the runbooks whose front matter lists alert name.
func (l *Library) ForAlert(name string) []*Runbook {
	var out []*Runbook
	for _, rb := range l.List() {
		for _, a := range rb.Alerts {
			if a == name {
				out = append(out, rb)
			}
		}
	}
	return out
}

// Problems are the errors of the last load (user files that do not parse).
func (l *Library) Problems() []error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]error(nil), l.problems...)
}

// Generation counts reloads, so viewers can tell the list changed.
func (l *Library) Generation() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// Watch reloads the user folder when its .md files change (fsnotify,
// debounced) until ctx ends; onReload (may be nil) receives each reload's
// problems. The folder must exist; Watch returns once watching started.
func (l *Library) Watch(ctx context.Context, debounce time.Duration, onReload func(problems []error)) error {
	if l.dir == "" {
		return errors.New("watch runbooks: no user folder configured")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch runbooks %s: %w", l.dir, err)
	}
	if err := w.Add(l.dir); err != nil {
		w.Close()
		return fmt.Errorf("watch runbooks %s: %w", l.dir, err)
	}
	if debounce <= 0 {
		debounce = 200 * time.Millisecond
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod || !strings.HasSuffix(ev.Name, ".md") {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				slog.Warn("runbooks watch", "dir", l.dir, "err", err)
			case <-fire:
				fire = nil
				problems := l.Reload()
				for _, p := range problems {
					slog.Warn("runbook reload", "err", p)
				}
				if onReload != nil {
					onReload(problems)
				}
			}
		}
	}()
	return nil
}
