"""Imaging-feature reproducibility (intraclass correlation) and redundancy reduction.

Reproducibility
---------------
For ``n`` subjects (targets) each measured by ``k`` raters / sessions / perturbations, write the
wide ``n x k`` table ``Y`` with grand mean ``m``, subject means ``m_i.`` and rater means ``m_.j``.
The two-way ANOVA mean squares are

    MSR = k * sum_i (m_i. - m)^2 / (n - 1)                      (between subjects, rows)
    MSC = n * sum_j (m_.j - m)^2 / (k - 1)                      (between raters, columns)
    MSE = (SST - SSR - SSC) / ((n - 1)(k - 1))                  (residual)
    MSW = (SST - SSR) / (n (k - 1))                             (within subjects, one-way)

and the six intraclass correlations of Shrout & Fleiss (1979, *Psychol. Bull.* 86:420) are

    ICC1  = (MSR - MSW) / (MSR + (k-1) MSW)                     one-way random, single
    ICC2  = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n) two-way random, absolute, single
    ICC3  = (MSR - MSE) / (MSR + (k-1) MSE)                     two-way mixed, consistency, single
    ICC1k = (MSR - MSW) / MSR                                   ... average of k
    ICC2k = (MSR - MSE) / (MSR + (MSC - MSE) / n)
    ICC3k = (MSR - MSE) / MSR

McGraw & Wong (1996, *Psychol. Methods* 1:30) names are accepted as aliases (``"ICC(2,1)"``,
``"ICC(A,1)"``, ``"ICC(C,1)"``, ``"ICC(1,k)"`` ...; see :data:`FORM_ALIASES`).  In radiomics the
usual choice (Koo & Li 2016, *J. Chiropr. Med.* 15:155; Zwanenburg et al. 2019, *Sci. Rep.* 9:614)
is ICC(2,1) (absolute agreement, single measurement) or ICC(1,1) for perturbations.

F tests are ``F = MSR/MSW`` on ``(n-1, n(k-1))`` df for ICC1/ICC1k and ``F = MSR/MSE`` on
``(n-1, (n-1)(k-1))`` df for ICC2/ICC3 (and their k forms), as in ``pingouin.intraclass_corr``
and R ``psych::ICC``.  Confidence intervals are the exact F-based intervals of Shrout & Fleiss
for ICC1/ICC3 and the Satterthwaite approximation (McGraw & Wong 1996, Table 7) for ICC2, with
the same formulas as those two packages (they are not rounded here; pingouin rounds to 2 dp).

Redundancy
----------
:func:`collapse_redundant` clusters features hierarchically on the distance ``1 - |r|``
(Spearman by default) and cuts the tree at ``1 - threshold``; with complete linkage every pair of
features within a cluster then has ``|r| >= threshold``.  One representative per cluster is kept
(highest mean ``|r|`` to the rest of its cluster; ties broken by ICC if given, else by variance),
and every removed feature is reported with its representative and correlation.

Perturbations
-------------
:func:`perturbation_icc` follows Zwanenburg et al. (2019, *Sci. Rep.* 9:614): each subject's
image/mask is randomly rotated, translated, given extra noise and its mask eroded or dilated
(SimpleITK), features are re-extracted with pyradiomics, and ICC(1,1) is computed with subjects
as targets and perturbations as repeated measurements.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from ._checks import InputError, numeric_frame

__all__ = ["icc", "feature_icc", "filter_reproducible", "collapse_redundant", "mean_squares",
           "perturbation_icc", "ReproducibilityFilter", "RedundancyResult", "PerturbationResult",
           "ICC_FORMS", "FORM_ALIASES"]

ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")

_DESCRIPTIONS = {
    "ICC1": "Single raters absolute",
    "ICC2": "Single random raters",
    "ICC3": "Single fixed raters",
    "ICC1k": "Average raters absolute",
    "ICC2k": "Average random raters",
    "ICC3k": "Average fixed raters",
}

#: Accepted names (case- and space-insensitive) for each Shrout & Fleiss form.  McGraw & Wong:
#: ``A`` = absolute agreement (two-way random = ICC2), ``C`` = consistency (two-way mixed = ICC3).
FORM_ALIASES = {
    "ICC1": ("icc1", "icc(1,1)", "icc(1)", "icc1,1"),
    "ICC2": ("icc2", "icc(2,1)", "icc(a,1)", "icc2,1"),
    "ICC3": ("icc3", "icc(3,1)", "icc(c,1)", "icc3,1"),
    "ICC1k": ("icc1k", "icc(1,k)", "icc1,k"),
    "ICC2k": ("icc2k", "icc(2,k)", "icc(a,k)", "icc2,k"),
    "ICC3k": ("icc3k", "icc(3,k)", "icc(c,k)", "icc3,k"),
}
_ALIAS_LOOKUP = {a: form for form, names in FORM_ALIASES.items() for a in names}


def _canonical_form(form: str) -> str:
    key = re.sub(r"\s+", "", str(form)).lower()
    if key not in _ALIAS_LOOKUP:
        raise InputError(f"unknown ICC form {form!r}; use one of {list(ICC_FORMS)} or an alias such "
                         "as 'ICC(2,1)', 'ICC(A,1)', 'ICC(C,1)', 'ICC(3,k)'")
    return _ALIAS_LOOKUP[key]


def mean_squares(Y) -> dict:
    """Two-way ANOVA mean squares of a ``(..., n_subjects, k_raters)`` array (no missing values).

    Returns a dict with arrays ``MSR``, ``MSC``, ``MSE``, ``MSW`` (shape ``Y.shape[:-2]``) and ints
    ``n``, ``k``.  Vectorised over leading axes.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim < 2:
        raise InputError(f"need a (..., subjects, raters) array, got shape {Y.shape}")
    n, k = Y.shape[-2:]
    if n < 2 or k < 2:
        raise InputError(f"ICC needs at least 2 subjects and 2 raters/sessions, got {n} x {k}")
    gm = Y.mean(axis=(-2, -1), keepdims=True)
    row = Y.mean(axis=-1, keepdims=True)
    col = Y.mean(axis=-2, keepdims=True)
    sst = ((Y - gm) ** 2).sum(axis=(-2, -1))
    ssr = k * ((row - gm) ** 2).sum(axis=(-2, -1))
    ssc = n * ((col - gm) ** 2).sum(axis=(-2, -1))
    sse = np.maximum(sst - ssr - ssc, 0.0)
    ssw = np.maximum(sst - ssr, 0.0)
    return {"MSR": ssr / (n - 1), "MSC": ssc / (k - 1), "MSE": sse / ((n - 1) * (k - 1)),
            "MSW": ssw / (n * (k - 1)), "n": n, "k": k}


def _icc_stats(ms: dict, form: str, confidence: float) -> dict:
    """ICC, F, df, p and CI of one canonical form from mean squares (vectorised)."""
    msr, msc, mse, msw, n, k = (ms[key] for key in ("MSR", "MSC", "MSE", "MSW", "n", "k"))
    a = 1.0 - confidence
    q = 1.0 - a / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if form in ("ICC1", "ICC1k", "ICC3", "ICC3k"):
            # one-way (ICC1: within-subject error MSW) or two-way mixed (ICC3: residual MSE)
            one_way = form.startswith("ICC1")
            err = msw if one_way else mse
            df1, df2 = n - 1, (n * (k - 1) if one_way else (n - 1) * (k - 1))
            F = msr / err
            fl = F / stats.f.ppf(q, df1, df2)
            fu = F * stats.f.ppf(q, df2, df1)
            if form.endswith("k"):
                value = (msr - err) / msr
                lo, hi = 1 - 1 / fl, 1 - 1 / fu
            else:
                value = (msr - err) / (msr + (k - 1) * err)
                lo, hi = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
        else:  # ICC2 / ICC2k, Satterthwaite df for the CI (McGraw & Wong 1996)
            # v = (a MSC + b MSE)^2 / ((a MSC)^2 / (k-1) + (b MSE)^2 / ((n-1)(k-1))) with
            # a = k rho / (n (1 - rho)), b = 1 + k rho (n-1) / (n (1 - rho)), rho = ICC2,
            # rewritten with Fj = MSC / MSE as in psych::ICC.
            df1, df2 = n - 1, (n - 1) * (k - 1)
            F = msr / mse
            icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
            fj = msc / mse
            vn = df2 * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            vd = (n - 1) * k ** 2 * icc2 ** 2 * fj ** 2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            v = vn / vd
            f2u = stats.f.ppf(q, n - 1, v)
            f2l = stats.f.ppf(q, v, n - 1)
            denom = k * msc + (k * n - k - n) * mse
            lo = n * (msr - f2u * mse) / (f2u * denom + n * msr)
            hi = n * (f2l * msr - mse) / (denom + n * f2l * msr)
            if form == "ICC2":
                value = icc2
            else:
                value = (msr - mse) / (msr + (msc - mse) / n)
                lo, hi = lo * k / (1 + lo * (k - 1)), hi * k / (1 + hi * (k - 1))
        pval = stats.f.sf(F, df1, df2)
    return {"ICC": value, "F": F, "df1": df1, "df2": df2, "pval": pval, "CI_low": lo, "CI_high": hi}


def _wide_from_long(data: pd.DataFrame, targets: str, raters: str, ratings: str) -> pd.DataFrame:
    missing = [c for c in (targets, raters, ratings) if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in data (columns: {list(data.columns)})")
    dup = data.duplicated([targets, raters])
    if dup.any():
        ex = data.loc[dup, [targets, raters]].iloc[0].tolist()
        raise InputError(f"{int(dup.sum())} duplicated ({targets}, {raters}) pair(s), e.g. {ex}; each "
                         "subject must have one rating per rater/session (average repeats first)")
    return data.pivot(index=targets, columns=raters, values=ratings)


def _complete_subjects(wide: pd.DataFrame, nan_policy: str, what: str = "") -> pd.DataFrame:
    if nan_policy not in ("raise", "omit"):
        raise InputError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    incomplete = wide.isna().any(axis=1)
    if incomplete.any():
        names = list(wide.index[incomplete][:5])
        if nan_policy == "raise":
            raise InputError(f"{int(incomplete.sum())} subject(s){what} lack a rating for some rater/"
                             f"session (e.g. {names}); the ICC needs a complete subjects x raters "
                             "table: fill them in or pass nan_policy='omit' to drop those subjects")
        warnings.warn(f"ICC{what}: dropped {int(incomplete.sum())} incomplete subject(s) {names}",
                      stacklevel=3)
    return wide.loc[~incomplete]


def icc(data, targets: str | None = None, raters: str | None = None, ratings: str | None = None,
        form: str | None = None, confidence: float = 0.95, nan_policy: str = "raise") -> pd.DataFrame:
    """Intraclass correlation coefficients (Shrout & Fleiss 1979) with F tests and CIs.

    Parameters
    ----------
    data : DataFrame or array-like
        Either a long table with columns ``targets`` (subject), ``raters`` (rater / session /
        perturbation) and ``ratings`` (value), or a wide ``subjects x raters`` array/DataFrame
        (then leave ``targets``, ``raters``, ``ratings`` as None).
    form : str, optional
        Return only this form (e.g. ``"ICC(2,1)"``, ``"ICC3k"``); default all six.
    confidence : float
        Coverage of the confidence interval (``CI95%`` column name follows it).
    nan_policy : {"raise", "omit"}
        Subjects without a rating from every rater raise an error, or are dropped (with a warning;
        the number of subjects used is in ``attrs["n_subjects"]``).

    Returns
    -------
    DataFrame
        One row per form with ``Type, Description, ICC, F, df1, df2, pval, CI95%`` as in
        ``pingouin.intraclass_corr`` (``CI95%`` holds ``[low, high]`` arrays) plus numeric
        ``CI_low``, ``CI_high``.
    """
    if isinstance(data, pd.DataFrame) and ratings is not None:
        if targets is None or raters is None:
            raise InputError("a long table needs targets=, raters= and ratings= column names")
        wide = _wide_from_long(data, targets, raters, ratings)
    elif targets is not None or raters is not None or ratings is not None:
        raise InputError("targets/raters/ratings name columns of a long DataFrame; for a wide "
                         "subjects x raters table pass it alone")
    else:
        wide = pd.DataFrame(np.asarray(data, dtype=float)) if not isinstance(data, pd.DataFrame) \
            else data.astype(float)
        if wide.ndim != 2:
            raise InputError("a wide table must be 2-D (subjects x raters)")
    wide = _complete_subjects(wide, nan_policy)
    ms = mean_squares(wide.to_numpy(dtype=float))
    forms = ICC_FORMS if form is None else (_canonical_form(form),)
    rows = []
    for f in forms:
        s = _icc_stats(ms, f, confidence)
        rows.append({"Type": f, "Description": _DESCRIPTIONS[f], "ICC": float(s["ICC"]),
                     "F": float(s["F"]), "df1": int(s["df1"]), "df2": int(s["df2"]),
                     "pval": float(s["pval"]),
                     f"CI{round(confidence * 100):d}%": np.array([float(s["CI_low"]),
                                                                 float(s["CI_high"])]),
                     "CI_low": float(s["CI_low"]), "CI_high": float(s["CI_high"])})
    out = pd.DataFrame(rows)
    out.attrs.update({"n_subjects": ms["n"], "n_raters": ms["k"],
                      **{key: float(ms[key]) for key in ("MSR", "MSC", "MSE", "MSW")}})
    return out


def feature_icc(values_by_session, form: str = "ICC(2,1)", confidence: float = 0.95,
                feature_names=None, feature: str = "feature", subject: str = "subject",
                session: str = "session", value: str = "value",
                nan_policy: str = "raise") -> pd.DataFrame:
    """ICC of many features at once (vectorised over features).

    Parameters
    ----------
    values_by_session : ndarray or DataFrame
        A ``features x subjects x sessions`` array, or a long table with columns ``feature``,
        ``subject``, ``session``, ``value``.
    form : str
        Shrout & Fleiss form or alias (default ICC(2,1), absolute agreement).
    nan_policy : {"raise", "omit"}
        With "omit", a feature with missing values uses only its complete subjects (computed on
        its own; ``n_subjects`` says how many).

    Returns
    -------
    DataFrame
        Indexed by feature: ``ICC, CI_low, CI_high, F, df1, df2, pval, n_subjects, n_sessions,
        form``.  A feature constant across everything has ``ICC`` NaN (0/0).
    """
    f = _canonical_form(form)
    if isinstance(values_by_session, pd.DataFrame):
        df = values_by_session
        missing = [c for c in (feature, subject, session, value) if c not in df.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not in the long table (columns: {list(df.columns)})"
                           "; name them with feature=, subject=, session=, value=")
        dup = df.duplicated([feature, subject, session])
        if dup.any():
            raise InputError(f"{int(dup.sum())} duplicated (feature, subject, session) rows, e.g. "
                             f"{df.loc[dup, [feature, subject, session]].iloc[0].tolist()}")
        names = pd.Index(pd.unique(df[feature]), name=feature)
        subjects = pd.Index(pd.unique(df[subject]))
        sessions = pd.Index(pd.unique(df[session]))
        A = np.full((len(names), len(subjects), len(sessions)), np.nan)
        A[names.get_indexer(df[feature]), subjects.get_indexer(df[subject]),
          sessions.get_indexer(df[session])] = df[value].to_numpy(dtype=float)
    else:
        A = np.asarray(values_by_session, dtype=float)
        if A.ndim != 3:
            raise InputError(f"need a features x subjects x sessions array, got shape {A.shape}")
        names = pd.Index(range(A.shape[0]) if feature_names is None else list(feature_names),
                         name=feature)
        if len(names) != A.shape[0]:
            raise InputError(f"{len(names)} feature_names for {A.shape[0]} features")
    if nan_policy not in ("raise", "omit"):
        raise InputError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    incomplete = np.isnan(A).any(axis=2)                   # features x subjects
    bad = incomplete.any(axis=1)
    if bad.any() and nan_policy == "raise":
        raise InputError(f"{int(bad.sum())} feature(s) have missing values (e.g. "
                         f"{list(names[bad][:5])}); complete them or pass nan_policy='omit' to use "
                         "each feature's complete subjects only")
    n_subj = (~incomplete).sum(axis=1)
    cols = {key: np.full(len(names), np.nan) for key in
            ("ICC", "CI_low", "CI_high", "F", "df1", "df2", "pval")}
    good = ~bad
    if good.any():
        s = _icc_stats(mean_squares(A[good]), f, confidence)
        for key in cols:
            cols[key][good] = s[key]
    for j in np.flatnonzero(bad):
        Y = A[j][~incomplete[j]]
        if Y.shape[0] < 2:
            raise InputError(f"feature {names[j]!r} has fewer than 2 complete subjects")
        s = _icc_stats(mean_squares(Y), f, confidence)
        for key in cols:
            cols[key][j] = s[key]
    out = pd.DataFrame(cols, index=names)
    out["df1"] = out["df1"].astype(int)
    out["df2"] = out["df2"].astype(int)
    out["n_subjects"] = n_subj
    out["n_sessions"] = A.shape[2]
    out["form"] = f
    return out


@dataclass
class ReproducibilityFilter:
    """Result of :func:`filter_reproducible`; unpacks as ``kept, removed``."""

    kept: pd.Index
    removed: pd.DataFrame
    threshold: float
    column: str

    def __iter__(self):
        return iter((self.kept, self.removed))


def filter_reproducible(features_icc, threshold: float = 0.75,
                        column: str = "ICC") -> ReproducibilityFilter:
    """Keep features with ``ICC >= threshold`` and report every removed one with its reason.

    Parameters
    ----------
    features_icc : DataFrame or Series
        Output of :func:`feature_icc` (indexed by feature) or a Series of ICCs.
    threshold : float
        0.75 is the "good reliability" bound of Koo & Li (2016); 0.9 "excellent".
    column : str
        Column compared with the threshold, e.g. ``"CI_low"`` for the stricter rule that the
        lower confidence bound must reach it.

    Returns
    -------
    ReproducibilityFilter
        ``kept`` (Index) and ``removed`` (DataFrame: feature, value, reason).  Features with an
        undefined ICC (e.g. constant) are removed with that reason.
    """
    if isinstance(features_icc, pd.Series):
        vals = features_icc.astype(float)
    else:
        if column not in features_icc.columns:
            raise KeyError(f"column {column!r} not in features_icc (columns: "
                           f"{list(features_icc.columns)})")
        vals = features_icc[column].astype(float)
    if vals.index.has_duplicates:
        raise InputError("duplicated feature names in features_icc; make them unique first")
    label = "ICC" if column == "ICC" else column
    keep = vals >= threshold
    rows = []
    for name, v in vals[~keep].items():
        reason = (f"{label} undefined (no variance between or within subjects)" if np.isnan(v)
                  else f"{label} {v:.2f} < {threshold:g}")
        rows.append({"feature": name, column: v, "reason": reason})
    removed = pd.DataFrame(rows, columns=["feature", column, "reason"])
    return ReproducibilityFilter(kept=vals.index[keep.to_numpy()], removed=removed,
                                 threshold=threshold, column=column)


@dataclass
class RedundancyResult:
    """Result of :func:`collapse_redundant`; unpacks as ``X_reduced, removed``."""

    X_reduced: pd.DataFrame
    removed: pd.DataFrame
    clusters: pd.Series = field(repr=False)
    correlation: pd.DataFrame = field(repr=False)

    def __iter__(self):
        return iter((self.X_reduced, self.removed))


def _correlation(X: np.ndarray, method: str) -> np.ndarray:
    if method == "spearman":
        X = np.apply_along_axis(stats.rankdata, 0, X)
    elif method != "pearson":
        raise InputError(f"method must be 'spearman' or 'pearson', got {method!r}")
    Z = X - X.mean(axis=0)
    Z /= np.sqrt((Z ** 2).sum(axis=0))
    R = Z.T @ Z
    np.clip(R, -1.0, 1.0, out=R)
    np.fill_diagonal(R, 1.0)
    return R


def collapse_redundant(X: pd.DataFrame, threshold: float = 0.9, method: str = "spearman",
                       linkage: str = "complete", icc=None) -> RedundancyResult:
    """Collapse clusters of highly correlated features to one representative each.

    Features are clustered hierarchically on ``d = 1 - |r|`` (``method`` correlation over
    samples) with ``linkage`` ("complete" or "average") and the tree is cut at
    ``1 - threshold``.  With complete linkage every pair within a cluster has
    ``|r| >= threshold``; with average linkage only the mean does.  The representative is the
    member with the highest mean ``|r|`` to the other members; ties go to the higher ICC (if
    ``icc``, a Series by feature, is given), else to the higher variance, else to the first.

    Parameters
    ----------
    X : DataFrame
        Samples x features, no missing values, no constant columns.

    Returns
    -------
    RedundancyResult
        ``X_reduced`` (kept columns, original order), ``removed`` (feature, representative,
        cluster, r = signed correlation with the representative, reason), ``clusters``
        (cluster id per feature) and the correlation matrix.
    """
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X, dtype=float))
    if not 0 < threshold <= 1:
        raise InputError(f"threshold must be in (0, 1], got {threshold}")
    if linkage not in ("complete", "average"):
        raise InputError(f"linkage must be 'complete' or 'average', got {linkage!r}")
    if X.columns.has_duplicates:
        raise InputError("duplicated feature names in X; make them unique first")
    X = numeric_frame(X, "X", string_ids=False)  # text, empty frames: named errors
    A = X.to_numpy(dtype=float)
    if np.isinf(A).any():
        cols = list(X.columns[np.isinf(A).any(axis=0)][:5])
        raise InputError(f"X has infinite values (e.g. in {cols}); fix or drop them first")
    if np.isnan(A).any():
        cols = list(X.columns[np.isnan(A).any(axis=0)][:5])
        raise InputError(f"X has missing values (e.g. in {cols}); impute or drop them first")
    const = np.ptp(A, axis=0) == 0
    if const.any():
        raise InputError(f"{int(const.sum())} constant feature(s) (e.g. {list(X.columns[const][:5])})"
                         ": correlation is undefined; remove zero-variance features first")
    p = A.shape[1]
    R = _correlation(A, method)
    if p == 1:
        labels = np.array([1])
    else:
        D = 1.0 - np.abs(R)
        np.fill_diagonal(D, 0.0)
        D = np.maximum((D + D.T) / 2, 0.0)
        Zl = hierarchy.linkage(squareform(D, checks=False), method=linkage)
        labels = hierarchy.fcluster(Zl, t=1.0 - threshold + 1e-12, criterion="distance")
    if icc is not None:
        icc = pd.Series(icc, dtype=float).reindex(X.columns)
        if icc.isna().any():
            raise InputError(f"icc lacks features {list(X.columns[icc.isna().to_numpy()][:5])}")
        icc = icc.to_numpy()
    var = A.var(axis=0, ddof=1)
    absR = np.abs(R)
    keep = np.ones(p, dtype=bool)
    rows = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) == 1:
            continue
        sub = absR[np.ix_(members, members)]
        score = (sub.sum(axis=1) - 1.0) / (len(members) - 1)
        best = score.max()
        tied = members[score >= best - 1e-12]
        tiebreak = icc[tied] if icc is not None else var[tied]
        rep = tied[np.argmax(tiebreak)]          # argmax: first on exact ties
        for m in members:
            if m == rep:
                continue
            keep[m] = False
            r = R[m, rep]
            rows.append({"feature": X.columns[m], "representative": X.columns[rep],
                         "cluster": int(c), "r": float(r),
                         "reason": f"|{method} r| = {abs(r):.3f} with {X.columns[rep]!r} "
                                   f"(cluster of {len(members)}, {linkage} linkage, "
                                   f"threshold {threshold:g})"})
    removed = pd.DataFrame(rows, columns=["feature", "representative", "cluster", "r", "reason"])
    return RedundancyResult(X_reduced=X.loc[:, keep], removed=removed,
                            clusters=pd.Series(labels, index=X.columns, name="cluster"),
                            correlation=pd.DataFrame(R, index=X.columns, columns=X.columns))


# ---------------------------------------------------------------------------------------------
# Perturbation-based reproducibility (Zwanenburg et al. 2019)
# ---------------------------------------------------------------------------------------------

@dataclass
class PerturbationResult:
    """Result of :func:`perturbation_icc`.

    ``icc``: :func:`feature_icc` table (one row per feature); ``values``: long table
    (feature, subject, perturbation, value) of every extraction; ``perturbations``: the drawn
    parameters of each perturbation (perturbation 0 is the original when ``include_original``).
    """

    icc: pd.DataFrame
    values: pd.DataFrame = field(repr=False)
    perturbations: pd.DataFrame = field(repr=False)


def _noise_sd(arr: np.ndarray) -> float:
    """Robust image-noise estimate: MAD of neighbour differences along the fastest axis.

    For white noise of sd s the difference of neighbours has sd s * sqrt(2), and
    MAD / 0.6745 estimates the sd of a normal sample; structure contributes little to the median.
    """
    d = np.diff(arr.astype(float), axis=-1).ravel()
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(2.0))


def _make_extractor(settings):
    from radiomics import featureextractor
    if isinstance(settings, featureextractor.RadiomicsFeatureExtractor):
        return settings
    if settings is None:
        return featureextractor.RadiomicsFeatureExtractor()
    if isinstance(settings, dict):
        if {"setting", "featureClass", "imageType"} & set(settings):
            return featureextractor.RadiomicsFeatureExtractor(dict(settings))
        return featureextractor.RadiomicsFeatureExtractor(**settings)
    return featureextractor.RadiomicsFeatureExtractor(str(settings))   # path to a params file


def _perturb(image, mask, rng, rotation_deg, translation_voxels, noise_sd, volume_voxels):
    import SimpleITK as sitk
    dim = image.GetDimension()
    angle = float(rng.uniform(-rotation_deg, rotation_deg)) if rotation_deg else 0.0
    spacing = np.array(image.GetSpacing())
    shift = np.zeros(dim)
    if translation_voxels:
        shift[:2] = rng.uniform(-translation_voxels, translation_voxels, 2) * spacing[:2]
    size = np.array(image.GetSize())
    centre = image.TransformContinuousIndexToPhysicalPoint(((size - 1) / 2.0).tolist())
    if dim == 3:
        tf = sitk.Euler3DTransform()
        tf.SetCenter(centre)
        tf.SetRotation(0.0, 0.0, np.deg2rad(angle))          # in-plane (about z)
    else:
        tf = sitk.Euler2DTransform()
        tf.SetCenter(centre)
        tf.SetAngle(np.deg2rad(angle))
    tf.SetTranslation(shift.tolist())
    img, msk = image, mask
    if angle or shift.any():
        fill = float(sitk.GetArrayViewFromImage(image).min())
        img = sitk.Resample(image, image, tf, sitk.sitkLinear, fill, sitk.sitkFloat64)
        m = sitk.Resample(sitk.Cast(mask, sitk.sitkFloat32), mask, tf, sitk.sitkLinear, 0.0)
        msk = sitk.Cast(m >= 0.5, sitk.sitkUInt8)
    sd = 0.0
    if noise_sd:
        arr = sitk.GetArrayFromImage(img).astype(float)
        # noise level of the original acquisition (interpolation has smoothed img's own noise)
        sd = _noise_sd(sitk.GetArrayViewFromImage(image)) if noise_sd == "auto" else float(noise_sd)
        noisy = sitk.GetImageFromArray(arr + rng.normal(0.0, sd, arr.shape))
        noisy.CopyInformation(img)
        img = noisy
    radius = int(rng.integers(-volume_voxels, volume_voxels + 1)) if volume_voxels else 0
    if radius:
        kernel = [abs(radius)] * 2 + [0] * (dim - 2)          # in-plane only
        msk = (sitk.BinaryDilate(msk, kernel, sitk.sitkBall, 0, 1) if radius > 0
               else sitk.BinaryErode(msk, kernel, sitk.sitkBall, 0, 1))
    return img, msk, {"rotation_deg": angle, **{f"shift_{a}": s for a, s in zip("xyz", shift)},
                      "noise_sd": sd, "volume_radius": radius}


def perturbation_icc(images, masks, extractor_settings=None, n_perturbations: int = 10, rng=None,
                     *, rotation_deg: float = 10.0, translation_voxels: float = 0.5,
                     noise_sd="auto", volume_voxels: int = 1, label: int = 1,
                     include_original: bool = True, form: str = "ICC1",
                     confidence: float = 0.95) -> PerturbationResult:
    """Feature reproducibility under image perturbations (Zwanenburg et al. 2019, *Sci. Rep.* 9:614).

    Each subject's image and mask are perturbed ``n_perturbations`` times by a random in-plane
    rotation (uniform in ``+-rotation_deg``, about the image centre) and translation (uniform in
    ``+-translation_voxels`` voxels in x and y), with linear interpolation of the image and of the
    mask (thresholded at 0.5); Gaussian noise (``noise_sd``: a number, ``"auto"`` for the robust
    estimate of the image's own noise, or 0); and volume adaptation (in-plane erosion or dilation
    of the mask by a radius drawn from ``-volume_voxels..volume_voxels``).  Features are
    re-extracted with pyradiomics and the ICC (default ICC(1,1), as in Zwanenburg et al.) is
    computed with subjects as targets and perturbations as repeated measurements.  An ICC needs
    variance between subjects, so at least 2 subjects are required.

    Parameters
    ----------
    images, masks : sequences of SimpleITK images or file paths, one per subject
    extractor_settings : None, dict, path or ``RadiomicsFeatureExtractor``
        A dict with ``setting``/``featureClass``/``imageType`` keys is a pyradiomics parameter
        dict; any other dict holds keyword settings (e.g. ``{"binWidth": 25}``).
    rng : int or numpy Generator
        Seed for reproducible perturbations.

    Returns
    -------
    PerturbationResult
    """
    import SimpleITK as sitk
    images, masks = list(images), list(masks)
    if len(images) != len(masks):
        raise InputError(f"{len(images)} images but {len(masks)} masks; give one mask per image")
    if len(images) < 2:
        raise InputError("the ICC compares variance between subjects with variance between "
                         "perturbations, so it needs at least 2 subjects (images); got "
                         f"{len(images)}")
    n_rep = n_perturbations + int(include_original)
    if n_rep < 2:
        raise InputError("need at least 2 measurements per subject: raise n_perturbations")
    rng = np.random.default_rng(rng)
    extractor = _make_extractor(extractor_settings)
    rows, params = [], []
    for s, (im, mk) in enumerate(zip(images, masks)):
        im = sitk.ReadImage(str(im)) if not isinstance(im, sitk.Image) else im
        mk = sitk.ReadImage(str(mk)) if not isinstance(mk, sitk.Image) else mk
        from .radiomics import geometry_problem

        tol = float(getattr(extractor, "settings", {}).get("geometryTolerance") or 1e-6)
        problem = geometry_problem(im, mk, tol)
        if problem:   # CopyInformation would hide a misregistered mask (extract flags it)
            raise InputError(f"subject {s}: {problem}")
        mk = sitk.Cast(mk == label, sitk.sitkUInt8)
        mk.CopyInformation(im)      # identical within tol: exact copy for SimpleITK filters
        for b in range(n_rep):
            if include_original and b == 0:
                pim, pmk = im, mk
                info = {"rotation_deg": 0.0, **{f"shift_{a}": 0.0 for a in "xyz"[:im.GetDimension()]},
                        "noise_sd": 0.0, "volume_radius": 0}
            else:
                pim, pmk, info = _perturb(im, mk, rng, rotation_deg, translation_voxels, noise_sd,
                                          volume_voxels)
            nvox = int(sitk.GetArrayViewFromImage(pmk).sum())
            params.append({"subject": s, "perturbation": b, **info, "n_voxels": nvox})
            if nvox == 0:
                raise InputError(f"subject {s}, perturbation {b}: the mask is empty after "
                                 f"perturbation ({info}); lower volume_voxels or translation")
            result = extractor.execute(pim, pmk, label=1)
            for name, val in result.items():
                if not name.startswith("diagnostics_"):
                    rows.append((name, s, b, float(val)))
    values = pd.DataFrame(rows, columns=["feature", "subject", "perturbation", "value"])
    table = feature_icc(values, form=form, confidence=confidence, session="perturbation")
    return PerturbationResult(icc=table, values=values, perturbations=pd.DataFrame(params))
