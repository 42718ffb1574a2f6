package gbdt

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteLightGBM writes the forest as a LightGBM v3 text model, so LightGBM
// or a reader of its format (such as the pure-Go leaves library) can score
// it and cross-check our inference. BaseScore is folded into the first
// tree's leaves (gbdt) or into every tree's leaves (random_forest, written
// with average_output), as LightGBM does. Every split is written with
// missing type NaN, which matches our semantics: NaN follows the default
// direction on numeric splits and goes right on categorical ones.
// Non-integral categorical codes are truncated by both.
func (f *Forest) WriteLightGBM(w io.Writer) error {
	if err := f.Check(); err != nil {
		return fmt.Errorf("write lightgbm: %w", err)
	}
	rf := f.Mode == ModeRandomForest
	trees := make([]string, f.NumTrees())
	for t := range trees {
		add := 0.0
		if rf || t == 0 {
			add = f.BaseScore
		}
		trees[t] = fmt.Sprintf("Tree=%d\n", t) + f.lgbmTree(t, add) + "\n"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n")
	fmt.Fprintf(bw, "max_feature_idx=%d\nobjective=regression\n", len(f.Features)-1)
	if rf {
		fmt.Fprintf(bw, "average_output\n")
	}
	names := make([]string, len(f.Features))
	infos := make([]string, len(f.Features))
	for j, fi := range f.Features {
		names[j] = lgbmName(fi.Name, j)
		infos[j] = lgbmInfo(fi)
	}
	fmt.Fprintf(bw, "feature_names=%s\nfeature_infos=%s\n", strings.Join(names, " "), strings.Join(infos, " "))
	sizes := make([]string, len(trees))
	for t, s := range trees {
		sizes[t] = strconv.Itoa(len(s))
	}
	fmt.Fprintf(bw, "tree_sizes=%s\n\n", strings.Join(sizes, " "))
	for _, s := range trees {
		bw.WriteString(s)
	}
	fmt.Fprintf(bw, "end of trees\n\nfeature_importances:\n")
	imp := f.FeatureImportance()
	for j := range imp {
		// LightGBM lists split counts; we list total gain, sorted as given
		if imp[j] > 0 {
			fmt.Fprintf(bw, "%s=%s\n", names[j], fmtF(imp[j]))
		}
	}
	boosting := "gbdt"
	if rf {
		boosting = "rf"
	}
	p := f.Params
	fmt.Fprintf(bw, "\nparameters:\n[boosting: %s]\n[objective: regression]\n[num_iterations: %d]\n", boosting, p.Trees)
	fmt.Fprintf(bw, "[learning_rate: %s]\n[num_leaves: %d]\n[max_depth: %d]\n[min_data_in_leaf: %d]\n",
		fmtF(p.LearningRate), p.NumLeaves, p.MaxDepth, p.MinDataInLeaf)
	fmt.Fprintf(bw, "[min_sum_hessian_in_leaf: %s]\n[lambda_l2: %s]\n[max_bin: %d]\n[max_cat_to_onehot: %d]\n",
		fmtF(p.MinSumHessian), fmtF(p.LambdaL2), p.MaxBin, p.MaxCatToOnehot)
	fmt.Fprintf(bw, "[max_cat_threshold: %d]\n[cat_smooth: %s]\n[cat_l2: %s]\n[min_data_per_group: %d]\n",
		p.MaxCatThreshold, fmtF(p.CatSmooth), fmtF(p.CatL2), p.MinDataPerGroup)
	fmt.Fprintf(bw, "[bagging_fraction: %s]\n[feature_fraction: %s]\n[seed: %d]\nend of parameters\n\npandas_categorical:null\n",
		fmtF(p.BaggingFraction), fmtF(p.FeatureFraction), p.Seed)
	return bw.Flush()
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// lgbmName makes a feature name safe for LightGBM's space-separated list.
func lgbmName(name string, j int) string {
	if name == "" {
		return fmt.Sprintf("Column_%d", j)
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ':' || r == '=' || r == ',' || r == '"' {
			return '_'
		}
		return r
	}, name)
}

func lgbmInfo(fi FeatureInfo) string {
	if fi.Kind == Categorical {
		if len(fi.BinCats) == 0 {
			return "none"
		}
		s := make([]string, len(fi.BinCats))
		for i, c := range fi.BinCats {
			s[i] = strconv.Itoa(int(c))
		}
		return strings.Join(s, ":")
	}
	if math.IsNaN(fi.Min) || fi.Min == fi.Max {
		return "none"
	}
	return "[" + fmtF(fi.Min) + ":" + fmtF(fi.Max) + "]"
}

func (f *Forest) lgbmTree(t int, add float64) string {
	n0, n1 := int(f.TreeNodes[t]), int(f.TreeNodes[t+1])
	l0, l1 := int(f.TreeLeaves[t]), int(f.TreeLeaves[t+1])
	var b strings.Builder
	var catBounds []string
	var catWords []string
	cats := 0
	catBounds = append(catBounds, "0")
	join := func(key string, n int, fn func(i int) string) {
		b.WriteString(key)
		b.WriteByte('=')
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(fn(i))
		}
		b.WriteByte('\n')
	}
	thr := make([]string, n1-n0)
	for i := n0; i < n1; i++ {
		if f.DecisionType[i]&DecisionCategorical != 0 {
			k := int(f.Threshold[i])
			words := f.CatThreshold[f.CatBoundaries[k]:f.CatBoundaries[k+1]]
			for _, w := range words {
				catWords = append(catWords, strconv.FormatUint(uint64(w), 10))
			}
			thr[i-n0] = strconv.Itoa(cats)
			cats++
			catBounds = append(catBounds, strconv.Itoa(len(catWords)))
		} else {
			thr[i-n0] = fmtF(f.Threshold[i])
			if math.IsInf(f.Threshold[i], -1) {
				thr[i-n0] = "-1.0000000000000001e+300" // NaN-only-left split; LightGBM parses no "-inf"
			}
		}
	}
	fmt.Fprintf(&b, "num_leaves=%d\nnum_cat=%d\n", l1-l0, cats)
	join("split_feature", n1-n0, func(i int) string { return strconv.Itoa(int(f.SplitFeature[n0+i])) })
	join("split_gain", n1-n0, func(i int) string { return fmtF(f.SplitGain[n0+i]) })
	join("threshold", n1-n0, func(i int) string { return thr[i] })
	join("decision_type", n1-n0, func(i int) string {
		// bits: 0 categorical, 1 default left, 2-3 missing type (2 = NaN)
		return strconv.Itoa(int(f.DecisionType[n0+i]) | 2<<2)
	})
	join("left_child", n1-n0, func(i int) string { return strconv.Itoa(int(f.LeftChild[n0+i])) })
	join("right_child", n1-n0, func(i int) string { return strconv.Itoa(int(f.RightChild[n0+i])) })
	join("leaf_value", l1-l0, func(i int) string { return fmtF(f.LeafValue[l0+i] + add) })
	join("leaf_weight", l1-l0, func(i int) string { return strconv.Itoa(int(f.LeafCount[l0+i])) })
	join("leaf_count", l1-l0, func(i int) string { return strconv.Itoa(int(f.LeafCount[l0+i])) })
	join("internal_value", n1-n0, func(i int) string { return fmtF(f.NodeValue[n0+i] + add) })
	join("internal_weight", n1-n0, func(i int) string { return strconv.Itoa(int(f.NodeCount[n0+i])) })
	join("internal_count", n1-n0, func(i int) string { return strconv.Itoa(int(f.NodeCount[n0+i])) })
	if cats > 0 {
		fmt.Fprintf(&b, "cat_boundaries=%s\ncat_threshold=%s\n", strings.Join(catBounds, " "), strings.Join(catWords, " "))
	}
	shrink := f.Params.LearningRate
	if f.Mode == ModeRandomForest || t == 0 {
		shrink = 1
	}
	fmt.Fprintf(&b, "is_linear=0\nshrinkage=%s\n\n", fmtF(shrink))
	return b.String()
}
