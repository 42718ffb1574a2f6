package model_test

import (
	"math"
	"testing"

	"carvision/engine"
	"carvision/engine/model"
)

// FuzzDecode feeds the decoder arbitrary bytes, and the same bytes with a
// valid checksum so that the fuzzer reaches the header, meta and forest
// parsers behind it. Decode must answer with a model or an error, never a
// panic; a model it accepts must predict without panicking.
func FuzzDecode(f *testing.F) {
	m := tinyModel(f)
	data, err := m.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("CARVMODL"))
	f.Add([]byte{})
	listings := []engine.Listing{engine.EmptyListing(), {ModelYear: 2014, Model: "ford f-150", Odometer: 1e9, Cylinders: math.Inf(1)}}
	f.Fuzz(func(t *testing.T, b []byte) {
		inputs := [][]byte{b}
		if len(b) >= 32 {
			inputs = append(inputs, reseal(b))
		}
		for _, in := range inputs {
			m, err := model.Decode(in)
			if err != nil {
				if m != nil {
					t.Fatalf("Decode returned a model and an error %v", err)
				}
				continue
			}
			for _, l := range listings {
				_, _ = m.Predict(l, engine.PredictOptions{Explain: true, Comparables: 3})
			}
			_ = m.Info()
			_ = m.SchemaCheck([]string{"odometer"})
		}
	})
}
