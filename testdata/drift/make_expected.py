#!/usr/bin/python3
"""Expected values for engine/drift's tests, computed independently.

How these files were made:
    apt-get install -y python3-scipy python3-numpy   # Debian: scipy 1.10.1, numpy 1.24.2
    /usr/bin/python3 testdata/drift/make_expected.py  # from the repository root

Inputs are generated here from a fixed seed (numpy default_rng(20250301)),
rounded to a few decimals so the JSON stays small, and stored next to the
expected values; the Go tests read both and never regenerate anything.

  ks.json           scipy.stats.ks_2samp (two-sided) statistic and p-value for
                    method auto / exact / asymp; big samples are stored as
                    value+count pairs (tie-heavy, like model years).
  kstwo.json        scipy.stats.kstwo.sf(d, n) on a grid covering every branch
                    of Simard & L'Ecuyer's algorithm.
  psi.json          the original check_drift.py PSI, re-implemented below in
                    numpy from its specification (original-system.md §19),
                    with its bucket edges and reference shares.
  wasserstein.json  scipy.stats.wasserstein_distance.
  categorical.json  scipy.spatial.distance.jensenshannon(base=2), the
                    categorical PSI (reference categories + one unseen bucket,
                    zero shares -> 1e-6) and scipy.stats.chisquare p-values.
  chi2.json         scipy.stats.chi2.sf.
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20250301)


def r(xs, d=3):
    return [round(float(x), d) for x in xs]


def num(x):
    """JSON-safe float: NaN becomes null."""
    x = float(x)
    return None if math.isnan(x) else x


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def expand(vc):
    return np.repeat(np.asarray(vc["values"], float), np.asarray(vc["counts"], int))


# ---------------------------------------------------------------- KS
def ks_case(name, a, b, a_vc=None, b_vc=None):
    A = expand(a_vc) if a_vc else np.asarray(a, float)
    B = expand(b_vc) if b_vc else np.asarray(b, float)
    out = {"name": name}
    if a_vc:
        out["a_vc"] = a_vc
    else:
        out["a"] = a
    if b_vc:
        out["b_vc"] = b_vc
    else:
        out["b"] = b
    res = stats.ks_2samp(A, B, method="auto")
    out["stat"] = float(res.statistic)
    out["p_auto"] = float(res.pvalue)
    out["p_asymp"] = float(stats.ks_2samp(A, B, method="asymp").pvalue)
    if max(len(A), len(B)) <= 10000:
        out["p_exact"] = float(stats.ks_2samp(A, B, method="exact").pvalue)
    return out


def years(n, lo, hi, shift=0.0):
    ys = np.clip(np.round(rng.normal((lo + hi) / 2 + shift, (hi - lo) / 5, n)), lo, hi)
    v, c = np.unique(ys, return_counts=True)
    return {"values": [int(x) for x in v], "counts": [int(x) for x in c]}


ks = [
    ks_case("normal 50 vs 50 shifted", r(rng.normal(0, 1, 50)), r(rng.normal(0.3, 1, 50))),
    ks_case("same distribution 80 vs 120", r(rng.normal(0, 1, 80)), r(rng.normal(0, 1, 120))),
    ks_case("shifted 200 vs 150", r(rng.normal(0, 1, 200)), r(rng.normal(0.6, 1.2, 150))),
    ks_case("integer ties 300 vs 250", [int(x) for x in np.round(rng.normal(2011, 5, 300))],
            [int(x) for x in np.round(rng.normal(2012, 5, 250))]),
    ks_case("identical", r(np.arange(40) * 0.5), r(np.arange(40) * 0.5)),
    ks_case("disjoint", r(rng.uniform(0, 1, 30)), r(rng.uniform(2, 3, 40))),
    ks_case("one value vs ten", [0.5], r(rng.uniform(0, 1, 10))),
    ks_case("coprime sizes 97 vs 101", r(rng.exponential(1, 97)), r(rng.exponential(1.3, 101))),
    ks_case("years 12000 vs 400 asymptotic", None, None,
            a_vc=years(12000, 1990, 2019), b_vc=years(400, 1990, 2019, shift=1.0)),
    ks_case("years 15000 vs 60 asymptotic small n", None, None,
            a_vc=years(15000, 1990, 2019), b_vc=years(60, 1990, 2019, shift=2.0)),
    ks_case("years 20000 vs 3000 unchanged", None, None,
            a_vc=years(20000, 1990, 2019), b_vc=years(3000, 1990, 2019)),
]
dump("ks.json", {"scipy": scipy.__version__, "cases": ks})

# ---------------------------------------------------------------- kstwo
grid = []
for n in [1, 2, 5, 10, 30, 60, 100, 140, 141, 387, 1000, 10000, 23077, 150000]:
    ds = {0.5 / n, 0.75 / n, 0.99 / n, 1.5 / n, 0.6, 0.97, 1 - 1.5 / n}
    for c in [0.2, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 200.0]:
        ds.add(math.sqrt(c / n))
    for d in sorted(ds):
        if 0 < d < 1:
            grid.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})
dump("kstwo.json", {"scipy": scipy.__version__, "cases": grid})


# ---------------------------------------------------------------- PSI (original)
def psi_original(ref, cur, buckets=10):
    """check_drift.py's PSI as specified: reference deciles, edges widened by
    1e-9, np.histogram counts ([a, b), last closed; outside not counted),
    shares over the in-range total, zero shares -> 1e-6."""
    ref = np.asarray(ref, float)
    cur = np.asarray(cur, float)
    ref = ref[~np.isnan(ref)]
    cur = cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return float("nan"), None, None
    edges = np.percentile(ref, np.linspace(0, 100, buckets + 1))
    edges[0] -= 1e-9
    edges[-1] += 1e-9
    rc, _ = np.histogram(ref, bins=edges)
    cc, _ = np.histogram(cur, bins=edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        rp = rc / rc.sum()
        cp = cc / cc.sum()
    rp_f = np.where(rp == 0, 1e-6, rp)
    cp_f = np.where(cp == 0, 1e-6, cp)
    psi = float(np.sum((cp_f - rp_f) * np.log(cp_f / rp_f)))
    return psi, edges, rp


def psi_case(name, ref, cur):
    psi, edges, rp = psi_original(ref, cur)
    return {"name": name, "ref": [num(x) for x in ref], "cur": [num(x) for x in cur], "psi": num(psi),
            "edges": None if edges is None else [float(e) for e in edges],
            "ref_shares": None if rp is None else [float(s) for s in rp]}


nan = float("nan")
cur_nan = r(rng.normal(1, 1, 150)) + [nan, nan, 99.0, -99.0]
psi = [
    psi_case("normal shift", r(rng.normal(0, 1, 250), 2), r(rng.normal(0.5, 1.2, 180), 2)),
    psi_case("unchanged", r(rng.normal(10, 2, 250), 2), r(rng.normal(10, 2, 180), 2)),
    psi_case("model years with ties", [int(x) for x in np.round(rng.normal(2011, 4, 300))],
             [int(x) for x in np.round(rng.normal(2013, 4, 200))]),
    psi_case("NaN and out of range dropped", r(rng.normal(1, 1, 200)) + [nan], cur_nan),
    psi_case("all current out of range", r(rng.uniform(0, 1, 50)), [5.0, 6.0, 7.0]),
    psi_case("constant reference", [3.0] * 40, [3.0] * 10 + [2.0] * 5),
    psi_case("tiny reference", [1.0, 2.0, 4.0], [1.5, 2.5, 3.9, 4.0]),
    psi_case("skewed odometer-like", r(rng.lognormal(11, 0.6, 250), 0), r(rng.lognormal(11.3, 0.5, 180), 0)),
]
dump("psi.json", {"numpy": np.__version__, "cases": psi})

# ---------------------------------------------------------------- Wasserstein
def w_case(name, u, v):
    U, V = np.asarray(u, float), np.asarray(v, float)
    return {"name": name, "u": u, "v": v, "w": float(stats.wasserstein_distance(U, V)),
            "std_u": float(np.std(U))}


wass = [
    w_case("normal shift", r(rng.normal(0, 1, 120)), r(rng.normal(0.4, 1, 90))),
    w_case("ties", [int(x) for x in np.round(rng.normal(5, 2, 100))], [int(x) for x in np.round(rng.normal(6, 2, 80))]),
    w_case("single values", [1.0], [4.0]),
    w_case("identical", [1.0, 2.0, 3.0], [3.0, 1.0, 2.0]),
    w_case("heavy tail", r(rng.pareto(2.5, 150) * 1000, 1), r(rng.pareto(2.0, 100) * 1000, 1)),
]
dump("wasserstein.json", {"scipy": scipy.__version__, "cases": wass})


# ---------------------------------------------------------------- categorical
def cat_case(name, ref_counts, cur_counts):
    cats = list(ref_counts)
    ref = np.array([ref_counts[c] for c in cats] + [0], float)
    cur = np.array([cur_counts.get(c, 0) for c in cats] + [sum(v for k, v in cur_counts.items() if k not in ref_counts)], float)
    rs, cs = ref / ref.sum(), cur / cur.sum()
    js = float(jensenshannon(rs, cs, base=2))
    rf, cf = np.where(rs == 0, 1e-6, rs), np.where(cs == 0, 1e-6, cs)
    psi_v = float(np.sum((cf - rf) * np.log(cf / rf)))
    exp = rs * cur.sum()
    if np.any((exp == 0) & (cur > 0)):
        chi_p = 0.0
    else:
        keep = exp > 0
        chi_p = float(stats.chisquare(cur[keep], exp[keep]).pvalue) if keep.sum() >= 2 else 1.0
    return {"name": name, "ref": ref_counts, "cur": cur_counts, "js": js, "psi": psi_v, "chi_p": chi_p}


brands = ["ford", "chevrolet", "toyota", "honda", "ram", "nissan", "jeep", "gmc", "subaru", "dodge",
          "hyundai", "volkswagen", "chrysler", "kia", "buick", "cadillac", "bmw", "acura", "mercedes-benz"]
shares = 1 / np.arange(1, len(brands) + 1)
shares /= shares.sum()
ref_brand = {b: int(c) for b, c in zip(brands, rng.multinomial(30000, shares))}
cur_same = {b: int(c) for b, c in zip(brands, rng.multinomial(5000, shares)) if c > 0}
shifted = shares[::-1].copy()
cur_shift = {b: int(c) for b, c in zip(brands, rng.multinomial(2000, shifted)) if c > 0}
cats = [
    cat_case("brand mix unchanged", ref_brand, cur_same),
    cat_case("brand mix reversed", ref_brand, cur_shift),
    cat_case("unseen categories", {"gas": 900, "diesel": 80, "hybrid": 20}, {"gas": 150, "diesel": 20, "electric": 30}),
    cat_case("missing reference category", {"good": 500, "excellent": 400, "fair": 100}, {"good": 60, "excellent": 40}),
    cat_case("identical", {"a": 3, "b": 1}, {"a": 6, "b": 2}),
]
dump("categorical.json", {"scipy": scipy.__version__, "cases": cats})

# ---------------------------------------------------------------- chi2
chi = []
for df in [1, 2, 3, 9, 18, 50, 200]:
    for x in [0.01, 0.5, 1, df * 0.5, df, df + 3 * math.sqrt(2 * df), df * 3, 300]:
        chi.append({"x": x, "df": df, "sf": float(stats.chi2.sf(x, df))})
dump("chi2.json", {"scipy": scipy.__version__, "cases": chi})

# Not stored: the sampling noise the package doc quotes (mean JS distance of
# 200 draws from the unchanged brand mix against that mix).
noise = [jensenshannon(shares, rng.multinomial(200, shares) / 200, base=2) for _ in range(2000)]
print("JS noise, 200 draws of 19 brands: mean %.3f, 95th pct %.3f" % (np.mean(noise), np.percentile(noise, 95)))
