"""Runs adelie 1.1 in its own environment (adelie 1.1 requires numpy < 2, the project numpy
2): ``python _adelie_runner.py IN.npz OUT.npz``.  Times inside this process (best of
``reps``) and writes the path's intercepts and coefficients, or the CV wall time."""

import sys
import time

import numpy as np


def main(inp, out):
    import adelie as ad

    d = np.load(inp)
    X, y, lams = np.asfortranarray(d["X"]), d["y"], d["lams"]
    family, alpha, tight, mode, reps = (str(d["family"]), float(d["alpha"]), bool(d["tight"]),
                                        str(d["mode"]), int(d["reps"]))

    def glm():
        return ad.glm.gaussian(y) if family == "gaussian" else ad.glm.binomial(y)

    kw = dict(tol=1e-14, irls_tol=1e-14) if tight else {}
    best, st = np.inf, None
    for _ in range(reps):
        t0 = time.perf_counter()
        if mode == "path":
            st = ad.grpnet(X, glm(), alpha=alpha, lmda_path=lams, early_exit=False,
                           progress_bar=False, intercept=True, **kw)
        else:
            # cv_grpnet builds its own grid: the same size and ratio as ours
            st = ad.cv_grpnet(X, glm(), alpha=alpha, n_folds=10, seed=0,
                              min_ratio=float(lams[-1] / lams[0]), lmda_path_size=len(lams),
                              progress_bar=False, **kw)
        best = min(best, time.perf_counter() - t0)
    res = {"seconds": best, "version": ad.__version__}
    if mode == "path":
        res["b0"] = np.asarray(st.intercepts)
        res["B"] = st.betas.toarray()
    np.savez(out, **res)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
