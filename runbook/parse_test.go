package runbook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixture(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata", "runbooks"}, parts...)...)
}

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile(fixture("valid", "full.md"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Parse(data, "full.md")
	if err != nil {
		t.Fatal(err)
	}
	if rb.ID != "sample.full" || rb.Title != "Every feature of the format" || strings.Join(rb.Tags, ",") != "test,sample" ||
		strings.Join(rb.Alerts, ",") != "latency_p95_high" || !strings.HasPrefix(rb.Summary, "A fixture: checks") {
		t.Errorf("front matter = %+v", rb)
	}
	type want struct {
		kind  Kind
		name  string
		line  int
		label string
	}
	wants := []want{
		{KindCheck, "health", 16, "check health"},
		{KindCheck, "health-2", 21, "check health"},
		{KindSh, "echo-hello-world", 26, "sh # a comment line is not the name"},
		{KindSh, "tilde", 38, "sh echo ```not a fence```"},
		{KindSh, "long-fence", 42, "sh echo inner"},
		{KindAction, "reload", 48, "action reload-config"},
		{KindAction, "promote", 51, "action promote 7"},
		{KindAction, "repro", 54, "action repro"},
	}
	if len(rb.Steps) != len(wants) {
		t.Fatalf("%d steps, want %d: %+v", len(rb.Steps), len(wants), rb.Steps)
	}
	for i, w := range wants {
		s := rb.Steps[i]
		if s.Index != i || s.Kind != w.kind || s.Name != w.name || s.Line != w.line || s.Label() != w.label {
			t.Errorf("step %d = {%s %q line %d %q}, want %+v", i, s.Kind, s.Name, s.Line, s.Label(), w)
		}
	}
	st := rb.Steps
	if st[0].Why != "Intro prose becomes the first step's explanation." {
		t.Errorf("why of step 1 = %q (the H1 must be dropped)", st[0].Why)
	}
	if st[1].Params.Duration("max_latency", 0) != 200*time.Millisecond || st[1].Fix != "reload" {
		t.Errorf("check params = %+v fix %q", st[1].Params, st[1].Fix)
	}
	if !strings.Contains(st[3].Why, "```yaml") || !strings.Contains(st[3].Why, "drop_columns") {
		t.Errorf("non-step code block must stay in the prose: %q", st[3].Why)
	}
	if st[3].Timeout != 5*time.Second || st[3].NeedsConfirm() {
		t.Errorf("tilde step = %+v", st[3])
	}
	if st[4].Body != "echo inner\n```\nstill inside" || !st[4].Dangerous || st[4].ConfirmText() != "wipe" || !st[4].Mutates() {
		t.Errorf("long fence step = %+v", st[4])
	}
	if c, ref := st[5].Condition(); c != WhenFailed || ref != "" || !st[5].NeedsConfirm() || st[5].ConfirmText() != "reload" {
		t.Errorf("reload step = %+v", st[5])
	}
	if c, ref := st[6].Condition(); c != WhenPassed || ref != "reload" || st[6].Version != "7" {
		t.Errorf("promote step = %+v", st[6])
	}
	if !st[7].Force || st[7].ConfirmText() != "retrain now" {
		t.Errorf("repro step = %+v", st[7])
	}
	if rb.After != "Closing prose after the last step." {
		t.Errorf("after = %q", rb.After)
	}
}

func TestParseBrokenFixtures(t *testing.T) {
	cases := []struct {
		file string
		line int
		want string
	}{
		{"no-front-matter.md", 1, "missing front matter"},
		{"unterminated.md", 11, "unterminated ``` fence"},
		{"unknown-check.md", 11, `unknown check "logs.missing_collumn"`},
		{"bad-json.md", 9, "bad JSON attributes"},
		{"unknown-action.md", 9, `unknown action "restart"`},
		{"missing-id.md", 1, "id is required"},
		{"bad-yaml.md", 4, "front matter: mapping values are not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := fixture("broken", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, path)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if pe.File != path || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.want) {
				t.Errorf("error = %q (line %d), want line %d and %q", err, pe.Line, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), path+" line ") {
				t.Errorf("message %q does not start with the file and line", err)
			}
		})
	}
	ents, _ := os.ReadDir(fixture("broken"))
	if len(ents) != len(cases) {
		t.Errorf("%d broken fixtures but %d cases: every fixture needs a case", len(ents), len(cases))
	}
}

// doc builds a runbook text from a body under a valid front matter (5 lines).
func doc(body string) string {
	return "---\nid: t\ntitle: T\ntags: [x]\n---\n" + body
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		want       string
	}{
		{"empty file", "", 1, "missing front matter"},
		{"front matter not closed", "---\nid: x\ntitle: y\n", 1, "not closed"},
		{"unknown front key", "---\nid: x\ntitle: y\nowner: me\n---\n```check {\"id\":\"health\"}\n```\n", 4, `unknown front matter key "owner"`},
		{"duplicate front key", "---\nid: x\ntitle: y\nid: z\n---\n", 4, `key "id" given twice`},
		{"bad id", "---\nid: Bad Id\ntitle: y\n---\n", 2, `id "Bad Id"`},
		{"no title", "---\nid: x\n---\n", 1, "title is required"},
		{"tags not a list", "---\nid: x\ntitle: y\ntags: {a: 1}\n---\n", 4, "tags must be a list"},
		{"bad tag", "---\nid: x\ntitle: y\ntags: [Oncall Team]\n---\n", 4, `tag "Oncall Team"`},
		{"front matter list", "---\n- a\n- b\n---\n", 2, "must be a mapping"},
		{"other shell", "---\nid: x\ntitle: y\nshell: zsh\n---\n", 4, "only bash"},
		{"no steps", doc("just prose\n"), 7, "no steps"},
		{"check without id", doc("```check\n```\n"), 6, `check without "id"`},
		{"check id not a string", doc("```check {\"id\":3}\n```\n"), 6, `"id" must be a string`},
		{"check bad param", doc("text\n```check {\"id\":\"logs.missing_column\",\"since\":\"yesterday\"}\n```\n"), 7, `parameter "since"`},
		{"check unknown param", doc("```check {\"id\":\"health\",\"windw\":\"5m\"}\n```\n"), 6, `no parameter "windw"`},
		{"attrs not JSON", doc("```sh name=df\ndf\n```\n"), 6, "must be a JSON object"},
		{"trailing text after JSON", doc("```sh {\"name\":\"a\"} extra\ndf\n```\n"), 6, "text after the closing"},
		{"unknown sh attribute", doc("```sh {\"nmae\":\"a\"}\ndf\n```\n"), 6, `unknown attribute "nmae"`},
		{"empty sh", doc("```sh {\"name\":\"a\"}\n\n```\n"), 6, "without a command"},
		{"dangerous not bool", doc("```sh {\"dangerous\":\"yes\"}\nrm x\n```\n"), 6, `"dangerous" must be true or false`},
		{"bad timeout", doc("```sh {\"timeout\":\"ten\"}\ndf\n```\n"), 6, `timeout "ten"`},
		{"negative timeout", doc("```sh {\"timeout\":\"-1s\"}\ndf\n```\n"), 6, "positive duration"},
		{"duplicate names", doc("```sh {\"name\":\"a\"}\ndf\n```\n\n```sh {\"name\":\"a\"}\ndu\n```\n"), 10, `"a" already used at line 6`},
		{"action without do", doc("```action {}\n```\n"), 6, `action without "do"`},
		{"unknown action", doc("```action {\"do\":\"reboot\"}\n```\n"), 6, `unknown action "reboot"`},
		{"action confirm false", doc("```action {\"do\":\"rollback\",\"confirm\":false}\n```\n"), 6, "always need confirmation"},
		{"version on rollback", doc("```action {\"do\":\"rollback\",\"version\":\"3\"}\n```\n"), 6, "promote only"},
		{"force on promote", doc("```action {\"do\":\"promote\",\"force\":true}\n```\n"), 6, "repro only"},
		{"when without condition", doc("```check {\"id\":\"health\"}\n```\n```check {\"id\":\"health\",\"when\":\":health\"}\n```\n"), 8, `when ":health"`},
		{"bad when", doc("```check {\"id\":\"health\",\"when\":\"sometimes\"}\n```\n"), 6, `when "sometimes"`},
		{"when names a later step", doc("```check {\"id\":\"health\",\"when\":\"failed:x\"}\n```\n```sh {\"name\":\"x\"}\ndf\n```\n"), 6, `no earlier step is named "x"`},
		{"fix names no step", doc("```check {\"id\":\"health\",\"fix\":\"nope\"}\n```\n"), 6, `fix "nope" names no step`},
		{"unterminated tilde", doc("text\n~~~~sh\necho\n~~~\n"), 7, "unterminated ~~~~ fence"},
		{"invalid utf8", doc("```check {\"id\":\"health\"}\n```\n\xff\n"), 8, "not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), "t.md")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.want) || pe.File != "t.md" {
				t.Errorf("error = %q (line %d), want line %d and %q", err, pe.Line, tc.line, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	big := doc(strings.Repeat("x", MaxFileBytes))
	if _, err := Parse([]byte(big), "big.md"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	many := doc(strings.Repeat("```check {\"id\":\"health\"}\n```\n", MaxSteps+1))
	if _, err := Parse([]byte(many), "many.md"); err == nil || !strings.Contains(err.Error(), "more than 200 steps") {
		t.Errorf("too many steps: %v", err)
	}
	crlf := strings.ReplaceAll(doc("why\n```check {\"id\":\"health\"}\n```\n"), "\n", "\r\n")
	rb, err := Parse([]byte("\ufeff"+crlf), "crlf.md")
	if err != nil || rb.Steps[0].Why != "why" || rb.Steps[0].Line != 7 {
		t.Errorf("CRLF + BOM: %+v, %v", rb, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"valid/full.md", "broken/unterminated.md", "broken/bad-json.md"} {
		if data, err := os.ReadFile(fixture(strings.Split(name, "/")...)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(doc("```check {\"id\":\"health\"}\n```\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := Parse(data, "fuzz.md")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v is not a located ParseError", err)
			}
			return
		}
		seen := map[string]bool{}
		for i, s := range rb.Steps {
			if s.Index != i || s.Name == "" || seen[s.Name] {
				t.Fatalf("step %d: index %d name %q (dup %v)", i, s.Index, s.Name, seen[s.Name])
			}
			seen[s.Name] = true
		}
	})
}
