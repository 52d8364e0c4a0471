"""Shape of the workflow layer (issue 15): demo.py is a thin "simulate + standard plan", every
workflow function is short enough to read in one sitting, and every step has Options + run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "radiogenomics"


def _functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_demo_is_thin_and_workflow_functions_are_short():
    assert len((ROOT / "demo.py").read_text().splitlines()) < 200
    long = [(p.name, name, n) for p in sorted((ROOT / "workflow").glob("*.py"))
            for name, n in _functions(p) if n > 80]
    assert long == [], long


def test_every_step_has_options_and_run():
    import importlib

    from radiogenomics.workflow import STEPS, StepOptions

    for step, module in STEPS.items():
        mod = importlib.import_module(f"radiogenomics.workflow.{module}")
        assert issubclass(mod.Options, StepOptions), step
        assert callable(mod.run), step


def test_readme_workflow_snippet_runs(tmp_path, monkeypatch):
    """The README's workflow-layer block, executed as written (in a temporary folder)."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    readme = (ROOT.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    code = next(b for b in blocks if "from radiogenomics.workflow import StepContext" in b)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["res"].ok and set(ns["res"].result) == {"test", "cross_validated"}
    assert (tmp_path / "out" / "report.html").exists() and ns["run"].report.exists()
