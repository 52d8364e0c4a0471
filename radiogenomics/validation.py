"""Validation without leakage: splitters, cross-validated predictions, nested CV, metrics by
centre and subgroup with bootstrap CIs, and a permutation test of the cross-validated score.

Every function here refits a *whole* estimator (typically a scikit-learn Pipeline from
:func:`radiogenomics.penalized.make_pipeline`: in-fold ComBat, feature filter, penalised model
with inner CV for lambda) on each training split, so scaling, harmonisation, filters and
penalties never see the test rows.  Splitters:

* :class:`LeaveOneCentreOut` - train on all centres but one, test on the one left out
  (the question "does it hold in a centre the model never saw?");
* :func:`grouped_kfold` - k folds that keep groups (patients, centres) together, stratified
  by a binary outcome when asked;
* :func:`repeated_kfold` - repeated (stratified) k-fold; predictions are averaged over repeats
  per sample for the pooled metrics.

:func:`cross_validate` returns a :class:`ValidationResult` with out-of-fold predictions,
pooled metrics with bootstrap CIs (stratified by centre), per-centre and per-subgroup
breakdowns, per-fold metrics, and (for binary outcomes) calibration and decision-curve tables
for :mod:`radiogenomics.plotting`.  :func:`nested_cv` wraps hyper-parameter search inside the
outer folds.  :func:`permutation_test` shuffles the target (within blocks if asked), reruns the
whole pipeline, and gives ``p = (1 + #{null >= observed}) / (1 + B)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ._checks import (InputError, RadiogenomicsError, align_samples, as_vector,
                      check_rng, check_unique, listing)
from sklearn.base import clone

__all__ = ["LeaveOneCentreOut", "grouped_kfold", "repeated_kfold", "cross_validate",
           "nested_cv", "permutation_test", "ValidationResult", "PermutationTestResult",
           "design_matrix", "modality_contributions", "ValidationError", "ValidationInputError",
           "GroupedInnerKFold"]


class ValidationError(RadiogenomicsError):
    """Invalid input to a validation function (names the problem and the fix)."""


class ValidationInputError(ValidationError, InputError):
    """Bad data given to a validation function (NaN/inf or text in ``y``, duplicated IDs,
    ``X``/``y``/``centre``/``groups`` with different sample IDs): both a
    :class:`ValidationError` and the project's :class:`~radiogenomics._checks.InputError`."""


def _checked_inputs(X, y, centre=None, groups=None):
    """``X`` as a DataFrame with unique sample IDs, ``y`` as a float Series on ``X``'s index,
    and ``centre`` / ``groups`` aligned to it: pandas inputs by sample ID (differing IDs are
    refused, naming them), arrays by position (their lengths must match).  ``y`` with NaN/inf
    or text is refused naming the samples.  ``X`` may hold text columns (centre, covariates)
    for the pipeline's own steps; their checks belong to those steps."""
    try:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        check_unique(X.index, "X", "sample")
        from .survival.evaluate import is_survival_target
        if is_survival_target(y):
            return _checked_survival(X, y, centre, groups)
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise InputError(f"y must be one column, got {y.shape[1]}")
            y = y.iloc[:, 0]
        named = {"X": X, "y": y}
        if centre is not None and not isinstance(centre, str):
            named["centre"] = centre
        if groups is not None:
            named["groups"] = groups
        aligned = align_samples(named)
        yy = aligned["y"]
        if isinstance(yy, pd.Series):
            check_unique(yy.index, "y", "sample")
        vals, _ = as_vector(yy if isinstance(yy, pd.Series) else np.asarray(yy).ravel(), "y",
                            allow_nan=True)
    except InputError as exc:
        raise ValidationInputError(str(exc)) from None
    if len(vals) != len(X):
        raise ValidationInputError(f"X has {len(X)} rows but y has {len(vals)} values; pass one "
                                   "target value per sample")
    yv = pd.Series(vals, index=X.index, name=getattr(y, "name", None) or "y")
    if yv.isna().any():
        raise ValidationInputError(
            f"y has {int(yv.isna().sum())} missing values (samples "
            f"{listing(yv.index[yv.isna()])}); drop those samples (never impute a target)")
    c = aligned.get("centre", centre)
    if c is not None and not isinstance(c, str):
        c = pd.Series(np.asarray(c), index=X.index)
        if c.isna().any():
            raise ValidationInputError(f"centre is missing for sample(s) "
                                       f"{listing(c.index[c.isna()])}; give every sample a centre")
    g = aligned.get("groups")
    if g is not None:
        g = np.asarray(g)
    return X, yv, c, g


def _checked_survival(X, y, centre, groups):
    """:func:`_checked_inputs` for a survival outcome: ``(time, event)`` as a DataFrame on
    ``X``'s index (aligned by sample ID when ``y`` is a DataFrame)."""
    from .survival import as_survival

    named = {"X": X}
    if isinstance(y, pd.DataFrame):
        check_unique(y.index, "y", "sample")
        named["y"] = y
    if centre is not None and not isinstance(centre, str):
        named["centre"] = centre
    if groups is not None:
        named["groups"] = groups
    aligned = align_samples(named) if len(named) > 1 else named
    t, e, _ = as_survival(aligned.get("y", y))
    if len(t) != len(X):
        raise InputError(f"X has {len(X)} rows but y has {len(t)} survival outcomes; pass one "
                         "(time, event) per sample")
    yv = pd.DataFrame({"time": t, "event": e}, index=X.index)
    c = aligned.get("centre", centre)
    if c is not None and not isinstance(c, str):
        c = pd.Series(np.asarray(c), index=X.index)
        if c.isna().any():
            raise InputError(f"centre is missing for sample(s) {listing(c.index[c.isna()])}; "
                             "give every sample a centre")
    g = aligned.get("groups")
    return X, yv, c, None if g is None else np.asarray(g)


# ------------------------------------------------------------------------------ splitters

class LeaveOneCentreOut:
    """Leave-one-centre-out splitter (scikit-learn compatible).

    ``centre``: Series aligned on ``X.index`` (or array in row order); default: ``X[column]``.
    ``min_test``: centres with fewer samples are never used as a test fold (they still train).
    """

    def __init__(self, centre=None, column: str = "centre", min_test: int = 1):
        self.centre = centre
        self.column = column
        self.min_test = min_test

    def _labels(self, X, groups=None):
        if groups is not None:
            lab = np.asarray(groups)
        elif self.centre is not None:
            c = self.centre
            lab = (c.reindex(X.index).to_numpy() if isinstance(c, pd.Series) and
                   isinstance(X, pd.DataFrame) else np.asarray(c))
        elif isinstance(X, pd.DataFrame) and self.column in X.columns:
            lab = X[self.column].to_numpy()
        else:
            raise ValidationError("LeaveOneCentreOut needs centre labels: pass centre=, groups=, "
                                  f"or a column {self.column!r} in X")
        if len(lab) != len(X):
            raise ValidationError(f"{len(lab)} centre labels for {len(X)} samples")
        if pd.isna(pd.Series(lab)).any():
            raise ValidationError("centre labels contain missing values; every sample needs a "
                                  "centre for leave-one-centre-out")
        return lab.astype(str)

    def get_n_splits(self, X=None, y=None, groups=None):
        if X is None:
            raise ValidationError("get_n_splits needs X to count centres")
        lab = self._labels(X, groups)
        u, c = np.unique(lab, return_counts=True)
        return int(np.sum(c >= self.min_test))

    def split(self, X, y=None, groups=None):
        lab = self._labels(X, groups)
        u, c = np.unique(lab, return_counts=True)
        if len(u) < 2:
            raise ValidationError("leave-one-centre-out needs at least two centres")
        for centre in u[c >= self.min_test]:
            test = np.flatnonzero(lab == centre)
            train = np.flatnonzero(lab != centre)
            yield train, test


def _seed(gen) -> int:
    return int(gen.integers(0, 2**31 - 1))


def grouped_kfold(n_splits: int = 5, stratify: bool = True, rng=None):
    """k folds keeping groups together (pass ``groups`` to ``split``); stratified by a binary
    ``y`` when ``stratify`` (scikit-learn's StratifiedGroupKFold, shuffled with ``rng``)."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    gen = check_rng(rng)
    if stratify:
        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=_seed(gen))
    return GroupKFold(n_splits=n_splits)


def repeated_kfold(n_splits: int = 5, n_repeats: int = 5, stratify: bool = False, rng=None):
    """Repeated (stratified) k-fold, seeded from ``rng``."""
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    gen = check_rng(rng)
    cls = RepeatedStratifiedKFold if stratify else RepeatedKFold
    return cls(n_splits=n_splits, n_repeats=n_repeats, random_state=_seed(gen))


# ------------------------------------------------------------------------------ data

def design_matrix(cohort, x: str | list, target: str, *, target_view: str | None = None,
                  covariates=("age", "sex"), include_centre: bool = True):
    """``(X, y)`` for the validation functions from a :class:`~radiogenomics.Cohort`.

    ``X``: the features of view(s) ``x`` on samples that have them and the target, plus the
    ``centre`` column and the ``covariates`` columns (consumed by
    :class:`~radiogenomics.penalized.ComBatTransformer`); ``y``: column ``target`` of
    ``target_view`` (e.g. a module of ``"modules"``) or of the cohort's outcomes when
    ``target_view`` is None.  Samples lacking the target are dropped and listed in
    ``X.attrs["dropped"]``.
    """
    views = [x] if isinstance(x, str) else list(x)
    parts = [cohort[v] for v in views]
    if target_view is not None:
        tv = cohort[target_view]
        if target not in tv.columns:
            raise ValidationError(f"{target!r} is not a column of view {target_view!r}")
        yall = tv[target]
    else:
        out = getattr(cohort, "outcomes", None)
        if out is None or target not in out.columns:
            raise ValidationError(f"{target!r} is not an outcome of the cohort; give target_view")
        yall = out[target]
    ids = parts[0].index
    for p in parts[1:]:
        ids = ids.intersection(p.index)
    have_y = yall.dropna().index
    dropped = ids.difference(have_y)
    ids = ids.intersection(have_y)
    X = pd.concat([p.loc[ids] for p in parts], axis=1)
    if include_centre:
        if cohort.centre is None:
            raise ValidationError("the cohort has no centre; set include_centre=False")
        X["centre"] = cohort.centre.reindex(ids).astype(str)
    if covariates:
        cov = cohort.covariates
        missing = [c for c in covariates if cov is None or c not in cov.columns]
        if missing:
            raise ValidationError(f"covariates {missing} are not in the cohort")
        for c in covariates:
            X[c] = cov[c].reindex(ids)
    X.attrs["dropped"] = list(dropped)
    return X, yall.loc[ids]


# ------------------------------------------------------------------------------ results

@dataclass
class ValidationResult:
    """Cross-validated predictions and their metrics.

    Attributes
    ----------
    predictions : DataFrame
        One row per (sample, repeat): ``fold``, ``repeat``, ``centre``, ``y``, ``pred`` (and
        ``pred_baseline``), indexed by sample ID.
    metrics : DataFrame
        :func:`radiogenomics.metrics.metric_table` on the pooled out-of-fold predictions
        (averaged over repeats): rows for ``group == "all"`` and per centre and subgroup, with
        bootstrap CIs (resampling stratified by centre).  Binary outcomes with several centres
        also get ``auroc_within_centre`` (pairs within a centre only).  Read that one for
        leave-one-centre-out: every held-out centre is predicted with the other centres' base
        rate, so when outcome rates differ by centre the *pooled* AUROC of a model without any
        information is far from 0.5 (0.25 in ``tests/test_validation.py``'s null scenario),
        while the within-centre AUROC stays at 0.5.  The CIs resample the *fixed* out-of-fold
        predictions: they condition on the models fitted in the folds (uncertainty over test
        patients) and do not include the variability from refitting on other training data
        (see :func:`radiogenomics.metrics.metric_table`).
    folds : DataFrame
        The main metrics per fold (and repeat), plus train/test sizes and the test centres.
    kind : "continuous", "binary" or "survival"
    horizons : list
        Survival: the horizons of the absolute-risk predictions (``risk_<h>`` columns).
    params : list
        Chosen hyper-parameters per outer fold (nested CV), else empty.
    """

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    folds: pd.DataFrame
    kind: str
    cv: str
    params: list = field(default_factory=list)
    estimators: list = field(default_factory=list, repr=False)
    horizons: list = field(default_factory=list)

    @property
    def _main(self) -> str:
        return {"continuous": "r2", "binary": "auroc", "survival": "c_index"}[self.kind]

    def to_frame(self) -> pd.DataFrame:
        return self.metrics.copy()

    def pooled(self) -> pd.DataFrame:
        """Out-of-fold prediction per sample, averaged over repeats."""
        p = self.predictions
        outcome = ["time", "event"] if self.kind == "survival" else ["y"]
        cols = [c for c in p.columns if c.startswith(("pred", "risk_"))]
        agg = p.groupby(level=0, sort=False)[cols].mean()
        first = p[~p.index.duplicated()]
        return first[["centre", *outcome]].join(agg)

    def metric(self, name: str, group: str = "all") -> float:
        m = self.metrics
        row = m[(m["metric"] == name) & (m["group"].astype(str) == group)]
        if row.empty:
            raise KeyError(f"no metric {name!r} for group {group!r}")
        return float(row["estimate"].iloc[0])

    def calibration(self, n_bins: int = 10, horizon: float | None = None):
        """Binary: :func:`radiogenomics.metrics.calibration`; survival: predicted vs
        Kaplan-Meier observed risk at ``horizon`` (one of ``horizons``) by ``n_bins`` risk
        groups (:func:`radiogenomics.survival.calibration_at`)."""
        from .metrics import calibration
        if self.kind == "survival":
            from .survival.evaluate import pooled_calibration
            return pooled_calibration(self, horizon, n_bins)
        if self.kind != "binary":
            raise ValidationError("calibration is for binary outcomes")
        p = self.pooled()
        return calibration(p["y"].to_numpy(), p["pred"].to_numpy(), n_bins=n_bins)

    def decision_curve(self, thresholds=None, horizon: float | None = None) -> pd.DataFrame:
        """Net benefit by threshold (binary; survival: at ``horizon``, Vickers et al. 2008)."""
        from .metrics import net_benefit
        if self.kind == "survival":
            from .survival.evaluate import pooled_net_benefit
            return pooled_net_benefit(self, horizon, thresholds)
        if self.kind != "binary":
            raise ValidationError("decision curves are for binary outcomes")
        p = self.pooled()
        th = np.linspace(0.05, 0.6, 12) if thresholds is None else thresholds
        return net_benefit(p["y"].to_numpy(), p["pred"].to_numpy(), th)

    def summary(self) -> str:
        m = self.metrics
        allm = m[m["group"].astype(str) == "all"]
        lines = [f"Cross-validated {self.kind} predictions ({self.cv}): "
                 f"{self.predictions.index.nunique()} samples, {len(self.folds)} folds"]
        miss = self.predictions.attrs.get("unpredicted", [])
        if miss:
            lines.append(f"  {len(miss)} samples without a prediction (left out of the "
                         "metrics): predictions.attrs['unpredicted']")
        for _, r in allm.iterrows():
            lines.append(f"  {r['metric']:<24s} {r['estimate']: .3f}  "
                         f"[{r['lower']: .3f}, {r['upper']: .3f}]")
        if "group" in m and m["group"].astype(str).ne("all").any():
            main = self._main
            g = m[(m["metric"] == main) & (m["group"].astype(str) != "all")]
            if len(g):
                lines.append(f"  {main} by group: " + "; ".join(
                    f"{r['group']}: {r['estimate']:.3f}" for _, r in g.iterrows()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        main = self._main
        try:
            v = f"{main}={self.metric(main):.3f}"
        except KeyError:
            v = ""
        return f"ValidationResult({self.kind}, {self.cv}, {len(self.folds)} folds, {v})"


def _kind(y, kind):
    surv = isinstance(y, pd.DataFrame) and list(y.columns) == ["time", "event"]
    if kind is not None:
        if kind not in ("continuous", "binary", "survival"):
            raise ValidationError(f"kind must be 'continuous', 'binary' or 'survival', got "
                                  f"{kind!r}")
        if (kind == "survival") != surv:
            raise ValidationError(f"kind={kind!r} does not match y: a survival outcome is "
                                  "(time, event), two columns; other kinds take one value per "
                                  "sample")
        return kind
    if surv:
        return "survival"
    u = np.unique(np.asarray(y, dtype=float))
    return "binary" if len(u) <= 2 and np.isin(u, (0.0, 1.0)).all() else "continuous"


def _predict(est, X, kind, horizons=()):
    if kind == "survival":
        from .survival.evaluate import survival_predictions
        return survival_predictions(est, X, horizons)
    if kind == "binary":
        return est.predict_proba(X)[:, 1]
    return np.asarray(est.predict(X), dtype=float).ravel()


def _resolve_cv(cv, X, y, kind, centre, gen):
    from sklearn.model_selection import KFold, StratifiedKFold

    if isinstance(cv, str):
        if cv != "loco":
            raise ValidationError(f"cv must be an int, 'loco' or a splitter, got {cv!r}")
        if centre is None:
            raise ValidationError("cv='loco' needs centre labels (centre= or a 'centre' column)")
        return LeaveOneCentreOut(centre=centre), "leave-one-centre-out"
    if isinstance(cv, (int, np.integer)):
        if cv < 2:
            raise ValidationError(f"cv must be at least 2 folds, got {cv}")
        spl = (StratifiedKFold if kind == "binary" else KFold)(int(cv), shuffle=True,
                                                               random_state=_seed(gen))
        return spl, f"{cv}-fold"
    if hasattr(cv, "split"):
        return cv, type(cv).__name__
    raise ValidationError(f"cv must be an int, 'loco' or a splitter, got {type(cv).__name__}")


def _fit(est, X, y, groups=None):
    """``est.fit(X, y)``, passing ``groups`` (inner-fold groups, e.g. training centres) to the
    final step when it accepts them (:class:`~radiogenomics.penalized.PenalizedModel`), so its
    inner CV keeps groups together; estimators without a ``groups`` fit argument are unchanged."""
    import inspect

    if groups is None:
        return est.fit(X, y)
    from sklearn.model_selection._search import BaseSearchCV

    if isinstance(est, BaseSearchCV):           # its splitter takes the groups (nested_cv)
        return est.fit(X, y, groups=np.asarray(groups))
    final = est.steps[-1] if hasattr(est, "steps") else None
    target = final[1] if final is not None else est
    try:
        accepts = "groups" in inspect.signature(target.fit).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        return est.fit(X, y)
    if final is not None:
        return est.fit(X, y, **{f"{final[0]}__groups": np.asarray(groups)})
    return est.fit(X, y, groups=np.asarray(groups))


def _set_seed(est, seed):
    """Give every step with an ``rng`` parameter its own seed (reproducible refits)."""
    params = est.get_params(deep=True)
    upd = {k: seed for k in params if k == "rng" or k.endswith("__rng")}
    if upd:
        est.set_params(**upd)
    return est


def _fold_fit(fold, estimator, baseline, X, yv, inner_groups, kind, keep_estimator,
              horizons=()):
    """Fit one training split (``fold = (train, test, seed)``) and predict its test rows:
    ``(pred, pred_baseline or None, fitted estimator or None)``; a task of
    :func:`cross_validate` (in this process or on a Dask worker)."""
    tr, te, seed = fold
    est = _fit(_set_seed(clone(estimator), seed), X.iloc[tr], yv.iloc[tr],
               None if inner_groups is None else inner_groups[tr])
    pred = _predict(est, X.iloc[te], kind, horizons)
    bpred = None
    if baseline is not None:
        b = _set_seed(clone(baseline), seed).fit(X.iloc[tr], yv.iloc[tr])
        bpred = _predict(b, X.iloc[te], kind, horizons)
    return pred, bpred, est if keep_estimator else None


def _fit_folds(estimator, baseline, X, yv, splits, seeds, inner_groups, kind,
               keep_estimators, client, progress, horizons=()) -> list:
    """:func:`_fold_fit` of every split, in order: in this process or as Dask tasks (the
    data sent to every worker once)."""
    from .distributed import client_context, map_ordered, scatter_shared

    folds = [(tr, te, s) for (tr, te), s in zip(splits, seeds)]
    with client_context(client) as cl:
        data = scatter_shared(cl, (X, yv, inner_groups))
        return map_ordered(cl, _fold_task, folds, desc="cross-validation", progress=progress,
                           args=(estimator, baseline, data, kind, keep_estimators, horizons))


def _fold_task(fold, estimator, baseline, data, kind, keep_estimator, horizons=()):
    X, yv, inner_groups = data
    return _fold_fit(fold, estimator, baseline, X, yv, inner_groups, kind, keep_estimator,
                     horizons)


def cross_validate(estimator, X, y, cv=5, *, centre=None, subgroups=None, kind: str | None = None,
                   groups=None, baseline=None, n_boot: int = 1000, rng=None,
                   progress: bool | None = None, return_estimators: bool = False,
                   _cv_name: str | None = None, client=None, horizons=None) -> ValidationResult:
    """Out-of-fold predictions of ``estimator`` refitted on every training split.

    Parameters
    ----------
    estimator : scikit-learn estimator or Pipeline (binary outcomes need ``predict_proba``)
    X : DataFrame (samples x columns; keep ``centre``/covariate columns for in-fold ComBat)
    y : Series or array (continuous, or binary 0/1)
    cv : int, "loco" or splitter
        int: (stratified for binary) shuffled k-fold seeded from ``rng``.
    centre : Series, optional
        Centre per sample (default ``X["centre"]`` when present): used by "loco", for the
        per-centre breakdown and to stratify the bootstrap.
    subgroups : Series or dict of Series, optional
        Extra breakdowns (e.g. ``{"sex": cov["sex"]}``).
    groups : array, optional
        Groups for a grouped splitter; also passed to the final estimator's inner folds when it
        accepts ``groups`` (:class:`~radiogenomics.penalized.PenalizedModel`).  Under
        ``cv="loco"`` the training centres are passed instead, so lambda is tuned by inner
        leave-centres-out folds.
        Passed to the splitter's ``split`` (e.g. patient IDs for grouped folds).
    baseline : estimator, optional
        A second estimator cross-validated on the same folds; its predictions give the NRI
        (binary) and appear as ``pred_baseline``.
    n_boot : int
        Bootstrap resamples for the CIs (0: no CIs).  The CIs resample the *fixed* out-of-fold
        predictions (stratified by centre): they condition on the fitted models and describe the
        uncertainty of the metric over test patients, not the variability from refitting the
        pipeline on other training data (which would widen them; repeated CV or
        :func:`permutation_test` address that part).
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seeds the folds, the estimators' ``rng`` parameters and the bootstrap (SPEC 7).
    client : None, "local", str, distributed.Client or Dask cluster
        Fit the folds as Dask tasks (see :mod:`radiogenomics.distributed`); folds and seeds
        are drawn here as without a client, so predictions and metrics are identical for any
        number of workers.  The estimator must be picklable.  Default: this process.
    horizons : sequence of float, optional
        Survival outcomes only: times at which the absolute risk ``1 - S(h | x)`` is
        predicted (by the final step's ``predict_risk``, e.g. a Cox
        :class:`~radiogenomics.penalized.PenalizedModel`) and scored (time-dependent AUROC,
        Brier score, calibration, net benefit; see
        :func:`radiogenomics.survival.evaluate.survival_metric_table`).

    Survival outcomes (``y`` = ``(time, event)``: a two-column DataFrame / array or a
    structured array, ``kind="survival"``): ``pred`` is the risk score (higher = earlier
    event); metrics are Harrell's C (and, with several centres, the within-centre C: pairs of
    the same centre only, the counterpart of ``auroc_within_centre``), Uno's C and, with
    ``horizons``, the metrics at each horizon.
    """
    X, yv, centre, groups = _checked_inputs(X, y, centre, groups)
    kind = _kind(yv, kind)
    horizons = _horizons(horizons, kind, yv)
    gen = check_rng(rng)
    if centre is None and "centre" in X.columns:
        centre = X["centre"]
    if centre is not None:
        centre = (centre.reindex(X.index) if isinstance(centre, pd.Series)
                  else pd.Series(np.asarray(centre), index=X.index)).astype(str)
    splitter, cv_name = _resolve_cv(cv, X, yv, kind, centre, gen)
    splits = list(splitter.split(X, yv.to_numpy() if kind == "binary" else None, groups))
    # inner folds (lambda choice) keep groups together: the given groups, or the centres when
    # the outer loop leaves centres out
    inner_groups = (np.asarray(groups) if groups is not None else
                    centre.to_numpy() if centre is not None and isinstance(splitter, LeaveOneCentreOut)
                    else None)
    # repeats: a new repeat starts whenever a sample would be tested twice
    seen = np.zeros(len(X), dtype=bool)
    repeat, rows, fold_rows, ests = 0, [], [], []
    fold_in_repeat = 0
    seeds = [_seed(gen) for _ in splits]        # drawn here, in fold order, whatever runs them
    fits = _fit_folds(estimator, baseline, X, yv, splits, seeds, inner_groups, kind,
                      return_estimators, client, progress, horizons)
    for (tr, te), (pred, bpred, est) in zip(splits, fits):
        if seen[te].any():
            repeat += 1
            fold_in_repeat = 0
            seen[:] = False
        seen[te] = True
        rec = pd.DataFrame({"fold": fold_in_repeat, "repeat": repeat,
                            "centre": centre.iloc[te].to_numpy() if centre is not None else "all"},
                           index=X.index[te])
        if kind == "survival":
            rec[["time", "event"]] = yv.iloc[te].to_numpy()
            for col, v in pred.items():
                rec[col] = v
            if baseline is not None:
                for col, v in bpred.items():
                    rec[col.replace("pred", "pred_baseline", 1) if col == "pred"
                        else col + "_baseline"] = v
        else:
            rec["y"] = yv.iloc[te].to_numpy()
            rec["pred"] = pred
            if baseline is not None:
                rec["pred_baseline"] = bpred
        rows.append(rec)
        fold_rows.append(_fold_metrics(rec, kind) | {
            "fold": fold_in_repeat, "repeat": repeat, "n_train": len(tr), "n_test": len(te),
            "test_centres": ",".join(sorted(pd.unique(rec["centre"].astype(str))))})
        if return_estimators:
            ests.append(est)
        fold_in_repeat += 1
    preds = pd.concat(rows)
    preds.index.name = X.index.name or "sample_id"
    # a model may decline to predict some samples (e.g. FusionModel for a sample with none of
    # its modalities): they are kept in ``predictions`` (NaN) and left out of the metrics,
    # listed in ``predictions.attrs["unpredicted"]``
    unpredicted = preds.index[~np.isfinite(preds["pred"].to_numpy())]
    preds.attrs["unpredicted"] = list(pd.unique(unpredicted))
    untested = X.index.difference(preds.index)
    if len(untested):
        preds.attrs["untested"] = list(untested)
    res = ValidationResult(predictions=preds, metrics=pd.DataFrame(), folds=pd.DataFrame(fold_rows),
                           kind=kind, cv=_cv_name or cv_name, estimators=ests,
                           horizons=list(horizons))
    res.metrics = _metric_tables(res, X, centre, subgroups, kind, n_boot, gen)
    return res


def _horizons(horizons, kind, yv):
    if horizons is None:
        return ()
    if kind != "survival":
        raise ValidationError("horizons are for survival outcomes (y = (time, event))")
    h = tuple(float(v) for v in np.atleast_1d(horizons))
    tmax = float(yv["time"].max())
    bad = [v for v in h if not 0 < v < tmax]
    if bad:
        raise ValidationError(f"horizons {bad} are outside the follow-up (0, {tmax:g}): choose "
                              "times before the last follow-up")
    return h


def _metric_tables(res, X, centre, subgroups, kind, n_boot, gen) -> pd.DataFrame:
    """Metrics of the pooled out-of-fold predictions with bootstrap CIs: overall, per centre,
    per subgroup (and within-centre AUROC for binary outcomes), seeds drawn from ``gen``."""
    from .metrics import metric_table

    pooled = res.pooled()
    pooled = pooled[np.isfinite(pooled["pred"].to_numpy())]
    grp = {}
    if centre is not None and pooled["centre"].nunique() > 1:
        grp["centre"] = pooled["centre"]
    if subgroups is not None:
        sg = subgroups if isinstance(subgroups, Mapping) else {getattr(subgroups, "name", None)
                                                                or "subgroup": subgroups}
        for k, s in sg.items():
            s = s.reindex(pooled.index) if isinstance(s, pd.Series) else pd.Series(
                np.asarray(s), index=X.index).reindex(pooled.index)
            grp[k] = s.astype(str)
    if kind == "survival":
        from .survival.evaluate import survival_metric_table
        return survival_metric_table(pooled, grp, res.horizons, n_boot=n_boot, rng=_seed(gen),
                                     by_centre=centre is not None)
    tables = []
    strata = pooled["centre"].to_numpy() if centre is not None else None
    base = pooled["pred_baseline"].to_numpy() if "pred_baseline" in pooled else None
    for name, g in [("all", None)] + list(grp.items()):
        t = metric_table(pooled["y"].to_numpy(), pooled["pred"].to_numpy(), kind=kind,
                         groups=None if g is None else g.to_numpy(), n_boot=n_boot,
                         rng=_seed(gen), strata=strata, baseline=base)
        if g is not None:
            t = t[t["group"].astype(str) != "all"]
            t.insert(0, "breakdown", name)
        else:
            t.insert(0, "breakdown", "all")
        tables.append(t)
    if kind == "binary" and centre is not None and pooled["centre"].nunique() > 1:
        tables.insert(1, _within_centre_row(pooled, n_boot, _seed(gen)))
    return pd.concat(tables, ignore_index=True)


def _within_centre_row(pooled, n_boot, seed) -> pd.DataFrame:
    """``auroc_within_centre``: event/non-event pairs of the same centre only (see
    :func:`radiogenomics.metrics.auroc_within`), bootstrap stratified by centre."""
    from .metrics import UndefinedMetricError, auroc_within, bootstrap_ci

    y, p, c = (pooled["y"].to_numpy(), pooled["pred"].to_numpy(),
               pooled["centre"].astype(str).to_numpy())
    row = {"breakdown": "all", "group": "all", "metric": "auroc_within_centre",
           "n": len(y), "n_events": int(y.sum()), "note": "pairs within centres only"}
    try:
        est = auroc_within(y, p, c)
    except UndefinedMetricError as e:
        return pd.DataFrame([row | {"estimate": np.nan, "lower": np.nan, "upper": np.nan,
                                    "n_boot_valid": 0, "note": str(e)}])
    lo = hi = np.nan
    valid = 0
    if n_boot:
        import warnings as _w

        from .metrics import _relay_bootstrap_warnings
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            ci = bootstrap_ci(lambda a, b, s: auroc_within(a, b, s), y, p, c, n_boot=n_boot,
                              strata=c, rng=seed)
        notes = _relay_bootstrap_warnings(caught)
        if ci.n_skipped:
            notes.append(f"{ci.n_skipped} of {ci.n_boot} resamples skipped ({ci.skip_reason})")
        if notes:
            row["note"] = "; ".join([row["note"], *notes])
        lo, hi, valid = ci.lower, ci.upper, ci.n_boot_valid
    return pd.DataFrame([row | {"estimate": est, "lower": lo, "upper": hi,
                                "n_boot_valid": valid}])


def _fold_metrics(rec, kind) -> dict:
    from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

    if kind == "survival":
        from .survival.evaluate import fold_survival_metrics
        return fold_survival_metrics(rec)
    y, p = rec["y"].to_numpy(), rec["pred"].to_numpy()
    ok = np.isfinite(p)
    y, p = y[ok], p[ok]
    if len(y) == 0:
        return {"auroc": np.nan, "brier": np.nan} if kind == "binary" else \
            {"r2": np.nan, "mae": np.nan}
    if kind == "binary":
        auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else np.nan
        return {"auroc": auc, "brier": float(np.mean((p - y) ** 2))}
    r2 = r2_score(y, p) if len(y) > 1 else np.nan
    return {"r2": r2, "mae": mean_absolute_error(y, p)}


class GroupedInnerKFold:
    """Inner k-fold that keeps each group (e.g. centre) in one fold: ``GroupKFold`` (or
    ``StratifiedGroupKFold`` with ``stratify``, shuffled with ``random_state``), with
    ``min(n_splits, number of groups)`` folds so it works on the few centres left in an outer
    leave-one-centre-out training split.  Used by :func:`nested_cv` under LOCO / groups; its
    ``split`` needs ``groups`` (cross-validation passes the training rows' centres)."""

    def __init__(self, n_splits: int = 5, stratify: bool = False, random_state=None):
        self.n_splits = n_splits
        self.stratify = stratify
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        if groups is None:
            return self.n_splits
        return min(self.n_splits, len(pd.unique(np.asarray(groups))))

    def split(self, X, y=None, groups=None):
        from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

        if groups is None:
            raise ValidationError("grouped inner folds need the groups (centres) of the rows")
        k = self.get_n_splits(X, y, groups)
        if k < 2:
            raise ValidationError(
                f"grouped inner folds need at least 2 groups, the training rows have {k}; use "
                "more centres or plain inner folds")
        sp = (StratifiedGroupKFold(k, shuffle=True, random_state=self.random_state)
              if self.stratify else GroupKFold(k))
        yield from sp.split(X, y, np.asarray(groups))

    def __repr__(self) -> str:
        return (f"GroupedInnerKFold(n_splits={self.n_splits}, stratify={self.stratify}, "
                f"random_state={self.random_state})")


def nested_cv(estimator, param_grid, X, y, outer=5, inner: int = 5, *, scoring=None,
              rng=None, **kwargs) -> ValidationResult:
    """Hyper-parameter search (``GridSearchCV`` over ``param_grid`` with ``inner`` shuffled
    folds) inside every outer training split; the outer test folds never inform the choice.
    Under leave-one-centre-out (``outer="loco"``) or with ``groups`` the inner folds are grouped
    (``GroupKFold``; stratified for binary outcomes) by the training rows' centres / groups.
    ``outer`` as ``cv`` of :func:`cross_validate`; chosen parameters per fold in ``params``.
    ``client=`` (among ``kwargs``, as in :func:`cross_validate`) fits the outer folds, each
    with its whole inner search, as Dask tasks."""
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

    from .survival.evaluate import is_survival_target

    gen = check_rng(rng)
    kind = ("survival" if is_survival_target(y) else
            _kind(np.asarray(y, dtype=float), kwargs.get("kind")))
    inner_cv = (StratifiedKFold if kind == "binary" else KFold)(inner, shuffle=True,
                                                                random_state=_seed(gen))
    grouped = (isinstance(outer, str) and outer == "loco") or isinstance(outer, LeaveOneCentreOut)
    if grouped or kwargs.get("groups") is not None:
        # grouped inner folds: hyper-parameters chosen for an unseen group, as scored outside
        inner_cv = GroupedInnerKFold(inner, stratify=kind == "binary", random_state=_seed(gen))
    if scoring is None:     # survival: the estimator's own score (Harrell's C)
        scoring = {"binary": "roc_auc", "continuous": "r2"}.get(kind)
    search = GridSearchCV(estimator, param_grid, cv=inner_cv, scoring=scoring, refit=True)
    res = cross_validate(search, X, y, outer, rng=gen, return_estimators=True, **kwargs)
    res.params = [e.best_params_ for e in res.estimators]
    res.cv = f"nested ({res.cv} outer, {inner}-fold inner)"
    return res


# ------------------------------------------------------------------------------ permutation

@dataclass
class PermutationTestResult:
    """Permutation test of a cross-validated score (the whole pipeline refitted each time)."""

    observed: float
    null: np.ndarray
    p_value: float
    metric: str
    n_permutations: int
    within_blocks: bool

    def summary(self) -> str:
        return (f"Permutation test of the cross-validated {self.metric}: observed "
                f"{self.observed:.3f}, null mean {np.mean(self.null):.3f} (95th percentile "
                f"{np.quantile(self.null, 0.95):.3f}), p = {self.p_value:.4g} "
                f"(B = {self.n_permutations}{', within blocks' if self.within_blocks else ''})")

    def __repr__(self) -> str:
        return (f"PermutationTestResult({self.metric}: observed={self.observed:.3f}, "
                f"p={self.p_value:.4g}, B={self.n_permutations})")


def _cv_score(target, ctx) -> float:
    """The cross-validated score of ``target`` on the fixed folds and seeds of ``ctx``."""
    estimator, X, splits, fold_seeds, inner_groups, kind, metric, sign = ctx
    pred = np.empty(len(target))
    for (tr, te), s in zip(splits, fold_seeds):
        est = _fit(_set_seed(clone(estimator), s), X.iloc[tr], target[tr],
                   None if inner_groups is None else inner_groups[tr])
        out = _predict(est, X.iloc[te], kind)
        pred[te] = out["pred"] if kind == "survival" else out
    return sign * _score(metric, target, pred)


def _null_scores(perms, yv, ctx) -> np.ndarray:
    """Scores of the permuted targets ``yv[p]`` for the rows ``p`` of ``perms`` (a task)."""
    return np.array([_cv_score(yv[p], ctx) for p in perms])


def _permutation_null(perms, yv, ctx, client, progress) -> np.ndarray:
    """Null scores of every permutation, in order: one permutation per step here, or chunks
    of them as Dask tasks (about four per worker thread; data sent to every worker once)."""
    from .distributed import client_context, map_ordered, n_worker_threads, scatter_shared

    with client_context(client) as cl:
        size = 1 if cl is None else max(1, -(-len(perms) // (4 * n_worker_threads(cl))))
        chunks = [perms[s:s + size] for s in range(0, len(perms), size)]
        shared = scatter_shared(cl, (yv, ctx))
        parts = map_ordered(cl, _null_task, chunks, desc="permutations", progress=progress,
                            args=(shared,))
    return np.concatenate(parts) if parts else np.empty(0)


def _null_task(perms, shared):
    yv, ctx = shared
    return _null_scores(perms, yv, ctx)


def permutation_test(estimator, X, y, cv=5, *, n_permutations: int = 99, metric: str | None = None,
                     blocks=None, centre=None, groups=None, rng=None,
                     progress: bool | None = None, client=None) -> PermutationTestResult:
    """Shuffle ``y`` (within ``blocks``, e.g. centres, when given), rerun the whole
    cross-validation, and compare the score: ``p = (1 + #{null >= observed}) / (1 + B)``.

    The folds are the same for the observed and every permuted target (drawn once from
    ``rng``), and permutations come from :class:`radiogenomics.resampling.PermutationScheme`.
    ``metric``: ``"r2"`` (continuous, default) or ``"auroc"`` (binary, default), or
    ``"pearson_r"``, ``"mae"`` (lower is better: compared as -MAE), ``"brier"`` (likewise);
    survival outcomes (``y`` = (time, event)): ``"c_index"`` (Harrell's C, default), the
    (time, event) pairs permuted together.
    ``groups`` go to the splitter (grouped folds) and, as in :func:`cross_validate`, to the
    inner folds of the final estimator (the centres under leave-one-centre-out).
    ``client`` (None, ``"local"``, a scheduler address, a Client or a cluster; see
    :mod:`radiogenomics.distributed`) runs chunks of permutations as Dask tasks; folds, fold
    seeds and permutations are drawn here as without it, so the null and the p-value are
    identical for any number of workers.
    """
    from .resampling.indices import PermutationScheme

    if n_permutations < 1:
        raise ValidationError("n_permutations must be at least 1")
    gen = check_rng(rng)
    X, ys, centre, groups = _checked_inputs(X, y, centre, groups)
    kind = _kind(ys, None)
    yv = ys.to_numpy()
    metric = metric or {"binary": "auroc", "continuous": "r2", "survival": "c_index"}[kind]
    sign = -1.0 if metric in ("mae", "brier") else 1.0
    if centre is None and "centre" in X.columns:
        centre = X["centre"]
    if centre is not None and not isinstance(centre, pd.Series):
        centre = pd.Series(np.asarray(centre), index=X.index)
    splitter, _ = _resolve_cv(cv, X, yv, kind, centre, gen)
    splits = list(splitter.split(X, yv if kind == "binary" else None, groups))
    inner_groups = (np.asarray(groups) if groups is not None else
                    centre.reindex(X.index).astype(str).to_numpy()
                    if centre is not None and isinstance(splitter, LeaveOneCentreOut) else None)
    if isinstance(blocks, str):
        if blocks != "centre" or centre is None:
            raise ValidationError("blocks must be 'centre' (with centre labels), a Series or None")
        blocks = centre
    bl = None if blocks is None else (blocks.reindex(X.index).to_numpy()
                                      if isinstance(blocks, pd.Series) else np.asarray(blocks))
    scheme = PermutationScheme(len(yv), blocks=bl)
    n_permutations = scheme.resamples_for(n_permutations)   # all of them when few exist
    scheme.check_enough(n_permutations)
    perms = scheme.generate(n_permutations, gen)
    fold_seeds = [_seed(gen) for _ in splits]
    ctx = (estimator, X, splits, fold_seeds, inner_groups, kind, metric, sign)
    observed = _cv_score(yv, ctx)
    null = _permutation_null(perms, yv, ctx, client, progress)
    tol = 1e-12 * max(1.0, abs(observed))
    p = (1 + np.sum(null >= observed - tol)) / (1 + len(null))
    return PermutationTestResult(observed=sign * observed, null=sign * null, p_value=float(p),
                                 metric=metric, n_permutations=int(n_permutations),
                                 within_blocks=bl is not None)


def _c_index(y, p):
    from .survival.concordance import _harrell_c_value
    return _harrell_c_value(y[:, 0], y[:, 1], p)


def _score(metric, y, p):
    from . import metrics as M
    fn = {"r2": M.r2_score, "mae": M.mae, "pearson_r": M.pearson_r, "auroc": M.auroc,
          "brier": M.brier_score, "average_precision": M.average_precision,
          "c_index": _c_index}.get(metric)
    if fn is None:
        raise ValidationError(f"unknown metric {metric!r}")
    return float(fn(y, p))


def modality_contributions(fusion, X, y, cv=5, *, rng=None, metric: str | None = None,
                           **kwargs) -> pd.DataFrame:
    """Cross-validated score of a :class:`~radiogenomics.penalized.FusionModel` with all
    modalities and with each modality removed (its columns set to NaN, i.e. missing for
    everyone; late fusion then predicts from the others), on the same folds.  ``delta`` =
    full score - score without the modality (positive: the modality helps)."""
    gen = check_rng(rng)
    seed = _seed(gen)
    kind = _kind(y, None)
    metric = metric or ("auroc" if kind == "binary" else "r2")
    full = cross_validate(fusion, X, y, cv, rng=seed, n_boot=0, **kwargs).metric(metric)
    rows = [{"modality": "(all)", "score": full, "delta": 0.0}]
    for m, cols in fusion.modalities.items():
        Xd = X.copy()
        Xd[list(cols)] = np.nan
        reduced = {k: v for k, v in fusion.modalities.items() if k != m}
        est = clone(fusion).set_params(modalities=reduced)
        s = cross_validate(est, Xd, y, cv, rng=seed, n_boot=0, **kwargs).metric(metric)
        rows.append({"modality": m, "score": s, "delta": full - s})
    return pd.DataFrame(rows).set_index("modality")
