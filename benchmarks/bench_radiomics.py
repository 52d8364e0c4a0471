"""Radiomic extraction throughput: ``extract(n_jobs=2)`` beside pyradiomics' own batch command.

Cases are distinct synthetic cardiac short-axis phantoms (``data_sim.make_phantoms``: 80 x 80 x
8 voxels, myocardium label 2), extracted with pyradiomics' default settings (original image,
all default feature classes), at several batch sizes (default 8, 40 and 120 cases).  For each
size, cases per second of:
- ``radiogenomics.radiomics.extract(manifest, labels=2, n_jobs=2)`` (one case per task);
- ``pyradiomics batch.csv --jobs 2`` (pyradiomics' command line, same cases, same settings).
Target: no slower than pyradiomics' batch mode.
Usage: ``python benchmarks/bench_radiomics.py [N ...]``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from data_sim import make_phantoms
from radiogenomics.radiomics import extract

SIZES = (8, 40, 120)


def run(n: int, tmp: Path) -> dict:
    ph = make_phantoms(tmp / f"n{n}", n_samples=n, rng=n)
    manifest = ph.manifest[["sample_id", "image", "mask"]]
    t0 = time.perf_counter()
    res = extract(manifest, labels=2, n_jobs=2, progress=False)
    t_ours = time.perf_counter() - t0
    assert len(res.errors) == 0, res.errors
    batch = tmp / f"batch{n}.csv"
    # the label goes in the batch file's Label column: pyradiomics 3.0.1's deprecated --label
    # option is not applied with --jobs > 1 (its workers extract label 1)
    pd.DataFrame({"Image": manifest["image"], "Mask": manifest["mask"], "Label": 2}).to_csv(
        batch, index=False)
    exe = shutil.which("pyradiomics") or str(Path(sys.executable).parent / "pyradiomics")
    t0 = time.perf_counter()
    subprocess.run([exe, str(batch), "--jobs", "2", "-o", str(tmp / f"out{n}.csv"), "-f", "csv"],
                   check=True, capture_output=True)
    t_pyr = time.perf_counter() - t0
    ref = pd.read_csv(tmp / f"out{n}.csv")
    ref.index = ref["Image"].map(dict(zip(manifest["image"], manifest["sample_id"])))
    cols = [c for c in res.features.columns if c in ref.columns]
    a = res.features[cols].to_numpy()
    b = ref.loc[res.features.index, cols].to_numpy().astype(float)
    diff = (a - b) / np.maximum(np.abs(b), 1e-12)
    return {"cases": n, "features": res.features.shape[1], "ours_s": t_ours, "pyradiomics_s": t_pyr,
            "ours_cases_per_s": n / t_ours, "pyradiomics_cases_per_s": n / t_pyr,
            "ratio": t_pyr / t_ours, "max_rel_diff": float(np.abs(diff).max())}


def main(sizes=SIZES):
    tmp = Path(tempfile.mkdtemp())
    rows = []
    try:
        for n in sizes:
            r = run(n, tmp)
            rows.append(r)
            print(f"{n:4d} phantoms  extract(n_jobs=2) {r['ours_s']:6.2f} s "
                  f"{r['ours_cases_per_s']:5.2f} cases/s | pyradiomics --jobs 2 "
                  f"{r['pyradiomics_s']:6.2f} s {r['pyradiomics_cases_per_s']:5.2f} cases/s | "
                  f"ratio {r['ratio']:4.2f}x | same values: max rel. diff {r['max_rel_diff']:.1e}",
                  flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main([int(a) for a in sys.argv[1:]] or SIZES)
