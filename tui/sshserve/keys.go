package sshserve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// roleEnv is the environment option that names a key's role.
const roleEnv = "CARVISION_ROLE"

// maxKeysFile bounds what one reload reads: authorized_keys files are a few
// KB, anything larger is a mistake and must not cost memory on every edit.
const maxKeysFile = 4 << 20

// ignoredOptions only disable things this server never offers, so accepting
// them loses no restriction; the enabling forms (after restrict) are
// accepted for the same reason.
var ignoredOptions = map[string]bool{
	"no-agent-forwarding": true, "no-port-forwarding": true, "no-x11-forwarding": true,
	"no-user-rc": true, "restrict": true,
	"agent-forwarding": true, "port-forwarding": true, "x11-forwarding": true, "user-rc": true, "pty": true,
}

// lineError is a malformed line of the authorized keys file.
type lineError struct {
	Line int
	Err  error
}

// Error implements error.
func (e lineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the cause.
func (e lineError) Unwrap() error { return e.Err }

// authKey is one authorised key.
type authKey struct {
	fingerprint string
	comment     string
	role        string
	line        int
}

// keySet is one parsed authorized keys file: immutable once built, swapped
// whole on reload so that an auth attempt sees one consistent version.
type keySet struct {
	byKey map[string]authKey // by the key's wire encoding
	sum   [32]byte           // content hash, to skip reloads that change nothing
}

// lookup returns the entry of k, if authorised.
func (ks *keySet) lookup(k gossh.PublicKey) (authKey, bool) {
	if ks == nil || k == nil {
		return authKey{}, false
	}
	a, ok := ks.byKey[string(k.Marshal())]
	return a, ok
}

// len is the number of distinct authorised keys.
func (ks *keySet) len() int {
	if ks == nil {
		return 0
	}
	return len(ks.byKey)
}

// parseKeys parses an authorized_keys file line by line. Malformed lines are
// returned as LineErrors and skipped; warnings (duplicates, conflicting
// roles) are returned separately.
func parseKeys(data []byte, roles map[string]string) (ks *keySet, bad []lineError, warn []string) {
	ks = &keySet{byKey: map[string]authKey{}}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\ufeff")))
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, comment, opts, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			bad = append(bad, lineError{n, fmt.Errorf("not a public key line: %w", err)})
			continue
		}
		if _, isCert := k.(*gossh.Certificate); isCert {
			bad = append(bad, lineError{n, errors.New("certificates are not accepted as keys")})
			continue
		}
		lineRole, err := roleFromOptions(opts)
		if err != nil {
			bad = append(bad, lineError{n, err})
			continue
		}
		fp := gossh.FingerprintSHA256(k)
		role, conflict := narrowest(lineRole, roles[fp], rolesByComment(roles, comment))
		if conflict {
			warn = append(warn, fmt.Sprintf("line %d: key %s has conflicting roles; using %s", n, fp, role))
		}
		wire := string(k.Marshal())
		if prev, dup := ks.byKey[wire]; dup {
			r, _ := narrowest(prev.role, role)
			warn = append(warn, fmt.Sprintf("line %d repeats the key of line %d (%s); role %s", n, prev.line, fp, r))
			prev.role = r
			ks.byKey[wire] = prev
			continue
		}
		ks.byKey[wire] = authKey{fingerprint: fp, comment: comment, role: role, line: n}
	}
	return ks, bad, warn
}

// rolesByComment looks a comment up in the config roles; an empty comment
// never matches, so a comment-less key cannot pick up the role of "".
func rolesByComment(roles map[string]string, comment string) string {
	if comment == "" || strings.HasPrefix(comment, "SHA256:") {
		return ""
	}
	return roles[comment]
}

// roleFromOptions reads the role from a key line's options and refuses any
// option that would restrict the key in a way this server cannot enforce.
func roleFromOptions(opts []string) (string, error) {
	role := ""
	for _, o := range opts {
		name, val, hasVal := strings.Cut(o, "=")
		lname := strings.ToLower(name)
		switch {
		case lname == "environment" && hasVal:
			v, err := unquoteOption(val)
			if err != nil {
				return "", fmt.Errorf("option %s: %w", name, err)
			}
			k, rv, _ := strings.Cut(v, "=")
			if k != roleEnv {
				continue // other variables: the console sets no environment
			}
			if role != "" {
				return "", fmt.Errorf("option %s names the role twice", roleEnv)
			}
			if rv != RoleViewer && rv != RoleOperator {
				return "", fmt.Errorf("%s=%q: role must be %s or %s", roleEnv, rv, RoleViewer, RoleOperator)
			}
			role = rv
		case !hasVal && ignoredOptions[lname]:
		default:
			return "", fmt.Errorf("option %q is not supported here (the line is skipped rather than loaded without that restriction)", name)
		}
	}
	return role, nil
}

// unquoteOption strips the double quotes of an option value and its \" escapes.
func unquoteOption(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errors.New("value must be double-quoted")
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), nil
}

// narrowest returns the narrowest of the roles given (viewer when none is),
// and whether two given roles disagreed.
func narrowest(roles ...string) (string, bool) {
	out, seen := "", 0
	distinct := map[string]bool{}
	for _, r := range roles {
		if r == "" {
			continue
		}
		seen++
		distinct[r] = true
		if out == "" || r == RoleViewer {
			out = r
		}
	}
	if out != RoleOperator {
		out = RoleViewer
	}
	return out, seen > 1 && len(distinct) > 1
}

// validateRoles checks the config's role mapping.
func validateRoles(roles map[string]string) error {
	names := make([]string, 0, len(roles))
	for k := range roles {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := roles[k]; v != RoleViewer && v != RoleOperator {
			return fmt.Errorf("ssh roles[%q]: %q is not %s or %s", k, v, RoleViewer, RoleOperator)
		}
		if k == "" {
			return errors.New("ssh roles: empty key (use a fingerprint SHA256:… or a key comment)")
		}
	}
	return nil
}

// readKeysFile reads the keys file: errNoFile when it is gone (no keys at
// all), another error when it is there but unreadable (keep the old keys).
func readKeysFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("authorized keys %s: %w", path, errNoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxKeysFile+1)); err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	if buf.Len() > maxKeysFile {
		return nil, fmt.Errorf("authorized keys %s: larger than %d bytes", path, maxKeysFile)
	}
	return buf.Bytes(), nil
}

// errNoFile marks a keys file that is gone: no key is authorised.
var errNoFile = errors.New("file does not exist")
