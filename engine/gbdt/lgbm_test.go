package gbdt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// lgbmModel is an independent reader of the LightGBM v3 text format with
// LightGBM's decision rules, used as an oracle for WriteLightGBM.
type lgbmModel struct {
	average bool
	trees   []lgbmTree
}

type lgbmTree struct {
	feat, left, right, dtype []int
	thr, leaf                []float64
	catBounds                []int
	catWords                 []uint32
}

func parseLGBM(t *testing.T, text string) lgbmModel {
	t.Helper()
	var m lgbmModel
	head, body, ok := strings.Cut(text, "\nTree=0\n")
	if !ok {
		t.Fatal("no Tree=0")
	}
	body = "Tree=0\n" + body
	trees, _, ok := strings.Cut(body, "end of trees")
	if !ok {
		t.Fatal("no end of trees")
	}
	kv := map[string]string{}
	for _, line := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		} else if line == "average_output" {
			m.average = true
		}
	}
	if kv["version"] != "v3" || kv["num_class"] != "1" || kv["objective"] != "regression" {
		t.Fatalf("header: %v", kv)
	}
	sizes := strings.Fields(kv["tree_sizes"])
	total := 0
	for _, s := range sizes {
		n, _ := strconv.Atoi(s)
		total += n
	}
	if total != len(trees) {
		t.Fatalf("tree_sizes sum %d, trees span %d bytes", total, len(trees))
	}
	ints := func(s string) []int {
		var v []int
		for _, f := range strings.Fields(s) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("int %q: %v", f, err)
			}
			v = append(v, n)
		}
		return v
	}
	floats := func(s string) []float64 {
		var v []float64
		for _, f := range strings.Fields(s) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("float %q: %v", f, err)
			}
			v = append(v, x)
		}
		return v
	}
	off := 0
	for i, s := range sizes {
		n, _ := strconv.Atoi(s)
		chunk := trees[off : off+n]
		off += n
		if !strings.HasPrefix(chunk, "Tree="+strconv.Itoa(i)+"\n") {
			t.Fatalf("tree %d chunk starts %q", i, chunk[:min(20, len(chunk))])
		}
		tk := map[string]string{}
		for _, line := range strings.Split(chunk, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				tk[k] = v
			}
		}
		tr := lgbmTree{feat: ints(tk["split_feature"]), left: ints(tk["left_child"]), right: ints(tk["right_child"]),
			dtype: ints(tk["decision_type"]), thr: floats(tk["threshold"]), leaf: floats(tk["leaf_value"]),
			catBounds: ints(tk["cat_boundaries"])}
		for _, w := range ints(tk["cat_threshold"]) {
			tr.catWords = append(tr.catWords, uint32(w))
		}
		if nl, _ := strconv.Atoi(tk["num_leaves"]); nl != len(tr.leaf) || len(tr.feat) != nl-1 {
			t.Fatalf("tree %d: num_leaves %d, %d leaf values, %d splits", i, nl, len(tr.leaf), len(tr.feat))
		}
		m.trees = append(m.trees, tr)
	}
	return m
}

func (m lgbmModel) predict(x []float64) float64 {
	sum := 0.0
	for _, tr := range m.trees {
		if len(tr.feat) == 0 {
			sum += tr.leaf[0]
			continue
		}
		n := 0
		for n >= 0 {
			v := x[tr.feat[n]]
			dt := tr.dtype[n]
			missNaN := (dt>>2)&3 == 2
			if dt&1 != 0 { // categorical
				right := true
				if !math.IsNaN(v) || !missNaN {
					if math.IsNaN(v) {
						v = 0
					}
					iv := int(v)
					k := int(tr.thr[n])
					words := tr.catWords[tr.catBounds[k]:tr.catBounds[k+1]]
					if iv >= 0 && iv/32 < len(words) && words[iv/32]>>(iv%32)&1 != 0 {
						right = false
					}
				}
				if right {
					n = tr.right[n]
				} else {
					n = tr.left[n]
				}
				continue
			}
			if math.IsNaN(v) && !missNaN {
				v = 0
			}
			switch {
			case math.IsNaN(v) && dt&2 != 0:
				n = tr.left[n]
			case math.IsNaN(v):
				n = tr.right[n]
			case v <= tr.thr[n]:
				n = tr.left[n]
			default:
				n = tr.right[n]
			}
		}
		sum += tr.leaf[^n]
	}
	if m.average {
		return sum / float64(len(m.trees))
	}
	return sum
}

func TestWriteLightGBMScoresLikeUs(t *testing.T) {
	m, y := carsLike(4000, 41)
	rf := DefaultRFParams()
	rf.Trees, rf.NumLeaves = 8, 200
	for _, p := range []Params{DefaultParams(), rf} {
		t.Run(p.Mode, func(t *testing.T) {
			f := mustTrain(t, m, y, nil, nil, p)
			var buf bytes.Buffer
			if err := f.WriteLightGBM(&buf); err != nil {
				t.Fatal(err)
			}
			lm := parseLGBM(t, buf.String())
			if len(lm.trees) != f.NumTrees() {
				t.Fatalf("%d trees exported, have %d", len(lm.trees), f.NumTrees())
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range m.Rows {
				row := append([]float64(nil), m.Row(i)...)
				if i%4 == 0 {
					j := rng.IntN(m.Cols)
					row[j] = []float64{math.NaN(), -3, 1e9}[rng.IntN(3)]
				}
				got, want := lm.predict(row), f.Predict(row)
				if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Fatalf("row %d: exported model %v, ours %v", i, got, want)
				}
			}
			var again bytes.Buffer
			f.WriteLightGBM(&again)
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("export is not deterministic")
			}
		})
	}
}
