package keys

import (
	"strings"
	"testing"
)

func TestNewTableRejectsConflicts(t *testing.T) {
	page := Scope("monitor")
	for _, tc := range []struct {
		name     string
		bindings []Binding
		wantErr  string
	}{
		{"key twice in one scope", []Binding{
			{Action: "a.one", Keys: []string{"x"}, Scope: page},
			{Action: "a.two", Keys: []string{"x"}, Scope: page}}, "a.one and a.two"},
		{"page key shadows a global key", []Binding{
			{Action: "app.quit", Keys: []string{"q"}, Scope: Global},
			{Action: "monitor.q", Keys: []string{"q"}, Scope: page}}, "shadows global binding app.quit"},
		{"page key shadows a navigation key", []Binding{
			{Action: "nav.down", Keys: []string{"j"}, Scope: Nav},
			{Action: "monitor.j", Keys: []string{"j"}, Scope: page}}, "shadows navigation binding nav.down"},
		{"navigation and global share a key", []Binding{
			{Action: "app.x", Keys: []string{"g"}, Scope: Global},
			{Action: "nav.top", Keys: []string{"g"}, Scope: Nav}}, "bound twice"},
		{"duplicate action", []Binding{
			{Action: "a.one", Keys: []string{"x"}, Scope: page},
			{Action: "a.one", Keys: []string{"y"}, Scope: "drift"}}, "defined twice"},
		{"no keys", []Binding{{Action: "a.one", Scope: page}}, "no keys"},
		{"no scope", []Binding{{Action: "a.one", Keys: []string{"x"}}}, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTable(tc.bindings)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaultsAreConsistent(t *testing.T) {
	if _, err := NewTable(GlobalBindings(), NavBindings()); err != nil {
		t.Fatal(err)
	}
}

func TestLookupOrderAndSharedPageKeys(t *testing.T) {
	tbl, err := NewTable(GlobalBindings(), NavBindings(),
		[]Binding{{Action: "monitor.pause", Keys: []string{"p"}, Scope: "monitor"}},
		[]Binding{{Action: "drift.pin", Keys: []string{"p"}, Scope: "drift"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scope  Scope
		key    string
		action string
		ok     bool
	}{
		{"monitor", "p", "monitor.pause", true},
		{"drift", "p", "drift.pin", true},
		{"overview", "p", "", false},
		{"drift", "j", Down, true},
		{"drift", "?", Help, true},
	} {
		b, ok := tbl.Lookup(tc.scope, tc.key)
		if ok != tc.ok || b.Action != tc.action {
			t.Errorf("Lookup(%s, %q) = %q %v, want %q %v", tc.scope, tc.key, b.Action, ok, tc.action, tc.ok)
		}
	}
}

func TestMarkdownListsEveryBinding(t *testing.T) {
	tbl, err := NewTable(GlobalBindings(), NavBindings(),
		[]Binding{{Action: "models.promote", Keys: []string{"P"}, Scope: "models", Help: "promote", Mutates: true, Confirm: true, Needs: NeedStore}})
	if err != nil {
		t.Fatal(err)
	}
	md := tbl.Markdown(map[Scope]string{"models": "Models"})
	for _, s := range tbl.Scopes() {
		for _, b := range tbl.Scope(s) {
			if !strings.Contains(md, "| "+b.Action+" |") {
				t.Errorf("markdown misses %s", b.Action)
			}
		}
	}
	if !strings.Contains(md, "## Models") || !strings.Contains(md, "★ RO needs store") {
		t.Errorf("markdown lacks titles or flags:\n%s", md)
	}
}
