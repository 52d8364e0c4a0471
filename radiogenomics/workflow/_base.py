"""The pieces every workflow step shares: its context, its report fragment and its record.

A step is a function ``run(ctx: StepContext, opts: <Step>Options) -> StepResult``:

* ``ctx`` carries the Cohort, the output folder, the seeded Generator, the study-wide
  settings (alpha, permutations, workers), the centre colours every figure uses, and the
  results of the steps that ran before (the ground-truth step reads them);
* ``opts`` is the step's own options object (a pydantic model declared in the step's module;
  the same model validates the step's block of a YAML config);
* the :class:`StepResult` holds the analysis result object(s), the report
  :class:`Fragment` (methods paragraph, findings, text / tables / figures with captions) and
  the :class:`StepRecord` (parameters, versions, seed, seconds, samples and features used and
  dropped, key numbers): the HTML report and ``results.json`` are both rendered from it.

A step whose inputs are absent returns :func:`skipped` (a record with the reason, a fragment
saying so); nothing else is silently left out.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

__all__ = ["StepOptions", "StepContext", "StepResult", "StepRecord", "Fragment", "Finding",
           "Text", "Table", "Figure", "skipped", "timed_step", "package_versions"]


class StepOptions(BaseModel):
    """Base of every step's options: unknown keys are errors, values are type-checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True,
                              arbitrary_types_allowed=True)


# ------------------------------------------------------------------------- report blocks

@dataclass
class Text:
    """A paragraph of prose (plain text; the renderer escapes it)."""

    text: str
    note: bool = False


@dataclass
class Table:
    """A table shown in the report (first ``max_rows`` rows, sortable and searchable) and
    written in full to ``<name>.csv``.  ``caption`` says what the rows are and how to read
    the columns."""

    df: pd.DataFrame
    name: str
    caption: str
    max_rows: int = 25
    index: bool = True


@dataclass
class Figure:
    """A matplotlib figure, embedded in the report and written to ``<name>.png``.  The caption
    is required: what the figure shows and how to read it."""

    fig: Any
    name: str
    caption: str

    def __post_init__(self):
        if not self.caption or not self.caption.strip():
            raise ValueError(f"figure {self.name!r} needs a caption")


@dataclass
class Finding:
    """One line of the report's opening summary.

    ``kind``: ``"significant"`` (a result that passed its correction; say which), ``"null"``
    (tested, nothing passed), ``"out-of-sample"`` (a validated / cross-validated figure),
    ``"check"`` (a sanity or ground-truth check; ``ok`` says whether it passed), ``"info"``."""

    text: str
    kind: Literal["significant", "null", "out-of-sample", "check", "info"] = "info"
    ok: bool | None = None


@dataclass
class Fragment:
    """A step's part of the report."""

    title: str
    methods: str = ""                       # a paragraph for a paper's methods section
    citations: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    blocks: list[Text | Table | Figure] = field(default_factory=list)
    skipped: str | None = None              # reason, when the step did not run

    def text(self, text: str, note: bool = False) -> None:
        self.blocks.append(Text(text, note))

    def table(self, df: pd.DataFrame, name: str, caption: str, max_rows: int = 25,
              index: bool = True) -> None:
        self.blocks.append(Table(df, name, caption, max_rows, index))

    def figure(self, fig, name: str, caption: str) -> None:
        self.blocks.append(Figure(fig, name, caption))

    def finding(self, text: str, kind: str = "info", ok: bool | None = None) -> None:
        self.findings.append(Finding(text, kind, ok))


# ------------------------------------------------------------------------- record

def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` where absent)."""
    from importlib import metadata

    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, pd.Index, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if np.isfinite(f) else str(f)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, BaseModel):
        return _jsonable(v.model_dump())
    if isinstance(v, Path):
        return str(v)
    if v is None or isinstance(v, (str, int, bool)):
        return v
    return str(v)


@dataclass
class StepRecord:
    """What a step did, for ``results.json`` and the report's methods and provenance.

    ``samples_used`` / ``features_used``: counts per view (or per analysis); ``samples_dropped``
    / ``features_dropped``: ``{what: {"n": k, "ids": [...], "reason": "..."}}``; ``numbers``:
    the step's key results, machine-readable (e.g. ``{"n_fwer": 12, "r1_cv": 0.41}``)."""

    step: str
    title: str
    status: Literal["ok", "skipped", "failed"] = "ok"
    reason: str = ""
    params: dict = field(default_factory=dict)
    seed: int | None = None
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)
    samples_used: dict = field(default_factory=dict)
    samples_dropped: dict = field(default_factory=dict)
    features_used: dict = field(default_factory=dict)
    features_dropped: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))


@dataclass
class StepResult:
    """A step's output: the analysis result (any object, or a dict of them), the report
    fragment and the record."""

    result: Any
    fragment: Fragment
    record: StepRecord

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"

    def __repr__(self) -> str:
        r = self.record
        extra = f": {r.reason}" if r.reason else ""
        return f"<StepResult {r.step} {r.status}{extra}, {r.seconds:.1f} s>"


def skipped(step: str, title: str, reason: str, opts: StepOptions | None = None) -> StepResult:
    """The result of a step that could not run here (absent views, no centre, ...)."""
    rec = StepRecord(step, title, status="skipped", reason=reason,
                     params={} if opts is None else opts.model_dump())
    return StepResult(None, Fragment(title, skipped=reason), rec)


# ------------------------------------------------------------------------- context

@dataclass
class StepContext:
    """Shared state of a workflow run.

    ``rng`` is the run's Generator; each step draws its own seed from it with :meth:`seed`
    (recorded), so a step run alone with the same seed gives the same answer as in the full
    run only when it is the first to draw; ``results`` maps step names to earlier
    :class:`StepResult` objects."""

    cohort: Any
    out_dir: Path
    rng: np.random.Generator
    alpha: float = 0.05
    n_permutations: int = 1000
    n_jobs: int = 2
    truth: Any = None
    centre_colours: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    progress: bool | None = None

    def seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def perm(self, n_permutations: int | None = None) -> dict:
        """Keyword arguments of :func:`radiogenomics.associate` for permutation inference:
        within centres (covariate slopes per centre) when the Cohort has a centre."""
        b = self.n_permutations if n_permutations is None else int(n_permutations)
        within = bool(b) and self.cohort.centre is not None
        return dict(n_permutations=b, rng=self.rng, fdr_on="parametric",
                    exchangeability_blocks="centre" if within else None,
                    covariates_by_block=within)


def timed_step(fn):
    """Decorator for a step's ``run``: fills ``record.seconds`` and the versions of numpy,
    scipy, pandas and radiogenomics (a step adds its own packages to ``record.versions``)."""
    import functools

    @functools.wraps(fn)
    def run(ctx: StepContext, opts: StepOptions | None = None, **kw) -> StepResult:
        t0 = time.perf_counter()
        out = fn(ctx, opts, **kw)
        out.record.seconds = time.perf_counter() - t0
        base = package_versions("radiogenomics", "numpy", "scipy", "pandas")
        out.record.versions = {**base, **out.record.versions}
        return out

    return run
