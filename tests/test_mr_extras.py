"""MR helpers: per-SNP summary statistics from a Cohort, two-step mediation, the R bridge."""

from __future__ import annotations

import os
import subprocess
import sys

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import data_sim
from radiogenomics.association import design_matrix
from radiogenomics.mr import ivw_fit
from radiogenomics.mr.individual import mr_input_from_cohort, snp_summary_statistics
from radiogenomics.mr.mediation import two_step_mr
from radiogenomics.mr.rbridge import run_twosamplemr_mr, twosamplemr_available


@pytest.fixture(scope="module")
def cohort_truth():
    return data_sim.make_cohort(1000, n_radiomic=20, n_genes=50, rng=1)


def test_snp_statistics_equal_statsmodels_ols(cohort_truth):
    cohort, truth = cohort_truth
    st = snp_summary_statistics(cohort, "lv_mass_index", role="outcome")
    ids = cohort["genotypes"].index
    Z = design_matrix(cohort.covariates.loc[ids], ids, cohort.centre.loc[ids])
    for j in (0, 7):
        snp = cohort["genotypes"].columns[j]
        fit = sm.OLS(cohort["traits"].loc[ids, "lv_mass_index"],
                     pd.concat([cohort["genotypes"].loc[ids, [snp]], Z], axis=1)).fit()
        row = st.iloc[j]
        assert row["beta.outcome"] == pytest.approx(fit.params[snp], rel=1e-8)
        assert row["se.outcome"] == pytest.approx(fit.bse[snp], rel=1e-8)
        assert row["pval.outcome"] == pytest.approx(fit.pvalues[snp], rel=1e-6)
    assert (st["samplesize.outcome"] == len(ids)).all()
    with pytest.raises(ValueError, match="in no view"):
        snp_summary_statistics(cohort, "not_a_trait")


def test_one_cohort_mr_recovers_the_simulated_causal_effect(cohort_truth):
    cohort, truth = cohort_truth
    dat = mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait)
    fit = ivw_fit(dat["beta.exposure"], dat["beta.outcome"], dat["se.outcome"])
    assert abs(fit.b - truth.causal_effect_trait_units) < 2.5 * fit.se
    halves = mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait,
                                  split=True, rng=0)
    assert (halves["samplesize.exposure"] + halves["samplesize.outcome"] == 1000).all()


def test_two_step_mediation_delta_and_bootstrap():
    d = two_step_mr(0.5, 0.1, 0.4, 0.08, total=0.3)
    assert d.loc[0, "indirect"] == pytest.approx(0.2)
    assert d.loc[0, "se"] == pytest.approx(np.sqrt(0.5**2 * 0.08**2 + 0.4**2 * 0.1**2))
    assert d.loc[0, "proportion_mediated"] == pytest.approx(0.2 / 0.3)
    b1 = two_step_mr(0.5, 0.1, 0.4, 0.08, method="bootstrap", rng=3)
    b2 = two_step_mr(0.5, 0.1, 0.4, 0.08, method="bootstrap", rng=3)
    pd.testing.assert_frame_equal(b1, b2)
    assert b1.loc[0, "se"] == pytest.approx(d.loc[0, "se"], rel=0.1)
    assert 0 < b1.loc[0, "pval"] < 0.01
    with pytest.raises(ValueError, match="positive finite standard error"):
        two_step_mr(0.5, 0.0, 0.4, 0.08)


@pytest.mark.skipif(twosamplemr_available(), reason="TwoSampleMR is installed: error path not reachable")
def test_twosamplemr_backend_says_what_is_missing():
    dat = pd.DataFrame({"beta.exposure": [0.1, 0.2], "beta.outcome": [0.01, 0.03],
                        "se.exposure": [0.01, 0.01], "se.outcome": [0.01, 0.01]})
    with pytest.raises(RuntimeError, match="rpy2|TwoSampleMR") as exc:
        run_twosamplemr_mr(dat)
    assert "install" in str(exc.value)


@pytest.mark.skipif(not twosamplemr_available(), reason="R package TwoSampleMR (and rpy2) not "
                    "installed; CRAN/GitHub unreachable here, parity runs where a user installed it")
def test_twosamplemr_backend_matches_native_ivw(cohort_truth):
    cohort, truth = cohort_truth
    dat = mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait)
    out = run_twosamplemr_mr(dat, method_list=["mr_ivw"])
    fit = ivw_fit(dat["beta.exposure"], dat["beta.outcome"], dat["se.outcome"])
    assert out["b"].iloc[0] == pytest.approx(fit.b, rel=1e-6)
    assert out["se"].iloc[0] == pytest.approx(fit.se, rel=1e-6)


def test_mr_plots_take_twosamplemr_tables():
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    from radiogenomics import plotting

    data = Path(__file__).parent / "data" / "mr"
    dat = pd.read_csv(data / "plots_lipids_ldl_chd_input_harmonised.csv")
    ss = pd.read_csv(data / "plots_lipids_ldl_chd_singlesnp.csv")
    res = pd.DataFrame({"method": ["Inverse variance weighted", "MR Egger"], "b": [2.834, 3.253]})
    fig = plotting.plot_mr_scatter(dat, res)
    assert len(fig.axes[0].lines) >= 3 and fig.axes[0].get_legend() is not None
    fig = plotting.plot_mr_forest(ss)
    assert len(fig.axes[0].get_yticklabels()) == len(ss)
    assert plotting.plot_mr_funnel(ss).axes[0].collections
    assert plotting.plot_mr_leaveoneout(ss).axes[0].collections


def test_mr_backend_twosamplemr_never_falls_back_silently():
    from radiogenomics.mr import mr

    dat = pd.DataFrame({"beta.exposure": [0.1, 0.2, 0.15], "beta.outcome": [0.01, 0.03, 0.02],
                        "se.exposure": [0.01] * 3, "se.outcome": [0.01] * 3, "mr_keep": True})
    with pytest.raises(ValueError, match="backend must be"):
        mr(dat, backend="R")
    if not twosamplemr_available():
        with pytest.raises(RuntimeError, match="install"):
            mr(dat, backend="TwoSampleMR")


def test_mendelianrandomization_convention_matches_that_package():
    """mr(convention="MendelianRandomization") against MendelianRandomization 0.10.0 on the
    LDL-c -> CHD data (tests/data/mr/real_lipids_ldl_chd/mrpkg_allmethods.csv): first-order
    weighted-median weights and normal Egger p-values, point estimates and p to 1e-6."""
    from pathlib import Path

    from radiogenomics.mr import mr

    folder = Path(__file__).parent / "data" / "mr" / "real_lipids_ldl_chd"
    dat = pd.read_csv(folder / "input_harmonised.csv")
    ref = pd.read_csv(folder / "mrpkg_allmethods.csv").drop_duplicates("Method").set_index("Method")
    got = mr(dat, method_list=["mr_weighted_median", "mr_penalised_weighted_median",
                               "mr_egger_regression"], convention="MendelianRandomization",
             rng=0).set_index("method")
    assert got.loc["Weighted median", "b"] == pytest.approx(ref.loc["Weighted median", "Estimate"], rel=1e-6)
    assert got.loc["Penalised weighted median", "b"] == pytest.approx(
        ref.loc["Penalized weighted median", "Estimate"], rel=1e-6)
    assert got.loc["MR Egger", "pval"] == pytest.approx(ref.loc["MR-Egger", "P-value"], rel=1e-6)
    tsmr = mr(dat, method_list=["mr_weighted_median"], rng=0)
    assert tsmr["b"].iloc[0] != pytest.approx(got.loc["Weighted median", "b"], rel=1e-4)
    with pytest.raises(ValueError, match="convention must be"):
        mr(dat, convention="MRbase")


def test_review_guards_mr_keep_text_several_pairs_and_presso_power():
    import warnings

    from radiogenomics.mr import mr, mr_presso

    rng = np.random.default_rng(0)
    n = 12
    base = pd.DataFrame({"SNP": [f"rs{i}" for i in range(n)],
                         "beta.exposure": rng.uniform(0.05, 0.2, n), "se.exposure": 0.01,
                         "beta.outcome": rng.normal(0, 0.02, n), "se.outcome": 0.02})
    as_text = base.assign(mr_keep=["TRUE"] * 9 + ["FALSE", np.nan, "FALSE"])
    as_bool = base.assign(mr_keep=[True] * 9 + [False] * 3)
    assert mr(as_text, method_list=["mr_ivw"])["nsnp"].iloc[0] == 9
    pd.testing.assert_frame_equal(mr(as_text, method_list=["mr_ivw"]), mr(as_bool, method_list=["mr_ivw"]))
    with pytest.raises(ValueError, match="mr_keep must be logical"):
        mr(base.assign(mr_keep="maybe"), method_list=["mr_ivw"])
    two = pd.concat([base.assign(**{"id.exposure": "A"}), base.assign(**{"id.exposure": "B"})])
    assert len(mr(two, method_list=["mr_ivw"])) == 2
    with pytest.raises(ValueError, match="one exposure-outcome pair"):
        mr_presso(two, rng=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mr_presso(base, n_distribution=100, rng=0)
    assert any("no SNP" in str(w.message) and "can be flagged" in str(w.message) for w in caught)


def test_twosamplemr_call_path_with_a_fake_r_function(monkeypatch):
    """The rpy2 bridge without R's package: a fake ``TwoSampleMR::mr`` receives what R would.
    It used to break for frames without ``mr_keep`` (TwoSampleMR::mr subsets on it); mr() now
    hands over the normalised frame with ``mr_keep`` (False for unusable SNPs) and the
    method list as a character vector, and the R result comes back as a DataFrame."""
    import radiogenomics.mr.rbridge as rb
    from radiogenomics.mr import mr

    seen = {}

    class FakeTSMR:
        def mr(self, rdat, method_list=None):
            seen["dat"], seen["methods"] = rdat, method_list
            keep = rdat[rdat["mr_keep"]]
            b = np.sum(keep["beta.exposure"] * keep["beta.outcome"] / keep["se.outcome"] ** 2) / \
                np.sum(keep["beta.exposure"] ** 2 / keep["se.outcome"] ** 2)
            return pd.DataFrame({"method": ["Inverse variance weighted"], "nsnp": [len(keep)], "b": [b]})

    monkeypatch.setattr(rb, "_importr_twosamplemr", lambda: FakeTSMR())
    monkeypatch.setattr(rb, "_converters", lambda: (lambda d: d.copy(), lambda o: o, list))
    g = np.random.default_rng(8)
    bx = g.normal(0.1, 0.02, 10)
    dat = pd.DataFrame({"SNP": [f"rs{i}" for i in range(10)], "beta_exposure": bx,   # snake_case,
                        "se_exposure": 0.01, "beta_outcome": 0.3 * bx + g.normal(0, 0.005, 10),
                        "se_outcome": 0.01})                                     # no mr_keep
    dat.loc[1, "se_outcome"] = 0.0
    with pytest.warns(UserWarning, match="rs1"):
        out = mr(dat, method_list=["mr_ivw"], backend="TwoSampleMR")
    sent = seen["dat"]
    assert "mr_keep" in sent and sent["mr_keep"].dtype == bool
    assert not sent.set_index("SNP").loc["rs1", "mr_keep"] and sent["mr_keep"].sum() == 9
    assert {"beta.exposure", "se.outcome", "id.exposure", "outcome"} <= set(sent.columns)
    assert seen["methods"] == ["mr_ivw"]
    native = mr(dat.drop(index=1), method_list=["mr_ivw"])
    assert out["b"].iloc[0] == pytest.approx(native["b"].iloc[0], rel=1e-12)
    assert out["nsnp"].iloc[0] == 9


def test_twosamplemr_call_path_through_real_rpy2_with_an_r_stand_in(monkeypatch):
    """The real rpy2 conversion both ways (pandas -> data.frame -> pandas), with an R function
    standing in for ``TwoSampleMR::mr`` (not installable here).  The stand-in does what
    TwoSampleMR's mr() does first -- ``subset(dat, mr_keep)`` -- and fits IVW with R's own
    ``lm(by ~ -1 + bx, weights = 1/sy^2)`` (TwoSampleMR's mr_ivw), so the check is
    independent of our IVW code: R's b, se and nsnp must come back equal to the native ones."""
    pytest.importorskip("rpy2", reason="rpy2 not installed (optional extra 'r'); the fake-function "
                        "test above covers the call path without it")
    import radiogenomics.mr.rbridge as rb

    env_before = dict(os.environ)
    try:
        ro = rb.start_r()
    except Exception as exc:  # rpy2 present but R cannot start
        pytest.skip(f"rpy2 cannot start R here: {exc}")
    # starting R leaves the environment of later subprocesses as it was (rpy2 sets
    # LD_LIBRARY_PATH to R's folders, which broke `import ssl` in every later Python process
    # of a pyenv/conda interpreter: Dask workers, notebooks, scripts)
    assert os.environ.get("LD_LIBRARY_PATH") == env_before.get("LD_LIBRARY_PATH")
    child = subprocess.run([sys.executable, "-c", "import ssl"], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr[-500:]
    from radiogenomics.mr import mr

    r_mr = ro.r("""function(dat, method_list = c("mr_ivw")) {
        stopifnot(is.logical(dat$mr_keep), is.character(method_list))
        d <- subset(dat, mr_keep)
        fit <- lm(beta.outcome ~ -1 + beta.exposure, weights = 1 / se.outcome^2, data = d)
        s <- summary(fit)
        se <- s$coefficients[1, 2] / min(1, s$sigma)
        data.frame(id.exposure = d$id.exposure[1], id.outcome = d$id.outcome[1],
                   outcome = d$outcome[1], exposure = d$exposure[1],
                   method = "Inverse variance weighted", nsnp = nrow(d),
                   b = s$coefficients[1, 1], se = se,
                   pval = 2 * pnorm(abs(s$coefficients[1, 1] / se), lower.tail = FALSE))
    }""")

    class StandIn:
        mr = r_mr

    monkeypatch.setattr(rb, "_importr_twosamplemr", lambda: StandIn())
    g = np.random.default_rng(21)
    bx = g.normal(0.1, 0.02, 15)
    dat = pd.DataFrame({"SNP": [f"rs{i}" for i in range(15)], "beta_exposure": bx,
                        "se_exposure": 0.01, "beta_outcome": 0.3 * bx + g.normal(0, 0.02, 15),
                        "se_outcome": g.uniform(0.008, 0.012, 15)})          # no mr_keep column
    dat.loc[4, "se_outcome"] = -0.01
    with pytest.warns(UserWarning, match="rs4"):
        out = mr(dat, method_list=["mr_ivw"], backend="TwoSampleMR")
    assert isinstance(out, pd.DataFrame) and out["method"].iloc[0] == "Inverse variance weighted"
    native = mr(dat.drop(index=4), method_list=["mr_ivw"])
    assert int(out["nsnp"].iloc[0]) == 14
    for c in ("b", "se", "pval"):
        assert out[c].iloc[0] == pytest.approx(native[c].iloc[0], rel=1e-10), c


@pytest.mark.parametrize("kind", ["int", "Generator", "BitGenerator", "SeedSequence"])
def test_every_stochastic_mr_function_takes_spec7_rng(kind, cohort_truth):
    """SPEC 7: the same seed given as int, Generator, BitGenerator or SeedSequence gives the same
    draws in mr(), mr_presso(), two_step_mr() and mr_input_from_cohort(split=True)."""
    from radiogenomics.mr import mr, mr_presso

    make = {"int": lambda: 5, "Generator": lambda: np.random.default_rng(5),
            "BitGenerator": lambda: np.random.PCG64(5),
            "SeedSequence": lambda: np.random.SeedSequence(5)}[kind]
    dat = pd.read_csv(Path(__file__).parent / "data" / "mr" / "syn_n30_outliers" / "input_harmonised.csv")
    m = ["mr_weighted_median", "mr_egger_regression_bootstrap"]
    pd.testing.assert_frame_equal(mr(dat, method_list=m, nboot=50, rng=make()),
                                  mr(dat, method_list=m, nboot=50, rng=5))
    assert mr_presso(dat, n_distribution=200, rng=make()).global_pval == \
        mr_presso(dat, n_distribution=200, rng=5).global_pval
    pd.testing.assert_frame_equal(two_step_mr(0.5, 0.1, 0.4, 0.08, method="bootstrap", n_boot=500, rng=make()),
                                  two_step_mr(0.5, 0.1, 0.4, 0.08, method="bootstrap", n_boot=500, rng=5))
    cohort, truth = cohort_truth
    a = mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait, split=True, rng=make())
    b = mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait, split=True, rng=5)
    pd.testing.assert_frame_equal(a, b)


def test_two_step_bootstrap_se_equals_exact_product_variance():
    """Independent reference: Var(XY) of independent normals is mx^2 sy^2 + my^2 sx^2 + sx^2 sy^2
    (Goodman 1960); the bootstrap SE from 200,000 draws must match it to 1% (MC error ~0.3%)
    (the old test compared it with the package's own delta SE at 10%)."""
    b = two_step_mr(0.5, 0.1, 0.4, 0.08, method="bootstrap", n_boot=200_000, rng=9)
    exact = np.sqrt(0.5**2 * 0.08**2 + 0.4**2 * 0.1**2 + 0.1**2 * 0.08**2)
    assert b.loc[0, "se"] == pytest.approx(exact, rel=0.01)
