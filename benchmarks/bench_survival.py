"""Survival: penalised Cox paths and CV, unpenalised Cox and Harrell's C, timed beside R
(glmnet 4.1-6, survival 3.5-3), scikit-survival 0.28 and lifelines 0.30 in the same run.

Penalised Cox (cases ``path200``, ``path500``, ``cv200``, ``cv500``)
    Every solver gets the same standardised predictors ``Xs`` (mean 0, 1/n SD 1), the same
    survival data (Weibull times, about 40% censoring, 5 true effects, times rounded to 0.1 so
    that events tie) and glmnet's default lambda sequence for ``family="cox"``, so all solve

        ``-l(beta) / n + lam (alpha |beta|_1 + (1 - alpha)/2 |beta|^2)``

    with ``l`` the Breslow log partial likelihood (glmnet implements Breslow only; so does
    scikit-survival's coxnet, whose ``alphas`` are glmnet's lambdas: checked below through the
    coefficients).  The KKT violation (largest over features and lambdas) and the objective of
    every solution are computed here by one function, :func:`kkt_objective`, from the
    solver's coefficients: with ``g = dl/deta`` (``radiogenomics._cox.cox_grad_hess``) the
    gradient of ``-l/n`` is ``-Xs' g / n``.  R's glmnet runs at thresh 1e-7 (its default) and
    1e-14, timed inside R (``system.time``: elapsed and CPU).  glmnet stops a path early once
    the deviance ratio passes 0.999 (its ``fdev``: the fit is then nearly saturated); it runs
    first, and where it fitted only the first ``k`` lambdas the Python solvers are timed both
    on the full grid and on those ``k`` (same problems as glmnet); KKT, objective and
    coefficients are compared on the first ``k``.  The objective excess is each solution's
    objective minus the smallest any solver reached at that lambda.

    CV: ``cv_glmnet(..., family="cox")`` against ``cv.glmnet(..., foldid=)`` on the same folds
    (partial-likelihood deviance and ``type.measure="C"``), and scikit-survival, which has no
    CV path: its 10 fold paths plus the held-out C per lambda (what ``cv.glmnet`` does), and
    ``GridSearchCV`` over single-alpha fits (its documented recipe) where the estimated time is
    below :data:`SLOW_S`.

Unpenalised Cox (``coxph``) and concordance (``concordance``)
    ``radiogenomics.survival.coxph`` (Efron) against R ``coxph(ties="efron")`` and lifelines
    ``CoxPHFitter().fit`` at n = 1,000 / 10,000 / 100,000, p = 10; Harrell's C against R
    ``concordance``, lifelines ``concordance_index`` and scikit-survival
    ``concordance_index_censored`` at the same n.  Coefficients, standard errors and C values
    are cross-checked (max abs differences printed).

Python solvers run in a fresh process each (:func:`capped`), after an untimed warm-up (JIT,
imports); one that has not answered ``cap + 180`` s after it started is stopped and reported
as "stopped" (a lower bound, not a time).  Every row records the 1-minute load average.

Usage: ``python benchmarks/bench_survival.py [--quick] [--cases=path200,cv200,...] [--cap=300]``
(``--quick``: p = 5,000 for the n = 500 cases, n <= 10,000 for coxph and concordance, cap 60 s).
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: a peer whose estimated time on a case exceeds this is not run (said so in the output)
SLOW_S = 60.0
#: default cap (s) of a Python solver's run; the process is stopped at cap + 180 s (said so)
CAP_S = 300.0
CASES = ("path200", "path500", "cv200", "cv500", "coxph", "concordance")


class _Rows(list):
    """Result rows; each records the 1-minute load average when it was added."""

    def append(self, row):
        row.setdefault("load1", round(os.getloadavg()[0], 2))
        super().append(row)


def best_of(fn, k):
    """Best wall time of ``k`` calls and the last result."""
    out, best = None, np.inf
    for _ in range(max(1, k)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _std(A):
    return (A - A.mean(0)) / A.std(0)


# ------------------------------------------------------------------------------ data

def simulate(n, p, seed, n_true=5, shape=1.5, censored=0.4, digits=1):
    """Weibull proportional hazards: ``T = 5 (E / exp(x'beta))^(1/shape)``, ``E ~ Exp(1)``,
    exponential censoring scaled to the target censored fraction, times rounded to ``digits``
    (ties) and floored at one unit of the rounding.  Returns ``(X, time, status, beta)``."""
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, p))
    beta = np.zeros(p)
    k = min(n_true, p)
    beta[:k] = g.choice([-1.0, 1.0], k) * g.uniform(0.4, 0.8, k)
    T = 5.0 * (g.exponential(size=n) / np.exp(X @ beta)) ** (1.0 / shape)
    E = g.exponential(size=n)
    lo, hi = 1e-3, 1e4                       # censoring scale giving the target fraction
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if np.mean(mid * E < T) > censored else (lo, mid)
    C = hi * E
    t = np.minimum(T, C)
    if digits is not None:
        unit = 10.0 ** -digits
        t = np.maximum(np.round(t, digits), unit)
    return X, t, (T <= C).astype(float), beta


def surv_frame(t, d):
    return pd.DataFrame({"time": t, "status": d})


# ------------------------------------------------------------------------------ KKT

def kkt_objective(Xs, t, d, alpha, lams, B):
    """Per lambda (rows of ``B``, standardised scale): the largest KKT violation of
    ``-l/n + lam (alpha |b|_1 + (1-alpha)/2 |b|^2)`` (Breslow) and the objective value.

    Stationarity: ``s_j = x_j' g / n - lam (1-alpha) b_j`` must equal ``lam alpha sign(b_j)``
    for ``b_j != 0`` and satisfy ``|s_j| <= lam alpha`` for ``b_j = 0``."""
    from radiogenomics._cox import cox_grad_hess, cox_prepare

    cd = cox_prepare(t, d, ties="breslow")
    n = Xs.shape[0]
    ETA = Xs @ B.T
    kkt, obj = np.empty(len(B)), np.empty(len(B))
    G = np.empty_like(ETA)
    for k in range(len(B)):
        G[:, k], _, ll = cox_grad_hess(cd, ETA[:, k])
        lam, b = lams[k], B[k]
        obj[k] = -ll / n + lam * (alpha * np.abs(b).sum() + (1 - alpha) / 2 * (b @ b))
    S = (Xs.T @ G).T / n                                     # (L, p)
    for k in range(len(B)):
        lam, b = lams[k], B[k]
        s = S[k] - lam * (1 - alpha) * b
        act = b != 0
        v_act = np.abs(s[act] - lam * alpha * np.sign(b[act])).max(initial=0.0)
        v_in = (np.abs(s[~act]) - lam * alpha).max(initial=0.0)
        kkt[k] = max(v_act, v_in)
    return kkt, obj


# ------------------------------------------------------------------------------ solvers

def ours_path(Xs, t, d, alpha, lams, thresh=None):
    from radiogenomics.elasticnet import DEFAULT_THRESH, glmnet_fit

    path = glmnet_fit(Xs, surv_frame(t, d), family="cox", alpha=alpha, lambdas=lams,
                      thresh=thresh or DEFAULT_THRESH)
    note = f"{int((~path.converged).sum())} unconverged" if not path.converged.all() else ""
    return path.coef.to_numpy()[:, 1:], note


def sksurv_path(Xs, t, d, alpha, lams, tol):
    """scikit-survival's coxnet on the same standardised X (``normalize=False``); returns the
    coefficients of the lambdas it fitted (it may stop early) and its convergence warnings."""
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    y = Surv.from_arrays(event=d.astype(bool), time=t)
    m = CoxnetSurvivalAnalysis(l1_ratio=alpha, alphas=lams, normalize=False, tol=tol,
                               max_iter=100_000, fit_baseline_model=False)
    with warnings.catch_warnings(record=True) as w:          # reported in the note
        warnings.simplefilter("always")
        m.fit(Xs, y)
    msgs = sorted({str(x.message)[:60] for x in w})
    return np.asarray(m.coef_).T, "; ".join(msgs)


R_GLMNET = r"""
suppressMessages({library(glmnet); library(survival)})
a <- commandArgs(TRUE); d <- a[1]; n <- as.integer(a[2]); p <- as.integer(a[3])
alpha <- as.numeric(a[4]); thresh <- as.numeric(a[5]); mode <- a[6]; reps <- as.integer(a[7])
con <- file(file.path(d, "x.bin"), "rb"); x <- matrix(readBin(con, "double", n * p), n, p)
close(con)
sv <- read.csv(file.path(d, "y.csv")); y <- Surv(sv$time, sv$status)
lam <- read.csv(file.path(d, "lam.csv"), header = FALSE)[, 1]
if (mode == "path") {
  tm <- system.time(for (i in 1:reps) fit <- glmnet(x, y, family = "cox", alpha = alpha,
                                                     lambda = lam, thresh = thresh))
  writeBin(as.vector(as.matrix(coef(fit))), file.path(d, "coef.bin"))
  nl <- length(fit$lambda)
} else {
  foldid <- read.csv(file.path(d, "foldid.csv"), header = FALSE)[, 1]
  tm <- system.time(for (i in 1:reps) fit <- cv.glmnet(x, y, family = "cox", alpha = alpha,
                                                        lambda = lam, foldid = foldid,
                                                        thresh = thresh, type.measure = mode))
  write.table(fit$cvm, file.path(d, "cvm.csv"), sep = ",", row.names = FALSE,
              col.names = FALSE)
  nl <- length(fit$cvm)
}
cat(sprintf('{"elapsed": %.6f, "cpu": %.6f, "n_lambda": %d, "glmnet": "%s", "blas": "%s"}\n',
            tm[["elapsed"]] / reps, (tm[["user.self"]] + tm[["sys.self"]]) / reps, nl,
            as.character(packageVersion("glmnet")),
            basename(extSoftVersion()[["BLAS"]])))
"""


def _rscript(script, d, args):
    (Path(d) / "run.R").write_text(script)
    out = subprocess.run(["Rscript", str(Path(d) / "run.R"), d, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print("  R failed:", out.stderr[-400:])
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def r_glmnet(Xs, t, d, alpha, lams, thresh, mode="path", reps=1, foldid=None):
    """glmnet in R on the same data, timed inside R; ``mode``: "path", "deviance" or "C"."""
    if shutil.which("Rscript") is None:
        return None
    n, p = Xs.shape
    with tempfile.TemporaryDirectory() as tmp:
        np.asfortranarray(Xs).T.tofile(Path(tmp) / "x.bin")    # column-major for R
        surv_frame(t, d).to_csv(Path(tmp) / "y.csv", index=False, float_format="%.17g")
        np.savetxt(Path(tmp) / "lam.csv", lams, fmt="%.17g")
        if foldid is not None:
            np.savetxt(Path(tmp) / "foldid.csv", foldid, fmt="%d")
        info = _rscript(R_GLMNET, tmp, [n, p, alpha, thresh, mode, reps])
        if info is None:
            return None
        if mode == "path":
            c = np.fromfile(Path(tmp) / "coef.bin").reshape(info["n_lambda"], p)
            info["B"] = c
        else:
            info["cvm"] = np.loadtxt(Path(tmp) / "cvm.csv", ndmin=1)
    return info


# ------------------------------------------------------------------------------ capped runs

def _child(conn, fn, args, reps, warm, cap):
    try:
        if warm is not None:
            fn(*warm)                                  # compile / load kernels, not timed
        secs, spent = np.inf, 0.0
        for _ in range(max(1, reps)):                  # best of reps, within the cap
            t0 = time.perf_counter()
            out = fn(*args)
            secs = min(secs, time.perf_counter() - t0)
            spent += time.perf_counter() - t0
            if spent + secs > cap:
                break
        conn.send(("ok", secs, out))
    except Exception as exc:                           # reported by the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc!s:.200}", None))
    conn.close()


def capped(fn, args, reps=1, warm=None, cap=None):
    """Best of ``reps`` timed calls of ``fn(*args)`` in a fresh process (spawned: no state
    shared with this one; repeats stop once they would pass ``cap``), the process stopped
    when nothing came back after ``cap`` + 180 s (start-up, warm-up, transfer).  Returns
    ``(status, seconds, result)``: status "ok", "failed" (seconds is then the message) or
    "stopped" (seconds: the time waited)."""
    import multiprocessing as mp

    cap = CAP_S if cap is None else cap
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, reps, warm, cap),
                       daemon=True)
    proc.start()
    send.close()
    t0 = time.perf_counter()
    try:
        if recv.poll(cap + 180.0):                     # + start-up, warm-up and transfer
            status, secs, out = recv.recv()
            proc.join()
            return status, secs, out
        return "stopped", time.perf_counter() - t0, None
    except EOFError:
        return "failed", f"process died (exit code {proc.exitcode})", None
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join()


# ------------------------------------------------------------------------------ path case

def run_path_case(name, Xs, t, d, alpha, lams, reps, rows, cap):
    """Time each solver's path; print and record time, KKT, objective excess, agreement.

    R's glmnet runs first: where it stops early (deviance ratio > 0.999) at ``k`` lambdas,
    the Python solvers are timed on the full grid and on those first ``k`` lambdas."""
    L = len(lams)
    sols = {}

    def record(solver, secs, B, note=""):
        k = len(B)
        kkt, obj = kkt_objective(Xs, t, d, alpha, lams[:k], B)
        sols[solver] = (B, obj, kkt)
        extra = f" ({k} of {L} lambdas)" if k < L else ""
        rows.append({"case": name, "solver": solver, "seconds": secs,
                     "ms_per_lambda": 1e3 * secs / k, "kkt": kkt.max(), "n_lambda": k,
                     "note": (note + extra).strip()})
        print(f"  {solver:<36} {secs:9.4f} s  {1e3 * secs / k:8.2f} ms/lambda  KKT "
              f"{kkt.max():8.1e}  {note}{extra}", flush=True)

    def python_solver(label, fn, args, grid, k_reps, note=""):
        status, secs, out = capped(fn, (Xs, t, d, alpha, grid) + args, k_reps,
                                   warm=(Xs, t, d, alpha, lams[:3]) + args, cap=cap)
        if status == "ok":
            B, msg = out
            record(label, secs, B, f"{note} {msg}".strip())
        else:
            rows.append({"case": name, "solver": label, "seconds": secs if status == "stopped"
                         else np.nan, "n_lambda": len(grid), "note": f"{status}"})
            print(f"  {label:<36} {status}"
                  + (f": no result after {secs:.0f} s (cap {cap:.0f} s + 180 s start-up)"
                     if status == "stopped" else f" ({secs})"), flush=True)

    print(f"{name}: n = {Xs.shape[0]}, p = {Xs.shape[1]}, cox (Breslow), alpha {alpha}, "
          f"{L} lambdas, {int(d.sum())} events, {len(np.unique(t[d == 1]))} distinct event "
          "times", flush=True)
    k = L
    for thresh in (1e-7, 1e-14):
        info = r_glmnet(Xs, t, d, alpha, lams, thresh, reps=reps)
        if info:
            record(f"glmnet R thresh={thresh:g}", info["elapsed"], info["B"],
                   f"(R CPU {info['cpu']:.3f} s; glmnet {info['glmnet']}; BLAS {info['blas']})")
            k = min(k, info["n_lambda"])
    grids = [("", lams)] + ([(f" ({k} lambdas)", lams[:k])] if k < L else [])
    for suffix, grid in grids:
        python_solver("radiogenomics" + suffix, ours_path, (None,), grid, reps,
                      "(thresh 1e-14, the default)")
        python_solver("radiogenomics thresh=1e-7" + suffix, ours_path, (1e-7,), grid, reps,
                      "(glmnet's default threshold)")
        for tol in (1e-7, 1e-14):
            python_solver(f"scikit-survival tol={tol:g}" + suffix, sksurv_path, (tol,), grid,
                          max(1, reps // 2))
    _compare(name, sols, rows, k)


def _compare(name, sols, rows, k):
    """On the first ``k`` lambdas (those every solver fitted): KKT violation, objective excess
    over the best solution per lambda, and coefficient agreement with glmnet at 1e-14 (else
    ours at its default): max over the ``k`` lambdas and at five of them."""
    best = np.min([obj[:k] for _, obj, _ in sols.values() if len(obj) >= k], axis=0)
    ref_name = next((s for s in ("glmnet R thresh=1e-14", "radiogenomics") if s in sols), None)
    Bref = sols[ref_name][0][:k]
    five = np.unique(np.linspace(0, k - 1, 5).astype(int))
    print(f"  on the first {k} lambdas; coefficients against {ref_name}:")
    for r in rows:
        if r["case"] != name or r["solver"] not in sols:
            continue
        B, obj, kkt = sols[r["solver"]]
        if len(B) < k:
            continue
        r["kkt_common"] = float(kkt[:k].max())
        r["obj_excess"] = float(np.max(obj[:k] - best))
        r["max_coef_diff"] = float(np.abs(B[:k] - Bref).max())
        r["coef_diff_5"] = float(np.abs(B[five] - Bref[five]).max())
        print(f"  {r['solver']:<36} KKT {r['kkt_common']:8.1e}  objective - best "
              f"{r['obj_excess']:8.1e}  max |coef - ref| {r['max_coef_diff']:8.1e} (at 5 "
              f"lambdas {r['coef_diff_5']:8.1e})", flush=True)


# ------------------------------------------------------------------------------ CV case

def sksurv_cv_paths(Xs, t, d, alpha, lams, foldid, tol=1e-7):
    """scikit-survival by hand: each fold's path, held-out Harrell C per lambda (sksurv's
    ``concordance_index_censored``), fold C weighted by fold size as cv.glmnet does (a path
    that stopped early predicts with its last coefficients, as glmnet's ``predict``)."""
    from sksurv.metrics import concordance_index_censored

    cs, ws = [], []
    for f in np.unique(foldid):
        tr, te = foldid != f, foldid == f
        B, _ = sksurv_path(Xs[tr], t[tr], d[tr], alpha, lams, tol)
        B = np.vstack([B, np.repeat(B[-1:], len(lams) - len(B), 0)])
        eta = Xs[te] @ B.T
        ev = d[te].astype(bool)
        cs.append([concordance_index_censored(ev, t[te], eta[:, j])[0] if ev.any() else np.nan
                   for j in range(len(lams))])
        ws.append(te.sum())
    cs, ws = np.array(cs), np.array(ws, float)
    return np.nansum(cs * ws[:, None], 0) / (np.isfinite(cs) * ws[:, None]).sum(0)


def sksurv_gridsearch(Xs, t, d, alpha, lams, foldid):
    """scikit-survival's documented CV recipe: GridSearchCV over single-alpha fits (scored by
    Harrell's C); returns the mean test C per alpha."""
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    y = Surv.from_arrays(event=d.astype(bool), time=t)
    gs = GridSearchCV(CoxnetSurvivalAnalysis(l1_ratio=alpha, normalize=False),
                      {"alphas": [[a] for a in lams]}, cv=PredefinedSplit(foldid - 1),
                      error_score=0.5, n_jobs=1)
    with warnings.catch_warnings(record=True):         # single-alpha fits warn when all-zero
        warnings.simplefilter("always")
        gs.fit(Xs, y)
    return gs.cv_results_["mean_test_score"]


def _sksurv_single_alpha(Xs, t, d, alpha, lams, foldid):
    """Three single-alpha fits on one fold's training rows (for the GridSearchCV estimate)."""
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    tr = foldid != 1
    y = Surv.from_arrays(event=d[tr].astype(bool), time=t[tr])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for a in (lams[0], lams[len(lams) // 2], lams[-1]):
            CoxnetSurvivalAnalysis(l1_ratio=alpha, alphas=[a], normalize=False).fit(Xs[tr], y)


def ours_cv(Xs, t, d, alpha, lams, foldid, measure="deviance", n_jobs=None):
    from radiogenomics.elasticnet import cv_glmnet

    res = cv_glmnet(Xs, surv_frame(t, d), foldid, family="cox", alpha=alpha, lambdas=lams,
                    n_jobs=n_jobs, type_measure=measure)
    return res.cvm, res.max_kkt, res.lambda_min, len(res.convergence_warnings), res.index_min


def _c_diff(c, ours):
    if "C" not in ours:
        return ""
    cvm, i_min = ours["C"][0], ours["C"][4]
    diff = np.abs(c - cvm)
    return (f"max |mean C - ours| {np.nanmax(diff[:i_min + 1]):.1e} down to ours' lambda.min, "
            f"{np.nanmax(diff):.1e} on the whole path")


def run_cv_case(name, Xs, t, d, alpha, lams, rows, cap):
    n = len(t)
    foldid = np.random.default_rng(7).permutation(np.resize(np.arange(1, 11), n))
    print(f"{name}: 10-fold CV, n = {n}, p = {Xs.shape[1]}, cox, alpha {alpha}, "
          f"{len(lams)} lambdas", flush=True)
    warm = (Xs[:, :50], t, d, alpha, lams[:3], foldid)

    def rec(solver, secs, note=""):
        rows.append({"case": name, "solver": solver, "seconds": secs, "note": note})
        print(f"  {solver:<44} {secs:9.3f} s  {note}", flush=True)

    def run(label, fn, extra=(), note=lambda out: ""):
        status, secs, out = capped(fn, (Xs, t, d, alpha, lams, foldid) + extra, 1,
                                   warm=warm + extra, cap=cap)
        if status == "ok":
            rec(label, secs, note(out))
            return out
        rec(label, secs if status == "stopped" else np.nan,
            f"{status}" + (f": no result after {secs:.0f} s (cap {cap:.0f} s + 180 s "
                           "start-up)" if status == "stopped" else f" ({secs})"))
        return status

    ours = {}
    for measure, jobs in (("deviance", None), ("deviance", 1), ("C", None)):
        if "stopped" in ours:
            print(f"  radiogenomics cv_glmnet {measure} ({jobs or 2} thread(s)): not run (the "
                  "first run was stopped at the cap)")
            continue
        out = run(f"radiogenomics cv_glmnet {measure}" + (" (1 thread)" if jobs == 1 else
                                                           " (2 threads)"),
                  ours_cv, (measure, jobs),
                  lambda o: f"max fold KKT {o[1]:.1e}; lambda.min {o[2]:.4g}; "
                            f"{o[3]} folds with unconverged lambdas")
        if isinstance(out, tuple):
            ours[measure] = out
        elif out == "stopped":
            ours["stopped"] = True
    for measure, thresh in (("deviance", 1e-7), ("deviance", 1e-14), ("C", 1e-7)):
        info = r_glmnet(Xs, t, d, alpha, lams, thresh, mode=measure, foldid=foldid)
        if not info:
            continue
        note = f"R CPU {info['cpu']:.2f} s"
        if measure in ours:
            cvm, i_min = ours[measure][0], ours[measure][4]
            diff = np.abs(info["cvm"] - cvm[:len(info["cvm"])])
            note += (f"; max |cvm - ours| {np.nanmax(diff[:i_min + 1]):.1e} down to ours' "
                     f"lambda.min, {np.nanmax(diff):.1e} on the whole path")
        rec(f"cv.glmnet R {measure} thresh={thresh:g}", info["elapsed"], note)
    run("scikit-survival 10 fold paths + C", sksurv_cv_paths, (),
        lambda c: _c_diff(c, ours))
    status, secs, _ = capped(_sksurv_single_alpha, (Xs, t, d, alpha, lams, foldid), 1,
                             cap=cap)
    est = secs / 3 * len(lams) * 10 if status == "ok" else np.inf
    if est > SLOW_S:
        rec("scikit-survival GridSearchCV", est,
            f"not run: estimated {est:.0f} s (> {SLOW_S:.0f} s) from 3 single-alpha fits")
        return
    run("scikit-survival GridSearchCV", sksurv_gridsearch, (),
        lambda c: f"estimated {est:.1f} s; {_c_diff(c, ours)}")


# ------------------------------------------------------------------------------ coxph

R_COXPH = r"""
suppressMessages(library(survival))
a <- commandArgs(TRUE); d <- a[1]; reps <- as.integer(a[2])
dat <- read.csv(file.path(d, "data.csv"))
tm <- system.time(for (i in 1:reps) fit <- coxph(Surv(time, status) ~ ., data = dat,
                                                  ties = "efron"))
write.csv(data.frame(coef = coef(fit), se = sqrt(diag(vcov(fit)))), file.path(d, "fit.csv"),
          row.names = FALSE)
cat(sprintf('{"elapsed": %.6f, "cpu": %.6f, "survival": "%s", "iter": %d}\n',
            tm[["elapsed"]] / reps, (tm[["user.self"]] + tm[["sys.self"]]) / reps,
            as.character(packageVersion("survival")), fit$iter))
"""

R_CONC = r"""
suppressMessages(library(survival))
a <- commandArgs(TRUE); d <- a[1]; reps <- as.integer(a[2])
dat <- read.csv(file.path(d, "data.csv"))
tm <- system.time(for (i in 1:reps) cf <- concordance(Surv(time, status) ~ risk, data = dat,
                                                      reverse = TRUE))
cat(sprintf('{"elapsed": %.6f, "cpu": %.6f, "survival": "%s", "c": %.17g, "se": %.17g}\n',
            tm[["elapsed"]] / reps, (tm[["user.self"]] + tm[["sys.self"]]) / reps,
            as.character(packageVersion("survival")), cf$concordance, sqrt(cf$var)))
"""


def _r_frame(script, df, reps, read_fit=False):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        df.to_csv(Path(tmp) / "data.csv", index=False, float_format="%.17g")
        info = _rscript(script, tmp, [reps])
        if info and read_fit:
            info["fit"] = pd.read_csv(Path(tmp) / "fit.csv", float_precision="round_trip")
    return info


def ours_coxph(X, t, d):
    """``radiogenomics.survival.coxph`` (Efron); ``(coef, se)``."""
    from radiogenomics.survival.coxph import coxph

    fit = coxph(X, time=t, event=d, ties="efron")
    return fit.coef.to_numpy(float), fit.se.to_numpy(float)


def run_coxph(sizes, rows, p=10):
    from lifelines import CoxPHFitter

    for n in sizes:
        X, t, d, _ = simulate(n, p, seed=n, shape=1.0, censored=0.4, digits=2)
        cols = [f"x{j + 1}" for j in range(p)]
        df = pd.DataFrame(X, columns=cols).assign(time=t, status=d)
        reps = 5 if n <= 10_000 else 2
        name = f"coxph n {n} p {p}"
        print(f"{name}: Efron, {int(d.sum())} events, {len(np.unique(t[d == 1]))} distinct "
              "event times", flush=True)
        fits = {}
        try:
            ours_coxph(X[:50], t[:50], d[:50])
            secs, fits["ours"] = best_of(lambda: ours_coxph(X, t, d), reps)
            rows.append({"case": name, "solver": "radiogenomics coxph", "seconds": secs})
            print(f"  radiogenomics coxph            {secs:9.4f} s", flush=True)
        except ImportError as exc:
            print(f"  radiogenomics coxph: TODO, not available yet ({exc!s:.100})")
        except Exception as exc:
            print(f"  radiogenomics coxph: failed ({exc!s:.160})")
        cph = CoxPHFitter()
        secs, _ = best_of(lambda: cph.fit(df, "time", "status"), max(1, reps // 2))
        fits["lifelines"] = (cph.params_.to_numpy(), cph.standard_errors_.to_numpy())
        rows.append({"case": name, "solver": "lifelines CoxPHFitter", "seconds": secs})
        print(f"  lifelines CoxPHFitter          {secs:9.4f} s", flush=True)
        info = _r_frame(R_COXPH, df, reps, read_fit=True)
        if info:
            fits["R"] = (info["fit"]["coef"].to_numpy(), info["fit"]["se"].to_numpy())
            rows.append({"case": name, "solver": "R coxph", "seconds": info["elapsed"],
                         "note": f"R CPU {info['cpu']:.3f} s; survival {info['survival']}"})
            print(f"  R coxph (survival {info['survival']})    {info['elapsed']:9.4f} s elapsed, "
                  f"{info['cpu']:.4f} CPU s, {info['iter']} iterations", flush=True)
        ref = fits.get("R", fits["lifelines"])
        for k, (b, se) in fits.items():
            print(f"    {k:<10} max |coef - R| {np.abs(b - ref[0]).max():.1e}, max |SE - R| "
                  f"{np.abs(se - ref[1]).max():.1e}")
            for r in rows:
                if r["case"] == name and r["solver"].lower().startswith(
                        {"ours": "radiogenomics", "lifelines": "lifelines", "R": "r "}[k]):
                    r["max_coef_diff"] = float(np.abs(b - ref[0]).max())
                    r["max_se_diff"] = float(np.abs(se - ref[1]).max())


# ------------------------------------------------------------------------------ concordance

def ours_c(t, d, risk):
    """``radiogenomics.survival.concordance.harrell_c`` (C and its IJ SE, as R)."""
    from radiogenomics.survival.concordance import harrell_c

    return harrell_c(time=t, event=d, risk=risk).c


def run_concordance(sizes, rows):
    from lifelines.utils import concordance_index
    from sksurv.metrics import concordance_index_censored

    t_sk = None
    for n in sizes:
        g = np.random.default_rng(n + 1)
        _, t, d, _ = simulate(n, 1, seed=n + 1, shape=1.0, censored=0.4, digits=None)
        risk = np.round(-np.log(t) + g.standard_normal(n), 2)      # risk ties, distinct times
        name = f"concordance n {n}"
        reps = 5 if n <= 10_000 else 2
        print(f"{name}: {int(d.sum())} events, {len(np.unique(risk))} distinct risk scores",
              flush=True)
        vals = {}

        def rec(solver, secs, c, note=""):
            vals[solver] = c
            rows.append({"case": name, "solver": solver, "seconds": secs, "c": c,
                         "note": note})
            print(f"  {solver:<40} {secs:9.4f} s  C = {c:.15f} {note}", flush=True)

        try:
            ours_c(t[:50], d[:50], risk[:50])
            secs, c = best_of(lambda: ours_c(t, d, risk), reps)
            rec("radiogenomics harrell_c", secs, c)
        except ImportError as exc:
            print(f"  radiogenomics harrell_c: TODO, not available yet ({exc!s:.100})")
        except Exception as exc:
            print(f"  radiogenomics harrell_c: failed ({exc!s:.160})")
        secs, c = best_of(lambda: concordance_index(t, -risk, d), reps)
        rec("lifelines concordance_index", secs, c)
        ev = d.astype(bool)
        est = None if t_sk is None else t_sk[1] * (n / t_sk[0]) ** 2
        if est is not None and est > SLOW_S:
            print(f"  scikit-survival concordance_index_censored: not run (O(n^2): estimated "
                  f"{est:.0f} s from n = {t_sk[0]})")
        else:
            secs, c = best_of(lambda: concordance_index_censored(ev, t, risk)[0],
                              reps if n <= 10_000 else 1)
            t_sk = (n, secs)
            rec("scikit-survival concordance_index_censored", secs, c)
        info = _r_frame(R_CONC, pd.DataFrame({"time": t, "status": d, "risk": risk}), reps)
        if info:
            rec(f"R concordance (survival {info['survival']})", info["elapsed"], info["c"],
                f"(R CPU {info['cpu']:.4f} s; also its SE)")
        ref = next((v for k, v in vals.items() if k.startswith("R ")), None)
        if ref is not None:
            print("    max |C - R| " + ", ".join(f"{k.split()[0]} {abs(v - ref):.1e}"
                                               for k, v in vals.items()))
        try:            # R and ours tie times equal within sqrt(eps) (aeqSurv); the others not
            from radiogenomics.survival.concordance import harrell_c

            c0 = harrell_c(time=t, event=d, risk=risk, timefix=False).c
            c1 = vals["lifelines concordance_index"]
            print(f"    ours with timefix=False - lifelines: {c0 - c1:.1e}")
        except ImportError:
            pass


# ------------------------------------------------------------------------------ main

def main(quick: bool = False, cases: str = "all", cap: float | None = None):
    """``cases``: "all" or a comma list of path200, path500, cv200, cv500, coxph, concordance
    (``--quick``: p = 5,000 instead of 20,000 for the n = 500 cases, n up to 10,000 for coxph
    and concordance); ``cap``: seconds after which a Python solver's run is stopped."""
    from radiogenomics.elasticnet import glmnet_lambda_sequence

    want = set(CASES) if cases == "all" else set(cases.split(","))
    unknown = want - set(CASES)
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    cap = cap or (60.0 if quick else CAP_S)
    rows = _Rows()
    sizes = {"200": (200, 1_000), "500": (500, 5_000 if quick else 20_000)}
    for key, (n, p) in sizes.items():
        if f"path{key}" not in want and f"cv{key}" not in want:
            continue
        X, t, d, _ = simulate(n, p, seed=int(key))
        Xs = _std(X)
        Y = surv_frame(t, d)
        for alpha in (1.0, 0.5):
            lams = glmnet_lambda_sequence(Xs, Y, "cox", alpha)
            if f"path{key}" in want:
                run_path_case(f"n {n} p {p} alpha {alpha:g}", Xs, t, d, alpha, lams,
                              3 if n <= 200 else 1, rows, cap)
            if f"cv{key}" in want and alpha == 1.0:
                run_cv_case(f"n {n} p {p} CV lasso", Xs, t, d, alpha, lams, rows, cap)
    if "coxph" in want:
        run_coxph((1_000, 10_000) if quick else (1_000, 10_000, 100_000), rows)
    if "concordance" in want:
        run_concordance((1_000, 10_000) if quick else (1_000, 10_000, 100_000), rows)
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_colwidth", 60,
                           "display.float_format", "{:.3g}".format):
        print(out.to_string())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return out


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    cases = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--cases=")), "all")
    cap = next((float(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--cap=")), None)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    main(quick="--quick" in sys.argv, cases=cases, cap=cap)
