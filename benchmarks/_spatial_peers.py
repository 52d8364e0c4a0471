"""Runs the spatial-autocorrelation peers in their own environment (squidpy 1.8 and esda 2.10
need Python >= 3.12, the project runs on 3.11): ``python _spatial_peers.py IN.npz OUT.json``.

``make bench`` builds that environment as ``.venv-spatial``.  The input holds

- ``coords`` (n, 2) spot centres, ``X`` (n, G) float64 values (one column per gene);
- ``k`` (int): neighbours of the k-nearest-neighbour graph;
- ``n_perms`` (int): permutations (0: analytic moments only);
- ``which`` (str): comma-separated peers, ``"squidpy,esda"``;
- ``max_genes_esda`` (int): esda loops over genes in Python, so only the first
  ``max_genes_esda`` genes are timed and the per-gene time is extrapolated to G;
- optionally ``W_data, W_indices, W_indptr``: the CSR arrays of the project's own weights
  (``knn_weights(coords, k, style="W").matrix``); each peer is then also run on exactly these
  weights, and the peer's own kNN graph is compared with them.

The peers' own weights are the same kNN graph as spdep's ``knearneigh`` + ``knn2nb`` +
``nb2listw(style="W")``: squidpy's ``spatial_neighbors(coord_type="generic", n_neighs=k)``
(deprecated in squidpy 1.8 for ``spatial_neighbors_knn(n_neighs=k)``, the same ``KNNBuilder``,
used when present: scikit-learn ``NearestNeighbors.kneighbors()`` without the query points, so
self is excluded; binary, float32, *not* symmetrised), row-normalised by
``spatial_autocorr(transformation=True)`` (``sklearn.preprocessing.normalize(norm="l1")``);
libpysal ``KNN.from_array(coords, k)`` (KD-tree, self excluded, not symmetrised) with
``transform = "r"``.  With tied distances (regular grids) the peers may pick different
neighbours than spdep; the given weights settle that.

Every step is timed inside this process in wall seconds (``time.perf_counter``) and CPU seconds
(``time.process_time``, all threads).  Numba compilation is done on a tiny warm-up problem first
and reported separately.  The output JSON holds versions, timings, the weights used, and per gene
Moran's I, its z-scores and p-values (normal and randomisation moments, permutation p) so the
caller can cross-check the peers against its own figures.  z-scores are the sign-bearing,
unambiguous quantities: squidpy's ``pval_norm`` is one-sided in the direction of z (its default
``two_tailed=False``), and esda is called with ``two_tailed=False`` for the same convention.
"""

import json
import logging
import os
import platform
import sys
import time
from importlib import metadata

import numpy as np

PACKAGES = ("squidpy", "esda", "libpysal", "scanpy", "anndata", "numba", "numpy", "scipy",
            "scikit-learn", "pandas")


class Clock:
    """Wall and CPU seconds of a ``with`` block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0

    def record(self):
        return {"wall_s": self.wall, "cpu_s": self.cpu}


def versions():
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def load(path):
    """The npz as plain Python / NumPy values; the given CSR weights or None."""
    from scipy import sparse

    d = np.load(path, allow_pickle=False)
    p = {"coords": np.asarray(d["coords"], dtype=np.float64),
         "X": np.asarray(d["X"], dtype=np.float64),
         "k": int(d["k"]), "n_perms": int(d["n_perms"]),
         "which": [w.strip() for w in str(d["which"]).split(",") if w.strip()],
         "max_genes_esda": int(d["max_genes_esda"]) if "max_genes_esda" in d else 200}
    n = p["coords"].shape[0]
    if p["X"].shape[0] != n:
        raise ValueError(f"X has {p['X'].shape[0]} rows but coords has {n}: pass X as "
                         "(spots, genes) in the order of coords")
    W = None
    if "W_data" in d:
        W = sparse.csr_matrix((np.asarray(d["W_data"], dtype=np.float64), d["W_indices"],
                               d["W_indptr"]), shape=(n, n))
    p["W"] = W
    return p


def compare_graphs(A, B):
    """Rows whose neighbour sets differ and max |weight difference| of two (n, n) matrices."""
    A, B = A.tocsr(), B.tocsr()
    A.sort_indices()
    B.sort_indices()
    rows = sum(not np.array_equal(A.indices[A.indptr[i]:A.indptr[i + 1]],
                                  B.indices[B.indptr[i]:B.indptr[i + 1]])
               for i in range(A.shape[0]))
    diff = abs(A.astype(np.float64) - B.astype(np.float64))
    return {"rows_with_other_neighbours": int(rows),
            "max_abs_weight_diff": float(diff.max()) if diff.nnz else 0.0}


def z_from_var(score, var, n):
    return (np.asarray(score) + 1.0 / (n - 1)) / np.sqrt(var)


# ---------------------------------------------------------------- squidpy
def squidpy_autocorr(adata, n_perms):
    import squidpy as sq

    with Clock() as c:
        df = sq.gr.spatial_autocorr(adata, mode="moran", n_perms=n_perms or None,
                                    transformation=True, n_jobs=1, seed=0, copy=True,
                                    show_progress_bar=False)
    df = df.reindex(adata.var_names)        # squidpy sorts its table by I
    n = adata.n_obs
    res = {"statistic": c.record(), "I": df["I"].tolist(),
           "z_norm": z_from_var(df["I"], df["var_norm"], n).tolist(),
           "p_norm": df["pval_norm"].tolist()}
    if n_perms:
        res["p_sim"] = df["pval_sim"].tolist()
    return res


def run_squidpy(p):
    with Clock() as imp:
        import anndata as ad
        import squidpy as sq
    from scipy import sparse

    # warm-up: numba compilation (cached on disk after the first run) on a tiny problem
    rs = np.random.default_rng(0)
    tiny = ad.AnnData(rs.normal(size=(30, 2)), obsm={"spatial": rs.normal(size=(30, 2))})
    logging.getLogger("spatialdata._logging").setLevel(logging.WARNING)   # its per-call INFO lines
    # squidpy 1.8 deprecates spatial_neighbors(coord_type="generic", n_neighs=k) in favour of
    # spatial_neighbors_knn(n_neighs=k); both run the same KNNBuilder
    knn = getattr(sq.gr, "spatial_neighbors_knn", None) or (
        lambda a, n_neighs: sq.gr.spatial_neighbors(a, coord_type="generic", n_neighs=n_neighs))
    with Clock() as warm:
        knn(tiny, n_neighs=3)
        sq.gr.spatial_autocorr(tiny, mode="moran", n_perms=2 if p["n_perms"] else None,
                               n_jobs=1, seed=0, copy=True, show_progress_bar=False)
    X, G = p["X"], p["X"].shape[1]
    adata = ad.AnnData(X.copy(), obsm={"spatial": p["coords"].copy()})
    adata.var_names = [f"g{j}" for j in range(G)]
    out = {"import": imp.record(), "warmup": warm.record()}
    with Clock() as c:
        knn(adata, n_neighs=p["k"])
    own = {"weights_source": f"squidpy.gr.{getattr(knn, '__name__', 'spatial_neighbors')}"
                             f"(n_neighs={p['k']}), generic kNN, row-normalised by "
                             "spatial_autocorr(transformation=True)",
           "weights": c.record()}
    own_W = adata.obsp["spatial_connectivities"]
    own["weights_dtype"] = str(own_W.dtype)
    if p["W"] is not None:
        rowsum = np.asarray(own_W.sum(axis=1)).ravel()
        rowsum[rowsum == 0] = 1.0
        own["vs_given_weights"] = compare_graphs(sparse.diags(1.0 / rowsum) @ own_W, p["W"])
    own.update(squidpy_autocorr(adata, p["n_perms"]))
    out["own_weights"] = own
    if p["W"] is not None:
        adata.obsp["spatial_connectivities"] = p["W"].copy()
        given = {"weights_source": "given CSR (float64), row-normalised again by "
                                   "transformation=True (a no-op on style 'W')"}
        given.update(squidpy_autocorr(adata, p["n_perms"]))
        out["given_weights"] = given
    return out


# ---------------------------------------------------------------- esda
def esda_loop(X, w, n_perms, transformation, m):
    import esda

    np.random.seed(0)                       # esda permutes with the global NumPy generator
    keys = ["I", "z_norm", "p_norm", "z_rand", "p_rand"] + (["p_sim"] if n_perms else [])
    res = {key: [] for key in keys}
    with Clock() as c:
        for j in range(m):
            mi = esda.moran.Moran(X[:, j], w, transformation=transformation,
                                  permutations=n_perms, two_tailed=False)
            for key in keys:
                res[key].append(float(getattr(mi, key)))
    G = X.shape[1]
    res["statistic"] = {**c.record(), "genes_timed": m,
                        "per_gene_wall_s": c.wall / max(m, 1),
                        "per_gene_cpu_s": c.cpu / max(m, 1),
                        "extrapolated_wall_s": c.wall / max(m, 1) * G,
                        "extrapolated_cpu_s": c.cpu / max(m, 1) * G}
    return res


def run_esda(p):
    from libpysal.weights import KNN, WSP

    m = min(p["X"].shape[1], max(p["max_genes_esda"], 0))
    with Clock() as c:
        w = KNN.from_array(p["coords"], k=p["k"])
        w.transform = "r"
    own = {"weights_source": f"libpysal.weights.KNN.from_array(coords, k={p['k']}), "
                             "transform 'r'", "weights": c.record()}
    if p["W"] is not None:
        own["vs_given_weights"] = compare_graphs(w.sparse, p["W"])
    own.update(esda_loop(p["X"], w, p["n_perms"], "r", m))
    out = {"own_weights": own}
    if p["W"] is not None:
        with Clock() as c:
            wg = WSP(p["W"]).to_W(silence_warnings=True)
        given = {"weights_source": "libpysal.weights.WSP(given CSR).to_W(), used as given "
                                   "(transformation 'O')", "weights": c.record()}
        given.update(esda_loop(p["X"], wg, p["n_perms"], "O", m))
        out["given_weights"] = given
    return out


RUNNERS = {"squidpy": run_squidpy, "esda": run_esda}


def main(inp, out):
    p = load(inp)
    unknown = [w for w in p["which"] if w not in RUNNERS]
    if unknown:
        raise ValueError(f"unknown peer(s) {unknown} in 'which': use a comma-separated subset "
                         f"of {sorted(RUNNERS)}")
    n, G = p["X"].shape
    res = {"versions": versions(), "n": n, "G": G, "k": p["k"], "n_perms": p["n_perms"],
           "given_weights": p["W"] is not None,
           "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS",
                                                       "OPENBLAS_NUM_THREADS")},
           "cpu_count": os.cpu_count()}
    for name in p["which"]:
        with Clock() as c:
            res[name] = RUNNERS[name](p)
        res[name]["total"] = c.record()
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python _spatial_peers.py IN.npz OUT.json")
    main(sys.argv[1], sys.argv[2])
