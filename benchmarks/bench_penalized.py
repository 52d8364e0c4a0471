"""Elastic-net paths and CV: the project's engine against glmnet (R), scikit-learn, glum,
skglm and adelie, timed in the same run, with each solution's KKT violation.

Every solver gets the same standardised predictors (mean 0, 1/n SD 1) and, for gaussian
models, the standardised response, so all of them solve the same problem on the same scale:
``(1/2n)||z - b0 - X b||^2 + lam (alpha |b|_1 + (1 - alpha)/2 |b|^2)`` (binomial: minus the
mean log-likelihood), on the same lambda grid (glmnet's default sequence).  The KKT violation
is computed here, from each solver's coefficients, by one function (largest violation of the
optimality conditions over features and lambdas).  Peers run at their defaults and, where a
tolerance exists, tightened (``tight``); R's glmnet at ``thresh`` 1e-7 (default) and 1e-14,
timed inside R (``system.time``: elapsed and CPU), BLAS named.

Cases: glmnet's QuickStartExample (gaussian, n = 100, p = 20) and BinomialExample (n = 100,
p = 30), 100 lambdas; n = 60, p = 2,000 block-correlated gaussian lasso, 30 lambdas; n = 100,
p = 20,000 gaussian lasso / elastic net and binomial lasso, 100 lambdas (path) and 10-fold CV.
Usage: ``python benchmarks/bench_penalized.py [--quick] [--cases=quickstart,binomial,...]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GLMNET = ROOT / "tests" / "data" / "glmnet"


def _std(A):
    return (A - A.mean(0)) / A.std(0)


def kkt(Xs, y, family, alpha, lams, b0, B):
    """Largest KKT violation over lambdas (rows of B) on the standardised scale."""
    n = len(y)
    worst = 0.0
    for lam, c, b in zip(lams, b0, B):
        eta = c + Xs @ b
        r = (y - eta) if family == "gaussian" else (y - 1 / (1 + np.exp(-eta)))
        g = Xs.T @ r / n - lam * (1 - alpha) * b
        act = b != 0
        v = np.abs(g[act] - lam * alpha * np.sign(b[act])).max(initial=0)
        v = max(v, (np.abs(g[~act]) - lam * alpha).max(initial=0), abs(r.mean()))
        worst = max(worst, v)
    return worst


#: peers whose default path on a case took longer than this are not run again (tight, CV)
SLOW_S = 10.0
_slow: dict = {}


def best_of(fn, k):
    out, best = None, np.inf
    for _ in range(k):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ------------------------------------------------------------------------------ paths

def ours_path(Xs, y, family, alpha, lams, thresh=None):
    from radiogenomics.elasticnet import DEFAULT_THRESH, glmnet_fit

    path = glmnet_fit(Xs, y, family, alpha, lambdas=lams, thresh=thresh or DEFAULT_THRESH)
    c = path.coef.to_numpy()
    return c[:, 0], c[:, 1:]


def sklearn_path(Xs, y, family, alpha, lams, tight):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, enet_path

    with warnings.catch_warnings(record=True):     # counted by the KKT figure instead
        warnings.simplefilter("always", ConvergenceWarning)
        if family == "gaussian":
            _, coefs, _ = enet_path(Xs, y, l1_ratio=alpha, alphas=lams,
                                    tol=1e-12 if tight else 1e-4, max_iter=100_000)
            return np.zeros(len(lams)), coefs.T
        m = LogisticRegression(l1_ratio=alpha, solver="saga", warm_start=True,
                               tol=1e-8 if tight else 1e-4, max_iter=2000 if tight else 100)
        b0, B = [], []
        for lam in lams:
            m.set_params(C=1 / (len(y) * lam))
            m.fit(Xs, y)
            b0.append(m.intercept_[0])
            B.append(m.coef_[0].copy())
        return np.array(b0), np.array(B)


def glum_path(Xs, y, family, alpha, lams, tight):
    from glum import GeneralizedLinearRegressor

    m = GeneralizedLinearRegressor(family="normal" if family == "gaussian" else "binomial",
                                   l1_ratio=alpha, alpha_search=True, alphas=lams,
                                   gradient_tol=1e-12 if tight else None, max_iter=1000)
    m.fit(Xs, y)
    return np.asarray(m.intercept_path_), np.asarray(m.coef_path_)


def skglm_path(Xs, y, family, alpha, lams, tight):
    from skglm import ElasticNet, SparseLogisticRegression

    tol = 1e-12 if tight else 1e-4
    if family == "gaussian":
        m = ElasticNet(l1_ratio=alpha, tol=tol, fit_intercept=False, max_iter=1000,
                       warm_start=True)
    else:
        m = SparseLogisticRegression(l1_ratio=alpha, tol=tol, fit_intercept=True,
                                     max_iter=1000, warm_start=True)
    b0, B = [], []
    yy = y if family == "gaussian" else 2 * y - 1
    for lam in lams:
        m.set_params(alpha=lam)
        m.fit(Xs, yy)
        b0.append(float(np.ravel(getattr(m, "intercept_", 0.0))[0]))
        B.append(np.ravel(m.coef_).copy())
    return np.array(b0), np.array(B)


ADELIE_PYTHON = os.environ.get("ADELIE_PYTHON", str(ROOT / ".venv-adelie" / "bin" / "python"))


def adelie_run(Xs, y, family, alpha, lams, tight, mode="path", reps=1):
    """adelie 1.1 in its own environment (it needs numpy < 2); timed inside that process."""
    if not Path(ADELIE_PYTHON).exists():
        raise RuntimeError(f"no adelie environment at {ADELIE_PYTHON} (make bench creates it)")
    with tempfile.TemporaryDirectory() as d:
        np.savez(Path(d) / "in.npz", X=Xs, y=y, lams=lams, family=family, alpha=alpha,
                 tight=tight, mode=mode, reps=reps)
        out = subprocess.run([ADELIE_PYTHON, str(Path(__file__).with_name("_adelie_runner.py")),
                              str(Path(d) / "in.npz"), str(Path(d) / "out.npz")],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-300:])
        r = dict(np.load(Path(d) / "out.npz"))
    return r


R_SCRIPT = r"""
suppressMessages(library(glmnet))
a <- commandArgs(TRUE); d <- a[1]
x <- as.matrix(read.csv(file.path(d, "x.csv"), header = FALSE))
y <- read.csv(file.path(d, "y.csv"), header = FALSE)[, 1]
lam <- read.csv(file.path(d, "lam.csv"), header = FALSE)[, 1]
family <- a[2]; alpha <- as.numeric(a[3]); thresh <- as.numeric(a[4]); mode <- a[5]
reps <- as.integer(a[6])
if (mode == "path") {
  tm <- system.time(for (i in 1:reps) fit <- glmnet(x, y, family = family, alpha = alpha,
                                                     lambda = lam, thresh = thresh))
  cf <- as.matrix(coef(fit))
  write.table(t(cf), file.path(d, "coef.csv"), sep = ",", row.names = FALSE, col.names = FALSE)
} else {
  foldid <- rep(1:10, length.out = nrow(x))
  tm <- system.time(for (i in 1:reps) fit <- cv.glmnet(x, y, family = family, alpha = alpha,
                                                        lambda = lam, foldid = foldid,
                                                        thresh = thresh))
  write.table(fit$cvm, file.path(d, "cvm.csv"), sep = ",", row.names = FALSE, col.names = FALSE)
}
cat(sprintf('{"elapsed": %.6f, "cpu": %.6f, "glmnet": "%s", "blas": "%s"}\n',
            tm[["elapsed"]] / reps, (tm[["user.self"]] + tm[["sys.self"]]) / reps,
            as.character(packageVersion("glmnet")),
            gsub("\\\\", "/", extSoftVersion()[["BLAS"]])))
"""


def r_glmnet(Xs, y, family, alpha, lams, thresh, mode="path", reps=1):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        np.savetxt(Path(d) / "x.csv", Xs, delimiter=",", fmt="%.17g")
        np.savetxt(Path(d) / "y.csv", y, fmt="%.17g")
        np.savetxt(Path(d) / "lam.csv", lams, fmt="%.17g")
        (Path(d) / "run.R").write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(Path(d) / "run.R"), d, family, str(alpha),
                              str(thresh), mode, str(reps)], capture_output=True, text=True)
        if out.returncode != 0 or not (Path(d) / ("coef.csv" if mode == "path"
                                                  else "cvm.csv")).exists():
            print("  R glmnet failed:", out.stderr[-300:])
            return None
        info = json.loads(out.stdout.strip().splitlines()[-1])
        if mode == "path":
            c = np.loadtxt(Path(d) / "coef.csv", delimiter=",", ndmin=2)
            info["b0"], info["B"] = c[:, 0], c[:, 1:]
        return info


def run_path_case(name, Xs, y, family, alpha, lams, reps, rows, peers=True):
    """Time every solver's path on one case; print and record time, per-lambda time, KKT."""
    L = len(lams)

    def record(solver, t, b0, B, note=""):
        v = kkt(Xs, y, family, alpha, lams, b0, B)
        rows.append({"case": name, "solver": solver, "seconds": t, "ms_per_lambda": 1e3 * t / L,
                     "kkt": v, "note": note})
        print(f"  {solver:<28} {t:9.4f} s  {1e3 * t / L:8.3f} ms/lambda  KKT {v:8.1e} {note}",
              flush=True)

    print(f"{name}: n = {Xs.shape[0]}, p = {Xs.shape[1]}, {family}, alpha {alpha}, {L} lambdas")
    _slow.clear()
    ours_path(Xs, y, family, alpha, lams[:3])              # compile / load the kernels
    t, (b0, B) = best_of(lambda: ours_path(Xs, y, family, alpha, lams), reps)
    record("radiogenomics", t, b0, B, "(thresh 1e-14, the default)")
    t, (b0, B) = best_of(lambda: ours_path(Xs, y, family, alpha, lams, 1e-7), reps)
    record("radiogenomics thresh=1e-7", t, b0, B, "(glmnet's default threshold)")
    if not peers:
        return
    for tight in (False, True):
        try:
            r = adelie_run(Xs, y, family, alpha, lams, tight, reps=max(1, reps // 2) + 1)
            record(f"adelie {r['version']}{' tight' if tight else ''}", float(r["seconds"]),
                   r["b0"], r["B"], "(own process: numpy < 2)")
        except Exception as exc:
            print(f"  adelie{' tight' if tight else ''}: failed ({exc!s:.160})")
    for label, fn in (("scikit-learn", sklearn_path), ("glum", glum_path),
                      ("skglm", skglm_path)):
        for tight in (False, True):
            if tight and label == "scikit-learn" and family == "binomial" and Xs.shape[1] > 5000:
                print("  scikit-learn tight: not run (SAGA at tol 1e-8 takes minutes at this p)")
                continue
            if label in _slow:
                print(f"  {label}{' tight' if tight else ''}: not run (its path took "
                      f"{_slow[label]:.0f} s > {SLOW_S:.0f} s on this case)")
                continue
            try:
                fn(Xs, y, family, alpha, lams[:3], tight)     # warm-up (JIT, imports)
                t, (b0, B) = best_of(lambda: fn(Xs, y, family, alpha, lams, tight),
                                     max(1, reps // 2))
                record(f"{label}{' tight' if tight else ''}", t, b0, B)
                if t > SLOW_S and not tight:       # the CV estimators run at defaults
                    _slow[label] = t
            except Exception as exc:                          # a peer failing is reported
                print(f"  {label}{' tight' if tight else ''}: failed ({exc!s:.120})")
    for thresh in (1e-7, 1e-14):
        info = r_glmnet(Xs, y, family, alpha, lams, thresh, reps=max(1, reps))
        if info:
            record(f"glmnet R thresh={thresh:g}", info["elapsed"], info["b0"], info["B"],
                   f"(R CPU {info['cpu']:.4f} s; glmnet {info['glmnet']}; BLAS {info['blas']})")


def run_cv_case(name, Xs, y, family, alpha, lams, rows):
    from radiogenomics.elasticnet import cv_glmnet

    foldid = np.resize(np.arange(1, 11), len(y))
    print(f"{name}: 10-fold CV, n = {Xs.shape[0]}, p = {Xs.shape[1]}, {family}, alpha {alpha}, "
          f"{len(lams)} lambdas")
    cv_glmnet(Xs[:, :50], y, foldid, family, alpha, lambdas=lams[:3])
    t, res = best_of(lambda: cv_glmnet(Xs, y, foldid, family, alpha, lambdas=lams), 2)
    rows.append({"case": name, "solver": "radiogenomics cv_glmnet", "seconds": t,
                 "kkt": res.max_kkt, "note": f"lambda.min {res.lambda_min:.4g}"})
    print(f"  radiogenomics cv_glmnet     {t:9.3f} s  (max fold KKT {res.max_kkt:.1e}; "
          f"lambda.min {res.lambda_min:.4g})", flush=True)
    t_ours = t
    from radiogenomics.penalized import PenalizedModel
    t, m = best_of(lambda: PenalizedModel(family, alpha, n_lambda=len(lams), cv=10, rng=1)
                   .fit(Xs, y), 1)
    rows.append({"case": name, "solver": "radiogenomics PenalizedModel", "seconds": t,
                 "kkt": m.kkt_, "note": "own 10 folds + final fit"})
    print(f"  radiogenomics PenalizedModel {t:8.3f} s  (own folds, lambda sequence and final "
          f"fit; KKT of the final fit {m.kkt_:.1e})", flush=True)
    peers = []
    from sklearn.model_selection import PredefinedSplit
    split = PredefinedSplit(foldid - 1)
    if family == "gaussian":
        from sklearn.linear_model import ElasticNetCV
        peers.append(("scikit-learn ElasticNetCV", lambda: ElasticNetCV(
            l1_ratio=alpha, alphas=lams, cv=split, n_jobs=None).fit(Xs, y)))
    else:
        from sklearn.linear_model import LogisticRegressionCV
        peers.append(("scikit-learn LogisticRegressionCV (saga)", lambda: LogisticRegressionCV(
            Cs=list(1 / (len(y) * lams)), l1_ratios=[alpha], solver="saga", cv=split,
            scoring="neg_log_loss", max_iter=100).fit(Xs, y)))
    from glum import GeneralizedLinearRegressorCV
    peers.append(("glum GeneralizedLinearRegressorCV", lambda: GeneralizedLinearRegressorCV(
        family="normal" if family == "gaussian" else "binomial", l1_ratio=[alpha], alphas=lams,
        cv=split).fit(Xs, y)))
    for label, fn in peers:
        if label.split()[0] in _slow:
            print(f"  {label}: not run (its path alone took {_slow[label.split()[0]]:.0f} s; "
                  "10-fold CV would take about 10 times that)")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")      # convergence shown by the KKT of paths
                t0 = time.perf_counter()
                fn()
                t = time.perf_counter() - t0
            rows.append({"case": name, "solver": label, "seconds": t})
            print(f"  {label:<40} {t:9.3f} s  ({t / t_ours:.1f}x ours)",
                  flush=True)
        except Exception as exc:
            print(f"  {label}: failed ({exc!s:.160})")
    try:
        r = adelie_run(Xs, y, family, alpha, lams, False, mode="cv")
        t = float(r["seconds"])
        rows.append({"case": name, "solver": "adelie cv_grpnet", "seconds": t})
        print(f"  {'adelie cv_grpnet ' + str(r['version']):<40} {t:9.3f} s  ({t / t_ours:.1f}x "
              "ours; own process)", flush=True)
    except Exception as exc:
        print(f"  adelie cv_grpnet: failed ({exc!s:.160})")
    for thresh in (1e-7, 1e-14):
        info = r_glmnet(Xs, y, family, alpha, lams, thresh, mode="cv")
        if info:
            rows.append({"case": name, "solver": f"cv.glmnet R thresh={thresh:g}",
                         "seconds": info["elapsed"], "note": f"R CPU {info['cpu']:.3f} s"})
            print(f"  cv.glmnet R thresh={thresh:g}       {info['elapsed']:9.3f} s elapsed, "
                  f"{info['cpu']:.3f} CPU s; glmnet {info['glmnet']}; BLAS {info['blas']}",
                  flush=True)


def block_correlated(n=60, p=2000, block=20, rho=0.6, seed=1):
    g = np.random.default_rng(seed)
    f = g.standard_normal((n, p // block))
    X = np.sqrt(rho) * np.repeat(f, block, axis=1) + np.sqrt(1 - rho) * g.standard_normal((n, p))
    beta = np.zeros(p)
    beta[::block][:10] = g.normal(0, 1, 10)
    return X, X @ beta + g.standard_normal(n)


def main(quick: bool = False, cases: str = "all"):
    """``cases``: "all" or a comma list of quickstart, binomial, block, gaussian1, gaussian0.5,
    binomial20k (each large gaussian case is a path and a CV case)."""
    from radiogenomics.elasticnet import glmnet_lambda_sequence

    rows = []
    want = set(cases.split(",")) if cases != "all" else {
        "quickstart", "binomial", "block", "gaussian1", "gaussian0.5", "binomial20k"}
    X = pd.read_csv(GLMNET / "quickstart_x.csv.gz").to_numpy()
    y = pd.read_csv(GLMNET / "quickstart_y.csv")["y"].to_numpy()
    Xs, z = _std(X), (y - y.mean()) / y.std()
    if "quickstart" in want:
        run_path_case("quickstart", Xs, z, "gaussian", 1.0, glmnet_lambda_sequence(Xs, z), 20, rows)
    Xb = pd.read_csv(GLMNET / "binomial_x.csv.gz").to_numpy()
    yb = pd.read_csv(GLMNET / "binomial_y.csv").iloc[:, 0].to_numpy(float)
    Xbs = _std(Xb)
    if "binomial" in want:
        run_path_case("binomial example", Xbs, yb, "binomial", 1.0,
                      glmnet_lambda_sequence(Xbs, yb, "binomial"), 10, rows)
    Xc, yc = block_correlated()
    Xcs, zc = _std(Xc), (yc - yc.mean()) / yc.std()
    if "block" in want:
        run_path_case("n 60 p 2000 block-correlated", Xcs, zc, "gaussian", 1.0,
                      glmnet_lambda_sequence(Xcs, zc, n_lambda=30), 5, rows)
    g = np.random.default_rng(0)
    n, p = 100, (5_000 if quick else 20_000)
    Xl = _std(g.standard_normal((n, p)))
    beta = np.zeros(p)
    beta[:20] = g.normal(0, 1, 20)
    yl = Xl @ beta + g.standard_normal(n)
    zl = (yl - yl.mean()) / yl.std()
    ybl = (yl > np.median(yl)).astype(float)
    for alpha in (1.0, 0.5):
        if f"gaussian{alpha:g}" not in want:
            continue
        lams = glmnet_lambda_sequence(Xl, zl, alpha=alpha)
        run_path_case(f"p {p} gaussian", Xl, zl, "gaussian", alpha, lams, 2, rows)
        run_cv_case(f"p {p} gaussian CV", Xl, zl, "gaussian", alpha, lams, rows)
    if "binomial20k" in want:
        lams = glmnet_lambda_sequence(Xl, ybl, "binomial")
        run_path_case(f"p {p} binomial", Xl, ybl, "binomial", 1.0, lams, 2, rows)
        run_cv_case(f"p {p} binomial CV", Xl, ybl, "binomial", 1.0, lams, rows)
    out = pd.DataFrame(rows)
    print(out.to_string())
    return out


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    cases = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--cases=")), "all")
    main(quick="--quick" in sys.argv, cases=cases)
