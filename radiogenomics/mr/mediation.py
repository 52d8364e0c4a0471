"""Two-step MR for mediation: genotype -> molecular module (M) -> imaging trait (Y).

Step 1 estimates the effect of the exposure X on the mediator M (``b_xm``), step 2 the effect
of M on Y (``b_my``, ideally from multivariable MR adjusting for X,
:func:`~radiogenomics.mr.mvmr.mr_mvivw`).  The indirect effect is the product
``b_xm * b_my`` (Relton & Davey Smith 2012; Carter et al. 2021, *Eur J Epidemiol* 36:465), with

* ``method="delta"``: first-order delta-method SE ``sqrt(b_xm^2 se_my^2 + b_my^2 se_xm^2)``
  (Sobel), normal p-value and interval;
* ``method="bootstrap"``: parametric bootstrap, drawing both estimates from their normal
  sampling distributions (``rng``), percentile interval and the bootstrap SE.

Given a total effect ``b_xy`` the proportion mediated is ``b_xm b_my / b_xy`` (a point
estimate only).  Both SE methods assume the two steps' estimates are independent (separate
samples for the two steps; sample overlap makes them correlated), and the delta method breaks
down when both effects are near zero (its SE tends to 0): use the bootstrap there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import InputError
from scipy import stats

from .._checks import check_rng

__all__ = ["two_step_mr"]


def two_step_mr(b_xm: float, se_xm: float, b_my: float, se_my: float, *, total: float | None = None,
                method: str = "delta", n_boot: int = 10_000, alpha: float = 0.05,
                rng=None) -> pd.DataFrame:
    """Indirect (mediated) effect of a two-step MR; one-row DataFrame.

    Columns: method, b_xm, b_my, indirect, se, ci_lower, ci_upper, pval, and
    ``proportion_mediated`` when ``total`` is given.
    """
    for name, v in (("se_xm", se_xm), ("se_my", se_my)):
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"{name} must be a positive finite standard error, got {v!r}")
    ind = b_xm * b_my
    z = stats.norm.ppf(1 - alpha / 2)
    if method == "delta":
        se = float(np.sqrt(b_xm**2 * se_my**2 + b_my**2 * se_xm**2))
        lo, hi = ind - z * se, ind + z * se
        pval = float(2 * stats.norm.sf(abs(ind) / se)) if se > 0 else np.nan
    elif method == "bootstrap":
        gen = check_rng(rng)
        draws = gen.normal(b_xm, se_xm, n_boot) * gen.normal(b_my, se_my, n_boot)
        se = float(draws.std(ddof=1))
        lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
        # two-sided bootstrap p-value, never 0: (1 + #draws on the far side of 0) / (1 + B), doubled
        far = min(int(np.sum(draws <= 0)), int(np.sum(draws >= 0)))
        pval = float(min(1.0, 2 * (1 + far) / (1 + n_boot)))
    else:
        raise InputError(f"method must be 'delta' or 'bootstrap', got {method!r}")
    row = {"method": method, "b_xm": b_xm, "b_my": b_my, "indirect": ind, "se": se,
           "ci_lower": float(lo), "ci_upper": float(hi), "pval": pval}
    if total is not None:
        row["proportion_mediated"] = ind / total if total != 0 else np.nan
    return pd.DataFrame([row])
