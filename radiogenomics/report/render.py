"""The workflow's report: one self-contained ``report.html`` rendered from a Jinja2 template,
plus the CSV tables, the PNG figures and ``results.json``, all from the steps' records.

Layout: the title and run facts; a one-screen summary of findings (significant results with
their correction, out-of-sample numbers, failed checks, skipped steps with their reasons); a
methods section (each step's paragraph, software versions, numbered references); then one
section per step (text, tables, figures with numbered captions).  Figures are embedded as
base64 PNG and also written next to the report; every table is written in full to
``<name>.csv`` and linked.  Tables are sortable and searchable by a small embedded script
(no network access needed).
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic_write
from .format import fmt_count, fmt_num, fmt_p

__all__ = ["render_report", "write_results_json", "format_cell", "is_p_column"]

_TEMPLATES = Path(__file__).with_name("templates")
#: packages whose versions every report lists (steps add their own)
_CORE = ("radiogenomics", "numpy", "scipy", "pandas", "statsmodels", "scikit-learn",
         "matplotlib", "Jinja2")
_SECTION_KINDS = (("significant", "Significant after correction"),
                  ("out-of-sample", "Out-of-sample performance"),
                  ("null", "Tested, nothing passed the correction"),
                  ("check", "Checks"), ("info", "Other findings"))

_P_COL = re.compile(r"^(p|q|pval|qval|pvalue|qvalue|fdr|p_fwer|fwer)$|(^|_)(p|q|pval|qval|"
                    r"pvalue|qvalue|fdr|fwer)($|_)|^p[_.]|[_.]p$", re.I)


def is_p_column(name) -> bool:
    """Whether a column holds p- or q-values (``p``, ``q``, ``pval``, ``p_fwer``,
    ``p_permutation``, ``q_bh``, ``egger_p`` ...), formatted by :func:`fmt_p`."""
    return bool(_P_COL.search(str(name)))


def format_cell(value, column="") -> tuple[str, float | None]:
    """A table cell for people and its numeric sort key: p/q columns via :func:`fmt_p`
    (0 -> ``"< 1e-300"``), integer-valued numbers as counts with separators, other numbers
    to 4 significant digits, missing values as ``"NA"``."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "NA", None
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), float(value)
    if isinstance(value, (int, np.integer, float, np.floating)) and is_p_column(column):
        return fmt_p(value), float(value)
    if isinstance(value, (int, np.integer)):
        return fmt_count(value), float(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return ("inf" if v > 0 else "-inf"), v
        if v.is_integer() and abs(v) < 1e15:
            return fmt_count(v), v
        return fmt_num(v, 4), v
    if value is pd.NA or value is pd.NaT:
        return "NA", None
    return str(value), None


# ----------------------------------------------------------------------------- view model

def _cite_key(text: str):
    """``("winkler", "2014")`` from "Winkler AM, Ridgway GR, ... (2014) ..."; None when the
    text has no leading surname and year in parentheses."""
    m = re.match(r"\s*([A-Za-z][A-Za-z' -]*?)[ ,].*?\((\d{4})[a-z]?\)", text)
    return (m.group(1).strip().lower(), m.group(2)) if m else None


@dataclass
class _Ref:
    """Numbered references and figures/tables, shared across the report."""

    citations: list = field(default_factory=list)
    n_figures: int = 0
    n_tables: int = 0
    names: set = field(default_factory=set)

    def cite(self, text: str) -> int:
        """The number of a reference; steps word the same paper differently, so one paper
        is recognised by its first author's surname and year."""
        key = _cite_key(text)
        for i, c in enumerate(self.citations):
            if c == text or (key is not None and _cite_key(c) == key):
                return i + 1
        self.citations.append(text)
        return len(self.citations)

    def file_name(self, name: str, suffix: str) -> str:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "item"
        stem = stem[: -len(suffix)] if stem.lower().endswith(suffix) else stem
        cand, k = stem, 2
        while cand + suffix in self.names:
            cand, k = f"{stem}_{k}", k + 1
        self.names.add(cand + suffix)
        return cand + suffix


def _table_view(tab, out_dir: Path, refs: _Ref) -> dict:
    df = tab.df.reset_index() if tab.index else tab.df
    if tab.index and list(df.columns[:1]) == ["index"] and tab.df.index.name is None:
        df = df.rename(columns={"index": ""})
    csv = refs.file_name(tab.name, ".csv")
    atomic_write(out_dir / csv, lambda p: tab.df.to_csv(p, index=tab.index))
    shown = df.head(max(int(tab.max_rows), 0))
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        rows.append([dict(zip(("text", "key"), format_cell(v, c)))
                     for v, c in zip(rec, shown.columns)])
    refs.n_tables += 1
    return {"type": "table", "number": refs.n_tables, "caption": tab.caption, "csv": csv,
            "columns": [str(c) for c in df.columns], "rows": rows,
            "n_rows": fmt_count(len(df)), "truncated": len(df) > len(shown),
            "n_shown": fmt_count(len(shown)), "search": len(shown) > 10}


def _figure_view(figb, out_dir: Path, refs: _Ref, dpi: int) -> dict:
    import matplotlib.pyplot as plt

    png = refs.file_name(figb.name, ".png")
    buf = io.BytesIO()
    figb.fig.savefig(buf, format="png", dpi=dpi)
    plt.close(figb.fig)
    data = buf.getvalue()
    atomic_write(out_dir / png, lambda p: p.write_bytes(data))
    refs.n_figures += 1
    return {"type": "figure", "number": refs.n_figures, "caption": figb.caption, "png": png,
            "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii")}


def _anchor(step: str, used: set) -> str:
    a = "sec-" + (re.sub(r"[^A-Za-z0-9]+", "-", step).strip("-").lower() or "step")
    cand, k = a, 2
    while cand in used:
        cand, k = f"{a}-{k}", k + 1
    used.add(cand)
    return cand


def _provenance(rec) -> str:
    parts = []
    if rec.samples_used:
        parts.append("samples used: " + ", ".join(f"{k} {fmt_count(v)}" if isinstance(
            v, (int, float, np.integer, np.floating)) else f"{k} {v}"
            for k, v in rec.samples_used.items()))
    for what, d in {**rec.samples_dropped, **rec.features_dropped}.items():
        if isinstance(d, dict):
            n = d.get("n", len(d.get("ids", []) or []))
            parts.append(f"{what}: {fmt_count(n)} dropped ({d.get('reason', 'no reason given')})")
        else:
            parts.append(f"{what}: {d}")
    if rec.seed is not None:
        parts.append(f"seed {rec.seed}")
    parts.append(f"{fmt_num(rec.seconds, 2)} s")
    return "; ".join(parts) + "."


def _section_view(res, refs: _Ref, out_dir: Path, used: set, dpi: int) -> dict:
    frag, rec = res.fragment, res.record
    blocks = []
    for b in frag.blocks:
        kind = type(b).__name__
        if kind == "Text":
            blocks.append({"type": "text", "text": b.text, "note": b.note})
        elif kind == "Table":
            blocks.append(_table_view(b, out_dir, refs))
        elif kind == "Figure":
            blocks.append(_figure_view(b, out_dir, refs, dpi))
        else:
            raise TypeError(f"step {rec.step!r}: a report block must be Text, Table or Figure, "
                            f"got {kind}; add blocks with fragment.text/table/figure")
    nums = [refs.cite(c) for c in frag.citations]
    return {"anchor": _anchor(rec.step, used), "title": frag.title or rec.title,
            "step": rec.step, "status": rec.status,
            "reason": frag.skipped or rec.reason, "methods": frag.methods,
            "cites": ", ".join(map(str, nums)), "blocks": blocks, "warnings": rec.warnings,
            "provenance": _provenance(rec) if rec.status == "ok" else ""}


def _summary(steps, sections) -> dict:
    groups = {k: [] for k, _ in _SECTION_KINDS}
    n_checks_ok = 0
    for res, sec in zip(steps, sections):
        for f in res.fragment.findings:
            if f.kind == "check" and f.ok is not False:
                n_checks_ok += 1
            item = {"text": f.text, "anchor": sec["anchor"], "title": sec["title"],
                    "ok": f.ok}
            groups.setdefault(f.kind, []).append(item)
    checks = groups["check"]
    groups["check"] = [c for c in checks if c["ok"] is False] + [c for c in checks
                                                               if c["ok"] is not False]
    not_run = [{"title": s["title"], "anchor": s["anchor"], "status": s["status"],
                "reason": s["reason"] or "no reason recorded"}
               for s in sections if s["status"] != "ok"]
    return {"groups": [(label, groups[k], k) for k, label in _SECTION_KINDS if groups[k]],
            "n_failed": sum(c["ok"] is False for c in checks), "n_checks_ok": n_checks_ok,
            "not_run": not_run}


def _versions(steps) -> dict:
    from ..workflow._base import package_versions

    out = package_versions(*_CORE)
    for s in steps:
        out.update({k: v for k, v in s.record.versions.items() if v != "not installed"
                    or k not in out})
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def _run_facts(meta: dict, cohort) -> list[str]:
    from .. import __version__

    facts = [f"radiogenomics {__version__}",
             _dt.datetime.now().strftime("created %Y-%m-%d %H:%M")]
    if meta.get("seed") is not None:
        facts.append(f"seed {meta['seed']}")
    if meta.get("alpha") is not None:
        facts.append(f"alpha {float(meta['alpha']):g}")
    if meta.get("n_permutations"):
        facts.append(f"{fmt_count(meta['n_permutations'])} permutations by default")
    if meta.get("seconds") is not None:
        facts.append(f"run time {fmt_num(float(meta['seconds']), 3)} s")
    if cohort is not None:
        n_c = 0 if getattr(cohort, "centre", None) is None else cohort.centre.nunique()
        views = ", ".join(f"{k} ({fmt_count(v.shape[0])} x {fmt_count(v.shape[1])})"
                          for k, v in getattr(cohort, "views", {}).items())
        facts.append(f"cohort: {fmt_count(getattr(cohort, 'n_samples', 0))} samples, "
                     f"{fmt_count(n_c)} centres; views {views}")
    return facts


# ----------------------------------------------------------------------------- public

def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_report(title: str, steps, out_dir, meta: dict | None = None, cohort=None, *,
                  name: str = "report.html", dpi: int = 120) -> Path:
    """Write the report of ``steps`` (a list of :class:`~radiogenomics.workflow.StepResult`)
    to ``out_dir/name``: one self-contained HTML file (figures embedded), plus every table as
    ``<name>.csv`` and every figure as ``<name>.png`` beside it.

    Parameters
    ----------
    title : str
        The report's heading.
    steps : list of StepResult
        In report order; skipped steps appear in the summary with their reasons.
    out_dir : path
        Created if absent.
    meta : dict, optional
        Run facts shown under the title (``seed``, ``alpha``, ``n_permutations``,
        ``seconds``; other keys are ignored here and go to ``results.json``).
    cohort : Cohort, optional
        Adds a line on the samples, centres and views.

    Returns
    -------
    Path of the written HTML file.  The figures are closed after they are written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = list(steps)
    bad = [type(s).__name__ for s in steps if not hasattr(s, "fragment")]
    if bad:
        raise TypeError(f"render_report needs StepResult objects (from a workflow step); got "
                        f"{', '.join(sorted(set(bad)))}")
    refs, used = _Ref(names={name, "results.json"}), set()
    sections = [_section_view(s, refs, out_dir, used, dpi) for s in steps]
    meta = dict(meta or {})
    html = _environment().get_template("report.html.j2").render(
        title=title, facts=_run_facts(meta, cohort), summary=_summary(steps, sections),
        sections=sections, references=refs.citations, versions=_versions(steps),
        python=platform.python_version())
    return atomic_write(out_dir / name, lambda p: p.write_text(html, encoding="utf-8"))


def write_results_json(steps, out_dir, meta: dict | None = None,
                       name: str = "results.json") -> Path:
    """Write ``results.json``: ``meta`` (the run facts plus Python and package versions and
    the creation time), ``steps`` (every :class:`StepRecord`) and ``findings`` (the summary's
    lines with their step and kind)."""
    from ..workflow._base import _jsonable

    steps = list(steps)
    meta = {**dict(meta or {}), "python": platform.python_version(),
            "python_full": sys.version, "platform": platform.platform(),
            "versions": _versions(steps),
            "created": _dt.datetime.now().isoformat(timespec="seconds")}
    doc = {"meta": meta, "steps": [s.record.to_dict() for s in steps],
           "findings": [{"step": s.record.step, "kind": f.kind, "ok": f.ok, "text": f.text}
                        for s in steps for f in s.fragment.findings]}
    text = json.dumps(_jsonable(doc), indent=2, allow_nan=False)
    return atomic_write(Path(out_dir) / name, lambda p: p.write_text(text, encoding="utf-8"))
