"""Shared helpers of the benchmarks: best-of-k wall time and the machine's matmul rate."""

from __future__ import annotations

import time

import numpy as np


def best_time(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls of ``fn()`` in seconds."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_gflops(n: int = 1500, repeat: int = 3) -> float:
    """The machine's own dense float64 matrix multiply rate (GFLOP/s), as a yardstick."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    return 2 * n**3 / best_time(lambda: a @ b, repeat) / 1e9


def row(name: str, ours: float, ref_name: str, ref: float) -> str:
    return f"{name:<48s} {ours:9.3f} s   {ref_name:<40s} {ref:9.3f} s   ratio {ours / ref:7.2f}"
