r"""Power, type-I error and sample-size studies by simulation, on Dask distributed.

A *study* is a grid of scenario parameters (sample size, effect size, number of centres,
centre shift, missing-view rate, instrument strength, ...) x ``n_replicates`` x an *analysis*:
a function ``analysis(params: dict, rng: numpy.random.Generator) -> dict`` that simulates one
data set for the scenario, analyses it, and returns a flat dict of numbers, e.g.
``{"reject": 1.0, "estimate": 0.42, "truth": 0.4, "lower": 0.3, "upper": 0.55}``.  The
built-in analyses (CCA, max-T screen, MOFA+ recovery, LOCO prediction, MR) live one layer up,
in :mod:`radiogenomics.studies`, because they simulate with :mod:`data_sim`.

Layering: this module is the study *engine* and imports only the toolkit's core
(:mod:`radiogenomics.metrics`, :mod:`radiogenomics._checks`) - never :mod:`data_sim` nor
:mod:`radiogenomics.studies`; ``data_sim`` never imports this module.  The old names
``radiogenomics.power.cca_power`` etc. still resolve, lazily and with a
``DeprecationWarning`` (module ``__getattr__``), so no import cycle exists at import time.

:func:`run_study` evaluates every (cell, replicate) with a seed derived from one ``rng`` and
the cell's *parameters* (not its position in the grid), so results are identical for any
number of workers, any chunking, and when cells are added to or removed from the grid: replicate
``r`` of a cell uses ``SeedSequence(root, spawn_key=(*root.spawn_key, w0, w1, w2, w3, r))``
where ``w0..w3`` are the four 32-bit words of the cell's 128-bit key (BLAKE2b of the canonical
JSON of its parameters).  It runs on an existing ``distributed.Client``, a scheduler address
(so a study moves to a cluster started with dask-jobqueue or dask-kubernetes unchanged), or a
local cluster it starts itself.

With ``store=`` every finished cell is written as Parquet (atomically: temp file +
``os.replace``) named by its 128-bit key, with the cell's parameters, seed key and study
identity in the Parquet schema metadata; ``study.json`` (written atomically too) records the
study.  A rerun loads a finished cell only after checking that its recorded parameters, study,
seed key, replicate numbers and row parameters all match the cell; a file that does not match
(stale, copied, edited, unreadable) is recomputed with a :class:`StaleCellWarning` naming the
file, the cell and the reason.  An interrupted study resumes.

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
import contextlib
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._checks import RadiogenomicsError, check_rng
from .distributed import DistributedError, client_context
from .distributed import _main_script_hidden  # noqa: F401  (kept: power._main_script_hidden)
from .metrics import wilson_interval  # noqa: F401  (re-exported: power.wilson_interval)

__all__ = ["run_study", "PowerResult", "required_sample_size", "SampleSizeResult",
           "wilson_interval", "PowerError", "StaleCellWarning", "cell_key", "STORE_FORMAT"]

#: Version of the on-disk store (2: 128-bit cell keys, parameters in each cell's metadata).
STORE_FORMAT = 2
_META_KEY = b"radiogenomics.power"

# Built-in analyses moved to radiogenomics.studies (the layer above power and data_sim).
_MOVED = ("cca_power", "association_maxt_power", "mofa_recovery", "loco_prediction",
          "mr_power", "simulate_cca_data")


def __getattr__(name):
    """Lazy, deprecated access to the analyses now in :mod:`radiogenomics.studies`."""
    if name in _MOVED:
        warnings.warn(f"radiogenomics.power.{name} moved to radiogenomics.studies.{name}; "
                      f"import it from there (from radiogenomics.studies import {name})",
                      DeprecationWarning, stacklevel=2)
        from . import studies

        return getattr(studies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PowerError(RadiogenomicsError):
    """Invalid input to a power study (names the problem and the fix)."""


class StaleCellWarning(UserWarning):
    """A stored cell did not match its parameters or study and was recomputed."""


# ------------------------------------------------------------------------------ helpers

def _canonical(params: Mapping) -> str:
    """Canonical JSON of a cell's parameters: sorted names, 40.0 == 40, tuples == lists,
    numpy scalars and arrays as plain numbers.  A value that has no exact JSON form (an
    object whose ``str`` could be shared by different values) is refused."""
    def plain(v, name):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            v = float(v)
            return int(v) if v.is_integer() else v     # 40.0 and 40 are the same cell
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            return [plain(x, name) for x in v]
        if isinstance(v, Mapping):
            return {str(k): plain(x, name) for k, x in v.items()}
        if v is None or isinstance(v, str):
            return v
        raise PowerError(f"grid parameter {name!r} has a value of type {type(v).__name__} "
                         f"({v!r:.60}); cells are keyed by their parameters, so use numbers, "
                         "strings, booleans or lists of them (e.g. a name for the object)")
    return json.dumps({str(k): plain(v, k) for k, v in params.items()}, sort_keys=True,
                      allow_nan=True)


def cell_key(params: Mapping) -> str:
    """128-bit key of a cell's parameters: BLAKE2b (16-byte digest, 32 hex digits) of the
    canonical JSON of the parameters (sorted names; 40.0 and 40 are the same value).

    Names the cell's Parquet file and seeds its replicates.  Unlike the 32-bit key of store
    format 1, a collision needs about 2**64 cells; and a loaded cell is checked against its
    recorded parameters anyway, so even a collision could not pass silently.
    """
    return hashlib.blake2b(_canonical(params).encode(), digest_size=16).hexdigest()


def _key_words(key: str) -> tuple[int, ...]:
    """The 128-bit key as four 32-bit words (SeedSequence spawn-key entries)."""
    b = bytes.fromhex(key)
    return tuple(int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4))


def _root_seed(rng) -> tuple:
    """``(entropy, spawn_key)`` of the study's root SeedSequence (SPEC 7 ``rng``).

    An int seeds ``SeedSequence(seed)`` and a SeedSequence is used as is (so ``rng=7`` and
    ``rng=SeedSequence(7)`` give the same study); a Generator / BitGenerator / None gives 128
    bits of entropy drawn from it (advancing it).
    """
    if isinstance(rng, np.random.SeedSequence):
        ent = rng.entropy
        return (ent if isinstance(ent, int) else [int(e) for e in ent],
                [int(k) for k in rng.spawn_key])
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise PowerError(f"rng seed must be non-negative, got {rng}")
        return int(rng), []
    gen = check_rng(rng)
    return [int(w) for w in gen.integers(0, 2**32, size=4, dtype=np.uint64)], []


def _replicate_rng(root: tuple, key: str, replicate: int) -> np.random.Generator:
    entropy, spawn = root
    return np.random.default_rng(np.random.SeedSequence(
        entropy, spawn_key=(*spawn, *_key_words(key), int(replicate))))


def _run_chunk(analysis, params: dict, root: tuple, key: str, replicates: list[int]):
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
            out = analysis(dict(params), _replicate_rng(root, key, r))
            if not isinstance(out, Mapping):
                raise PowerError(f"the analysis must return a dict of numbers, got "
                                 f"{type(out).__name__}")
            rows.append({"replicate": r, **{k: float(v) for k, v in out.items()}})
    return rows


def _atomic_replace(path: Path, write) -> None:
    """``write(tmp_path)`` then ``os.replace`` onto ``path``: readers see the old file or the
    whole new one, never a partial write."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_json(path: Path, obj) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
    _atomic_replace(path, write)


def _write_cell(df: pd.DataFrame, path: Path, meta: dict) -> None:
    """One cell's rows as Parquet with ``meta`` (parameters, study, keys) in the schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           _META_KEY: json.dumps(meta).encode()})
    _atomic_replace(path, lambda tmp: pq.write_table(table, tmp))


def _read_cell(path: Path, expected: dict, params: Mapping, grid_cols: list[str],
               n_replicates: int) -> tuple[pd.DataFrame | None, str]:
    """The stored rows of a cell, or ``(None, reason)`` when the file does not match it."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is recomputed, with the reason
        return None, f"the file cannot be read ({type(exc).__name__}: {exc})"
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        return None, ("the file has no parameter record (written by an older version or by "
                      "another tool), so it cannot be checked against the cell")
    try:
        meta = json.loads(raw)
    except ValueError:
        return None, "its parameter record is not valid JSON"
    for field, what in (("format", "store format"), ("key", "cell key"),
                        ("params", "parameters"), ("study", "study"),
                        ("seed_key", "seed key")):
        if meta.get(field) != expected[field]:
            return None, (f"its recorded {what} {meta.get(field)!r} differ(s) from this "
                          f"cell's {expected[field]!r}")
    df = table.to_pandas()
    if "replicate" not in df.columns or len(df) != n_replicates or not np.array_equal(
            df["replicate"].to_numpy(), np.arange(n_replicates)):
        return None, (f"it holds {len(df)} rows / replicates other than 0..{n_replicates - 1}")
    for c in grid_cols:
        if c not in df.columns:
            return None, f"its rows lack the grid column {c!r}"
        vals = df[c].unique()
        if len(vals) != 1 or _canonical({c: vals[0]}) != _canonical({c: params[c]}):
            return None, (f"its rows hold {c} = {list(vals)[:3]} where the cell has "
                          f"{c} = {params[c]!r}")
    return df, ""


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


@contextlib.contextmanager
def _ClientContext(client, n_workers, processes):
    """run_study's cluster (:func:`radiogenomics.distributed.client_context`; ``client=None``
    starts a local one); a cluster that cannot be used raises :class:`PowerError`."""
    stack = contextlib.ExitStack()
    try:
        cl = stack.enter_context(client_context("local" if client is None else client,
                                                n_workers, processes))
    except DistributedError as exc:
        raise PowerError(str(exc)) from exc
    with stack:
        yield cl


def _open_store(store, ident: dict) -> tuple[Path, str]:
    """Create or check the store folder; ``study.json`` (atomic) records ``ident``.
    Returns the folder and the study's digest (recorded in every cell)."""
    path = Path(store)
    path.mkdir(parents=True, exist_ok=True)
    ident = json.loads(json.dumps(ident))
    meta = path / "study.json"
    if meta.is_file():
        try:
            old = json.loads(meta.read_text())
        except ValueError as exc:
            raise PowerError(f"store {str(path)!r}: study.json is not valid JSON ({exc}); it "
                             "was not written by this version (which writes it atomically) "
                             "- use a new folder") from None
        if not isinstance(old, dict) or old.get("format") != STORE_FORMAT:
            raise PowerError(
                f"store {str(path)!r} was written by an older version of radiogenomics.power "
                "(32-bit cell keys, cells without a parameter record), whose cells cannot be "
                "checked against their parameters; use a new folder (or delete this one)")
        if old != ident:
            diff = sorted(k for k in set(old) | set(ident) if old.get(k) != ident.get(k))
            hint = (" (rng=None or a Generator draws fresh entropy on every call: give an "
                    "int seed to resume a study)" if "rng" in diff else "")
            raise PowerError(f"store {str(path)!r} holds a different study (differs in "
                             f"{', '.join(diff)}: stored {[old.get(k) for k in diff]}, now "
                             f"{[ident.get(k) for k in diff]}){hint}; use a new folder or the "
                             "same analysis, rng, n_replicates, alpha and seed_exclude")
    else:
        _write_json(meta, ident)
    digest = hashlib.blake2b(json.dumps(ident, sort_keys=True).encode(),
                             digest_size=16).hexdigest()
    return path, digest


def _load_stored(store_path: Path, cell_params, keys, seed_keys, study: str, grid_cols,
                 n_replicates: int) -> dict[int, pd.DataFrame]:
    """Cells whose stored file matches them; a mismatching file -> StaleCellWarning."""
    loaded = {}
    for i, (p, k) in enumerate(zip(cell_params, keys)):
        f = store_path / f"cell_{k}.parquet"
        if not f.is_file():
            continue
        expected = {"format": STORE_FORMAT, "key": k, "params": _canonical(p),
                    "study": study, "seed_key": seed_keys[i]}
        df, why = _read_cell(f, expected, p, grid_cols, n_replicates)
        if df is None:
            warnings.warn(f"store cell {f.name} (parameters {_canonical(p)}) is not used: "
                          f"{why}; recomputing the cell and overwriting the file",
                          StaleCellWarning, stacklevel=3)
        else:
            loaded[i] = df
    return loaded


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
        when given).  Built-in ones: :mod:`radiogenomics.studies`.
    grid : dict or DataFrame
        Parameter -> list of values (Cartesian product), or explicit cells.
    n_replicates : int
    rng : int, SeedSequence, Generator, BitGenerator or None (SPEC 7)
        Root seed.  Replicate ``r`` of a cell uses
        ``SeedSequence(root, spawn_key=(*root.spawn_key, *key words, r))`` with the four
        32-bit words of the cell's 128-bit :func:`cell_key`: the same numbers for any number
        of workers, chunking, or grid order.  ``rng=7`` and ``rng=SeedSequence(7)`` are the
        same study; a Generator / None draws 128 bits of entropy (not resumable from a store).
    client : None, "local", str or distributed.Client
        None/"local": start a ``LocalCluster`` of ``n_workers`` single-threaded workers
        (processes unless ``processes=False``) for this call; a string: a scheduler address;
        a Client: use it (e.g. one from dask-jobqueue).  The local workers start without
        importing the main script again (as from Jupyter), so a plain script needs no
        ``if __name__ == "__main__":`` guard and its top-level code runs once.
    chunk_size : int, optional
        Replicates per task (default: about 4 tasks per worker per cell).
    store : path, optional
        Folder for one Parquet file per finished cell, ``cell_<128-bit key>.parquet`` with the
        cell's parameters in its metadata (``study.json`` records the study's identity; a
        store of a different study is refused).  Rerunning loads finished cells after
        checking them; a file that does not match its cell is recomputed with a
        :class:`StaleCellWarning`.  Both files are written atomically.
    alpha : float, optional
        Passed to the analysis in ``params`` (the level of its test).
    seed_exclude : sequence of str
        Grid parameters left out of the replicate seeds (common random numbers across their
        values, e.g. ``("n",)`` so that every n reuses the same streams).
    """
    import time

    if not callable(analysis):
        raise PowerError("analysis must be a function (params, rng) -> dict")
    if n_replicates < 1:
        raise PowerError("n_replicates must be at least 1")
    cells = _grid_frame(grid)
    grid_cols = list(cells.columns)
    root = _root_seed(rng)
    name = f"{getattr(analysis, '__module__', '')}.{getattr(analysis, '__qualname__', repr(analysis))}"
    t0 = time.perf_counter()
    cell_params = []
    for row in cells.to_dict("records"):         # keeps each column's dtype (n stays int)
        p = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        if alpha is not None:
            p.setdefault("alpha", alpha)
        cell_params.append(p)
    keys = [cell_key(p) for p in cell_params]
    seed_keys = [cell_key({k: v for k, v in p.items() if k not in set(seed_exclude)})
                 for p in cell_params]
    store_path, loaded = None, {}
    if store is not None:
        ident = {"format": STORE_FORMAT, "analysis": name,
                 "rng": {"entropy": root[0], "spawn_key": root[1]},
                 "n_replicates": int(n_replicates), "alpha": alpha,
                 "seed_exclude": sorted(seed_exclude)}
        store_path, study = _open_store(store, ident)
        loaded = _load_stored(store_path, cell_params, keys, seed_keys, study, grid_cols,
                              n_replicates)

        def save(i, df):
            _write_cell(df, store_path / f"cell_{keys[i]}.parquet",
                        {"format": STORE_FORMAT, "key": keys[i],
                         "params": _canonical(cell_params[i]), "study": study,
                         "seed_key": seed_keys[i]})
    else:
        save = None
    todo = [i for i in range(len(cell_params)) if i not in loaded]
    results = dict(loaded)
    used_workers = None
    if todo:
        used_workers = _compute(analysis, todo, cell_params, seed_keys, root, grid_cols,
                                n_replicates, results, save, client=client,
                                n_workers=n_workers, processes=processes,
                                chunk_size=chunk_size, progress=progress)
    reps = pd.concat([results[i] for i in range(len(cells))], ignore_index=True)
    reps = reps[grid_cols + [c for c in reps.columns if c not in grid_cols]]
    table = _summarise(reps, grid_cols)
    return PowerResult(replicates=reps, table=table, grid_columns=grid_cols, analysis=name,
                       n_replicates=int(n_replicates), alpha=alpha,
                       computed_cells=len(todo), loaded_cells=len(loaded),
                       seconds=time.perf_counter() - t0, n_workers=used_workers)


def _compute(analysis, todo, cell_params, seed_keys, root, grid_cols, n_replicates, results,
             save, *, client, n_workers, processes, chunk_size, progress) -> int | None:
    """Run the ``todo`` cells on Dask; each finished cell goes into ``results`` (and
    ``save``).  Returns the number of workers used."""
    from distributed import as_completed
    from ._progress import progress as progress_bar

    with _ClientContext(client, n_workers, processes) as cl:
        used_workers = len(cl.scheduler_info().get("workers", {})) or None
        nw = used_workers or 1
        cs = chunk_size or max(1, int(np.ceil(n_replicates / (4 * nw))))
        chunks = [list(range(s, min(s + cs, n_replicates))) for s in range(0, n_replicates, cs)]
        futures = {i: [cl.submit(_run_chunk, analysis, cell_params[i], root, seed_keys[i], ch,
                                 pure=False) for ch in chunks] for i in todo}
        flat = {f: i for i, fs in futures.items() for f in fs}
        remaining = {i: len(fs) for i, fs in futures.items()}
        parts: dict[int, list] = {i: [] for i in todo}
        disable = None if progress is None else not progress
        bar = progress_bar(total=len(flat), desc="power study", unit="task", disable=disable,
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
                    if save is not None:
                        save(i, df)
        finally:
            bar.close()
    return used_workers


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
    random numbers), which makes the simulated power curve far smoother in n.  ``rng``: as in
    :func:`run_study` (SPEC 7); a Generator or None is drawn from once, so every n still
    shares the same streams.  The answer carries Monte-Carlo error: see the Wilson intervals
    in ``trace``.
    """
    lo, hi = int(n_range[0]), int(n_range[1])
    if not 2 <= lo < hi:
        raise PowerError(f"n_range must be (low, high) with 2 <= low < high, got {n_range}")
    if not 0 < target_power < 1:
        raise PowerError(f"target_power must be in (0, 1), got {target_power}")
    root = _root_seed(rng)        # one root for every n: a Generator is drawn from once
    rng = np.random.SeedSequence(root[0], spawn_key=tuple(root[1]))
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
