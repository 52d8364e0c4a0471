"""The coordinate-descent engine and cv_glmnet: parity with R's cv.glmnet on given folds, KKT
optimality on p >> n problems, covariance and naive updates agreeing, convergence reported,
results independent of the number of threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics import _cd
from radiogenomics.elasticnet import PenalizedError, cv_glmnet, glmnet_fit

DATA = Path(__file__).parent / "data" / "glmnet"


def _read(name):
    return pd.read_csv(DATA / name, float_precision="round_trip")


CASES = {"gaussian_a1_k10": ("quickstart", "gaussian", 1.0),
         "gaussian_a0.5_k5": ("quickstart", "gaussian", 0.5),
         "binomial_a1_k10": ("binomial", "binomial", 1.0),
         "binomial_a0.5_k7": ("binomial", "binomial", 0.5)}


@pytest.mark.parametrize("case", list(CASES))
def test_cv_glmnet_equals_r_cv_glmnet_on_the_same_folds(case):
    """tests/data/glmnet/make_cv_refs.R: cv.glmnet(thresh = 1e-14, foldid = rep(1:k, ...)).
    cvm and cvsd agree to 1e-6 relative; lambda.min and lambda.1se are the same lambdas."""
    data, family, alpha = CASES[case]
    ref = _read("cv_glmnet_refs.csv").query("case == @case")
    if data == "quickstart":
        X, y = _read("quickstart_x.csv.gz"), _read("quickstart_y.csv")["y"]
    else:
        X, y = _read("binomial_x.csv.gz"), _read("binomial_y.csv").iloc[:, 0]
    k = int(ref["k"].iloc[0])
    foldid = np.resize(np.arange(1, k + 1), len(y))
    res = cv_glmnet(X, y, foldid, family, alpha, lambdas=ref["lambda"].to_numpy())
    np.testing.assert_allclose(res.cvm, ref["cvm"], rtol=1e-6)
    np.testing.assert_allclose(res.cvsd, ref["cvsd"], rtol=1e-5)
    assert res.lambda_min == pytest.approx(ref["lambda_min"].iloc[0], rel=1e-12)
    assert res.lambda_1se == pytest.approx(ref["lambda_1se"].iloc[0], rel=1e-12)
    assert res.converged.all() and res.max_kkt < 1e-9
    assert "lambda.min" in res.summary() and len(res.to_frame()) == len(ref)


def _p_gg_n(seed=0, n=60, p=2000):
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, p))
    X[:, 1::2] += 0.7 * X[:, ::2]                 # correlated pairs
    beta = np.zeros(p)
    beta[:min(15, p)] = g.normal(0, 1, min(15, p))
    return X, X @ beta + g.standard_normal(n)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_p_much_larger_than_n_path_satisfies_kkt_on_the_original_scale(alpha):
    """KKT conditions checked from scratch (not the engine's own figure) along a full path
    with strong rules discarding most of the 2,000 features."""
    X, y = _p_gg_n()
    path = glmnet_fit(X, y, alpha=alpha, n_lambda=40)
    assert path.converged.all() and path.kkt.max() < 1e-9
    n = len(y)
    mx, sx, sy = X.mean(0), X.std(0), y.std()
    Xs = (X - mx) / sx
    for lam, row in zip(path.lambdas, path.coef.to_numpy()):
        b = row[1:] * sx / sy                       # standardised scale (x and y)
        r = ((y - row[0] - X @ row[1:]) / sy)
        g = Xs.T @ r / n - lam / sy * (1 - alpha) * b
        act = b != 0
        assert np.abs(g[act] - lam / sy * alpha * np.sign(b[act])).max(initial=0) < 1e-8
        assert np.abs(g[~act]).max() <= lam / sy * alpha + 1e-8
        assert abs(r.mean()) < 1e-10


def test_covariance_and_naive_updates_give_the_same_path():
    g = np.random.default_rng(3)
    X = g.standard_normal((400, 30))
    y = X[:, :5] @ np.ones(5) + g.standard_normal(400)
    Xs, _, _ = _cd.standardize(X)
    z = (y - y.mean()) / y.std()
    lam = np.abs(Xs.T @ z).max() / 400 * np.geomspace(1, 1e-3, 25)
    for alpha in (1.0, 0.3):
        Bn, _, kn = _cd.gaussian_path(Xs, z, lam, alpha, method="naive")
        Bc, _, kc = _cd.gaussian_path(Xs, z, lam, alpha, method="covariance")
        np.testing.assert_allclose(Bn, Bc, atol=1e-12)
        assert max(kn.max(), kc.max()) < 1e-12


def test_unconverged_fits_are_reported_not_hidden():
    X, y = _p_gg_n(1)
    path = glmnet_fit(X, y, alpha=1.0, n_lambda=30, max_pass=3)
    assert not path.converged.all()
    assert path.convergence_warnings and "not converged" in path.convergence_warnings[0]
    assert "not converged" in repr(path)
    assert path.to_frame()["converged"].dtype == bool


def test_cv_results_do_not_depend_on_threads_and_binomial_p_gg_n_converges():
    X, y = _p_gg_n(2, n=80, p=3000)
    yb = (y > np.median(y)).astype(float)
    foldid = np.resize(np.arange(5), len(y))
    for yy, fam in ((y, "gaussian"), (yb, "binomial")):
        one = cv_glmnet(X, yy, foldid, fam, 1.0, n_lambda=30, n_jobs=1)
        two = cv_glmnet(X, yy, foldid, fam, 1.0, n_lambda=30, n_jobs=2)
        np.testing.assert_array_equal(one.cvm, two.cvm)
        np.testing.assert_array_equal(one.predictions, two.predictions)
        assert one.converged.all() and one.max_kkt < 1e-8


def test_cv_glmnet_input_errors():
    X, y = _p_gg_n(4, n=30, p=10)
    with pytest.raises(PenalizedError, match="at least 2 folds"):
        cv_glmnet(X, y, np.zeros(30, dtype=int))
    with pytest.raises(PenalizedError, match="alpha"):
        cv_glmnet(X, y, np.resize(np.arange(3), 30), alpha=2)
    with pytest.raises(PenalizedError, match="positive"):
        glmnet_fit(X, y, lambdas=[0.1, -1])
    with pytest.raises(PenalizedError, match="constant"):
        glmnet_fit(X, np.ones(30), lambdas=[0.1])


COX = Path(__file__).parent / "data" / "glmnet_cox"


@pytest.mark.parametrize("alpha", ["1", "0.5", "0"])
def test_cox_path_equals_glmnet_coxnet(alpha):
    """glmnet(x, Surv(time, status), family = "cox", alpha, thresh = 1e-14) (Breslow ties;
    tests/data/glmnet_cox/make_refs.R).  glmnet's ridge path is fitted from lambda = 9.9e35
    (all coefficients ~1e-37) but reports that first lambda as the log-linear extrapolation of
    the next two (335 here), so its first row is compared from the second lambda on."""
    d = pd.read_csv(COX / "cox_data.csv.gz", float_precision="round_trip")
    ref = pd.read_csv(COX / f"glmnet_cox_breslow_alpha{alpha}_thresh1e-14.csv.gz",
                      float_precision="round_trip")
    X = d.filter(regex=r"^x\d")
    path = glmnet_fit(X, d[["time", "status"]], "cox", float(alpha),
                      lambdas=ref["lambda"].to_numpy())
    ours = path.coef.to_numpy()[:, 1:]
    assert (path.coef["(Intercept)"] == 0).all()
    start = 1 if alpha == "0" else 0
    np.testing.assert_allclose(ours[start:], ref.filter(regex=r"^x\d").to_numpy()[start:],
                               atol=1e-6)
    assert path.converged.all() and path.kkt.max() < 1e-9
    # the linear predictor is the relative risk's log
    np.testing.assert_allclose(np.log(path.predict(X.iloc[:3], type="response")),
                               path.predict(X.iloc[:3], type="link"))


def test_screened_gradient_skips_only_features_that_cannot_matter():
    """The cached-gradient screen computes x_j'r only where the Cauchy-Schwarz bound cannot
    rule out |x_j'r| >= cutoff: every computed entry is exact, every skipped one is truly
    below the cutoff, non-zero coefficients are always computed, and a loose bound refreshes."""
    g = np.random.default_rng(11)
    n, p = 50, 4000
    Xs, _, _ = _cd.standardize(g.standard_normal((n, p)))
    rref = g.standard_normal(n) / n
    gref = Xs.T @ rref
    xnorm = np.sqrt((Xs**2).sum(0))
    b = np.zeros(p)
    b[[5, 17]] = 1.0
    r = rref + 0.002 * g.standard_normal(n) / n
    exact = Xs.T @ r
    cutoff = np.quantile(np.abs(exact), 0.995)
    out = np.empty(p)
    gr, rr = gref.copy(), rref.copy()
    cnt = _cd.screened_gradient(Xs, r, out, gr, rr, xnorm, b, cutoff)
    assert 0 < cnt < p // 4                              # most features skipped
    done = out != 0
    np.testing.assert_allclose(out[done], exact[done], rtol=1e-12, atol=1e-15)
    assert (np.abs(exact[~done]) < cutoff).all()
    assert done[[5, 17]].all()
    np.testing.assert_array_equal(gr, gref)              # reference kept
    far = rref + 0.5 * g.standard_normal(n) / n          # bound useless: full refresh
    assert _cd.screened_gradient(Xs, far, out, gr, rr, xnorm, b, cutoff) == p
    np.testing.assert_allclose(out, Xs.T @ far, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(rr, far)


def test_cox_cv_equals_cv_glmnet_grouped_deviance():
    """cv.glmnet(family = "cox", grouped = TRUE, foldid = rep(1:5, ...), thresh = 1e-14)
    (tests/data/glmnet_cox/make_cv_refs.R): the Verweij & van Houwelingen deviance, weighted
    as glmnet does."""
    d = pd.read_csv(COX / "cox_data.csv.gz", float_precision="round_trip")
    ref = pd.read_csv(COX / "cv_glmnet_cox_refs.csv", float_precision="round_trip")
    foldid = np.resize(np.arange(1, 6), len(d))
    res = cv_glmnet(d.filter(regex=r"^x\d"), d[["time", "status"]], foldid, "cox", 1.0,
                    lambdas=ref["lambda"].to_numpy())
    np.testing.assert_allclose(res.cvm, ref["cvm"], rtol=1e-6)
    np.testing.assert_allclose(res.cvsd, ref["cvsd"], rtol=1e-5)
    assert res.lambda_min == pytest.approx(ref["lambda_min"].iloc[0], rel=1e-12)
    assert res.lambda_1se == pytest.approx(ref["lambda_1se"].iloc[0], rel=1e-12)


def test_cox_cv_equals_cv_glmnet_cindex():
    """cv.glmnet(family = "cox", type.measure = "C") on the same folds and lambdas
    (make_cv_refs.R): each fold's Harrell C (survival::concordance, risk ties 1/2), folds
    weighted by size, lambda.min at the largest mean C, lambda.1se within one cvsd below it."""
    d = pd.read_csv(COX / "cox_data.csv.gz", float_precision="round_trip")
    ref = pd.read_csv(COX / "cv_glmnet_cox_C_refs.csv", float_precision="round_trip")
    foldid = np.resize(np.arange(1, 6), len(d))
    res = cv_glmnet(d.filter(regex=r"^x\d"), d[["time", "status"]], foldid, "cox", 1.0,
                    lambdas=ref["lambda"].to_numpy(), type_measure="C")
    assert res.measure == "C"
    np.testing.assert_allclose(res.cvm, ref["cvm"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.cvsd, ref["cvsd"], rtol=1e-8, atol=1e-12)
    assert res.lambda_min == pytest.approx(ref["lambda_min"].iloc[0], rel=1e-12)
    assert res.lambda_1se == pytest.approx(ref["lambda_1se"].iloc[0], rel=1e-12)
    assert res.cvm[res.index_min] == res.cvm.max()
    with pytest.raises(PenalizedError, match="type_measure 'C' is not available"):
        cv_glmnet(d.filter(regex=r"^x\d"), d["time"], foldid, "gaussian", type_measure="C")


def test_readme_penalised_example_runs(capsys):
    """The README's example of this section runs as written and prints what it says."""
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## Penalised models: glmnet's algorithm, in Python", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README-penalised", "exec"), {})
    out = capsys.readouterr().out
    assert "max KKT violation" in out and "lambda.min" in out and "[]" in out
