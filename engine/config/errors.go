package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrEmpty is wrapped by the error for a file holding no settings.
var ErrEmpty = errors.New("empty config")

// maxProblems bounds the list so a garbage file gives a readable error.
const maxProblems = 20

// Problem is one thing wrong with a config file.
type Problem struct {
	Line int    // 1-based; 0 when the key was absent (a default) or the parser gave none
	Key  string // dotted key path, e.g. training.gbdt.learning_rate or alerts.rules[2].expr
	Msg  string
}

// Error lists every problem found in one config file.
type Error struct {
	File     string
	Problems []Problem
	Text     string // the rejected file's text, so a viewer can show the line
	err      error  // a sentinel to unwrap to (ErrEmpty)
}

// Error prints one line per problem, "file line N: key: message", in line order.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, " line %d", p.Line)
		}
		b.WriteString(": ")
		if p.Key != "" {
			b.WriteString(p.Key)
			b.WriteString(": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Unwrap lets errors.Is find ErrEmpty.
func (e *Error) Unwrap() error { return e.err }

// Line is the line of the first problem (0 if none has one).
func (e *Error) Line() int {
	for _, p := range e.Problems {
		if p.Line > 0 {
			return p.Line
		}
	}
	return 0
}

// ErrorLine returns the first line number a config error names, or 0.
func ErrorLine(err error) int {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Line()
	}
	return 0
}

// problems collects Problems while decoding and validating.
type problems struct {
	list []Problem
	seen map[string]bool
	keys map[string]bool // keys that already have a problem
	more int
}

func (ps *problems) add(line int, key, format string, args ...any) {
	p := Problem{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	id := fmt.Sprintf("%d|%s|%s", p.Line, p.Key, p.Msg)
	if ps.seen == nil {
		ps.seen = map[string]bool{}
	}
	if ps.seen[id] {
		return
	}
	ps.seen[id] = true
	if ps.keys == nil {
		ps.keys = map[string]bool{}
	}
	ps.keys[key] = true
	if len(ps.list) >= maxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, p)
}

// covers reports whether path or one of its parents already has a problem,
// so validation does not pile noise on a value that failed to decode.
func (ps *problems) covers(path string) bool {
	for k := range ps.keys {
		if k == path || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[") {
			return true
		}
	}
	return false
}

// has reports whether any of keys already has a problem.
func (ps *problems) has(keys ...string) bool {
	for _, k := range keys {
		if ps.keys[k] {
			return true
		}
	}
	return false
}

func (ps *problems) err(file, text string) error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		// Problems without a line (defaults in a cross-check) go last.
		li, lj := list[i].Line, list[j].Line
		if (li == 0) != (lj == 0) {
			return lj == 0
		}
		return li < lj
	})
	if ps.more > 0 {
		list = append(list, Problem{Msg: fmt.Sprintf("... and %d more problems", ps.more)})
	}
	return &Error{File: file, Problems: list, Text: text}
}
