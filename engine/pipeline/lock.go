package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"go.yaml.in/yaml/v3"

	"carvision/engine/model"
)

// LockSchema is the carvision.lock layout version.
const LockSchema = 1

// Lock is carvision.lock: per stage, what went in and what came out, so an
// unchanged stage can be skipped and a reviewer can diff two retrains.
type Lock struct {
	Schema int         `yaml:"schema"`
	Stages []StageLock `yaml:"stages"`
}

// StageLock records one stage's last successful run.
type StageLock struct {
	Name   string            `yaml:"name"`
	Code   int               `yaml:"code_version"`
	Key    string            `yaml:"key"` // hash of deps, params and code version
	Deps   []FileHash        `yaml:"deps"`
	Params map[string]string `yaml:"params,omitempty"`
	Outs   []FileHash        `yaml:"outs"`
}

// FileHash names a file by content.
type FileHash struct {
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"`
	Bytes  int64  `yaml:"bytes"`
}

// Stage returns the named stage's entry, if any.
func (l *Lock) Stage(name string) (StageLock, bool) {
	for _, s := range l.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return StageLock{}, false
}

func (l *Lock) set(s StageLock) {
	for i := range l.Stages {
		if l.Stages[i].Name == s.Name {
			l.Stages[i] = s
			return
		}
	}
	l.Stages = append(l.Stages, s)
}

// ReadLock reads carvision.lock; a missing file is an empty lock.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Schema: LockSchema}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	var l Lock
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	if l.Schema > LockSchema {
		return nil, fmt.Errorf("read lock %s: schema %d is newer than this carvision (%d)", path, l.Schema, LockSchema)
	}
	if l.Schema == 0 {
		l.Schema = LockSchema
	}
	return &l, nil
}

// WriteLock writes the lock atomically in a stable order.
func WriteLock(path string, l *Lock) error {
	var b bytes.Buffer
	b.WriteString("# carvision.lock: written by `carvision repro`; commit it, as one commits dvc.lock.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("encode lock: %w", err)
	}
	if err := model.WriteFileAtomic(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write lock %s: %w", path, err)
	}
	return nil
}

// HashFile returns a file's sha256 and size.
func HashFile(path string) (FileHash, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileHash{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileHash{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return FileHash{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}, nil
}

// stageKey hashes what determines a stage's outputs.
func stageKey(code int, deps []FileHash, params map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "code=%d\n", code)
	for _, d := range deps {
		fmt.Fprintf(h, "dep %s %s\n", d.Path, d.SHA256)
	}
	// json.Marshal sorts map keys: a stable order.
	p, _ := json.Marshal(params)
	h.Write(p)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
