"""The study report: one self-contained ``report.html`` rendered from the workflow steps'
fragments with a Jinja2 template (:mod:`radiogenomics.report.render`), the CSV tables, the PNG
figures and ``results.json`` from the same records; numbers formatted for people
(:mod:`radiogenomics.report.format`).

Writing is atomic per file (write to a temporary name, then rename), so an interrupted run
never leaves a half-written ``report.html`` or CSV behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "render_report", "write_results_json"]

def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def __getattr__(name):
    # render imports atomic_write from here: load it lazily to avoid an import cycle
    if name in ("render_report", "write_results_json"):
        from . import render

        return getattr(render, name)
    raise AttributeError(name)
