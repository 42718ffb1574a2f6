package checks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Markers that allow-list deliberate fake secrets. A file whose first 512
// bytes hold FixtureMarker is a test fixture and not scanned; a line holding
// AllowMarker is not reported. They are spelled in two parts so that this
// file does not mark itself.
const (
	FixtureMarker = "carvision:" + "secrets-fixture"
	AllowMarker   = "carvision:" + "allow-secret"
)

// Bounds of one scan.
const (
	maxSecretFileBytes = 1 << 20
	defaultMaxFiles    = 5000
	defaultMaxScanMB   = 64
)

func init() {
	register(&Check{ID: "secrets.scan", Title: "No credentials in the config or the repository",
		Help: "scans the config file and the repository's tracked text files (< 1 MiB each, bounded count) for private keys, cloud and chat tokens, passwords in URLs and literal secrets in YAML.",
		Params: []ParamSpec{{Name: "max_files", Kind: KindNumber, Help: "scan at most this many files (default 5000)"},
			{Name: "max_mb", Kind: KindNumber, Help: "read at most this many MiB in total (default 64)"}},
		Timeout: 20 * time.Second, Run: runSecrets})
}

type secretRule struct {
	kind string
	re   *regexp.Regexp
	yaml bool // only in .yaml/.yml files
	// group is the submatch holding the secret value (0: whole match).
	group int
	// hints are substrings every match contains (lower-case when fold):
	// the regexp runs only on files and lines holding one, which keeps a
	// repository scan cheap.
	hints []string
	fold  bool
}

var secretRules = []secretRule{
	{kind: "private key", re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`), hints: []string{"PRIVATE KEY"}},
	{kind: "AWS access key", re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), hints: []string{"AKIA", "ASIA"}},
	{kind: "GitHub token", re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b`),
		hints: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}},
	{kind: "Slack token", re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`), hints: []string{"xox"}},
	{kind: "password in URL", re: regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s/:@'"]+:([^\s/@'"]+)@[^\s/'"]+`), group: 1, hints: []string{"://"}},
	{kind: "secret in YAML", yaml: true, group: 2, fold: true, hints: []string{"pass", "secret", "token", "key"},
		re: regexp.MustCompile(`(?i)^\s*-?\s*["']?([a-z0-9_.-]*(?:password|passwd|secret|token|api_?key|private_key|access_key)[a-z0-9_.-]*)["']?\s*:\s*(.+?)\s*$`)},
}

// hinted reports whether s holds one of the rule's hints.
func (r *secretRule) hinted(s []byte) bool {
	if r.fold {
		s = bytes.ToLower(s)
	}
	for _, h := range r.hints {
		if bytes.Contains(s, []byte(h)) {
			return true
		}
	}
	return false
}

// placeholder reports whether a value found where a secret may sit is
// obviously not one: empty, null, an environment or template reference,
// a masked or bracketed stand-in.
func placeholder(v string) bool {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = strings.Trim(v, `"'`)
	lv := strings.ToLower(v)
	switch {
	case v == "", lv == "null", v == "~", lv == "true", lv == "false",
		strings.HasPrefix(v, "${"), strings.HasPrefix(v, "$"), strings.HasPrefix(v, "{{"),
		strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">"),
		strings.Trim(v, "*xX.") == "",
		strings.HasPrefix(lv, "env:"), strings.HasPrefix(lv, "file:"), strings.HasPrefix(lv, "vault:"),
		v == "|" || v == ">" || v == "{}" || v == "[]":
		return true
	}
	return false
}

var reNotSecret = regexp.MustCompile(`^["']?[0-9][0-9._]*[a-zA-Z]{0,3}["']?$`)

// literalSecret tells a YAML secret-like key with a real value from a
// reference to one (a key file's path) or a setting (a length, a ttl).
func literalSecret(key, val string) bool {
	key = strings.ToLower(key)
	for _, suf := range []string{"_path", "_file", "_dir", "_env", "_length", "_len", "_ttl", "_timeout", "_name"} {
		if strings.HasSuffix(key, suf) {
			return false
		}
	}
	v := strings.TrimSpace(val)
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return !reNotSecret.MatchString(v) && len(strings.Trim(v, `"'`)) >= 4
}

// Finding is one suspected credential; Snippet never shows the secret.
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Kind    string `json:"kind"`
	Snippet string `json:"snippet"`
}

// redact keeps a hint of the value (its first 4 characters and length).
func redact(v string) string {
	r := []rune(v)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + fmt.Sprintf("…(%d chars)", len(r))
}

// ScanText looks for credentials in one file's text.
func ScanText(name string, data []byte) []Finding {
	if bytes.Contains(data[:min(len(data), 512)], []byte(FixtureMarker)) {
		return nil
	}
	isYAML := strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
	var active []*secretRule
	for i := range secretRules {
		r := &secretRules[i]
		if (!r.yaml || isYAML) && r.hinted(data) {
			active = append(active, r)
		}
	}
	if len(active) == 0 {
		return nil
	}
	var out []Finding
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if len(l) > 4096 || bytes.Contains(l, []byte(AllowMarker)) {
			continue
		}
		var s string
		for _, r := range active {
			if !r.hinted(l) {
				continue
			}
			if s == "" {
				s = string(l)
			}
			m := r.re.FindStringSubmatch(s)
			if m == nil {
				continue
			}
			val := m[r.group]
			if r.group > 0 && placeholder(val) {
				continue
			}
			if r.yaml && (strings.HasPrefix(strings.TrimSpace(s), "#") || !literalSecret(m[1], val)) {
				continue
			}
			out = append(out, Finding{File: name, Line: line, Kind: r.kind, Snippet: redact(strings.Trim(val, `"' `))})
			break
		}
	}
	return out
}

// isText is git's heuristic: no NUL byte in the first 8000 bytes.
func isText(b []byte) bool { return bytes.IndexByte(b[:min(len(b), 8000)], 0) < 0 }

func runSecrets(ctx context.Context, in Input) Result {
	env := in.Env
	maxFiles := int(in.Params.Number("max_files", defaultMaxFiles))
	budget := int64(in.Params.Number("max_mb", defaultMaxScanMB) * (1 << 20))
	files, err := env.TrackedFiles(ctx, maxFiles)
	if err != nil {
		return errorf("list repository files: %s", oneLine(err.Error()))
	}
	root := env.Root()
	type target struct{ rel, abs string }
	var targets []target
	if cp := env.Config().Source.Path; cp != "" {
		abs := resolve(root, cp)
		rel, rerr := filepath.Rel(root, abs)
		if rerr != nil || strings.HasPrefix(rel, "..") {
			rel = abs
		}
		targets = append(targets, target{rel, abs})
	}
	for _, f := range files {
		if len(targets) > 0 && f == targets[0].rel {
			continue
		}
		targets = append(targets, target{f, filepath.Join(root, f)})
	}
	var ev Evidence
	var found []Finding
	scanned, skipped := 0, 0
	var read int64
	truncated := len(files) >= maxFiles
	buf := make([]byte, maxSecretFileBytes+1)
	for _, t := range targets {
		if ctx.Err() != nil {
			return errorf("scan stopped after %d files: %v", scanned, ctx.Err())
		}
		if read >= budget {
			truncated = true
			break
		}
		n, ok := readSmall(t.abs, buf)
		if !ok || !isText(buf[:n]) {
			skipped++
			continue
		}
		scanned++
		read += int64(n)
		found = append(found, ScanText(filepath.ToSlash(t.rel), buf[:n])...)
	}
	ev.Add("files scanned", float64(scanned), "count")
	ev.Add("files skipped (binary, large, unreadable)", float64(skipped), "count")
	ev.Add("bytes read", float64(read), "bytes")
	ev.Add("findings", float64(len(found)), "count")
	if truncated {
		ev.Line(fmt.Sprintf("scan bounded: at most %d files and %d MiB were read", maxFiles, budget>>20))
	}
	if len(found) == 0 {
		return Result{Verdict: Pass, Finding: fmt.Sprintf("no credentials in %d scanned files", scanned), Evidence: ev}
	}
	ev.Row("file:line", "kind", "match (redacted)")
	for _, f := range found {
		ev.Row(fmt.Sprintf("%s:%d", f.File, f.Line), f.Kind, f.Snippet)
	}
	first := found[0]
	return Result{Verdict: Fail,
		Finding:  fmt.Sprintf("%d suspected %s, first %s at %s:%d", len(found), plural(len(found), "credential", "credentials"), first.Kind, first.File, first.Line),
		Evidence: ev,
		Fix: &Fix{Runbook: "maintenance", Step: "secrets.scan",
			Hint: "revoke and rotate the credential, remove it from the file (and history), read it from the environment instead"}}
}

// readSmall reads a regular file of at most maxSecretFileBytes into buf.
func readSmall(path string, buf []byte) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxSecretFileBytes {
		return 0, false
	}
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, false
	}
	return n, n <= maxSecretFileBytes
}
