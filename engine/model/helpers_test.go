package model_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"testing"

	"carvision/engine/dataset"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/model"
	"carvision/engine/pipeline"
	"carvision/engine/prep"
	"carvision/engine/split"
	"carvision/engine/synth"
)

// trained caches one full model per target transform: training is the
// slow part of these tests and the models are immutable.
var trained sync.Map // target → *trainedModel

type trainedModel struct {
	once sync.Once
	m    *model.Model
	err  error
}

// fullModel trains (once per target) a model the way the pipeline does,
// with its drift reference, interval calibration and market context, on
// 1,500 synthetic listings and a small forest.
func fullModel(t testing.TB, target string) *model.Model {
	t.Helper()
	v, _ := trained.LoadOrStore(target, &trainedModel{})
	tm := v.(*trainedModel)
	tm.once.Do(func() {
		s := pipeline.DefaultSettings("")
		s.GBDT.Trees, s.GBDT.EarlyStoppingRounds = 60, 10
		s.Target = target
		s.Refit = false
		train, valid := splitFrames(synth.Generate(1500, 5))
		tm.m, tm.err = pipeline.Fit(context.Background(), s, train, valid, nil)
	})
	if tm.err != nil {
		t.Fatalf("train %s model: %v", target, tm.err)
	}
	return tm.m
}

func splitFrames(f *dataset.Frame) (train, valid *dataset.Frame) {
	c, _, err := prep.Clean(f, prep.DefaultFilters())
	if err != nil {
		panic(err)
	}
	parts := split.Assign(c, 42, 0.25, 0)
	return c.Select(split.Indices(parts, split.Train)), c.Select(split.Indices(parts, split.Valid))
}

// tinyModel is a few trees and the bare schema: a small seed for the fuzzer.
func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	f := synth.Generate(300, 9)
	c, _, err := prep.Clean(f, prep.DefaultFilters())
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, c.Len())
	for i := range idx {
		idx[i] = i
	}
	spec, err := features.Fit(c, idx, features.Names(nil), 2019)
	if err != nil {
		t.Fatal(err)
	}
	p := gbdt.DefaultParams()
	p.Trees, p.NumLeaves, p.Threads = 4, 7, 1
	forest, err := gbdt.Train(context.Background(), spec.Matrix(c, idx), model.Transform("sqrt", c.Price), nil, nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Meta{Kind: "gbdt", Spec: spec, Params: p, Target: "sqrt", Filters: prep.DefaultFilters()}, forest)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, m *model.Model) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// layout locates the parts of an encoded model file.
type layout struct {
	metaLen, metaStart, forestLenAt, forestStart, forestLen, body int
}

func parseLayout(b []byte) layout {
	var l layout
	l.metaStart = 16
	l.metaLen = int(binary.LittleEndian.Uint32(b[12:16]))
	l.forestLenAt = l.metaStart + l.metaLen
	l.forestStart = l.forestLenAt + 4
	l.forestLen = int(binary.LittleEndian.Uint32(b[l.forestLenAt:l.forestStart]))
	l.body = len(b) - 32
	return l
}

// reseal replaces the trailing checksum so that a deliberately broken body
// reaches the parser behind the checksum.
func reseal(b []byte) []byte {
	body := append([]byte(nil), b[:len(b)-32]...)
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}
