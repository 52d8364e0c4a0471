"""LD clumping and proxies (:mod:`radiogenomics.mr.clump`) against PLINK 1.9 ``--clump``.

References (tests/data/mr/clump/, see its README.md): a simulated panel of 5,100 SNPs x 480
founders (3 chromosomes, latent-haplotype LD blocks, ~1% missing genotypes, monomorphic SNPs,
shared positions, tied and NA p-values, SNPs absent from the panel) and the ``.clumped``
outputs of Debian's PLINK v1.90b6.26 for six parameter sets (TwoSampleMR's defaults as
ieugwasr calls PLINK; r2 0.001 to 0.8; windows 50 kb to 10 Mb; ``--clump-p2`` above and below
``--clump-p1``).  Tolerance: index SNPs, their order, ``SP2`` memberships and the
``TOTAL/NSIG/S05/S01/S001/S0001`` counts must be IDENTICAL; ``P`` equal to PLINK's 3
printed significant digits.
"""

import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.mr._ld import pair_r
from radiogenomics.mr.clump import (clump_mvmr, extract_with_proxies, find_proxies, ld_clump,
                                    load_panel, plink_bp_radius)

DATA = Path(__file__).parent / "data" / "mr" / "clump"
PANEL = str(DATA / "panel")
# name: (clump_p1, clump_p2, clump_r2, clump_kb), exactly as in make_refs.sh (tsmr_default: no
# --clump-p2, so PLINK's default 0.01)
SETS = {
    "tsmr_default": (1, 0.01, 0.001, 10000),
    "gw_r2_0.1_kb250": (5e-8, 1e-5, 0.1, 250),
    "gw_p2_0.05_r2_0.5": (5e-8, 0.05, 0.5, 250),
    "p1e-4_r2_0.2_kb50": (1e-4, 1e-2, 0.2, 50),
    "p0.01_r2_0.8_kb1000": (0.01, 0.5, 0.8, 1000),
    "p1_r2_0.01_kb2000": (1, 1, 0.01, 2000),
}
COUNTS = ["CHR", "BP", "TOTAL", "NSIG", "S05", "S01", "S001", "S0001"]

sys.path.insert(0, str(DATA))
from simulate_panel import simulate  # noqa: E402


@pytest.fixture(scope="module")
def panel():
    return load_panel(PANEL)


@pytest.fixture(scope="module")
def assoc():
    return pd.read_csv(DATA / "panel.assoc", sep=" ", float_precision="round_trip")


def _clump(assoc, panel, p1, p2, r2, kb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ld_clump(assoc, panel, clump_kb=kb, clump_r2=r2, clump_p1=p1, clump_p2=p2)


def _read_clumped(path):
    ref = pd.read_csv(path, sep=r"\s+", float_precision="round_trip", dtype={"CHR": str})
    ref["SP2"] = [s if s == "NONE" else re.sub(r"\(\d+\)", "", s) for s in ref["SP2"]]
    return ref


def _assert_same(got, ref):
    assert list(got["SNP"]) == list(ref["SNP"])
    assert list(got["SP2"]) == list(ref["SP2"])
    for c in COUNTS:
        assert list(got[c].astype(str)) == list(ref[c].astype(str)), c
    np.testing.assert_allclose(got["P"], ref["P"], rtol=5e-3)


@pytest.mark.parametrize("name", list(SETS))
def test_identical_to_plink_clumped(name, panel, assoc):
    got = _clump(assoc, panel, *SETS[name]).clumped
    ref = _read_clumped(DATA / f"plink_{name}.clumped")
    assert len(ref) > 3
    _assert_same(got, ref)


def test_every_snp_kept_or_dropped_with_reason(panel, assoc):
    res = _clump(assoc, panel, 1e-4, 1e-3, 0.3, 500)
    kept, dropped = set(res.data["SNP"]), res.dropped
    assert kept == set(res.clumped["SNP"])
    assert kept.isdisjoint(dropped["SNP"]) and len(kept) + len(dropped) == len(assoc)
    why = dropped.set_index("SNP")["reason"]
    for s in ("rsNOTINPANEL1", "rsNOTINPANEL2", "rsNOTINPANEL3"):
        assert why[s].startswith("absent from the LD reference panel")
    assert (why[assoc["SNP"][assoc["P"].isna()]].str.startswith("missing p-value")).all()
    clumped = dropped[dropped["reason"].str.startswith("in LD")]
    assert (clumped["r2"] > 0.3).all() and clumped["index_snp"].isin(kept).all()
    # members with p >= clump_p2 join (absorbed) but are not listed in SP2, as in PLINK
    members = res.clumps
    assert set(members["SNP"]) == set(clumped["SNP"])
    assert (members["in_sp2"] == (members["p"] < 1e-3)).all() and (~members["in_sp2"]).any()
    rest = dropped[dropped["reason"].str.startswith("p-value above")]
    assert (rest["p"] > 1e-4).all() and len(rest) > 100


def test_index_snps_do_not_depend_on_clump_p2(panel, assoc):
    a = _clump(assoc, panel, 1e-4, 1e-4, 0.2, 250).clumped
    b = _clump(assoc, panel, 1e-4, 1.0, 0.2, 250).clumped
    assert list(a["SNP"]) == list(b["SNP"]) and list(a["TOTAL"]) == list(b["TOTAL"])
    assert (a["SP2"] != b["SP2"]).any()


def test_index_snps_pairwise_below_r2(panel, assoc):
    """Two kept SNPs within the window are never in LD above clump_r2 (PLINK's greedy rule)."""
    res = _clump(assoc, panel, 1, 1, 0.01, 2000)
    rows = panel.index.get_indexer(res.clumped["SNP"])
    radius = plink_bp_radius(2000)
    for i in rows[:200]:
        lo, hi = panel.window(i, radius)
        others = np.intersect1d(rows, np.arange(lo, hi))
        others = others[others != i].astype(np.int64)
        r = pair_r(panel, int(i), others)
        assert not (np.abs(r) > 0.01).any()


def test_window_radius_as_plink():
    """PLINK: bp_radius = (int32)(1000 kb (1 + SMALL_EPSILON) - 1): SNPs strictly closer than kb."""
    assert plink_bp_radius(250) == 249999 and plink_bp_radius(10000) == 9999999
    assert plink_bp_radius(0.001) == 0 and plink_bp_radius(1e7) == 0x7FFFFFFE


def _em_r2(c, iters=20000):
    """Textbook two-locus EM (Excoffier & Slatkin 1995) on a 3x3 genotype table ``c`` (rows:
    index A/A, A/a, a/a; columns the same for B): r^2 of the ML haplotype frequencies."""
    c = np.asarray(c, float).reshape(3, 3)
    known = np.array([2 * c[0, 0] + c[0, 1] + c[1, 0], 2 * c[0, 2] + c[0, 1] + c[1, 2],
                      2 * c[2, 0] + c[1, 0] + c[2, 1], 2 * c[2, 2] + c[1, 2] + c[2, 1]])
    h = c[1, 1]
    tot = known.sum() + 2 * h
    f = np.full(4, 0.25)
    for _ in range(iters):
        w = f[0] * f[3] / (f[0] * f[3] + f[1] * f[2])
        new = (known + h * np.array([w, 1 - w, 1 - w, w])) / tot
        if np.max(np.abs(new - f)) < 1e-15:
            break
        f = new
    p, q = f[0] + f[1], f[0] + f[2]
    return (f[0] - p * q) ** 2 / (p * (1 - p) * q * (1 - q))


def test_r2_is_plink_em_haplotype_r2_not_pearson(panel):
    """PLINK 1.9's --clump r^2 is the ML (EM) haplotype r^2; checked against an iterative EM
    (1e-6 absolute) on 300 panel pairs, and shown to differ from the squared Pearson r."""
    rng = np.random.default_rng(1)
    c = panel.codes
    worst, pearson_gap = 0.0, 0.0
    for _ in range(300):
        i = int(rng.integers(0, c.shape[0] - 30))
        j = i + int(rng.integers(1, 30))
        r = pair_r(panel, i, np.array([j], dtype=np.int64))[0]
        ok = (c[i] < 3) & (c[j] < 3)
        tab = np.zeros(9)
        np.add.at(tab, 3 * c[i][ok].astype(int) + c[j][ok], 1)
        if np.isnan(r):
            assert (tab.reshape(3, 3).sum(1) > 0).sum() == 1 or (tab.reshape(3, 3).sum(0) > 0).sum() == 1
            continue
        worst = max(worst, abs(abs(r) - _em_r2(tab)))
        g1, g2 = 2.0 - c[i][ok], 2.0 - c[j][ok]
        pearson_gap = max(pearson_gap, abs(abs(r) - np.corrcoef(g1, g2)[0, 1] ** 2))
    assert worst < 1e-6
    assert pearson_gap > 1e-3


def test_dosage_frame_and_cohort_panels_equal_bfile(panel, assoc):
    from radiogenomics.cohort import Cohort

    sub = np.arange(0, 400)
    G = pd.DataFrame(np.where(panel.codes[sub] == 3, np.nan, 2.0 - panel.codes[sub]).T,
                     columns=panel.snp[sub], index=[f"s{k}" for k in range(panel.n_samples)])
    info = pd.DataFrame({"SNP": panel.snp[sub], "chr": panel.chrom[sub], "pos": panel.pos[sub]})
    a = _clump(assoc[assoc["SNP"].isin(panel.snp[sub])], panel, 1, 1, 0.05, 500)
    b = ld_clump(assoc[assoc["SNP"].isin(panel.snp[sub])], G.iloc[:, ::-1], clump_kb=500,
                 clump_r2=0.05, snp_info=info.sort_values("chr", ascending=False, kind="stable"))
    assert list(a.clumped["SNP"]) == list(b.clumped["SNP"]) and list(a.clumped["SP2"]) == list(b.clumped["SP2"])
    full = G.fillna(0.0)
    full = full.loc[:, full.std() > 0]
    coh = Cohort({"genotypes": full})
    d = assoc[assoc["SNP"].isin(full.columns)]
    c1 = ld_clump(d, coh, clump_r2=0.05, clump_kb=500, snp_info=info)
    c2 = ld_clump(d, full, clump_r2=0.05, clump_kb=500, snp_info=info)
    assert list(c1.clumped["SP2"]) == list(c2.clumped["SP2"]) and len(c1.clumped) > 5


def test_per_exposure_groups(panel, assoc):
    d = assoc.dropna().iloc[:600]
    two = pd.concat([d.assign(**{"id.exposure": "A"}), d.assign(**{"id.exposure": "B", "P": d["P"][::-1].to_numpy()})])
    res = _clump(two, panel, 1, 1, 0.001, 10000)
    for g, dd in two.groupby("id.exposure"):
        solo = _clump(dd, panel, 1, 1, 0.001, 10000)
        assert list(res.clumped[res.clumped["id"] == g]["SNP"]) == list(solo.clumped["SNP"])


def test_errors(panel, assoc, tmp_path):
    with pytest.raises(InputError, match="none of the .* SNPs of dat is in the LD reference panel"):
        ld_clump(pd.DataFrame({"SNP": ["x1", "x2"], "pval": [0.1, 1e-9]}), panel)
    with pytest.raises(InputError, match="not found"):
        ld_clump(assoc, tmp_path / "nopanel")
    for ext in ("bed", "bim", "fam"):
        shutil.copy(f"{PANEL}.{ext}", tmp_path / f"p.{ext}")
    with open(tmp_path / "p.bed", "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(InputError, match="cannot read the PLINK fileset"):
        ld_clump(assoc, tmp_path / "p")
    with pytest.raises(InputError, match="appear more than once"):
        ld_clump(pd.concat([assoc.iloc[:3], assoc.iloc[:1]]), panel)
    with pytest.raises(InputError, match="outside \\[0, 1\\]"):
        ld_clump(assoc.iloc[:3].assign(P=[0.1, 2.0, 0.3]), panel)
    with pytest.raises(InputError, match="clump_r2"):
        ld_clump(assoc, panel, clump_r2=1.5)
    bad = pd.DataFrame({"a": [0.5, 1.0, 2.0], "b": [0, 1, 2]})
    with pytest.raises(InputError, match="hard calls"):
        load_panel(bad, pd.DataFrame({"SNP": ["a", "b"], "chr": 1, "pos": [1, 2]}))
    with pytest.raises(InputError, match="duplicated SNP"):
        load_panel(bad.round(), pd.DataFrame({"SNP": ["a", "a"], "chr": 1, "pos": [1, 2]}))


def test_allele_mismatch_reported_not_dropped(panel, assoc):
    rows = panel.index.get_indexer(assoc["SNP"].iloc[:50])
    ok = rows >= 0
    d = assoc.iloc[:50][ok].copy()
    d["effect_allele.exposure"] = panel.a1[rows[ok]]
    d["other_allele.exposure"] = panel.a2[rows[ok]]
    d.iloc[0, d.columns.get_loc("effect_allele.exposure")] = "Z"
    d.iloc[1, d.columns.get_loc("effect_allele.exposure")] = str(panel.a2[rows[ok][1]]).translate(
        str.maketrans("ACGT", "TGCA"))      # other strand of a swapped pair -> accepted
    d.iloc[1, d.columns.get_loc("other_allele.exposure")] = str(panel.a1[rows[ok][1]]).translate(
        str.maketrans("ACGT", "TGCA"))
    with pytest.warns(UserWarning, match="PLINK --clump ignores alleles"):
        res = ld_clump(d, panel, clump_r2=0.5, clump_kb=250)
    assert list(res.allele_mismatch["SNP"]) == [d["SNP"].iloc[0]]
    assert d["SNP"].iloc[0] in set(res.data["SNP"]) | set(res.dropped["SNP"])


def test_speed_5000_snps(panel, assoc):
    _clump(assoc, panel, *SETS["tsmr_default"])            # numba warm-up
    t = time.perf_counter()
    _clump(assoc, panel, *SETS["tsmr_default"])
    assert time.perf_counter() - t < 3.0


def _outcome_from_panel(panel, rng):
    """Per-SNP outcome associations computed on the panel genotypes (effect allele = a1)."""
    G = np.where(panel.codes == 3, np.nan, 2.0 - panel.codes).T
    Gi = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    causal = rng.choice(G.shape[1], 40, replace=False)
    y = Gi[:, causal] @ rng.normal(0, 1, 40) + rng.normal(0, 1, G.shape[0])
    Gc = Gi - Gi.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = Gc.T @ (y - y.mean()) / (Gc**2).sum(0)
    return pd.DataFrame({"SNP": panel.snp, "effect_allele.outcome": panel.a1, "other_allele.outcome": panel.a2,
                         "beta.outcome": beta, "se.outcome": 0.1, "eaf.outcome": np.nanmean(G, 0) / 2})


def test_proxies_alignment_by_ld_sign(panel):
    """A proxy's beta, renamed to the target's alleles via the sign of D, has the target's sign."""
    rng = np.random.default_rng(3)
    out = _outcome_from_panel(panel, rng).dropna()
    big = out[np.abs(out["beta.outcome"]) > np.quantile(np.abs(out["beta.outcome"]), 0.8)]
    prox = find_proxies(big["SNP"], panel, r2=0.8, kb=500)
    targets, taken = [], set()
    for t, grp in prox.groupby("target", sort=False):        # targets that are not each other's proxies
        if t not in taken and len(targets) < 40:
            targets.append(t)
            taken |= set(grp["proxy"]) | {t}
    targets.append("rs100000")                                 # lacks a proxy
    assert "rs100000" not in set(prox["target"])
    prox = prox[prox["target"].isin(targets)]
    assert (prox["r2"] >= 0.8).all() and (prox["r2_signed"] < 0).any()
    # flip half of the outcome rows to the other allele (and a few to the other strand)
    o = out.copy()
    flip = rng.random(len(o)) < 0.5
    o.loc[flip, ["effect_allele.outcome", "other_allele.outcome"]] = o.loc[flip, ["other_allele.outcome", "effect_allele.outcome"]].to_numpy()
    o.loc[flip, "beta.outcome"] *= -1
    pal = [{a, b} in ({"A", "T"}, {"C", "G"}) for a, b in zip(o["effect_allele.outcome"], o["other_allele.outcome"])]
    strand = (rng.random(len(o)) < 0.3) & ~np.array(pal)
    comp = str.maketrans("ACGT", "TGCA")
    for c in ("effect_allele.outcome", "other_allele.outcome"):
        o.loc[strand, c] = [a.translate(comp) for a in o.loc[strand, c]]
    missing = o[~o["SNP"].isin(targets)]
    with pytest.warns(UserWarning, match="no usable proxy"):
        res = extract_with_proxies(missing, targets, panel, min_r2=0.8, kb=500)
    got = res.data[res.data["proxy.outcome"] == True].set_index("SNP")  # noqa: E712
    assert len(got) >= 30
    truth = out.set_index("SNP").loc[got.index]
    same = got["effect_allele.outcome"].to_numpy() == truth["effect_allele.outcome"].to_numpy()
    aligned = np.where(same, got["beta.outcome"].astype(float), -got["beta.outcome"].astype(float))
    assert (np.sign(aligned) == np.sign(truth["beta.outcome"])).mean() >= 0.95
    best = prox.groupby("target").head(1).set_index("target")
    assert (got["proxy_snp.outcome"] == best.loc[got.index, "proxy"]).all()
    rep = res.report.set_index("SNP")
    assert set(rep.index) == set(targets) and set(rep["status"]) <= {"proxy", "missing"}
    assert (rep.loc[rep["status"] == "missing", "reason"] != "").all()


def test_clump_mvmr_joint(panel, assoc):
    rng = np.random.default_rng(5)
    e1 = assoc.dropna().rename(columns={"P": "pval.exposure"})
    e2 = e1.copy()
    e2["pval.exposure"] = rng.permutation(e1["pval.exposure"].to_numpy())
    res = clump_mvmr({"E1": e1, "E2": e2}, panel, pval_threshold=1e-6, clump_r2=0.01, clump_kb=1000)
    # TwoSampleMR logic by hand: per-exposure clumps, union with min p, one joint clump
    inst = []
    for f in (e1, e2):
        c = ld_clump(f[f["pval.exposure"] < 1e-6], panel, 1000, 0.01, 1e-6)
        inst.append(c.data)
    u = pd.concat(inst).sort_values("pval.exposure", kind="mergesort").drop_duplicates("SNP")
    joint = ld_clump(u, panel, 1000, 0.01, 1e-6)
    assert res.snps == list(joint.data["SNP"]) and len(res.snps) >= 3
    assert set(res.data["id.exposure"]) == {"E1", "E2"} and len(res.data) == 2 * len(res.snps)
    rows = panel.index.get_indexer(res.snps)
    for i in rows:
        r = pair_r(panel, int(i), rows[rows != i].astype(np.int64))
        near = np.abs(panel.pos[rows[rows != i]] - panel.pos[i]) < 1e6
        near &= panel.chrom[rows[rows != i]] == panel.chrom[i]
        assert not (np.abs(r[near]) > 0.01).any()
    assert res.dropped["reason"].str.contains("joint clumping").any()


@pytest.mark.skipif(shutil.which("plink1.9") is None, reason="plink1.9 (Debian package plink1.9) not installed")
def test_live_plink_on_fresh_panel(tmp_path):
    """A newly simulated panel (other seed, 300 founders, 2 x 900 SNPs) clumped by plink1.9 and by
    ld_clump, for two parameter sets, plus the joint MVMR step: identical."""
    prefix = str(tmp_path / "fresh")
    simulate(prefix, 777, 300, 900, 2)
    assoc = pd.read_csv(prefix + ".assoc", sep=" ", float_precision="round_trip")
    pan = load_panel(prefix)
    for k, (p1, p2, r2, kb) in enumerate([(1, 1, 0.001, 10000), (1e-3, 0.05, 0.3, 100)]):
        out = str(tmp_path / f"o{k}")
        subprocess.run(["plink1.9", "--bfile", prefix, "--clump", prefix + ".assoc", "--clump-p1", str(p1),
                        "--clump-p2", str(p2), "--clump-r2", str(r2), "--clump-kb", str(kb), "--out", out],
                       check=True, capture_output=True)
        _assert_same(_clump(assoc, pan, p1, p2, r2, kb).clumped, _read_clumped(out + ".clumped"))


def _brute_r2(tab):
    """Independent ML haplotype r^2 of a 3x3 genotype table (rows: SNP A codes 0/1/2, columns
    SNP B): L(f11) maximised over the whole feasible range of f11 by a 4001-point grid, refined
    by bisection on the sign of the direct derivative dL/df11 (no cubic).  Returns (r2, gap):
    gap = relative log-likelihood margin of the best grid peak over the next separate peak
    (small gap = two tied maxima, whose r^2 differ only in sign)."""
    c = np.asarray(tab, float).reshape(3, 3)
    k11, k12 = 2 * c[0, 0] + c[0, 1] + c[1, 0], 2 * c[0, 2] + c[0, 1] + c[1, 2]
    k21, k22 = 2 * c[2, 0] + c[1, 0] + c[2, 1], 2 * c[2, 2] + c[1, 2] + c[2, 1]
    h = c[1, 1]
    n = k11 + k12 + k21 + k22 + 2 * h
    if n == 0:
        return np.nan, np.inf
    p, q = (k11 + k12 + h) / n, (k11 + k21 + h) / n
    if p in (0, 1) or q in (0, 1):
        return np.nan, np.inf
    if h == 0:
        d = k11 / n - p * q
        return d * abs(d) / (p * (1 - p) * q * (1 - q)), np.inf
    lo, hi = max(0.0, p + q - 1), min(p, q)          # f11 keeps every f_ij >= 0

    def freqs(f):
        return f, p - f, q - f, 1 - p - q + f

    def loglik(f):
        f11, f12, f21, f22 = freqs(f)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = h * np.log(f11 * f22 + f12 * f21)
            for k, g in ((k11, f11), (k12, f12), (k21, f21), (k22, f22)):
                s = s + (k * np.log(g) if k > 0 else 0.0)
        return np.where(np.isnan(s), -np.inf, s)

    def dloglik(f):
        f11, f12, f21, f22 = freqs(f)
        s = h * (f22 + f11 - f12 - f21) / (f11 * f22 + f12 * f21)
        for k, g, sign in ((k11, f11, 1), (k12, f12, -1), (k21, f21, -1), (k22, f22, 1)):
            if k > 0:
                s += sign * k / g
        return s

    grid = np.linspace(lo, hi, 4001)
    ll = loglik(grid)
    peaks = [i for i in range(len(grid)) if ll[i] > -np.inf and (i == 0 or ll[i] >= ll[i - 1])
             and (i == len(grid) - 1 or ll[i] >= ll[i + 1])]
    best = max(peaks, key=lambda i: ll[i])
    others = [ll[i] for i in peaks if abs(i - best) > 2]
    gap = (ll[best] - max(others)) / abs(ll[best]) if others else np.inf
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    if np.isfinite(ll[max(best - 1, 0)]) and np.isfinite(ll[min(best + 1, len(grid) - 1)]) \
            and a < grid[best] < b and dloglik(a) > 0 > dloglik(b):
        for _ in range(200):                                   # interior maximum: L' = 0
            m = 0.5 * (a + b)
            if m in (a, b):
                break
            a, b = (m, b) if dloglik(m) > 0 else (a, m)
        f = 0.5 * (a + b)
    else:                                                      # maximum at an end of the range
        f = grid[best]
    d = f - p * q
    return d * abs(d) / (p * (1 - p) * q * (1 - q)), gap


def test_r2_equals_brute_force_likelihood_maximum():
    """Signed r^2 of pair_r (cubic roots + PLINK's choice rule) equals an independent grid +
    bisection maximisation of the two-locus likelihood (:func:`_brute_r2`) to 1e-9 absolute, on
    2,000 random genotype tables incl. degenerate ones (empty cells, all double heterozygotes,
    k11 k22 = 0 and/or k12 k21 = 0, h = 0 or 1, monomorphic SNPs -> NaN in both).  Where the
    brute force finds two maxima tied to 1e-11 (mirror-symmetric tables) only |r^2| is compared:
    the two solutions differ in sign only."""
    rng = np.random.default_rng(11)
    tabs = [np.array([0, 0, 0, 0, 7, 0, 0, 0, 0]), np.array([0, 5, 0, 0, 4, 0, 0, 0, 0]),
            np.array([3, 0, 0, 0, 2, 0, 0, 0, 4]), np.array([0, 0, 3, 0, 2, 0, 4, 0, 0]),
            np.array([0, 1, 0, 1, 1, 0, 0, 0, 0]), np.array([5, 0, 0, 0, 0, 0, 0, 0, 3]),
            np.array([2, 3, 1, 0, 0, 0, 0, 0, 0]), np.array([0, 0, 0, 0, 0, 0, 0, 0, 0])]
    for rep in range(2000):
        kind = rep % 5
        if kind == 0:
            t = rng.integers(0, 4, 9)
        elif kind == 1:
            t = rng.integers(0, 200, 9) * (rng.random(9) < 0.4)
        elif kind == 2:
            t = rng.poisson(rng.uniform(0, 40, 9))
        elif kind == 3:
            t = rng.integers(0, 3, 9)
            t[4] = rng.integers(1, 60)
        else:                                   # LD-block-like: two common haplotypes
            f = rng.dirichlet([5, 0.3, 0.3, 5])
            hap = rng.choice(4, size=(rng.integers(20, 400), 2), p=f)
            a, b = (hap >= 2).sum(1), (hap % 2).sum(1)
            t = np.bincount(3 * a + b, minlength=9)
        tabs.append(np.asarray(t))
    worst, n_sign_free, n_nan = 0.0, 0, 0
    for t in tabs:
        codes = np.array([np.repeat(np.arange(3), t.reshape(3, 3).sum(1)),
                          np.concatenate([np.repeat(np.arange(3), row) for row in t.reshape(3, 3)])],
                         dtype=np.int8)
        got = pair_r(codes, 0, np.array([1], dtype=np.int64))[0]
        want, gap = _brute_r2(t)
        if np.isnan(want):
            assert np.isnan(got), t
            n_nan += 1
            continue
        if gap < 1e-11:
            n_sign_free += 1
            got, want = abs(got), abs(want)
        assert abs(got - want) < 1e-9, (t, got, want)
        worst = max(worst, abs(got - want))
    assert n_nan > 5 and n_sign_free > 5 and len(tabs) - n_nan > 1500
