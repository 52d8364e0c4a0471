"""What each kind of bad input gets from the Python API (run: python examples/bad_input.py).

Every message below is produced by the code as it is (this script runs in the test suite);
the README's "Bad input" section quotes it.  Each line: the input, then the error type and
its one-line message (or the warning / record for inputs that are handled, not refused).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from radiogenomics import Cohort, RadiogenomicsError


def _frames():
    g = np.random.default_rng(0)
    ids = [f"S{i:02d}" for i in range(30)]
    X = pd.DataFrame(g.normal(size=(30, 3)), index=ids, columns=["shape_Volume", "glcm_Contrast",
                                                                 "firstorder_Mean"])
    Y = pd.DataFrame(g.normal(size=(30, 2)), index=ids, columns=["NPPB", "MYH7"])
    centre = pd.Series(np.repeat(["A", "B", "C"], 10), index=ids)
    return X, Y, centre


def cases():
    from radiogenomics.association import associate
    from radiogenomics.cca import CCA
    from radiogenomics.harmonize import ComBat
    from radiogenomics.mr import harmonise, mr

    X, Y, centre = _frames()
    text = X.astype(object)
    text.iloc[3, 1] = "n.d."
    nan = X.copy()
    nan.iloc[4, 0] = np.nan
    inf = X.copy()
    inf.iloc[5, 2] = np.inf
    dup = X.copy()
    dup.index = ["S01"] + list(X.index[1:])
    other = Y.set_axis([f"s{i:03d}" for i in range(30)])
    exp = pd.DataFrame({"SNP": ["rs1", "rs2", "rs3"], "beta.exposure": [0.1, 0.2, 0.15],
                        "se.exposure": [0.01, 0.0, 0.02], "effect_allele.exposure": "A",
                        "other_allele.exposure": "G"})
    out = pd.DataFrame({"SNP": ["rs1", "rs2", "rs3"], "beta.outcome": [0.03, 0.05, 0.04],
                        "se.outcome": ["0.01", "0.01", "NA"], "effect_allele.outcome": "A",
                        "other_allele.outcome": "G"})
    yield "text in a numeric column (Cohort)", lambda: Cohort({"radiomics": text})
    yield "NaN (Cohort, default nan_policy)", lambda: Cohort({"radiomics": nan})
    yield "inf with nan_policy='keep'", lambda: Cohort({"radiomics": inf}, nan_policy="keep")
    yield "duplicated sample IDs (Cohort)", lambda: Cohort({"radiomics": dup})
    yield "misaligned sample IDs (associate)", lambda: associate(X, other)
    yield "NaN (associate on DataFrames)", lambda: associate(nan, Y)
    yield "inf (ComBat)", lambda: ComBat().fit(inf, centre)
    yield "duplicated rows in CCA (bootstrap-like)", lambda: CCA().fit(
        pd.concat([X.iloc[:4]] * 2).set_axis([f"r{i}" for i in range(8)]),
        pd.concat([Y.iloc[:4]] * 2).set_axis([f"r{i}" for i in range(8)]))
    yield "se = 0 and 'NA' text in MR summary statistics", lambda: harmonise(exp, out)[
        ["SNP", "mr_keep", "mr_keep_reason"]].to_string(index=False)
    yield "mr() on a frame without mr_keep, se.outcome = 0", lambda: mr(
        pd.DataFrame({"SNP": ["rs1", "rs2", "rs3", "rs4"], "beta.exposure": [0.1, 0.2, 0.15, 0.12],
                      "se.exposure": 0.01, "beta.outcome": [0.03, 0.05, 0.04, 0.03],
                      "se.outcome": [0.01, 0.0, 0.01, 0.01]}), method_list=["mr_ivw"])


def main():
    for what, fn in cases():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = fn()
                outcome = "result" + (f":\n{res}" if isinstance(res, str) else "")
            except RadiogenomicsError as exc:
                outcome = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        for w in caught:
            if issubclass(w.category, UserWarning):
                outcome += f"\n  warning: {' '.join(str(w.message).split())}"
        print(f"- {what}\n  {outcome}")


if __name__ == "__main__":
    main()
