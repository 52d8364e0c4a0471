"""Scale-out on Dask: the same results for 1, 2 and 4 workers as in one process.

Every function that takes ``client=`` draws its randomness (permutation indices, folds, fold
seeds) in the driver, so results must be *identical* (not close) to ``client=None``.  The
clusters run their workers as threads of this process (fast to start); one test uses worker
processes, so that everything that travels to a worker is shown to pickle.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require

distributed = require("distributed")

from radiogenomics.association import associate  # noqa: E402
from radiogenomics.cca import CCA, RegularizedCCA, SparseCCA, cca_permutation_test  # noqa: E402
from radiogenomics.distributed import (DistributedError, client_context,  # noqa: E402
                                       map_ordered, scatter_shared)
from radiogenomics.validation import cross_validate, nested_cv, permutation_test  # noqa: E402

WORKERS = (1, 2, 4)


@pytest.fixture(scope="module")
def clients():
    from distributed import Client, LocalCluster

    out = {}
    try:
        for k in WORKERS:
            cluster = LocalCluster(n_workers=k, threads_per_worker=1, processes=False,
                                   dashboard_address=":0", memory_limit=0)
            out[k] = (Client(cluster), cluster)
        yield {k: c for k, (c, _) in out.items()}
    finally:
        for client, cluster in out.values():
            client.close()
            cluster.close()


def _slow_square(i, offset=0):
    import time

    time.sleep(0.002 * ((7 * i) % 5))          # finish out of order
    if i == 13:
        raise KeyError(f"bad item {i}")
    return i * i + offset


# ----------------------------------------------------------------------- the one way in

def test_map_ordered_keeps_input_order_and_names_the_failing_task(clients):
    cl = clients[4]
    want = [i * i + 1 for i in range(13)]
    assert map_ordered(None, _slow_square, range(13), kwargs={"offset": 1}) == want
    gen = (i for i in range(13))                      # consumed lazily, 3 tasks in flight
    assert map_ordered(cl, _slow_square, gen, kwargs={"offset": 1}, max_pending=3) == want
    arr = np.arange(5.0)
    assert map_ordered(cl, np.multiply, [1, 2], args=(scatter_shared(cl, arr),)) == [
        pytest.approx(arr), pytest.approx(2 * arr)]
    with pytest.raises(KeyError, match="bad item 13") as info:
        map_ordered(cl, _slow_square, range(20))
    assert any("task 13 of '_slow_square'" in n for n in info.value.__notes__)
    got = map_ordered(cl, _slow_square, range(15), return_exceptions=True)
    assert isinstance(got[13], KeyError) and got[14] == 196
    seen = []
    assert map_ordered(cl, _slow_square, range(5), keep=False,
                       on_result=lambda i, item, r: seen.append((i, r))) is None
    assert sorted(seen) == [(i, i * i) for i in range(5)]


def test_bad_client_arguments_say_what_to_pass(clients):
    with pytest.raises(DistributedError, match=r"client=3 \(int\).*'local'.*tcp://.*Client"):
        with client_context(3):
            pass
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((20, 3)))
    Y = pd.DataFrame(rng.standard_normal((20, 4)))
    with pytest.raises(DistributedError, match="is not a way to reach a Dask cluster"):
        associate(X, Y, n_permutations=9, rng=0, client=["tcp://a:1"])
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(DistributedError, match=r"could not reach a Dask scheduler at "
                                                   r"client='tcp://127.0.0.1:9'.*dask scheduler"):
            associate(X, Y, n_permutations=9, rng=0, client="tcp://127.0.0.1:9")
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as lc:
        closed = Client(lc)
        closed.close()
    with pytest.raises(DistributedError, match="closed distributed.Client"):
        associate(X, Y, n_permutations=9, rng=0, client=closed)
    with pytest.raises(ValueError, match="Winkler step-down.*leave client=None"):
        cca_permutation_test(CCA(n_components=1), X, Y, n_permutations=9, rng=0,
                             client=clients[1])


# ----------------------------------------------------------------------- permutation screens

def _screen_data(n=40, p=12, q=150, seed=1):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, p))).add_prefix("x")
    Y = pd.DataFrame(rng.standard_normal((n, q)) + 0.6 * X.iloc[:, [0]].to_numpy()).add_prefix("y")
    cov = pd.DataFrame({"age": rng.standard_normal(n)}, index=X.index)
    blocks = pd.Series(np.repeat(["a", "b", "c", "d"], n // 4), index=X.index)
    return X, Y, cov, blocks


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_associate_permutations_identical_for_any_worker_count(clients, backend):
    X, Y, cov, blocks = _screen_data()
    kw = dict(n_permutations=999, rng=3, backend=backend, exchangeability_blocks=blocks,
              covariates_by_block=True, correction="maxT", batch=64)
    one = associate(X, Y, cov, **kw)
    for k, cl in clients.items():
        res = associate(X, Y, cov, client=cl, **kw)
        assert np.array_equal(res.null_max, one.null_max), k
        pd.testing.assert_frame_equal(res.p_permutation, one.p_permutation)
        pd.testing.assert_frame_equal(res.p_fwer, one.p_fwer)
        pd.testing.assert_frame_equal(res.adjusted, one.adjusted)
        assert res.n_permutations == 999 and res.permutation_scheme == "within-block"
    # every distinct permutation enumerated (n = 6 free: 719 of them), also on Dask
    small = associate(X.iloc[:6], Y.iloc[:6], n_permutations=1000, rng=0, backend=backend)
    dist = associate(X.iloc[:6], Y.iloc[:6], n_permutations=1000, rng=0, backend=backend,
                     client=clients[2])
    assert dist.exhaustive_permutations and dist.n_permutations == 719
    assert np.array_equal(dist.null_max, small.null_max)


def test_cca_permutation_tests_identical_for_any_worker_count(clients):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 7))
    Y = rng.standard_normal((50, 5))
    Y[:, 0] += X[:, 0]
    cov = rng.standard_normal((50, 2))
    cases = [(RegularizedCCA(n_components=2, reg_x=0.5, reg_y=1.0),
              dict(n_permutations=199, batch=32, covariates=cov)),
             (SparseCCA(n_components=2, penalty_x=0.4, penalty_y=0.4, max_iter=100),
              dict(n_permutations=49, batch=8))]
    for est, kw in cases:
        one = cca_permutation_test(est, X, Y, rng=5, **kw)
        for k, cl in clients.items():
            res = cca_permutation_test(est, X, Y, rng=5, client=cl, **kw)
            assert np.array_equal(res.null_distribution, one.null_distribution), (est, k)
            assert np.array_equal(res.pvalues, one.pvalues)
            assert np.array_equal(res.statistic, one.statistic)
    assert one.pvalues[0] <= 0.05


# ----------------------------------------------------------------------- prediction

def _prediction_data(n=60):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((n, 8)), index=[f"s{i}" for i in range(n)]).add_prefix("f")
    y = pd.Series(0.8 * X["f0"] + rng.standard_normal(n), index=X.index)
    return X, y


def test_cross_validation_and_permutation_test_identical_for_any_worker_count(clients):
    from sklearn.linear_model import Ridge

    X, y = _prediction_data()
    one = cross_validate(Ridge(), X, y, 5, rng=1, n_boot=50)
    perm = permutation_test(Ridge(), X, y, 4, n_permutations=29, rng=2)
    nest = nested_cv(Ridge(), {"alpha": [0.1, 10.0]}, X, y, 3, 3, rng=3, n_boot=0)
    for k, cl in clients.items():
        res = cross_validate(Ridge(), X, y, 5, rng=1, n_boot=50, client=cl)
        pd.testing.assert_frame_equal(res.predictions, one.predictions)
        pd.testing.assert_frame_equal(res.metrics, one.metrics)
        p = permutation_test(Ridge(), X, y, 4, n_permutations=29, rng=2, client=cl)
        assert np.array_equal(p.null, perm.null) and p.p_value == perm.p_value
    n2 = nested_cv(Ridge(), {"alpha": [0.1, 10.0]}, X, y, 3, 3, rng=3, n_boot=0,
                   client=clients[2])
    pd.testing.assert_frame_equal(n2.predictions, nest.predictions)
    assert n2.params == nest.params


# ----------------------------------------------------------------------- extraction

FAST = {"setting": {"binWidth": 25}, "imageType": {"Original": {}},
        "featureClass": {"firstorder": [], "glcm": []}}


def test_extraction_identical_with_cache_and_errors(clients, tmp_path):
    require("radiomics")
    from data_sim import make_phantoms
    from radiogenomics.radiomics import extract

    ph = make_phantoms(tmp_path / "ph", n_samples=3, shape=(48, 48), n_slices=4, rng=2)
    m = ph.manifest[["sample_id", "image", "mask"]].copy()
    m.loc[len(m)] = ["missing", str(tmp_path / "nope.nrrd"), m["mask"][0]]
    one = extract(m, params=FAST, labels=2, progress=False)
    assert len(one.errors) == 1 and one.features.shape[0] == 3
    for k, cl in clients.items():
        res = extract(m, params=FAST, labels=2, progress=False, client=cl,
                      cache_dir=tmp_path / f"cache{k}")
        pd.testing.assert_frame_equal(res.features, one.features)
        pd.testing.assert_frame_equal(res.errors, one.errors)
        pd.testing.assert_frame_equal(res.cases, one.cases)
        assert res.provenance == one.provenance
    again = extract(m, params=FAST, labels=2, progress=False, cache_dir=tmp_path / "cache2")
    assert again.n_cached == 3                                # written by the Dask run
    pd.testing.assert_frame_equal(again.features, one.features)
    with pytest.raises(ValueError, match="n_jobs=2 and client= were both given"):
        extract(m, params=FAST, n_jobs=2, client=clients[1])


# ----------------------------------------------------------------------- worker processes

def test_worker_processes_give_the_same_results():
    """Two worker processes (everything pickled, Numba and BLAS on the workers' threads)."""
    from distributed import Client, LocalCluster
    from sklearn.linear_model import Ridge

    X, Y, cov, blocks = _screen_data(seed=7)
    kw = dict(n_permutations=499, rng=9, exchangeability_blocks=blocks, backend="numba")
    one = associate(X, Y, cov, **kw)
    Xp, yp = _prediction_data()
    cv1 = cross_validate(Ridge(), Xp, yp, 5, rng=1, n_boot=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as cl:
        res = associate(X, Y, cov, client=cl, **kw)
        cv2 = cross_validate(Ridge(), Xp, yp, 5, rng=1, n_boot=0, client=cl)
    assert np.array_equal(res.null_max, one.null_max)
    pd.testing.assert_frame_equal(res.p_fwer, one.p_fwer)
    pd.testing.assert_frame_equal(cv2.predictions, cv1.predictions)


def test_readme_cluster_example_runs():
    """The example of README.md's 'Running on a cluster' runs as written."""
    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = text.split("### Running on a cluster", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env: dict = {}
    exec(compile(code, "README.md", "exec"), env)               # noqa: S102
    assert env["local"].p_fwer.equals(env["one"].p_fwer)
