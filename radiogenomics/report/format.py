"""Numbers for people: p-values, counts and estimates as a paper prints them."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["fmt_p", "fmt_num", "fmt_count", "fmt_ci"]

#: smallest positive double: a p-value that underflowed to 0 is below it
_TINY = "< 1e-300"


def fmt_p(p, digits: int = 2) -> str:
    """A p- or q-value: ``"0.032"``, ``"0.0012"``, ``"3.4e-08"``; an exact 0 (underflow of a
    parametric p) as ``"< 1e-300"``; NaN as ``"NA"``."""
    if p is None:
        return "NA"
    p = float(p)
    if math.isnan(p):
        return "NA"
    if p <= 0:
        return _TINY
    if p >= 0.001:
        # `digits` significant figures, trailing zeros kept: 0.50, 0.060, 0.0021, 0.0010
        d = max(digits - 1 - int(math.floor(math.log10(p))), digits)
        return f"{p:.{d}f}"
    return f"{p:.{digits - 1}e}".replace("e-0", "e-")


def fmt_count(n) -> str:
    """An integer count with thousands separators: ``603,000`` (never ``6e+05``)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "NA"
    return f"{int(round(float(n))):,}"


def fmt_num(x, digits: int = 3) -> str:
    """An estimate to ``digits`` significant digits, without scientific notation between
    1e-4 and 1e6; integers as counts."""
    if x is None:
        return "NA"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return fmt_count(x)
    x = float(x)
    if math.isnan(x):
        return "NA"
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e6:
        d = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
        return f"{x:,.{d}f}"
    return f"{x:.{digits - 1}e}"


def fmt_ci(est, lo, hi, digits: int = 3) -> str:
    """``"0.41 [0.22, 0.58]"``."""
    return f"{fmt_num(est, digits)} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"
