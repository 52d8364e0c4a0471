"""examples/tour.py (the README's API tour) runs top to bottom as a user would run it, and
the README shows it verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.py"


def test_tour_runs_as_a_script(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(TOUR)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    assert "population canonical correlations: [0.8 0.6]" in out
    # the own-data Cohort built from examples/example_data (120 patients, RNA-seq for 102)
    assert re.search(r"^expression\s+102\s+300\s", out, re.M)
    n_sig = int(re.search(r"max-T significant pairs: (\d+)", out).group(1))
    assert n_sig > 0
    b = float(re.search(r"two-sample IVW estimate (\S+) \(SE", out).group(1))
    assert abs(b - 0.3) < 0.1                          # the simulated causal effect is 0.3
    assert "Out-of-sample canonical correlation (leave-one-group-out)" in out
    assert re.search(r"MOFA\+ model \(mofapy2\): 90 samples", out)
    assert "Prediction of modules from radiomics (leave-one-centre-out): 2 targets" in out
    assert re.search(r"4 cells x 20 replicates \(4 cells computed, 0 loaded; .* on 2 workers\)",
                     out)
    assert re.search(r"Sample size for power 0.8: required n = \d+", out)
    for f in ("volcano.png", "null_max.png", "cca_scree.png", "mofa_model.hdf5", "cohort.h5mu",
              "power_store/study.json"):
        assert (tmp_path / f).is_file(), f
    # no warning the user cannot act on, and no Dask start-up crash
    assert "Nanny failed" not in proc.stderr
    assert "IProgress" not in proc.stderr


def test_readme_shows_the_tour_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    tour = TOUR.read_text(encoding="utf-8")
    body = tour[tour.index("from pathlib import Path"):]      # the code after the docstring
    assert any(b == body for b in blocks), ("README.md's tour block differs from "
                                            "examples/tour.py; paste the file's code in")


COUNTS = ROOT / "examples" / "counts_to_modules.py"


def test_counts_example_runs_and_is_in_the_readme(tmp_path):
    proc = subprocess.run([sys.executable, str(COUNTS)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert int(re.search(r"max-T significant genes: (\d+)", proc.stdout).group(1)) > 0
    assert re.search(r"IMAGING_UP\s+\d+\s+\d+\s+1\.0", proc.stdout)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    text = COUNTS.read_text(encoding="utf-8")
    assert text[text.index("import data_sim"):] in blocks
