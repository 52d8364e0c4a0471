"""CCA power study throughput on Dask: replicates per second on 1 and 2 local workers, beside
gemmr's own simulation of the same kind.

Study: ``radiogenomics.studies.cca_power`` at n = 100, p = q = 50, population canonical
correlation r in {0, 0.5}, B = 1,000 permutations per replicate (each replicate: simulate,
whiten both blocks once, 1,000 permuted 50 x 50 singular-value problems in batches).  At
n = p + q classical CCA is degenerate (the first canonical correlation is 1 for any data), so
the blocks are ridge-whitened (``reg = 0.1``, regularised CCA as ``CCA::rcc``).
``run_study`` with a local cluster of 1 and of 2 single-threaded worker processes; the two
runs must give identical tables (checked).  Scaling efficiency = rate(2) / (2 rate(1)).

Reference in the same run: gemmr 0.4.0 (Helmer et al. 2024; a Python package, installed in the
benchmark environment only) ``analyze_model_parameters('cca', n_perm=1000, n_rep, pxs=(50,),
n_per_ftrs=(1,), rs=(0.3,), n_Sigmas=1, ...)``: it draws the same kind of data (n = 100 for
p + q = 100) and evaluates the permutation test plus its other statistics; timed per
replicate.

Store overhead (same run): a 100-cell study of a trivial analysis (100 replicates per cell)
with ``store=`` - writing each cell (Parquet with its parameter record, atomic replace) and,
on the rerun, reading and verifying every cell (parameters, study, seed key, replicate
numbers, row parameters) - against the same study without a store; per cell.

Usage: ``python benchmarks/bench_power.py [N_REPLICATES]``.
"""

from __future__ import annotations

import sys
import time
import warnings

import pandas as pd


def ours(n_rep: int, workers: int):
    """Steady-state throughput: the cluster is started and every worker has imported the
    package (one warm-up replicate) before the clock starts; start-up is reported apart."""
    from distributed import Client, LocalCluster

    from radiogenomics.power import run_study
    from radiogenomics.studies import cca_power

    grid = {"n": [100], "p": [50], "q": [50], "r": [0.0, 0.5], "n_permutations": [1000],
            "reg": [0.1]}
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    run_study(cca_power, {**grid, "r": [0.2]}, n_replicates=workers, rng=99, client=client,
              chunk_size=1, alpha=0.05, progress=False)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_study(cca_power, grid, n_replicates=n_rep, rng=1, client=client, alpha=0.05,
                    progress=False)
    elapsed = time.perf_counter() - t0
    client.close()
    cluster.close()
    return elapsed, res, startup


def _trivial(params, rng):
    return {"reject": float(rng.random() < 0.05), "estimate": rng.standard_normal(), "truth": 0.0}


def store_overhead(n_cells: int = 100, n_rep: int = 100):
    """Seconds per cell: computing without a store, computing + writing, loading + verifying."""
    import tempfile

    from radiogenomics.power import run_study

    from distributed import Client, LocalCluster

    grid = {"cell": list(range(n_cells))}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        kw = dict(n_replicates=n_rep, rng=1, client=client, progress=False, chunk_size=n_rep)
        run_study(_trivial, {"cell": [-1]}, **kw)                       # warm-up
        t0 = time.perf_counter()
        plain = run_study(_trivial, grid, **kw)
        t_plain = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            run_study(_trivial, grid, store=d, **kw)
            t_write = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = run_study(_trivial, grid, store=d, **kw)
            t_load = time.perf_counter() - t0
    assert again.loaded_cells == n_cells and again.replicates.equals(plain.replicates)
    return t_plain / n_cells, t_write / n_cells, t_load / n_cells


def gemmr_time(n_rep: int = 2):
    try:
        from gemmr.sample_analysis import analyze_model_parameters
    except Exception as e:  # noqa: BLE001
        return None, f"gemmr not importable ({type(e).__name__}: {e})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        analyze_model_parameters("cca", n_rep=n_rep, n_perm=1000, n_bs=0, n_per_ftrs=(1,),
                                 pxs=(50,), pys="px", rs=(0.3,), n_Sigmas=1,
                                 show_progress=False)
        return (time.perf_counter() - t0) / n_rep, None


def main(n_rep: int = 40):
    t1, r1, s1 = ours(n_rep, 1)
    t2, r2, s2 = ours(n_rep, 2)
    same = r1.table.equals(r2.table) and r1.replicates.equals(r2.replicates)
    total = 2 * n_rep
    rate1, rate2 = total / t1, total / t2
    print(f"cca_power n=100 p=q=50 B=1000, {total} replicates (2 cells x {n_rep}):")
    print(f"  1 worker : {t1:6.1f} s  {rate1:5.2f} replicates/s   (cluster start-up and warm-up "
          f"{s1:.1f} s, not counted)")
    print(f"  2 workers: {t2:6.1f} s  {rate2:5.2f} replicates/s   scaling efficiency "
          f"{rate2 / (2 * rate1):.2f}   identical tables: {same}   (start-up {s2:.1f} s)")
    print(r2.table[["r", "rate", "rate_lower", "rate_upper", "bias"]].to_string(index=False))
    a, b, c = store_overhead()
    print(f"store, 100 cells x 100 replicates, per cell: compute {1e3 * a:.1f} ms, compute + "
          f"write {1e3 * b:.1f} ms, load + verify {1e3 * c:.1f} ms")
    g, why = gemmr_time()
    if g is None:
        print(f"  gemmr: {why}")
    else:
        print(f"  gemmr analyze_model_parameters (1 process): {g:6.2f} s per replicate = "
              f"{1 / g:5.3f} replicates/s; ratio ours(1 worker)/gemmr {rate1 * g:5.1f}x")
    return pd.DataFrame([{"workers": 1, "seconds": t1, "rate": rate1},
                         {"workers": 2, "seconds": t2, "rate": rate2}])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
