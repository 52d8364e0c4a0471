"""Kaplan-Meier (radiogenomics.survival.kaplan_meier) against survival::survfit and prodlim's
reverse (censoring) estimator, on data with event/censoring ties (tests/data/survival/km)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.survival import as_survival, kaplan_meier, surv_frame

D = Path(__file__).parent / "data" / "survival"


def _data():
    d = pd.read_csv(D / "horizon" / "data_ties.csv", float_precision="round_trip")
    return d["time"].to_numpy(), d["status"].to_numpy().astype(float)


def _ref(name):
    return pd.read_csv(D / "km" / name, float_precision="round_trip")


def test_km_equals_survfit():
    t, e = _data()
    km, ref = kaplan_meier(t, e), _ref("km_survfit.csv")
    np.testing.assert_allclose(km.time, ref["time"], rtol=0, atol=0)
    np.testing.assert_allclose(km.surv, ref["surv"], rtol=1e-13)
    np.testing.assert_allclose(km.var, ref["var"], rtol=1e-10)
    np.testing.assert_array_equal(km.n_risk, ref["n_risk"])
    np.testing.assert_array_equal(km.n_event, ref["n_event"])
    # right-continuous step function, and its left limit
    mid = (ref["time"].to_numpy()[:-1] + ref["time"].to_numpy()[1:]) / 2
    np.testing.assert_allclose(km(mid), ref["surv"].to_numpy()[:-1], rtol=1e-13)
    np.testing.assert_allclose(km(ref["time"], side="left"),
                               np.r_[1.0, ref["surv"].to_numpy()[:-1]], rtol=1e-13)


def test_weighted_km_equals_survfit():
    t, e = _data()
    w = np.linspace(0.5, 2, t.size)
    ref = _ref("km_survfit_weights.csv")
    np.testing.assert_allclose(kaplan_meier(t, e, weights=w).surv, ref["surv"], rtol=1e-13)


def test_censoring_km_equals_prodlim_reverse():
    """Events first at ties: subjects with an event at u leave the censoring risk set at u."""
    t, e = _data()
    ref = _ref("censoring_prodlim_reverse.csv")
    G = kaplan_meier(t, e, reverse=True)
    np.testing.assert_allclose(G(ref["time"]), ref["G"], rtol=1e-13)
    # survfit(Surv(t, 1 - status)) would keep them: the two differ at these data's ties
    naive = kaplan_meier(t, 1 - e)
    assert np.abs(naive(ref["time"]) - ref["G"]).max() > 1e-4


def test_survival_inputs_checked():
    t, e = _data()
    df = pd.DataFrame({"status": e, "fu_time": t}, index=[f"p{i}" for i in range(t.size)])
    tt, ee, idx = as_survival(df)
    np.testing.assert_array_equal(tt, t)
    np.testing.assert_array_equal(ee, e)
    assert idx[0] == "p0"
    frame = surv_frame(t, e)
    assert list(frame.columns) == ["time", "event"] and frame["event"].dtype == np.int64
    with pytest.raises(InputError, match="time has 1 missing"):
        as_survival(time=np.r_[np.nan, t[1:]], event=e)
    with pytest.raises(InputError, match="no events|0 events"):
        as_survival(time=t, event=np.zeros_like(e))
    with pytest.raises(InputError, match="either"):
        as_survival(df, time=t)
    with pytest.raises(InputError, match="two columns"):
        as_survival(df.assign(x=1.0))
