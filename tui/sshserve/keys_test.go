package sshserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// testKey is an ed25519 key pair generated for one test.
type testKey struct {
	signer gossh.Signer
	line   string // "ssh-ed25519 AAAA…" without comment
	fp     string
}

func newTestKey(t testing.TB) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{
		signer: signer,
		line:   strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))),
		fp:     gossh.FingerprintSHA256(signer.PublicKey()),
	}
}

func TestParseKeys(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	type want struct {
		role    string
		comment string
	}
	cases := []struct {
		name     string
		file     string
		roles    map[string]string
		keys     map[string]want // by fingerprint
		badLines []int
		badText  string // substring of the first bad line's error
		warns    int
	}{
		{
			name: "no role is viewer",
			file: a.line + " alice@laptop\n",
			keys: map[string]want{a.fp: {RoleViewer, "alice@laptop"}},
		},
		{
			name: "role option",
			file: `environment="CARVISION_ROLE=operator" ` + a.line + " alice@laptop\n",
			keys: map[string]want{a.fp: {RoleOperator, "alice@laptop"}},
		},
		{
			name: "role option among harmless options",
			file: `no-port-forwarding,no-agent-forwarding,environment="LANG=C",environment="CARVISION_ROLE=operator",restrict ` + a.line + "\n",
			keys: map[string]want{a.fp: {RoleOperator, ""}},
		},
		{
			name: "comments blank lines CRLF and BOM",
			file: "\ufeff# team keys\r\n\r\n   \r\n" + a.line + " a\r\n# " + b.line + "\r\n",
			keys: map[string]want{a.fp: {RoleViewer, "a"}},
		},
		{
			name:     "malformed line skipped with its number, the rest loads",
			file:     "# header\n" + a.line + " a\nssh-ed25519 not-base64 broken\n" + `environment="CARVISION_ROLE=operator" ` + b.line + " b\n",
			keys:     map[string]want{a.fp: {RoleViewer, "a"}, b.fp: {RoleOperator, "b"}},
			badLines: []int{3},
			badText:  "not a public key line",
		},
		{
			name:     "unknown role skips the line",
			file:     `environment="CARVISION_ROLE=admin" ` + a.line + "\n" + b.line + "\n",
			keys:     map[string]want{b.fp: {RoleViewer, ""}},
			badLines: []int{1},
			badText:  `"admin"`,
		},
		{
			name:     "restricting option we cannot enforce skips the line",
			file:     `from="10.0.0.0/8" ` + a.line + "\n",
			keys:     map[string]want{},
			badLines: []int{1},
			badText:  `option "from" is not supported`,
		},
		{
			name:     "forced command skips the line",
			file:     `command="/bin/date" ` + a.line + "\n",
			keys:     map[string]want{},
			badLines: []int{1},
			badText:  `"command"`,
		},
		{
			name:     "role named twice",
			file:     `environment="CARVISION_ROLE=viewer",environment="CARVISION_ROLE=operator" ` + a.line + "\n",
			keys:     map[string]want{},
			badLines: []int{1},
			badText:  "twice",
		},
		{
			name:  "config role by fingerprint",
			file:  a.line + " a\n" + b.line + " b\n",
			roles: map[string]string{a.fp: RoleOperator},
			keys:  map[string]want{a.fp: {RoleOperator, "a"}, b.fp: {RoleViewer, "b"}},
		},
		{
			name:  "config role by comment",
			file:  a.line + " ops@bastion\n" + b.line + "\n",
			roles: map[string]string{"ops@bastion": RoleOperator, "": RoleOperator},
			keys:  map[string]want{a.fp: {RoleOperator, "ops@bastion"}, b.fp: {RoleViewer, ""}},
		},
		{
			name:  "line and config disagree: the narrower wins",
			file:  `environment="CARVISION_ROLE=viewer" ` + a.line + " a\n",
			roles: map[string]string{a.fp: RoleOperator},
			keys:  map[string]want{a.fp: {RoleViewer, "a"}},
			warns: 1,
		},
		{
			name:  "duplicate key: the narrower wins",
			file:  `environment="CARVISION_ROLE=operator" ` + a.line + " a\n" + a.line + " a-again\n",
			keys:  map[string]want{a.fp: {RoleViewer, "a"}},
			warns: 1,
		},
		{
			name: "empty file",
			file: "",
			keys: map[string]want{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks, bad, warns := parseKeys([]byte(tc.file), tc.roles)
			if ks.len() != len(tc.keys) {
				t.Errorf("keys = %d, want %d", ks.len(), len(tc.keys))
			}
			for _, k := range ks.byKey {
				w, ok := tc.keys[k.fingerprint]
				if !ok {
					t.Errorf("unexpected key %s", k.fingerprint)
					continue
				}
				if k.role != w.role || k.comment != w.comment {
					t.Errorf("key %s = role %q comment %q, want %q %q", k.fingerprint, k.role, k.comment, w.role, w.comment)
				}
			}
			var lines []int
			for _, b := range bad {
				lines = append(lines, b.Line)
			}
			if len(lines) != len(tc.badLines) {
				t.Fatalf("bad lines = %v, want %v (%v)", lines, tc.badLines, bad)
			}
			for i := range lines {
				if lines[i] != tc.badLines[i] {
					t.Errorf("bad lines = %v, want %v", lines, tc.badLines)
				}
			}
			if tc.badText != "" && !strings.Contains(bad[0].Error(), tc.badText) {
				t.Errorf("error %q does not mention %q", bad[0].Error(), tc.badText)
			}
			if len(bad) > 0 && !strings.HasPrefix(bad[0].Error(), "line ") {
				t.Errorf("error %q does not start with its line", bad[0].Error())
			}
			if len(warns) != tc.warns {
				t.Errorf("warnings = %v, want %d", warns, tc.warns)
			}
		})
	}
}

func TestLookupUsesExactKey(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	ks, _, _ := parseKeys([]byte(a.line+"\n"), nil)
	if _, ok := ks.lookup(a.signer.PublicKey()); !ok {
		t.Error("authorised key not found")
	}
	if _, ok := ks.lookup(b.signer.PublicKey()); ok {
		t.Error("other key found")
	}
	var none *keySet
	if _, ok := none.lookup(a.signer.PublicKey()); ok {
		t.Error("nil set authorised a key")
	}
}

func TestValidateRoles(t *testing.T) {
	cases := []struct {
		roles map[string]string
		err   string
	}{
		{map[string]string{"SHA256:x": RoleOperator, "bob": RoleViewer}, ""},
		{map[string]string{"bob": "admin"}, `roles["bob"]: "admin"`},
		{map[string]string{"bob": "Operator"}, `"Operator"`},
		{nil, ""},
	}
	for _, tc := range cases {
		err := validateRoles(tc.roles)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("validateRoles(%v) = %v, want %q", tc.roles, err, tc.err)
		}
	}
}

func TestNarrowest(t *testing.T) {
	cases := []struct {
		in       []string
		want     string
		conflict bool
	}{
		{nil, RoleViewer, false},
		{[]string{"", ""}, RoleViewer, false},
		{[]string{RoleOperator}, RoleOperator, false},
		{[]string{"", RoleOperator, ""}, RoleOperator, false},
		{[]string{RoleOperator, RoleViewer}, RoleViewer, true},
		{[]string{RoleViewer, RoleOperator}, RoleViewer, true},
		{[]string{RoleOperator, RoleOperator}, RoleOperator, false},
	}
	for _, tc := range cases {
		got, conflict := narrowest(tc.in...)
		if got != tc.want || conflict != tc.conflict {
			t.Errorf("narrowest(%q) = %q %v, want %q %v", tc.in, got, conflict, tc.want, tc.conflict)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1a2V5IGJ1a2V5IGJ1a2V5IGJ1a2V5IGJ1 x\n"))
	f.Add([]byte(`environment="CARVISION_ROLE=operator" ssh-ed25519 AAAA` + "\n#\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, bad, _ := parseKeys(data, map[string]string{"x": RoleOperator})
		for _, k := range ks.byKey {
			if k.role != RoleViewer && k.role != RoleOperator {
				t.Fatalf("role %q", k.role)
			}
		}
		for _, b := range bad {
			if b.Line < 1 {
				t.Fatalf("line %d", b.Line)
			}
		}
	})
}

func TestExampleFileParses(t *testing.T) {
	data, err := os.ReadFile("authorized_keys.example")
	if err != nil {
		t.Fatal(err)
	}
	ks, bad, warns := parseKeys(data, nil)
	if len(bad) != 0 || len(warns) != 0 {
		t.Fatalf("example has problems: %v %v", bad, warns)
	}
	roles := map[string]string{}
	for _, k := range ks.byKey {
		roles[k.comment] = k.role
	}
	want := map[string]string{"alice@laptop": RoleOperator, "bob@desk": RoleViewer, "carol@tablet": RoleViewer}
	if len(roles) != len(want) {
		t.Fatalf("example keys %v, want %v", roles, want)
	}
	for c, r := range want {
		if roles[c] != r {
			t.Errorf("%s: role %q, want %q", c, roles[c], r)
		}
	}
}
