package sshserve

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestHostKeyGeneratedPrivateAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "ssh")
	path := filepath.Join(dir, "ssh_host_ed25519")
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))

	first, err := ensureHostKey(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.PublicKey().Type(); got != gossh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("host key mode %04o, want 0600", m)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("created folder mode %04o, want 0700", m)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil || !bytes.Equal(pk.Marshal(), first.PublicKey().Marshal()) {
		t.Errorf(".pub does not hold the host key's public half (%v)", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}

	again, err := ensureHostKey(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.PublicKey().Marshal(), first.PublicKey().Marshal()) {
		t.Error("second start generated a new host key instead of reusing it")
	}
}

func TestHostKeyExistingFolderKeepsItsMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureHostKey(filepath.Join(dir, "hk"), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(dir)
	if m := di.Mode().Perm(); m != 0o755 {
		t.Errorf("existing folder chmodded to %04o", m)
	}
}

func TestHostKeyBadFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureHostKey(garbage, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage host key: err %v, want one naming %s", err, garbage)
	}
	if b, _ := os.ReadFile(garbage); string(b) != "not a key" {
		t.Error("an unreadable host key was overwritten")
	}
	if _, err := ensureHostKey("", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("empty path accepted")
	}

	open := filepath.Join(dir, "open")
	if _, err := ensureHostKey(open, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, err := ensureHostKey(open, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "readable by others") || !strings.Contains(logs.String(), "0644") {
		t.Errorf("no warning for a 0644 host key: %s", logs.String())
	}
}
