r"""Built-in analyses for :func:`radiogenomics.power.run_study` (the layer above both).

Each analysis is a module-level function ``analysis(params: dict, rng) -> dict`` (picklable,
so Dask ships it to worker processes) that simulates one data set for a scenario, analyses it
with the toolkit and returns a flat dict of numbers:

* :func:`cca_power` - permutation test of the first canonical correlation (and the bias of the
  in-sample estimate), data with a known population canonical correlation
  (:func:`simulate_cca_data`);
* :func:`association_maxt_power` - max-T association screen with permutations within centres
  (power for one planted pair; FWER when the effect is 0);
* :func:`mofa_recovery` - MOFA+ recovery of a :mod:`data_sim` shared factor;
* :func:`loco_prediction` - leave-one-centre-out prediction of a module score from radiomics;
* :func:`mr_power` - two-sample MR (IVW) power, bias and CI coverage.

Layering (no import cycle)::

    radiogenomics.studies   (this module; also cli / demo)   imports data_sim, power, core
          |                         |
    data_sim  ------------------>  radiogenomics core (Cohort, _checks, cca, mr, ...)
    radiogenomics.power  -------->  radiogenomics core (metrics, _checks)

``radiogenomics.power`` (the study engine: grids, seeds, Dask, the Parquet store, summaries)
knows nothing of :mod:`data_sim` or of these analyses; :mod:`data_sim` builds a
:class:`~radiogenomics.Cohort` but never imports ``power`` or this module; no core module
imports :mod:`data_sim`.  ``tests/test_power.py::test_layering`` checks these rules.
Every analysis takes ``rng`` as anything :func:`radiogenomics._checks.check_rng` accepts
(SPEC 7); :func:`~radiogenomics.power.run_study` passes a Generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import data_sim

from ._checks import check_rng
from .power import PowerError

__all__ = ["cca_power", "association_maxt_power", "mofa_recovery", "loco_prediction",
           "mr_power", "simulate_cca_data"]

def simulate_cca_data(n: int, p: int, q: int, r: float, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian X (n x p), Y (n x q) with identity within-block covariance and a single
    population canonical correlation ``r`` between the first coordinates (gemmr's set-up
    with flat spectra, ``ax = ay = 0``)."""
    if not 0 <= r < 1:
        raise PowerError(f"r must be in [0, 1), got {r}")
    rng = check_rng(rng)
    X = rng.standard_normal((n, p))
    Y = rng.standard_normal((n, q))
    Y[:, 0] = r * X[:, 0] + np.sqrt(1 - r**2) * Y[:, 0]
    return X, Y


def _whiten(A):
    A = A - A.mean(axis=0)
    Q, _ = np.linalg.qr(A)
    return Q


def _ridge_whiten(A, reg):
    """Columns of ``A (A'A/n + reg I)^{-1/2} / sqrt(n)`` after centring (ridge whitening,
    as ``CCA::rcc`` with lambda = reg on the covariance scale)."""
    A = A - A.mean(axis=0)
    n = A.shape[0]
    U, d, Vt = np.linalg.svd(A, full_matrices=False)
    w = d / np.sqrt(d**2 + n * reg)
    return U * w              # = A V diag(1/sqrt(d^2 + n reg)) V'... up to a rotation of columns


def cca_power(params: dict, rng=None) -> dict:
    """First canonical correlation: permutation test (``n_permutations``, default 1,000) and
    in-sample estimate.  Params: ``n``, ``p``, ``q``, ``r`` (population value, 0 for the
    null), ``alpha`` (default 0.05), ``reg`` (ridge penalty on the covariance scale for
    n <= p + q; the statistic is then the first regularised canonical correlation).  Returns ``reject``, ``p_value``, ``estimate`` (in-sample
    r1), ``truth`` (= r), ``relative_error`` = |r1 - r| / r (NaN when r = 0)."""
    rng = check_rng(rng)
    n, p, q = int(params["n"]), int(params["p"]), int(params["q"])
    r = float(params["r"])
    B = int(params.get("n_permutations", 1000))
    alpha = float(params.get("alpha", 0.05))
    reg = float(params.get("reg", 0.0))
    if n <= p + q and reg <= 0:
        raise PowerError(f"n = {n} must exceed p + q = {p + q} for classical CCA (the first "
                         "canonical correlation is then 1 whatever the data); give reg > 0 for "
                         "ridge-regularised CCA")
    X, Y = simulate_cca_data(n, p, q, r, rng)
    if reg > 0:
        Qx, Qy = _ridge_whiten(X, reg), _ridge_whiten(Y, reg)
    else:
        Qx, Qy = _whiten(X), _whiten(Y)
    r1 = float(np.linalg.svd(Qx.T @ Qy, compute_uv=False)[0])
    from .resampling.indices import PermutationScheme

    scheme = PermutationScheme(n)
    B = scheme.resamples_for(B)
    perms = scheme.generate(B, rng)
    exceed = 0
    for s in range(0, B, 200):
        chunk = perms[s:s + 200]
        M = np.matmul(Qx.T[None], Qy[chunk])        # (chunk, p, q): Qx' P Qy
        sv = np.linalg.svd(M, compute_uv=False)[:, 0]
        exceed += int(np.sum(sv >= r1 - 1e-12))
    pval = (1 + exceed) / (1 + B)
    return {"reject": float(pval <= alpha), "p_value": pval, "estimate": r1, "truth": r,
            "relative_error": abs(r1 - r) / r if r > 0 else np.nan}


def association_maxt_power(params: dict, rng=None) -> dict:
    """Max-T association screen within centres.  Params: ``n``, ``p``, ``q``, ``effect``
    (within-centre correlation of the planted pair x0 ~ y0; 0 for the null), ``n_centres`` (default 3),
    ``centre_shift`` (SD units, default 1), ``n_permutations`` (default 199), ``alpha``.
    Returns ``reject`` (planted pair significant by max-T; with effect 0: any pair, i.e. the
    FWER), ``n_significant``."""
    rng = check_rng(rng)
    from .association import associate

    n, p, q = int(params["n"]), int(params["p"]), int(params["q"])
    eff = float(params.get("effect", 0.0))
    C = int(params.get("n_centres", 3))
    shift = float(params.get("centre_shift", 1.0))
    B = int(params.get("n_permutations", 199))
    alpha = float(params.get("alpha", 0.05))
    centre = np.arange(n) % C
    X = rng.standard_normal((n, p)) + shift * rng.standard_normal((C, p))[centre]
    Y = rng.standard_normal((n, q)) + shift * rng.standard_normal((C, q))[centre]
    z = rng.standard_normal(n)
    if eff:
        if not 0 < eff < 1:
            raise PowerError(f"effect is a correlation in (0, 1), got {eff}")
        # planted pair: within-centre correlation `effect` (centre shifts added on top)
        X[:, 0] = (np.sqrt(eff) * z + np.sqrt(1 - eff) * rng.standard_normal(n)
                   + shift * rng.standard_normal(C)[centre])
        Y[:, 0] = (np.sqrt(eff) * z + np.sqrt(1 - eff) * rng.standard_normal(n)
                   + shift * rng.standard_normal(C)[centre])
    ids = [f"s{i}" for i in range(n)]
    Xd = pd.DataFrame(X, index=ids, columns=[f"x{j}" for j in range(p)])
    Yd = pd.DataFrame(Y, index=ids, columns=[f"y{j}" for j in range(q)])
    cen = pd.Series([f"C{c}" for c in centre], index=ids)
    cov = pd.get_dummies(cen, drop_first=True, dtype=float)
    res = associate(Xd, Yd, covariates=cov, n_permutations=B, exchangeability_blocks=cen,
                    correction="maxT", rng=rng, backend="numpy", alpha=alpha)
    pf = res.p_fwer.to_numpy()
    hit = pf[0, 0] <= alpha if eff else (pf <= alpha).any()
    return {"reject": float(hit), "n_significant": float((pf <= alpha).sum())}


def mofa_recovery(params: dict, rng=None) -> dict:
    """MOFA+ on a data_sim cohort (radiomics + expression): the best |r| of any factor with the
    true shared factor F1.  Params: ``n``, ``missing_rate`` (expression, default 0),
    ``n_radiomic`` (100), ``n_genes`` (300), ``n_factors`` (6), ``threshold`` (0.8), plus
    signal options ``signal`` (default 1000) and ``loading_density`` (default 0.5, 0.3).
    Returns ``reject`` (= recovered: best |r| >= threshold), ``abs_r``."""
    rng = check_rng(rng)
    from .mofa import MOFA

    n = int(params["n"])
    cohort, truth = data_sim.make_cohort(
        n, n_radiomic=int(params.get("n_radiomic", 100)), n_genes=int(params.get("n_genes", 300)),
        loading_density=tuple(params.get("loading_density", (0.5, 0.3))),
        radiomic_signal=float(params.get("signal", 1000.0)),
        expression_signal=float(params.get("signal", 1000.0)),
        missing_rate={"expression": float(params.get("missing_rate", 0.0))},
        centre_concentration=None, rng=rng)
    res = MOFA(int(params.get("n_factors", 6)), standardize=True,
               rng=int(rng.integers(2**31))).fit(cohort, views=["radiomics", "expression"])
    Z = res.factors
    f1 = truth.shared_factors["F1"].reindex(Z.index)
    best = float(max(abs(np.corrcoef(Z[c], f1)[0, 1]) for c in Z.columns))
    return {"reject": float(best >= float(params.get("threshold", 0.8))), "abs_r": best}


def loco_prediction(params: dict, rng=None) -> dict:
    """Leave-one-centre-out prediction of the module linked to F2 from radiomics (ComBat and
    elastic net inside the folds).  Params: ``n``, ``n_centres`` (3), ``centre_shift`` (0.5),
    ``n_radiomic`` (60), ``n_genes`` (300), ``signal`` (1000).  Returns ``reject`` (pooled
    LOCO R2 > 0), ``r2``, ``pearson_r``."""
    rng = check_rng(rng)
    from .penalized import make_pipeline
    from .validation import cross_validate, design_matrix

    cohort, truth = data_sim.make_cohort(
        int(params["n"]), n_centres=int(params.get("n_centres", 3)),
        centre_shift=float(params.get("centre_shift", 0.5)),
        n_radiomic=int(params.get("n_radiomic", 60)), n_genes=int(params.get("n_genes", 300)),
        radiomic_signal=float(params.get("signal", 1000.0)),
        expression_signal=float(params.get("signal", 1000.0)),
        canonical_correlations=(0.9, 0.7), centre_concentration=None, rng=rng)
    module = list(cohort["modules"].columns)[2]
    X, y = design_matrix(cohort, "radiomics", module, target_view="modules")
    res = cross_validate(make_pipeline(alpha=0.0, covariates=["age", "sex"],
                                       rng=int(rng.integers(2**31))), X, y, "loco", n_boot=0,
                         rng=int(rng.integers(2**31)))
    r2 = res.metric("r2")
    return {"reject": float(r2 > 0), "r2": r2, "pearson_r": res.metric("pearson_r")}


def mr_power(params: dict, rng=None) -> dict:
    """Two-sample MR, IVW (random effects): power, bias and 95% CI coverage.  Params:
    ``n`` (both GWAS sizes), ``causal_effect``, ``n_snps`` (30), ``instrument_r2`` (0.05),
    ``pleiotropy`` (0), ``alpha``.  Returns ``reject``, ``estimate``, ``truth``, ``lower``,
    ``upper``."""
    rng = check_rng(rng)
    from .mr import harmonise, mr

    theta = float(params.get("causal_effect", 0.0))
    summ = data_sim.make_mr_summary(n_snps=int(params.get("n_snps", 30)),
                                    n_exposure=int(params["n"]), n_outcome=int(params["n"]),
                                    causal_effect=theta,
                                    instrument_r2=float(params.get("instrument_r2", 0.05)),
                                    pleiotropy=float(params.get("pleiotropy", 0.0)),
                                    n_palindromic=0, rng=rng)
    dat = harmonise(summ.exposure, summ.outcome)
    out = mr(dat, method_list=["mr_ivw"]).iloc[0]
    b, se, pv = float(out["b"]), float(out["se"]), float(out["pval"])
    alpha = float(params.get("alpha", 0.05))
    return {"reject": float(pv <= alpha), "estimate": b, "truth": theta,
            "lower": b - 1.959963984540054 * se, "upper": b + 1.959963984540054 * se}
