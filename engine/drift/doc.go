// Package drift compares the requests a model serves with the data it was
// trained on, live (a bounded Window against the Reference stored in the
// model file) and offline (CompareFrames on two data sets, the original
// check_drift.py).
//
// Statistics and their parity targets (testdata/drift holds vectors made
// with scipy 1.10 / numpy 1.24):
//   - PSI: the original's formula exactly: 10 buckets on the reference's
//     linear percentiles 0..100 (numpy's arithmetic), outer edges widened by
//     1e-9, current values outside the reference range not counted, shares
//     over the in-range count, zero shares → 1e-6, Σ (c − r)·ln(c/r).
//     Categorical PSI uses the reference's categories plus one "unseen"
//     bucket for every category the reference never saw.
//   - KS: scipy.stats.ks_2samp two-sided, statistic and p-value, method
//     "auto" (exact lattice-path count up to 10,000 values a side, else the
//     Kolmogorov distribution with n = round(n1·n2/(n1+n2))). The live
//     report always uses the asymptotic p-value with the reference's full
//     count against its stratified sample of ≤ 2000 values.
//   - Wasserstein-1 (scipy.stats.wasserstein_distance) divided by the
//     reference's population std (floored at 0.001), Evidently's score.
//   - Jensen–Shannon distance with base-2 logarithms, in [0, 1]
//     (scipy.spatial.distance.jensenshannon(p, q, base=2)); no zero fill.
//
// Verdicts: a numeric feature with a reference of more than 1000 values
// drifts when the normed Wasserstein distance is ≥ 0.1 (Evidently's default
// test) and the KS p-value is below 0.05; with a smaller reference the KS
// p-value ≤ 0.05 alone decides. A categorical feature drifts when its JS
// distance is ≥ 0.1 and a chi-squared test against the reference shares
// gives p < 0.05. The significance condition is ours: a window of a few
// hundred requests puts sampling noise of that size into a distance (the JS
// distance of 200 draws of an unchanged 19-brand mix is about 0.12), and
// the report must not cry wolf. The dataset drifts when the share of
// drifted features is ≥ 0.5 (Evidently); the retrain recommendation is the
// original's, over numeric features, in its order (max PSI ≥ 0.25, else ≥ 3
// features with PSI ≥ 0.1, else min KS p < 0.01). Below the minimum window
// (200 requests) the status is "collecting" and nothing is judged.
package drift
