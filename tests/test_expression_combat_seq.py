"""ComBat-seq (``radiogenomics.expression.combat_seq``) against sva 3.46.0 / edgeR 3.40.2.

References: ``tests/data/expression/combat_seq`` (made by its ``make_refs.R``; see README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.expression import _nbglm as nb
from radiogenomics.expression import combat_seq as cs
from radiogenomics.expression.combat_seq import ComBatSeq

DATA = Path(__file__).parent / "data" / "expression" / "combat_seq"
BATCHES = ["A", "B", "C"]
UNBAL = np.r_[0, 4, 8:16, 16:20]  # make_refs.R: unbal <- c(1, 5, 9:16, 17:20)

# scenario -> (ComBatSeq parameters, fit arguments from the sample sheet, sample subset (None:
# all), which reference estimates exist: gamma/phi "hat", "star" or none)
SCENARIOS = {
    "group": ({}, lambda S: {"group": S.group}, None, "hat"),
    "nogroup": ({}, lambda S: {}, None, "hat"),
    "covar": ({}, lambda S: {"group": S.group, "covariates": S[["x"]]}, None, "hat"),
    "covaronly": ({}, lambda S: {"covariates": S[["x"]]}, None, "hat"),
    "unbal": ({}, lambda S: {"group": S.group}, UNBAL, "hat"),
    "shrink": ({"shrink": True}, lambda S: {"group": S.group}, None, None),
    "shrinkdisp": ({"shrink": True, "shrink_disp": True}, lambda S: {"group": S.group}, None,
                   "star"),
}


@pytest.fixture(scope="module")
def counts():
    return _read("counts.csv.gz", index_col=0)


@pytest.fixture(scope="module")
def samples():
    return _read("samples.csv", index_col=0)


@pytest.fixture(scope="module")
def fitted(counts, samples):
    """scenario -> (fitted model, its adjusted counts), computed once."""
    out = {}
    for name, (params, args, sel, _) in SCENARIOS.items():
        X = counts if sel is None else counts.iloc[sel]
        S = samples.loc[X.index]
        model = ComBatSeq(**params)
        out[name] = (model, model.fit_transform(X, S.batch, **args(S)))
    return out


def _read(name, **kw):
    """A reference file, parsed exactly (pandas' default float parser is not correctly rounded)."""
    return pd.read_csv(DATA / name, float_precision="round_trip", **kw)


def _close(ours, ref, rtol=1e-6):
    """Relative agreement (absolute 1e-9 for values near 0, e.g. a batch effect ~ 0)."""
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-9)


# ------------------------------------------------------------------------- parity with sva
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_adjusted_counts_identical_to_sva(fitted, scenario):
    ref = _read(f"adjusted_{scenario}.csv.gz", index_col=0)
    ours = fitted[scenario][1]
    assert ours.index.equals(ref.index) and list(ours.columns) == list(ref.columns)
    assert (ours.dtypes == np.int64).all()
    np.testing.assert_array_equal(ours.to_numpy(), ref.to_numpy())


@pytest.mark.parametrize("scenario", [s for s, v in SCENARIOS.items() if v[3]])
def test_per_gene_estimates_match_sva(fitted, scenario, counts, samples):
    """gamma, phi (and alpha) to 1e-7 relative (1e-9 absolute near 0); the references hold 10
    significant digits.  Genes whose counts are all zero in one group of a batch get 1e-6
    relative / 1e-8 absolute: edgeR's Levenberg path for them is driven by rounding (see the
    module docstring; 2e-6 relative on a gamma of 1e-3 was seen with numpy 1.24)."""
    model = fitted[scenario][0]
    P = _read(f"params_{scenario}.csv.gz", index_col=0)
    kind = SCENARIOS[scenario][3]
    X = counts.loc[fitted[scenario][1].index]
    S = samples.loc[X.index]
    cells = X.groupby([S.batch, S.group]).sum()
    odd = P.index.isin(cells.columns[(cells == 0).any()])
    for what in ("gamma", "phi"):
        ours = getattr(model, f"{what}_{kind}_").loc[BATCHES, P.index].T.to_numpy()
        ref = P[[f"{what}_{kind}_{b}" for b in BATCHES]].to_numpy()
        _close(ours[~odd], ref[~odd], rtol=1e-7)
        np.testing.assert_allclose(ours[odd], ref[odd], rtol=1e-6, atol=1e-8)
    if kind == "hat":
        _close(model.alpha_[P.index], P.alpha_g, rtol=1e-7)
        # genes sva leaves out are exactly those without estimates here
        assert set(model.gamma_hat_.columns[model.gamma_hat_.notna().all()]) == set(P.index)


def test_common_dispersions_match_sva(fitted):
    ref = _read("disp_common.csv")
    for scenario, rows in ref.groupby("scenario"):
        ours = fitted[scenario][0].batch_info_.loc[rows.batch, "dispersion_common"]
        _close(ours.to_numpy(), rows.disp_common.to_numpy(), rtol=1e-7)


def test_small_or_rank_deficient_batches_use_common_dispersion(fitted):
    """sva: a batch with <= covariates + 1 samples (A) or lacking a group (C) gets its common
    dispersion for every gene; the other batch gets genewise values."""
    model = fitted["unbal"][0]
    assert model.batch_info_.genewise.tolist() == [False, True, False]
    for b in ("A", "C"):
        phi = model.phi_hat_.loc[b].dropna()
        assert np.allclose(phi, model.batch_info_.loc[b, "dispersion_common"], rtol=0, atol=0)
    assert model.phi_hat_.loc["B"].dropna().nunique() > 100


def test_edger_pieces_on_one_batch(counts, samples):
    """Cox-Reid common / genewise dispersions and the APL itself (edgeR 3.40.2)."""
    E = _read("edger_batchA.csv.gz", index_col=0)
    common = float((DATA / "edger_batchA_common.txt").read_text())
    A = (samples.batch == "A").to_numpy()
    Y = counts.loc[A, E.index].T.to_numpy(float)
    design = np.column_stack([np.ones(A.sum()), samples.group[A] == "ctrl"]).astype(float)
    _close(nb._common_dispersion(Y, design), common, rtol=1e-9)
    _close(nb._genewise_dispersion(Y, design, common), E.tagwise, rtol=1e-8)
    offset = np.broadcast_to(np.log(Y.sum(axis=0)), Y.shape)
    _close(nb._apl(Y, offset, np.full(len(Y), common), design), E.apl_common, rtol=1e-10)


# ------------------------------------------------------------------ behaviour and edge cases
def test_all_zero_genes_reported_and_unchanged(fitted, counts, samples):
    model, out = fitted["group"]
    un = model.unadjusted_genes_
    assert list(un.columns) == ["gene", "batch", "reason"]
    zero = {(g, b) for b in BATCHES
            for g in counts.columns[(counts[samples.batch == b] == 0).all()]}
    assert set(zip(un.gene, un.batch)) == zero and len(zero) >= 6
    assert un.reason.str.contains("left unadjusted in every batch").all()
    genes = sorted(set(un.gene))
    pd.testing.assert_frame_equal(out[genes], counts[genes])
    assert model.gamma_hat_[genes].isna().all().all()


def test_transform_of_some_training_samples(fitted, counts, samples):
    model, out = fitted["covar"]
    rows = counts.index[[0, 9, 20, 23]]
    sub = model.transform(counts.loc[rows], samples.batch, covariates=samples[["x"]],
                          group=samples.group)
    pd.testing.assert_frame_equal(sub, out.loc[rows])


def test_sample_order_and_label_alignment(counts, samples, fitted):
    shuffled = counts.sample(frac=1, random_state=3)
    out = ComBatSeq().fit_transform(shuffled, samples.batch, group=samples.group)
    pd.testing.assert_frame_equal(out.loc[counts.index], fitted["group"][1])


def test_array_input(counts, samples, fitted):
    out = ComBatSeq().fit_transform(counts.to_numpy(), samples.batch.to_numpy())
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, fitted["nogroup"][1].to_numpy())


def test_equivalent_spellings_of_sva_calls(counts, samples):
    """full_mod=FALSE or a one-level group is sva's null model; an array covariate is covar_mod."""
    nogroup = _read("adjusted_nogroup.csv.gz", index_col=0)
    out = ComBatSeq(full_mod=False).fit_transform(counts, samples.batch, group=samples.group)
    pd.testing.assert_frame_equal(out, nogroup)
    out = ComBatSeq().fit_transform(counts, samples.batch, group=["one"] * len(counts))
    pd.testing.assert_frame_equal(out, nogroup)
    model = ComBatSeq().fit(counts, samples.batch, covariates=samples.x.to_numpy())
    out = model.transform(counts, samples.batch, covariates=samples.x.to_numpy())
    pd.testing.assert_frame_equal(out, _read("adjusted_covaronly.csv.gz", index_col=0))
    with pytest.raises(InputError, match="fitted with covariates"):
        model.transform(counts, samples.batch)


def test_gene_subset_reproducible_with_rng(counts, samples):
    X = counts.iloc[:, :120]
    kw = dict(shrink=True, gene_subset_n=40)
    a = ComBatSeq(**kw, rng=7).fit(X, samples.batch)
    b = ComBatSeq(**kw, rng=7).fit(X, samples.batch)
    c = ComBatSeq(**kw, rng=8).fit(X, samples.batch)
    pd.testing.assert_frame_equal(a.gamma_star_, b.gamma_star_)
    assert not np.allclose(a.gamma_star_.fillna(0), c.gamma_star_.fillna(0))
    assert not np.allclose(a.gamma_star_.fillna(0), a.gamma_hat_.fillna(0))


def test_quantile_mapping_is_identity_without_batch_effect():
    """qnbinom's left-continuity fuzz: mapping a count through its own distribution returns it."""
    rng = np.random.default_rng(0)
    Y = rng.negative_binomial(2, 0.05, size=(50, 30)).astype(float)
    mu = np.full(Y.shape, 38.0) * rng.uniform(0.5, 2, Y.shape)
    phi = np.broadcast_to(rng.uniform(0.01, 2, (50, 1)), Y.shape)
    np.testing.assert_array_equal(cs._match_quantiles(Y, mu, phi, mu, phi), Y)


def test_match_quantiles_matches_sva():
    """sva:::match_quantiles on a crafted block: 0/1 kept, the |p - 1| < 1e-4 rule, the rest."""
    R = _read("match_quantiles.csv.gz")
    y = R.y.to_numpy(float)
    out = cs._match_quantiles(y, R.old_mu.to_numpy(), R.old_phi.to_numpy(),
                              R.new_mu.to_numpy(), R.new_phi.to_numpy())
    np.testing.assert_array_equal(out, R.adjusted)
    p = cs._pnbinom(y - 1, R.old_mu.to_numpy(), 1 / R.old_phi.to_numpy())
    assert ((y > 1) & (np.abs(p - 1) < 1e-4)).sum() >= 50 and (R.adjusted != R.y).sum() >= 100


def test_pnbinom_qnbinom_match_r():
    """R's pnbinom, and qnbinom's fuzz: p a few ulps above F(k) still gives k, 64 ulps k + 1.

    In the far lower tail (size 40, F ~ 1e-30) SciPy's betainc and R's TOMS 708 differ by up
    to ~50 ulps (both ~20-40 ulps from the exact value), more than the fuzz: there a p exactly
    at a boundary can give k + 1 (documented in the module).
    """
    R = _read("nbinom.csv.gz")
    _close(cs._pnbinom(R.k.to_numpy(float), R.mu.to_numpy(), R["size"].to_numpy()),
           R.pnbinom_k, rtol=2e-14)
    q = cs._qnbinom(R.p.to_numpy(), R.mu.to_numpy(), R["size"].to_numpy())
    usual = (R["size"] <= 3).to_numpy()
    np.testing.assert_array_equal(q[usual], R.qnbinom_p[usual])
    assert np.abs(q - R.qnbinom_p).max() <= 1
    assert (R.qnbinom_p[usual] != R.k[usual]).sum() >= 100  # the 64-ulp rows step to k + 1


# ------------------------------------------------------------------------------- bad input
def test_non_integer_counts(counts, samples):
    X = counts.astype(float)
    X.iloc[2, 5] = 3.5
    with pytest.raises(InputError, match=r"raw counts.*s03.*g006.*round"):
        ComBatSeq().fit(X, samples.batch)
    X.iloc[2, 5] = -1
    with pytest.raises(InputError, match="negative or fractional"):
        ComBatSeq().fit(X, samples.batch)


def test_nan_counts(counts, samples):
    X = counts.astype(float)
    X.iloc[4, 7] = np.nan
    with pytest.raises(InputError, match=r"NaN.*s05.*g008.*complete counts"):
        ComBatSeq().fit(X, samples.batch)


def test_one_sample_batch(counts, samples):
    b = samples.batch.copy()
    b.iloc[0] = "Z"
    with pytest.raises(InputError, match=r"'Z'.*single sample.*merge"):
        ComBatSeq().fit(counts, b)
    with pytest.raises(InputError, match="at least two batches"):
        ComBatSeq().fit(counts, ["A"] * len(counts))


def test_unseen_batch_or_level_in_transform(counts, samples):
    model = ComBatSeq().fit(counts, samples.batch, group=samples.group)
    b = samples.batch.replace({"C": "D"})
    with pytest.raises(InputError, match=r"\['D'\] were not seen in fit.*refit"):
        model.transform(counts, b, group=samples.group)
    with pytest.raises(InputError, match=r"'group' has level\(s\) \['new'\] not seen"):
        model.transform(counts, samples.batch, group=samples.group.replace({"case": "new"}))
    with pytest.raises(InputError, match="fitted with group; pass the same group="):
        model.transform(counts, samples.batch)
    with pytest.raises(InputError, match="same genes"):
        model.transform(counts.iloc[:, :-1], samples.batch, group=samples.group)
    with pytest.raises(InputError, match="not fitted"):
        ComBatSeq().transform(counts, samples.batch)


def test_confounded_design(counts, samples):
    with pytest.raises(InputError, match=r"confounded with batch.*remove"):
        ComBatSeq().fit(counts, samples.batch, group=samples.batch.map({"A": 1, "B": 2, "C": 2}))


def test_empty_library(counts, samples):
    X = counts.copy()
    X.loc["s07"] = 0
    with pytest.raises(InputError, match=r"'s07' have no reads.*drop them"):
        ComBatSeq().fit(X, samples.batch)


def test_missing_labels_and_bad_subset(counts, samples):
    b = samples.batch.copy()
    b.iloc[3] = None
    with pytest.raises(InputError, match=r"batch is missing for sample\(s\) 's04'"):
        ComBatSeq().fit(counts, b)
    with pytest.raises(InputError, match="gene_subset_n"):
        ComBatSeq(shrink=True, gene_subset_n=10_000).fit(counts, samples.batch)
    with pytest.raises(InputError, match="no group"):
        ComBatSeq().fit(counts, samples.batch, group=samples.group.iloc[:5])
