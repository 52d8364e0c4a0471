"""MOFA+ factor analysis of partially paired imaging-omics views, on real mofapy2.

:class:`MOFA` fits mofapy2 (Argelaguet et al. 2020, *Genome Biology* 21:111) on any subset of a
:class:`~radiogenomics.Cohort`'s views (or a dict of DataFrames indexed by sample ID) through
mofapy2's own ``entry_point`` (the calls MOFA2's ``run_mofa`` makes: ``set_data_matrix``,
``set_data_options``, ``set_model_options``, ``set_train_options``, ``build``, ``run``,
``save``): samples missing a whole view stay in, and scattered missing values (a Cohort built
with ``nan_policy="keep"``) are passed to mofapy2 as NaN, unimputed - mofapy2 leaves those
cells out of the likelihood.  ``groups="centre"`` fits the multi-group model with one group per
centre, and the fit reports which samples had which views and what was removed before fitting
and why.  Views go through the shared input layer (:mod:`radiogenomics._checks`): text
columns, inf, duplicated or missing IDs are refused with the view, samples and features
named.

The result, :class:`MOFAResult`, is read back from mofapy2's own HDF5 file (the format MOFA2's
``load_model()`` opens in R), so a fitted model and a loaded one are the same object:
factors, weights per view, variance explained per factor x view x group (percent, as MOFA2
reports it), total R2 per view, the ELBO trace and convergence.  Downstream analyses, as MOFA2
users know them:

* :meth:`MOFAResult.correlate` - factors against covariates / imaging traits with parametric
  and permutation p-values (resampling engine, within centres if asked); factors whose R2 is
  below ``min_r2`` in every view are not tested (a factor that explains nothing can still
  correlate with a covariate by chance, see the shared references' notes);
* :meth:`MOFAResult.top_weights`, :meth:`MOFAResult.enrichment` (feature-set enrichment of
  the weights, PCGSE-style as MOFA2's ``run_enrichment``);
* :meth:`MOFAResult.impute` - missing views predicted from ``Z W'``;
* :meth:`MOFAResult.leakage` - how well centre is predicted from each factor (a factor that
  mainly encodes site is flagged);
* :func:`factor_stability` - refits over seeds (optionally on subsamples) and matches factors
  by absolute correlation.

Measured facts this module builds on (``../shared/refdata/mofa/README.md``): mofapy2 depends on
the data scale (all-gaussian likelihoods or an unscaled small-variance view collapse every
factor), so views are scaled to unit variance by default (``scale_views=True``, mofapy2's own
option) and ``standardize`` z-scores features of chosen views; likelihoods are guessed per
view (binary 0/1 -> bernoulli, else gaussian; poisson only when asked); mofapy2 initialises
from PCA, so seeds rarely matter; ``gpu_mode=True`` silently falls back to the CPU without
CuPy, so ``gpu=True`` checks for CuPy and says so.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ._checks import InputError, check_rng, listing, numeric_frame

__all__ = ["MOFA", "MOFAResult", "MOFAError", "load_mofa", "factor_stability",
           "FactorAssociation", "EnrichmentResult", "StabilityResult"]

LIKELIHOODS = ("gaussian", "bernoulli", "poisson")
CONVERGENCE = ("fast", "medium", "slow")


class MOFAError(InputError):
    """Invalid input to :class:`MOFA` (names the problem and the fix); an
    :class:`~radiogenomics._checks.InputError`, so a ``RadiogenomicsError`` too."""


def _seed_from(rng) -> int:
    """An int seed for mofapy2 from ``rng`` (SPEC 7 via :func:`~radiogenomics._checks.check_rng`:
    None, int, SeedSequence, BitGenerator or Generator).  An int is passed to mofapy2 as is
    (so ``rng=42`` is mofapy2's ``seed=42``); anything else draws one int seed from it."""
    gen = check_rng(rng)            # refuses bool, negative ints, RandomState, other types
    if isinstance(rng, (int, np.integer)):
        return int(rng) % (2**32)
    return int(gen.integers(0, 2**31 - 1))


def _dec(x):
    if isinstance(x, bytes):
        return x.decode()
    if isinstance(x, np.ndarray) and x.dtype.kind in "OS":
        return [v.decode() if isinstance(v, bytes) else str(v) for v in x.tolist()]
    return x


# ------------------------------------------------------------------------------------ input

def _collect_views(data, views, what="data") -> dict[str, pd.DataFrame]:
    from .cohort import Cohort

    if isinstance(data, Cohort):
        names = list(views) if views is not None else list(data.view_names)
        missing = [v for v in names if v not in data]
        if missing:
            raise MOFAError(f"views {missing} are not in the cohort (it has {data.view_names})")
        out = {v: data[v] for v in names}
    elif isinstance(data, Mapping):
        names = list(views) if views is not None else list(data)
        missing = [v for v in names if v not in data]
        if missing:
            raise MOFAError(f"views {missing} are not among the given views {list(data)}")
        out = {}
        for v in names:
            df = data[v]
            if not isinstance(df, pd.DataFrame):
                raise MOFAError(f"view {v!r} must be a DataFrame indexed by sample ID, got "
                                f"{type(df).__name__}")
            out[v] = df
    else:
        raise MOFAError(f"{what} must be a Cohort or a dict of DataFrames (view name -> samples "
                        f"x features), got {type(data).__name__}")
    if not out:
        raise MOFAError("no views given; pass at least one view")
    for v, df in out.items():
        # the shared input layer: empty views, MultiIndex, missing/duplicated sample or feature
        # IDs, complex, text and numbers-stored-as-text columns, each named with the fix
        # (object columns that hold numbers, not text, are inferred as numbers first)
        try:
            out[v] = numeric_frame(df.infer_objects(), f"view {v!r}", string_ids=False)
        except InputError as e:
            raise MOFAError(str(e)) from None
    return out


def _guess_likelihood(values: np.ndarray) -> str:
    obs = values[~np.isnan(values)]
    if obs.size and np.isin(obs, (0.0, 1.0)).all():
        return "bernoulli"
    return "gaussian"


@dataclass
class _Prepared:
    views: dict[str, pd.DataFrame]        # samples (union, ordered) x kept features
    likelihoods: list[str]
    samples: pd.Index
    groups: pd.Series | None
    removed: pd.DataFrame                  # what, name, view, reason
    presence: pd.DataFrame                 # samples x views (bool)
    original: dict[str, pd.DataFrame]      # kept features before standardisation
    std_params: dict[str, tuple]           # view -> (means, sds) of the z-scoring


# ------------------------------------------------------------------------------------ model

class MOFA:
    """MOFA+ on a Cohort's views with mofapy2 underneath.

    Parameters
    ----------
    n_factors : int
        Initial number of factors K (mofapy2's ``factors``); inactive ones end with R2 ~ 0
        (see :meth:`MOFAResult.active_factors`) or are dropped during training when
        ``drop_factor_threshold`` is set.
    likelihoods : None, str, list or dict
        Per view ``"gaussian"``, ``"bernoulli"`` or ``"poisson"``; None guesses (0/1 data ->
        bernoulli, else gaussian).  A dict maps view names; a list follows the view order.
    groups : None, "centre", Series
        Multi-group MOFA+: ``"centre"`` uses the Cohort's centre, a Series maps sample ID to
        group.  Group-wise ARD on the factors is switched on with several groups (as mofapy2
        recommends) unless ``ard_factors`` says otherwise.
    scale_views : bool
        mofapy2's ``scale_views``: each gaussian view divided by its overall SD after
        centring, so views of different scale weigh alike (default True; the measured
        collapse of factors on unscaled small-variance views is why).
    scale_groups, center_groups : bool
        mofapy2's options of the same names.
    standardize : bool or list of str
        Z-score every feature of these gaussian views (True: all gaussian views) before
        fitting; recommended for radiomic views whose features have arbitrary units.
    spikeslab_weights, ard_weights, ard_factors :
        mofapy2's priors (defaults as mofapy2; ``ard_factors=None`` means "True with several
        groups").
    convergence : {"fast", "medium", "slow"}
        mofapy2's ``convergence_mode`` (ELBO change tolerance 5e-4 / 5e-5 / 5e-6 percent).
    max_iter : int
    drop_factor_threshold : float or None
        mofapy2's ``dropR2``: drop factors explaining less than this fraction of variance in
        every view during training.
    rng : int, Generator or None
        Seed (SPEC 7).  A Generator or None draws an int seed for mofapy2, which seeds NumPy's
        global generator with it (mofapy2's own behaviour).
    gpu : bool
        Pass ``gpu_mode=True`` to mofapy2 (CuPy).  Without CuPy mofapy2 would silently run on
        the CPU; here a warning says so and ``result.gpu_used`` is False.
    verbose : bool
        Print mofapy2's own output (it is always kept in ``result.log``).
    """

    def __init__(self, n_factors: int = 10, likelihoods=None, groups=None,
                 scale_views: bool = True, scale_groups: bool = False, center_groups: bool = True,
                 standardize: bool | Sequence[str] = False, spikeslab_weights: bool = True,
                 ard_weights: bool = True, ard_factors: bool | None = None,
                 convergence: str = "fast", max_iter: int = 1000,
                 drop_factor_threshold: float | None = None, rng=None, gpu: bool = False,
                 verbose: bool = False):
        self.n_factors = n_factors
        self.likelihoods = likelihoods
        self.groups = groups
        self.scale_views = scale_views
        self.scale_groups = scale_groups
        self.center_groups = center_groups
        self.standardize = standardize
        self.spikeslab_weights = spikeslab_weights
        self.ard_weights = ard_weights
        self.ard_factors = ard_factors
        self.convergence = convergence
        self.max_iter = max_iter
        self.drop_factor_threshold = drop_factor_threshold
        self.rng = rng
        self.gpu = gpu
        self.verbose = verbose

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "n_factors", "likelihoods", "groups", "scale_views", "scale_groups", "center_groups",
            "standardize", "spikeslab_weights", "ard_weights", "ard_factors", "convergence",
            "max_iter", "drop_factor_threshold", "rng", "gpu", "verbose")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if k in ("n_factors", "groups", "scale_views", "convergence", "rng"))
        return f"MOFA({args})"

    # ----------------------------------------------------------------------------- checks
    def _check_options(self):
        if not isinstance(self.n_factors, (int, np.integer)) or self.n_factors < 1:
            raise MOFAError(f"n_factors must be a positive integer, got {self.n_factors!r}")
        if self.convergence not in CONVERGENCE:
            raise MOFAError(f"convergence must be one of {CONVERGENCE}, got {self.convergence!r}")
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise MOFAError(f"max_iter must be a positive integer, got {self.max_iter!r}")

    def _likelihood_list(self, views: dict[str, pd.DataFrame]) -> list[str]:
        names = list(views)
        lk = self.likelihoods
        if lk is None:
            out = [_guess_likelihood(views[v].to_numpy(dtype=float)) for v in names]
        elif isinstance(lk, str):
            out = [lk] * len(names)
        elif isinstance(lk, Mapping):
            unknown = [k for k in lk if k not in views]
            if unknown:
                raise MOFAError(f"likelihoods name views {unknown} that are not fitted ({names})")
            out = [lk.get(v) or _guess_likelihood(views[v].to_numpy(dtype=float)) for v in names]
        else:
            out = list(lk)
            if len(out) != len(names):
                raise MOFAError(f"{len(out)} likelihoods for {len(names)} views {names}; give one "
                                "per view (or a dict view -> likelihood)")
        for v, l in zip(names, out):
            if l not in LIKELIHOODS:
                raise MOFAError(f"likelihood {l!r} of view {v!r} is not one of {LIKELIHOODS}")
            vals = views[v].to_numpy(dtype=float)
            obs = vals[~np.isnan(vals)]
            if l == "bernoulli" and not np.isin(obs, (0.0, 1.0)).all():
                raise MOFAError(f"view {v!r} has values other than 0/1 but likelihood "
                                "'bernoulli'; binarise it or use 'gaussian'")
            if l == "poisson" and (np.any(obs < 0) or np.any(obs % 1 != 0)):
                raise MOFAError(f"view {v!r} has negative or non-integer values but likelihood "
                                "'poisson'; give counts or use 'gaussian'")
        return out

    def _prepare(self, data, views) -> _Prepared:
        from .cohort import Cohort

        raw = _collect_views(data, views)
        removed: list[dict] = []
        clean: dict[str, pd.DataFrame] = {}
        for v, df in raw.items():
            num = df.astype(float)              # numeric_frame has checked every column
            arr = num.to_numpy()
            inf = np.isinf(arr)
            if inf.any():
                raise MOFAError(
                    f"view {v!r} has {int(inf.sum())} infinite value(s) in sample(s) "
                    f"{listing(num.index[inf.any(axis=1)])} and feature(s) "
                    f"{listing(num.columns[inf.any(axis=0)])}; inf is not a missing value: "
                    "replace it by NaN (MOFA+ models missing values) or a finite value")
            keep = np.ones(num.shape[1], dtype=bool)
            obs = ~np.isnan(arr)
            for j in np.flatnonzero(obs.sum(axis=0) < 2):
                keep[j] = False
                removed.append({"what": "feature", "name": num.columns[j], "view": v,
                                "reason": "fewer than 2 observed values"})
            sd = np.zeros(arr.shape[1])      # features with < 2 observed values are dropped above
            if keep.any():
                sd[keep] = np.nanstd(arr[:, keep], axis=0)
            for j in np.flatnonzero(keep & (np.nan_to_num(sd) == 0)):
                keep[j] = False
                removed.append({"what": "feature", "name": num.columns[j], "view": v,
                                "reason": "constant over the observed samples"})
            num = num.loc[:, keep]
            if num.shape[1] == 0:
                raise MOFAError(f"view {v!r} has no usable feature left (all constant or "
                                "missing); drop the view")
            empty = num.index[num.isna().all(axis=1)]
            for s in empty:
                removed.append({"what": "sample_view", "name": s, "view": v,
                                "reason": "all features missing: treated as a missing view"})
            clean[v] = num.drop(index=empty)
        likelihoods = self._likelihood_list(clean)
        original = {v: df.copy() for v, df in clean.items()}
        std_params: dict[str, tuple[pd.Series, pd.Series]] = {}
        std_views = ([v for v, l in zip(clean, likelihoods) if l == "gaussian"]
                     if self.standardize is True else list(self.standardize or []))
        for v in std_views:
            if v not in clean:
                raise MOFAError(f"standardize names view {v!r}, which is not fitted")
            if likelihoods[list(clean).index(v)] != "gaussian":
                raise MOFAError(f"standardize: view {v!r} is not gaussian; only gaussian views "
                                "can be z-scored")
            df = clean[v]
            std_params[v] = (df.mean(), df.std(ddof=1))
            clean[v] = (df - std_params[v][0]) / std_params[v][1]
        # union of samples, order of first appearance in the views as given
        samples = pd.Index(pd.unique(np.concatenate([df.index.to_numpy(dtype=object)
                                                     for df in raw.values()])), name="sample_id")
        no_view = samples[~np.any([samples.isin(df.index) for df in clean.values()], axis=0)]
        if len(no_view):
            for s_ in no_view:
                removed.append({"what": "sample", "name": s_, "view": None,
                                "reason": "no observed value in any view"})
            samples = samples.difference(no_view, sort=False)
        # groups
        groups = None
        g = self.groups
        if g is not None:
            if isinstance(g, str):
                if g != "centre":
                    raise MOFAError(f"groups must be None, 'centre' or a Series, got {g!r}")
                if not isinstance(data, Cohort) or data.centre is None:
                    raise MOFAError("groups='centre' needs a Cohort with a centre; pass a Series "
                                    "sample -> group instead")
                g = data.centre
            if not isinstance(g, pd.Series):
                raise MOFAError("groups must be a Series indexed by sample ID (or 'centre')")
            miss = samples.difference(g.dropna().index)
            if len(miss):
                raise MOFAError(f"groups has no value for {len(miss)} sample(s), e.g. "
                                f"{list(miss[:5])}; give every sample a group")
            groups = g.reindex(samples).astype(str)
            small = groups.value_counts()
            small = small[small < 2]
            if len(small):
                raise MOFAError(f"group(s) {list(small.index)} have fewer than 2 samples; merge "
                                "them or drop those samples")
        n = len(samples)
        if n < 5:
            raise MOFAError(f"only {n} samples; MOFA needs at least 5 (and 15+ per group to "
                            "learn meaningful factors)")
        if self.n_factors >= n:
            raise MOFAError(f"n_factors={self.n_factors} is not below the number of samples "
                            f"({n}); use fewer factors")
        presence = pd.DataFrame({v: samples.isin(df.index) for v, df in clean.items()},
                                index=samples)
        views_full = {v: df.reindex(samples) for v, df in clean.items()}
        rem = pd.DataFrame(removed, columns=["what", "name", "view", "reason"])
        return _Prepared(views=views_full, likelihoods=likelihoods, samples=samples,
                         groups=groups, removed=rem, presence=presence,
                         original={v: df.reindex(samples) for v, df in original.items()},
                         std_params=std_params)

    # ----------------------------------------------------------------------------- fit
    def fit(self, data, views: Sequence[str] | None = None, outfile=None) -> "MOFAResult":
        """Fit mofapy2 on ``views`` of ``data`` (a Cohort or a dict of DataFrames).

        ``outfile``: also keep mofapy2's HDF5 model at this path (otherwise it lives in a
        temporary file that is read back and removed; :meth:`MOFAResult.save` writes it
        later).
        """
        self._check_options()
        prep = self._prepare(data, views)
        seed = _seed_from(self.rng)
        gpu_used = False
        if self.gpu:
            from .resampling.backend import cupy_available

            gpu_used = cupy_available()
            if not gpu_used:
                warnings.warn("gpu=True but CuPy cannot be imported or sees no CUDA device: "
                              "mofapy2 would silently run on the CPU, so the model is fitted on "
                              "the CPU (install the 'gpu' extra for CuPy)", RuntimeWarning,
                              stacklevel=2)
        t0 = time.perf_counter()
        buf = io.StringIO()
        tmpdir = None
        if outfile is None:
            tmpdir = tempfile.mkdtemp(prefix="radiogenomics_mofa_")
            path = Path(tmpdir) / "model.hdf5"
        else:
            path = Path(outfile)
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with contextlib.redirect_stdout(buf if not self.verbose else _Tee(buf)), \
                    warnings.catch_warnings():
                # mofapy2's ELBO evaluates S log S at S = 0 and handles the NaN itself
                warnings.filterwarnings("ignore", category=RuntimeWarning, module="mofapy2")
                ent = _run_mofapy2(prep, self, seed, gpu_used, str(path))
            seconds = time.perf_counter() - t0
            result = MOFAResult.from_hdf5(path)
        finally:
            if tmpdir is not None:
                hdf5_bytes = path.read_bytes() if path.is_file() else None
                import shutil
                shutil.rmtree(tmpdir, ignore_errors=True)
            else:
                hdf5_bytes = None
        # mofapy2 stores sample names as text: give back the caller's own ID objects
        by_text = {str(s_): s_ for s_ in prep.samples}
        if len(by_text) == len(prep.samples):
            result.factors.index = pd.Index([by_text.get(s_, s_) for s_ in result.factors.index],
                                            name=result.factors.index.name)
            result.groups_of_samples.index = result.factors.index
        result._hdf5_bytes = hdf5_bytes
        result.source = None if outfile is None else str(path)
        result.likelihoods = dict(zip(prep.views, prep.likelihoods))
        result.view_presence = prep.presence
        result.removed = prep.removed
        result.seconds = seconds
        result.seed = seed
        result.gpu_used = gpu_used
        result.log = buf.getvalue()
        result.options = self.get_params()
        result.groups_of_samples = (prep.groups if prep.groups is not None else
                                    pd.Series(result.groups[0], index=prep.samples))
        result._input = {"fitted": prep.views, "original": prep.original,
                         "std_params": prep.std_params}
        result.converged = result.n_iter < int(self.max_iter)
        del ent
        return result


class _Tee(io.TextIOBase):
    def __init__(self, buf):
        self.buf = buf

    def write(self, s):
        import sys
        self.buf.write(s)
        return sys.__stdout__.write(s)


def _run_mofapy2(prep: _Prepared, opts: MOFA, seed: int, gpu: bool, outfile: str):
    from mofapy2.run.entry_point import entry_point

    ent = entry_point()
    ent.set_data_options(scale_views=bool(opts.scale_views), scale_groups=bool(opts.scale_groups),
                         center_groups=bool(opts.center_groups))
    names = list(prep.views)
    if prep.groups is None:
        data = [[prep.views[v].to_numpy(dtype=float)] for v in names]
        samples_names = [[str(s) for s in prep.samples]]
        groups_names = ["group1"]  # MOFA2's name for the single group (mofapy2 says group0)
    else:
        gnames = list(pd.unique(prep.groups))
        data = [[prep.views[v].loc[prep.groups == g].to_numpy(dtype=float) for g in gnames]
                for v in names]
        samples_names = [[str(s) for s in prep.samples[prep.groups.to_numpy() == g]]
                         for g in gnames]
        groups_names = gnames
    ent.set_data_matrix(data, likelihoods=list(prep.likelihoods), views_names=names,
                        groups_names=groups_names, samples_names=samples_names,
                        features_names=[[str(c) for c in prep.views[v].columns] for v in names])
    n_groups = 1 if prep.groups is None else prep.groups.nunique()
    ard_factors = opts.ard_factors if opts.ard_factors is not None else n_groups > 1
    ent.set_model_options(factors=int(opts.n_factors), spikeslab_weights=opts.spikeslab_weights,
                          ard_weights=opts.ard_weights, ard_factors=ard_factors)
    ent.set_train_options(iter=int(opts.max_iter), convergence_mode=opts.convergence, seed=seed,
                          dropR2=opts.drop_factor_threshold, gpu_mode=bool(gpu),
                          verbose=False, quiet=not opts.verbose)
    ent.build()
    ent.run()
    ent.save(outfile, save_data=True)
    return ent


# ------------------------------------------------------------------------------------ result

@dataclass
class MOFAResult:
    """A fitted (or loaded) MOFA+ model.

    Attributes
    ----------
    factors : DataFrame
        Samples x factors (``Factor1``..), the posterior means of Z, samples in the order
        they were given.
    weights : dict
        View -> DataFrame features x factors (posterior means of W).
    r2 : DataFrame
        Variance explained (percent) per factor, view and group (long format: columns
        ``factor``, ``view``, ``group``, ``r2``), as MOFA2's ``get_variance_explained``.
    r2_total : DataFrame
        Total variance explained (percent) per view (rows) and group (columns).
    elbo : Series
        ELBO by iteration (iterations where mofapy2 computed it).
    n_iter, converged, seconds, seed, gpu_used, likelihoods, view_presence, removed, log :
        Fit diagnostics: iterations run; True when training stopped before ``max_iter``; wall
        time; mofapy2 seed; whether CuPy was used; likelihood per view; samples x views
        presence; features/sample-views removed before fitting with the reason; mofapy2's
        printed output.
    views, groups : list of str
    """

    factors: pd.DataFrame
    weights: dict[str, pd.DataFrame]
    r2: pd.DataFrame
    r2_total: pd.DataFrame
    elbo: pd.Series
    n_iter: int
    views: list[str]
    groups: list[str]
    likelihoods: dict[str, str] = field(default_factory=dict)
    intercepts: dict[str, pd.DataFrame] = field(default_factory=dict)
    view_presence: pd.DataFrame | None = None
    removed: pd.DataFrame | None = None
    converged: bool | None = None
    seconds: float | None = None
    seed: int | None = None
    gpu_used: bool = False
    log: str = ""
    options: dict = field(default_factory=dict)
    source: str | None = None
    groups_of_samples: pd.Series | None = None
    _input: dict | None = field(default=None, repr=False)
    _hdf5_bytes: bytes | None = field(default=None, repr=False)

    # ----------------------------------------------------------------------------- I/O
    @classmethod
    def from_hdf5(cls, path) -> "MOFAResult":
        """Read a model saved by mofapy2 (``entry_point.save``) or by :meth:`save`."""
        import h5py

        path = Path(path)
        if not path.is_file():
            raise MOFAError(f"model file {str(path)!r} does not exist")
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise MOFAError(f"cannot read {str(path)!r} as an HDF5 MOFA model ({e})") from None
        with f:
            for key in ("expectations", "views", "groups", "samples", "features"):
                if key not in f:
                    raise MOFAError(f"{str(path)!r} is not a mofapy2 model file (no {key!r} "
                                    "entry)")
            views = _dec(f["views"]["views"][()])
            groups = _dec(f["groups"]["groups"][()])
            samples = {g: _dec(f["samples"][g][()]) for g in groups}
            feats = {v: _dec(f["features"][v][()]) for v in views}
            Z = [np.asarray(f["expectations"]["Z"][g][()]).T for g in groups]
            K = Z[0].shape[1]
            fac = [f"Factor{k + 1}" for k in range(K)]
            sample_idx = pd.Index([s for g in groups for s in samples[g]], name="sample_id")
            factors = pd.DataFrame(np.vstack(Z), index=sample_idx, columns=fac)
            weights = {v: pd.DataFrame(np.asarray(f["expectations"]["W"][v][()]).T,
                                       index=pd.Index(feats[v], name="feature"), columns=fac)
                       for v in views}
            rows = []
            tot = {}
            ve = f.get("variance_explained")
            for g in groups:
                if ve is not None and "r2_per_factor" in ve:
                    arr = np.asarray(ve["r2_per_factor"][g][()])  # views x factors
                    for i, v in enumerate(views):
                        for k in range(K):
                            rows.append({"factor": fac[k], "view": v, "group": g,
                                         "r2": float(arr[i, k])})
                if ve is not None and "r2_total" in ve:
                    tot[g] = np.asarray(ve["r2_total"][g][()])
            r2 = pd.DataFrame(rows, columns=["factor", "view", "group", "r2"])
            r2_total = pd.DataFrame(tot, index=pd.Index(views, name="view"))
            ts = f.get("training_stats")
            elbo = pd.Series(dtype=float, name="elbo")
            n_iter = 0
            if ts is not None and "elbo" in ts:
                e = np.asarray(ts["elbo"][()], dtype=float)
                n_iter = max(len(e) - 1, 0)
                elbo = pd.Series(e, index=pd.RangeIndex(len(e), name="iteration"),
                                 name="elbo").dropna()
            intercepts = {}
            if "intercepts" in f:
                for v in views:
                    if v in f["intercepts"]:
                        intercepts[v] = pd.DataFrame(
                            {g: np.asarray(f["intercepts"][v][g][()]) for g in groups
                             if g in f["intercepts"][v]}, index=pd.Index(feats[v], name="feature"))
            likelihoods = {}
            mo = f.get("model_options")
            if mo is not None and "likelihoods" in mo:
                likelihoods = dict(zip(views, _dec(np.asarray(mo["likelihoods"][()]))))
        res = cls(factors=factors, weights=weights, r2=r2, r2_total=r2_total, elbo=elbo,
                  n_iter=n_iter, views=list(views), groups=list(groups), likelihoods=likelihoods,
                  intercepts=intercepts, source=str(path))
        res._hdf5_bytes = path.read_bytes()
        res.groups_of_samples = pd.Series(
            [g for g in groups for _ in samples[g]], index=sample_idx, name="group")
        return res

    def save(self, path) -> Path:
        """Write the model in mofapy2's HDF5 format (MOFA2's ``load_model()`` reads it)."""
        if self._hdf5_bytes is None:
            raise MOFAError("this result holds no mofapy2 model file to save")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(self._hdf5_bytes)
        os.replace(tmp, path)
        return path

    # ----------------------------------------------------------------------------- views
    @property
    def n_factors(self) -> int:
        return self.factors.shape[1]

    def r2_table(self, group: str | None = None) -> pd.DataFrame:
        """Factors x views variance explained (percent); summed over groups' rows is not
        meaningful, so a group is chosen (default: the only one, else the mean over groups)."""
        t = self.r2 if group is None else self.r2[self.r2["group"] == group]
        tab = t.pivot_table(index="factor", columns="view", values="r2", aggfunc="mean")
        return tab.reindex(index=self.factors.columns, columns=self.views)

    def active_factors(self, min_r2: float = 1.0) -> list[str]:
        """Factors explaining at least ``min_r2`` percent of variance in some view and group."""
        best = self.r2.groupby("factor")["r2"].max().reindex(self.factors.columns).fillna(0)
        return [f for f in self.factors.columns if best[f] >= min_r2]

    def prune(self, min_r2: float = 1.0) -> "MOFAResult":
        """A copy restricted to :meth:`active_factors` (the HDF5 model is not changed)."""
        keep = self.active_factors(min_r2)
        import copy
        out = copy.copy(self)
        out.factors = self.factors[keep]
        out.weights = {v: w[keep] for v, w in self.weights.items()}
        out.r2 = self.r2[self.r2["factor"].isin(keep)].reset_index(drop=True)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Factors (samples x factors), as MOFA2's ``get_factors``."""
        return self.factors.copy()

    def summary(self) -> str:
        act = self.active_factors()
        desc = ", ".join(f"{v}: {self.weights[v].shape[0]} features, "
                         f"{self.likelihoods.get(v, '?')}" for v in self.views)
        lines = [f"MOFA+ model (mofapy2): {len(self.factors)} samples, {len(self.views)} views "
                 f"({desc}), "
                 f"{len(self.groups)} group(s), {self.n_factors} factors ({len(act)} with R2 >= 1% "
                 "in some view)"]
        if self.view_presence is not None:
            pres = self.view_presence
            counts = pres.value_counts().rename("n").reset_index()
            combos = "; ".join(
                f"{'+'.join(v for v in pres.columns if row[v]) or 'none'}: {row['n']}"
                for _, row in counts.iterrows())
            lines.append(f"  samples by views present: {combos}")
        if self.removed is not None and len(self.removed):
            lines.append(f"  removed before fitting: {len(self.removed)} entries "
                         f"(see .removed): " + ", ".join(
                             f"{k}: {n}" for k, n in self.removed["reason"].value_counts().items()))
        if self.converged is not None:
            lines.append(f"  {'converged' if self.converged else 'NOT converged'} after "
                         f"{self.n_iter} iterations ({self.seconds:.1f} s, seed {self.seed}"
                         f"{', GPU' if self.gpu_used else ''})")
        tot = self.r2_total.round(2)
        lines.append("  total R2 (%) per view: " + "; ".join(
            f"{v}: " + ", ".join(f"{tot.loc[v, g]:g}" for g in tot.columns) for v in tot.index))
        r2 = self.r2_table().loc[act].round(2) if act else None
        if r2 is not None:
            lines.append("  R2 (%) of active factors:\n" + "\n".join(
                "    " + ln for ln in r2.to_string().splitlines()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"MOFAResult({len(self.factors)} samples, views={self.views}, "
                f"groups={len(self.groups)}, factors={self.n_factors}, "
                f"active={len(self.active_factors())})")

    # ----------------------------------------------------------------------------- downstream
    def _factor_frame(self, factors, min_r2) -> tuple[pd.DataFrame, list[str]]:
        if factors is None:
            factors = self.active_factors(min_r2) if min_r2 else list(self.factors.columns)
            skipped = [f for f in self.factors.columns if f not in factors]
        else:
            factors = [f"Factor{f}" if isinstance(f, (int, np.integer)) else str(f)
                       for f in factors]
            bad = [f for f in factors if f not in self.factors.columns]
            if bad:
                raise MOFAError(f"unknown factors {bad}; the model has {list(self.factors.columns)}")
            skipped = []
        if not factors:
            raise MOFAError(f"no factor explains >= {min_r2}% of variance in any view; lower "
                            "min_r2 or refit")
        return self.factors[factors], skipped

    def correlate(self, covariates, factors=None, min_r2: float = 1.0, method: str = "pearson",
                  n_permutations: int = 0, exchangeability_blocks=None, rng=None,
                  alpha: float = 0.05) -> "FactorAssociation":
        """Correlate factors with covariates / imaging traits (MOFA2's
        ``correlate_factors_with_covariates``), each covariate on its observed samples.

        Parameters
        ----------
        covariates : DataFrame or Series
            Indexed by sample ID; numeric, boolean or two-level text columns (coded 0/1, the
            level listed second in sorted order = 1).  Columns with more levels: one-hot
            code them first.
        factors : list, optional
            Factors to test (names or 1-based numbers); default the active ones.
        min_r2 : float
            With ``factors=None``, test only factors with R2 >= ``min_r2`` percent in some
            view (0 tests all).  Skipped factors are listed in the result.
        method : {"pearson", "spearman"}
        n_permutations : int
            Permutation p-values (``(1 + #|r*| >= |r|) / (1 + B)``) from the resampling engine.
        exchangeability_blocks : "group", Series or None
            Permute within blocks (e.g. centres); ``"group"`` uses the model's groups.
        rng : int or Generator
        """
        from .association import associate
        from .resampling.indices import check_rng

        Z, skipped = self._factor_frame(factors, min_r2)
        cov = covariates.to_frame() if isinstance(covariates, pd.Series) else covariates
        if not isinstance(cov, pd.DataFrame):
            raise MOFAError("covariates must be a DataFrame or Series indexed by sample ID")
        coded = {}
        for c in cov.columns:
            col = cov[c]
            if col.dtype == bool or pd.api.types.is_numeric_dtype(col):
                coded[c] = col.astype(float)
                continue
            levels = sorted(col.dropna().astype(str).unique())
            if len(levels) != 2:
                raise MOFAError(f"covariate {c!r} has {len(levels)} text levels {levels[:6]}; "
                                "one-hot code it (pandas.get_dummies) or give a number")
            coded[c] = col.map(lambda x, hi=levels[1]: np.nan if pd.isna(x) else
                               float(str(x) == hi))
        cov = pd.DataFrame(coded, index=cov.index)
        common = Z.index.intersection(cov.index)
        if len(common) == 0:
            raise MOFAError("covariates share no sample ID with the model's samples")
        blocks = exchangeability_blocks
        if isinstance(blocks, str):
            if blocks != "group":
                raise MOFAError("exchangeability_blocks must be 'group', a Series or None")
            blocks = self.groups_of_samples
        gen = check_rng(rng)
        rows = []
        for c in cov.columns:
            ok = cov.loc[common, c].notna()
            ids = common[ok.to_numpy()]
            if len(ids) < 4 or cov.loc[ids, c].nunique() < 2:
                continue
            b = None if blocks is None else blocks.reindex(ids)
            res = associate(Z.loc[ids], cov.loc[ids, [c]], method=method,
                            n_permutations=n_permutations, exchangeability_blocks=b,
                            rng=gen, alpha=alpha)
            t = res.to_frame()
            t.insert(2, "n", len(ids))
            rows.append(t)
        if not rows:
            raise MOFAError("no covariate has at least 4 observed samples with two values")
        table = pd.concat(rows, ignore_index=True).rename(
            columns={"feature_x": "factor", "feature_y": "covariate"})
        from scipy.stats import false_discovery_control
        pcol = "p_permutation" if n_permutations else "p_parametric"
        table["q"] = false_discovery_control(table[pcol].to_numpy(), method="bh")
        return FactorAssociation(table=table, skipped_factors=skipped, min_r2=min_r2,
                                 method=method, n_permutations=n_permutations, alpha=alpha)

    def top_weights(self, view: str, factor=1, n: int = 10, sign: str = "both") -> pd.DataFrame:
        """Top ``n`` features of ``view`` by |weight| on ``factor`` (MOFA2's
        ``plot_top_weights`` table): ``weight`` and ``scaled`` (weight / max |weight|)."""
        w = self._weights(view, factor)
        if sign == "positive":
            w = w[w > 0]
        elif sign == "negative":
            w = w[w < 0]
        elif sign != "both":
            raise MOFAError(f"sign must be 'both', 'positive' or 'negative', got {sign!r}")
        top = w.abs().sort_values(ascending=False).index[:n]
        scale = np.abs(self.weights[view][w.name]).max()
        return pd.DataFrame({"feature": top, "weight": w[top].to_numpy(),
                             "scaled": (w[top] / (scale if scale > 0 else 1.0)).to_numpy()})

    def _weights(self, view, factor) -> pd.Series:
        if view not in self.weights:
            raise MOFAError(f"unknown view {view!r}; the model has {self.views}")
        fname = f"Factor{factor}" if isinstance(factor, (int, np.integer)) else str(factor)
        if fname not in self.factors.columns:
            raise MOFAError(f"unknown factor {factor!r}; the model has {list(self.factors.columns)}")
        return self.weights[view][fname].rename(fname)

    def enrichment(self, view: str, feature_sets: Mapping[str, Sequence[str]], factors=None,
                   min_r2: float = 1.0, sign: str = "absolute", test: str = "parametric",
                   n_permutations: int = 1000, min_size: int = 5, rng=None,
                   alpha: float = 0.05) -> "EnrichmentResult":
        """Feature-set enrichment of the weights (PCGSE, as MOFA2's ``run_enrichment``).

        For each factor and set the statistic is the difference between the mean weight of
        the set's features and that of the other features (weights scaled to max |w| = 1;
        ``sign="absolute"`` uses |w|, ``"positive"``/``"negative"`` keep that side, the other
        side set to 0).  p-values: ``"parametric"``: Welch's t test of set vs rest;
        ``"permutation"``: random feature sets of the same size, ``(1 + #) / (1 + B)``.
        Sets with fewer than ``min_size`` features in the view are skipped (listed).  BH
        q-values per factor.
        """
        from scipy import stats

        from .resampling.indices import check_rng

        if sign not in ("absolute", "positive", "negative"):
            raise MOFAError(f"sign must be 'absolute', 'positive' or 'negative', got {sign!r}")
        if test not in ("parametric", "permutation"):
            raise MOFAError(f"test must be 'parametric' or 'permutation', got {test!r}")
        if view not in self.weights:
            raise MOFAError(f"unknown view {view!r}; the model has {self.views}")
        Z, _ = self._factor_frame(factors, min_r2)
        W = self.weights[view][Z.columns]
        feats = W.index
        pos = {f: i for i, f in enumerate(feats)}
        sets, skipped = {}, {}
        for name, members in feature_sets.items():
            idx = sorted({pos[m] for m in members if m in pos})
            if len(idx) < min_size:
                skipped[name] = len(idx)
            elif len(idx) >= len(feats):
                skipped[name] = len(idx)
            else:
                sets[name] = np.array(idx)
        if not sets:
            raise MOFAError(f"no feature set has at least {min_size} features of view {view!r} "
                            "(check that set members use the view's feature names)")
        gen = check_rng(rng)
        rows = []
        for fac in W.columns:
            w = W[fac].to_numpy()
            w = w / (np.abs(w).max() or 1.0)
            if sign == "absolute":
                s = np.abs(w)
            elif sign == "positive":
                s = np.where(w > 0, w, 0.0)
            else:
                s = np.where(w < 0, -w, 0.0)
            total = s.sum()
            p_all = len(s)
            for name, idx in sets.items():
                mask = np.zeros(p_all, dtype=bool)
                mask[idx] = True
                stat = s[mask].mean() - s[~mask].mean()
                if test == "parametric":
                    t, p = stats.ttest_ind(s[mask], s[~mask], equal_var=False,
                                           alternative="greater")
                else:
                    k = len(idx)
                    B = int(n_permutations)
                    draws = np.argsort(gen.random((B, p_all)), axis=1)[:, :k]
                    m_in = s[draws].mean(axis=1)
                    null = m_in - (total - s[draws].sum(axis=1)) / (p_all - k)
                    p = (1 + np.sum(null >= stat - 1e-12 * max(1.0, abs(stat)))) / (1 + B)
                    t = np.nan
                rows.append({"factor": fac, "feature_set": name, "size": len(idx),
                             "statistic": stat, "t": t, "p": float(p)})
        table = pd.DataFrame(rows)
        from scipy.stats import false_discovery_control
        table["q"] = table.groupby("factor")["p"].transform(
            lambda x: false_discovery_control(x.to_numpy(), method="bh"))
        return EnrichmentResult(table=table, skipped_sets=skipped, view=view, sign=sign,
                                test=test, alpha=alpha)

    def impute(self, view: str | None = None) -> dict[str, pd.DataFrame] | pd.DataFrame:
        """Fill the missing cells (and missing views) of the fitted data from ``Z W'``.

        Gaussian views: ``Z W'`` mapped back through mofapy2's preprocessing (the view's
        scaling and the per-group feature means, and the z-scoring if ``standardize`` was
        used), so values are on the scale of the input; bernoulli views: the probability
        ``sigmoid(Z W')``; poisson: ``log(1 + exp(Z W'))`` (mofapy2's link).  Observed cells
        are returned unchanged.  Only for models fitted in this session (the inputs are
        needed).
        """
        if self._input is None:
            raise MOFAError("impute needs the fitted data; it works on a model fitted with "
                            "MOFA.fit in this session, not on a loaded file")
        names = self.views if view is None else [view]
        out = {}
        Z = self.factors.reindex(self.view_presence.index)
        groups = self.groups_of_samples.reindex(Z.index)
        for v in names:
            if v not in self.weights:
                raise MOFAError(f"unknown view {view!r}; the model has {self.views}")
            X = self._input["fitted"][v]
            pred = Z.to_numpy() @ self.weights[v].to_numpy().T
            lk = self.likelihoods.get(v, "gaussian")
            if lk == "gaussian":
                arr = X.to_numpy(dtype=float)
                centred = arr.copy()
                means = np.zeros_like(arr)
                if self.options.get("center_groups", True):
                    for g in pd.unique(groups):
                        rows = (groups == g).to_numpy()
                        mu = np.nanmean(arr[rows], axis=0)
                        means[rows] = mu
                        centred[rows] -= mu
                scale = np.nanstd(centred) if self.options.get("scale_views", False) else 1.0
                if self.options.get("scale_groups", False):
                    raise MOFAError("impute does not invert scale_groups; refit without it")
                pred = pred * scale + means
                if v in self._input["std_params"]:
                    mu, sd = self._input["std_params"][v]
                    pred = pred * sd.to_numpy()[None, :] + mu.to_numpy()[None, :]
            elif lk == "bernoulli":
                pred = 1.0 / (1.0 + np.exp(-pred))
            else:
                pred = np.log1p(np.exp(pred))
            full = pd.DataFrame(pred, index=X.index, columns=X.columns)
            orig = self._input["original"][v]
            out[v] = orig.where(orig.notna(), full)
        return out[view] if view is not None else out

    def leakage(self, centre=None, factors=None, min_r2: float = 1.0, n_permutations: int = 999,
                cv: int = 5, flag_eta2: float = 0.2, alpha: float = 0.05,
                rng=None) -> pd.DataFrame:
        """How well each factor predicts centre (site leakage check).

        Per factor: ``eta2`` (share of the factor's variance between centres, one-way ANOVA),
        its permutation p-value (centre labels permuted, ``(1 + #) / (1 + B)``; every distinct
        permutation, an exact p-value, when there are no more than B + 1, as in the screen), the
        cross-validated accuracy of a logistic classifier predicting centre from the factor
        alone beside the majority-class rate, and ``flagged`` = eta2 >= ``flag_eta2`` and
        p <= ``alpha``: a factor that mostly encodes site, to be harmonised away or not
        interpreted biologically.  ``centre``: Series by sample ID (default: the model's
        groups when it has several).
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        from .resampling.indices import PermutationScheme, check_rng

        if centre is None:
            if len(self.groups) < 2:
                raise MOFAError("give centre= (a Series sample -> centre); the model has one "
                                "group")
            centre = self.groups_of_samples
        if not isinstance(centre, pd.Series):
            raise MOFAError("centre must be a Series indexed by sample ID")
        Z, skipped = self._factor_frame(factors, min_r2)
        common = Z.index.intersection(centre.dropna().index)
        lab = centre.reindex(common).astype(str).to_numpy()
        levels, codes = np.unique(lab, return_inverse=True)
        if len(levels) < 2:
            raise MOFAError("centre has fewer than two levels on the model's samples")
        gen = check_rng(rng)
        counts = np.bincount(codes)
        # the shared permutation scheme: every distinct relabelling when there are no more than
        # B + 1 of them (an exact p-value), else B random ones
        scheme = PermutationScheme(len(codes))
        n_permutations = scheme.resamples_for(int(n_permutations))
        perms = scheme.generate(n_permutations, gen)
        n_splits = int(min(cv, counts.min()))
        rows = []
        for fac in Z.columns:
            z = Z.loc[common, fac].to_numpy()
            eta = _eta2(z, codes, len(levels))
            null = np.array([_eta2(z, codes[p], len(levels)) for p in perms])
            p = (1 + np.sum(null >= eta - 1e-12)) / (1 + len(null))
            if n_splits >= 2:
                pred = cross_val_predict(LogisticRegression(max_iter=1000), z[:, None], codes,
                                         cv=StratifiedKFold(n_splits, shuffle=True,
                                                            random_state=int(gen.integers(2**31))))
                acc = float(np.mean(pred == codes))
            else:
                acc = np.nan
            rows.append({"factor": fac, "eta2": eta, "p_permutation": float(p),
                         "cv_accuracy": acc, "majority_rate": counts.max() / counts.sum(),
                         "flagged": bool(eta >= flag_eta2 and p <= alpha)})
        out = pd.DataFrame(rows).set_index("factor")
        out.attrs["skipped_factors"] = skipped
        return out


def _eta2(z, codes, k):
    tot = ((z - z.mean()) ** 2).sum()
    if tot == 0:
        return 0.0
    sums = np.bincount(codes, weights=z, minlength=k)
    cnt = np.bincount(codes, minlength=k)
    between = np.sum(sums[cnt > 0] ** 2 / cnt[cnt > 0]) - z.sum() ** 2 / len(z)
    return float(between / tot)


def load_mofa(path) -> MOFAResult:
    """Load a MOFA+ model from mofapy2's HDF5 file (written by mofapy2 or :meth:`MOFAResult.save`)."""
    return MOFAResult.from_hdf5(path)


# ------------------------------------------------------------------------------------ tables

@dataclass
class FactorAssociation:
    """Factor x covariate correlations (``table``: factor, covariate, n, r, t, df,
    p_parametric, p_permutation, q)."""

    table: pd.DataFrame
    skipped_factors: list[str]
    min_r2: float
    method: str
    n_permutations: int
    alpha: float = 0.05

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def matrix(self, value: str = "r") -> pd.DataFrame:
        return self.table.pivot(index="factor", columns="covariate", values=value)

    def summary(self) -> str:
        sig = self.table[self.table["q"] <= self.alpha]
        lines = [f"Factor-covariate {self.method} correlations: {self.table['factor'].nunique()} "
                 f"factors x {self.table['covariate'].nunique()} covariates"
                 + (f", {self.n_permutations} permutations" if self.n_permutations else "")
                 + f"; {len(sig)} pairs with BH q <= {self.alpha}"]
        if self.skipped_factors:
            lines.append(f"  not tested (R2 < {self.min_r2}% in every view): "
                         f"{len(self.skipped_factors)} factors")
        for _, r in sig.sort_values("q").head(10).iterrows():
            lines.append(f"  {r['factor']} ~ {r['covariate']}: r = {r['r']:+.3f} (n = {r['n']}), "
                         f"q = {r['q']:.2g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"FactorAssociation({self.table['factor'].nunique()} factors x "
                f"{self.table['covariate'].nunique()} covariates, "
                f"{int((self.table['q'] <= self.alpha).sum())} with q <= {self.alpha})")


@dataclass
class EnrichmentResult:
    """Feature-set enrichment per factor (``table``: factor, feature_set, size, statistic, t,
    p, q)."""

    table: pd.DataFrame
    skipped_sets: dict
    view: str
    sign: str
    test: str
    alpha: float = 0.05

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        sig = self.table[self.table["q"] <= self.alpha]
        lines = [f"Feature-set enrichment of {self.view} weights ({self.sign}, {self.test}): "
                 f"{self.table['feature_set'].nunique()} sets x {self.table['factor'].nunique()} "
                 f"factors; {len(sig)} with q <= {self.alpha}"]
        if self.skipped_sets:
            lines.append(f"  skipped (too few features in the view): {len(self.skipped_sets)} sets")
        for _, r in sig.sort_values("p").head(10).iterrows():
            lines.append(f"  {r['factor']}: {r['feature_set']} (size {r['size']}), q = {r['q']:.2g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EnrichmentResult(view={self.view!r}, {self.table['feature_set'].nunique()} sets, "
                f"{int((self.table['q'] <= self.alpha).sum())} with q <= {self.alpha})")


# ------------------------------------------------------------------------------------ stability

@dataclass
class StabilityResult:
    """Reproducibility of each reference factor across refits.

    ``table``: per factor of the reference fit, the median and minimum over refits of the
    absolute correlation with its matched factor (Hungarian matching on |r| over common
    samples), and ``reproducible`` = minimum >= ``threshold``.  ``matches``: one row per
    (refit, reference factor).
    """

    table: pd.DataFrame
    matches: pd.DataFrame
    threshold: float
    fits: list = field(default_factory=list, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        n = int(self.table["reproducible"].sum())
        return (f"Factor stability over {self.matches['refit'].nunique()} refits: {n} of "
                f"{len(self.table)} factors reproducible (min |r| >= {self.threshold})\n"
                + self.table.round(3).to_string())

    def __repr__(self) -> str:
        return (f"StabilityResult({len(self.table)} factors, "
                f"{int(self.table['reproducible'].sum())} reproducible)")


def factor_stability(model: MOFA, data, views=None, n_fits: int = 5, subsample: float | None = None,
                     min_r2: float = 1.0, threshold: float = 0.8, rng=None) -> StabilityResult:
    """Refit ``model`` with ``n_fits`` seeds (optionally on random ``subsample`` fractions of the
    samples, stratified by nothing) and match the factors to the first fit's active factors.

    mofapy2 initialises from PCA, so on full data different seeds often give identical fits;
    ``subsample`` (e.g. 0.8) makes the check informative about sampling variability.
    """
    from scipy.optimize import linear_sum_assignment

    from .resampling.indices import check_rng

    gen = check_rng(rng)
    seeds = gen.integers(0, 2**31 - 1, size=n_fits)
    params = model.get_params()
    fits = []
    for i, s in enumerate(seeds):
        d = data
        if subsample is not None and i > 0:
            if not 0 < subsample <= 1:
                raise MOFAError(f"subsample must be in (0, 1], got {subsample}")
            views_ = _collect_views(data, views)
            ids = pd.Index(pd.unique(np.concatenate([df.index.to_numpy(dtype=object)
                                                     for df in views_.values()])))
            keep = ids[np.sort(gen.choice(len(ids), int(round(subsample * len(ids))),
                                          replace=False))]
            d = {v: df.loc[df.index.intersection(keep)] for v, df in views_.items()}
            g_ = params.get("groups")
            if isinstance(g_, str) and g_ == "centre":
                # a subsample is a dict of views: carry the cohort's centre as a Series
                from .cohort import Cohort
                if not isinstance(data, Cohort) or data.centre is None:
                    raise MOFAError("groups='centre' needs a Cohort with a centre")
                params = {**params, "groups": data.centre}
        fits.append(MOFA(**{**params, "rng": int(s)}).fit(d, views=None if isinstance(d, dict)
                                                          and views is None else views))
    ref = fits[0]
    ref_f = ref.active_factors(min_r2) or list(ref.factors.columns)
    rows = []
    for i, fit in enumerate(fits[1:], start=1):
        common = ref.factors.index.intersection(fit.factors.index)
        A = ref.factors.loc[common, ref_f].to_numpy()
        cand = fit.active_factors(min_r2) or list(fit.factors.columns)
        Bm = fit.factors.loc[common, cand].to_numpy()
        R = np.abs(_corr_cols(A, Bm))
        ri, ci = linear_sum_assignment(-R)
        matched = dict(zip(ri, ci))
        for a in range(len(ref_f)):
            j = matched.get(a)
            rows.append({"refit": i, "factor": ref_f[a],
                         "matched": cand[j] if j is not None else None,
                         "abs_r": float(R[a, j]) if j is not None else 0.0})
    matches = pd.DataFrame(rows, columns=["refit", "factor", "matched", "abs_r"])
    if len(matches):
        agg = matches.groupby("factor")["abs_r"].agg(["median", "min"]).reindex(ref_f)
    else:
        agg = pd.DataFrame({"median": np.nan, "min": np.nan}, index=ref_f)
    agg.columns = ["median_abs_r", "min_abs_r"]
    agg["reproducible"] = agg["min_abs_r"] >= threshold
    agg.index.name = "factor"
    return StabilityResult(table=agg, matches=matches, threshold=threshold, fits=fits)


def _corr_cols(A, B):
    A = (A - A.mean(0)) / (A.std(0) + 1e-300)
    B = (B - B.mean(0)) / (B.std(0) + 1e-300)
    return A.T @ B / A.shape[0]
