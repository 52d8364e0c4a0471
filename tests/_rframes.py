"""Compare frames with R reference CSVs (used by the MR I/O and instrument tests).

R writes NA, TRUE/FALSE and 15-digit numbers; :func:`compare_frames` checks column names and
order, numeric columns to ``rtol`` (NaN = NA) and every other column as R would print it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def read_r_csv(path) -> pd.DataFrame:
    """A CSV written by R's write.csv: only "NA" is missing, numbers read exactly."""
    return pd.read_csv(path, keep_default_na=False, na_values=["NA"], float_precision="round_trip")


def r_text(v) -> str:
    """A value as R prints it in a CSV (NA, TRUE/FALSE, numbers by value)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "NA"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).upper()
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v))
    return str(v)


def compare_frames(got: pd.DataFrame, ref: pd.DataFrame, rtol: float, skip_ids: bool = False) -> None:
    assert list(got.columns) == list(ref.columns)
    assert len(got) == len(ref)
    for c in ref.columns:
        if skip_ids and c.startswith("id."):
            continue
        g, e = got[c].to_numpy(), ref[c].to_numpy()
        if e.dtype.kind == "f" and g.dtype.kind in "fi":
            np.testing.assert_allclose(g.astype(float), e, rtol=rtol, atol=0, equal_nan=True, err_msg=c)
        else:
            assert [r_text(x) for x in g] == [r_text(x) for x in e], c
