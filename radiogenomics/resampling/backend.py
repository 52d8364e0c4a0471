"""Choosing the array backend of the resampling kernels.

``backend`` is one of

``"numpy"``
    NumPy arrays and NumPy's BLAS; elementwise reductions with NumPy ufuncs.
``"numba"``
    NumPy's BLAS for the matrix products, and fused, multi-threaded Numba loops for the
    reductions that are not matrix products (one pass for max-T and exceedance counts instead
    of several NumPy temporaries).
``"cupy"``
    The same array-namespace code as ``"numpy"`` with CuPy arrays on the current GPU (cuBLAS
    for the products), with the reduction fused into one CUDA kernel
    (:mod:`~radiogenomics.resampling.kernels_cuda`).
``"auto"``
    ``"cupy"`` when CuPy is installed and a GPU is visible, else ``"numba"`` when Numba is
    installed, else ``"numpy"``.

All backends consume the same resampling indices (drawn on the CPU), so they give the same
p-values for the same ``rng``.
"""

from __future__ import annotations

import functools
from types import ModuleType

BACKENDS = ("auto", "numpy", "numba", "cupy")

__all__ = ["BACKENDS", "resolve_backend", "array_namespace", "cupy_available", "numba_available",
           "single_threaded_blas"]


@functools.lru_cache(maxsize=None)
def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver/runtime errors
        return False


@functools.lru_cache(maxsize=None)
def numba_available() -> bool:
    try:
        import numba  # noqa: F401

        return True
    except ImportError:
        return False


def resolve_backend(backend: str = "auto") -> str:
    """The concrete backend name for ``backend``, with a clear error if it cannot run here."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if cupy_available():
            return "cupy"
        return "numba" if numba_available() else "numpy"
    if backend == "cupy" and not cupy_available():
        raise RuntimeError(
            "backend='cupy' needs CuPy and a CUDA GPU: install the GPU extra "
            "(pip install 'radiogenomics[gpu]', or the cupy-cudaXXx wheel matching your CUDA) on "
            "a machine with a GPU, or use backend='numba' / 'auto'")
    if backend == "numba" and not numba_available():
        raise RuntimeError("backend='numba' needs Numba (pip install numba); or use backend='numpy'")
    return backend


def array_namespace(backend: str) -> ModuleType:
    """The array module of a resolved backend (``cupy`` or ``numpy``)."""
    if backend == "cupy":
        import cupy

        return cupy
    import numpy

    return numpy


def to_numpy(a):
    """A NumPy array from a NumPy or CuPy array."""
    get = getattr(a, "get", None)
    return get() if callable(get) else a


def single_threaded_blas():
    """Context in which BLAS uses one thread.

    Resampling loops run many small products; multithreaded OpenBLAS on stacks of small
    matrices was 5-90x slower on a loaded 2-core machine (``shared/refdata/cca/README.md``),
    and the loops parallelise over resamples or tiles instead.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
