"""Spatial: Moran's I for many genes and the spatial max-T screen, beside squidpy and esda.

Data: a Visium-type hexagonal lattice of ``n`` spots (default 4,000 = 50 x 80) and ``G``
genes (default 20,000), each gene a random mix of 50 smooth fields (white noise smoothed by
three passes of the row-standardised 6-NN weights) plus noise; one smooth imaging map.

Cases, all in the same run:

``moran``
    Moran's I with analytic moments for every gene: ``radiogenomics.spatial.morans_i`` (kNN
    k = 6, style W) against squidpy 1.8 ``gr.spatial_autocorr(mode="moran")`` (all genes) and
    PySAL esda 2.10 ``Moran`` (a subset of genes timed, per gene and extrapolated: esda is one
    call per gene), both in ``.venv-spatial`` through :mod:`_spatial_peers` and given the same
    weights; I and z are cross-checked against both (max relative difference printed).
``moran_perm``
    Permutation Moran (B = 1,000: ``n_permutations`` here, ``n_perms`` / ``permutations``
    there) on a subset of genes (``--perm-genes``), per gene and extrapolated to G; the
    permutation p-values are compared with ours (same I, other random permutations: they agree
    to Monte-Carlo error only).
``screen``
    The spatial max-T screen (``spatial_association``) of the imaging map x all G genes with
    B = 1,000 surrogates under the Moran spectral randomisation null (MSR: one
    eigendecomposition of the 4,000 x 4,000 doubly centred weights) and toroidal shifts
    (index maps), on the Numba backend (compiled first on a tiny call, not timed); the peers
    have no such screen, so the rows beside it are their permutation Moran tests at B = 1,000
    from ``moran_perm`` extrapolated to G - the nearest thing a user of those packages would
    run per gene (one spatial statistic per gene and B resamples; not the same computation).

An in-run reference row times the screen's arithmetic alone in plain NumPy (chunks of the
(B x n) @ (n x G) product, |r| maxima and exceedance counts) on the same shapes.

Every peer row prints its time over ours (wall and CPU seconds) for each of our rows of its
case.  The machine's own matrix multiply rate and the load average are printed before and
after, as yardsticks.

Usage: ``python benchmarks/bench_spatial.py [--quick] [--n-genes=20000] [--perm-genes=200]``
(``--quick``: 2,000 genes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import matmul_gflops  # noqa: E402

PEERS = ROOT / ".venv-spatial" / "bin" / "python"


def _arg(name: str, default):
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            return type(default)(a.split("=", 1)[1])
    return default


def make_data(n_rows=50, n_cols=80, n_genes=20000, rng=0):
    """Hex lattice spots, G smooth-mixture genes, one smooth map; also the lattice grid."""
    from radiogenomics.spatial import knn_weights

    gen = np.random.default_rng(rng)
    rows, cols = np.meshgrid(np.arange(n_rows), np.arange(2 * n_cols), indexing="ij")
    keep = (rows + cols) % 2 == 0
    grid = np.column_stack([rows[keep], cols[keep]])
    coords = np.column_stack([grid[:, 1] * 50.0, grid[:, 0] * 50.0 * np.sqrt(3)])
    W = knn_weights(coords, k=6).matrix

    def smooth(Z, passes=3):
        for _ in range(passes):
            Z = 0.5 * Z + 0.5 * (W @ Z)
        return Z

    F = smooth(gen.standard_normal((len(coords), 51)))
    F /= F.std(axis=0)
    L = gen.standard_normal((50, n_genes)) * (gen.random(n_genes) < 0.7)
    X = F[:, :50] @ L / np.sqrt(5) + gen.standard_normal((len(coords), n_genes))
    return coords, grid, X, F[:, 50]


def run_peers(coords, X, W, *, n_perms: int, which: str, max_genes_esda: int) -> dict:
    if not PEERS.exists():
        return {"skipped": "no .venv-spatial (make bench builds it: Python 3.12, squidpy 1.8, "
                           "esda 2.10)"}
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(inp, coords=coords, X=X, k=6, n_perms=n_perms, which=which,
                 max_genes_esda=max_genes_esda, W_data=W.data, W_indices=W.indices,
                 W_indptr=W.indptr)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
        subprocess.run([str(PEERS), str(ROOT / "benchmarks" / "_spatial_peers.py"), str(inp),
                        str(out)], check=True, env={k: v for k, v in env.items() if v})
        return json.loads(out.read_text())


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)))


B_PERM = 1000


def _row(case, what, t, c, note="", ours=False, tag=""):
    return {"case": case, "what": what, "wall_s": t, "cpu_s": c, "note": note, "ours": ours,
            "tag": tag}


def _graph_note(peers: dict) -> str:
    """How the peers' own kNN graphs differ from the given weights (tied distances)."""
    parts = []
    for peer in ("squidpy", "esda"):
        v = peers.get(peer, {}).get("own_weights", {}).get("vs_given_weights")
        if v:
            parts.append(f"{peer} own kNN: {v['rows_with_other_neighbours']} rows with other "
                         "neighbours")
    return "; ".join(parts)


def bench_moran(coords, X, rows: list) -> None:
    from radiogenomics.spatial import knn_weights, morans_i

    G = X.shape[1]
    (w, tw, cw) = _timed(lambda: knn_weights(coords, k=6))
    morans_i(X[:, :10], w)  # warm-up
    res, t, c = _timed(lambda: morans_i(X, w, alternative="greater"))
    rows.append(_row("moran", f"radiogenomics morans_i, {G} genes", t, c,
                     f"kNN weights built in {tw:.2f} s (not counted)", ours=True))
    peers = run_peers(coords, X, w.matrix, n_perms=0, which="squidpy,esda",
                      max_genes_esda=min(G, 200))
    if "skipped" in peers:
        rows.append(_row("moran", "peers", np.nan, np.nan, peers["skipped"]))
        return
    tab = res.table
    for peer in ("squidpy", "esda"):
        part = peers[peer]["given_weights"]
        st = part["statistic"]
        I = np.asarray(part["I"], float)
        m = len(I)
        z = np.asarray(part["z_norm"], float)
        note = (f"vs ours on {m} genes: I max rel diff {_rel(I, tab['I'].to_numpy()[:m]):.1e}, "
                f"z (normality) {_rel(z, tab['z_normality'].to_numpy()[:m]):.1e}")
        if "z_rand" in part:
            zr = np.asarray(part["z_rand"], float)
            note += f", z (randomisation) {_rel(zr, tab['z_randomisation'].to_numpy()[:m]):.1e}"
        scale = G / m
        rows.append(_row("moran", f"{peer} {peers['versions'].get(peer, '')}"
                         + (f" ({m} genes timed, x{scale:.0f})" if scale > 1 else ""),
                         st["wall_s"] * scale, st["cpu_s"] * scale, note))
    print(f"# peers' own kNN graphs vs ours: {_graph_note(peers)}")


def bench_perm(coords, X, n_perm_genes: int, rows: list) -> dict:
    """Permutation Moran rows; returns the peers' per-gene costs for the screen case."""
    from radiogenomics.spatial import knn_weights, morans_i

    G = X.shape[1]
    w = knn_weights(coords, k=6)
    sub = X[:, :n_perm_genes]
    res, t, c = _timed(lambda: morans_i(sub, w, n_permutations=B_PERM, rng=1))
    s = G / n_perm_genes
    rows.append(_row("moran_perm", f"radiogenomics morans_i B={B_PERM} ({n_perm_genes} genes, "
                     f"x{s:.0f})", t * s, c * s, ours=True))
    peers = run_peers(coords, sub, w.matrix, n_perms=B_PERM, which="squidpy,esda",
                      max_genes_esda=min(n_perm_genes, 20))
    if "skipped" in peers:
        rows.append(_row("moran_perm", "peers", np.nan, np.nan, peers["skipped"]))
        return {}
    per_gene = {}
    p_ours = res.table["p_permutation"].to_numpy()
    I_ours = res.table["I"].to_numpy()
    for peer in ("squidpy", "esda"):
        part = peers[peer]["given_weights"]
        st = part["statistic"]
        m = len(part["I"])
        p_peer = np.asarray(part["p_sim"], float)
        pos = I_ours[:m] > -1.0 / (len(coords) - 1)   # peers' p_sim is one-sided towards I
        note = (f"vs ours on {m} genes: I max rel diff {_rel(part['I'], I_ours[:m]):.1e}, "
                f"p_perm max abs diff {np.max(np.abs(p_peer - p_ours[:m])[pos]):.3f} "
                f"({int(pos.sum())} genes with I > E[I]; Monte-Carlo error only)")
        rows.append(_row("moran_perm", f"{peer} {peers['versions'].get(peer, '')} B={B_PERM} "
                         f"({m} genes, x{G / m:.0f})", st["wall_s"] * G / m,
                         st["cpu_s"] * G / m, note))
        per_gene[peer] = (peers["versions"].get(peer, ""), m, st["wall_s"] / m, st["cpu_s"] / m)
    return per_gene


def _numpy_screen(X, B, chunk=250):
    """Wall and CPU seconds of the screen's arithmetic in plain NumPy: |S_b' U| max and counts."""
    gen = np.random.default_rng(3)
    U = X - X.mean(axis=0)
    U /= np.linalg.norm(U, axis=0)
    S = gen.standard_normal((B, X.shape[0]))
    S -= S.mean(axis=1, keepdims=True)
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    r_obs = np.abs(gen.standard_normal(X.shape[1])) * 0.05

    def run():
        mx, cnt = np.empty(B), np.zeros(X.shape[1], dtype=np.int64)
        for s in range(0, B, chunk):
            P = np.abs(S[s:s + chunk] @ U)
            mx[s:s + chunk] = P.max(axis=1)
            cnt += (P >= r_obs).sum(axis=0)
        return mx, cnt

    _, t, c = _timed(run)
    return t, c


def bench_screen(coords, grid, X, xmap, rows: list, peer_perm: dict) -> None:
    from radiogenomics.spatial import SpotData, spatial_association

    G = X.shape[1]
    spots = SpotData.from_arrays(coords, pd.DataFrame(X, columns=[f"g{j}" for j in range(G)]),
                                 grid=grid, constant="overall")
    xs = pd.Series(xmap, index=spots.spot_ids, name="map")
    _, tw, _ = _timed(lambda: spatial_association(   # Numba compile / cache load, not timed
        spots, xs, null="torus", n_resamples=10, rng=2, backend="numba",
        modified_ttest=False, progress=False))
    print(f"# screen warm-up (Numba compile or cache load, B = 10): {tw:.2f} s")
    for null in ("torus", "msr"):
        res, t, c = _timed(lambda: spatial_association(
            spots, xs, null=null, n_resamples=B_PERM, rng=2, backend="numba",
            modified_ttest=False, progress=False))
        rows.append(_row("screen", f"spatial_association null={null}, B={B_PERM}, {G} genes",
                         t, c, f"{int((res.table['p_fwer'] <= 0.05).sum())} genes at FWER "
                         "0.05", ours=True, tag=null))
    flop = 2.0 * len(coords) * G * B_PERM
    for r in rows[-2:]:
        r["note"] += (f"; 2 n G B = {flop:.1e} flop over the whole call: "
                      f"{flop / r['wall_s'] / 1e9:.1f} GFLOP/s")
    rows.append(_row("screen", f"in-run reference: NumPy (B x n) @ (n x {G}) + max / counts",
                     *_numpy_screen(X, B_PERM), "same shapes as the torus screen, random "
                     "unit maps; what the products cost without the engine"))
    for peer, (ver, m, pw, pc) in peer_perm.items():
        rows.append(_row("screen", f"{peer} {ver} permutation Moran B={B_PERM} ({m} genes, "
                         f"x{G / m:.0f})", pw * G, pc * G, "from moran_perm; not the same "
                         "computation (no imaging map, no max-T)"))


def main() -> None:
    quick = "--quick" in sys.argv
    G = _arg("n-genes", 2000 if quick else 20000)
    n_perm = _arg("perm-genes", 100 if quick else 200)
    cases = _arg("cases", "moran,moran_perm,screen").split(",")
    gf = matmul_gflops()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: {' '.join(sys.argv)}")
    print(f"# machine: {os.cpu_count()} cores, dense matmul {gf:.1f} GFLOP/s; load average "
          f"(1/5/15 min) {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")
    coords, grid, X, xmap = make_data(n_genes=G)
    print(f"# data: {len(coords)} spots x {G} genes")
    rows: list = []
    if "moran" in cases:
        bench_moran(coords, X, rows)
    peer_perm = {}
    if "moran_perm" in cases:     # the screen's peer rows come from this case
        peer_perm = bench_perm(coords, X, n_perm, rows)
    if "screen" in cases:
        bench_screen(coords, grid, X, xmap, rows, peer_perm)
    report(pd.DataFrame(rows))
    gf2 = matmul_gflops()
    print(f"\n# after: dense matmul {gf2:.1f} GFLOP/s; load average (1/5/15 min) "
          f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}")


def report(frame: pd.DataFrame) -> None:
    """Each row's wall / CPU seconds; each peer row's time over each of our rows of its case."""
    for case, part in frame.groupby("case", sort=False):
        ours = part[part["ours"]]
        print(f"\n[{case}]")
        for _, r in part.iterrows():
            ratio = ""
            if not r["ours"] and np.isfinite(r["cpu_s"]):
                ratio = ", ".join(
                    f"{r['wall_s'] / o['wall_s']:.1f}x / {r['cpu_s'] / o['cpu_s']:.1f}x ours"
                    + (f" ({o['tag']})" if o["tag"] else "") for _, o in ours.iterrows())
                ratio = f"[this / ours, wall / cpu: {ratio}]  "
            print(f"  {r['what']:<58s} wall {r['wall_s']:8.2f} s  cpu {r['cpu_s']:8.2f} s  "
                  f"{ratio}{r['note']}")


if __name__ == "__main__":
    main()
