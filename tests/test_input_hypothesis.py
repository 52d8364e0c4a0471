"""Property-based tests of the input layer (hypothesis).

Random frames with NaN, inf, text, numbers stored as text, duplicated sample or feature IDs,
missing IDs, misaligned indexes, constant or empty columns go into every public entry point
that takes data.  Each call must either return a result or raise the project's own error type
(:class:`radiogenomics.RadiogenomicsError`, a ``ValueError``) - never a raw numpy / pandas /
scikit-learn exception (``KeyError``, ``IndexError``, ``LinAlgError``, ``ZeroDivisionError``,
a ``TypeError`` from a ufunc, ...).  A clean frame must give a result, so a check that refuses
everything would fail here too.

``ENTRY_POINTS`` lists what is covered; ``EXAMPLES`` examples are drawn for each.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiogenomics import RadiogenomicsError

EXAMPLES = 25
CORRUPTIONS = ("none", "nan", "inf", "text", "na_text", "numbers_as_text", "dup_sample",
               "dup_feature", "missing_id", "misaligned", "constant", "empty_rows", "bool_col",
               "multiindex")

SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _frames(seed: int, n: int, p: int, q: int):
    g = np.random.default_rng(seed)
    ids = [f"S{i:03d}" for i in range(n)]
    z = g.standard_normal(n)
    X = pd.DataFrame(g.standard_normal((n, p)) + 0.5 * z[:, None], index=ids,
                     columns=[f"f{j}" for j in range(p)])
    Y = pd.DataFrame(g.standard_normal((n, q)) + 0.5 * z[:, None], index=ids,
                     columns=[f"g{j}" for j in range(q)])
    centre = pd.Series(np.array(["A", "B", "C"])[np.arange(n) % 3], index=ids, name="centre")
    cov = pd.DataFrame({"age": g.normal(60, 10, n),
                        "sex": np.array(["F", "M"])[g.integers(0, 2, n)]}, index=ids)
    cov.loc[ids[0], "sex"], cov.loc[ids[1], "sex"] = "F", "M"
    return X, Y, centre, cov


def _corrupt(X: pd.DataFrame, Y: pd.DataFrame, kind: str, draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    X = X.copy()
    n, p = X.shape
    i = draw(st.integers(0, n - 1))
    j = draw(st.integers(0, p - 1))
    if kind == "nan":
        X.iat[i, j] = np.nan
    elif kind == "inf":
        X.iat[i, j] = draw(st.sampled_from([np.inf, -np.inf]))
    elif kind in ("text", "na_text"):
        col = X.columns[j]
        X[col] = X[col].astype(object)
        X.iat[i, j] = "abc" if kind == "text" else draw(st.sampled_from(["NA", "", "n.d.", "NaN"]))
    elif kind == "numbers_as_text":
        col = X.columns[j]
        X[col] = X[col].map(lambda v: f"{v:.6f}")
    elif kind == "dup_sample":
        k = (i + 1) % n
        idx = list(X.index)
        idx[k] = idx[i]
        X.index = idx
    elif kind == "dup_feature" and p > 1:
        cols = list(X.columns)
        cols[(j + 1) % p] = cols[j]
        X.columns = cols
    elif kind == "missing_id":
        idx = list(X.index)
        idx[i] = None
        X.index = idx
    elif kind == "misaligned":
        m = draw(st.integers(1, max(1, n // 3)))
        Y = Y.copy()
        Y.index = [f"Z{k}" if k < m else s for k, s in enumerate(Y.index)]
    elif kind == "constant":
        X.iloc[:, j] = 1.0
    elif kind == "empty_rows":
        X = X.iloc[:0]
    elif kind == "bool_col":
        X[X.columns[j]] = X.iloc[:, j].to_numpy() > 0
    elif kind == "multiindex":
        X.index = pd.MultiIndex.from_arrays([X.index, np.arange(n)])
    return X, Y


@st.composite
def bad_blocks(draw, n_min=12, n_max=30, p_max=4, q_max=4):
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(n_min, n_max))
    p = draw(st.integers(2, p_max))
    q = draw(st.integers(2, q_max))
    X, Y, centre, cov = _frames(seed, n, p, q)
    kind = draw(st.sampled_from(CORRUPTIONS))
    if draw(st.booleans()):
        X, Y = _corrupt(X, Y, kind, draw)
    else:
        Yc, Xc = _corrupt(Y, X, kind, draw)
        X, Y = Xc, Yc
    return kind, X, Y, centre, cov


def _call(fn):
    """Run ``fn``; a result or the project's error passes, anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except RadiogenomicsError:
            return None


# ------------------------------------------------------------------------- entry points
def _cohort(X, Y, centre, cov):
    from radiogenomics import Cohort

    return Cohort({"radiomics": X, "expression": Y}, covariates=cov, centre=centre)


def _associate(X, Y, centre, cov):
    from radiogenomics.association import associate

    return associate(X, Y)


def _associate_cov(X, Y, centre, cov):
    from radiogenomics.association import associate

    return associate(X, Y, covariates=cov, n_permutations=19, rng=0)


def _cca(X, Y, centre, cov):
    from radiogenomics.cca import CCA

    return CCA().fit(X, Y)


def _rcca(X, Y, centre, cov):
    from radiogenomics.cca import RegularizedCCA

    return RegularizedCCA(reg_x=0.1, reg_y=0.1).fit(X, Y)


def _scca(X, Y, centre, cov):
    from radiogenomics.cca import SparseCCA

    return SparseCCA().fit(X, Y)


def _cca_perm(X, Y, centre, cov):
    from radiogenomics.cca import RegularizedCCA, cca_permutation_test

    return cca_permutation_test(RegularizedCCA(reg_x=0.1, reg_y=0.1), X, Y, n_permutations=19,
                                exchangeability_blocks=centre, rng=0)


def _combat(X, Y, centre, cov):
    from radiogenomics.harmonize import ComBat

    return ComBat().fit_transform(X, centre)


def _combat_cov(X, Y, centre, cov):
    from radiogenomics.harmonize import ComBat

    return ComBat().fit(X, centre, covariates=Y.iloc[:, :1])


def _penalized(X, Y, centre, cov):
    from radiogenomics.penalized import PenalizedModel

    return PenalizedModel(alpha=0.5, n_lambda=5, cv=3).fit(X, Y.iloc[:, 0])


def _collapse(X, Y, centre, cov):
    from radiogenomics.features import collapse_redundant

    return collapse_redundant(X)


def _centre_anova(X, Y, centre, cov):
    from radiogenomics.qc import centre_anova

    return centre_anova(X, centre=centre)


def _mofa(X, Y, centre, cov):
    from radiogenomics.mofa import MOFA

    return MOFA(n_factors=2, max_iter=5, rng=0).fit({"radiomics": X, "expression": Y})


def _limma(X, Y, centre, cov):
    from radiogenomics.association import associate

    return associate(X, Y, cov, method="limma", trend=True, n_permutations=9, rng=0,
                     exchangeability_blocks=centre)


def _gene_sets(X, Y, centre, cov):
    from radiogenomics.expression import score_gene_sets

    return score_gene_sets(X, {"set": list(map(str, X.columns[:2]))}, method="zscore")


ENTRY_POINTS = {
    "Cohort": _cohort,
    "associate": _associate,
    "associate(covariates, permutations)": _associate_cov,
    "CCA.fit": _cca,
    "RegularizedCCA.fit": _rcca,
    "SparseCCA.fit": _scca,
    "cca_permutation_test": _cca_perm,
    "ComBat.fit_transform": _combat,
    "ComBat.fit(covariates)": _combat_cov,
    "PenalizedModel.fit": _penalized,
    "collapse_redundant": _collapse,
    "centre_anova": _centre_anova,
    "MOFA.fit": _mofa,
    "associate(method='limma')": _limma,
    "score_gene_sets": _gene_sets,
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@SETTINGS
@given(case=bad_blocks())
def test_bad_frames_give_result_or_project_error(name, case):
    kind, X, Y, centre, cov = case
    _call(lambda: ENTRY_POINTS[name](X, Y, centre, cov))


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_clean_frames_give_a_result(name):
    X, Y, centre, cov = _frames(1, 30, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ENTRY_POINTS[name](X, Y, centre, cov) is not None


# ------------------------------------------------------------------------- MR inputs
MR_CORRUPTIONS = ("none", "se_zero", "se_negative", "se_na_text", "beta_nan", "beta_inf",
                  "dup_snp", "missing_column", "allele_bad", "eaf_out_of_range", "se_text")


@st.composite
def mr_frames(draw):
    seed = draw(st.integers(0, 2**16))
    k = draw(st.integers(3, 15))
    g = np.random.default_rng(seed)
    snps = [f"rs{100 + i}" for i in range(k)]
    bx = g.normal(0.1, 0.03, k)
    sx = g.uniform(0.005, 0.02, k)
    by = 0.3 * bx + g.normal(0, 0.01, k)
    sy = g.uniform(0.005, 0.02, k)
    alleles = g.choice(["A", "C", "G", "T"], (k, 2))
    alleles[alleles[:, 0] == alleles[:, 1], 1] = "G"
    alleles[alleles[:, 0] == "G", 1] = "T"
    eaf = g.uniform(0.1, 0.4, k)
    exp = pd.DataFrame({"SNP": snps, "beta.exposure": bx, "se.exposure": sx,
                        "effect_allele.exposure": alleles[:, 0], "other_allele.exposure": alleles[:, 1],
                        "eaf.exposure": eaf, "exposure": "X", "id.exposure": "X"})
    out = pd.DataFrame({"SNP": snps, "beta.outcome": by, "se.outcome": sy,
                        "effect_allele.outcome": alleles[:, 0], "other_allele.outcome": alleles[:, 1],
                        "eaf.outcome": eaf, "outcome": "Y", "id.outcome": "Y"})
    kind = draw(st.sampled_from(MR_CORRUPTIONS))
    i = draw(st.integers(0, k - 1))
    target = draw(st.sampled_from(["exposure", "outcome"]))
    df = exp if target == "exposure" else out
    se, beta = f"se.{target}", f"beta.{target}"
    if kind == "se_zero":
        df.loc[i, se] = 0.0
    elif kind == "se_negative":
        df.loc[i, se] = -0.01
    elif kind in ("se_na_text", "se_text"):
        df[se] = df[se].astype(object)
        df.loc[i, se] = "NA" if kind == "se_na_text" else "zero"
    elif kind == "beta_nan":
        df.loc[i, beta] = np.nan
    elif kind == "beta_inf":
        df.loc[i, beta] = np.inf
    elif kind == "dup_snp":
        df.loc[i, "SNP"] = df.loc[(i + 1) % k, "SNP"]
    elif kind == "missing_column":
        df.drop(columns=[se], inplace=True)
    elif kind == "allele_bad":
        df.loc[i, f"effect_allele.{target}"] = draw(st.sampled_from(["X", "", "AT", None]))
    elif kind == "eaf_out_of_range":
        df.loc[i, f"eaf.{target}"] = 1.5
    return kind, exp, out


@SETTINGS
@given(case=mr_frames())
def test_mr_bad_inputs_give_result_or_project_error(case):
    from radiogenomics.mr import harmonise, mr, mr_heterogeneity, mr_presso

    kind, exp, out = case

    def run():
        dat = harmonise(exp, out)
        res = mr(dat, method_list=["mr_ivw", "mr_egger_regression", "mr_weighted_median"],
                 nboot=50, rng=0)
        mr_heterogeneity(dat)
        if int(dat["mr_keep"].sum()) >= 4:
            mr_presso(dat, n_distribution=100, rng=0)
        return res

    res = _call(run)
    if res is not None and kind in ("se_zero", "se_negative", "se_na_text", "beta_nan", "beta_inf"):
        assert np.isfinite(res["b"].to_numpy(dtype=float)).all() or res.empty


def test_bad_input_examples_quoted_in_the_readme(capsys):
    """examples/bad_input.py (quoted in the README's "Bad input" section) runs and each case
    gets the project's own message."""
    import runpy
    from pathlib import Path

    runpy.run_path(str(Path(__file__).parents[1] / "examples" / "bad_input.py"), run_name="__main__")
    out = capsys.readouterr().out
    for phrase in ("stored as text in 1 column(s): 'glcm_Contrast'", "'S04'", "inf is not a missing value",
                   "duplicated sample ID(s): 'S01'", "different sample IDs", "DegenerateCCAError",
                   "se.exposure <= 0 or infinite", "missing se.outcome", "rs2: se.outcome <= 0"):
        assert phrase in out, phrase
