package runbook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"carvision/runbook/checks"
)

// Bounds of one runbook file.
const (
	MaxFileBytes = 1 << 20
	MaxSteps     = 200
)

// idRE is the runbook id syntax config.yaml's alert rules accept.
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseError is a problem in a runbook file, located by line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error formats as "file line N: problem".
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
}

type parser struct {
	file  string
	lines []string
}

func (p *parser) errf(line int, format string, args ...any) *ParseError {
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads one runbook; file names it in errors. The first problem is
// returned as a *ParseError.
func Parse(data []byte, file string) (*Runbook, error) {
	p := &parser{file: file}
	if len(data) > MaxFileBytes {
		return nil, p.errf(1, "file is larger than %d bytes", MaxFileBytes)
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, p.errf(line, "not valid UTF-8")
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	p.lines = strings.Split(text, "\n")
	rb := &Runbook{Source: file}
	body, err := p.frontMatter(rb)
	if err != nil {
		return nil, err
	}
	if err := p.body(rb, body); err != nil {
		return nil, err
	}
	return rb, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// frontMatter parses the YAML between the leading "---" lines and returns
// the index of the first body line.
func (p *parser) frontMatter(rb *Runbook) (int, error) {
	if len(p.lines) == 0 || strings.TrimSpace(p.lines[0]) != "---" {
		return 0, p.errf(1, `missing front matter: the file must start with a "---" line, then id, title, tags, alerts, summary, then "---"`)
	}
	end := -1
	for i := 1; i < len(p.lines); i++ {
		if t := strings.TrimRight(p.lines[i], " \t"); t == "---" || t == "..." {
			end = i
			break
		}
	}
	if end < 0 {
		return 0, p.errf(1, `front matter is not closed: no "---" line after it`)
	}
	src := strings.Join(p.lines[1:end], "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return 0, p.yamlErr(err, 1)
	}
	if len(doc.Content) == 0 {
		return 0, p.errf(1, "front matter is empty: id is required")
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return 0, p.errf(m.Line+1, "front matter must be a mapping of keys (id, title, tags, alerts, summary)")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		line := k.Line + 1
		if seen[k.Value] {
			return 0, p.errf(line, "front matter key %q given twice", k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "id":
			rb.ID, err = p.scalar(v, "id")
		case "title":
			rb.Title, err = p.scalar(v, "title")
		case "summary":
			rb.Summary, err = p.scalar(v, "summary")
		case "tags":
			rb.Tags, err = p.list(v, "tags")
		case "alerts":
			rb.Alerts, err = p.list(v, "alerts")
		case "shell":
			// runme's key; only bash is supported.
			var sh string
			if sh, err = p.scalar(v, "shell"); err == nil && sh != "bash" && sh != "sh" {
				err = p.errf(v.Line+1, "shell %q: only bash runs steps", sh)
			}
		default:
			return 0, p.errf(line, "unknown front matter key %q (known: id, title, tags, alerts, summary)", k.Value)
		}
		if err != nil {
			return 0, err
		}
	}
	switch {
	case rb.ID == "":
		return 0, p.errf(1, "front matter: id is required")
	case !idRE.MatchString(rb.ID):
		return 0, p.errf(p.keyLine(m, "id"), "id %q: use lower-case letters, digits, '-', '.' or '_' (at most 64)", rb.ID)
	case rb.Title == "":
		return 0, p.errf(1, "front matter: title is required")
	}
	for _, t := range rb.Tags {
		if !idRE.MatchString(t) {
			return 0, p.errf(p.keyLine(m, "tags"), "tag %q: use lower-case letters, digits, '-', '.' or '_'", t)
		}
	}
	return end + 1, nil
}

func (p *parser) keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line + 1
		}
	}
	return 1
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlErr converts a YAML error, whose lines count from the front matter,
// to a file line.
func (p *parser) yamlErr(err error, offset int) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := offset
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = n + offset
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return p.errf(line, "front matter: %s", msg)
}

func (p *parser) scalar(v *yaml.Node, key string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v.Line+1, "%s must be text", key)
	}
	return strings.TrimSpace(v.Value), nil
}

func (p *parser) list(v *yaml.Node, key string) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" || v.Value == "" {
			return nil, nil
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, p.errf(it.Line+1, "%s: each item must be text", key)
			}
			if !slices.Contains(out, it.Value) {
				out = append(out, it.Value)
			}
		}
		return out, nil
	}
	return nil, p.errf(v.Line+1, "%s must be a list such as [a, b]", key)
}

// fence recognises an opening or closing code fence (CommonMark: up to 3
// spaces of indent, 3+ backticks or tildes).
func fence(line string) (char byte, n int, info string, ok bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0, "", false
	}
	c := t[0]
	for n < len(t) && t[n] == c {
		n++
	}
	if n < 3 {
		return 0, 0, "", false
	}
	info = strings.TrimSpace(t[n:])
	if c == '`' && strings.ContainsRune(info, '`') {
		return 0, 0, "", false
	}
	return c, n, info, true
}

func stepKind(lang string) (Kind, bool) {
	switch strings.ToLower(lang) {
	case "check":
		return KindCheck, true
	case "sh", "bash", "shell":
		return KindSh, true
	case "action":
		return KindAction, true
	}
	return "", false
}

func (p *parser) body(rb *Runbook, start int) error {
	var prose []string
	explicit := map[string]int{}
	for i := start; i < len(p.lines); i++ {
		line := p.lines[i]
		c, n, info, ok := fence(line)
		if !ok {
			if !strings.HasPrefix(line, "# ") { // the H1 repeats the title
				prose = append(prose, line)
			}
			continue
		}
		open := i + 1
		end := -1
		for j := i + 1; j < len(p.lines); j++ {
			if cc, nn, rest, ok := fence(p.lines[j]); ok && cc == c && nn >= n && rest == "" {
				end = j
				break
			}
		}
		if end < 0 {
			return p.errf(open, "unterminated %s fence: no closing %s", strings.Repeat(string(c), n), strings.Repeat(string(c), n))
		}
		lang, attrs, _ := strings.Cut(info, " ")
		kind, isStep := stepKind(lang)
		if !isStep {
			prose = append(prose, p.lines[i:end+1]...)
			i = end
			continue
		}
		if len(rb.Steps) == MaxSteps {
			return p.errf(open, "more than %d steps", MaxSteps)
		}
		st := Step{Index: len(rb.Steps), Kind: kind, Line: open, Why: tidy(prose),
			Body: strings.Join(p.lines[i+1:end], "\n")}
		prose = prose[:0]
		if err := p.attributes(&st, strings.TrimSpace(attrs), explicit); err != nil {
			return err
		}
		rb.Steps = append(rb.Steps, st)
		i = end
	}
	rb.After = tidy(prose)
	if len(rb.Steps) == 0 {
		return p.errf(len(p.lines), "no steps: add a ```check, ```sh or ```action block")
	}
	dedupeNames(rb, explicit)
	for _, s := range rb.Steps {
		if s.Fix != "" {
			if _, ok := rb.Step(s.Fix); !ok {
				return p.errf(s.Line, "fix %q names no step of this runbook", s.Fix)
			}
		}
		if _, ref := s.Condition(); ref != "" {
			r, ok := rb.Step(ref)
			if !ok || r.Index >= s.Index {
				return p.errf(s.Line, "when %q: no earlier step is named %q", s.When, ref)
			}
		}
	}
	return nil
}

// tidy trims blank lines around prose.
func tidy(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// attribute keys every step accepts, and those of each kind.
var (
	commonKeys = []string{"name", "when", "timeout"}
	kindKeys   = map[Kind][]string{
		KindCheck:  {"id", "fix"},
		KindSh:     {"dangerous", "confirm"},
		KindAction: {"do", "confirm", "version", "force"},
	}
)

func (p *parser) attributes(st *Step, attrs string, explicit map[string]int) error {
	raw := map[string]json.RawMessage{}
	if attrs != "" {
		if !strings.HasPrefix(attrs, "{") {
			return p.errf(st.Line, "attributes after ```%s must be a JSON object such as {\"name\":\"x\"}, got %q", st.Kind, shorten(attrs))
		}
		dec := json.NewDecoder(strings.NewReader(attrs))
		if err := dec.Decode(&raw); err != nil {
			return p.errf(st.Line, "bad JSON attributes: %v", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return p.errf(st.Line, "bad JSON attributes: text after the closing }")
		}
	}
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", p.errf(st.Line, "attribute %q must be a string", key)
		}
		return s, nil
	}
	boolean := func(key string) (bool, error) {
		v, ok := raw[key]
		if !ok {
			return false, nil
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return false, p.errf(st.Line, "attribute %q must be true or false", key)
		}
		return b, nil
	}
	var err error
	if st.Name, err = str("name"); err != nil {
		return err
	}
	if st.Name != "" {
		if len(st.Name) > 64 || strings.ContainsAny(st.Name, "\n\t") {
			return p.errf(st.Line, "name %q: at most 64 characters on one line", st.Name)
		}
		if prev, dup := explicit[st.Name]; dup {
			return p.errf(st.Line, "step name %q already used at line %d", st.Name, prev)
		}
		explicit[st.Name] = st.Line
	}
	if st.When, err = str("when"); err != nil {
		return err
	}
	if cond, ref, _ := strings.Cut(st.When, ":"); !(st.When == "" || cond == WhenAlways && ref == "" ||
		(cond == WhenFailed || cond == WhenPassed) && (ref != "" || !strings.Contains(st.When, ":"))) {
		return p.errf(st.Line, `when %q: want "always", "failed", "passed", "failed:STEP" or "passed:STEP"`, st.When)
	}
	if to, err := str("timeout"); err != nil {
		return err
	} else if to != "" {
		d, perr := time.ParseDuration(to)
		if perr != nil || d <= 0 {
			return p.errf(st.Line, "timeout %q: want a positive duration such as \"10s\"", to)
		}
		st.Timeout = d
	}
	rest := map[string]json.RawMessage{}
	for k, v := range raw {
		if !slices.Contains(commonKeys, k) && !slices.Contains(kindKeys[st.Kind], k) {
			rest[k] = v
		}
	}
	switch st.Kind {
	case KindCheck:
		if st.Check, err = str("id"); err != nil {
			return err
		}
		if st.Check == "" {
			return p.errf(st.Line, `check without "id": name a built-in check (%s)`, strings.Join(checks.IDs(), ", "))
		}
		c, ok := checks.Lookup(st.Check)
		if !ok {
			return p.errf(st.Line, "unknown check %q (known: %s)", st.Check, strings.Join(checks.IDs(), ", "))
		}
		if st.Params, err = c.ParseParams(rest); err != nil {
			return p.errf(st.Line, "%v", err)
		}
		if st.Fix, err = str("fix"); err != nil {
			return err
		}
		if st.Name == "" {
			st.Name = st.Check
		}
	case KindSh:
		if err := unknownKeys(p, st, rest); err != nil {
			return err
		}
		if st.Dangerous, err = boolean("dangerous"); err != nil {
			return err
		}
		if err := p.confirm(st, raw); err != nil {
			return err
		}
		if strings.TrimSpace(st.Body) == "" {
			return p.errf(st.Line, "sh step without a command")
		}
		if st.Name == "" {
			st.Name = slug(st.Body)
		}
	case KindAction:
		if err := unknownKeys(p, st, rest); err != nil {
			return err
		}
		if st.Do, err = str("do"); err != nil {
			return err
		}
		if st.Do == "" {
			return p.errf(st.Line, `action without "do" (one of %s)`, strings.Join(Actions, ", "))
		}
		if !slices.Contains(Actions, st.Do) {
			return p.errf(st.Line, "unknown action %q (known: %s)", st.Do, strings.Join(Actions, ", "))
		}
		if st.Version, err = str("version"); err != nil {
			return err
		}
		if st.Version != "" && st.Do != "promote" {
			return p.errf(st.Line, `"version" applies to promote only`)
		}
		if st.Force, err = boolean("force"); err != nil {
			return err
		}
		if st.Force && st.Do != "repro" {
			return p.errf(st.Line, `"force" applies to repro only`)
		}
		if err := p.confirm(st, raw); err != nil {
			return err
		}
		if st.Name == "" {
			st.Name = st.Do
		}
	}
	return nil
}

func unknownKeys(p *parser, st *Step, rest map[string]json.RawMessage) error {
	if len(rest) == 0 {
		return nil
	}
	keys := make([]string, 0, len(rest))
	for k := range rest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	known := append(slices.Clone(commonKeys), kindKeys[st.Kind]...)
	return p.errf(st.Line, "unknown attribute %q for a %s step (known: %s)", keys[0], st.Kind, strings.Join(known, ", "))
}

// confirm reads "confirm": true (type the step name), a string (type it)
// or false (only for a non-dangerous sh step: no confirmation).
func (p *parser) confirm(st *Step, raw map[string]json.RawMessage) error {
	v, ok := raw["confirm"]
	if !ok {
		return nil
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		if !b && (st.Kind == KindAction || st.Dangerous) {
			return p.errf(st.Line, `"confirm": false is not allowed: actions and dangerous steps always need confirmation`)
		}
		if b && st.Kind == KindSh && !st.Dangerous {
			st.Confirm = "yes"
		}
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil || strings.TrimSpace(s) == "" {
		return p.errf(st.Line, `"confirm" must be true or the text to type`)
	}
	st.Confirm = strings.TrimSpace(s)
	return nil
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// slug names an sh step after its first command line.
func slug(body string) string {
	first := ""
	for _, l := range strings.Split(body, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			first = t
			break
		}
	}
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(first), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = "sh"
	}
	return s
}

// dedupeNames makes default names unique ("health", "health-2"); explicit
// names were checked for duplicates already and keep their spelling.
func dedupeNames(rb *Runbook, explicit map[string]int) {
	used := map[string]bool{}
	for n := range explicit {
		used[n] = true
	}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		if _, isExplicit := explicit[s.Name]; isExplicit && explicit[s.Name] == s.Line {
			continue
		}
		name := s.Name
		for k := 2; used[name]; k++ {
			name = fmt.Sprintf("%s-%d", s.Name, k)
		}
		s.Name = name
		used[name] = true
	}
}

func shorten(s string) string { return checks.Shorten(s, 40) }
