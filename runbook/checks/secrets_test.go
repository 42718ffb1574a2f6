package checks

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"carvision/engine/config"
)

// Fake credentials are assembled at run time so that no credential-shaped
// literal exists in the repository (the scan of the repo itself must pass).
var (
	fakeAWS    = "AKIA" + "Q3EXAMPLEKEY7890"
	fakeGitHub = "ghp" + "_" + strings.Repeat("aB3d", 9)
	fakeSlack  = "xoxb" + "-1234567890-abcdefghij"
	fakePEM    = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
)

func TestScanText(t *testing.T) {
	cases := []struct {
		name, file, text string
		kinds            []string // expected finding kinds in order
	}{
		{"pem key", "deploy/key.pem", fakePEM, []string{"private key"}},
		{"aws key in go", "main.go", `const k = "` + fakeAWS + `"`, []string{"AWS access key"}},
		{"github token", "ci.sh", "export GH=" + fakeGitHub, []string{"GitHub token"}},
		{"slack token", "notify.py", "token = '" + fakeSlack + "'", []string{"Slack token"}},
		{"password in url", "docker-compose.yml", "DB: postgres://admin:" + "s3cretpw@db:5432/cv", []string{"password in URL"}},
		{"url with env placeholder", "compose.yml", "DB: postgres://admin:${DB_PASSWORD}@db:5432/cv", nil},
		{"url without password", "README.md", "see https://user@example.com/x and http://127.0.0.1:8000/health", nil},
		{"yaml literal secret", "config.yaml", "webhook:\n  password: hunter2x\n", []string{"secret in YAML"}},
		{"yaml quoted api key", "values.yaml", `api_key: "abcd1234efgh"`, []string{"secret in YAML"}},
		{"yaml placeholders", "config.yaml", "password: \"\"\nsecret: ${SECRET}\ntoken: <your token>\napi_key: null\npassword: '****'\n", nil},
		{"yaml settings not secrets", "config.yaml", "token_ttl: 3600\nsecret_path: keys/x\nhost_key_path: .carvision/k\npassword_min_length: 12\n", nil},
		{"yaml comment", "config.yaml", "# password: hunter2x\n", nil},
		{"yaml rule only for yaml", "notes.txt", "password: hunter2x", nil},
		{"allow marker on the line", "test.go", `k := "` + fakeAWS + `" // ` + AllowMarker, nil},
		{"fixture marker in header", "testdata/keys.txt", "# " + FixtureMarker + "\n" + fakePEM, nil},
		{"two findings, line numbers", "x.env", "a=1\nAWS=" + fakeAWS + "\nb=2\nSLACK=" + fakeSlack, []string{"AWS access key", "Slack token"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ScanText(tc.file, []byte(tc.text))
			var kinds []string
			for _, f := range got {
				kinds = append(kinds, f.Kind)
				if f.File != tc.file || f.Line < 1 {
					t.Errorf("finding location %+v", f)
				}
				for _, secret := range []string{fakeAWS, fakeGitHub, fakeSlack, "s3cretpw", "hunter2x", "abcd1234efgh"} {
					if strings.Contains(f.Snippet, secret) {
						t.Errorf("snippet %q reveals the secret", f.Snippet)
					}
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds = %v, want %v (%+v)", kinds, tc.kinds, got)
			}
		})
	}
	got := ScanText("x.env", []byte("a=1\nAWS="+fakeAWS+"\nb=2\nSLACK="+fakeSlack))
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 4 {
		t.Errorf("line numbers = %+v", got)
	}
}

func TestSecretsScanCheck(t *testing.T) {
	runCases(t, []checkCase{
		{name: "clean tree", check: "secrets.scan", verdict: Pass, finding: "no credentials in 2 scanned files",
			setup: func(t *testing.T, e *FakeEnv) {
				writeFile(t, filepath.Join(e.Dir, "main.go"), []byte("package main\n"))
				writeFile(t, filepath.Join(e.Dir, "config.yaml"), []byte("project_name: x\n"))
			}},
		{name: "credential in config and repo", check: "secrets.scan", verdict: Fail, fix: "maintenance",
			finding: "2 suspected credentials, first secret in YAML at config.yaml:2",
			setup: func(t *testing.T, e *FakeEnv) {
				writeFile(t, filepath.Join(e.Dir, "config.yaml"), []byte("alerts:\n  password: hunter2x\n"))
				writeFile(t, filepath.Join(e.Dir, "deploy", "id_rsa"), []byte(fakePEM))
				writeFile(t, filepath.Join(e.Dir, "image.png"), append([]byte{0x89, 'P', 'N', 'G', 0}, []byte(fakeAWS)...))
				writeFile(t, filepath.Join(e.Dir, "big.txt"), []byte(strings.Repeat(fakeAWS+"\n", 70000)))
				c := config.Default()
				c.Source.Path = "config.yaml"
				e.SetConfig(c)
			},
			assert: func(t *testing.T, r Result) {
				if v := number(t, r, "files skipped (binary, large, unreadable)"); v != 2 {
					t.Errorf("skipped = %v, want the binary and the large file", v)
				}
				if got := fmtTable(r.Evidence.Table); !strings.Contains(got, "deploy/id_rsa:1 private key") {
					t.Errorf("table = %s", got)
				}
			}},
		{name: "bounded file count", check: "secrets.scan", params: Params{"max_files": 3}, verdict: Pass,
			setup: func(t *testing.T, e *FakeEnv) {
				for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
					writeFile(t, filepath.Join(e.Dir, n+".txt"), []byte("hello\n"))
				}
			},
			assert: func(t *testing.T, r Result) {
				if v := number(t, r, "files scanned"); v != 3 {
					t.Errorf("scanned %v files, want 3", v)
				}
				if len(r.Evidence.Lines) == 0 || !strings.Contains(r.Evidence.Lines[0], "scan bounded") {
					t.Errorf("the bound is not reported: %v", r.Evidence.Lines)
				}
			}},
		{name: "tracked list from env", check: "secrets.scan", verdict: Fail, finding: "GitHub token at tracked.sh:1",
			setup: func(t *testing.T, e *FakeEnv) {
				writeFile(t, filepath.Join(e.Dir, "tracked.sh"), []byte("T="+fakeGitHub))
				writeFile(t, filepath.Join(e.Dir, "untracked.sh"), []byte("T="+fakeSlack))
				e.Files = []string{"tracked.sh", "deleted.sh"}
			}},
	})
}

// TestRepositoryHasNoSecrets scans this repository's tracked files, as the
// maintenance runbook does.
func TestRepositoryHasNoSecrets(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	env := NewFakeEnv(root)
	r := Run(context.Background(), "secrets.scan", Input{Env: env})
	if r.Verdict != Pass {
		t.Errorf("secrets.scan of the repository: %s\n%s", r.Finding, fmtTable(r.Evidence.Table))
	}
}
