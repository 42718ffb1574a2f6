package gbdt

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"testing"
)

func smallModel(t testing.TB) (*Forest, Matrix) {
	m, y := carsLike(1500, 31)
	p := DefaultParams()
	p.Trees, p.NumLeaves = 4, 16
	f := mustTrain(t, m, y, nil, nil, p)
	if !slices.ContainsFunc(f.DecisionType, func(d uint8) bool { return d&DecisionCategorical != 0 }) {
		t.Fatal("small model has no categorical split; the corruption cases need one")
	}
	return f, m
}

// reseal recomputes the trailing checksum after an edit.
func reseal(b []byte) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

// cloneForest deep-copies the exported fields into a forest that has not
// been used yet (so edits are seen by its first validation).
func cloneForest(f *Forest) *Forest {
	var g Forest
	if err := g.UnmarshalBinary(f.encode()); err != nil {
		panic(err)
	}
	return &Forest{FormatVersion: g.FormatVersion, Mode: g.Mode, Params: g.Params, BaseScore: g.BaseScore,
		BestIteration: g.BestIteration, BestValidLoss: g.BestValidLoss, Features: g.Features,
		TreeNodes: g.TreeNodes, TreeLeaves: g.TreeLeaves, SplitFeature: g.SplitFeature, Threshold: g.Threshold,
		DecisionType: g.DecisionType, LeftChild: g.LeftChild, RightChild: g.RightChild, SplitGain: g.SplitGain,
		NodeCount: g.NodeCount, NodeValue: g.NodeValue, LeafValue: g.LeafValue, LeafCount: g.LeafCount,
		CatBoundaries: g.CatBoundaries, CatThreshold: g.CatThreshold}
}

func TestUnmarshalRejectsTruncatedAndFlipped(t *testing.T) {
	f, _ := smallModel(t)
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		var g Forest
		if err := g.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	for i := 0; i < len(b); i += 7 {
		c := slices.Clone(b)
		c[i] ^= 0x5a
		var g Forest
		if err := g.UnmarshalBinary(c); err == nil {
			t.Fatalf("byte %d flipped: no error", i)
		}
	}
}

func TestUnmarshalRejectsBadStructure(t *testing.T) {
	f, m := smallModel(t)
	root := func(g *Forest) int { return int(g.TreeNodes[1]) } // nodes in tree 0
	cases := []struct {
		name string
		edit func(g *Forest)
		want string
	}{
		{"child index beyond tree", func(g *Forest) { g.LeftChild[0] = int32(root(g)) + 5 }, "bad child node"},
		{"child points back (cycle)", func(g *Forest) { g.LeftChild[1] = 0 }, "bad child node"},
		{"leaf index beyond tree", func(g *Forest) { g.RightChild[0] = ^int32(100) }, "bad child leaf"},
		{"leaf used twice", func(g *Forest) {
			g.RightChild[0] = g.LeftChild[firstLeafParent(g)]
			g.LeftChild[0] = g.LeftChild[firstLeafParent(g)]
		}, "bad child"},
		{"feature out of range", func(g *Forest) { g.SplitFeature[0] = 12 }, "feature 12 out of range"},
		{"negative feature", func(g *Forest) { g.SplitFeature[0] = -1 }, "out of range"},
		{"categorical split on numeric feature", func(g *Forest) {
			i := slices.IndexFunc(g.SplitFeature, func(f int32) bool { return f < 6 })
			g.DecisionType[i] |= DecisionCategorical
			g.Threshold[i] = 0
		}, "bad categorical split"},
		{"categorical index out of range", func(g *Forest) {
			i := slices.IndexFunc(g.DecisionType, func(d uint8) bool { return d&DecisionCategorical != 0 })
			g.Threshold[i] = float64(len(g.CatBoundaries) + 3)
		}, "bad categorical split"},
		{"cat boundaries past words", func(g *Forest) { g.CatBoundaries[len(g.CatBoundaries)-1] += 4 }, "CatBoundaries"},
		{"unknown decision bits", func(g *Forest) { g.DecisionType[0] = 0x80 }, "decision type"},
		{"tree offsets", func(g *Forest) { g.TreeNodes[1]++ }, "tree"},
		{"array length mismatch", func(g *Forest) { g.SplitGain = g.SplitGain[1:] }, "SplitGain"},
		{"zero leaf count", func(g *Forest) { g.LeafCount[2] = 0 }, "count"},
		{"unknown feature kind", func(g *Forest) { g.Features[3].Kind = 7 }, "kind"},
		{"unsorted bin edges", func(g *Forest) { g.Features[2].BinUpper[1] = -1 }, "bin edges"},
		{"unknown mode", func(g *Forest) { g.Mode = "dart" }, "mode"},
		{"best iteration", func(g *Forest) { g.BestIteration = 99 }, "BestIteration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := cloneForest(f)
			tc.edit(g)
			b := g.encode()
			var h Forest
			err := h.UnmarshalBinary(b)
			if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
			// an invalid forest built in memory refuses to predict or marshal
			if v := g.Predict(m.Row(0)); !math.IsNaN(v) {
				t.Errorf("Predict on invalid forest = %v, want NaN", v)
			}
			if _, err := g.MarshalBinary(); err == nil {
				t.Error("MarshalBinary accepted an invalid forest")
			}
		})
	}
}

// firstLeafParent returns a node of tree 0 whose left child is a leaf.
func firstLeafParent(g *Forest) int {
	for i := range int(g.TreeNodes[1]) {
		if g.LeftChild[i] < 0 {
			return i
		}
	}
	return 0
}

func TestUnmarshalVersionAndTrailer(t *testing.T) {
	f, _ := smallModel(t)
	b, _ := f.MarshalBinary()
	future := slices.Clone(b)
	binary.LittleEndian.PutUint16(future[6:], formatVersion+1)
	var g Forest
	if err := g.UnmarshalBinary(reseal(future)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("future version: err = %v", err)
	}
	extra := append(slices.Clone(b[:len(b)-4]), 1, 2, 3, 0, 0, 0, 0)
	if err := g.UnmarshalBinary(reseal(extra)); err == nil || !strings.Contains(err.Error(), "unexpected bytes") {
		t.Errorf("trailing bytes: err = %v", err)
	}
	if err := g.UnmarshalBinary([]byte("not a model at all, really")); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad magic: err = %v", err)
	}
	// a failed unmarshal leaves the receiver as it was
	if err := g.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	before := g.NumTrees()
	if err := g.UnmarshalBinary(b[:100]); err == nil || g.NumTrees() != before {
		t.Errorf("failed unmarshal changed the forest: err %v, trees %d -> %d", err, before, g.NumTrees())
	}
}

func FuzzUnmarshal(f *testing.F) {
	fm, m := smallModel(f)
	b, _ := fm.MarshalBinary()
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("CVGBDT\x01\x00"))
	row := m.Row(0)
	out := make([]float64, m.Cols)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range [][]byte{data, func() []byte {
			if len(data) < 12 {
				return data
			}
			return reseal(data) // get past the checksum to exercise validation
		}()} {
			var g Forest
			if err := g.UnmarshalBinary(d); err != nil {
				continue
			}
			// whatever was accepted must be usable without panics
			g.Predict(row)
			g.Contributions(row, out)
			g.FeatureImportance()
			if _, err := g.MarshalBinary(); err != nil {
				t.Fatalf("accepted model does not marshal: %v", err)
			}
		}
	})
}
