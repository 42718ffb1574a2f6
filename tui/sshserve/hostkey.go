package sshserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// ensureHostKey returns the host key at path, generating an ed25519 key when
// the file is missing. We write it ourselves rather than through
// wish.WithHostKeyPath's keygen because keygen chmods an existing parent
// folder to 0700 (the repository root, with a relative path) and writes in
// place (a crash leaves a truncated key); here the key is written to a temp
// file and linked into place, so a reader never sees half a key and two
// first starts cannot overwrite each other.
func ensureHostKey(path string, log *slog.Logger) (gossh.Signer, error) {
	if path == "" {
		return nil, errors.New("ssh host key: no path (refusing to write id_ed25519 into the working folder)")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		switch err := writeHostKey(path); {
		case errors.Is(err, fs.ErrExist): // another process won the race: use its key
		case err != nil:
			return nil, err
		default:
			log.Info("ssh host key generated", "path", path)
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("ssh host key is readable by others; chmod 600 it", "path", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	return signer, nil
}

// writeHostKey generates an ed25519 key and places it at path (mode 0600,
// missing parent folders 0700) with its .pub beside it.
func writeHostKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ssh host key folder %s: %w", dir, err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("ssh host key: generate: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "carvision host key")
	if err != nil {
		return fmt.Errorf("ssh host key: encode: %w", err)
	}
	if err := placeFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("ssh host key %s: %w", path, err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("ssh host key: public half: %w", err)
	}
	// The .pub is a convenience for publishing the fingerprint: a failure to
	// write it must not stop the server.
	_ = placeFile(path+".pub", gossh.MarshalAuthorizedKey(sshPub), 0o644)
	return nil
}

// placeFile writes data to a temp file in path's folder and links it to
// path, which must not exist yet (os.Link never overwrites).
func placeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(name, path)
}
