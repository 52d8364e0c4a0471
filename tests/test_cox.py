"""Cox partial likelihood for the coordinate-descent engine (radiogenomics/_cox.py).

References in tests/data/glmnet_cox/ (R 4.2.2, glmnet 4.1-6, survival 3.5-3; calls in
make_refs.R): coxph log-likelihoods and martingale residuals at fixed beta (Breslow and Efron,
with strata and case weights), glmnet's coxgrad, coxnet.deviance and coefficient paths.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from radiogenomics._checks import InputError
from radiogenomics._cox import (cox_deviance, cox_grad_hess, cox_lambda_max, cox_loglik,
                                cox_prepare, cox_working)

DATA = Path(__file__).parent / "data" / "glmnet_cox"
PATHS = ["alpha1", "alpha0.5", "alpha0", "weights_alpha1", "strata_alpha1"]


@pytest.fixture(scope="module")
def surv():
    d = pd.read_csv(DATA / "cox_data.csv.gz")
    X = d.filter(regex=r"^x\d").to_numpy()
    betas = pd.read_csv(DATA / "cox_betas.csv", index_col="var")
    return d, X, betas


def _prep(d, ties="breslow", strata=False, weights=False):
    return cox_prepare(d.time, d.status, ties, strata=d.strata if strata else None,
                       weights=d.weights if weights else None)


def _std(X, cd):
    """glmnet's (weighted) standardisation: mean 0, SD 1 with weights normalised to sum 1."""
    w = np.empty(cd.n)
    w[cd.order] = cd.weights
    w = w / w.sum()
    m = w @ X
    sd = np.sqrt(w @ (X - m) ** 2)
    return (X - m) / sd, sd


def _toy(seed=0, n=40, strata=False, weights=False):
    """Small data with heavy ties, censored-event ties, a subject censored before any event."""
    g = np.random.default_rng(seed)
    time = g.integers(1, 9, n).astype(float)
    status = (g.random(n) < 0.6).astype(float)
    time[0], status[0] = 0.5, 0.0
    return dict(time=time, status=status,
                strata=g.integers(0, 3, n) if strata else None,
                weights=g.uniform(0.3, 2.0, n) if weights else None), g.normal(0, 0.8, n)


CASES = [(t, s, w) for t in ("breslow", "efron") for s in (False, True) for w in (False, True)]


# ------------------------------------------------------------------ (1) finite differences

@pytest.mark.parametrize("ties,strata,weights", CASES)
def test_gradient_and_hessian_diagonal_equal_finite_differences(ties, strata, weights):
    kw, eta = _toy(seed=3, strata=strata, weights=weights)
    cd = cox_prepare(kw["time"], kw["status"], ties, strata=kw["strata"], weights=kw["weights"])
    assert cd.grp_end.size and (np.diff(cd.grp_start) >= 1).all()
    assert (cd.grp_end - cd.grp_start).max() > 2               # real ties among events
    g, h, ll = cox_grad_hess(cd, eta)
    assert ll == pytest.approx(cox_loglik(cd, eta), rel=1e-15, abs=0)
    step = 1e-5
    for i in range(cd.n):
        e = np.zeros(cd.n)
        e[i] = step
        lp, lm = cox_loglik(cd, eta + e), cox_loglik(cd, eta - e)
        assert g[i] == pytest.approx((lp - lm) / (2 * step), abs=1e-8)
        gp, gm = cox_grad_hess(cd, eta + e)[0][i], cox_grad_hess(cd, eta - e)[0][i]
        assert h[i] == pytest.approx(-(gp - gm) / (2 * step), abs=1e-8)
        e[i] = 1e-3                                            # second difference of loglik
        d2 = cox_loglik(cd, eta + e) - 2 * ll + cox_loglik(cd, eta - e)
        assert h[i] == pytest.approx(-d2 / 1e-6, abs=1e-5)
    assert h[0] == 0.0 and g[0] == 0.0                         # in no risk set
    assert np.abs(g.sum()) < 1e-12                             # rows of the score sum to 0


def _brute_loglik(time, status, eta, ties, strata=None, weights=None):
    """O(n^2) textbook Breslow / Efron (survival's weighted Efron) log partial likelihood,
    risk-set sums by logsumexp."""
    w = np.ones_like(eta) if weights is None else weights
    s = np.zeros(len(eta)) if strata is None else strata
    ll = 0.0
    for st in np.unique(s):
        for t in np.unique(time[(status == 1) & (s == st)]):
            dj = (time == t) & (status == 1) & (s == st)
            rj = (time >= t) & (s == st)
            log_s, log_t = logsumexp(eta[rj], b=w[rj]), logsumexp(eta[dj], b=w[dj])
            d = dj.sum()
            ll += np.sum(w[dj] * eta[dj])
            c = np.arange(d) / d if ties == "efron" else np.zeros(d)
            ll -= w[dj].sum() / d * np.sum(log_s + np.log1p(-c * np.exp(log_t - log_s)))
    return ll


@pytest.mark.parametrize("ties,strata,weights", CASES)
def test_loglik_equals_textbook_formula(ties, strata, weights):
    kw, eta = _toy(seed=5, n=60, strata=strata, weights=weights)
    cd = cox_prepare(kw["time"], kw["status"], ties, strata=kw["strata"], weights=kw["weights"])
    ref = _brute_loglik(kw["time"], kw["status"], eta, ties, kw["strata"], kw["weights"])
    assert cox_loglik(cd, eta) == pytest.approx(ref, rel=1e-13)


# ------------------------------------------------------------------ (2) survival::coxph

def test_loglik_equals_coxph(surv):
    """coxph(..., init = beta, iter.max = 0)$loglik: 32 cases to 1e-12 relative."""
    d, X, betas = surv
    ref = pd.read_csv(DATA / "coxph_loglik.csv")
    for r in ref.itertuples():
        cd = _prep(d, r.ties, bool(r.strata), bool(r.weights))
        ll = cox_loglik(cd, X @ betas[r.beta].to_numpy())
        assert ll == pytest.approx(r.loglik, rel=1e-12), r


def test_gradient_equals_coxph_martingale_residuals(surv):
    """survival's martingale residuals (Efron's included) are dl/deta_i / w_i."""
    d, X, betas = surv
    ref = pd.read_csv(DATA / "coxph_martingale_dense.csv")
    eta = X @ betas["dense"].to_numpy()
    for ties, s, w in CASES:
        g = cox_grad_hess(_prep(d, ties, s, w), eta)[0]
        mart = g / (d.weights.to_numpy() if w else 1.0)
        np.testing.assert_allclose(mart, ref[f"{ties}_s{int(s)}_w{int(w)}"], rtol=0, atol=1e-11)


def test_gradient_and_hessian_equal_glmnet_coxgrad(surv):
    d, X, betas = surv
    ref = pd.read_csv(DATA / "glmnet_coxgrad_dense.csv")
    eta = X @ betas["dense"].to_numpy()
    for s in (0, 1):
        for w in (0, 1):
            g, h, _ = cox_grad_hess(_prep(d, "breslow", bool(s), bool(w)), eta)
            np.testing.assert_allclose(g, ref[f"grad_s{s}_w{w}"], rtol=0, atol=1e-11)
            np.testing.assert_allclose(-h, ref[f"hess_s{s}_w{w}"], rtol=0, atol=1e-11)


# ------------------------------------------------------------------ (3) deviance

def test_deviance_equals_coxnet_deviance(surv):
    d, X, betas = surv
    ref = pd.read_csv(DATA / "coxnet_deviance.csv", index_col="beta")
    w = d.weights.to_numpy()
    preps = {"plain": _prep(d), "strata": _prep(d, strata=True),
             "weights_raw": _prep(d, weights=True),
             "weights_std": cox_prepare(d.time, d.status, weights=w * len(w) / w.sum())}
    for b, row in ref.iterrows():
        eta = X @ betas[b].to_numpy()
        for col, cd in preps.items():
            assert cox_deviance(cd, eta) == pytest.approx(row[col], rel=1e-12), (b, col)
    # glmnet's reported null deviance of the fitted paths
    assert cox_deviance(preps["plain"], np.zeros(len(d))) == pytest.approx(313.81843384354625,
                                                                          rel=1e-13)
    assert cox_deviance(preps["weights_raw"], np.zeros(len(d))) == pytest.approx(
        395.21584325000254, rel=1e-13)


@pytest.mark.parametrize("ties,strata,weights", CASES)
def test_saturated_loglik_is_the_supremum(ties, strata, weights):
    """Deviance >= 0, -> 0 along eta that makes each tie group dominate its risk set (equal eta
    within a group, earlier groups far above later ones): checks l_sat, Efron's included."""
    kw, eta = _toy(seed=11, n=50, strata=strata, weights=weights)
    cd = cox_prepare(kw["time"], kw["status"], ties, strata=kw["strata"], weights=kw["weights"])
    assert cox_deviance(cd, eta) > 0
    rank = np.unique(kw["time"], return_inverse=True)[1]
    chain = np.where(kw["status"] == 1, -rank, -rank.max() - 10.0)
    assert cox_deviance(cd, 60.0 * chain) == pytest.approx(0.0, abs=1e-9)
    assert cox_deviance(cd, 60.0 * chain + 1e-3 * eta) > 0


# ------------------------------------------------------------------ (4) lambda_max / paths

def _path(name):
    p = pd.read_csv(DATA / f"glmnet_cox_breslow_{name}_thresh1e-14.csv.gz")
    alpha = float(name.split("alpha")[1])
    return p["lambda"].to_numpy(), p.filter(regex=r"^x\d").to_numpy(), alpha


def _cd_for(d, name):
    return _prep(d, strata="strata" in name, weights="weights" in name)


@pytest.mark.parametrize("name", PATHS)
def test_lambda_max_equals_glmnet_first_lambda(surv, name):
    d, X, _ = surv
    lam, B, alpha = _path(name)
    cd = _cd_for(d, name)
    Xs, _ = _std(X, cd)
    assert cox_lambda_max(Xs, cd, alpha) == pytest.approx(lam[0], rel=1e-12)
    assert np.abs(B[0]).max() < 1e-30      # fitted at glmnet.control()$big = 9.9e35


def test_lambda_max_penalty_factor_and_offset(surv):
    d, X, _ = surv
    cd = _prep(d)
    Xs, _ = _std(X, cd)
    base = cox_lambda_max(Xs, cd, 1.0)
    assert cox_lambda_max(Xs, cd, 1.0, penalty_factor=np.ones(30)) == pytest.approx(base)
    vp = np.r_[0.0, np.ones(29)]                         # x01 unpenalised: excluded, rescaled
    g = cox_grad_hess(cd, np.zeros(cd.n))[0]
    ref = np.abs(Xs[:, 1:].T @ g).max() / cd.n / (30 / 29)
    assert cox_lambda_max(Xs, cd, 1.0, penalty_factor=vp) == pytest.approx(ref, rel=1e-14)
    eta = 0.3 * Xs[:, 0]
    ref = np.abs(Xs.T @ cox_grad_hess(cd, eta)[0]).max() / cd.n / 0.5
    assert cox_lambda_max(Xs, cd, 0.5, eta=eta) == pytest.approx(ref, rel=1e-14)


def _kkt(Xs, cd, beta_std, lam, alpha):
    g = Xs.T @ cox_grad_hess(cd, Xs @ beta_std)[0] / cd.total_weight
    act = beta_std != 0
    return np.where(act, np.abs(g - lam * (1 - alpha) * beta_std - lam * alpha * np.sign(beta_std)),
                    np.maximum(0.0, np.abs(g) - lam * alpha)).max()


@pytest.mark.parametrize("name", PATHS)
def test_glmnet_paths_satisfy_kkt_with_our_gradient(surv, name):
    """The objective glmnet minimises is -l/sum(w) + lambda P on the standardised scale: its
    solutions satisfy the KKT conditions built from our gradient to glmnet's accuracy
    (Fortran coxnet: 5e-8; cox.path with epsnr = 1e-12 for strata: 1e-10)."""
    d, X, _ = surv
    lam, B, alpha = _path(name)
    cd = _cd_for(d, name)
    Xs, sd = _std(X, cd)
    start = 1 if alpha == 0 else 0          # ridge: glmnet fits its first column at lambda = 9.9e35
    worst = max(_kkt(Xs, cd, B[k] * sd, lam[k], alpha) for k in range(start, len(lam)))
    assert worst < (1e-9 if "strata" in name else 1e-7)


def _irls_cd(Xs, cd, lam, alpha, beta=None, tol=1e-15):
    """Reference solver: glmnet's outer loop on cox_working + cyclic coordinate descent."""
    n, p = Xs.shape
    beta = np.zeros(p) if beta is None else beta.copy()
    for _ in range(100):
        eta = Xs @ beta
        w, z, _ = cox_working(cd, eta)
        w = w / cd.total_weight
        v = w @ Xs ** 2
        r = w * (z - eta)
        old = beta.copy()
        for _ in range(10000):
            dmax = 0.0
            for j in range(p):
                u = Xs[:, j] @ r + v[j] * beta[j]
                new = np.sign(u) * max(abs(u) - lam * alpha, 0.0) / (v[j] + lam * (1 - alpha))
                if new != beta[j]:
                    r -= (new - beta[j]) * w * Xs[:, j]
                    dmax = max(dmax, v[j] * (new - beta[j]) ** 2)
                    beta[j] = new
            if dmax < tol:
                break
        if np.abs(beta - old).max() < 1e-13:
            return beta
    raise AssertionError("IRLS did not converge")


@pytest.mark.parametrize("name", PATHS)
def test_working_quantities_drive_irls_to_glmnet_solution(surv, name):
    """IRLS on (w, z) from cox_working reaches glmnet's coefficients (1e-6, glmnet's accuracy
    at thresh = 1e-14) with KKT violations < 1e-10; warm starts along part of the path."""
    d, X, _ = surv
    lam, B, alpha = _path(name)
    cd = _cd_for(d, name)
    Xs, sd = _std(X, cd)
    beta = None
    for k in np.unique(np.linspace(1, len(lam) - 1, 6).astype(int)):
        beta = _irls_cd(Xs, cd, lam[k], alpha, beta)
        assert _kkt(Xs, cd, beta, lam[k], alpha) < 1e-10
        np.testing.assert_allclose(beta / sd, B[k], rtol=0, atol=1e-6)


def test_ridge_reference_by_scipy(surv):
    """Independent of the working quantities: scipy minimises -l/n + lambda/2 |b|^2 (alpha = 0)
    with our exact gradient; equals glmnet's ridge coefficients at a mid-path lambda."""
    from scipy.optimize import minimize
    d, X, _ = surv
    lam, B, _ = _path("alpha0")
    cd = _prep(d)
    Xs, sd = _std(X, cd)
    k = 60

    def f(b):
        g, _, ll = cox_grad_hess(cd, Xs @ b)
        return -ll / cd.n + lam[k] / 2 * b @ b, -(Xs.T @ g) / cd.n + lam[k] * b

    res = minimize(f, np.zeros(X.shape[1]), jac=True, method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(res.x / sd, B[k], rtol=0, atol=1e-6)


# ------------------------------------------------------------------ working response, stability

def test_working_response_and_zero_weights(surv):
    d, X, betas = surv
    for ties in ("breslow", "efron"):
        cd = _prep(d, ties)
        eta = X @ betas["true"].to_numpy()
        w, z, ll = cox_working(cd, eta)
        g, h, _ = cox_grad_hess(cd, eta)
        assert w.dtype == z.dtype == np.float64 and w.shape == z.shape == (cd.n,)
        assert ll == cox_loglik(cd, eta)
        np.testing.assert_allclose(w * (z - eta), g, atol=1e-14)
        assert w[0] == 0.0 and z[0] == eta[0]              # row 0: censored before any event
        assert (w[1:] > 0).all()


def test_efron_equals_breslow_without_ties():
    g = np.random.default_rng(2)
    time, status, eta = g.permutation(50) + 1.0, (g.random(50) < 0.7) * 1.0, g.normal(size=50)
    a, b = cox_prepare(time, status, "breslow"), cox_prepare(time, status, "efron")
    for x, y in zip(cox_grad_hess(a, eta), cox_grad_hess(b, eta)):
        np.testing.assert_allclose(x, y, rtol=1e-14)
    assert cox_deviance(a, eta) == pytest.approx(cox_deviance(b, eta), rel=1e-14)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_stable_at_extreme_linear_predictors(ties):
    """A 2,000-wide range of eta (exp overflows) and per-stratum shifts by +-700: finite and
    invariant; order-preserving transforms of time change nothing (unlike glmnet at t > 128)."""
    kw, eta = _toy(seed=8, n=60, strata=True, weights=True)
    cd = cox_prepare(kw["time"], kw["status"], ties, strata=kw["strata"], weights=kw["weights"])
    ref = cox_grad_hess(cd, eta)
    shifted = eta + np.array([700.0, -700.0, 300.0])[kw["strata"]]
    for x, y in zip(cox_grad_hess(cd, shifted), ref):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-9)
    wide = eta * 1000.0
    g, h, ll = cox_grad_hess(cd, wide)
    assert np.isfinite(ll) and np.isfinite(g).all() and np.isfinite(h).all() and (h >= 0).all()
    assert ll == pytest.approx(_brute_loglik(kw["time"], kw["status"], wide, ties, kw["strata"],
                                             kw["weights"]), rel=1e-12)
    cd2 = cox_prepare(kw["time"] * 1000.0 + 5, kw["status"], ties, strata=kw["strata"],
                      weights=kw["weights"])
    for x, y in zip(cox_grad_hess(cd2, eta), ref):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ (5) bad input

@pytest.mark.parametrize("kwargs,match", [
    (dict(time=[1.0, 0.0, 2.0]), r"time has 1 values <= 0 \(rows '1'\)"),
    (dict(time=[1.0, -2.0, 2.0]), "values <= 0"),
    (dict(time=[1.0, np.nan, 2.0]), "time has 1 missing or non-finite"),
    (dict(time=[1.0, np.inf, 2.0]), "non-finite"),
    (dict(time=np.ones((3, 1))), "1-D array"),
    (dict(time=[]), "empty"),
    (dict(time=["a", "b", "c"]), "numeric"),
    (dict(status=[1, 2, 0]), r"status must be 1 \(event\) or 0"),
    (dict(status=[0, 0, 0]), "no events"),
    (dict(status=[1, 0]), "status has 2 values but time has 3"),
    (dict(status=[1, np.nan, 0]), "status has 1 missing"),
    (dict(ties="exact"), "ties must be 'breslow' or 'efron'"),
    (dict(weights=[1.0, 0.0, 1.0]), "weights must be > 0"),
    (dict(weights=[1.0, 1.0]), "weights has 2 values"),
    (dict(strata=["a", None, "b"]), "strata has 1 missing"),
])
def test_bad_input_errors(kwargs, match):
    args = dict(time=[1.0, 2.0, 3.0], status=[1, 0, 1]) | kwargs
    with pytest.raises(InputError, match=match):
        cox_prepare(**args)


def test_bad_eta_and_x_errors():
    cd = cox_prepare([1.0, 2.0, 3.0], [True, False, True], "Efron")
    assert cd.ties == "efron"
    with pytest.raises(InputError, match=r"eta must have shape \(3,\)"):
        cox_loglik(cd, np.zeros(4))
    with pytest.raises(InputError, match="eta has non-finite"):
        cox_working(cd, np.array([0.0, np.nan, 0.0]))
    with pytest.raises(InputError, match=r"Xs must be an \(3, p\) matrix"):
        cox_lambda_max(np.zeros((4, 2)), cd, 1.0)
    with pytest.raises(InputError, match="alpha must be in"):
        cox_lambda_max(np.zeros((3, 2)), cd, 1.5)
    with pytest.raises(InputError, match="penalty_factor"):
        cox_lambda_max(np.zeros((3, 2)), cd, 1.0, penalty_factor=[0.0, 0.0])
