"""Cross-validation of survival models (``cross_validate`` with a (time, event) target): the
within-centre C-index under leave-one-centre-out on null data with strong centre effects, and
the penalised Cox model's C beside the C of the true linear predictor on data_sim cohorts with
a known signal."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_sim.survival import make_survival_cohort
from radiogenomics.penalized import PenalizedModel, make_pipeline
from radiogenomics.survival import c_within, harrell_c
from radiogenomics.validation import ValidationError, cross_validate

STRONG_CENTRES = [-1.5, -0.5, 0.5, 1.5]        # log-hazard offsets: hazards differ 20-fold


def _cohort(seed, null, n=160, p=60, views=("radiomics",), centre_log_hazard=STRONG_CENTRES):
    coh, truth = make_survival_cohort(
        n_samples=n, n_centres=4, n_radiomic=p, n_genes=200, rng=seed,
        centre_weights=[1, 1, 1, 1], centre_concentration=None,
        survival=dict(centre_log_hazard=centre_log_hazard, null=null,
                      clinical_coefficients={"age": 0.0, "sex_M": 0.0} if null else None))
    X = pd.concat([coh.views[v] for v in views], axis=1, join="inner")
    y = coh.outcomes.loc[X.index, ["event_time", "event"]]
    return X.assign(centre=coh.centre.loc[X.index].astype(str)), y, truth


def _all(res):
    m = res.metrics
    return m[m["breakdown"] == "all"].set_index("metric")


def _loco(X, y, seed=1, **kw):
    with warnings.catch_warnings():
        # a held-out centre whose model kept no feature predicts one constant risk: its own C
        # is 0.5 by convention (warned); the pooled and within-centre C are unaffected
        warnings.filterwarnings("ignore", message="risk has no ordered comparable pair")
        return cross_validate(make_pipeline(family="cox", alpha=0.5, harmonize=False, cv=4,
                                            rng=seed), X, y, cv="loco", rng=seed + 1, **kw)


def test_loco_null_strong_centres_within_centre_c():
    """Null imaging data (the hazard depends on the centre only), centres with 20-fold
    different hazards and centre-shifted features: the pooled C of the leave-one-centre-out
    predictions is far from 0.5 (each held-out centre's scores sit where the model trained on
    the other centres puts that centre's features; here 0.31), the within-centre C (pairs of
    one centre) is not, and its CI contains 0.5."""
    X, y, _ = _cohort(3, null=True)
    a = _all(_loco(X, y, n_boot=0))
    lo, hi = a.loc["c_index_within_centre", ["lower", "upper"]]
    assert lo < 0.5 < hi
    assert abs(a.loc["c_index_within_centre", "estimate"] - 0.5) < 0.05
    lo_p, hi_p = a.loc["c_index", ["lower", "upper"]]
    assert hi_p < 0.45 or lo_p > 0.55                 # the pooled C is misleading here


@pytest.mark.slow
def test_loco_null_within_centre_c_coverage():
    """Coverage of 0.5 by the within-centre C's 95% CI over 20 null cohorts (leave-one-
    centre-out, strong centre effects): within the binomial 99% acceptance region."""
    covered = 0
    reps = 20
    for seed in range(reps):
        X, y, _ = _cohort(100 + seed, null=True, n=120, p=40)
        a = _all(_loco(X, y, seed=seed, n_boot=0))
        lo, hi = a.loc["c_index_within_centre", ["lower", "upper"]]
        covered += lo <= 0.5 <= hi
    assert covered >= stats.binom.ppf(0.005, reps, 0.95), covered


@pytest.mark.slow
def test_penalised_cox_close_to_true_linear_predictor():
    """data_sim with a known signal (hazard ratios 2.0 and 1.4 per SD of the shared factors,
    plus age and sex): out-of-fold C of the penalised Cox model on radiomics + module scores
    beside the C of the true linear predictor, 5-fold and leave-one-centre-out (within
    centre).  Measured (seed 5, n 300, 4 centres): 5-fold 0.67 vs truth 0.69; LOCO within-centre
    0.69 vs 0.70.  The model sees neither age nor sex, so it cannot quite reach the truth."""
    X, y, truth = _cohort(5, null=False, n=300, p=100, views=("radiomics", "modules"),
                          centre_log_hazard=[-0.5, -0.2, 0.2, 0.5])
    lp = truth.extras["survival"].linear_predictor.reindex(X.index)
    t, e = y["event_time"], y["event"]
    c_true = harrell_c(time=t, event=e, risk=lp).c
    c_true_within = c_within(time=t, event=e, risk=lp, centre=X["centre"]).c
    pipe = make_pipeline(family="cox", alpha=0.5, harmonize=True, cv=5, rng=1)
    kfold = _all(cross_validate(pipe, X, y, cv=5, rng=2, n_boot=0))
    loco = _all(cross_validate(pipe, X, y, cv="loco", rng=2, n_boot=0))
    c_k, c_l = kfold.loc["c_index", "estimate"], loco.loc["c_index_within_centre", "estimate"]
    print(f"truth C {c_true:.3f} (within {c_true_within:.3f}); 5-fold {c_k:.3f}; "
          f"LOCO within-centre {c_l:.3f}")
    assert 0.6 < c_true < 0.75
    assert c_true - 0.06 < c_k <= c_true + 0.02
    assert c_true_within - 0.06 < c_l <= c_true_within + 0.02


def test_survival_cv_shapes_and_horizons():
    """Predictions hold time, event, the risk score and the absolute risk at each horizon;
    the metric table has the horizon metrics and per-centre rows; calibration and decision
    curves work on the pooled predictions; bad horizons and kinds are refused."""
    X, y, _ = _cohort(7, null=False, n=120, p=30, centre_log_hazard=[-0.3, 0.0, 0.3, 0.6])
    base = make_pipeline(family="cox", harmonize=False).set_params(model__lambda_=1e6)  # null
    res = cross_validate(make_pipeline(family="cox", alpha=1.0, harmonize=False, cv=4, rng=1),
                         X, y, cv=4, horizons=[2.0, 3.0], baseline=base, n_boot=50, rng=3)
    assert res.kind == "survival" and res.horizons == [2.0, 3.0]
    p = res.pooled()
    assert {"time", "event", "pred", "risk_2", "pred_baseline", "risk_2_baseline"} <= set(p)
    assert ((p["risk_2"] > 0) & (p["risk_2"] < 1)).all()
    names = set(res.metrics["metric"])
    assert {"c_index", "c_index_within_centre", "uno_c", "auc_2", "brier_2", "ipa_2",
            "calibration_slope_2", "oe_ratio_2", "nri_2", "idi_2", "delta_c_index", "auc_3",
            "ibs"} <= names
    by = res.metrics[res.metrics["breakdown"] == "centre"]
    assert set(by["group"]) == set(X["centre"]) and "c_index" in set(by["metric"])
    assert "c_index" in res.folds.columns and len(res.folds) == 4
    assert "c_index=" in repr(res)
    cal = res.calibration(horizon=2.0, n_bins=4)
    assert len(cal.table) == 4
    nb = res.decision_curve(horizon=2.0, thresholds=[0.1, 0.2])
    assert len(nb) == 2
    with pytest.raises(ValidationError, match="outside the follow-up"):
        cross_validate(PenalizedModel(family="cox", lambda_=0.1), X.drop(columns="centre"), y,
                       cv=3, horizons=[1e6])
    with pytest.raises(ValidationError, match="kind='binary' does not match"):
        cross_validate(PenalizedModel(family="cox", lambda_=0.1), X.drop(columns="centre"), y,
                       cv=3, kind="binary")


def test_readme_survival_example_runs(capsys):
    """The README's survival example runs as written and prints what the text says."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## Survival outcomes: Cox models, penalised Cox", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README-survival", "exec"), {})
    out = capsys.readouterr().out
    assert "GLOBAL" in out and "Survival screen" in out
    assert "c_index_within_centre" in out and "nri_3" in out


def test_survival_nested_cv_and_permutation_test():
    """nested_cv scores survival models by their own score (Harrell's C) in the inner search;
    permutation_test permutes (time, event) pairs together and compares the cross-validated C;
    a strong signal gives the smallest p, (1 + 0) / (1 + B)."""
    from radiogenomics.validation import nested_cv, permutation_test

    r = np.random.default_rng(4)
    X = pd.DataFrame(r.standard_normal((90, 5)), columns=list("abcde"))
    t = r.exponential(1 / (0.3 * np.exp(1.2 * X["a"])))
    c = r.uniform(1, 6, 90)
    y = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})
    res = nested_cv(PenalizedModel(family="cox"), {"lambda_": [0.01, 0.1]}, X, y, outer=3,
                    inner=3, rng=1, n_boot=0)
    assert res.kind == "survival" and len(res.params) == 3
    assert res.metric("c_index") > 0.7
    pt = permutation_test(PenalizedModel(family="cox", lambda_=0.05), X, y, cv=3,
                          n_permutations=19, rng=2)
    assert pt.metric == "c_index" and pt.observed > 0.7
    assert pt.p_value == pytest.approx(1 / 20)
    assert np.all(pt.null < pt.observed)
