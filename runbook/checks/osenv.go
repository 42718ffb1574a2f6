package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"carvision/engine"
	"carvision/engine/config"
)

// OSEnv is an Env over a real engine and the local filesystem. The engine
// supplies Client, the live config and log rotation; the rest is derived.
type OSEnv struct {
	Engine engine.Client
	Conf   func() *config.Config // the config in force (e.g. config.Live.Get)
	Dir    string                // project root (absolute)
	Clock  func() time.Time      // nil: time.Now
	// Rotate rotates the service log (lumberjack Logger.Rotate); nil: the
	// action is unavailable.
	Rotate func(ctx context.Context, req engine.ActionRequest) error
}

// Client implements Env.
func (e *OSEnv) Client() engine.Client { return e.Engine }

// Config implements Env.
func (e *OSEnv) Config() *config.Config {
	if e.Conf == nil {
		return config.Default()
	}
	if c := e.Conf(); c != nil {
		return c
	}
	return config.Default()
}

// Root implements Env.
func (e *OSEnv) Root() string { return e.Dir }

// Now implements Env.
func (e *OSEnv) Now() time.Time {
	if e.Clock == nil {
		return time.Now()
	}
	return e.Clock()
}

// LogPath implements Env: paths.log_path against the root.
func (e *OSEnv) LogPath() string { return resolve(e.Dir, e.Config().Paths.LogPath) }

// DataPath implements Env: paths.data_path against the root.
func (e *OSEnv) DataPath() string { return resolve(e.Dir, e.Config().Paths.DataPath) }

// DiskUsage implements Env with statfs.
func (e *OSEnv) DiskUsage(path string) (DiskUsage, error) { return Statfs(path) }

// TrackedFiles implements Env with RepoFiles.
func (e *OSEnv) TrackedFiles(ctx context.Context, max int) ([]string, error) {
	return RepoFiles(ctx, e.Dir, max)
}

// RotateLogs implements Env.
func (e *OSEnv) RotateLogs(ctx context.Context, req engine.ActionRequest) error {
	if e.Rotate == nil {
		return fmt.Errorf("rotate logs: %w", engine.ErrUnavailable)
	}
	return e.Rotate(ctx, req)
}

// Statfs measures the filesystem holding path, or its nearest existing
// parent when path does not exist yet.
func Statfs(path string) (DiskUsage, error) {
	p := path
	for {
		if _, err := os.Stat(p); err == nil {
			break
		}
		parent := filepath.Dir(p)
		if parent == p {
			return DiskUsage{}, fmt.Errorf("disk usage of %s: no existing parent", path)
		}
		p = parent
	}
	du, err := statfs(p)
	if err != nil {
		return DiskUsage{}, fmt.Errorf("disk usage of %s: %w", path, err)
	}
	du.Path = path
	return du, nil
}

// skipDirs are never walked when the root is not a git checkout.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".carvision": true}

// RepoFiles lists at most max files under root, relative to it: the
// tracked files when root is a git checkout (`git ls-files`), else a walk
// that skips .git, node_modules and .carvision.
func RepoFiles(ctx context.Context, root string, max int) ([]string, error) {
	if max <= 0 {
		max = defaultMaxFiles
	}
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(gctx, "git", "-C", root, "ls-files", "-z")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err == nil {
		var files []string
		for _, f := range bytes.Split(out.Bytes(), []byte{0}) {
			if len(f) == 0 {
				continue
			}
			if len(files) == max {
				break
			}
			files = append(files, string(f))
		}
		return files, nil
	}
	var files []string
	errStop := errors.New("stop")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped, not fatal
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(files) == max {
			return errStop
		}
		rel, err := filepath.Rel(root, p)
		if err == nil {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return files, fmt.Errorf("walk %s: %w", root, err)
	}
	return files, nil
}
