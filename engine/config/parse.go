package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a config file; a larger one is refused unread.
const MaxFileSize = 1 << 20

// nodeBudget bounds the YAML nodes one parse visits, so aliases that expand
// a small file into a huge tree are refused instead of eating memory.
const nodeBudget = 200000

// Load reads, parses and validates the config file at path. Paths inside
// the file are relative to the file's folder (the engine resolves them).
func Load(path string) (*Config, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return Parse(data, path)
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("file is larger than %d bytes", MaxFileSize)
	}
	return data, nil
}

// Parse parses and validates config text; name labels the errors (a file
// name, "config.yaml" if empty). Absent keys take Default()'s values. Every
// problem found is listed in one *Error, each with its key path and line.
func Parse(data []byte, name string) (cfg *Config, err error) {
	if name == "" {
		name = "config.yaml"
	}
	text := string(data)
	defer func() {
		// The YAML parser is third-party code fed untrusted text: a panic in
		// it must become an error, never a crash of the server reloading it.
		if r := recover(); r != nil {
			cfg, err = nil, &Error{File: name, Text: text, Problems: []Problem{{Msg: fmt.Sprintf("cannot parse: %v", r)}}}
		}
	}()
	var ps problems
	if len(data) > MaxFileSize {
		ps.add(0, "", "file is larger than %d bytes", MaxFileSize)
		return nil, ps.err(name, "")
	}
	root, perr := parseDocument(data)
	if perr != nil {
		ce := perr.(*Error)
		ce.File, ce.Text = name, text
		return nil, ce
	}
	c := Default()
	d := &decoder{ps: &ps, lines: map[string]int{}, budget: nodeBudget}
	d.value(root, reflect.ValueOf(c).Elem(), "")
	// Validation runs even after decoding problems: a value that failed to
	// decode kept its default, and the user gets every problem in one pass.
	d.applyLegacy(c)
	v := &validator{ps: &ps, lines: d.lines}
	v.check(c)
	if e := ps.err(name, text); e != nil {
		return nil, e
	}
	// The original's block has been copied onto training.random_forest;
	// keeping both would make Marshal's output conflict with itself.
	c.Training.RandomForestParams = nil
	c.Source = Source{Path: name, Text: text}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument returns the top-level mapping node of a one-document file.
func parseDocument(data []byte) (*yaml.Node, error) {
	one := func(line int, format string, args ...any) error {
		return &Error{Problems: []Problem{{Line: line, Msg: fmt.Sprintf(format, args...)}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, emptyErr()
		}
		return nil, malformed(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, one(extra.Line, "a second YAML document starts here; a config file holds one")
	case !errors.Is(err, io.EOF):
		return nil, malformed(err, data)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, emptyErr()
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, emptyErr()
	}
	if root.Kind != yaml.MappingNode {
		return nil, one(root.Line, "the top level must be a mapping of keys (got %s)", describe(root))
	}
	if len(root.Content) == 0 {
		return nil, emptyErr()
	}
	return root, nil
}

func emptyErr() error {
	return &Error{Problems: []Problem{{Msg: "empty config: the file holds no settings (delete it to use the defaults)"}}, err: ErrEmpty}
}

// parserProblems are the messages of yaml.v3's parser (not scanner)
// errors, whose "line N" is 0-based: the 1-based line of the construct
// being parsed, or of the problem when that construct starts on line 1.
var parserProblems = []string{
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected node content",
	"found undefined tag handle",
}

func malformed(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	parserErr := false
	for _, p := range parserProblems {
		parserErr = parserErr || strings.HasPrefix(msg, p)
	}
	switch {
	case parserErr || (line == 0 && !readerProblem(msg)):
		// yaml.v3 omits a 0-based line 0 and never adds 1 for parser errors.
		line++
	case readerProblem(msg):
		// The reader gives no position; find the offending byte ourselves.
		line = badByteLine(data)
	}
	return &Error{Problems: []Problem{{Line: line, Msg: "malformed YAML: " + msg}}}
}

func readerProblem(msg string) bool {
	return strings.Contains(msg, "control characters") || strings.Contains(msg, "UTF-8") ||
		strings.Contains(msg, "UTF-16") || strings.Contains(msg, "octet")
}

// badByteLine returns the 1-based line of the first byte YAML refuses:
// invalid UTF-8 or a control character (0 if none is found).
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := (r == utf8.RuneError && size == 1) ||
			(r < 0x20 && r != '\t' && r != '\n' && r != '\r') ||
			r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff
		if i == 0 && r == 0xfeff {
			bad = false // a byte order mark
		}
		if bad {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return 0
}

// decoder copies a YAML node tree onto a Config, reporting each mismatch
// with its key path and line and recording where every key was found.
type decoder struct {
	ps     *problems
	lines  map[string]int // key path → line of the key
	budget int
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
	ruleType     = reflect.TypeOf(Rule{})
)

func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = d.deref(n)
	if n == nil || n.Kind == yaml.AliasNode {
		d.ps.add(0, path, "unresolvable alias")
		return
	}
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.ps.add(n.Line, path, "the file expands to more than %d values (aliases?)", nodeBudget)
		}
		return
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, path, null)
		return
	case t == byteSizeType:
		d.byteSize(n, v, path, null)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if null {
			return // an empty section keeps its defaults
		}
		d.structure(n, v, path)
	case reflect.Pointer:
		if null {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Slice:
		d.list(n, v, path, null)
	case reflect.Map:
		d.mapping(n, v, path, null)
	default:
		d.scalar(n, v, path, null)
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "a mapping of keys")
		return
	}
	fields := fieldIndex(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			line := n.Line
			if k != nil {
				line = k.Line
			}
			d.ps.add(line, path, "a key must be a plain name, not %s", describe(k))
			continue
		}
		name := k.Value
		kp := joinKey(path, name)
		if k.Tag == "!!merge" {
			d.ps.add(k.Line, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[name]; dup {
			d.ps.add(k.Line, kp, "duplicate key (first at line %d)", first)
			continue
		}
		seen[name] = k.Line
		f, ok := fields[name]
		if !ok {
			d.ps.add(k.Line, kp, "%s", unknownKeyMsg(name, v.Type()))
			continue
		}
		d.lines[kp] = k.Line
		d.value(val, v.Field(f.index), kp)
	}
	for _, f := range orderedFields(v.Type()) {
		if f.required {
			if _, ok := seen[f.name]; !ok {
				d.ps.add(n.Line, path, "missing required key %q", f.name)
			}
		}
	}
}

func unknownKeyMsg(name string, t reflect.Type) string {
	var names []string
	for _, f := range orderedFields(t) {
		if !f.legacy {
			names = append(names, f.name)
		}
	}
	msg := fmt.Sprintf("unknown key %q", name)
	if s := suggest(name, names); s != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + "; valid keys here: " + strings.Join(names, ", ")
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string, null bool) {
	t := v.Type()
	if null {
		v.Set(reflect.MakeSlice(t, 0, 0))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.wrongType(n, path, "a list")
		return
	}
	out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		elem := out.Index(i)
		if t.Elem() == ruleType {
			elem.Set(reflect.ValueOf(Rule{Severity: "warning"}))
		}
		if it := d.deref(item); it != nil {
			d.lines[ip] = it.Line
		}
		d.value(item, elem, ip)
	}
	v.Set(out)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, null bool) {
	t := v.Type()
	out := reflect.MakeMap(t)
	if null {
		v.Set(out)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "a mapping")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode || k.Tag == "!!null" || k.Tag == "!!merge" {
			d.ps.add(n.Line, path, "a key must be a plain string")
			continue
		}
		kp := fmt.Sprintf("%s[%q]", path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.ps.add(k.Line, kp, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[kp] = k.Line
		ev := reflect.New(t.Elem()).Elem()
		d.value(n.Content[i+1], ev, kp)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
	}
	v.Set(out)
}

func (d *decoder) noValue(n *yaml.Node, v reflect.Value, path string) {
	d.ps.add(n.Line, path, "has no value (remove the key to use the default %s)", formatValue(v))
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string, null bool) {
	if null {
		d.noValue(n, v, path)
		return
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		d.wrongType(n, path, "a duration like 500ms, 15s or 5m")
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.ps.add(n.Line, path, "%q is not a duration like 500ms, 15s or 5m", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, path string, null bool) {
	if null {
		d.noValue(n, v, path)
		return
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		d.wrongType(n, path, "a size like 1048576 or 1MiB")
		return
	}
	if n.Tag == "!!int" {
		var x int64
		if err := n.Decode(&x); err != nil || x < 0 {
			d.ps.add(n.Line, path, "%q is not a size in bytes (0 or more)", n.Value)
			return
		}
		v.SetInt(x)
		return
	}
	b, err := ParseByteSize(n.Value)
	if err != nil {
		d.ps.add(n.Line, path, "%v", err)
		return
	}
	v.SetInt(int64(b))
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string, null bool) {
	if null && v.Kind() != reflect.String {
		d.noValue(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if null {
			// An empty value reads as "": valid where "" means off (ssh.addr,
			// alerts.webhook.url), refused by validation where a value is needed.
			v.SetString("")
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.wrongType(n, path, "a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.wrongType(n, path, "true or false")
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.wrongType(n, path, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.wrongType(n, path, "an integer")
			return
		}
		var x int64
		if err := n.Decode(&x); err != nil || v.OverflowInt(x) {
			d.ps.add(n.Line, path, "%s is not an integer this program can hold", n.Value)
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.wrongType(n, path, "a number")
			return
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			d.ps.add(n.Line, path, "%s is not a number", n.Value)
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.ps.add(n.Line, path, "%s is not a finite number", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		// Every field type of Config is handled above; a new one must be too.
		d.ps.add(n.Line, path, "internal: no decoder for %s", v.Type())
	}
}

func (d *decoder) wrongType(n *yaml.Node, path, want string) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.ps.add(line, path, "want %s, got %s", want, describe(n))
}

// describe names a node's type and, for a short scalar, its value.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	val := n.Value
	if len(val) > 40 {
		val = val[:40] + "…"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("the string %q", val)
	case "!!int":
		return "the integer " + val
	case "!!float":
		return "the number " + val
	case "!!bool":
		return "the boolean " + val
	}
	return fmt.Sprintf("%q tagged %s", val, n.Tag)
}

// applyLegacy copies the original's training.random_forest_params onto
// training.random_forest; giving a parameter in both places is an error.
func (d *decoder) applyLegacy(c *Config) {
	p := c.Training.RandomForestParams
	if p == nil {
		return
	}
	const old, cur = "training.random_forest_params.", "training.random_forest."
	move := func(oldKey, newKey string, src *int, dst *int, conv func(int) int) {
		if src == nil {
			return
		}
		if _, both := d.lines[cur+newKey]; both {
			d.ps.add(d.lines[old+oldKey], old+oldKey, "also set as %s%s (line %d); keep one", cur, newKey, d.lines[cur+newKey])
			return
		}
		*dst = conv(*src)
	}
	same := func(x int) int { return x }
	move("n_estimators", "trees", p.NEstimators, &c.Training.RandomForest.Trees, same)
	move("max_depth", "max_depth", p.MaxDepth, &c.Training.RandomForest.MaxDepth, same)
	move("min_samples_leaf", "min_data_in_leaf", p.MinSamplesLeaf, &c.Training.RandomForest.MinDataInLeaf, same)
	move("n_jobs", "threads", p.NJobs, &c.Training.RandomForest.Threads, func(x int) int {
		if x < 0 {
			return 0 // sklearn's -1 = every core = our 0
		}
		return x
	})
}

// field is one yaml-tagged field of a config struct.
type field struct {
	name     string
	index    int
	required bool
	legacy   bool
	omit     bool
	tag      reflect.StructTag
}

var fieldCache sync.Map // reflect.Type → []field

func orderedFields(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || name == "" || !sf.IsExported() {
			continue
		}
		fs = append(fs, field{
			name:     name,
			index:    i,
			required: sf.Tag.Get("required") == "true",
			legacy:   sf.Tag.Get("legacy") == "true",
			omit:     strings.Contains(opts, "omitempty"),
			tag:      sf.Tag,
		})
	}
	fieldCache.Store(t, fs)
	return fs
}

func fieldIndex(t reflect.Type) map[string]field {
	m := map[string]field{}
	for _, f := range orderedFields(t) {
		m[f.name] = f
	}
	return m
}

// suggest returns the candidate closest to s when it is a plausible typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	if bestD <= limit && bestD < len(s) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortedKeys returns a map's string keys in order.
func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}
