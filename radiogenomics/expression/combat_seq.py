"""ComBat-seq: batch adjustment of RNA-seq counts that returns counts (sva 3.46 ``ComBat_seq``).

Zhang, Parmigiani & Johnson (2020, *NAR Genomics and Bioinformatics* 2:lqaa078).  Counts
``y_gj`` of gene ``g`` in sample ``j`` of batch ``i`` are negative binomial,

    y_gj ~ NB(mu_gj, phi_gi),   log mu_gj = log N_j + alpha_g + x_j' beta_g + gamma_gi,

``N_j`` the library size (sum over the adjusted genes), ``x_j`` the biological condition
(``group``) and covariates, ``gamma_gi`` the batch effect, ``phi_gi`` a batch-specific
dispersion.  The steps are ``sva::ComBat_seq``'s, with the edgeR 3.40 estimators it calls:

1. Genes zero in every sample of some batch are left unadjusted, in every batch (as sva);
   ``unadjusted_genes_`` lists them.
2. Per batch, the common dispersion maximises the summed Cox-Reid adjusted profile likelihood
   (``estimateGLMCommonDisp``; McCarthy, Chen & Smyth 2012, *NAR* 40:4288)
   ``APL_g(phi) = l_g(mu_hat(phi), phi) - 1/2 log det(X' W X)``, ``W = diag(mu / (1 + phi mu))``,
   over genes with >= 5 reads, by Brent's (1973) search on ``phi^(1/4)`` in ``[0, 4^(1/4)]``
   (R's ``optimize``, tol 1e-5).  Genewise dispersions (``estimateGLMTagwiseDisp``,
   ``prior.df = 0``) maximise each gene's APL through the Forsythe-Malcolm-Moler spline of its
   values at ``phi_common 2^k``, ``k = -6, -4.8, ..., 6``.  ``X`` (intercept, group,
   covariates within the batch) is intercept-only, and the common value every gene's, when the
   batch has no more samples than covariate columns + 1 or ``X`` is rank deficient there.
3. The NB GLM on ``[batch indicators, group, covariates]`` with offsets ``log N_j`` is fitted
   gene by gene by edgeR's Levenberg-damped Fisher scoring (``glmFit``; one-way layouts by
   Newton-Raphson per group); the reported coefficients are those with ``prior.count = 1e-4``
   (edgeR ``predFC``).  ``alpha_g = sum_i (n_i / n) b_gi``; a second fit with offsets
   ``log N_j + alpha_g`` gives ``gamma_hat_gi`` (its batch coefficients) and ``mu_hat``.
4. Optionally (``shrink``) ``gamma`` (with ``shrink_disp`` also ``phi``) become sva's
   Monte-Carlo posterior means: averages of the other genes' estimates weighted by
   ``L_k = prod_j NB(y_gj; mu_kj, phi_ki)``.
5. Cell by cell: counts 0 and 1 are kept; otherwise ``p = F(y - 1; mu_hat, phi_gi)`` and, unless
   ``|p - 1| < 1e-4`` (kept), the adjusted count is ``1 + F^{-1}(p; mu*, phi*)`` with
   ``mu* = exp(log mu_hat - gamma*_gi)``, ``phi*_g`` the mean over batches of ``phi*_gi`` and
   ``F^{-1}`` R's ``qnbinom`` (the smallest ``k`` with ``F(k) >= p (1 - 8 eps)``).

Parity with R (``tests/test_expression_combat_seq.py``: 3 batches x 8 samples x 400 genes; with
and without group, covariates, small / rank-deficient batches, shrinkage): adjusted counts
identical; common and genewise dispersions, ``gamma_hat``, ``alpha``, ``gamma*``, ``phi*``
within 7e-9 relative.  The exception, and the reason any difference exists at all, is rounding:
for a gene whose counts are all zero in one group of a batch (with the group in the batch's
design) edgeR's Levenberg iterations send a coefficient towards -inf and accept steps on
deviance changes below the rounding error, so their path, and the Cox-Reid term, follow the
last bits of ``exp``/``log``, which differ between numpy and R's libm (sums are accumulated in
edgeR's order to keep everything else exact): there ``phi_hat`` agrees to 1.2e-7 relative and
``gamma_hat`` to 3e-9 absolute.  SciPy's ``betainc`` and R's TOMS 708 ``pbeta`` differ by up to
~50 ulps in far lower tails, so a count whose ``p`` lies that close to a quantile boundary of the
new distribution (in practice only where old and new distributions coincide) could move one
count differently.  ``gene_subset_n`` draws genes with ``rng``, not R's stream.

Fit/transform: ``fit`` learns per-gene ``alpha``, coefficients, ``gamma*``, ``phi`` from the
training samples; ``transform`` maps samples of batches seen in fit, each with the library
size of its own counts.  ``fit_transform`` is ``sva::ComBat_seq``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from .._checks import InputError, as_matrix, check_rng, listing
from ._nbglm import _common_dispersion, _genewise_dispersion, _glm_fit, _linpred, _rowsum

__all__ = ["ComBatSeq"]


# ------------------------------------------------------------------ quantile mapping, shrinkage
def _pnbinom(q, mu, size):
    """R's ``pnbinom(q, mu = mu, size = size)`` as the regularised incomplete beta."""
    return special.betainc(size, np.floor(q + 1e-7) + 1, size / (size + mu))


def _qnbinom(p, mu, size):
    """R's ``qnbinom(p, mu, size)``: the smallest ``k >= 0`` with ``F(k) >= p (1 - 8 eps)``."""
    prob = size / (size + mu)
    target = p * (1 - 8 * np.finfo(float).eps)
    k = np.nan_to_num(np.floor(stats.nbinom.ppf(target, size, prob)), nan=0.0, posinf=0.0)
    k = np.maximum(k, 0)
    up = np.flatnonzero(special.betainc(size, k + 1, prob) < target)
    while up.size:
        k[up] += 1
        up = up[special.betainc(size[up], k[up] + 1, prob[up]) < target[up]]
    down = np.flatnonzero(k > 0)
    while down.size:
        down = down[special.betainc(size[down], k[down], prob[down]) >= target[down]]
        k[down] -= 1
        down = down[k[down] > 0]
    return k


def _match_quantiles(Y, old_mu, old_phi, new_mu, new_phi):
    """sva's ``match_quantiles`` over all cells (vectorised)."""
    out = Y.astype(float).copy()
    cells = Y > 1
    p = _pnbinom(Y[cells] - 1, old_mu[cells], 1 / old_phi[cells])
    move = ~(np.abs(p - 1) < 1e-4)
    idx = tuple(ix[move] for ix in np.nonzero(cells))
    out[idx] = 1 + _qnbinom(p[move], new_mu[idx], 1 / new_phi[idx])
    return out


def _mc_posterior(Y, mu, gamma, phi, subset_n, rng, block_elems=4_000_000):
    """sva's ``monte_carlo_int_NB``: posterior ``gamma*``, ``phi*`` of one batch (genes x samples).

    ``gamma*_g = sum_k L_gk gamma_k / sum_k L_gk`` (and so ``phi*``) over the other genes ``k``
    (a random ``subset_n`` of them when given), ``L_gk = exp(sum_j log NB(y_gj; mu_kj, phi_k))``.
    sva's product of densities underflows the same way: a gene whose weights are all 0 (or
    NaN) keeps its own estimates.  O(genes^2 x samples) without a subset.
    """
    G, n = Y.shape
    size = 1 / phi
    logq = np.log(mu / (size[:, None] + mu))
    base = _rowsum(size[:, None] * np.log(size[:, None] / (size[:, None] + mu))) \
        - n * special.gammaln(size)
    lgy = _rowsum(special.gammaln(Y + 1))

    def weights(rows, cols):
        y = Y[rows]
        L = (_rowsum(special.gammaln(y[:, None, :] + size[None, cols, None])) + base[cols]
             - lgy[rows, None] + y @ logq[cols].T)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.nan_to_num(np.exp(L), nan=0.0)

    num = np.zeros((G, 2))
    tot = np.zeros(G)
    if subset_n is None:
        step = max(1, block_elems // max(1, G * n))
        for s0 in range(0, G, step):
            rows = np.arange(s0, min(G, s0 + step))
            LH = weights(rows, np.arange(G))
            LH[np.arange(len(rows)), rows] = 0.0  # the gene itself is left out
            num[rows], tot[rows] = LH @ np.column_stack([gamma, phi]), LH.sum(axis=1)
    else:
        for g in range(G):
            others = np.delete(np.arange(G), g)[rng.choice(G - 1, subset_n, replace=False)]
            LH = weights([g], others)[0]
            num[g], tot[g] = LH @ np.column_stack([gamma[others], phi[others]]), LH.sum()
    ok = (tot > 0) & np.isfinite(tot)
    with np.errstate(divide="ignore", invalid="ignore"):
        post = num / tot[:, None]
    return np.where(ok, post[:, 0], gamma), np.where(ok, post[:, 1], phi)


# ------------------------------------------------------------------------- input handling
def _counts(X):
    """Validated counts: (float array samples x genes, sample IDs or None, gene names)."""
    arr, index, names = as_matrix(X, "X", nan_fix="ComBat-seq needs complete counts: drop those "
                                  "samples or genes (a missing count cannot be imputed here)")
    bad = (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise InputError(
            f"X must hold raw counts (non-negative whole numbers); {int(bad.sum())} value(s) are "
            f"negative or fractional in sample(s) {listing(_ids(index, len(arr))[bad.any(1)])} "
            f"and gene(s) {listing(np.asarray(names)[bad.any(0)])}; pass the raw read counts "
            "(not normalised, log or TPM values), or round expected counts (e.g. RSEM) first")
    return arr, index, np.asarray(names)


def _ids(index, n):
    return np.asarray(index if index is not None else np.arange(n), dtype=object)


def _per_sample(obj, index, n, what):
    """``obj`` (labels or a frame) with one complete row per sample, aligned by sample ID."""
    if isinstance(obj, (pd.Series, pd.DataFrame)) and index is not None:
        missing = index.difference(obj.index)
        if len(missing):
            raise InputError(f"{len(missing)} sample(s) of X have no {what}: {listing(missing)}; "
                             f"give a {what} for every sample, indexed by the sample IDs of X")
        obj = obj.loc[index]
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    if not isinstance(frame, pd.DataFrame):
        arr = np.asarray(obj, dtype=object)
        frame = pd.DataFrame(arr.reshape(len(arr), -1)).infer_objects()
        k = frame.shape[1]
        frame.columns = [what] if k == 1 else [f"{what}{j}" for j in range(k)]
    if len(frame) != n:
        raise InputError(f"{what} has {len(frame)} entries but X has {n} samples; pass one per "
                         "sample")
    missing = frame.isna().any(axis=1).to_numpy()
    if missing.any():
        raise InputError(f"{what} is missing for sample(s) {listing(_ids(index, n)[missing])}; "
                         f"give every sample a {what} or drop those samples")
    return frame


def _levels(col: pd.Series) -> list:
    """Factor levels as R's ``factor``: a categorical's (used) categories, else sorted values."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if (col == c).any()]
    return sorted(pd.unique(col), key=lambda v: (str(type(v)), v))


def _model_columns(frame, spec):
    """R's ``model.matrix`` columns without intercept: numeric columns (levels None) as they
    are, the others one indicator per level but the first."""
    cols, names = [], []
    for c, levels in spec:
        if c not in frame.columns:
            raise InputError(f"column {c!r} used in fit is missing; pass the same covariates/group")
        col = frame[c]
        if levels is None:
            cols.append(col.to_numpy(dtype=float))
            names.append(str(c))
            continue
        unseen = sorted(set(map(str, col)) - set(map(str, levels)))
        if unseen:
            raise InputError(f"{c!r} has level(s) {unseen} not seen in fit (levels "
                             f"{[str(v) for v in levels]}); refit including them")
        cols += [(col.astype(str) == str(lev)).to_numpy(dtype=float) for lev in levels[1:]]
        names += [f"{c}[{lev}]" for lev in levels[1:]]
    return cols, names


class ComBatSeq:
    """ComBat-seq batch adjustment of RNA-seq counts (sva ``ComBat_seq``), sklearn style.

    The model, the steps and the ways results can differ from sva's (rounding only) are in the
    module docstring.

    Parameters
    ----------
    full_mod : bool
        Include ``group`` (the biological condition) in the model, sva ``full_mod``.
    shrink, shrink_disp : bool
        Empirical-Bayes (Monte-Carlo) shrinkage of the batch means, and also of the
        dispersions, sva ``shrink`` / ``shrink.disp``.  Costs O(genes^2 x samples).
    gene_subset_n : int or None
        Number of random genes for the Monte-Carlo integration (sva ``gene.subset.n``).
    rng : int, Generator or None
        Random stream for ``gene_subset_n`` (SPEC 7).

    Attributes
    ----------
    batches_ : pandas.Index
        Batch labels, sorted (R factor level order).
    design_columns_ : list of str
        Columns of the GLM design: batch indicators, group dummies, covariates.
    batch_info_ : pandas.DataFrame
        Per batch ``n_samples``, ``dispersion_common`` and ``genewise`` (False when the batch
        has no more samples than covariate columns + 1, or its design is rank deficient: then
        the common dispersion is every gene's, as in sva).
    unadjusted_genes_ : pandas.DataFrame
        ``gene``, ``batch``, ``reason``: genes zero in every sample of a batch, returned
        unchanged in every batch (as sva).
    gamma_hat_, gamma_star_, phi_hat_, phi_star_ : pandas.DataFrame
        Batch x gene batch effects (log scale) and NB dispersions before/after shrinkage (equal
        without ``shrink``); NaN for unadjusted genes.
    phi_pooled_ : pandas.Series
        Per gene mean over batches of ``phi_star`` (the dispersion of the batch-free counts).
    alpha_ : pandas.Series
        Per gene sample-size-weighted mean batch coefficient ``alpha_g``.
    coef_ : pandas.DataFrame
        Design column x gene coefficients of the second GLM (offset ``log N + alpha``), which
        give the fitted means ``mu_hat`` of any sample.
    """

    def __init__(self, full_mod: bool = True, shrink: bool = False, shrink_disp: bool = False,
                 gene_subset_n: int | None = None, rng=None):
        self.full_mod = full_mod
        self.shrink = shrink
        self.shrink_disp = shrink_disp
        self.gene_subset_n = gene_subset_n
        self.rng = rng

    def _design(self, n, index, codes, group, covariates, fit):
        """sva's design ``[batch indicators, group dummies, covariates]`` and its column names."""
        gf = None if group is None else _per_sample(group, index, n, "group")
        cf = None if covariates is None else _per_sample(covariates, index, n, "covariates")
        if fit:
            lev = None if gf is None else _levels(gf.iloc[:, 0])
            self._group_spec = [(gf.columns[0], lev)] if self.full_mod and gf is not None \
                and len(lev) > 1 else []
            self._cov_spec = None if cf is None else [
                (c, None if pd.api.types.is_numeric_dtype(cf[c])
                 and not pd.api.types.is_bool_dtype(cf[c]) else _levels(cf[c])) for c in cf]
        for frame, spec, what in ((gf, self._group_spec, "group"),
                                  (cf, self._cov_spec, "covariates")):
            if frame is None and spec:
                raise InputError(f"ComBatSeq was fitted with {what}; pass the same {what}= here")
        if not fit and cf is not None and self._cov_spec is None:
            raise InputError("ComBatSeq was fitted without covariates; pass none here")
        cols = list(np.eye(len(self.batches_))[codes].T)
        names = [f"batch[{b}]" for b in self.batches_]
        for frame, spec in ((gf, self._group_spec), (cf, self._cov_spec or [])):
            if spec:
                c, nm = _model_columns(frame, spec)
                cols, names = cols + c, names + nm
        if fit:  # sva drops all-ones columns (the intercepts)
            self._cols = [j for j, c in enumerate(cols) if not np.all(c == 1)]
        return np.column_stack([cols[j] for j in self._cols]), [names[j] for j in self._cols]

    def _check_rank(self, design):
        """sva's confounding check (a rank-deficient design), with the fix."""
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise InputError(
                f"the design {self.design_columns_} is rank deficient: a covariate or the group is "
                "confounded with batch or with another covariate, so batch and biological effects "
                "cannot be separated; remove the confounded covariate(s), or adjust within strata")

    def fit(self, X, batch, covariates=None, group=None):
        """Estimate dispersions, batch effects and GLM coefficients from training counts.

        Parameters
        ----------
        X : DataFrame or array, samples x genes, raw counts
        batch : array-like or Series (aligned by sample ID when X is a DataFrame)
        covariates : DataFrame, Series, array or None
            sva's ``covar_mod``: numeric columns enter as they are, others are dummy coded.
        group : array-like or Series or None
            Biological condition to preserve (sva ``group``).

        Returns
        -------
        self
        """
        Y, index, genes = _counts(X)
        n, p = Y.shape
        self.feature_names_in_, self.n_features_in_ = genes, p
        b = _per_sample(batch, index, n, "batch").iloc[:, 0]
        self.batches_ = pd.Index(_levels(b))
        nb = len(self.batches_)
        if nb < 2:
            raise InputError(f"ComBat-seq needs at least two batches; all samples are in batch "
                             f"{self.batches_[0]!r}, so there is nothing to adjust")
        codes = self.batches_.get_indexer(b)
        n_b = np.bincount(codes, minlength=nb)
        if (n_b < 2).any():
            raise InputError(
                f"batch(es) {listing(self.batches_[n_b < 2])} have a single sample: ComBat-seq "
                "cannot estimate a batch's dispersion from one sample (sva stops too); merge "
                "it with a similar batch or drop it")
        design, self.design_columns_ = self._design(n, index, codes, group, covariates, True)
        self._check_rank(design)
        zero = np.array([(Y[codes == i] == 0).all(axis=0) for i in range(nb)])  # nb x p
        gi, bi = np.nonzero(zero.T)
        self.unadjusted_genes_ = pd.DataFrame({
            "gene": genes[gi], "batch": self.batches_[bi],
            "reason": [f"zero in every sample of batch {self.batches_[i]!r}: left unadjusted in "
                       "every batch (as sva::ComBat_seq)" for i in bi]})
        self._keep = keep = ~zero.any(axis=0)
        if not keep.any():
            raise InputError("every gene is zero in every sample of some batch, so no gene can be "
                             "adjusted; check that X holds counts of the same genes in all batches")
        Yk = Y[:, keep].T  # genes x samples (R orientation)
        lib = self._libsizes(Yk.T, index)
        phi = self._dispersions(Yk, codes, n_b, design)
        shrunk1 = _glm_fit(Yk, design, phi[:, codes], np.log(lib), 1e-4)[0]
        alpha = shrunk1[:, :nb] @ (n_b / n)
        off2 = np.log(lib)[None, :] + alpha[:, None]
        gamma_hat, coef, mu_hat = _glm_fit(Yk, design, phi[:, codes], off2, 1e-4)
        gamma_hat = gamma_hat[:, :nb]
        gamma_star, phi_star = gamma_hat.copy(), phi.copy()
        if self.shrink:
            rng, m = check_rng(self.rng), self._subset_n(Yk.shape[0])
            for i in range(nb):
                s = codes == i
                gamma_star[:, i], ps = _mc_posterior(Yk[:, s], mu_hat[:, s], gamma_hat[:, i],
                                                     phi[:, i], m, rng)
                if self.shrink_disp:
                    phi_star[:, i] = ps
        self._store(genes, keep, gamma_hat, gamma_star, phi, phi_star, alpha, coef)
        return self

    @staticmethod
    def _libsizes(Yk, index):
        lib = Yk.sum(axis=1)
        if (lib == 0).any():
            raise InputError(f"sample(s) {listing(_ids(index, len(lib))[lib == 0])} have no reads "
                             "in the adjustable genes (library size 0); drop them")
        return lib

    def _subset_n(self, n_genes):
        m = self.gene_subset_n
        if m is not None and (int(m) != m or not 1 <= m <= n_genes - 1):
            raise InputError(f"gene_subset_n={m!r} must be a whole number between 1 and the number "
                             f"of adjustable genes - 1 ({n_genes - 1}); lower it or use None (all)")
        return None if m is None else int(m)

    def _dispersions(self, Yk, codes, n_b, design):
        """Per-batch common and genewise Cox-Reid dispersions (genes x batches), as sva."""
        nb = len(self.batches_)
        mod = np.hstack([np.ones((design.shape[0], 1)), design[:, nb:]])
        phi = np.empty((Yk.shape[0], nb))
        common, genewise = [], []
        for i in range(nb):
            s = codes == i
            full = not (n_b[i] <= design.shape[1] - nb + 1
                        or np.linalg.matrix_rank(mod[s]) < mod.shape[1])
            c = _common_dispersion(Yk[:, s], mod[s] if full else np.ones((s.sum(), 1)))
            if c is None:
                raise InputError(f"batch {self.batches_[i]!r} has no gene with 5 or more reads, so "
                                 "its dispersion cannot be estimated (edgeR stops too); check its "
                                 "counts or drop the batch")
            phi[:, i] = _genewise_dispersion(Yk[:, s], mod[s], c) if full else c
            common.append(c)
            genewise.append(full)
        self.batch_info_ = pd.DataFrame({"n_samples": n_b, "dispersion_common": common,
                                         "genewise": genewise}, index=self.batches_)
        return phi

    def _store(self, genes, keep, gamma_hat, gamma_star, phi, phi_star, alpha, coef):
        def full(a, index=None):
            out = np.full((a.shape[1], len(genes)), np.nan)
            out[:, keep] = a.T
            return pd.DataFrame(out, index=self.batches_ if index is None else index, columns=genes)

        self.gamma_hat_, self.gamma_star_ = full(gamma_hat), full(gamma_star)
        self.phi_hat_, self.phi_star_ = full(phi), full(phi_star)
        self.phi_pooled_ = full(phi_star.mean(axis=1, keepdims=True), ["phi_pooled"]).iloc[0]
        self.alpha_ = full(alpha[:, None], ["alpha"]).iloc[0]
        self.coef_ = full(coef, self.design_columns_)

    def transform(self, X, batch, covariates=None, group=None):
        """Adjusted counts of samples from batches seen in fit (same labels as ``X``).

        Each sample's library size is the sum of its own counts over the adjusted genes, its
        fitted mean ``mu_hat = exp(log N + alpha + x' coef)``; counts are then mapped through
        the NB quantiles (module docstring, step 5).  Unadjusted genes are returned unchanged.

        Parameters
        ----------
        X, batch, covariates, group
            As in ``fit``; every batch must have been seen in fit, and the group levels and
            covariate columns must be those of fit.

        Returns
        -------
        DataFrame (if ``X`` is one, same index and columns) or array of int64 adjusted counts.
        """
        if not hasattr(self, "coef_"):
            raise InputError("this ComBatSeq is not fitted yet; call fit first")
        Y, index, genes = _counts(X)
        n = Y.shape[0]
        if Y.shape[1] != self.n_features_in_ or (
                isinstance(X, pd.DataFrame) and not np.array_equal(genes, self.feature_names_in_)):
            raise InputError(f"X has {Y.shape[1]} genes / gene names different from the "
                             f"{self.n_features_in_} seen in fit; pass the same genes in the same "
                             "order")
        b = _per_sample(batch, index, n, "batch").iloc[:, 0]
        codes = self.batches_.get_indexer(b)
        if (codes < 0).any():
            unseen = sorted(set(map(str, b[codes < 0])))
            raise InputError(f"batch(es) {unseen} were not seen in fit "
                             f"(fitted batches: {[str(v) for v in self.batches_]}); ComBat-seq "
                             "adjusts only batches it was fitted on: refit including them")
        design, _ = self._design(n, index, codes, group, covariates, False)
        k = self._keep
        off = np.log(self._libsizes(Y[:, k], index))[None, :] + self.alpha_.to_numpy()[k][:, None]
        mu_hat = np.exp(_linpred(off, self.coef_.to_numpy()[:, k].T, design)).T
        mu_star = np.exp(np.log(mu_hat) - self.gamma_star_.to_numpy()[:, k][codes])
        old_phi = self.phi_hat_.to_numpy()[:, k][codes]
        new_phi = np.broadcast_to(self.phi_pooled_.to_numpy()[k], mu_hat.shape)
        out = Y.copy()
        out[:, k] = _match_quantiles(Y[:, k], mu_hat, old_phi, mu_star, new_phi)
        out = out.astype(np.int64)
        return pd.DataFrame(out, index=X.index, columns=X.columns) if isinstance(X, pd.DataFrame) \
            else out

    def fit_transform(self, X, batch, covariates=None, group=None):
        """``fit(...).transform(...)`` on the same samples: ``sva::ComBat_seq``'s output."""
        return self.fit(X, batch, covariates, group).transform(X, batch, covariates, group)
