package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// formatDuration writes a duration the way people write it in YAML: 5m, 1h,
// 500ms, 1h30m.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0 && d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0 && d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// formatValue writes a leaf value as config.yaml would hold it.
func formatValue(v reflect.Value) string {
	switch v.Type() {
	case durationType:
		return formatDuration(time.Duration(v.Int()))
	case byteSizeType:
		return ByteSize(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return formatFloat(v.Float())
	case reflect.Pointer:
		if v.IsNil() {
			return "null"
		}
		return formatValue(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// encoder turns a config value into YAML nodes, optionally with the
// documentation comments of docs.go.
type encoder struct {
	docs bool
}

func scalarNode(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func (e encoder) node(v reflect.Value, path string, tag reflect.StructTag) *yaml.Node {
	t := v.Type()
	switch t {
	case durationType:
		return scalarNode("!!str", formatDuration(time.Duration(v.Int())))
	case byteSizeType:
		return scalarNode("!!str", ByteSize(v.Int()).String())
	}
	switch t.Kind() {
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		inList := strings.HasSuffix(path, "]")
		for _, f := range orderedFields(t) {
			fv := v.Field(f.index)
			if f.omit && fv.IsZero() {
				continue
			}
			kp := joinKey(path, f.name)
			k := scalarNode("!!str", f.name)
			if e.docs && !inList {
				k.HeadComment = docComment(kp, fv, f.tag)
			}
			m.Content = append(m.Content, k, e.node(fv, kp, f.tag))
		}
		return m
	case reflect.Pointer:
		if v.IsNil() {
			return scalarNode("!!null", "null")
		}
		return e.node(v.Elem(), path, tag)
	case reflect.Slice:
		s := &yaml.Node{Kind: yaml.SequenceNode}
		if t.Elem().Kind() != reflect.Struct || v.Len() == 0 {
			s.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			s.Content = append(s.Content, e.node(v.Index(i), fmt.Sprintf("%s[%d]", path, i), tag))
		}
		return s
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode}
		if v.Len() == 0 {
			m.Style = yaml.FlowStyle
		}
		for _, k := range sortedKeys(v) {
			m.Content = append(m.Content, scalarNode("!!str", k.String()), e.node(v.MapIndex(k), path, tag))
		}
		return m
	case reflect.String:
		n := scalarNode("!!str", v.String())
		if tag.Get("style") == "double" {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	case reflect.Bool:
		return scalarNode("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		return scalarNode("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		s := formatFloat(v.Float())
		if strings.ContainsAny(s, ".eE") {
			return scalarNode("!!float", s)
		}
		return scalarNode("!!int", s) // an integral float reads back as a number either way
	}
	return scalarNode("!!str", fmt.Sprint(v.Interface()))
}

func encodeNode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Marshal writes c as a documented config.yaml: every key preceded by a
// comment giving its meaning, range and default. Parse(Marshal(c)) equals c.
func Marshal(c *Config) ([]byte, error) {
	root := encoder{docs: true}.node(reflect.ValueOf(c).Elem(), "", "")
	root.FootComment = legacyFooter
	out, err := encodeNode(root)
	if err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	var b bytes.Buffer
	for _, l := range strings.Split(fileHeader, "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	b.WriteString("\n")
	b.Write(spaceSections(out))
	return b.Bytes(), nil
}

// spaceSections puts a blank line before each top-level key's comment so
// the sections read as blocks.
func spaceSections(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	var out []string
	for i, l := range lines {
		startsBlock := strings.HasPrefix(l, "#") && i > 0 && !strings.HasPrefix(lines[i-1], "#") && lines[i-1] != ""
		if startsBlock {
			out = append(out, "")
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

// WriteFile writes c to path atomically (temp file + rename).
func WriteFile(path string, c *Config) error {
	data, err := Marshal(c)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm() // keep an existing file's permissions
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// lookup finds the value at a dotted key path ("training.gbdt").
func lookup(c *Config, key string) (reflect.Value, reflect.StructTag, bool) {
	v := reflect.ValueOf(c).Elem()
	var tag reflect.StructTag
	if key == "" {
		return v, "", true
	}
	for _, part := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct || v.Type() == durationType {
			return reflect.Value{}, "", false
		}
		f, ok := fieldIndex(v.Type())[part]
		if !ok {
			return reflect.Value{}, "", false
		}
		v, tag = v.Field(f.index), f.tag
	}
	return v, tag, true
}

// Section returns the value at a dotted key ("training.gbdt" → GBDT,
// "seed" → int64), or nil for a key that does not exist. The result shares
// slices with c: read it, do not modify it.
func (c *Config) Section(key string) any {
	v, _, ok := lookup(c, key)
	if !ok {
		return nil
	}
	return v.Interface()
}

// HasKey reports whether key names a section or setting.
func HasKey(key string) bool {
	_, _, ok := lookup(Default(), key)
	return ok && key != ""
}

// Hash returns a stable hex SHA-256 of the named sections' values (the
// whole config without keys). It depends on values only, not on comments,
// key order or formatting, and not on the order of keys. A key that does not
// exist hashes as null: check keys with HasKey in tests.
func (c *Config) Hash(keys ...string) string {
	ks := slices.Clone(keys)
	if len(ks) == 0 {
		ks = []string{""}
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	h := sha256.New()
	h.Write([]byte("carvision-config-hash/1\n"))
	for _, k := range ks {
		fmt.Fprintf(h, "key %q\n", k)
		v, tag, ok := lookup(c, k)
		if !ok {
			h.Write([]byte("null\n"))
			continue
		}
		b, err := encodeNode(encoder{}.node(v, k, tag))
		if err != nil {
			// Encoding plain values cannot fail; keep the hash defined anyway.
			fmt.Fprintf(h, "error %v\n", err)
			continue
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Keys lists every section and setting as a dotted key, in file order
// (the original's compatibility keys excluded).
func Keys() []string {
	var out []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for _, f := range orderedFields(t) {
			if f.legacy {
				continue
			}
			kp := joinKey(path, f.name)
			out = append(out, kp)
			ft := t.Field(f.index).Type
			if ft.Kind() == reflect.Struct && ft != durationType {
				walk(ft, kp)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}
