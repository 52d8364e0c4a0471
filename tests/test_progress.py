"""Progress bars: tqdm.auto (a notebook widget in Jupyter) only when ipywidgets is installed,
else the plain text bar, so notebooks never print tqdm's "IProgress not found" warning."""

from __future__ import annotations

import importlib.util
import io
import warnings

import tqdm.auto
import tqdm.std

from radiogenomics import _progress


def test_plain_bar_without_ipywidgets(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    assert _progress.tqdm_class() is tqdm.std.tqdm
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # any tqdm warning fails the test
        assert list(_progress.progress(range(3), file=out, desc="x", mininterval=0)) == [0, 1, 2]
    assert "3/3" in out.getvalue()


def test_auto_bar_with_ipywidgets(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "ipywidgets" else real(name, *a))
    assert _progress.tqdm_class() is tqdm.auto.tqdm


def test_no_module_imports_tqdm_auto_directly():
    from pathlib import Path

    import radiogenomics

    root = Path(radiogenomics.__file__).parent
    hits = [str(p.relative_to(root)) for p in root.rglob("*.py")
            if p.name != "_progress.py" and "tqdm.auto" in p.read_text(encoding="utf-8")]
    assert hits == [], f"use radiogenomics._progress.progress instead of tqdm.auto in {hits}"
