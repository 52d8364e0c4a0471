r"""Power, type-I error and sample-size studies by simulation, on Dask distributed.

A *study* is a grid of scenario parameters (sample size, effect size, number of centres,
centre shift, missing-view rate, instrument strength, ...) x ``n_replicates`` x an *analysis*:
a function ``analysis(params: dict, rng: numpy.random.Generator) -> dict`` that simulates one
data set for the scenario, analyses it, and returns a flat dict of numbers, e.g.
``{"reject": 1.0, "estimate": 0.42, "truth": 0.4, "lower": 0.3, "upper": 0.55}``.  Built-in
analyses (module-level functions, so Dask can ship them to worker processes):

* :func:`cca_power` - permutation test of the first canonical correlation (and the bias of the
  in-sample estimate), data with a known population canonical correlation;
* :func:`association_maxt_power` - max-T association screen with permutations within centres
  (power for one planted pair; FWER when the effect is 0);
* :func:`mofa_recovery` - MOFA+ recovery of a data_sim shared factor;
* :func:`loco_prediction` - leave-one-centre-out prediction of a module score from radiomics;
* :func:`mr_power` - two-sample MR (IVW) power, bias and CI coverage.

:func:`run_study` evaluates every (cell, replicate) with a seed derived from one ``rng`` and
the cell's *parameters* (not its position in the grid), so results are identical for any
number of workers, any chunking, and when cells are added to or removed from the grid.  It runs
on an existing ``distributed.Client``, a scheduler address (so a study moves to a cluster
started with dask-jobqueue or dask-kubernetes unchanged), or a local cluster it starts itself.
With ``store=`` every finished cell is written as Parquet (atomically) and a rerun loads it
instead of recomputing it: an interrupted study resumes.

:class:`PowerResult` summarises each cell: the rejection rate with a Wilson interval (power,
or type-I error when the effect is null), and where the analysis returns ``estimate`` /
``truth`` / ``lower`` / ``upper``: bias, RMSE and CI coverage (Wilson interval).
:func:`required_sample_size` finds the smallest n reaching a target power by bisection on
simulated power.  Plots: :func:`radiogenomics.plotting.plot_power_curve`,
:func:`radiogenomics.plotting.plot_power_heatmap`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .metrics import wilson_interval  # noqa: F401  (re-exported: power.wilson_interval)

__all__ = ["run_study", "PowerResult", "required_sample_size", "SampleSizeResult",
           "cca_power", "association_maxt_power", "mofa_recovery", "loco_prediction",
           "mr_power", "wilson_interval", "PowerError", "simulate_cca_data"]


class PowerError(ValueError):
    """Invalid input to a power study (names the problem and the fix)."""


# ------------------------------------------------------------------------------ helpers

def _canonical(params: Mapping) -> str:
    def plain(v):
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            v = float(v)
            return int(v) if v.is_integer() else v     # 40.0 and 40 are the same cell
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return json.dumps({str(k): plain(v) for k, v in sorted(params.items())}, sort_keys=True,
                      default=str)


def _cell_key(params: Mapping) -> int:
    """Stable 32-bit key of a cell's parameters (seed component, Parquet file name)."""
    return int.from_bytes(hashlib.sha256(_canonical(params).encode()).digest()[:4], "little")


def _root_entropy(rng) -> int:
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise PowerError(f"rng must be a non-negative int or a Generator, got {rng}")
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, dtype=np.uint64)[0])
    gen = np.random.default_rng(rng)
    return int(gen.integers(0, 2**63 - 1))


def _replicate_rng(entropy: int, key: int, replicate: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(key, replicate)))


def _run_chunk(analysis, params: dict, entropy: int, key: int, replicates: list[int]):
    """Worker task: the given replicates of one cell (BLAS single-threaded: many tasks run
    side by side)."""
    try:
        from threadpoolctl import threadpool_limits
        ctx = threadpool_limits(1)
    except Exception:  # noqa: BLE001 - threadpoolctl missing: run as is
        import contextlib
        ctx = contextlib.nullcontext()
    rows = []
    with ctx:
        for r in replicates:
            out = analysis(dict(params), _replicate_rng(entropy, key, r))
            if not isinstance(out, Mapping):
                raise PowerError(f"the analysis must return a dict of numbers, got "
                                 f"{type(out).__name__}")
            rows.append({"replicate": r, **{k: float(v) for k, v in out.items()}})
    return rows


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ results

@dataclass
class PowerResult:
    """Replicate-level results of a study and their per-cell summary.

    ``replicates``: one row per (cell, replicate) with the grid parameters and the analysis'
    outputs.  ``table``: per cell ``n_replicates``, ``rate`` (mean of ``reject``) with
    Wilson ``rate_lower``/``rate_upper``, and when available ``mean_estimate``, ``bias``,
    ``rmse``, ``coverage`` (+ Wilson interval) and the means of other outputs.
    ``computed_cells`` / ``loaded_cells``: how many cells were run now vs read from ``store``.
    """

    replicates: pd.DataFrame
    table: pd.DataFrame
    grid_columns: list[str]
    analysis: str
    n_replicates: int
    alpha: float | None = None
    computed_cells: int = 0
    loaded_cells: int = 0
    seconds: float = 0.0
    n_workers: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        cols = [c for c in ("rate", "rate_lower", "rate_upper", "bias", "coverage")
                if c in self.table.columns]
        return (f"Study of {self.analysis}: {len(self.table)} cells x {self.n_replicates} "
                f"replicates ({self.computed_cells} cells computed, {self.loaded_cells} loaded; "
                f"{self.seconds:.1f} s on {self.n_workers} workers)\n"
                + self.table[self.grid_columns + cols].round(4).to_string(index=False))

    def __repr__(self) -> str:
        return (f"PowerResult({self.analysis}, {len(self.table)} cells x {self.n_replicates} "
                f"replicates)")


def _summarise(reps: pd.DataFrame, grid_cols: list[str]) -> pd.DataFrame:
    rows = []
    for keys, g in reps.groupby(grid_cols, sort=False, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = dict(zip(grid_cols, keys))
        row["n_replicates"] = len(g)
        if "reject" in g:
            k = float(g["reject"].sum())
            lo, hi = wilson_interval(k, len(g))
            row.update(rate=k / len(g), rate_lower=float(lo), rate_upper=float(hi))
        if "estimate" in g and "truth" in g:
            err = g["estimate"] - g["truth"]
            row.update(mean_estimate=float(g["estimate"].mean()), bias=float(err.mean()),
                       bias_se=float(err.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else np.nan,
                       rmse=float(np.sqrt(np.mean(err**2))))
        if {"lower", "upper", "truth"} <= set(g.columns):
            cov = ((g["lower"] <= g["truth"]) & (g["truth"] <= g["upper"])).astype(float)
            lo, hi = wilson_interval(cov.sum(), len(g))
            row.update(coverage=float(cov.mean()), coverage_lower=float(lo),
                       coverage_upper=float(hi))
        for c in g.columns:
            if c in grid_cols or c in ("replicate", "reject", "estimate", "truth", "lower",
                                       "upper") or c in row:
                continue
            row[f"mean_{c}"] = float(g[c].mean())
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ runner

def _grid_frame(grid) -> pd.DataFrame:
    if isinstance(grid, pd.DataFrame):
        cells = grid.reset_index(drop=True)
    elif isinstance(grid, Mapping):
        if not grid:
            raise PowerError("grid is empty; give at least one parameter with its values")
        keys = list(grid)
        vals = [list(v) if isinstance(v, (list, tuple, np.ndarray, range)) else [v]
                for v in grid.values()]
        cells = pd.DataFrame(list(itertools.product(*vals)), columns=keys)
    else:
        raise PowerError("grid must be a dict parameter -> list of values, or a DataFrame of cells")
    if cells.duplicated().any():
        raise PowerError("the grid has duplicated cells; make every cell unique")
    return cells


class _ClientContext:
    def __init__(self, client, n_workers, processes):
        self.client_arg = client
        self.n_workers = n_workers
        self.processes = processes
        self.owned = []

    def __enter__(self):
        from distributed import Client, LocalCluster

        c = self.client_arg
        if c is None or c == "local":
            n = self.n_workers or min(2, os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=self.processes,
                                   dashboard_address=None)
            client = Client(cluster)
            self.owned = [client, cluster]
            return client
        if isinstance(c, str):
            client = Client(c)
            self.owned = [client]
            return client
        return c

    def __exit__(self, *exc):
        for obj in self.owned:
            try:
                obj.close()
            except Exception:  # noqa: BLE001
                pass
        return False


def run_study(analysis: Callable[[dict, np.random.Generator], Mapping], grid, *,
              n_replicates: int = 100, rng=0, client=None, n_workers: int | None = None,
              processes: bool = True, chunk_size: int | None = None, store=None,
              alpha: float | None = None, progress: bool | None = None,
              seed_exclude: Sequence[str] = ()) -> PowerResult:
    """Run ``analysis`` on every cell of ``grid`` ``n_replicates`` times on Dask.

    Parameters
    ----------
    analysis : callable ``(params, rng) -> dict``
        A module-level function (picklable); ``params`` is the cell's dict (plus ``alpha``
        when given).
    grid : dict or DataFrame
        Parameter -> list of values (Cartesian product), or explicit cells.
    n_replicates : int
    rng : int or Generator
        Root seed.  Replicate ``r`` of a cell uses
        ``SeedSequence(root, spawn_key=(hash(cell parameters), r))``: the same numbers for
        any number of workers, chunking, or grid order.
    client : None, "local", str or distributed.Client
        None/"local": start a ``LocalCluster`` of ``n_workers`` single-threaded workers
        (processes unless ``processes=False``) for this call; a string: a scheduler address;
        a Client: use it (e.g. one from dask-jobqueue).
    chunk_size : int, optional
        Replicates per task (default: about 4 tasks per worker per cell).
    store : path, optional
        Folder for one Parquet file per finished cell (``study.json`` records the study's
        identity; a store of a different study is refused); rerunning loads finished cells.
    alpha : float, optional
        Passed to the analysis in ``params`` (the level of its test).
    seed_exclude : sequence of str
        Grid parameters left out of the replicate seeds (common random numbers across their
        values, e.g. ``("n",)`` so that every n reuses the same streams).
    """
    import time

    from tqdm.auto import tqdm

    if not callable(analysis):
        raise PowerError("analysis must be a function (params, rng) -> dict")
    if n_replicates < 1:
        raise PowerError("n_replicates must be at least 1")
    cells = _grid_frame(grid)
    grid_cols = list(cells.columns)
    entropy = _root_entropy(rng)
    name = f"{getattr(analysis, '__module__', '')}.{getattr(analysis, '__qualname__', repr(analysis))}"
    t0 = time.perf_counter()
    store_path = None
    if store is not None:
        store_path = Path(store)
        store_path.mkdir(parents=True, exist_ok=True)
        ident = {"analysis": name, "rng_entropy": entropy, "n_replicates": int(n_replicates),
                 "alpha": alpha, "seed_exclude": sorted(seed_exclude)}
        meta = store_path / "study.json"
        if meta.is_file():
            old = json.loads(meta.read_text())
            if old != json.loads(json.dumps(ident)):
                raise PowerError(f"store {str(store_path)!r} holds a different study ({old}); "
                                 "use a new folder or the same analysis, rng and n_replicates")
        else:
            meta.write_text(json.dumps(ident, indent=1))
    cell_params = []
    for row in cells.to_dict("records"):         # keeps each column's dtype (n stays int)
        p = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        if alpha is not None:
            p.setdefault("alpha", alpha)
        cell_params.append(p)
    keys = [_cell_key(p) for p in cell_params]
    seed_keys = [_cell_key({k: v for k, v in p.items() if k not in set(seed_exclude)})
                 for p in cell_params]
    loaded, todo = {}, []
    for i, (p, k) in enumerate(zip(cell_params, keys)):
        f = store_path / f"cell_{k:08x}.parquet" if store_path is not None else None
        if f is not None and f.is_file():
            df = pd.read_parquet(f)
            if len(df) == n_replicates:
                loaded[i] = df
                continue
        todo.append(i)
    results = dict(loaded)
    used_workers = None
    if todo:
        with _ClientContext(client, n_workers, processes) as cl:
            used_workers = len(cl.scheduler_info().get("workers", {})) or None
            nw = used_workers or 1
            cs = chunk_size or max(1, int(np.ceil(n_replicates / (4 * nw))))
            futures = {}
            fn = analysis
            for i in todo:
                chunks = [list(range(s, min(s + cs, n_replicates)))
                          for s in range(0, n_replicates, cs)]
                futures[i] = [cl.submit(_run_chunk, fn, cell_params[i], entropy, seed_keys[i],
                                        ch, pure=False) for ch in chunks]
            from distributed import as_completed

            flat = {f: i for i, fs in futures.items() for f in fs}
            remaining = {i: len(fs) for i, fs in futures.items()}
            parts: dict[int, list] = {i: [] for i in todo}
            disable = None if progress is None else not progress
            bar = tqdm(total=len(flat), desc="power study", unit="task", disable=disable,
                       file=sys.stderr)
            try:
                for fut in as_completed(list(flat)):
                    i = flat[fut]
                    parts[i].extend(fut.result())
                    remaining[i] -= 1
                    bar.update(1)
                    if remaining[i] == 0:
                        df = pd.DataFrame(sorted(parts[i], key=lambda r: r["replicate"]))
                        for c in grid_cols:
                            df[c] = cell_params[i][c]
                        df = df[grid_cols + [c for c in df.columns if c not in grid_cols]]
                        results[i] = df
                        if store_path is not None:
                            _atomic_parquet(df, store_path / f"cell_{keys[i]:08x}.parquet")
            finally:
                bar.close()
    reps = pd.concat([results[i] for i in range(len(cells))], ignore_index=True)
    reps = reps[grid_cols + [c for c in reps.columns if c not in grid_cols]]
    table = _summarise(reps, grid_cols)
    return PowerResult(replicates=reps, table=table, grid_columns=grid_cols, analysis=name,
                       n_replicates=int(n_replicates), alpha=alpha,
                       computed_cells=len(todo), loaded_cells=len(loaded),
                       seconds=time.perf_counter() - t0, n_workers=used_workers)


# ------------------------------------------------------------------------------ sample size

@dataclass
class SampleSizeResult:
    """Smallest n with simulated power >= target (bisection); ``trace`` lists every n tried
    with its power and Wilson interval."""

    n_required: int | None
    target_power: float
    trace: pd.DataFrame
    params: dict

    def summary(self) -> str:
        head = (f"required n = {self.n_required}" if self.n_required is not None else
                "target power not reached in the range")
        return (f"Sample size for power {self.target_power}: {head}\n"
                + self.trace.round(4).to_string(index=False))

    def __repr__(self) -> str:
        return f"SampleSizeResult(n_required={self.n_required}, target={self.target_power})"


def required_sample_size(analysis, params: Mapping, *, target_power: float = 0.8,
                         n_range: tuple[int, int] = (20, 1000), n_replicates: int = 200,
                         rng=0, n_param: str = "n", tol: int | None = None, client=None,
                         n_workers: int | None = None, processes: bool = True,
                         alpha: float | None = None, store=None) -> SampleSizeResult:
    """Smallest ``n`` in ``n_range`` whose simulated power reaches ``target_power``.

    Bisection on n assuming power increases with n: the bounds are simulated first, then the
    midpoint repeatedly, until the bracket is within ``tol`` (default 2% of the upper end of
    the bracket, at least 1).  Each evaluation is a one-cell :func:`run_study` with the same
    ``rng`` and ``seed_exclude=(n_param,)``: the same replicate streams at every n (common
    random numbers), which makes the simulated power curve far smoother in n.  The answer carries Monte-Carlo error: see the Wilson
    intervals in ``trace``.
    """
    lo, hi = int(n_range[0]), int(n_range[1])
    if not 2 <= lo < hi:
        raise PowerError(f"n_range must be (low, high) with 2 <= low < high, got {n_range}")
    if not 0 < target_power < 1:
        raise PowerError(f"target_power must be in (0, 1), got {target_power}")
    rows = []
    cache: dict[int, float] = {}

    def power_at(n):
        if n not in cache:
            res = run_study(analysis, {**{k: [v] for k, v in params.items()}, n_param: [n]},
                            n_replicates=n_replicates, rng=rng, client=client,
                            n_workers=n_workers, processes=processes, alpha=alpha,
                            store=store, progress=False, seed_exclude=(n_param,))
            t = res.table.iloc[0]
            cache[n] = float(t["rate"])
            rows.append({n_param: n, "power": t["rate"], "lower": t["rate_lower"],
                         "upper": t["rate_upper"]})
        return cache[n]

    if power_at(hi) < target_power:
        return SampleSizeResult(None, target_power, pd.DataFrame(rows), dict(params))
    if power_at(lo) >= target_power:
        return SampleSizeResult(lo, target_power, pd.DataFrame(rows), dict(params))
    while hi - lo > (tol or max(1, int(round(0.02 * hi)))):
        mid = (lo + hi) // 2
        if power_at(mid) >= target_power:
            hi = mid
        else:
            lo = mid
    trace = pd.DataFrame(rows).sort_values(n_param).reset_index(drop=True)
    return SampleSizeResult(hi, target_power, trace, dict(params))


# ------------------------------------------------------------------------------ analyses

def simulate_cca_data(n: int, p: int, q: int, r: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian X (n x p), Y (n x q) with identity within-block covariance and a single
    population canonical correlation ``r`` between the first coordinates (gemmr's set-up
    with flat spectra, ``ax = ay = 0``)."""
    if not 0 <= r < 1:
        raise PowerError(f"r must be in [0, 1), got {r}")
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


def cca_power(params: dict, rng: np.random.Generator) -> dict:
    """First canonical correlation: permutation test (``n_permutations``, default 1,000) and
    in-sample estimate.  Params: ``n``, ``p``, ``q``, ``r`` (population value, 0 for the
    null), ``alpha`` (default 0.05), ``reg`` (ridge penalty on the covariance scale for
    n <= p + q; the statistic is then the first regularised canonical correlation).  Returns ``reject``, ``p_value``, ``estimate`` (in-sample
    r1), ``truth`` (= r), ``relative_error`` = |r1 - r| / r (NaN when r = 0)."""
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

    perms = PermutationScheme(n).generate(B, rng)
    exceed = 0
    for s in range(0, B, 200):
        chunk = perms[s:s + 200]
        M = np.matmul(Qx.T[None], Qy[chunk])        # (chunk, p, q): Qx' P Qy
        sv = np.linalg.svd(M, compute_uv=False)[:, 0]
        exceed += int(np.sum(sv >= r1 - 1e-12))
    pval = (1 + exceed) / (1 + B)
    return {"reject": float(pval <= alpha), "p_value": pval, "estimate": r1, "truth": r,
            "relative_error": abs(r1 - r) / r if r > 0 else np.nan}


def association_maxt_power(params: dict, rng: np.random.Generator) -> dict:
    """Max-T association screen within centres.  Params: ``n``, ``p``, ``q``, ``effect``
    (within-centre correlation of the planted pair x0 ~ y0; 0 for the null), ``n_centres`` (default 3),
    ``centre_shift`` (SD units, default 1), ``n_permutations`` (default 199), ``alpha``.
    Returns ``reject`` (planted pair significant by max-T; with effect 0: any pair, i.e. the
    FWER), ``n_significant``."""
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


def mofa_recovery(params: dict, rng: np.random.Generator) -> dict:
    """MOFA+ on a data_sim cohort (radiomics + expression): the best |r| of any factor with the
    true shared factor F1.  Params: ``n``, ``missing_rate`` (expression, default 0),
    ``n_radiomic`` (100), ``n_genes`` (300), ``n_factors`` (6), ``threshold`` (0.8), plus
    signal options ``signal`` (default 1000) and ``loading_density`` (default 0.5, 0.3).
    Returns ``reject`` (= recovered: best |r| >= threshold), ``abs_r``."""
    import data_sim

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


def loco_prediction(params: dict, rng: np.random.Generator) -> dict:
    """Leave-one-centre-out prediction of the module linked to F2 from radiomics (ComBat and
    elastic net inside the folds).  Params: ``n``, ``n_centres`` (3), ``centre_shift`` (0.5),
    ``n_radiomic`` (60), ``n_genes`` (300), ``signal`` (1000).  Returns ``reject`` (pooled
    LOCO R2 > 0), ``r2``, ``pearson_r``."""
    import data_sim

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


def mr_power(params: dict, rng: np.random.Generator) -> dict:
    """Two-sample MR, IVW (random effects): power, bias and 95% CI coverage.  Params:
    ``n`` (both GWAS sizes), ``causal_effect``, ``n_snps`` (30), ``instrument_r2`` (0.05),
    ``pleiotropy`` (0), ``alpha``.  Returns ``reject``, ``estimate``, ``truth``, ``lower``,
    ``upper``."""
    import data_sim

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
