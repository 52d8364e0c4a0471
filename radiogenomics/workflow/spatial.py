"""Workflow step ``spatial``: an imaging map registered to spatial transcriptomics sections.

Inputs are a user's files: an AnnData ``.h5ad`` of spots (scanpy / squidpy conventions), one
imaging map per section (any image SimpleITK reads: ``.mha``, ``.nii.gz``, ``.nrrd``, ...,
with its spacing and origin) and a CSV of landmark pairs (``section, x_image, y_image,
x_spot, y_spot``).  Each map is registered to its section by the landmarks (residual and
leave-one-out errors reported), averaged in every spot's disc, and correlated with every gene
across spots under a spatially constrained null with max-T family-wise error control over
genes (:func:`radiogenomics.spatial.spatial_association`); the naive test (spots treated as
independent), other spatial nulls, Dutilleul's modified t-test and the section-level
(pseudo-bulk) test are shown beside it.  The demo writes a simulated study
(:func:`data_sim.make_spatial_study`) to files first and reads them back the same way; where
the AnnData's ``var`` carries the simulation's ``colocalised`` column, the genes found are
checked against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..report.format import fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, timed_step)

__all__ = ["Options", "run", "load_inputs"]

STEP = "spatial"
TITLE = "Spatial: imaging map x spot transcriptomics"

CITATIONS = [
    "Wagner HH, Dray S (2015) Generating spatially constrained null models for irregularly "
    "spaced data using Moran spectral randomization methods. Methods Ecol Evol 6:1169-1178",
    "Alexander-Bloch AF et al. (2018) On testing for spatial correspondence between maps of "
    "human brain structure and function. NeuroImage 178:540-551",
    "Burt JB et al. (2020) Generative modeling of brain maps with spatial autocorrelation. "
    "NeuroImage 220:117038",
    "Dutilleul P (1993) Modifying the t test for assessing the correlation between two "
    "spatial processes. Biometrics 49:305-314",
    "Westfall PH, Young SS (1993) Resampling-based multiple testing. Wiley, New York",
    "Umeyama S (1991) Least-squares estimation of transformation parameters between two "
    "point patterns. IEEE TPAMI 13:376-380",
]


class Options(StepOptions):
    """Options of the ``spatial`` step.

    Attributes
    ----------
    adata : path
        AnnData ``.h5ad`` of the spots (``obsm["spatial"]``, sections in ``obs``).
    images : dict
        Section label -> imaging map file (SimpleITK-readable, physical spacing / origin).
    landmarks : path
        CSV with ``section, x_image, y_image, x_spot, y_spot`` (image physical coordinates and
        the same landmark in spot coordinates), at least 3 per section.
    transform : {"affine", "similarity", "rigid"}
    section_key, layer : str or None
        ``obs`` column of the sections (None: ``library_id``, else ``sample``); expression
        layer (None: ``X``).
    normalise : {None, "log1p_cpm"}
        Normalise counts (``layer: counts``) to log1p(counts / library size x 1e4).
    map_name : str
        Name of the imaging map in tables.
    null_model : {"msr", "spin", "torus", "variogram"}
        The null of the screen.
    compare_nulls : list
        Nulls shown beside it (same surrogate count; ``permutation`` is the naive null).
    permutations : int or None
        Surrogates per section (None: the study's number).
    top : int
        Rows of the gene table.
    """

    adata: Path
    images: dict[str, Path]
    landmarks: Path
    transform: str = Field("affine", pattern="^(affine|similarity|rigid)$")
    section_key: str | None = None
    layer: str | None = None
    normalise: str | None = None
    map_name: str = "imaging"
    null_model: str = Field("msr", pattern="^(msr|spin|torus|variogram)$")
    compare_nulls: list[Literal["permutation", "msr", "spin", "torus", "variogram"]] = [
        "permutation", "spin", "variogram"]
    permutations: int | None = Field(None, ge=19)
    top: int = Field(15, ge=1)


# ------------------------------------------------------------------------------ inputs

def load_inputs(opts: Options) -> dict:
    """Read the spots, register each section's map by its landmarks and sample it at spots.

    Returns ``{"spots", "values" (Series by spot id), "registrations", "samples",
    "images"}``."""
    import anndata

    from .._checks import InputError
    from ..spatial import SpotData, register_landmarks, sample_image_at_spots
    from ..spatial.registration import read_image

    adata = anndata.read_h5ad(opts.adata)
    spots = SpotData.from_anndata(adata, section_key=opts.section_key, layer=opts.layer,
                                  normalise=opts.normalise)
    lm = pd.read_csv(opts.landmarks)
    need = ["section", "x_image", "y_image", "x_spot", "y_spot"]
    missing = [c for c in need if c not in lm.columns]
    if missing:
        raise InputError(f"the landmarks file {opts.landmarks} lacks column(s) {missing}; it "
                         f"needs {need}")
    lm["section"] = lm["section"].astype(str)
    regs, samples, values, images = {}, {}, [], {}
    for sec in spots.section_labels:
        if sec not in opts.images:
            raise InputError(f"no imaging map for section {sec!r}; add it under `images:` "
                             f"(sections in the AnnData: {list(spots.section_labels)})")
        pts = lm[lm["section"] == sec]
        regs[sec] = register_landmarks(pts[["x_image", "y_image"]].to_numpy(),
                                       pts[["x_spot", "y_spot"]].to_numpy(),
                                       transform=opts.transform)
        images[sec] = read_image(opts.images[sec])
        samples[sec] = sample_image_at_spots(images[sec], spots.section(sec), regs[sec])
        values.append(samples[sec].table["value"])
    vals = pd.concat(values).reindex(spots.spot_ids).rename(opts.map_name)
    return {"spots": spots, "values": vals, "registrations": regs, "samples": samples,
            "images": images, "truth": adata.var.get("colocalised")}


def _registration_table(regs: dict) -> pd.DataFrame:
    return pd.DataFrame({sec: {"landmarks": len(r.residuals), "transform": r.transform,
                               "RMSE": r.rmse, "max error": r.max_error,
                               "leave-one-out RMSE": r.loo_rmse}
                         for sec, r in regs.items()}).T.rename_axis("section")


# ------------------------------------------------------------------------------ analyses

def _analyses(ctx: StepContext, opts: Options, data: dict, seed: int) -> dict:
    from ..spatial import pseudobulk_association, spatial_association

    B = int(opts.permutations or max(ctx.n_permutations, 99))
    out = {"main": spatial_association(data["spots"], data["values"], null=opts.null_model,
                                       n_resamples=B, rng=seed, alpha=ctx.alpha,
                                       progress=ctx.progress)}
    for k, null in enumerate(n for n in opts.compare_nulls if n != opts.null_model):
        try:
            out[null] = spatial_association(data["spots"], data["values"], null=null,
                                            n_resamples=B, rng=seed + k + 1, alpha=ctx.alpha,
                                            modified_ttest=False, progress=ctx.progress)
        except ValueError as err:  # e.g. torus without a full lattice: said in the report
            out.setdefault("failed", {})[null] = str(err)
    if len(data["spots"].section_labels) >= 4:
        out["pseudobulk"] = pseudobulk_association(data["spots"], data["values"], rng=seed)
    return out


def _comparison(res: dict, alpha: float, truth) -> pd.DataFrame:
    """Genes declared per method, and (with the simulation's truth) how many are right."""
    main = res["main"]
    t = main.table
    rows = {"naive t-test, BH q": t["q_naive"] <= alpha}
    if "p_dutilleul" in t:
        from ..association import adjust_pvalues

        rows["Dutilleul modified t, BH q"] = pd.Series(
            adjust_pvalues(t["p_dutilleul"].fillna(1).to_numpy()) <= alpha, index=t.index)
    for name, r in [(main.null, main)] + [(k, v) for k, v in res.items()
                                          if k not in ("main", "pseudobulk", "failed")]:
        rows[f"{name} null, max-T"] = r.table["p_fwer"] <= alpha
    if "pseudobulk" in res:
        pb = res["pseudobulk"].table.set_index("gene")
        rows["pseudo-bulk (sections), BH q"] = t["gene"].map(pb["q"] <= alpha).fillna(False)
    frame = pd.DataFrame({"genes declared": {k: int(v.sum()) for k, v in rows.items()}})
    if truth is not None:
        is_true = t["gene"].map(truth.astype(bool)).fillna(False).to_numpy()
        frame["truly co-localised"] = {k: int((v.to_numpy() & is_true).sum())
                                       for k, v in rows.items()}
        frame["false positives"] = frame["genes declared"] - frame["truly co-localised"]
        frame.attrs["n_true"] = int(is_true.sum())
    return frame.rename_axis("test")


def _gene_table(main, top: int) -> pd.DataFrame:
    cols = [c for c in ["gene", "r", "p_naive", "q_naive", "p_spatial", "p_fwer",
                        "p_dutilleul", "ess"] if c in main.table]
    return main.table.sort_values(["p_fwer", "p_spatial"]).head(top)[cols]


# ------------------------------------------------------------------------------ report

def _figures(frag: Fragment, data: dict, res: dict, opts: Options) -> None:
    from ..plotting.spatial import plot_colocalisation, plot_registration, plot_spatial_nulls

    spots, main = data["spots"], res["main"]
    sec = spots.section_labels[0]
    frag.figure(plot_registration(data["images"][sec], data["registrations"][sec],
                                  spots.section(sec).coords),
                f"spatial_registration_{sec}",
                f"Section {sec}: the imaging map drawn in spot coordinates through the "
                f"{opts.transform} transform fitted to the landmarks (crosses: landmark in "
                "spot space; circles: the image landmark mapped; lines: residuals); white "
                "dots are the spot centres.")
    top = main.table.sort_values(["p_fwer", "p_spatial"])["gene"].head(3).tolist()
    frag.figure(plot_colocalisation(spots.coords, data["values"].to_numpy(), spots.expression,
                                    top, sections=spots.sections, section=sec,
                                    image_label=opts.map_name),
                "spatial_colocalisation",
                f"Section {sec}: the imaging map averaged in each spot's disc (left) beside "
                "the three genes with the smallest family-wise p-values.")
    nulls = {"naive (permutation)" if k == "permutation" else k: v for k, v in
             [(main.null, main)] + [(k, v) for k, v in res.items()
                                    if k not in ("main", "pseudobulk", "failed")]}
    frag.figure(plot_spatial_nulls(nulls), "spatial_nulls",
                "Null distributions of the strongest pair's correlation under each null, side "
                "by side (dashed: observed r). Free permutation of spots ignores the spatial "
                "autocorrelation and gives a far narrower null than the spatial nulls, which "
                "keep the map's smoothness (rotations by small angles nearly reproduce the "
                "map, so the spin null leans towards the observed r).")


def _prose(data: dict, res: dict, comp: pd.DataFrame, opts: Options, alpha: float) -> list:
    spots, main = data["spots"], res["main"]
    reg = _registration_table(data["registrations"])
    text = [f"{fmt_count(main.n_spots)} spots in {fmt_count(main.n_sections)} sections x "
            f"{fmt_count(main.table['gene'].nunique())} genes; the imaging map was registered "
            f"to each section by {opts.transform} landmark fits (RMSE "
            f"{fmt_num(reg['RMSE'].min())}-{fmt_num(reg['RMSE'].max())}, leave-one-out "
            f"{fmt_num(reg['leave-one-out RMSE'].min())}-"
            f"{fmt_num(reg['leave-one-out RMSE'].max())} spot-coordinate units; median spot "
            f"diameter {fmt_num(float(np.median(list(spots.spot_diameter.values()))))})."]
    naive = int(comp.loc["naive t-test, BH q", "genes declared"])
    main_n = int(comp.loc[f"{main.null} null, max-T", "genes declared"])
    line = (f"Under the {main.null} null with max-T over genes ({fmt_count(main.n_resamples)} "
            f"surrogates per section), {fmt_count(main_n)} genes co-localise with the map at "
            f"family-wise p <= {alpha}; treating spots as independent (t-test, BH q <= "
            f"{alpha}) would declare {fmt_count(naive)}.")
    if "truly co-localised" in comp:
        line += (f" Against the simulation's truth ({comp.attrs['n_true']} co-localised "
                 f"genes): the {main.null} null finds "
                 f"{int(comp.loc[f'{main.null} null, max-T', 'truly co-localised'])} with "
                 f"{int(comp.loc[f'{main.null} null, max-T', 'false positives'])} false "
                 f"positives; the naive test has "
                 f"{int(comp.loc['naive t-test, BH q', 'false positives'])} false positives.")
    text.append(line)
    if res.get("failed"):
        text.append("Not run: " + "; ".join(f"{k} ({v})" for k, v in res["failed"].items()))
    return text


def _methods(opts: Options, main) -> str:
    return ("Each section's imaging map was registered to the spot coordinates by a "
            f"least-squares {opts.transform} fit to landmark pairs (Umeyama 1991 for "
            "similarity/rigid) and averaged over the pixels inside each spot's disc. The "
            "statistic is the Pearson correlation of the map and each gene after centring "
            "both within sections. Spatially constrained nulls resample each section "
            "separately (sections are exchangeability blocks): Moran spectral randomisation "
            "(Wagner & Dray 2015) of the map on 6-nearest-neighbour weights, spin rotations "
            "(Alexander-Bloch et al. 2018), variogram-matched surrogates (Burt et al. 2020); "
            "per-gene p-values are (1 + #exceed) / (1 + B), and max-T over genes (Westfall & "
            "Young 1993) controls the family-wise error. Dutilleul's modified t-test "
            "(Dutilleul 1993) gives an effective sample size per gene; the pseudo-bulk test "
            "correlates section means. Software: radiogenomics "
            f"{package_versions('radiogenomics').get('radiogenomics', '')}.")


def _numbers(main, comp: pd.DataFrame, alpha: float) -> dict:
    out = {"n_fwer": int((main.table["p_fwer"] <= alpha).sum()),
           "declared": {k: int(v) for k, v in comp["genes declared"].items()}}
    if "truly co-localised" in comp:
        out["n_true"] = comp.attrs["n_true"]
        out["true_found"] = {k: int(v) for k, v in comp["truly co-localised"].items()}
        out["false_positives"] = {k: int(v) for k, v in comp["false positives"].items()}
    return out


def _dropped(main, spots) -> dict:
    out = {}
    for kind, part in main.dropped.groupby("kind"):
        out[f"{kind}s (screen)"] = {"n": len(part), "ids": part["id"].astype(str).tolist()[:50],
                                    "reason": "; ".join(sorted(set(part["reason"])))}
    if len(spots.dropped):
        d = spots.dropped
        out["spots/genes (reading)"] = {"n": len(d), "ids": d["id"].astype(str).tolist()[:50],
                                        "reason": "; ".join(sorted(set(d["reason"])))}
    return out


@timed_step
def run(ctx: StepContext, opts: Options) -> StepResult:
    """Register, sample, screen; report the co-localised genes and the nulls side by side.

    Returns
    -------
    StepResult
        ``result``: ``{"main": SpatialAssociationResult, <null>: ..., "pseudobulk": ...,
        "inputs": {...}}``.
    """
    data = load_inputs(opts)
    seed = ctx.seed()
    res = _analyses(ctx, opts, data, seed)
    main = res["main"]
    comp = _comparison(res, ctx.alpha, data["truth"])
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(mode="json"), seed=seed,
                     samples_used={"spots": int(main.n_spots)},
                     features_used={"genes": int(main.table["gene"].nunique())},
                     samples_dropped=_dropped(main, data["spots"]),
                     numbers=_numbers(main, comp, ctx.alpha))
    frag = Fragment(TITLE, citations=list(CITATIONS))
    frag.methods = _methods(opts, main)
    for para in _prose(data, res, comp, opts, ctx.alpha):
        frag.text(para)
    frag.finding(f"{fmt_count(int((main.table['p_fwer'] <= ctx.alpha).sum()))} genes "
                 f"co-localise with the {opts.map_name} map ({main.null} null, max-T "
                 f"p <= {ctx.alpha}).", "significant" if (main.table["p_fwer"] <= ctx.alpha).any()
                 else "null")
    frag.table(_registration_table(data["registrations"]), "spatial_registration",
               "Landmark registration per section: residual RMSE, largest residual and "
               "leave-one-out RMSE (spot-coordinate units).")
    frag.table(_gene_table(main, opts.top), "spatial_genes",
               f"Genes most co-localised with the {opts.map_name} map: correlation across "
               "spots, naive t-test p and BH q, spatial-null p and max-T family-wise p, "
               "Dutilleul's p and effective sample size.", index=False)
    frag.table(comp, "spatial_null_comparison",
               f"Genes declared at {ctx.alpha} by each test" +
               (" and how many are truly co-localised in the simulation." if
                "truly co-localised" in comp else "."))
    _figures(frag, data, res, opts)
    res["inputs"] = data
    return StepResult(res, frag, rec)
