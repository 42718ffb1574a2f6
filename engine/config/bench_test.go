package config

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseRootConfig(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(repoRoot(b), "config.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "config.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashSection(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Hash("training.gbdt")
	}
}

func BenchmarkLiveGet(b *testing.B) {
	l := NewLive(Default())
	b.ReportAllocs()
	for b.Loop() {
		if l.Get() == nil {
			b.Fatal("nil")
		}
	}
}
