"""Workflow step ``truth`` (demo only): the estimates of the earlier steps beside the
simulation's ground truth (``data_sim``).

It reads ``ctx.results``: the association screens (how many hits involve features that truly
carry shared signal), and, when they ran, the images, MOFA+, prediction and MR steps; a step
that did not run adds no row, and a step whose result lacks what a comparison needs is named
in the record's warnings (never silently left out).

What it reads from the other steps' ``result``:

* images: ``result["harmonised"]`` (samples x harmonised image features);
* mofa: ``result["model"]`` (or the result itself) with ``factors`` (samples x factors);
* prediction: ``result["table"]`` with columns ``target``, ``cv``, ``estimate`` (and
  ``metric``);
* survival: ``result["results"]`` (scheme -> survival ``ValidationResult``) and
  ``truth.extras["survival"]`` (the simulated outcome's true linear predictor): the risk
  score's C beside the C of the true linear predictor on the same patients;
* mr: ``result["estimates"]`` with columns ``design``, ``method``, ``b``, ``lower``,
  ``upper``; the exposure and outcome from the step's ``record.params``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..report.format import fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult, skipped,
                    timed_step)
from .cohort import join_words, plural

__all__ = ["Options", "run", "association_check"]

STEP = "truth"
TITLE = "Check against the ground truth"
COLUMNS = ["analysis", "quantity", "estimate", "truth", "agrees", "note"]


class Options(StepOptions):
    """The truth step has no options (it needs ``ctx.truth``, the simulation's truth)."""


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _row(analysis, quantity, estimate, truth, agrees=None, note="") -> dict:
    return {"analysis": analysis, "quantity": quantity, "estimate": float(estimate),
            "truth": float(truth), "agrees": "" if agrees is None else ("yes" if agrees else "no"),
            "note": note}


def association_check(result, truth) -> dict:
    """Counts of a screen's hits among the pairs whose two features both carry shared signal.

    Parameters
    ----------
    result : AssociationResult
        A screen of a radiomic view against an expression view.
    truth : data_sim GroundTruth

    Returns
    -------
    dict
        ``pairs``, ``pairs_true`` (both features load on a shared factor), ``bh`` (pairs with
        q <= alpha), ``bh_true``, ``fdp`` (empirical false discovery proportion of the BH
        hits), ``power`` (share of the truly driven pairs found by BH), and with permutations
        ``fwer`` and ``fwer_false`` (max-T hits not truly driven).
    """
    x_true = truth.signal_features(result.x_name).reindex(result.r.index, fill_value=False)
    y_true = truth.signal_features(result.y_name).reindex(result.r.columns, fill_value=False)
    both = np.outer(x_true.to_numpy(bool), y_true.to_numpy(bool))
    sig = result.qvalues.to_numpy() <= result.alpha
    n_sig, n_both = int(sig.sum()), int(both.sum())
    out = {"pairs": result.n_tests, "pairs_true": n_both, "bh": n_sig,
           "bh_true": int((sig & both).sum()),
           "fdp": float((sig & ~both).sum() / n_sig) if n_sig else 0.0,
           "power": float((sig & both).sum() / n_both) if n_both else float("nan")}
    if result.p_fwer is not None:
        f = result.p_fwer.to_numpy() <= result.alpha
        out.update(fwer=int(f.sum()), fwer_false=int((f & ~both).sum()))
    return out


def _association(frag: Fragment, ctx: StepContext, numbers: dict, warn: list) -> None:
    for key, res in ctx.results.items():
        if not key.startswith("association:") or not res.ok:
            continue
        r = res.result
        try:
            c = association_check(r, ctx.truth)
        except ValueError:   # views without a simulated truth (e.g. traits x modules)
            frag.text(f"{r.x_name} x {r.y_name}: the simulation declares which features carry "
                      "the shared signal only for radiomics and expression, so this screen has "
                      "no ground truth to check against.",
                      note=True)
            continue
        numbers[key] = c
        text = (f"{r.x_name} x {r.y_name}: {fmt_count(c['pairs_true'])} of "
                f"{plural(c['pairs'], 'pair')} have both features driven by a shared factor. "
                f"Pairs with Benjamini-Hochberg q <= {r.alpha}: {fmt_count(c['bh'])}, of which "
                f"{fmt_count(c['bh_true'])} truly driven (false discovery proportion "
                f"{fmt_num(c['fdp'], 2)}; power {fmt_num(c['power'], 2)}).")
        if "fwer" in c:
            text += (f" Max-T hits (p_fwer <= {r.alpha}): {fmt_count(c['fwer'])}, of which "
                     f"{fmt_count(c['fwer_false'])} not truly driven.")
            frag.finding(f"Ground truth, {r.x_name} x {r.y_name}: false positives among the "
                         f"max-T hits: {fmt_count(c['fwer_false'])} of {fmt_count(c['fwer'])}; "
                         f"false discovery proportion of the BH hits {fmt_num(c['fdp'], 2)} "
                         f"(of {fmt_count(c['bh'])}).", "check", ok=c["fwer_false"] == 0)
        frag.text(text)


def _r2_on(y: pd.Series, F: pd.DataFrame) -> float:
    """In-sample R2 of ``y`` regressed (OLS with intercept) on ``F``."""
    ids = y.index.intersection(F.index)
    A = np.column_stack([np.ones(len(ids)), F.loc[ids].to_numpy(float)])
    yv = y.loc[ids].to_numpy(float)
    res = yv - A @ np.linalg.lstsq(A, yv, rcond=None)[0]
    return float(1 - (res @ res) / ((yv - yv.mean()) @ (yv - yv.mean())))


def _images(res, truth, cohort) -> list[dict]:
    Xh = _get(res.result, "harmonised")
    if not isinstance(Xh, pd.DataFrame):
        raise KeyError("result['harmonised'] (the harmonised image features)")
    factor = truth.shared_factors.columns[0]
    r = Xh.corrwith(truth.shared_factors[factor].reindex(Xh.index)).abs()
    return [_row("from images", f"largest |r| of a harmonised image feature with {factor}",
                 r.max(), 1.0, note=str(r.idxmax()))]


def _mofa(res, truth, cohort) -> list[dict]:
    model = _get(res.result, "model")
    model = res.result if model is None else model
    Z = _get(model, "factors")
    if not isinstance(Z, pd.DataFrame):
        raise KeyError("result['model'].factors (samples x factors)")
    rows = []
    age = truth.covariates["age"].reindex(Z.index).astype(float)
    ra = Z.corrwith(age).abs()
    rows.append(_row("MOFA+", "best |r| of a factor with age (acts on every feature)",
                     ra.max(), 1.0, agrees=ra.max() >= 0.7, note=str(ra.idxmax())))
    F = truth.shared_factors.reindex(Z.index)
    for f in F.columns:
        r = Z.corrwith(F[f]).abs()
        rows.append(_row("MOFA+", f"best |r| of a factor with shared factor {f}", r.max(), 1.0,
                         agrees=r.max() >= 0.7, note=str(r.idxmax())))
    return rows


def _ceiling(y: pd.Series, F: pd.DataFrame) -> tuple[float, str]:
    y = y.dropna()
    if y.isin([0, 1]).all() and y.nunique() == 2:
        from ..metrics import auroc

        ids = y.index.intersection(F.index)
        A = np.column_stack([np.ones(len(ids)), F.loc[ids].to_numpy(float)])
        score = A @ np.linalg.lstsq(A, y.loc[ids].to_numpy(float), rcond=None)[0]
        return float(auroc(y.loc[ids].to_numpy(float), score)), "AUROC"
    return _r2_on(y, F), "R2"


def _prediction(res, truth, cohort) -> list[dict]:
    table = _get(res.result, "table")
    if not isinstance(table, pd.DataFrame) or not {"target", "cv", "estimate"} <= set(table):
        raise KeyError("result['table'] with columns target, cv, estimate")
    rows = []
    for tgt, sub in table.groupby("target", sort=False):
        if cohort.outcomes is not None and tgt in cohort.outcomes:
            y = cohort.outcomes[tgt]
        else:
            y = next((cohort[v][tgt] for v in cohort.view_names if tgt in cohort[v]), None)
        if y is None:
            continue
        ceiling, what = _ceiling(y, truth.shared_factors)
        for r in sub.itertuples():
            rows.append(_row("prediction", f"{tgt} {what} ({r.cv})", r.estimate, ceiling,
                             note="truth: in-sample " + what + " of the target on the true "
                                  "shared factors (the most an imaging model can reach)"))
    return rows


def _mr_targets(res, truth, cohort, designs) -> dict:
    exposure = res.record.params.get("exposure")
    targets = {d: truth.causal_effect for d in designs if d.startswith("two-sample")}
    if "modules" in cohort and exposure in cohort["modules"].columns:
        ids = cohort["modules"].index
        act = truth.module_activity.loc[ids, exposure]
        slope = float(np.cov(cohort["modules"][exposure], act)[0, 1] / act.var())
        for d in designs:
            if d.startswith("one-sample"):   # the observational slope is confounded
                targets[d] = truth.causal_effect_trait_units / slope
    return targets


def _mr(res, truth, cohort) -> list[dict]:
    est = _get(res.result, "estimates")
    if not isinstance(est, pd.DataFrame) or not {"design", "method", "b", "lower",
                                                 "upper"} <= set(est):
        raise KeyError("result['estimates'] with columns design, method, b, lower, upper")
    targets = _mr_targets(res, truth, cohort, set(est["design"]))
    rows = []
    for r in est.itertuples():
        if r.design in targets:
            t = targets[r.design]
            rows.append(_row("MR", f"{r.method}, {r.design}", r.b, t,
                             agrees=bool(r.lower <= t <= r.upper),
                             note=f"95% CI [{fmt_num(r.lower)}, {fmt_num(r.upper)}]"))
    return rows


def _survival(res, truth, cohort) -> list[dict]:
    """The risk score's C beside the C of the true linear predictor, on the same patients:
    within centres when there are several (the true baseline hazards differ by centre, which
    no model of the features can know in an unseen centre), else overall."""
    from ..survival.concordance import harrell_c

    extras = getattr(truth, "extras", None) or {}
    sim = extras.get("survival")
    results = _get(res.result, "results")
    if sim is None or not hasattr(sim, "linear_predictor"):
        raise KeyError("truth.extras['survival'] (the simulated survival outcome)")
    if not isinstance(results, dict):
        raise KeyError("result['results'] (scheme -> ValidationResult)")
    lp = sim.linear_predictor
    F = truth.shared_factors.reindex(lp.index)
    imaging = pd.Series(F[list(sim.coefficients.index)].to_numpy(float)
                        @ sim.coefficients.to_numpy(float), index=lp.index)
    rows = []
    for cv, vr in results.items():
        p = vr.pooled()
        p = p[np.isfinite(p["pred"].to_numpy())]
        strata = p["centre"].astype(str).to_numpy() if p["centre"].nunique() > 1 else None
        t, e = p["time"].to_numpy(), p["event"].to_numpy()

        def c(score, t=t, e=e, strata=strata):
            return harrell_c(time=t, event=e, risk=np.asarray(score, float), strata=strata).c

        where = "within centres" if strata is not None else "overall"
        true_c, img_c = c(lp.reindex(p.index)), c(imaging.reindex(p.index))
        rows.append(_row("survival", f"C-index {where}, risk score ({cv})",
                         c(p["pred"]), true_c,
                         note=f"truth: C of the true linear predictor (shared factors, age and "
                              f"sex) on the same {len(p)} patients; of its imaging part alone "
                              f"(the most a model of imaging features can reach): "
                              f"{fmt_num(img_c)}"))
    return rows


#: how each analysis's rows are judged (the caption names only the analyses present)
_RULES = (("MR", "MR: the 95% CI covers the truth"), ("MOFA+", "MOFA+: |r| >= 0.7"),
          ("from images", "image rows show the largest |r| with the factor, no verdict"),
          ("prediction", "prediction rows show the ceiling set by the true factors, no "
                         "verdict"),
          ("survival", "survival rows show the C of the true linear predictor, no verdict"))

#: step name -> function of (StepResult, truth, cohort) -> comparison rows
_READERS = {"images": _images, "mofa": _mofa, "prediction": _prediction, "survival": _survival,
            "mr": _mr}


def _other_rows(ctx: StepContext, warn: list) -> pd.DataFrame:
    rows = []
    for step, reader in _READERS.items():
        res = ctx.results.get(step)
        if res is None or not res.ok:
            continue
        try:
            rows += reader(res, ctx.truth, ctx.cohort)
        except (KeyError, AttributeError, TypeError) as exc:
            warn.append(f"{step}: its estimates could not be compared with the truth "
                        f"(needs {exc})")
    return pd.DataFrame(rows, columns=COLUMNS)


def _summarise(frag: Fragment, rows: pd.DataFrame) -> dict:
    out = {}
    for analysis, sub in rows.groupby("analysis", sort=False):
        judged = sub[sub["agrees"] != ""]
        n_ok = int((judged["agrees"] == "yes").sum())
        out[analysis] = {"rows": int(len(sub)), "judged": int(len(judged)), "agree": n_ok}
        if len(judged) and analysis == "MR":
            # 95% CIs each miss the truth 1 time in 20: the check fails only when more miss
            # than the binomial 99% bound allows (the estimates are dependent: a rough bound)
            allowed = int(stats.binom.ppf(0.99, len(judged), 0.05))
            miss = len(judged) - n_ok
            frag.finding(f"Ground truth, MR: the 95% CI covers the true effect for {n_ok} of "
                         f"{len(judged)} MR estimates (one-sample ones in module-score units, "
                         f"two-sample ones in the GWAS units; 95% intervals miss about 1 in 20 "
                         f"by chance: the check fails beyond {allowed} misses, a rough allowance "
                         "since the estimates share data).", "check", ok=miss <= allowed)
        elif len(judged):
            frag.finding(f"Ground truth, {analysis}: |r| >= 0.7 with the true factor for "
                         f"{n_ok} of {len(judged)} estimates.", "check",
                         ok=n_ok == len(judged))
    return out


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Compare the earlier steps' estimates with the simulation's ground truth.

    Parameters
    ----------
    ctx : StepContext
        ``ctx.truth`` must hold the simulation's truth; ``ctx.results`` the earlier steps.
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: ``{"association": {step: counts}, "rows": DataFrame}`` (one row per
        comparison: analysis, quantity, estimate, truth, agrees, note).
    """
    opts = opts or Options()
    if ctx.truth is None:
        return skipped(STEP, TITLE, "needs the simulation's ground truth (demo only)", opts)
    truth = ctx.truth
    frag = Fragment(TITLE)
    frag.methods = (
        "The cohort was simulated (data_sim.make_cohort) with known shared latent factors "
        "driving a subset of radiomic features and genes, known centre and covariate effects, "
        "and a known causal effect of one expression module on one imaging trait; each "
        "estimate below is set beside the value the simulation used. Benjamini-Hochberg "
        "controls the expected false discovery proportion, so one realisation can exceed the "
        "level; max-T controls the probability of any false positive.")
    numbers, warn = {}, []
    _association(frag, ctx, numbers, warn)
    cc = np.atleast_1d(truth.canonical_correlations)
    frag.text("Declared population canonical correlations of the latent-driven radiomic and "
              "expression blocks: " + join_words(fmt_num(c, 2) for c in cc) + ".")
    rows = _other_rows(ctx, warn)
    if len(rows):
        rules = "; ".join(text for key, text in _RULES if key in set(rows["analysis"]))
        frag.table(rows, "truth_check_steps",
                   "Estimates of the other steps beside the true values: analysis, quantity, "
                   f"estimate, true value, whether they agree ({rules}) and a note.",
                   max_rows=60, index=False)
        numbers["steps"] = _summarise(frag, rows)
    for w in warn:
        frag.text(w + ".", note=True)
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(), numbers=numbers, warnings=warn)
    rec.numbers["rows"] = rows.to_dict(orient="records")
    return StepResult({"association": {k: v for k, v in numbers.items()
                                       if k.startswith("association:")}, "rows": rows},
                      frag, rec)
