"""Quality control of multi-centre views: how strongly does centre shift each feature?

:func:`centre_anova` runs a one-way ANOVA of every feature on centre, vectorised over
features (the same F and p as :func:`scipy.stats.f_oneway` column by column), and reports
the share of variance explained by centre (eta squared).  Large values before harmonisation
are the centre (scanner/batch) effects that ComBat is meant to remove.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_finite, numeric_frame
from .cohort import Cohort, CohortValidationError

__all__ = ["centre_anova"]


def centre_anova(data: Cohort | pd.DataFrame, view: str | None = None,
                 centre: pd.Series | None = None) -> pd.DataFrame:
    """One-way ANOVA of each feature on centre.

    Parameters
    ----------
    data : Cohort or DataFrame
        A cohort (then name ``view``) or a samples x features frame (then give ``centre``).
    view : str, optional
    centre : Series, optional
        Centre label per sample (taken from the cohort when ``data`` is a Cohort).

    Returns
    -------
    DataFrame
        Indexed by feature: ``F``, ``df_between``, ``df_within``, ``pvalue``, ``eta2``
        (between-centre sum of squares over total), sorted as the input features.

    Notes
    -----
    With centres g = 1..G of sizes n_g, F = [SS_between / (G - 1)] / [SS_within / (n - G)].
    """
    if isinstance(data, Cohort):
        if view is None:
            raise CohortValidationError("name the view: centre_anova(cohort, 'radiomics')")
        if data.centre is None:
            raise CohortValidationError("the cohort has no centre; pass centre= when building it")
        df = data[view]
        centre = data.centre.reindex(df.index)
    else:
        df = numeric_frame(data, "data", string_ids=False)
        if centre is None:
            raise CohortValidationError("give centre= (a Series of centre labels indexed like data)")
        if not isinstance(centre, pd.Series):
            centre = pd.Series(np.asarray(centre), index=df.index)
        if centre.index.has_duplicates:
            raise CohortValidationError("centre has duplicated sample IDs; give one label per sample")
        missing = df.index.difference(centre.index)
        if len(missing):
            raise CohortValidationError(
                f"centre has no label for {len(missing)} sample(s) of data (e.g. "
                f"{list(missing[:3])}); give a Series indexed by the data's sample IDs")
        centre = centre.reindex(df.index)
        check_finite(df.to_numpy(dtype=np.float64), df.index, df.columns, "data",
                     "centre_anova needs complete data: drop or impute them first")
    if centre.isna().any():
        raise CohortValidationError("centre is missing for some samples of the view")
    codes, levels = pd.factorize(centre.astype(str))
    G = len(levels)
    n = len(codes)
    if G < 2:
        raise CohortValidationError("centre_anova needs at least two centres")
    if n - G < 1:
        raise CohortValidationError(f"{n} samples in {G} centres leave no within-centre degrees of freedom")
    X = df.to_numpy(dtype=np.float64)
    counts = np.bincount(codes, minlength=G).astype(float)
    sums = np.zeros((G, X.shape[1]))
    np.add.at(sums, codes, X)
    means = sums / counts[:, None]
    grand = X.mean(axis=0)
    ss_between = (counts[:, None] * (means - grand) ** 2).sum(axis=0)
    ss_total = ((X - grand) ** 2).sum(axis=0)
    ss_within = ss_total - ss_between
    df_b, df_w = G - 1, n - G
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (ss_between / df_b) / (ss_within / df_w)
        eta2 = ss_between / ss_total
    p = stats.f.sf(F, df_b, df_w)
    return pd.DataFrame(
        {"F": F, "df_between": df_b, "df_within": df_w, "pvalue": p, "eta2": eta2},
        index=df.columns,
    )
