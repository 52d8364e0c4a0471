"""The benchmark's peer runner (benchmarks/_spatial_peers.py: squidpy 1.8 and esda 2.10 in
``.venv-spatial``, Python 3.12) against spdep 1.2.7 ``moran.test`` on stored data.

The references (tests/data/spatial/peers/, made by make_reference.R there) are Moran's I, its
normal- and randomisation-moment z-scores and p-values from spdep with
``nb2listw(knn2nb(knearneigh(coords, 6)), style="W")``.  The runner needs its own environment, so
the tests are skipped where ``make bench`` has not built ``.venv-spatial`` (or
``SPATIAL_PEERS_PYTHON`` names no interpreter)."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spatial" / "peers"
RUNNER = ROOT / "benchmarks" / "_spatial_peers.py"
PEERS_PYTHON = Path(os.environ.get("SPATIAL_PEERS_PYTHON",
                                   ROOT / ".venv-spatial" / "bin" / "python"))
N_PERMS = 99

pytestmark = pytest.mark.skipif(
    not PEERS_PYTHON.exists(),
    reason=f"no squidpy/esda environment at {PEERS_PYTHON} (make bench builds .venv-spatial)")


def read(name):
    return pd.read_csv(DATA / name, float_precision="round_trip")


def run_runner(tmp_path, which, with_weights=True, n_perms=N_PERMS):
    inp = read("inputs.csv")
    coords = inp[["x", "y"]].to_numpy()
    X = inp.drop(columns=["x", "y"]).to_numpy()
    arrays = dict(coords=coords, X=X, k=6, n_perms=n_perms, which=which,
                  max_genes_esda=X.shape[1])
    if with_weights:
        nb = read("neighbours.csv")
        n = len(coords)
        W = sparse.csr_matrix((np.full(len(nb), 1.0 / 6), (nb["i"], nb["j"])), shape=(n, n))
        W.sort_indices()
        arrays.update(W_data=W.data, W_indices=W.indices, W_indptr=W.indptr)
    np.savez(tmp_path / "in.npz", **arrays)
    proc = subprocess.run([str(PEERS_PYTHON), str(RUNNER), str(tmp_path / "in.npz"),
                           str(tmp_path / "out.json")], capture_output=True, text=True,
                          timeout=600)
    return proc


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("peers")
    proc = run_runner(tmp, "squidpy,esda")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp / "out.json") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def ref():
    return read("moran_spdep.csv")


def test_versions_and_timings(result):
    v = result["versions"]
    assert v["squidpy"].startswith("1.8.") and v["esda"].startswith("2.10.")
    assert result["n"] == 200 and result["G"] == 4 and result["given_weights"]
    for block in (result["squidpy"]["own_weights"], result["esda"]["own_weights"]):
        for step in ("weights", "statistic"):
            assert block[step]["wall_s"] >= 0 and block[step]["cpu_s"] >= 0
    st = result["esda"]["own_weights"]["statistic"]
    assert st["genes_timed"] == 4
    assert st["extrapolated_wall_s"] == pytest.approx(st["per_gene_wall_s"] * 4)


def test_peer_knn_graphs_are_spdeps(result):
    """Both peers' own kNN graphs have spdep's neighbours; squidpy's weights are float32."""
    for peer in ("squidpy", "esda"):
        cmp = result[peer]["own_weights"]["vs_given_weights"]
        assert cmp["rows_with_other_neighbours"] == 0
    assert result["esda"]["own_weights"]["vs_given_weights"]["max_abs_weight_diff"] < 1e-15
    assert result["squidpy"]["own_weights"]["vs_given_weights"]["max_abs_weight_diff"] < 1e-7


@pytest.mark.parametrize("weights", ["own_weights", "given_weights"])
def test_esda_equals_spdep_moran_test(result, ref, weights):
    r = result["esda"][weights]
    np.testing.assert_allclose(r["I"], ref["I"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r["z_norm"], ref["z_norm"], rtol=1e-10)
    np.testing.assert_allclose(r["z_rand"], ref["z_rand"], rtol=1e-10)
    # every reference z is positive, so esda's one-sided p is spdep's alternative "greater"
    np.testing.assert_allclose(r["p_norm"], ref["p_norm"], rtol=1e-8)
    np.testing.assert_allclose(r["p_rand"], ref["p_rand"], rtol=1e-8)


def test_squidpy_equals_spdep_moran_test(result, ref):
    given = result["squidpy"]["given_weights"]
    np.testing.assert_allclose(given["I"], ref["I"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(given["z_norm"], ref["z_norm"], rtol=1e-10)
    # its own float32 weights: s0, s1, s2 in single precision
    own = result["squidpy"]["own_weights"]
    np.testing.assert_allclose(own["I"], ref["I"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(own["z_norm"], ref["z_norm"], rtol=1e-6)


def test_permutation_p_values(result, ref):
    """Strongly autocorrelated variables (spdep z > 5) are never beaten by a permutation."""
    strong = (ref["z_rand"] > 5).to_numpy()
    assert strong.sum() == 2
    for peer in ("squidpy", "esda"):
        for weights in ("own_weights", "given_weights"):
            p = np.asarray(result[peer][weights]["p_sim"])
            assert np.all((p >= 1 / (N_PERMS + 1)) & (p <= 1))
            np.testing.assert_array_equal(p[strong], 1 / (N_PERMS + 1))
            assert np.all(p[~strong] > 0.05)


def test_bad_peer_name_fails_with_the_fix(tmp_path):
    proc = run_runner(tmp_path, "esda,geoda", with_weights=False, n_perms=0)
    assert proc.returncode != 0
    assert "unknown peer(s) ['geoda']" in proc.stderr and "comma-separated subset" in proc.stderr
