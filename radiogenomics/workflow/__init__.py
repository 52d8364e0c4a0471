"""A radiogenomic study as small, reusable steps.

Each report section is a step module with ``Options`` (a pydantic model: the same object
validates the step's block of a YAML config) and ``run(ctx, opts) -> StepResult``:

============== ======================================== =====================================
step           module                                   what it does
============== ======================================== =====================================
cohort         :mod:`radiogenomics.workflow.cohort`     per-view and per-centre n, overlap
centre_effects :mod:`radiogenomics.workflow.centre`     variance explained by centre
association    :mod:`radiogenomics.workflow.association` imaging x molecular screen (one pair)
transcriptomics :mod:`radiogenomics.workflow.transcriptomics` counts -> filter -> TMM -> voom ->
               limma screen -> gene-set scores (a new view)
cca            :mod:`radiogenomics.workflow.cca`        step-down CCA test, out-of-sample r
images         :mod:`radiogenomics.workflow.images`     phantoms -> pyradiomics -> ComBat
mofa           :mod:`radiogenomics.workflow.mofa`       MOFA+ factors and their associations
prediction     :mod:`radiogenomics.workflow.prediction` elastic net, leave-one-centre-out
survival       :mod:`radiogenomics.workflow.survival`   time-to-event outcome: survival screen,
               penalised Cox risk score (leave-one-centre-out and k-fold) beside a
               clinical Cox model, risk groups, calibration, cox.zph
mr             :mod:`radiogenomics.workflow.mr`         one- and two-sample MR
spatial        :mod:`radiogenomics.workflow.spatial`    imaging map registered to spatial
               transcriptomics sections; genes co-localised under spatial nulls (max-T)
truth          :mod:`radiogenomics.workflow.truth`      estimates beside the simulation's truth
============== ======================================== =====================================

:func:`run_workflow` runs a *plan* (a list of ``(step, options)``) on a Cohort and renders the
report (``report.html``, one self-contained file) and ``results.json`` from the steps'
records.  ``radiogenomics demo`` is "simulate, then the standard plan"
(:func:`radiogenomics.demo.run_demo`); ``radiogenomics run CONFIG.yaml`` is "load the files,
then the plan the config describes" (:func:`radiogenomics.workflow.config.run_config`).  A
notebook can run one step::

    from radiogenomics.workflow import StepContext, run_step
    ctx = StepContext(cohort, out_dir="out", rng=np.random.default_rng(0))
    res = run_step("cca", ctx, {"x": "traits", "y": "modules"})
    res.result, res.fragment, res.record
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import check_rng
from ._base import (Figure, Finding, Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    Table, Text, skipped)

__all__ = ["run_workflow", "run_step", "step_options", "WorkflowResult", "STEPS", "StepContext",
           "StepOptions", "StepResult", "StepRecord", "Fragment", "Finding", "Text", "Table",
           "Figure", "skipped"]

#: step name -> module (in report order)
STEPS = {
    "cohort": "cohort",
    "centre_effects": "centre",
    "association": "association",
    "transcriptomics": "transcriptomics",
    "cca": "cca",
    "images": "images",
    "mofa": "mofa",
    "prediction": "prediction",
    "survival": "survival",
    "mr": "mr",
    "spatial": "spatial",
    "truth": "truth",
}


def _module(step: str):
    if step not in STEPS:
        import difflib

        near = difflib.get_close_matches(step, list(STEPS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise KeyError(f"unknown workflow step {step!r}{hint}; steps: {', '.join(STEPS)}")
    return importlib.import_module(f".{STEPS[step]}", __name__)


def step_options(step: str, opts=None) -> StepOptions:
    """The validated ``Options`` of ``step`` from a dict, an ``Options`` object or None
    (defaults)."""
    cls = _module(step).Options
    if opts is None or opts is True:
        return cls()
    if isinstance(opts, cls):
        return opts
    return cls.model_validate(dict(opts))


def run_step(step: str, ctx: StepContext, opts=None) -> StepResult:
    """Run one step (``opts``: its ``Options``, a dict, or None for the defaults); the result
    is also stored in ``ctx.results`` under ``record.step`` (the step name, or
    ``association:x~y`` for a screen)."""
    if not isinstance(ctx.out_dir, Path):
        ctx.out_dir = Path(ctx.out_dir)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    res = _module(step).run(ctx, step_options(step, opts))
    ctx.results[res.record.step] = res
    return res


@dataclass
class WorkflowResult:
    """A finished run: the steps' results (``steps``, in report order), where the report and
    ``results.json`` are, and the wall time."""

    steps: list[StepResult]
    out_dir: Path
    report: Path | None
    results_json: Path | None
    seconds: float
    meta: dict = field(default_factory=dict)
    cohort: object = None
    truth: object = None

    @property
    def report_path(self) -> Path | None:
        """Alias of ``report``."""
        return self.report

    def get(self, step: str, default=None):
        """The step's :class:`StepResult`, or ``default`` when it is not in the run."""
        try:
            return self[step]
        except KeyError:
            return default

    def __getitem__(self, step: str) -> StepResult:
        for s in self.steps:
            if s.record.step == step:
                return s
        raise KeyError(f"no step {step!r} in this run; steps: "
                       f"{', '.join(s.record.step for s in self.steps)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per step: status, reason, seconds, number of findings."""
        return pd.DataFrame([{"step": s.record.step, "title": s.record.title,
                              "status": s.record.status, "reason": s.record.reason,
                              "seconds": round(s.record.seconds, 2),
                              "findings": len(s.fragment.findings)} for s in self.steps]
                            ).set_index("step")

    def summary(self) -> str:
        ok = sum(s.ok for s in self.steps)
        lines = [f"{ok} of {len(self.steps)} steps ran in {self.seconds:.1f} s; "
                 f"report: {self.report}"]
        for s in self.steps:
            if not s.ok:
                lines.append(f"  {s.record.step}: {s.record.status} ({s.record.reason})")
            for f in s.fragment.findings:
                if f.kind in ("significant", "out-of-sample") or f.ok is False:
                    lines.append(f"  - {f.text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"WorkflowResult({len(self.steps)} steps, {self.seconds:.1f} s, "
                f"report={str(self.report)!r})")


def run_workflow(cohort, plan, out_dir, *, title: str = "radiogenomics report", rng=0,
                 alpha: float = 0.05, n_permutations: int = 1000, n_jobs: int = 2,
                 truth=None, progress: bool | None = None, meta: dict | None = None,
                 render: bool = True) -> WorkflowResult:
    """Run ``plan`` (a list of ``(step, options)``) on ``cohort``; render the report.

    Parameters
    ----------
    cohort : Cohort
    plan : list of (str, Options | dict | None)
        Steps in report order; a step may appear more than once (e.g. two association
        screens).
    out_dir : path
        Receives ``report.html`` (self-contained), the CSV tables, the PNG figures and
        ``results.json``.
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seeds every step (SPEC 7); each step's seed is recorded.
    truth : optional
        The simulation's ground truth (``data_sim``); the ``truth`` and ``images`` steps need it.
    render : bool
        Write the report and ``results.json`` (False: only run the steps).
    """
    from ..plotting import centre_colours

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = check_rng(rng)
    centres = [] if cohort.centre is None else sorted(pd.unique(cohort.centre.astype(str)))
    ctx = StepContext(cohort=cohort, out_dir=out_dir, rng=gen, alpha=alpha,
                      n_permutations=n_permutations, n_jobs=n_jobs, truth=truth,
                      centre_colours=centre_colours(centres), progress=progress)
    steps = []
    import matplotlib

    # the steps' figures stay open until the report renders (and closes) them: a long plan
    # holds more than matplotlib's 20 by design, so its too-many-figures warning is off here
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        for step, opts in plan:
            if progress is not False:
                print(f"[radiogenomics] {step} ...", file=sys.stderr, flush=True)
            steps.append(run_step(step, ctx, opts))
    meta = {"title": title, "seed": rng if isinstance(rng, (int, np.integer)) else None,
            "alpha": alpha, "n_permutations": n_permutations, **(meta or {})}
    report = results_json = None
    seconds = time.perf_counter() - t0
    meta["seconds"] = round(seconds, 2)
    if render:
        from ..report.render import render_report, write_results_json

        report = render_report(title, steps, out_dir, meta=meta, cohort=cohort)
        results_json = write_results_json(steps, out_dir, meta=meta)
    return WorkflowResult(steps, out_dir, report, results_json, time.perf_counter() - t0, meta,
                          cohort=cohort, truth=truth)
