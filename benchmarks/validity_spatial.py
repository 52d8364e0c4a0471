"""Validity of the spatial association screen: type-I error, FWER and power by null model.

Issue 20 acceptance: with independent smooth fields (no true association) the naive
spot-level test's type-I error is shown (far above 0.05), each spatial null's FWER is within
its binomial interval across length scales, and power on data_sim with planted
co-localisation is reported.

Design (``data_sim.make_spatial_study``, continuous expression ``counts=False``; spot
spacing 100 px):

* length scales 150 / 300 / 600 px (1.5 / 3 / 6 spot spacings; the sections are discs of
  about 12 spots across), one scale for every field (image and genes);
* null studies (``null=True``: the image loads on a ``decoy`` field, independent of every
  gene while both are smooth): 4 disc sections of a 14 x 14 hexagonal lattice (~110 spots
  each) and 12 genes (8 smooth on three independent fields, 4 noise); for ``torus``, 4
  full 12 x 12 lattices (every position a spot);
* per replicate and method: FWER event = any of the 12 genes significant (resampling nulls:
  max-T ``p_fwer <= 0.05``; analytic tests: Bonferroni ``p <= 0.05 / 12``); per-test
  type-I rate over one gene per independent smooth field (``shared``, ``gene_1``,
  ``gene_2``: 3 tests per replicate, per-gene ``p_spatial`` / ``p`` <= 0.05), with exact
  Clopper-Pearson 95% intervals;
* power studies (``null=False``, default ``effect=0.5``, 4 of the 12 genes co-localised):
  mean fraction of co-localised genes found at FWER 0.05 and the mean number of false
  positives among the 8 other genes per replicate.

Methods: naive t-test (``p_naive``, spots independent), free permutation within sections
(``permutation``), Moran spectral randomisation (``msr``, 6-NN weights, all non-zero
eigenvectors, singleton procedure), spin rotations (``spin``, disc sections), toroidal
shifts (``torus``, full lattices), variogram-matched surrogates (``variogram``, brainsmash
defaults; fewer replicates: slow), Dutilleul's modified t-test (``p_dutilleul``) and
section-level pseudo-bulk (t-test on 4 section means; Bonferroni).

Run: ``nice -n 5 python benchmarks/validity_spatial.py [--quick] [--reps=N] [--B=199]``;
writes the markdown tables to ``benchmarks/validity_spatial.txt``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from data_sim import make_spatial_study  # noqa: E402
from radiogenomics.spatial import SpotData  # noqa: E402
from radiogenomics.spatial.association import (  # noqa: E402
    pseudobulk_association, spatial_association)

ALPHA = 0.05
SCALES = {"short (1.5 spacings)": 150.0, "medium (3 spacings)": 300.0,
          "long (6 spacings)": 600.0}
N_GENES, N_COLOC = 12, 4
RESAMPLING = ("permutation", "msr", "spin", "variogram", "torus")
ANALYTIC = ("t-test (naive)", "Dutilleul", "pseudo-bulk")
ORDER = ("t-test (naive)",) + RESAMPLING + ("Dutilleul", "pseudo-bulk")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval (Clopper & Pearson 1934) via beta quantiles."""
    a = 1.0 - level
    lo = 0.0 if k == 0 else stats.beta.ppf(a / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - a / 2, k + 1, n - k)
    return float(lo), float(hi)


def _study(length, null, seed, full=False):
    tissue = dict(tissue="full", n_rows=12, n_cols=12) if full else dict(tissue="disc",
                                                                         n_rows=14, n_cols=14)
    st = make_spatial_study(4, N_GENES, n_colocalised=N_COLOC, length_scales=(length,) * 3,
                            counts=False, he_image=False, null=null, rng=seed, **tissue)
    spots = SpotData.from_anndata(st.adata)
    v = pd.concat([st.image_at_spots(s) for s in st.sections]).reindex(spots.spot_ids)
    return st, spots, v


def _gene_p(st, spots, v, B, rep, methods):
    """Per method: (per-gene p, family-wise p or None for analytic tests) indexed by gene."""
    out = {}
    for null in [m for m in methods if m in RESAMPLING]:
        opts = {"max_outside": 1.0} if null == "spin" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = spatial_association(spots, v, null=null, n_resamples=B, rng=rep,
                                      null_options=opts, modified_ttest=(null == "permutation"))
        t = res.table.set_index("gene")
        out[null] = (t["p_spatial"], t["p_fwer"])
        if null == "permutation":
            out["t-test (naive)"] = (t["p_naive"], None)
            out["Dutilleul"] = (t["p_dutilleul"], None)
    if "pseudo-bulk" in methods:
        pb = pseudobulk_association(spots, v, rng=rep).table.set_index("gene")
        out["pseudo-bulk"] = (pb["p"], None)
    return out


def _replicate(length, null, seed, rep, B, reps_vario):
    """One replicate: the disc-section study with every method but torus (variogram only in
    the first ``reps_vario`` replicates), and a full-lattice study for torus."""
    st, spots, v = _study(length, null, seed + rep)
    methods = [m for m in ORDER if m != "torus" and (m != "variogram" or rep < reps_vario)]
    res = _gene_p(st, spots, v, B, rep, methods)
    st_f, spots_f, v_f = _study(length, null, seed + 50_000 + rep, full=True)
    res.update(_gene_p(st_f, spots_f, v_f, B, rep, ["torus"]))
    return st, st_f, res


def _decisions(p_gene, p_fam, m):
    """Per-gene (level 0.05) and family-wise (max-T or Bonferroni) rejections."""
    fam = p_fam <= ALPHA if p_fam is not None else p_gene <= ALPHA / m
    return p_gene <= ALPHA, fam


def null_study(reps, B, B_vario, reps_vario, seed=20_000):
    rows = []
    for label, L in SCALES.items():
        rec = {m: {"fwer": 0, "reps": 0, "k": 0, "n": 0} for m in ORDER}
        t0 = time.time()
        for rep in range(reps):
            st, _, res = _replicate(L, True, seed, rep, B, reps_vario)
            g = st.truth.genes
            pick = [g.index[g["field"] == f][0] for f in ("shared", "gene_1", "gene_2")]
            for m, (pg, pf) in res.items():
                per, fam = _decisions(pg, pf, len(pg))
                r = rec[m]
                r["fwer"] += int(fam.any())
                r["reps"] += 1
                r["k"] += int(per[pick].sum())
                r["n"] += len(pick)
        print(f"  null, {label}: {reps} replicates in {time.time() - t0:.0f} s", flush=True)
        for m in ORDER:
            r = rec[m]
            lo, hi = clopper_pearson(r["fwer"], r["reps"])
            lo2, hi2 = clopper_pearson(r["k"], r["n"])
            rows.append({"length scale": label, "method": m, "reps": r["reps"],
                         "FWER": r["fwer"] / r["reps"], "FWER 95% CI": f"[{lo:.3f}, {hi:.3f}]",
                         "0.05 in CI": "yes" if lo <= ALPHA <= hi else "**no**",
                         "per-test type I": r["k"] / r["n"], "tests": r["n"],
                         "per-test 95% CI": f"[{lo2:.3f}, {hi2:.3f}]",
                         "0.05 in CI ": "yes" if lo2 <= ALPHA <= hi2 else "**no**"})
    return pd.DataFrame(rows)


def power_study(reps, B, B_vario, reps_vario, seed=90_000):
    rows = []
    for label, L in SCALES.items():
        rec = {m: {"power": [], "fp": [], "anyfp": []} for m in ORDER}
        for rep in range(reps):
            st, st_f, res = _replicate(L, False, seed, rep, B, reps_vario)
            for m, (pg, pf) in res.items():
                truth = (st_f if m == "torus" else st).truth.genes["colocalised"]
                _, fam = _decisions(pg, pf, len(pg))
                fam = fam.reindex(truth.index).fillna(False).astype(bool)
                rec[m]["power"].append(fam[truth].mean())
                rec[m]["fp"].append(int(fam[~truth].sum()))
                rec[m]["anyfp"].append(bool(fam[~truth].any()))
        for m in ORDER:
            r = rec[m]
            rows.append({"length scale": label, "method": m, "reps": len(r["power"]),
                         "power (co-localised found, FWER 0.05)": np.mean(r["power"]),
                         "false positives / replicate": np.mean(r["fp"]),
                         "replicates with any false positive": np.mean(r["anyfp"])})
    return pd.DataFrame(rows)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    fmt = [[f"{x:.3f}" if isinstance(x, float) else str(x) for x in row]
           for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(c.strip() for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in fmt])


MSR_VARIANTS = {"singleton, 6-NN (default)": {}, "pair, 6-NN": {"procedure": "pair"},
                "singleton, 12-NN": {"k": 12}, "singleton, all eigenvectors": {"spectrum": "all"}}


def msr_variants(reps, B, length=300.0, seed=20_000):
    """FWER and per-test type I of MSR variants on the null studies of one length scale
    (the same studies and seeds as :func:`null_study`)."""
    rec = {k: [0, 0] for k in MSR_VARIANTS}
    for rep in range(reps):
        st, spots, v = _study(length, True, seed + rep)
        g = st.truth.genes
        pick = [g.index[g["field"] == f][0] for f in ("shared", "gene_1", "gene_2")]
        for name, opts in MSR_VARIANTS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = spatial_association(spots, v, null="msr", n_resamples=B, rng=rep,
                                        null_options=opts, modified_ttest=False
                                        ).table.set_index("gene")
            rec[name][0] += int((t["p_fwer"] <= ALPHA).any())
            rec[name][1] += int((t.loc[pick, "p_spatial"] <= ALPHA).sum())
    rows = []
    for name, (k, kt) in rec.items():
        lo, hi = clopper_pearson(k, reps)
        rows.append({"MSR variant": name, "reps": reps, "FWER": k / reps,
                     "FWER 95% CI": f"[{lo:.3f}, {hi:.3f}]", "per-test type I": kt / (3 * reps)})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few replicates (smoke run)")
    ap.add_argument("--reps", type=int, default=200, help="null replicates per length scale")
    ap.add_argument("--power-reps", type=int, default=None, help="power replicates (reps / 4)")
    ap.add_argument("--vario-reps", type=int, default=None, help="variogram replicates")
    ap.add_argument("--B", type=int, default=199, help="surrogates per test")
    ap.add_argument("--msr-variants", action="store_true",
                    help="only compare MSR variants at the medium length scale")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "validity_spatial.txt"))
    a = ap.parse_args(argv)
    reps = 6 if a.quick else a.reps
    p_reps = a.power_reps or max(2, reps // 4)
    v_reps = a.vario_reps or max(2, reps // 2)
    t0 = time.time()
    if a.msr_variants:
        table = msr_variants(reps, a.B)
        print(f"MSR variants, medium length scale (3 spacings), B = {a.B}:\n\n" + _md(table))
        return table
    null = null_study(reps, a.B, a.B, v_reps)
    power = power_study(p_reps, a.B, a.B, max(1, min(v_reps, p_reps)))
    head = (f"Spatial association validity (benchmarks/validity_spatial.py): B = {a.B} "
            f"surrogates; {reps} null replicates per length scale (variogram {v_reps}), "
            f"{p_reps} power replicates; 4 sections x ~110 spots (torus: 4 full 12 x 12 "
            f"lattices, 144 spots), 12 genes ({N_COLOC} co-localised in power studies); "
            f"run time {time.time() - t0:.0f} s on one core.\n"
            "FWER: any of 12 genes rejected (max-T p_fwer <= 0.05; analytic tests: Bonferroni "
            "p <= 0.05/12).  Per-test type I: one gene per independent smooth field, p <= 0.05."
            "  Intervals: exact Clopper-Pearson 95%.")
    text = "\n\n".join([head, "### Null studies (image independent of every gene)", _md(null),
                        "### Power (planted co-localisation, effect 0.5)", _md(power)])
    print(text)
    with open(a.out, "w") as fh:
        fh.write(text + "\n")
    return null, power


if __name__ == "__main__":
    main()
