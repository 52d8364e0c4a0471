"""Scale-out on Dask (``client=``): scaling on 1 and 2 local workers, and where it stops.

Part (a), measured: local clusters of single-threaded worker *processes*, started and warmed up
(package imported, Numba kernels loaded, one small run) before the clock; start-up reported apart.

* Extraction: ``extract(manifest, labels=2, client=...)`` of 200 distinct synthetic cardiac
  phantoms (``data_sim.make_phantoms``: 80 x 80 x 8 voxels, pyradiomics default settings, 107
  features), one case per task.  In-run reference: the local process pool,
  ``extract(n_jobs=2)`` (same cases, same values checked).
* Max-T screen: ``associate(X, Y, cov, n_permutations=10_000, correction="maxT",
  backend="numba", client=...)`` at n = 100, p = 100, q = 2,000 (work 2 n p q B = 4e11 flop).
  In-run reference: the same call in this process (``client=None``, Numba on every core).

Scaling efficiency = t(1 worker) / (2 t(2 workers)); target >= 0.8.  Both clusters stay up and
the runs alternate (1, 2, 1, 2, ...; best of 3 each), interleaved with the same measurement for
plain processes (a pool of 1 and of 2 running fixed CPU work): on a shared machine that ratio
is the ceiling at the time, printed beside ours.  Results of every run are checked identical (features; counts, maxima and p-values).  Peak memory per worker: the
worker process's RSS high-water mark during the timed runs (``VmHWM``, reset after the
warm-up), beside its RSS after the warm-up.

Part (b), a larger cluster: (1) many workers on this machine with tiny tasks (each sleeps
``d`` seconds, so a worker costs no CPU and the scheduler's own per-task cost shows) for 8,
32 and 128 workers; (2) the per-task costs of the real tasks measured here (scheduler + driver per
task, drawing the permutations, summing a task's counts, sending its result, the worker's fixed
cost per task) fed into a model of the run on W workers:

    t(W) = setup(W) + max(C / W + (T / W) tau,  B c_draw + T (s + c_sum + r / bw))

with C the compute of the whole run on one worker, T = 4 W tasks (four per worker thread),
tau the worker's fixed cost per task, s the serial scheduler+driver cost per task, c_sum the
driver's reduction of one result of r bytes, bw the bandwidth into the driver and setup(W) the
broadcast of the data (log2 W rounds of copies).  Efficiency = C / (W t(W)); the approach
"stops scaling" where it falls below 0.8.

Usage: ``python benchmarks/bench_distributed.py [N_CASES] [B]``.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORKERS_MODEL = (8, 16, 32, 64, 128, 256, 512, 1024)
BANDWIDTH = 1.25e9      # bytes/s into the driver and between workers (10 GbE), assumed


def _cluster(workers: int, processes: bool = True):
    """Single-threaded workers; in-process workers get no memory limit (each would measure
    the whole process against its share of the machine and pause)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                           dashboard_address=":0", **({} if processes else {"memory_limit": 0}))
    return cluster, Client(cluster)


def _rss_now() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _rss_peak() -> float:
    """RSS high-water mark (MiB): ``VmHWM`` since the last :func:`_reset_peak` on Linux, else
    the process's lifetime maximum."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0     # KiB on Linux


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux: ``5`` into ``/proc/self/clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _memory(client) -> str:
    """Per worker: RSS now (MiB); then the high-water mark is reset."""
    now = client.run(_rss_now)
    client.run(_reset_peak)
    return ", ".join(f"{now[w]:.0f}" for w in sorted(now))


def _peak(client) -> str:
    """Per worker: RSS high-water mark since :func:`_memory` (MiB)."""
    peak = client.run(_rss_peak)
    return ", ".join(f"{peak[w]:.0f}" for w in sorted(peak))


# ----------------------------------------------------------------------- (a) the machine now

def _burn(k: int) -> float:
    """A fixed amount of single-threaded CPU work (about 0.05 s)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(k).standard_normal((160, 160))
    with threadpool_limits(1):
        for _ in range(60):
            a = np.tanh(a @ a / 160.0)
    return float(a[0, 0])


def _best(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def scaling(run, warm_up, repeat: int = 3, units: int = 40) -> dict:
    """``run(client)`` on a 1-worker and a 2-worker cluster (both started and warmed up with
    ``warm_up(client)`` first), alternated ``repeat`` times, best time of each; beside the same
    for plain processes (a pool of 1 and of 2 running :func:`_burn`), the ceiling this machine
    allows right now (other users' load included).  The load of a shared machine changes
    within seconds, so the rounds interleave the four measurements."""
    from concurrent.futures import ProcessPoolExecutor

    out: dict = {}
    clusters, pools = {}, {}
    for w in (1, 2):
        t0 = time.perf_counter()
        clusters[w] = _cluster(w)
        warm_up(clusters[w][1])
        out[f"startup{w}_s"] = time.perf_counter() - t0
        out[f"mem_warm{w}"] = _memory(clusters[w][1])
        pools[w] = ProcessPoolExecutor(w)
        list(pools[w].map(_burn, range(2 * w)))
    best = {k: np.inf for k in ("t1_s", "t2_s", "b1_s", "b2_s")}
    try:
        for _ in range(repeat):
            for w in (1, 2):
                res = []
                best[f"t{w}_s"] = min(best[f"t{w}_s"],
                                      _best(lambda: res.append(run(clusters[w][1]))))
                out[f"result{w}"] = res[0]
                best[f"b{w}_s"] = min(best[f"b{w}_s"],
                                      _best(lambda: list(pools[w].map(_burn, range(units)))))
        for w in (1, 2):
            out[f"mem{w}"] = _peak(clusters[w][1])
    finally:
        for w, (cluster, client) in clusters.items():
            client.close()
            cluster.close()
            pools[w].shutdown()
    out.update(best)
    out["efficiency"] = best["t1_s"] / (2 * best["t2_s"])
    out["ceiling"] = best["b1_s"] / (2 * best["b2_s"])
    return out


# ----------------------------------------------------------------------- (a) extraction

def extraction(n_cases: int, tmp: Path, repeat: int = 3) -> dict:
    from data_sim import make_phantoms
    from radiogenomics.radiomics import extract

    ph = make_phantoms(tmp / "ph", n_samples=n_cases, rng=1)
    manifest = ph.manifest[["sample_id", "image", "mask"]]
    t0 = time.perf_counter()
    pool = extract(manifest, labels=2, n_jobs=2, progress=False)
    t_pool = time.perf_counter() - t0
    out = scaling(lambda cl: extract(manifest, labels=2, client=cl, progress=False),
                  lambda cl: extract(manifest.iloc[:4], labels=2, client=cl, progress=False),
                  repeat)
    out["pool_s"] = t_pool
    for w in (1, 2):
        res = out.pop(f"result{w}")
        assert len(res.errors) == 0, res.errors
        out[f"same{w}"] = res.features.equals(pool.features)
    return out


# ----------------------------------------------------------------------- (a) max-T screen

def _screen_data(n=100, p=100, q=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, p))).add_prefix("x")
    Y = pd.DataFrame(rng.standard_normal((n, q)) + 0.3 * X.iloc[:, [0]].to_numpy()).add_prefix("g")
    cov = pd.DataFrame({"age": rng.standard_normal(n), "sex": rng.integers(0, 2, n)},
                       index=X.index)
    return X, Y, cov


def screen(B: int, repeat: int = 3) -> dict:
    from radiogenomics.association import associate

    X, Y, cov = _screen_data()
    kw = dict(n_permutations=B, correction="maxT", backend="numba", rng=1, progress=False)
    associate(X.iloc[:, :5], Y.iloc[:, :50], cov, **{**kw, "n_permutations": 99})  # compile
    t0 = time.perf_counter()
    ref = associate(X, Y, cov, **kw)
    t_local = time.perf_counter() - t0
    out = scaling(lambda cl: associate(X, Y, cov, client=cl, **kw),
                  lambda cl: associate(X.iloc[:, :5], Y.iloc[:, :50], cov, client=cl,
                                       **{**kw, "n_permutations": 999}), repeat)
    out["local_s"] = t_local
    for w in (1, 2):
        res = out.pop(f"result{w}")
        out[f"same{w}"] = (np.array_equal(res.null_max, ref.null_max)
                           and res.p_permutation.equals(ref.p_permutation)
                           and res.p_fwer.equals(ref.p_fwer))
    return out


# ----------------------------------------------------------------------- (b) many workers

def _sleep(i, d):
    time.sleep(d)
    return i


def many_workers(workers=(8, 32, 128), d: float = 0.05, per_worker: int = 8) -> list[dict]:
    """Tasks that sleep ``d`` s on W in-process workers: efficiency = ideal / measured."""
    from radiogenomics.distributed import map_ordered

    rows = []
    for w in workers:
        cluster, client = _cluster(w, processes=False)
        map_ordered(client, _sleep, range(w), args=(0.0,))                     # warm-up
        n = per_worker * w
        t0 = time.perf_counter()
        map_ordered(client, _sleep, range(n), args=(d,))
        t = time.perf_counter() - t0
        client.close()
        cluster.close()
        rows.append({"workers": w, "tasks": n, "task_s": d, "measured_s": t,
                     "ideal_s": n * d / w, "efficiency": n * d / w / t})
    return rows


def _noop(i):
    return i


def _result_of(i, p, q):
    return np.zeros((p, q), dtype=np.uint16)


def task_costs(p=100, q=2000, n=100) -> dict:
    """Per-task costs measured on a 2-process local cluster and in this process."""
    from radiogenomics.distributed import map_ordered
    from radiogenomics.resampling import PermutationScheme, iter_batches
    from radiogenomics.resampling.engine import _null_task

    cluster, client = _cluster(2)
    map_ordered(client, _noop, range(50))
    k, k2 = 1000, 100
    s = min(_best(lambda: map_ordered(client, _noop, range(k), max_pending=64))
            for _ in range(3)) / k
    with_result = min(_best(lambda: map_ordered(client, _result_of, range(k2), args=(p, q),
                                                keep=False, on_result=lambda *a: None))
                      for _ in range(3)) / k2
    client.close()
    cluster.close()
    acc = np.zeros((p, q), dtype=np.int64)
    part = np.ones((p, q), dtype=np.uint16)
    t0 = time.perf_counter()
    for _ in range(50):
        acc += part
    c_sum = (time.perf_counter() - t0) / 50
    scheme = PermutationScheme(n)
    t0 = time.perf_counter()
    for _ in iter_batches(scheme, 20000, 256, 0):
        pass
    c_draw = (time.perf_counter() - t0) / 20000
    X, Y, _ = _screen_data(n, p, q)
    A, U = (v - v.mean(0) for v in (X.to_numpy(), Y.to_numpy()))
    A, U = A / np.linalg.norm(A, axis=0), U / np.linalg.norm(U, axis=0)
    Qb = np.ones((n, 1)) / np.sqrt(n)
    obs = A.T @ U
    perms = np.stack([np.random.default_rng(i).permutation(n) for i in range(16)])
    kw = dict(backend="numba", batch=16, kind="free", numba_threads=1)
    _null_task((0, perms), A, U, Qb, obs, **kw)
    tau = min(_best(lambda: _null_task((0, perms[:1]), A, U, Qb, obs, **{**kw, "batch": 1}))
              for _ in range(5))
    return {"s": s, "result_s": with_result, "c_sum": c_sum, "c_draw": c_draw, "tau": tau,
            "result_bytes": p * q * 2}


# ----------------------------------------------------------------------- (b) model

def predicted_efficiency(C: float, n_items: int, costs: dict, workers: int, *,
                         tasks_per_thread: int = 4, data_bytes: float = 0.0,
                         per_item_driver: float = 0.0, bytes_per_task: float = 0.0) -> float:
    """Efficiency C / (W t(W)) of the model in the module docstring."""
    T = min(n_items, tasks_per_thread * workers)
    setup = data_bytes * np.ceil(np.log2(workers + 1)) / BANDWIDTH
    parallel = C / workers + (T / workers) * costs["tau"]
    per_task = costs["s"] + costs["c_sum"] + bytes_per_task / BANDWIDTH
    serial = n_items * per_item_driver + T * per_task
    return C / (workers * (setup + max(parallel, serial)))


def model_rows(screen_c: float, case_c: float, costs: dict, n=100, p=100, q=2000) -> list[dict]:
    rows = []
    data = 8.0 * (n * (p + 3) + n * q + p * q)
    for B in (10_000, 100_000, 1_000_000):
        C = screen_c * B / 10_000
        for w in WORKERS_MODEL:
            rows.append({"workload": f"max-T screen B={B:,}", "workers": w,
                         "efficiency": predicted_efficiency(
                             C, B, costs, w, data_bytes=data, per_item_driver=costs["c_draw"],
                             bytes_per_task=costs["result_bytes"])})
    for n_cases, per_case in ((20_000, case_c), (20_000, 2.0)):
        for w in WORKERS_MODEL:
            rows.append({"workload": f"extraction {n_cases:,} cases x {per_case:.2f} s",
                         "workers": w,
                         "efficiency": predicted_efficiency(
                             n_cases * per_case, n_cases, {**costs, "c_sum": 1e-4, "tau": 0.0},
                             w, tasks_per_thread=n_cases, bytes_per_task=8e3)})
    return rows


def _limit(rows, workload) -> str:
    good = [r["workers"] for r in rows if r["workload"] == workload and r["efficiency"] >= 0.8]
    return f">= 0.8 up to {max(good)} workers" if good else "< 0.8 already at 8 workers"


def main(n_cases: int = 200, B: int = 10_000):
    tmp = Path(tempfile.mkdtemp())
    try:
        ex = extraction(n_cases, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"(a) extraction, {n_cases} phantoms, pyradiomics defaults, one case per task:")
    for w in (1, 2):
        print(f"  {w} worker(s): {ex[f't{w}_s']:6.2f} s  {n_cases / ex[f't{w}_s']:5.1f} cases/s"
              f"  same features as the pool: {ex[f'same{w}']}  (start-up {ex[f'startup{w}_s']:.1f}"
              f" s)  RSS per worker after warm-up {ex[f'mem_warm{w}']} MiB, "
              f"peak during the runs {ex[f'mem{w}']} MiB")
    print(f"  scaling efficiency t1 / (2 t2) = {ex['efficiency']:.2f}; this machine now, 2 plain "
          f"processes vs 1: {ex['ceiling']:.2f} (ratio {ex['efficiency'] / ex['ceiling']:.2f})")
    print(f"  reference: process pool extract(n_jobs=2) {ex['pool_s']:.2f} s; ratio Dask(2) / "
          f"pool {ex['t2_s'] / ex['pool_s']:.2f}")
    sc = screen(B)
    print(f"(a) max-T screen n=100 p=100 q=2,000 B={B:,} (numba):")
    for w in (1, 2):
        print(f"  {w} worker(s): {sc[f't{w}_s']:6.2f} s  identical counts/maxima/p: "
              f"{sc[f'same{w}']}  (start-up {sc[f'startup{w}_s']:.1f} s)  RSS per worker after "
              f"warm-up {sc[f'mem_warm{w}']} MiB, peak during the runs {sc[f'mem{w}']} MiB")
    print(f"  scaling efficiency t1 / (2 t2) = {sc['efficiency']:.2f}; this machine now, 2 plain "
          f"processes vs 1: {sc['ceiling']:.2f} (ratio {sc['efficiency'] / sc['ceiling']:.2f})")
    print(f"  reference: this process, client=None, Numba on {os.cpu_count()} cores "
          f"{sc['local_s']:.2f} s; ratio Dask(2) / in-process {sc['t2_s'] / sc['local_s']:.2f}")
    costs = task_costs()
    print("(b) many in-process workers, tasks sleeping 0.05 s (8 per worker), beside the model "
          "with the per-task cost measured below:")
    for r in many_workers():
        pred = predicted_efficiency(r["tasks"] * r["task_s"], r["tasks"],
                                    {**costs, "tau": 0.0, "c_sum": 0.0}, r["workers"],
                                    tasks_per_thread=r["tasks"])
        print(f"  {r['workers']:4d} workers {r['tasks']:5d} tasks: {r['measured_s']:.2f} s "
              f"(ideal {r['ideal_s']:.2f} s) efficiency {r['efficiency']:.2f}; model {pred:.2f}")
    print(f"(b) per-task costs here: scheduler+driver {1e3 * costs['s']:.2f} ms/task; task "
          f"returning a 100 x 2,000 uint16 count matrix {1e3 * costs['result_s']:.2f} ms; "
          f"summing it {1e3 * costs['c_sum']:.2f} ms; drawing a permutation "
          f"{1e6 * costs['c_draw']:.2f} us; worker fixed cost per task {1e3 * costs['tau']:.1f} ms")
    screen_c = sc["t1_s"]
    case_c = ex["t1_s"] / n_cases
    rows = model_rows(screen_c, case_c, costs)
    table = pd.DataFrame(rows).pivot(index="workload", columns="workers", values="efficiency")
    print("(b) model: predicted efficiency on W workers (bandwidth 1.25 GB/s assumed)")
    print(table.round(2).to_string())
    for wl in table.index:
        print(f"  {wl}: {_limit(rows, wl)}")
    return ex, sc, costs, table


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
