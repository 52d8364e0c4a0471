"""run_study from a plain script.  Dask's worker processes start with ``spawn``, which
normally imports the main script again in every worker: an unguarded script then crashed
with "Nanny failed to start", and a guarded one repeated its top-level work in each worker.
run_study starts its workers with the main script hidden (as in Jupyter), so neither happens;
a worker start failure that remains is explained."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from radiogenomics import power
from radiogenomics.power import PowerError, run_study
from radiogenomics.studies import mr_power

HEAD = ("from radiogenomics.power import run_study\n"
        "from radiogenomics.studies import mr_power\n"
        "print('top level ran', flush=True)\n")


def study(analysis: str = "mr_power", extra: str = "") -> str:
    """A tiny study call (two replicates, about a second)."""
    return (f'run_study({analysis}, {{"n": [400], "causal_effect": [0.0]}}, n_replicates=4, '
            f'rng=1, n_workers=2{extra})')


def _run(tmp_path, body: str, timeout=120):
    script = tmp_path / "study.py"
    script.write_text(HEAD + textwrap.dedent(body))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_unguarded_script_runs_on_worker_processes_once(tmp_path):
    proc = _run(tmp_path, f"res = {study()}\n"
                          "print('workers', res.n_workers, 'rows', len(res.replicates))\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nanny" not in proc.stderr
    assert "workers 2 rows 4" in proc.stdout           # two worker processes did the work
    assert proc.stdout.count("top level ran") == 1     # ... without re-running the script


def test_analysis_defined_in_the_script_reaches_the_workers(tmp_path):
    body = f"""
        OFFSET = 0.5                                   # a script global, pickled by value

        def my_analysis(params, rng):
            return {{"reject": float(rng.random() < OFFSET), "n_seen": params["n"]}}

        res = {study("my_analysis")}
        print("mean n", res.table["mean_n_seen"].iloc[0])
        """
    proc = _run(tmp_path, body)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mean n 400.0" in proc.stdout
    assert proc.stdout.count("top level ran") == 1


def test_guarded_script_and_module_entry_point_still_work(tmp_path):
    body = f"""
        if __name__ == "__main__":
            res = {study()}
            print("rows", len(res.replicates))
        """
    proc = _run(tmp_path, body)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rows 4" in proc.stdout and proc.stdout.count("top level ran") == 1
    # python -m study: spawn would re-import the module by name; it is hidden too
    mod = subprocess.run([sys.executable, "-m", "study"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert mod.returncode == 0, mod.stderr[-3000:]
    assert "rows 4" in mod.stdout and mod.stdout.count("top level ran") == 1


def test_main_module_is_restored_after_the_workers_start():
    main = sys.modules["__main__"]
    before = {k: vars(main).get(k, "absent") for k in ("__file__", "__spec__")}
    with power._main_script_hidden():
        assert getattr(main, "__file__", None) is None and main.__spec__ is None
    assert {k: vars(main).get(k, "absent") for k in ("__file__", "__spec__")} == before


def test_worker_start_failure_is_explained(monkeypatch):
    import distributed

    def failing(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", failing)
    with pytest.raises(PowerError, match=r"could not start its worker processes \(Nanny failed "
                                         r"to start.\).*processes=False"):
        run_study(mr_power, {"n": [400], "causal_effect": [0.0]}, n_replicates=2, rng=1)
