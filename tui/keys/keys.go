// Package keys is the console's one key table: every binding is a record
// that drives dispatch, the key-hint line, the `?` overlay and the generated
// key reference, so none of them can drift from the others.
package keys

import (
	"fmt"
	"slices"
	"strings"
)

// Scope groups bindings: Global and Nav apply everywhere, a page ID applies
// on that page only.
type Scope string

// Scopes every page shares.
const (
	Global Scope = "global"
	Nav    Scope = "navigation"
)

// Need names a capability an action requires from the engine client.
type Need int

// Capabilities an action may need (see engine.Capabilities).
const (
	NeedNone Need = iota
	NeedStore
	NeedLogs
	NeedConfig
	NeedDemo
)

// String names the capability for messages and docs.
func (n Need) String() string {
	switch n {
	case NeedStore:
		return "store"
	case NeedLogs:
		return "logs"
	case NeedConfig:
		return "config"
	case NeedDemo:
		return "demo"
	}
	return ""
}

// Binding is one action and the keys that trigger it.
type Binding struct {
	Action  string   // stable id, e.g. "monitor.pause"; commands refer to it too
	Keys    []string // bubbletea key strings ("p", "ctrl+s", "shift+tab")
	Short   string   // label in the key-hint line
	Help    string   // sentence in the help overlay and the docs
	Scope   Scope
	Hint    bool // shown in the key-hint line
	Mutates bool // changes engine state: refused in read-only sessions
	Confirm bool // dangerous: needs a typed confirmation first
	Needs   Need // capability required from the client
}

// Label is the keys as shown to people: "up/k".
func (b Binding) Label() string {
	names := make([]string, len(b.Keys))
	for i, k := range b.Keys {
		names[i] = pretty(k)
	}
	return strings.Join(names, "/")
}

func pretty(k string) string {
	switch k {
	case " ":
		return "space"
	case "pgdown":
		return "pgdn"
	}
	return k
}

// Table is the validated set of bindings of every scope.
type Table struct {
	order   []Scope
	byScope map[Scope][]Binding
	index   map[Scope]map[string]Binding
	actions map[string]Binding
}

// NewTable validates and indexes the bindings. A key bound twice in one
// scope, a page key shadowing a global or navigation key, a duplicate action
// or a binding without keys is an error naming both actions.
func NewTable(bindings ...[]Binding) (*Table, error) {
	t := &Table{byScope: map[Scope][]Binding{}, index: map[Scope]map[string]Binding{}, actions: map[string]Binding{}}
	for _, group := range bindings {
		for _, b := range group {
			if b.Action == "" || b.Scope == "" {
				return nil, fmt.Errorf("binding %q (scope %q): action and scope are required", b.Action, b.Scope)
			}
			if prev, dup := t.actions[b.Action]; dup {
				return nil, fmt.Errorf("action %q defined twice (scopes %s and %s)", b.Action, prev.Scope, b.Scope)
			}
			if len(b.Keys) == 0 {
				return nil, fmt.Errorf("action %q: no keys", b.Action)
			}
			t.actions[b.Action] = b
			if _, ok := t.byScope[b.Scope]; !ok {
				t.order = append(t.order, b.Scope)
				t.index[b.Scope] = map[string]Binding{}
			}
			t.byScope[b.Scope] = append(t.byScope[b.Scope], b)
			for _, k := range b.Keys {
				if prev, dup := t.index[b.Scope][k]; dup {
					return nil, fmt.Errorf("key %q bound twice in scope %s: %s and %s", k, b.Scope, prev.Action, b.Action)
				}
				t.index[b.Scope][k] = b
			}
		}
	}
	for _, s := range t.order {
		if s == Global || s == Nav {
			continue
		}
		for _, shared := range []Scope{Global, Nav} {
			for k, b := range t.index[s] {
				if g, clash := t.index[shared][k]; clash {
					return nil, fmt.Errorf("key %q of %s shadows %s binding %s", k, b.Action, shared, g.Action)
				}
			}
		}
	}
	for k, b := range t.index[Nav] {
		if g, clash := t.index[Global][k]; clash {
			return nil, fmt.Errorf("key %q bound twice: %s and %s", k, g.Action, b.Action)
		}
	}
	return t, nil
}

// Lookup finds the binding of key on page scope: the page's own, then
// navigation, then global (validation guarantees at most one matches).
func (t *Table) Lookup(scope Scope, key string) (Binding, bool) {
	for _, s := range []Scope{scope, Nav, Global} {
		if b, ok := t.index[s][key]; ok {
			return b, true
		}
	}
	return Binding{}, false
}

// Action returns the binding of an action id.
func (t *Table) Action(id string) (Binding, bool) {
	b, ok := t.actions[id]
	return b, ok
}

// Scope returns the bindings of one scope in declaration order.
func (t *Table) Scope(s Scope) []Binding { return t.byScope[s] }

// Scopes returns the scopes in declaration order.
func (t *Table) Scopes() []Scope { return slices.Clone(t.order) }

// Hints returns the bindings for the key-hint line of a page: the page's
// hinted bindings first, then the global ones.
func (t *Table) Hints(scope Scope) []Binding {
	var out []Binding
	for _, s := range []Scope{scope, Nav, Global} {
		for _, b := range t.byScope[s] {
			if b.Hint {
				out = append(out, b)
			}
		}
	}
	return out
}

// Markdown renders the whole table as a key reference; titles names scopes.
func (t *Table) Markdown(titles map[Scope]string) string {
	var b strings.Builder
	b.WriteString("# Console key bindings\n\n")
	b.WriteString("Generated from the key table (`tui/keys`); do not edit by hand.\n")
	b.WriteString("★ = dangerous: needs a typed confirmation. RO = refused in read-only sessions.\n")
	for _, s := range t.order {
		title := titles[s]
		if title == "" {
			title = string(s)
		}
		fmt.Fprintf(&b, "\n## %s\n\n| keys | action | what it does | notes |\n|---|---|---|---|\n", title)
		for _, bd := range t.byScope[s] {
			var notes []string
			if bd.Confirm {
				notes = append(notes, "★")
			}
			if bd.Mutates {
				notes = append(notes, "RO")
			}
			if bd.Needs != NeedNone {
				notes = append(notes, "needs "+bd.Needs.String())
			}
			keys := strings.ReplaceAll(bd.Label(), "|", `\|`)
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", keys, bd.Action, bd.Help, strings.Join(notes, " "))
		}
	}
	return b.String()
}
