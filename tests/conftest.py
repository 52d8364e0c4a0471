"""Test-session set-up.

Under pytest-xdist every worker is a separate process that shares the machine's cores with
the others, so BLAS / OpenMP / Numba thread pools are limited to one thread per worker:
otherwise 2 workers x 2 threads on a 2-core CI machine oversubscribe the cores and the small
matrix products of resampling tests slow down several-fold (measured: the achievable-R2 test
took 279 s instead of about 25 s).  Results do not depend on thread counts (the resampling
engine draws its indices on the CPU from ``rng`` and tests compare with tolerances).
"""

from __future__ import annotations

import os


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
        except Exception:  # noqa: BLE001 - threadpoolctl missing: leave the defaults
            pass
        try:
            import numba

            numba.set_num_threads(1)
        except Exception:  # noqa: BLE001
            pass


def require(module: str, reason: str = ""):
    """Import a *required* dependency for a test module.

    Outside CI a missing package skips the module with its reason (a developer's partial
    install); in CI (``CI`` set, as ``.ci/run`` runs) or with ``RADIOGENOMICS_REQUIRE_ALL=1``
    it fails, so a broken install step cannot make a whole test file vanish.  Use
    ``pytest.importorskip`` only for optional hardware or software (GPU, R packages).
    """
    import importlib

    import pytest

    strict = bool(os.environ.get("CI") or os.environ.get("RADIOGENOMICS_REQUIRE_ALL"))
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if strict:
            raise ImportError(f"{module} is a required dependency and failed to import in CI "
                              f"({exc}); the install step is broken") from exc
        pytest.skip(f"{module} not importable ({exc}){': ' + reason if reason else ''}",
                    allow_module_level=True)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test leaves open: matplotlib warns after 20, and a test that turns
    warnings into errors would fail because of figures of other tests in its worker."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
