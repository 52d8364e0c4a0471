"""Bridge to R's TwoSampleMR through rpy2 (``backend="TwoSampleMR"``).

Runs the same analysis in R and returns the same DataFrame shape as the native functions.
Never falls back silently: when rpy2, R or TwoSampleMR is missing, the error says which and
how to install it.  rpy2 3.6 needs R >= 4.5; with Debian's R 4.2 use rpy2 3.5.17
(``pip install 'radiogenomics[r]'``).  TwoSampleMR is not on CRAN: install it in R with
``remotes::install_github("MRCIEU/TwoSampleMR")``.
"""

from __future__ import annotations

import pandas as pd

from .._checks import RadiogenomicsError

__all__ = ["twosamplemr_available", "run_twosamplemr_mr", "RBackendError"]


class RBackendError(RadiogenomicsError, RuntimeError):
    """rpy2, R or TwoSampleMR cannot be loaded; the message says which and how to install it."""


INSTALL_RPY2 = ("install rpy2 (pip install 'radiogenomics[r]', which pins rpy2 3.5.17 for R < 4.5) "
                "and R itself (e.g. apt-get install r-base-core)")
INSTALL_TSMR = ('install TwoSampleMR in R: install.packages("remotes"); '
                'remotes::install_github("MRCIEU/TwoSampleMR")')


def start_r():
    """Import ``rpy2.robjects`` (which starts the embedded R) and give back the environment.

    rpy2 sets ``os.environ["LD_LIBRARY_PATH"]`` to R's library folders (``/usr/lib/R/lib``,
    the system's ``/usr/lib/x86_64-linux-gnu``, ...) when it starts R.  R is then loaded in
    this process and needs it no more, but every *later* subprocess inherits it: a Python
    built outside the system (pyenv, conda) then loads the system's libpython for its own
    extension modules (``import ssl`` fails with "undefined symbol"), which breaks Dask
    workers, notebooks and any script started afterwards.  The previous value is restored."""
    import os

    before = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    finally:
        if before is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = before
    return ro


def _importr_twosamplemr():
    try:
        start_r()
        from rpy2.robjects.packages import importr
    except ImportError as exc:
        raise RBackendError(f"backend='TwoSampleMR' needs rpy2, which is not importable ({exc}); "
                           f"{INSTALL_RPY2}") from exc
    except Exception as exc:  # rpy2 present but R missing or incompatible (e.g. R_getVar)
        raise RBackendError(f"backend='TwoSampleMR': rpy2 cannot start R ({exc}); rpy2 3.6 needs "
                           f"R >= 4.5, use rpy2 3.5.17 with older R; {INSTALL_RPY2}") from exc
    try:
        return importr("TwoSampleMR")
    except Exception as exc:
        raise RBackendError(f"backend='TwoSampleMR': R has no TwoSampleMR package ({exc}); "
                           f"{INSTALL_TSMR}") from exc


def twosamplemr_available() -> bool:
    """True when rpy2, R and TwoSampleMR can all be loaded."""
    try:
        _importr_twosamplemr()
        return True
    except RBackendError:
        return False


def _converters():
    """(python -> R, R -> python, character vector) conversion functions of rpy2."""
    ro = start_r()
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    def to_r(df):
        with localconverter(ro.default_converter + pandas2ri.converter) as cv:
            return cv.py2rpy(df)

    def from_r(obj):
        with localconverter(ro.default_converter + pandas2ri.converter) as cv:
            return cv.rpy2py(obj)

    return to_r, from_r, ro.StrVector


def run_twosamplemr_mr(dat: pd.DataFrame, method_list=None) -> pd.DataFrame:
    """``TwoSampleMR::mr(dat, method_list=...)`` run in R; columns as the native ``mr()``.

    ``dat`` must carry ``mr_keep`` (TwoSampleMR's ``mr()`` subsets on it and fails without it):
    :func:`~radiogenomics.mr.mr` passes the output of ``prepare_harmonised``, which adds it.
    """
    tsmr = _importr_twosamplemr()
    if "mr_keep" not in dat.columns:
        raise RadiogenomicsError("dat needs an mr_keep column for TwoSampleMR::mr (run harmonise first)")
    to_r, from_r, strvec = _converters()
    rdat = to_r(dat)
    if method_list is None:
        res = tsmr.mr(rdat)
    else:
        res = tsmr.mr(rdat, method_list=strvec(list(method_list)))
    return pd.DataFrame(from_r(res)).reset_index(drop=True)
