"""The main job: simulate the default cohort, then run the standard workflow on it.

``radiogenomics demo --out DIR`` (or :func:`run_demo`) simulates :data:`DEMO_COHORT` with
:func:`data_sim.make_cohort` (known ground truth: shared latent factors drive radiomic features
and gene expression; centres add ComBat-style location/scale effects; views are partially
paired; genotypes instrument one expression module that causally affects one imaging trait)
plus a time-to-event outcome (:func:`data_sim.survival.make_survival_cohort`: Weibull hazards
from the shared factors, age and sex, centre-specific baselines, censoring; the outcomes gain
``event_time`` and ``event``), then runs the steps of :mod:`radiogenomics.workflow` in
:func:`demo_plan`'s order and writes
``DIR/report.html`` (self-contained), the CSV tables, the PNG figures and ``DIR/results.json``.

``radiogenomics run CONFIG.yaml`` runs the same steps on a user's own files
(:func:`radiogenomics.workflow.config.run_config`); only the steps that need the simulation's
truth (``images``, ``truth``) are demo-only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["run_demo", "demo_plan", "DEMO_COHORT", "DEMO_TITLE"]

#: The default cohort of the demo: 150 patients in 3 centres of unequal size, RNA-seq missing
#: for 15% and genotypes for 10% of them (partially paired, as real cohorts are), 300 radiomic
#: features, 2,000 genes, two shared factors with population canonical correlations 0.8 / 0.6.
DEMO_COHORT = {"n_samples": 150, "missing_rate": {"expression": 0.15, "genotypes": 0.10}}

DEMO_TITLE = "radiogenomics demo: synthetic multi-centre cohort"

#: options of the demo's survival outcome (:func:`data_sim.survival.simulate_survival`); its
#: random stream is a child of the demo's seed spawned after the cohort's, so the views and
#: every other step are the same with or without it
DEMO_SURVIVAL: dict = {}


def _linked_modules(truth) -> list[str]:
    """The expression module each shared factor loads most on (data_sim links factor k to
    module k + 1): the targets of "virtual transcriptomics"."""
    B = truth.loadings["expression"].abs()
    linked = []
    for f in B.columns:
        m = max(truth.modules, key=lambda k: B.loc[truth.modules[k], f].mean())
        if m not in linked:
            linked.append(m)
    return linked


def _write_gwas(truth, out_dir: Path) -> tuple[Path, Path]:
    """The simulated large GWAS of the instruments, written as a user's summary-statistics
    files (TwoSampleMR columns), so the MR step reads them as it would a user's."""
    d = out_dir / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    exp, out = d / "gwas_exposure.csv", d / "gwas_outcome.csv"
    truth.mr.exposure.to_csv(exp, index=False)
    truth.mr.outcome.to_csv(out, index=False)
    return exp, out


def _write_gene_sets(truth, out_dir: Path) -> Path:
    """The simulation's expression modules written as a GMT file, read back as a user's
    pathway file would be."""
    from .expression import write_gmt

    d = out_dir / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    path = d / "modules.gmt"
    write_gmt(truth.modules, path)
    return path


def _write_spatial(out_dir: Path, seed: int) -> dict:
    """A simulated spatial study (:func:`data_sim.make_spatial_study`) as a user's files (.h5ad,
    one .mha map per section, landmarks CSV); returns the ``spatial`` step's file options."""
    import SimpleITK as sitk

    from data_sim import make_spatial_study

    d = out_dir / "inputs" / "spatial"
    d.mkdir(parents=True, exist_ok=True)
    study = make_spatial_study(rng=seed)
    study.adata.write_h5ad(d / "spots.h5ad")
    images = {}
    for sec in study.sections:
        images[sec] = d / f"ecv_{sec}.mha"
        sitk.WriteImage(study.sitk_image(sec), str(images[sec]))
    pd.concat([study.landmarks[s].assign(section=s) for s in study.sections])[
        ["section", "x_image", "y_image", "x_spot", "y_spot"]].to_csv(d / "landmarks.csv",
                                                                      index=False)
    return {"adata": d / "spots.h5ad", "images": images, "landmarks": d / "landmarks.csv",
            "map_name": "ECV"}


def demo_plan(truth, out_dir: Path, n_permutations: int = 1000, images: bool = True,
              mofa: bool = True, prediction: bool = True, mr: bool = True,
              survival: bool = True, spatial: bool = True, seed: int = 0) -> list:
    """The standard plan of the demo: ``[(step, options), ...]`` in report order."""
    plan: list = [("cohort", None),
                  ("centre_effects", {"views": ["radiomics", "expression"]}),
                  ("association", {"x": "radiomics", "y": "expression", "detail": True}),
                  ("association", {"x": "traits", "y": "modules", "detail": False}),
                  ("transcriptomics", {"counts": "expression_counts", "x": "traits",
                                       "gene_sets": _write_gene_sets(truth, out_dir),
                                       "score": "gsva", "view": "gene_set_scores"}),
                  ("cca", {"x": "traits", "y": "modules"}),
                  ("cca", {"x": "traits", "y": "gene_set_scores"})]
    if images:
        plan.append(("images", None))
    if mofa:
        plan.append(("mofa", {"views": ["radiomics", "expression"], "factors": 8,
                              "standardize": ["radiomics"],
                              "correlate_with": ["covariates", "traits", "outcomes.outcome_binary",
                                                 "outcomes.outcome_continuous"],
                              "permutations": min(n_permutations, 999) or 0}))
    if prediction:
        plan.append(("prediction", {
            "x": "radiomics",
            "targets": {"modules": _linked_modules(truth),
                        "outcomes": ["outcome_continuous", "outcome_binary"]},
            "cv": ["loco", 5], "cv_binary": ["loco"], "covariates": ["age", "sex"]}))
    if survival:
        plan.append(("survival", {"x": ["radiomics", "modules"], "clinical": ["age", "sex"],
                                  "cv": ["loco", 5],
                                  "permutations": min(n_permutations, 999) or 0}))
    if mr:
        exp, out = _write_gwas(truth, out_dir)
        plan.append(("mr", {"exposure": truth.instrumented_module,
                            "outcome": truth.causal_trait, "split": True,
                            "exposure_gwas": exp, "outcome_gwas": out}))
    if spatial:
        plan.append(("spatial", {**_write_spatial(out_dir, seed),
                                 "permutations": min(n_permutations, 999) or 99}))
    plan.append(("truth", None))
    return plan


def run_demo(out_dir: str | Path, rng=0, alpha: float = 0.05, n_permutations: int = 1000,
             images: bool = True, n_jobs: int = 2, mofa: bool = True, prediction: bool = True,
             mr: bool = True, progress: bool | None = None, survival: bool = True,
             spatial: bool = True, **cohort_kwargs):
    """Simulate the default cohort, run the standard workflow, write the report to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Output folder, created if needed.
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seeds the simulation and every step (SPEC 7).
    alpha : float
        FDR and FWER level.
    n_permutations : int
        Permutations (within centres) of the screens and the CCA test; 0: parametric only
        (the CCA step is then skipped, with the reason in the report).
    images, mofa, prediction, mr, survival, spatial : bool
        Include those steps (``survival``: also simulate the time-to-event outcome;
        ``spatial``: also simulate a spatial transcriptomics study with imaging maps, written
        to ``out_dir/inputs/spatial`` and read back as a user's files).
    n_jobs : int
        Worker processes of the radiomic extraction.
    **cohort_kwargs
        Passed to :func:`data_sim.make_cohort` (e.g. ``n_samples``, ``n_genes``), overriding
        :data:`DEMO_COHORT`.

    Returns
    -------
    radiogenomics.workflow.WorkflowResult
        ``steps`` (each with ``result``, ``fragment``, ``record``), ``report``,
        ``results_json``, ``cohort`` and ``truth`` (the simulation's ground truth).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import data_sim

    from ._checks import check_rng
    from .workflow import run_workflow

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = check_rng(rng)
    kw = {**DEMO_COHORT, **cohort_kwargs}
    if survival:
        from data_sim.survival import make_survival_cohort

        cohort, truth = make_survival_cohort(rng=gen, survival=DEMO_SURVIVAL, **kw)
    else:
        cohort, truth = data_sim.make_cohort(rng=gen, **kw)
    plan = demo_plan(truth, out_dir, n_permutations, images, mofa, prediction, mr, survival,
                     spatial, seed=rng if isinstance(rng, int) else 0)
    meta = {"seed": rng if isinstance(rng, int) else None,
            "data": "simulated by data_sim.make_cohort "
                    f"({', '.join(f'{k}={v}' for k, v in kw.items())})"
                    + ("; time-to-event outcome by data_sim.survival.simulate_survival"
                       if survival else "")}
    return run_workflow(cohort, plan, out_dir, title=DEMO_TITLE, rng=gen, alpha=alpha,
                        n_permutations=n_permutations, n_jobs=n_jobs, truth=truth,
                        progress=progress, meta=meta)
