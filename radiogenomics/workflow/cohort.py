"""Workflow step ``cohort``: who is in the study, in which centre, with which views.

Reports the number of samples per view and per centre, how many samples each pair of views
shares (every later analysis uses the samples present in all the views it involves), and
every sample or feature the Cohort's validation removed or imputed, with the reason.
"""

from __future__ import annotations

import pandas as pd

from ..report.format import fmt_count
from ._base import Fragment, StepContext, StepOptions, StepRecord, StepResult, timed_step

__all__ = ["Options", "run", "join_words", "plural", "dropped_entries"]

STEP = "cohort"
TITLE = "Cohort"


class Options(StepOptions):
    """The cohort step has no options."""


def join_words(words) -> str:
    """``["a"]`` -> ``"a"``; ``["a", "b"]`` -> ``"a and b"``; ``["a", "b", "c"]`` ->
    ``"a, b and c"``."""
    words = [str(w) for w in words]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plural(n, word: str, many: str | None = None) -> str:
    """``plural(1, "pair")`` -> ``"1 pair"``; ``plural(3000, "pair")`` -> ``"3,000 pairs"``."""
    return f"{fmt_count(n)} {word if int(n) == 1 else (many or word + 's')}"


def dropped_entries(frame: pd.DataFrame, id_col: str, by: list[str]) -> dict:
    """``{what: {"n", "ids", "reason"}}`` for a record's ``*_dropped`` field, one entry per
    group of ``by`` columns of ``frame`` (e.g. view and reason)."""
    out: dict = {}
    if frame is None or not len(frame):
        return out
    for key, grp in frame.groupby(by, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        what = " / ".join(str(k) for k in key)
        reason = str(grp["reason"].iloc[0]) if "reason" in grp else what
        out[what] = {"n": int(len(grp)), "ids": [str(i) for i in grp[id_col]], "reason": reason}
    return out


def _views_table(summ) -> pd.DataFrame:
    v = summ.views
    tab = pd.DataFrame({
        "samples": v["n_samples"].astype(int),
        "features": v["n_features"].astype(int),
        "% of cohort": v["pct_of_cohort"],
        "samples without this view": v["n_missing_samples"].astype(int),
        "features dropped at validation": v["features_dropped"].astype(int),
        "values imputed at validation": v["values_imputed"].astype(int),
    })
    tab.index.name = "view"
    return tab


def _describe(cohort, summ) -> str:
    n = cohort.n_samples
    parts = [f"The cohort has {fmt_count(n)} patients"]
    if cohort.centre is not None:
        per = summ.centres["total"]
        parts.append(f" from {len(per)} centres ("
                     + ", ".join(f"{c}: {fmt_count(k)}" for c, k in per.items()) + ")")
    parts.append(". ")
    views = [f"{name} ({plural(df.shape[0], 'patient')}, {plural(df.shape[1], 'feature')})"
             for name, df in cohort.views.items()]
    parts.append("Views measured: " + join_words(views) + ". ")
    if cohort.covariates is not None:
        parts.append("Covariates: " + join_words(cohort.covariates.columns) + ". ")
    if cohort.outcomes is not None:
        parts.append("Clinical outcomes: " + join_words(cohort.outcomes.columns) + ".")
    return "".join(parts).strip()


def _overlap_sentence(summ) -> str:
    ov = summ.overlap
    names = list(ov.index)
    if len(names) < 2:
        return "Only one view: no pairing between views is needed."
    pairs = [(ov.loc[a, b], a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    lo = min(pairs, key=lambda t: t[0])
    return (f"Every analysis of two or more views uses the patients who have all of them; the "
            f"smallest overlap is {fmt_count(lo[0])} patients ({lo[1]} with {lo[2]}).")


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Per-view and per-centre sample counts, view overlap and validation records.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: the :class:`~radiogenomics.cohort.CohortSummary`.
    """
    from ..plotting import plot_cohort_overview

    opts = opts or Options()
    cohort = ctx.cohort
    summ = cohort.summary()
    frag = Fragment(TITLE)
    frag.methods = (
        "Samples were matched across views by their sample identifiers. Each analysis used "
        "the patients with every view it involves (complete cases per analysis, no imputation "
        "across views); samples or features removed or imputed when the data were validated "
        "(non-finite values, constant features, missing covariates or centre) are listed "
        "with the reason.")
    frag.text(_describe(cohort, summ))
    frag.text(_overlap_sentence(summ))
    frag.table(_views_table(summ), "cohort_views",
               "Per view: patients with the view, features, share of the cohort, and what the "
               "validation removed or imputed.")
    frag.table(summ.centres, "cohort_centres",
               "Patients per centre (rows) with each view (columns); 'total' counts patients "
               "with any view.")
    frag.table(summ.overlap, "cohort_overlap",
               "Patients shared by each pair of views (the diagonal is the size of the view): "
               "the most an analysis of the two views can use.")
    fig = plot_cohort_overview(summ, colours=ctx.centre_colours)
    frag.figure(fig, "cohort_overview",
                "Patients per view, each bar split by centre (one colour per centre, the same "
                "in every figure of this report). Bars of unequal height show views missing "
                "for some patients.")
    val = cohort.report.to_frame()
    if len(val):
        frag.text(f"The validation removed or imputed {fmt_count(len(val))} samples, features "
                  "or values; each is listed in the table below with the reason.")
        frag.table(val, "validation_report", "Every sample, feature or value the validation "
                   "removed or imputed: view, axis (sample or feature), identifier, action and "
                   "reason.", index=False)
    else:
        frag.text("The validation removed or imputed nothing: every view was complete and "
                  "had no constant feature.")
    n_centres = 0 if cohort.centre is None else int(cohort.centre.nunique())
    frag.finding(f"{fmt_count(cohort.n_samples)} patients"
                 + (f" from {n_centres} centres" if n_centres else "") + "; views: "
                 + join_words(f"{k} (n = {fmt_count(v.shape[0])})"
                              for k, v in cohort.views.items()) + ".", "info")
    removed = val[val["action"] == "dropped"] if len(val) else val
    rec = StepRecord(
        STEP, TITLE, params=opts.model_dump(),
        samples_used={k: int(v.shape[0]) for k, v in cohort.views.items()},
        features_used={k: int(v.shape[1]) for k, v in cohort.views.items()},
        samples_dropped=dropped_entries(removed[removed["axis"] == "sample"], "id",
                                        ["view", "reason"]),
        features_dropped=dropped_entries(removed[removed["axis"] == "feature"], "id",
                                         ["view", "reason"]),
        numbers={"n_samples": int(cohort.n_samples), "n_centres": n_centres,
                 "samples_per_centre": {str(k): int(v) for k, v in
                                        summ.centres["total"].items()},
                 "overlap": {a: {b: int(summ.overlap.loc[a, b]) for b in summ.overlap.columns}
                             for a in summ.overlap.index},
                 "validation_records": int(len(val))})
    return StepResult(summ, frag, rec)
