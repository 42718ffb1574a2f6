package sshserve

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch follows the keys file's folder (editors and tools replace the file
// by rename, which a watch on the file itself would lose) and reloads after
// a quiet spell. The returned stop ends the watcher.
func (s *Server) watch() (stop func(), err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch authorized keys: %w", err)
	}
	path := s.opts.AuthorizedKeysPath
	dir, base := filepath.Dir(path), filepath.Base(path)
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch authorized keys folder %s: %w", dir, err)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-done:
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				name := filepath.Base(ev.Name)
				// ".." names: Kubernetes swaps a ..data symlink to update secrets.
				if name == base || strings.HasPrefix(name, "..") {
					timer.Reset(s.debounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("authorized keys watch", "err", err)
			case <-timer.C:
				_ = s.reload(false)
			}
		}
	}()
	return func() {
		close(done)
		w.Close()
		<-finished
	}, nil
}

// ReloadKeys re-reads the authorized keys file now. An error means the file
// could not be read and the previous keys stay in force; malformed lines are
// not errors (they are logged and listed in KeysStatus).
func (s *Server) ReloadKeys() error { return s.reload(true) }

// SetRoles replaces the config's role mapping and applies it at once.
func (s *Server) SetRoles(roles map[string]string) error {
	if err := validateRoles(roles); err != nil {
		return err
	}
	s.reloadMu.Lock()
	s.roles = copyRoles(roles)
	s.reloadMu.Unlock()
	return s.reload(true)
}

// KeysStatus describes the keys in force and the last read's problems.
func (s *Server) KeysStatus() KeysStatus {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	st := s.status
	st.Problems = append([]string(nil), st.Problems...)
	return st
}

// reload reads and applies the keys file; unchanged content is skipped
// unless force. Open sessions whose key is gone, or whose role changed, are
// ended.
func (s *Server) reload(force bool) error {
	defer func() {
		if s.onReload != nil {
			s.onReload()
		}
	}()
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	path := s.opts.AuthorizedKeysPath
	data, err := readKeysFile(path)
	switch {
	case errors.Is(err, errNoFile):
		// Deleting the file is a way to revoke everyone: honour it.
		s.log.Warn("authorized keys file is gone: no key is authorised", "path", path)
		data = nil
	case err != nil:
		s.log.Error("authorized keys unreadable; the previous keys stay in force", "path", path, "err", err)
		s.status.Err = err.Error()
		return err
	}
	sum := rolesSum(data, s.roles)
	if old := s.keys.Load(); !force && old != nil && old.sum == sum {
		return nil
	}
	ks, bad, warns := parseKeys(data, s.roles)
	ks.sum = sum
	problems := make([]string, 0, len(bad))
	for _, b := range bad {
		s.log.Warn("authorized keys: line skipped", "path", path, "line", b.Line, "err", b.Err)
		problems = append(problems, b.Error())
	}
	for _, w := range warns {
		s.log.Warn("authorized keys", "path", path, "warning", w)
	}
	operators := 0
	for _, k := range ks.byKey {
		if k.role == RoleOperator {
			operators++
		}
	}
	s.keys.Store(ks)
	s.status = KeysStatus{Path: path, Keys: ks.len(), Operators: operators, Problems: problems, LoadedAt: s.now()}
	if ks.len() == 0 {
		s.log.Warn("authorized keys: no valid key; nobody can log in", "path", path)
	}
	s.log.Info("authorized keys loaded", "path", path, "keys", ks.len(), "operators", operators, "skipped_lines", len(bad))
	s.revokeStale(ks)
	return nil
}

// revokeStale ends the sessions the new keys no longer allow as they are.
func (s *Server) revokeStale(ks *keySet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.live {
		k, ok := ks.byKey[ls.wire]
		switch {
		case !ok:
			s.log.Warn("ssh session ended: key revoked", "actor", ls.actor.Name, "fingerprint", ls.actor.Fingerprint, "ref", ls.ref)
			ls.end(endRevoked, "your key was removed from the authorized keys")
		case k.role != ls.actor.Role:
			s.log.Info("ssh session ended: role changed", "actor", ls.actor.Name, "from", ls.actor.Role, "to", k.role, "ref", ls.ref)
			ls.end(endRole, fmt.Sprintf("your role changed from %s to %s; reconnect", ls.actor.Role, k.role))
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
