"""A small self-contained HTML report: headings, text, tables (also written as CSV), PNG plots.

Writing is atomic per file (write to a temporary name, then rename), so an interrupted run
never leaves a half-written ``report.html`` or CSV behind.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["HTMLReport", "atomic_write"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
     color:#222;line-height:1.45;padding:0 1em}
h1{border-bottom:2px solid #446;padding-bottom:.2em} h2{margin-top:1.8em;color:#335}
table{border-collapse:collapse;font-size:13px;margin:.6em 0} th,td{border:1px solid #ccc;padding:3px 7px}
th{background:#eef} td{text-align:right} .note{color:#555;font-size:13px}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0} code{background:#f4f4f4;padding:0 3px}
"""


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


class HTMLReport:
    """Collects sections and writes ``report.html`` plus CSV tables and PNG figures to a folder."""

    def __init__(self, out_dir: str | Path, title: str) -> None:
        self.out_dir = Path(out_dir)
        self.title = title
        self._parts: list[str] = []
        self.files: list[Path] = []
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def heading(self, text: str, level: int = 2) -> None:
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def text(self, text: str, note: bool = False) -> None:
        cls = ' class="note"' if note else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def preformatted(self, text: str) -> None:
        self._parts.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, df: pd.DataFrame, csv_name: str | None = None, max_rows: int = 30,
              float_format: str = "{:.4g}", index: bool = True) -> None:
        """Show up to ``max_rows`` rows; write the whole table to ``csv_name`` if given."""
        if csv_name:
            path = self.out_dir / csv_name
            atomic_write(path, lambda p: df.to_csv(p, index=index))
            self.files.append(path)
        shown = df.head(max_rows)
        body = shown.to_html(index=index, float_format=lambda v: float_format.format(v), border=0)
        extra = ""
        if csv_name:
            more = f"first {len(shown)} of {len(df)} rows; " if len(df) > len(shown) else ""
            extra = (f'<p class="note">{more}full table: <a href="{html.escape(csv_name)}">'
                     f"{html.escape(csv_name)}</a></p>")
        self._parts.append(body + extra)

    def csv(self, df: pd.DataFrame, csv_name: str, index: bool = False) -> Path:
        """Write a table as CSV only (not shown in the page)."""
        path = atomic_write(self.out_dir / csv_name, lambda p: df.to_csv(p, index=index))
        self.files.append(path)
        return path

    def figure(self, fig, png_name: str, caption: str | None = None, dpi: int = 110) -> None:
        import matplotlib.pyplot as plt

        path = self.out_dir / png_name
        atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
        plt.close(fig)
        self.files.append(path)
        cap = f'<p class="note">{html.escape(caption)}</p>' if caption else ""
        self._parts.append(f'<img src="{html.escape(png_name)}" alt="{html.escape(png_name)}">{cap}')

    def write(self, name: str = "report.html") -> Path:
        from .. import __version__

        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        doc = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            f'<p class="note">radiogenomics {__version__}, {stamp}</p>'
            + "\n".join(self._parts)
            + "</body></html>"
        )
        path = self.out_dir / name
        atomic_write(path, lambda p: p.write_text(doc, encoding="utf-8"))
        self.files.append(path)
        return path
