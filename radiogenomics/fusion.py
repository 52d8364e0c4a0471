"""Multi-modal fusion of penalised models with missing modalities (:class:`FusionModel`):
early (one model on all columns), late (stacked per-modality models) and intermediate (joint
CCA / MOFA+ scores) fusion, for continuous, binary and survival targets."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._checks import check_rng
from .penalized import PenalizedError, PenalizedModel, _FamilyEstimator

__all__ = ["FusionModel"]


class FusionModel(_FamilyEstimator):
    """Multi-modal prediction with missing modalities.

    ``X`` is a DataFrame with the columns of every modality (``modalities``: name -> list of
    columns); a sample lacking a modality has NaN in all of its columns.

    * ``strategy="early"``: one model on all columns; missing blocks are filled with the
      training means of the block (recorded in ``imputed_fraction_``).
    * ``"late"``: one ``base`` model per modality, fitted on the samples that have it; a
      stacked meta-learner (least squares / logistic on the modality predictions) is fitted on
      out-of-fold predictions (``inner_cv`` folds), one per pattern of available modalities,
      so every sample is predicted from whichever modalities it has.
    * ``"intermediate"``: ``n_components`` joint scores learnt on the training samples -
      ``joint="cca"`` (regularised CCA of the first two modalities; samples need both) or
      ``"mofa"`` (MOFA+ factors, missing blocks allowed; test samples are projected on the
      training weights by ridge least squares) - then ``base`` on the scores.

    ``family="cox"``: survival targets (``y`` = ``(time, event)``); the base models are Cox
    :class:`~radiogenomics.penalized.PenalizedModel` s, predictions are risk scores (log
    relative hazards) and late fusion stacks them with an unpenalised Cox model.

    ``contributions_`` (after fit): for late fusion the meta-learner's weight of each modality
    (full pattern) and for every strategy the modality's share of samples that had it.
    Use :func:`radiogenomics.validation.modality_contributions` for the change in
    cross-validated score when a modality is dropped.
    """

    def __init__(self, modalities: Mapping[str, Sequence[str]] | None = None,
                 strategy: str = "late", base=None, family: str = "gaussian",
                 inner_cv: int = 5, joint: str = "cca", n_components: int = 3, rng=None):
        self.modalities = modalities
        self.strategy = strategy
        self.base = base
        self.family = family
        self.inner_cv = inner_cv
        self.joint = joint
        self.n_components = n_components
        self.rng = rng

    def _base(self, seed):
        b = self.base if self.base is not None else PenalizedModel(family=self.family, alpha=0.5)
        b = clone(b)
        if "rng" in b.get_params():
            b.set_params(rng=int(seed))
        return b

    def _check(self, X):
        if not isinstance(X, pd.DataFrame):
            raise PenalizedError("FusionModel needs a DataFrame with the modality columns")
        if not self.modalities:
            raise PenalizedError("give modalities: a dict name -> list of columns")
        if self.strategy not in ("early", "late", "intermediate"):
            raise PenalizedError(f"strategy must be 'early', 'late' or 'intermediate', got "
                                 f"{self.strategy!r}")
        for m, cols in self.modalities.items():
            miss = [c for c in cols if c not in X.columns]
            if miss:
                raise PenalizedError(f"modality {m!r}: columns {miss[:5]} not in X")
        have = pd.DataFrame({m: X[list(c)].notna().all(axis=1) for m, c in
                             self.modalities.items()})
        partial = {m: X[list(c)].notna().any(axis=1) & ~have[m] for m, c in
                   self.modalities.items()}
        bad = [m for m, s in partial.items() if s.any()]
        if bad:
            raise PenalizedError(f"modality {bad[0]!r} is partly missing for some samples; a "
                                 "modality must be wholly present or wholly NaN (impute cells "
                                 "first)")
        return have

    def _predict_base(self, model, A):
        if self.family == "cox":
            return np.asarray(model.predict(A), dtype=float)
        if self.family == "binomial":
            p = np.clip(model.predict_proba(A)[:, 1], 1e-9, 1 - 1e-9)
            return np.log(p / (1 - p))
        return model.predict(A)

    def fit(self, X, y):
        have = self._check(X)
        if self.family == "cox":
            from .penalized import _survival_target
            y = _survival_target(y)
            if isinstance(y, pd.DataFrame) and set(y.index) == set(X.index):
                y = y.reindex(X.index)          # pandas inputs pair by sample ID
        yv = np.asarray(y, dtype=float)
        gen = check_rng(self.rng)
        names = list(self.modalities)
        self.modality_presence_ = have.mean()
        self.convergence_warnings_ = []
        if self.strategy == "early":
            cols = [c for m in names for c in self.modalities[m]]
            self.fill_ = X[cols].mean()
            self.imputed_fraction_ = float(X[cols].isna().to_numpy().mean())
            self.model_ = self._base(gen.integers(2**31)).fit(X[cols].fillna(self.fill_), yv)
            self.contributions_ = pd.DataFrame({"presence": self.modality_presence_})
            return self
        if self.strategy == "late":
            from sklearn.model_selection import KFold, StratifiedKFold

            self.models_ = {}
            oof = pd.DataFrame(np.nan, index=X.index, columns=names)
            for m in names:
                rows = have[m].to_numpy()
                if rows.sum() < 2 * self.inner_cv:
                    raise PenalizedError(f"modality {m!r} is present for only {rows.sum()} "
                                         "samples; too few to fit and stack it")
                A, ym = X.loc[rows, list(self.modalities[m])], yv[rows]
                self.models_[m] = self._base(gen.integers(2**31)).fit(A, ym)
                spl = (StratifiedKFold if self.family == "binomial" else KFold)(
                    self.inner_cv, shuffle=True, random_state=int(gen.integers(2**31)))
                pred = np.empty(len(ym))
                for tr, te in spl.split(A, ym if self.family == "binomial" else None):
                    mm = self._base(gen.integers(2**31)).fit(A.iloc[tr], ym[tr])
                    pred[te] = self._predict_base(mm, A.iloc[te])
                oof.loc[rows, m] = pred
            self.oof_ = oof
            self.meta_ = {}
            pats = {tuple(r) for r in have.to_numpy()} | {tuple([True] * len(names))}
            for pat in pats:
                used = [m for m, h in zip(names, pat) if h]
                if not used:
                    continue
                self.meta_[pat] = self._fit_meta(oof[used], yv, have[used].all(axis=1).to_numpy())
            full = self.meta_.get(tuple([True] * len(names)))
            w = (pd.Series(full["coef"], index=names) if full is not None
                 else pd.Series(np.nan, index=names))
            self.contributions_ = pd.DataFrame({"meta_weight": w,
                                                "presence": self.modality_presence_})
            return self
        # intermediate
        self.scores_model_ = self._fit_joint(X, have, gen)
        S = self._joint_scores(X, have)
        ok = S.notna().all(axis=1).to_numpy()
        self.model_ = self._base(gen.integers(2**31)).fit(S.loc[ok], yv[ok])
        self.n_train_used_ = int(ok.sum())
        self.contributions_ = pd.DataFrame({"presence": self.modality_presence_})
        return self

    def _fit_meta(self, P, y, rows):
        from sklearn.linear_model import LinearRegression, LogisticRegression
        A, yy = P.loc[rows].to_numpy(), y[rows]
        if len(yy) < 3:
            return None
        if self.family == "cox":
            return self._fit_meta_cox(P.columns, A, yy)
        if self.family == "binomial":
            if len(np.unique(yy)) < 2:
                return None
            m = LogisticRegression(C=1e4, max_iter=1000).fit(A, yy)
            return {"cols": list(P.columns), "coef": m.coef_[0], "intercept": m.intercept_[0]}
        m = LinearRegression().fit(A, yy)
        return {"cols": list(P.columns), "coef": m.coef_, "intercept": m.intercept_}

    def _fit_meta_cox(self, cols, A, yy):
        """Stacking for survival: an unpenalised Cox model (Efron ties, as coxph) of the
        outcome on the modalities' out-of-fold risk scores; no intercept (a Cox linear
        predictor has none).  None when the rows hold fewer than 2 events."""
        from .survival.coxph import coxph

        if yy[:, 1].sum() < 2:
            return None
        fit = coxph(pd.DataFrame(A, columns=list(cols)), time=yy[:, 0], event=yy[:, 1])
        if not fit.converged:
            self.convergence_warnings_.append(
                f"stacking Cox model on {list(cols)} did not converge ({fit.n_iter} iterations)")
        return {"cols": list(cols), "coef": np.asarray(fit.coef, dtype=float), "intercept": 0.0}

    def _fit_joint(self, X, have, gen):
        names = list(self.modalities)
        if self.joint == "cca":
            from .cca import RegularizedCCA
            if len(names) < 2:
                raise PenalizedError("joint='cca' needs two modalities")
            a, b = names[:2]
            rows = (have[a] & have[b]).to_numpy()
            est = RegularizedCCA(n_components=self.n_components, reg_x=0.1, reg_y=0.1,
                                 scale=True)
            est.fit(X.loc[rows, list(self.modalities[a])], X.loc[rows, list(self.modalities[b])])
            return ("cca", est)
        if self.joint == "mofa":
            from .mofa import MOFA
            views = {m: X.loc[have[m].to_numpy(), list(self.modalities[m])] for m in names}
            res = MOFA(self.n_components, standardize=True,
                       rng=int(gen.integers(2**31))).fit(views)
            stats = {}
            for m in names:
                D = views[m]
                mu, sd = D.mean(), D.std(ddof=1)
                Zs = ((D - mu) / sd)
                scale = np.nanstd(Zs.to_numpy() - np.nanmean(Zs.to_numpy(), axis=0))
                W = res.weights[m].to_numpy()
                F = res.factors.reindex(D.index).to_numpy()
                resid = Zs.to_numpy() / scale - F @ W.T
                stats[m] = {"mu": mu, "sd": sd, "scale": scale, "W": W,
                            "noise": np.maximum(np.var(resid, axis=0), 1e-6)}
            return ("mofa", stats)
        raise PenalizedError(f"joint must be 'cca' or 'mofa', got {self.joint!r}")

    def _joint_scores(self, X, have):
        kind, obj = self.scores_model_
        names = list(self.modalities)
        if kind == "cca":
            a, b = names[:2]
            rows = (have[a] & have[b]).to_numpy()
            S = pd.DataFrame(np.nan, index=X.index,
                             columns=[f"cca{k + 1}" for k in range(self.n_components)])
            if rows.any():
                sx, sy = obj.transform(X.loc[rows, list(self.modalities[a])],
                                       X.loc[rows, list(self.modalities[b])])
                S.loc[rows] = (np.asarray(sx) + np.asarray(sy)) / 2
            return S
        K = self.n_components
        prec = np.zeros((len(X), K, K)) + np.eye(K)
        rhs = np.zeros((len(X), K))
        for m in names:
            st = obj[m]
            rows = have[m].to_numpy()
            if not rows.any():
                continue
            D = ((X.loc[rows, list(self.modalities[m])] - st["mu"]) / st["sd"]).to_numpy()
            D = D / st["scale"]
            Wn = st["W"] / st["noise"][:, None]
            prec[rows] += st["W"].T @ Wn
            rhs[rows] += D @ Wn
        Z = np.linalg.solve(prec, rhs[..., None])[..., 0]
        any_ = have.any(axis=1).to_numpy()
        Z[~any_] = np.nan
        return pd.DataFrame(Z, index=X.index, columns=[f"Factor{k + 1}" for k in range(K)])

    def _combine(self, X, have):
        names = list(self.modalities)
        preds = pd.DataFrame(np.nan, index=X.index, columns=names)
        for m in names:
            rows = have[m].to_numpy()
            if rows.any():
                preds.loc[rows, m] = self._predict_base(self.models_[m],
                                                        X.loc[rows, list(self.modalities[m])])
        out = np.full(len(X), np.nan)
        for i, pat in enumerate(map(tuple, have.to_numpy())):
            meta = self.meta_.get(pat)
            if meta is None:   # pattern unseen in training: average available predictions
                vals = preds.iloc[i][[m for m, h in zip(names, pat) if h]]
                out[i] = vals.mean() if len(vals) else np.nan
                continue
            out[i] = meta["intercept"] + preds.iloc[i][meta["cols"]].to_numpy() @ meta["coef"]
        return out

    def decision_function(self, X):
        have = self._check(X)
        if self.strategy == "early":
            cols = [c for m in self.modalities for c in self.modalities[m]]
            return self._predict_base(self.model_, X[cols].fillna(self.fill_))
        if self.strategy == "late":
            return self._combine(X, have)
        S = self._joint_scores(X, have)
        out = np.full(len(X), np.nan)
        ok = S.notna().all(axis=1).to_numpy()
        if ok.any():
            out[ok] = self._predict_base(self.model_, S.loc[ok])
        return out
