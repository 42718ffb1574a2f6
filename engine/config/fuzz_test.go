package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds the loader arbitrary text. It must never panic; an
// accepted config must validate and survive Marshal/Parse unchanged; a
// refused one must say where, through *Error.
func FuzzParse(f *testing.F) {
	root := repoRoot(f)
	for _, kind := range []string{"valid", "broken"} {
		files, _ := filepath.Glob(filepath.Join(root, "testdata", "config", kind, "*.yaml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "config.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("serve: {body_limit: 1e400}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var ce *Error
			if c != nil || !errors.As(err, &ce) || len(ce.Problems) == 0 || err.Error() == "" {
				t.Fatalf("bad failure: cfg %v, err %T %v", c, err, err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted config does not validate: %v", verr)
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := Parse(out, "marshalled.yaml")
		if err != nil {
			t.Fatalf("Marshal output refused: %v\n%s", err, out)
		}
		if a, b := settings(c), settings(back); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the config:\n%s", lineDiff(string(out), mustMarshal(t, back)))
		}
	})
}

func mustMarshal(t *testing.T, c *Config) string {
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
