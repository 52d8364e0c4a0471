"""Radiomic extraction throughput: ``extract(n_jobs=2)`` beside pyradiomics' own batch command.

Eight cases (the synthetic short-axis cardiac volume of ``tests/data/radiomics``, myocardium
label, pyradiomics default settings), cases per second for:
- ``radiogenomics.radiomics.extract(manifest, labels=2, n_jobs=2)`` (one case per task);
- ``pyradiomics batch.csv --jobs 2`` (pyradiomics' command line, same cases, same settings).
Target: no slower than pyradiomics' batch mode.  Usage: ``python benchmarks/bench_radiomics.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from radiogenomics.radiomics import extract

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "radiomics"
N_CASES = 8


def main():
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for i in range(N_CASES):  # distinct files so no tool can share work between cases
        img, msk = tmp / f"case{i}_image.nrrd", tmp / f"case{i}_label.nrrd"
        shutil.copy(DATA / "cardiac_000_image.nrrd", img)
        shutil.copy(DATA / "cardiac_000_label.nrrd", msk)
        rows.append({"sample_id": f"case{i}", "image": str(img), "mask": str(msk)})
    manifest = pd.DataFrame(rows)
    t0 = time.perf_counter()
    res = extract(manifest, labels=2, n_jobs=2, progress=False)
    t_ours = time.perf_counter() - t0
    assert len(res.errors) == 0, res.errors
    batch = tmp / "batch.csv"
    pd.DataFrame({"Image": manifest["image"], "Mask": manifest["mask"]}).to_csv(batch, index=False)
    exe = shutil.which("pyradiomics") or str(Path(sys.executable).parent / "pyradiomics")
    t0 = time.perf_counter()
    subprocess.run([exe, str(batch), "--jobs", "2", "--label", "2", "-o", str(tmp / "out.csv"),
                    "-f", "csv"], check=True, capture_output=True)
    t_pyr = time.perf_counter() - t0
    print(f"{N_CASES} cardiac cases, myocardium, default settings, 2 cores")
    print(f"extract(n_jobs=2)            {t_ours:6.2f} s  {N_CASES / t_ours:5.2f} cases/s")
    print(f"pyradiomics batch --jobs 2   {t_pyr:6.2f} s  {N_CASES / t_pyr:5.2f} cases/s   "
          f"ratio {t_pyr / t_ours:4.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
