"""MOFA+ wrapper overhead: ``radiogenomics.mofa.MOFA.fit`` beside calling mofapy2 directly.

Same data, same options, same seed, both in this process, alternating, median of ``REPEAT``
runs (run-to-run noise on a shared 2-core VM is several percent, larger than the overhead),
plus the wrapper's own steps timed alone (input validation, reading the HDF5 model back):
- direct: mofapy2's ``entry_point`` (set_data_options, set_data_matrix, set_model_options,
  set_train_options, build, run) and ``save`` of the HDF5 model (what a MOFA2 user does to get
  results into R or Python), stdout sent to a buffer as the wrapper does;
- ours: ``MOFA(...).fit(data)`` (input validation, the same mofapy2 calls, the HDF5 model read
  back into a result object).
Data sets: the CLL reference (200 samples, Drugs 310 gaussian + Mutations 69 bernoulli,
K = 15, ``tests/data/mofa``) and a data_sim cohort (200 samples, radiomics 300 + expression
2,000, K = 10, scaled views).  Target: overhead under 5%.
Usage: ``python benchmarks/bench_mofa.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPEAT = 7
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "mofa"


def direct(views: dict, likelihoods, K, scale_views, seed, out):
    from mofapy2.run.entry_point import entry_point

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        ent = entry_point()
        ent.set_data_options(scale_views=scale_views)
        names = list(views)
        ids = list(views[names[0]].index)
        ent.set_data_matrix([[views[v].to_numpy(dtype=float)] for v in names],
                            likelihoods=likelihoods, views_names=names, groups_names=["group1"],
                            samples_names=[ids],
                            features_names=[list(views[v].columns) for v in names])
        ent.set_model_options(factors=K, spikeslab_weights=True, ard_weights=True)
        ent.set_train_options(iter=1000, convergence_mode="fast", seed=seed, quiet=True)
        ent.build()
        ent.run()
        ent.save(out, save_data=True)
    return ent


def ours(views, likelihoods, K, scale_views, seed):
    from radiogenomics.mofa import MOFA

    return MOFA(K, likelihoods=likelihoods, scale_views=scale_views, rng=seed).fit(views)


def case(name, views, likelihoods, K, scale_views, seed):
    tmp = Path(tempfile.mkdtemp())
    t_d, t_o = [], []
    for r in range(REPEAT):
        t0 = time.perf_counter()
        direct(views, likelihoods, K, scale_views, seed, str(tmp / f"d{r}.hdf5"))
        t_d.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = ours(views, likelihoods, K, scale_views, seed)
        t_o.append(time.perf_counter() - t0)
    d, o = float(np.median(t_d)), float(np.median(t_o))
    from radiogenomics.mofa import MOFA, MOFAResult

    model = MOFA(K, likelihoods=likelihoods, scale_views=scale_views, rng=seed)
    t0 = time.perf_counter()
    for _ in range(5):
        model._prepare(views, None)
    t_prep = (time.perf_counter() - t0) / 5
    path = res.save(tmp / "ours.hdf5")
    t0 = time.perf_counter()
    for _ in range(5):
        MOFAResult.from_hdf5(path)
    t_read = (time.perf_counter() - t0) / 5
    own = t_prep + t_read
    print(f"{name:<36s} mofapy2 direct {d:6.2f} s  MOFA.fit {o:6.2f} s  (medians of {REPEAT}: "
          f"{100 * (o / d - 1):+5.1f}%)  wrapper's own steps {1000 * own:5.1f} ms = "
          f"{100 * own / d:4.1f}% of the fit  ({res.n_iter} iterations)", flush=True)
    return {"data": name, "direct_s": d, "ours_s": o, "overhead_pct": 100 * (o / d - 1),
            "own_ms": 1000 * own, "own_pct": 100 * own / d}


def main():
    import data_sim

    drugs = pd.read_csv(DATA / "drugs.csv.gz", index_col=0)
    muts = pd.read_csv(DATA / "mutations.csv.gz", index_col=0)
    ours({"Drugs": drugs, "Mutations": muts}, ["gaussian", "bernoulli"], 2, False, 0)  # warm-up
    rows = [case("CLL 200 x (310 + 69), K = 15", {"Drugs": drugs, "Mutations": muts},
                 ["gaussian", "bernoulli"], 15, False, 42)]
    cohort, _ = data_sim.make_cohort(200, n_radiomic=300, n_genes=2000, rng=1)
    views = {v: cohort[v] for v in ("radiomics", "expression")}
    common = views["radiomics"].index.intersection(views["expression"].index)
    views = {v: df.loc[common] for v, df in views.items()}
    rows.append(case(f"data_sim {len(common)} x (300 + 2000), K = 10", views,
                     ["gaussian", "gaussian"], 10, True, 1))
    return pd.DataFrame(rows)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
