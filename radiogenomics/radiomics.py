"""Radiomic feature extraction over a manifest of cases with pyradiomics.

:func:`extract` runs pyradiomics' ``RadiomicsFeatureExtractor`` on every case of a manifest
(one row per case: ``sample_id``, ``image``, ``mask`` and optionally ``label``, ``centre`` and
``regions``) and collects

* ``features``: samples x features, names exactly as pyradiomics writes them
  (``original_glcm_Contrast``), prefixed with the label name when several labels are extracted
  (``MYO_original_glcm_Contrast``) and with the region name for regional masks
  (``AHA3_original_firstorder_Mean``);
* ``diagnostics``: pyradiomics' ``diagnostics_*`` entries, kept apart from the features;
* ``errors``: one row per failed (case, label) or (case, region) with the stage and a reason
  naming the fix.

Design points:

* Cases are run from our own :class:`~concurrent.futures.ProcessPoolExecutor`, one case per
  task (pyradiomics' own batch mode hands out chunks of 10 and busy-waits, so it gives no
  speed-up for small batches).  ``n_jobs=1`` runs in-process.
* A failing case never stops the batch and is never dropped silently: unreadable files, an
  empty mask, a label absent from the mask, an image/mask geometry mismatch and any error
  raised by pyradiomics are recorded in ``errors`` (``stage`` is one of ``read_image``,
  ``read_mask``, ``read_regions``, ``geometry``, ``label``, ``extract``).  A case whose labels
  (or regions) partly fail keeps a row in ``features`` with NaN for the failed ones' columns;
  a case where every label and region fails has no row in ``features``.  ``cases`` gives the
  status of every manifest row.
* Regional masks (``regions=``, e.g. AHA myocardial segments): the manifest's ``regions``
  column gives, per case, a second label map on the image grid whose non-zero values are
  regions (AHA segments 1..16 or 1..17).  Each requested region is extracted with that map as
  the mask (``extractor.execute(image, region_map, label=value)``), after the labels and
  independently of them (a broken label mask does not stop the regions, and vice versa; an
  unreadable image fails both).  Its features and diagnostics are always prefixed with the
  region name; label features keep the naming rules above.  Without ``regions=`` a
  ``regions`` column is ignored.
* ``cache_dir``: every case that finished without error is written atomically (temporary file
  then :func:`os.replace`) as a small JSON file (exact float round trip) named by a SHA-256 of
  the image and mask (absolute path, modification time, size), the labels, the extraction
  settings and the pyradiomics version, and, when regions are requested, the region map's
  stamp and the region names and values.  A rerun reads those cases from the cache; a changed
  file, setting or region request changes the name and forces a new extraction.  Failed cases
  are not cached (they are retried on the next run).

Label conventions conflict between data sets (ACDC: 1 = RV, 2 = MYO, 3 = LV; M&Ms:
1 = LV, 2 = MYO, 3 = RV), so presets are provided and the names are written into the
feature names.  Region presets (:data:`REGION_PRESETS`): ``"aha16"`` (``AHA1`` .. ``AHA16``)
and ``"aha17"`` (``AHA1`` .. ``AHA17``, segment 17 the apex cap), the value of each segment
being its AHA number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import warnings

import numpy as np
import pandas as pd

from ._checks import RadiogenomicsError

__all__ = ["extract", "ExtractionResult", "LABEL_PRESETS", "REGION_PRESETS", "ExtractionError"]

LABEL_PRESETS = {
    "mnms": {"LV": 1, "MYO": 2, "RV": 3},
    "acdc": {"RV": 1, "MYO": 2, "LV": 3},
}

#: Regional-mask presets for ``extract(regions=...)``: name -> value in the region label map
#: (AHA 16/17-segment model of the left-ventricular myocardium; 17 is the apex cap).
REGION_PRESETS = {
    "aha16": {f"AHA{i}": i for i in range(1, 17)},
    "aha17": {f"AHA{i}": i for i in range(1, 18)},
}

ERROR_COLUMNS = ["sample_id", "label", "stage", "reason"]
_CACHE_FORMAT = 1


class ExtractionError(RadiogenomicsError):
    """Invalid input to :func:`extract` (bad manifest, labels or parameters)."""


# --------------------------------------------------------------------------- inputs

def _read_manifest(manifest) -> pd.DataFrame:
    base = None
    if isinstance(manifest, (str, os.PathLike)):
        path = Path(manifest)
        if not path.is_file():
            raise ExtractionError(f"manifest file {str(path)!r} does not exist; pass a CSV path "
                                  "or a DataFrame with columns sample_id, image, mask")
        base = path.resolve().parent
        manifest = pd.read_csv(path, dtype={"sample_id": str})
    if not isinstance(manifest, pd.DataFrame):
        raise ExtractionError(f"manifest must be a DataFrame or a CSV path, got "
                              f"{type(manifest).__name__}")
    missing = [c for c in ("sample_id", "image", "mask") if c not in manifest.columns]
    if missing:
        raise ExtractionError(f"manifest lacks column(s) {missing}; it needs sample_id, image, "
                              f"mask (optional: label, centre, regions); it has "
                              f"{list(manifest.columns)}")
    m = manifest.reset_index(drop=True).copy()
    if m["sample_id"].isna().any():
        raise ExtractionError("manifest has empty sample_id values; give every case an ID")
    m["sample_id"] = m["sample_id"].astype(str)
    dup = m["sample_id"][m["sample_id"].duplicated()].unique()
    if len(dup):
        raise ExtractionError(f"duplicated sample_id in manifest: {list(dup[:5])}; each row "
                              "must be one case (use labels= for several ROIs of one case)")

    def _abs(p):
        p = Path(str(p)).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        return str(p.absolute())

    for col in ("image", "mask"):
        if m[col].isna().any():
            bad = list(m.loc[m[col].isna(), "sample_id"][:5])
            raise ExtractionError(f"manifest has no {col} path for sample(s) {bad}")
        m[col] = m[col].map(_abs)
    if "regions" in m.columns:
        # optional per case: an empty cell is kept as None (an error row if regions are requested)
        m["regions"] = [None if (pd.isna(p) or not str(p).strip()) else _abs(p)
                        for p in m["regions"].astype(object)]
    return m


def _resolve_labels(labels, manifest: pd.DataFrame, default_label: int):
    """Per-case list of (name or None, value)."""
    if labels is None:
        if "label" in manifest.columns:
            out = []
            for sid, v in zip(manifest["sample_id"], manifest["label"]):
                if pd.isna(v):
                    out.append([(None, int(default_label))])
                else:
                    out.append([(None, _as_label_value(v, f"manifest label of {sid!r}"))])
            return out
        return [[(None, int(default_label))]] * len(manifest)
    if isinstance(labels, str):
        key = labels.lower()
        if key not in LABEL_PRESETS:
            raise ExtractionError(f"unknown label preset {labels!r}; use one of "
                                  f"{sorted(LABEL_PRESETS)} or a dict name -> label value")
        spec = [(k, v) for k, v in LABEL_PRESETS[key].items()]
    elif isinstance(labels, dict):
        if not labels:
            raise ExtractionError("labels dict is empty; give at least one name -> value")
        spec = [(str(k), _as_label_value(v, f"label {k!r}")) for k, v in labels.items()]
    elif isinstance(labels, (list, tuple, np.ndarray)):
        vals = [_as_label_value(v, "labels") for v in labels]
        if not vals:
            raise ExtractionError("labels list is empty; give at least one label value")
        spec = [(None, vals[0])] if len(vals) == 1 else [(f"label{v}", v) for v in vals]
    else:
        spec = [(None, _as_label_value(labels, "labels"))]
    names = [n for n, _ in spec]
    values = [v for _, v in spec]
    if len(set(values)) != len(values) or len(set(names)) != len(names):
        raise ExtractionError(f"labels {labels!r} repeat a name or value; each must be unique")
    return [spec] * len(manifest)


def _resolve_regions(regions):
    """Region spec: list of (name, value), or None when no regions are requested."""
    if regions is None:
        return None
    if isinstance(regions, str):
        key = regions.lower()
        if key not in REGION_PRESETS:
            raise ExtractionError(f"unknown region preset {regions!r}; use one of "
                                  f"{sorted(REGION_PRESETS)}, a dict name -> region value or a "
                                  "list of region values")
        spec = list(REGION_PRESETS[key].items())
    elif isinstance(regions, dict):
        if not regions:
            raise ExtractionError("regions dict is empty; give at least one name -> value")
        spec = [(str(k), _as_label_value(v, f"region {k!r}", "region map")) for k, v in
                regions.items()]
    elif isinstance(regions, (list, tuple, np.ndarray)):
        vals = [_as_label_value(v, "regions", "region map") for v in regions]
        if not vals:
            raise ExtractionError("regions list is empty; give at least one region value")
        spec = [(f"region{v}", v) for v in vals]
    else:
        raise ExtractionError(f"regions must be a preset name {sorted(REGION_PRESETS)}, a dict "
                              f"name -> value or a list of values, got {type(regions).__name__}")
    names = [n for n, _ in spec]
    values = [v for _, v in spec]
    if any(not n.strip() for n in names):
        raise ExtractionError(f"regions {regions!r}: region names must be non-empty (they "
                              "prefix the feature names)")
    if len(set(values)) != len(values) or len(set(names)) != len(names):
        raise ExtractionError(f"regions {regions!r} repeat a name or value; each must be unique")
    return spec


def _as_label_value(v, what, where="mask") -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ExtractionError(f"{what}: label value {v!r} is not a number; label values are "
                              f"the integer voxel values of the {where}") from None
    if not np.isfinite(f) or f != int(f) or f <= 0:
        raise ExtractionError(f"{what}: label value {v!r} must be a positive integer "
                              "(0 is background)")
    return int(f)


def _make_extractor(params):
    from radiomics import featureextractor
    if params is None:
        return featureextractor.RadiomicsFeatureExtractor()
    if isinstance(params, (str, os.PathLike)):
        p = Path(params)
        if not p.is_file():
            raise ExtractionError(f"parameter file {str(p)!r} does not exist; pass a pyradiomics "
                                  "YAML/JSON parameter file, a dict, or None for defaults")
        return featureextractor.RadiomicsFeatureExtractor(str(p.absolute()))
    if isinstance(params, dict):
        return featureextractor.RadiomicsFeatureExtractor(dict(params))
    raise ExtractionError(f"params must be a file path, a dict or None, got "
                          f"{type(params).__name__}")


def _extractor_state(extractor) -> dict:
    return {"setting": dict(extractor.settings),
            "imageType": {k: dict(v) for k, v in extractor.enabledImagetypes.items()},
            "featureClass": {k: (list(v) if v else []) for k, v in extractor.enabledFeatures.items()}}


def _canonical_hash(obj) -> str:
    s = json.dumps(obj, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(s.encode()).hexdigest()


def _file_stamp(path: str | None):
    if path is None:
        return [None, None, None]
    try:
        st = os.stat(path)
        return [path, st.st_mtime_ns, st.st_size]
    except OSError:
        return [path, None, None]


# --------------------------------------------------------------------------- worker

def _short(exc: BaseException) -> str:
    msg = str(exc).strip()
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    # SimpleITK messages are long multi-line ITK dumps; keep the informative line
    for ln in lines:
        if "Description:" in ln:
            return f"{type(exc).__name__}: {ln.split('Description:', 1)[1].strip()}"
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:500]


def geometry_problem(image, mask, tol: float, what: str = "mask") -> str | None:
    """Why ``mask`` does not lie on ``image``'s grid (dimension, size, spacing, origin,
    direction beyond ``tol``), or None: the one geometry check of extraction and of
    :func:`radiogenomics.features.perturbation_icc`."""
    if image.GetDimension() != mask.GetDimension():
        return (f"image is {image.GetDimension()}-D but {what} is {mask.GetDimension()}-D")
    parts = []
    if image.GetSize() != mask.GetSize():
        parts.append(f"size image {image.GetSize()} vs {what} {mask.GetSize()}")
    for prop, a, b in (("spacing", image.GetSpacing(), mask.GetSpacing()),
                       ("origin", image.GetOrigin(), mask.GetOrigin()),
                       ("direction", image.GetDirection(), mask.GetDirection())):
        if not np.allclose(a, b, rtol=0, atol=tol * max(1.0, float(np.max(np.abs(a))))):
            parts.append(f"{prop} image {tuple(round(x, 6) for x in a)} vs {what} "
                         f"{tuple(round(x, 6) for x in b)}")
    if parts:
        return (f"image and {what} geometry differ (" + "; ".join(parts) + f"); resample the "
                f"{what} onto the image grid (or set correctMask: True in the parameters for "
                "small differences)")
    return None


def _label_text(name, value):
    return f"{value}" if name is None else f"{value} ({name})"


def _region_text(name, value):
    return f"region {value} ({name})"


def _targets_text(task: dict) -> list[str]:
    """The ``label`` column entries of every (label and region) target of a case."""
    return ([_label_text(n, v) for n, v in task["labels"]]
            + [_region_text(n, v) for n, v in (task.get("regions") or [])])


def _read_file(sitk, path: str, key: str):
    """(image, None) or (None, reason)."""
    if not os.path.isfile(path):
        return None, f"{key} file {path!r} does not exist; check the manifest path"
    try:
        return sitk.ReadImage(path), None
    except Exception as e:  # noqa: BLE001 - recorded, batch continues
        return None, (f"cannot read {key} file {path!r} ({_short(e)}); check that it is a "
                      "complete image file in a format SimpleITK reads (NRRD, NIfTI, MHA, ...)")


@contextmanager
def _quiet_radiomics(verbose: bool):
    """Raise the level of pyradiomics' logger to ERROR for the block (restored after)."""
    logger = logging.getLogger("radiomics")
    old_level = logger.level
    if not verbose:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old_level)


def _run_case(task: dict) -> dict:
    """Extract one case (all its labels, then all its regions).  Never raises: failures go to
    ``errors``.  pyradiomics' own log messages below ERROR are silenced for the call unless
    ``task["verbose"]`` (it repeats advice such as "Fixed bin Count enabled" for every case)."""
    with _quiet_radiomics(task.get("verbose", False)):
        return _run_case_inner(task)


def _run_case_inner(task: dict) -> dict:
    import SimpleITK as sitk

    sid = task["sample_id"]
    out = {"sample_id": sid, "features": {}, "diagnostics": {}, "errors": []}
    label_texts = [_label_text(n, v) for n, v in task["labels"]]
    region_spec = task.get("regions") or []
    region_texts = [_region_text(n, v) for n, v in region_spec]

    def fail(texts, stage, reason):
        for lt in texts:
            out["errors"].append({"sample_id": sid, "label": lt, "stage": stage, "reason": reason})

    image, problem = _read_file(sitk, task["image"], "image")
    if image is None:   # nothing can be extracted: every label and region fails
        fail(label_texts + region_texts, "read_image", problem)
        return out

    settings = task["state"]["setting"]
    extractor_box = {}

    def get_extractor():
        """Built once per case, on first use; (extractor, None) or (None, reason)."""
        if not extractor_box:
            try:
                extractor_box["x"] = (_make_extractor(task["params"]), None)
            except Exception as e:  # noqa: BLE001
                extractor_box["x"] = (None, f"cannot build the pyradiomics extractor ({_short(e)})")
        return extractor_box["x"]

    def run_rois(roi, kind, targets, texts, prefixes):
        """Extract every (name, value) of ``targets`` from the label map ``roi``."""
        is_region = kind == "region map"
        if not settings.get("correctMask", False):
            tol = settings.get("geometryTolerance") or 1e-6
            problem = geometry_problem(image, roi, float(tol), what=kind)
            if problem:
                return fail(texts, "geometry", problem)
        try:
            present = sorted(int(v) for v in np.unique(sitk.GetArrayViewFromImage(roi)) if v != 0)
        except Exception as e:  # noqa: BLE001
            return fail(texts, "read_regions" if is_region else "read_mask",
                        f"cannot read {kind} voxel values ({_short(e)})")
        if not present:
            return fail(texts, "label", f"{kind} is empty (no non-zero voxel); check the "
                                        f"{'region map' if is_region else 'segmentation'} file")
        extractor, problem = get_extractor()
        if extractor is None:
            return fail(texts, "extract", problem)
        for (name, value), lt, prefix in zip(targets, texts, prefixes):
            if value not in present:
                if is_region:
                    reason = (f"{lt} is not present in the region map (regions present: "
                              f"{present}); check the region values (e.g. regions='aha16' vs "
                              "'aha17') and the region map file")
                else:
                    reason = (f"label {lt} is not present in the mask (labels present: "
                              f"{present}); check the label value / convention (e.g. "
                              "labels='acdc' vs 'mnms')")
                fail([lt], "label", reason)
                continue
            try:
                res = extractor.execute(image, roi, label=value)
            except Exception as e:  # noqa: BLE001
                fail([lt], "extract", f"pyradiomics failed: {_short(e)}")
                continue
            for k, v in res.items():
                if k.startswith("diagnostics_"):
                    out["diagnostics"][prefix + k] = _plain(v, numeric=False)
                else:
                    out["features"][prefix + k] = _plain(v, numeric=True)

    # labels, from the mask
    mask, problem = _read_file(sitk, task["mask"], "mask")
    if mask is None:
        fail(label_texts, "read_mask", problem)
    else:
        multi = task["prefix"]
        run_rois(mask, "mask", task["labels"], label_texts,
                 [f"{n}_" if (multi and n is not None) else "" for n, _ in task["labels"]])
        del mask

    # regions, from the region map (independent of the label mask)
    if region_spec:
        path = task.get("region_map")
        if path is None:
            fail(region_texts, "read_regions",
                 "the manifest has no region map for this case (empty cell in its 'regions' "
                 "column); add the path of its region label map, or drop the case")
            return out
        rmap, problem = _read_file(sitk, path, "region map")
        if rmap is None:
            fail(region_texts, "read_regions", problem)
            return out
        run_rois(rmap, "region map", region_spec, region_texts,
                 [f"{n}_" for n, _ in region_spec])
    return out


def _plain(v, numeric: bool):
    if numeric:
        try:
            return float(np.asarray(v).item())
        except (TypeError, ValueError):
            return float("nan")
    if isinstance(v, (np.generic, np.ndarray)) and np.asarray(v).size == 1:
        v = np.asarray(v).item()
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return str(v)


# --------------------------------------------------------------------------- cache

def _cache_key(task: dict, settings_hash: str, version: str) -> str:
    key = {"format": _CACHE_FORMAT, "image": _file_stamp(task["image"]),
           "mask": _file_stamp(task["mask"]),
           "labels": [[n, v] for n, v in task["labels"]],
           "prefix": task["prefix"], "settings": settings_hash,
           "pyradiomics": version}
    if task.get("regions"):
        # only with regions requested, so that keys (and caches) without regions are unchanged
        key["regions"] = {"map": _file_stamp(task.get("region_map")),
                          "spec": [[n, v] for n, v in task["regions"]]}
    return _canonical_hash(key)


def _cache_read(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != _CACHE_FORMAT:
            return None
        return data["result"]
    except (OSError, ValueError, KeyError):
        return None  # unreadable / partial cache entry: recompute


def _cache_write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": _CACHE_FORMAT, "result": result}, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- result

@dataclass
class ExtractionResult:
    """Result of :func:`extract`.

    Attributes
    ----------
    features : DataFrame
        Samples (index ``sample_id``) x features, float; diagnostics excluded.
    diagnostics : DataFrame
        pyradiomics ``diagnostics_*`` entries per sample.
    errors : DataFrame
        Columns ``sample_id, label, stage, reason``; one row per failed (case, label) or
        (case, region); for a region ``label`` reads ``"region <value> (<name>)"``.
    cases : DataFrame
        One row per manifest case: ``sample_id, image, mask, centre, status, cached`` (plus
        ``regions``, the region map path, when regions were requested) with status ``ok``,
        ``partial`` (some labels or regions failed) or ``failed`` (all failed).
    provenance : dict
        pyradiomics and SimpleITK versions, settings hash, settings, labels, regions.
    n_cached : int
        Number of cases read from the cache.
    """

    features: pd.DataFrame
    diagnostics: pd.DataFrame
    errors: pd.DataFrame
    cases: pd.DataFrame
    provenance: dict = field(default_factory=dict)
    n_cached: int = 0

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def n_failed(self) -> int:
        return int((self.cases["status"] == "failed").sum())

    def to_frame(self, diagnostics: bool = False) -> pd.DataFrame:
        """Features as a DataFrame (copy); with ``diagnostics=True`` the diagnostics are
        joined as extra columns (the full table pyradiomics writes)."""
        if not diagnostics:
            return self.features.copy()
        return self.features.join(self.diagnostics, how="outer")

    def summary(self) -> str:
        """Short text summary: cases, statuses, features, failures by stage."""
        st = self.cases["status"].value_counts()
        lines = [f"radiomic extraction: {self.n_cases} cases "
                 f"({st.get('ok', 0)} ok, {st.get('partial', 0)} partial, "
                 f"{st.get('failed', 0)} failed; {self.n_cached} from cache)",
                 f"features: {self.features.shape[0]} samples x {self.features.shape[1]} features",
                 f"pyradiomics {self.provenance.get('pyradiomics_version')}, SimpleITK "
                 f"{self.provenance.get('simpleitk_version')}, settings "
                 f"{str(self.provenance.get('settings_hash'))[:12]}"]
        if len(self.errors):
            by = self.errors["stage"].value_counts()
            lines.append("errors by stage: " + ", ".join(f"{k}: {v}" for k, v in by.items()))
            for _, r in self.errors.head(5).iterrows():
                lines.append(f"  {r['sample_id']} [label {r['label']}] {r['stage']}: {r['reason']}")
            if len(self.errors) > 5:
                lines.append(f"  ... {len(self.errors) - 5} more (see .errors)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ExtractionResult(n_cases={self.n_cases}, features={self.features.shape[0]}x"
                f"{self.features.shape[1]}, n_errors={len(self.errors)}, "
                f"n_cached={self.n_cached})")


# --------------------------------------------------------------------------- runners

def _read_cache(tasks, cache_dir, settings_hash, version):
    """Cases already in ``cache_dir``: (results by sample, cached samples, cache paths)."""
    results: dict[str, dict] = {}
    cached: set[str] = set()
    cache_paths: dict[str, Path] = {}
    if cache_dir is not None:
        cdir = Path(cache_dir)
        for t in tasks:
            p = cdir / f"{_cache_key(t, settings_hash, version)}.json"
            cache_paths[t["sample_id"]] = p
            hit = _cache_read(p) if p.is_file() else None
            if hit is not None and hit.get("sample_id") == t["sample_id"]:
                results[t["sample_id"]] = hit
                cached.add(t["sample_id"])
    return results, cached, cache_paths


#: one case at a time per process: pyradiomics is not thread-safe (its parameter-schema
#: parsing fails when two threads build extractors at once; logger levels are global)
_CASE_LOCK = threading.Lock()


def _run_case_locked(task: dict) -> dict:
    """:func:`_run_case` as a Dask task: serialised within a worker process, whose threads
    would otherwise run pyradiomics concurrently (use one thread per worker process)."""
    with _CASE_LOCK:
        return _run_case(task)


def _crashed(task: dict, exc: BaseException) -> dict:
    """The result of a case whose worker failed (died, or the task could not run there)."""
    return {"sample_id": task["sample_id"], "features": {}, "diagnostics": {},
            "errors": [{"sample_id": task["sample_id"], "label": lt, "stage": "extract",
                        "reason": f"worker process failed: {_short(exc)}"}
                       for lt in _targets_text(task)]}


def _run_cases(todo: list, finish, n_jobs: int, client) -> None:
    """Run every task of ``todo`` and hand each result to ``finish`` as it arrives: on Dask
    (``client``), in a process pool (``n_jobs > 1``) or in this process."""
    if not todo:
        return
    if client is not None:
        from .distributed import map_ordered

        def on_result(i, task, res):
            finish(_crashed(task, res) if isinstance(res, BaseException) else res)

        map_ordered(client, _run_case_locked, todo, desc="radiomics", progress=False,
                    on_result=on_result, return_exceptions=True)
    elif n_jobs == 1 or len(todo) <= 1:
        for t in todo:
            finish(_run_case(t))
    else:
        with ProcessPoolExecutor(max_workers=min(int(n_jobs), len(todo))) as pool:
            futs = {pool.submit(_run_case, t): t for t in todo}
            for fut in as_completed(futs):
                try:
                    res = fut.result()
                except Exception as e:  # noqa: BLE001 - e.g. a worker process crashed
                    res = _crashed(futs[fut], e)
                finish(res)


def _checked_regions(regions, m, case_labels, prefix):
    """The resolved region spec of ``regions=`` (None without regions), checked against the
    manifest's columns and the label names."""
    region_spec = _resolve_regions(regions)
    if region_spec is not None:
        if "regions" not in m.columns:
            raise ExtractionError(
                f"regions={regions!r} was given but the manifest has no 'regions' column; add a "
                "column 'regions' with each case's region label map (on the image grid, regions "
                "as non-zero values), or leave regions=None")
        clash = ({n for n, _ in case_labels[0] if n is not None} & {n for n, _ in region_spec}
                 if prefix else set())
        if clash:
            raise ExtractionError(f"name(s) {sorted(clash)} are used by both labels and regions; "
                                  "feature names would collide, rename the labels or regions")
    return region_spec


def _assemble(m, order, results, cached, region_spec, region_maps):
    """The features, diagnostics, errors and cases tables from the per-case results."""
    feat_rows = {s: results[s]["features"] for s in order if results[s]["features"]}
    features = pd.DataFrame.from_dict(feat_rows, orient="index")
    features = features.reindex(index=[s for s in order if s in feat_rows])
    # stable column order: the order pyradiomics writes, first case that has each column
    cols = []
    seen = set()
    for s in order:
        for c in results[s]["features"]:
            if c not in seen:
                seen.add(c)
                cols.append(c)
    features = features.reindex(columns=cols).astype(float)
    features.index.name = "sample_id"
    diag_rows = {s: results[s]["diagnostics"] for s in order if results[s]["diagnostics"]}
    diagnostics = pd.DataFrame.from_dict(diag_rows, orient="index")
    diagnostics = diagnostics.reindex(index=[s for s in order if s in diag_rows])
    diagnostics.index.name = "sample_id"
    errors = pd.DataFrame([e for s in order for e in results[s]["errors"]],
                          columns=ERROR_COLUMNS)

    status = []
    for s in order:
        r = results[s]
        status.append("ok" if not r["errors"] else ("partial" if r["features"] else "failed"))
    cases = pd.DataFrame({"sample_id": order, "image": m["image"], "mask": m["mask"],
                          "centre": m["centre"] if "centre" in m.columns else None,
                          "status": status, "cached": [s in cached for s in order]})
    if region_spec is not None:
        cases.insert(3, "regions", region_maps)
    return features, diagnostics, errors, cases


# --------------------------------------------------------------------------- main

def extract(manifest, params=None, labels=None, n_jobs: int = 1, cache_dir=None,
            progress=None, regions=None, verbose: bool = False,
            client=None) -> ExtractionResult:
    """Extract pyradiomics features for every case of a manifest.

    Parameters
    ----------
    manifest : DataFrame or path to CSV
        Columns ``sample_id``, ``image``, ``mask`` and optionally ``label`` (per-case label
        value, used when ``labels`` is None), ``centre`` and ``regions`` (per-case path of a
        region label map, used only with ``regions=``).  Relative paths in a CSV (``image``,
        ``mask``, ``regions``) are taken relative to the CSV's folder.
    params : path, dict or None
        pyradiomics parameter file (YAML/JSON), a parameter dict as
        ``RadiomicsFeatureExtractor`` accepts (keys ``setting``, ``imageType``,
        ``featureClass``), or None for pyradiomics' defaults.
    labels : int, list of int, dict, str or None
        Label value(s) to extract.  A dict maps names to values, a string names a preset
        (``"mnms"``: LV 1, MYO 2, RV 3; ``"acdc"``: RV 1, MYO 2, LV 3).  With several labels
        every feature is prefixed with the label name (``MYO_original_glcm_Contrast``; list
        entries are named ``label<value>``); with one label given as an int, a one-element
        list or None, names are exactly pyradiomics' own.  None: the manifest's ``label``
        column if present, else the ``label`` setting (default 1).
    n_jobs : int
        Worker processes (one case per task); 1 runs in this process.
    cache_dir : path or None
        Folder for per-case cache files; cases already there (same files, labels, regions and
        settings) are not recomputed.
    progress : bool or None
        Show a tqdm progress bar; None shows it only on an interactive terminal.
    verbose : bool
        Let pyradiomics' warnings and info messages through (by default only its errors are
        shown; failures are reported in ``errors`` either way).
    regions : dict, list of int, str or None
        Regional masks to extract besides the labels, from the label map in the manifest's
        ``regions`` column (same grid as the image; non-zero values are regions, e.g. AHA
        segments).  A dict maps names to region values, a list of values names them
        ``region<value>``, a string names a preset (``"aha16"``: ``AHA1`` .. ``AHA16``;
        ``"aha17"``: ``AHA1`` .. ``AHA17``; see :data:`REGION_PRESETS`).  Every region's
        features and diagnostics are prefixed with its name (``AHA3_original_firstorder_Mean``)
        whatever the labels; a failing region (stage ``read_regions``, ``geometry``, ``label`` or
        ``extract``; an empty ``regions`` cell is a ``read_regions`` error of that case) leaves
        NaN in its columns and an error row.  Requesting regions from a manifest without a
        ``regions`` column raises :class:`ExtractionError`.  None (default): no regions; a
        ``regions`` column is then ignored.
    client : None, "local", str, distributed.Client or Dask cluster
        Run the cases as Dask tasks (one case per task) instead of the local process pool:
        ``"local"`` (a local cluster), a scheduler address, a Client or a cluster object
        (see :mod:`radiogenomics.distributed`).  The cache (written here, as each case
        returns), the errors table and the provenance are those of the local path, and the
        features are identical; a worker that dies is recorded as a failed case.  The image,
        mask and region paths must be readable by the workers (a shared file system).
        pyradiomics is not thread-safe, so a worker process runs one case at a time: give
        workers one thread each (e.g. dask-jobqueue ``processes=cores``) for throughput.
        ``n_jobs`` must stay 1 with a client.

    Returns
    -------
    ExtractionResult
    """
    import radiomics
    import SimpleITK as sitk

    m = _read_manifest(manifest)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ExtractionError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    if client is not None and n_jobs != 1:
        raise ExtractionError(
            f"n_jobs={n_jobs} and client= were both given; with client= the cluster's workers "
            "run the cases: leave n_jobs=1 (or drop client= to use a local process pool)")
    if isinstance(params, (str, os.PathLike)):
        params = str(Path(params).absolute())
    with _quiet_radiomics(verbose):
        extractor = _make_extractor(params)  # validates params in the parent process
    state = _extractor_state(extractor)
    settings_hash = _canonical_hash(state)
    version = str(radiomics.__version__)
    default_label = int(state["setting"].get("label", 1) or 1)
    case_labels = _resolve_labels(labels, m, default_label)
    # named labels (dict, preset, several values) are prefixed; one unnamed label is not
    prefix = any(n is not None for n, _ in case_labels[0])
    region_spec = _checked_regions(regions, m, case_labels, prefix)
    region_maps = (list(m["regions"]) if region_spec is not None else [None] * len(m))

    tasks = [{"sample_id": sid, "image": img, "mask": msk, "labels": lab, "params": params,
              "state": state, "prefix": prefix, "regions": region_spec, "region_map": rmap,
              "verbose": bool(verbose)}
             for sid, img, msk, lab, rmap in zip(m["sample_id"], m["image"], m["mask"],
                                                 case_labels, region_maps)]

    results, cached, cache_paths = _read_cache(tasks, cache_dir, settings_hash, version)
    todo = [t for t in tasks if t["sample_id"] not in results]

    from ._progress import progress as progress_bar
    disable = None if progress is None else not progress
    bar = progress_bar(total=len(tasks), initial=len(cached), desc="radiomics", unit="case",
                       disable=disable, file=sys.stderr)

    def _finish(res):
        results[res["sample_id"]] = res
        p = cache_paths.get(res["sample_id"])
        if p is not None and not res["errors"]:
            _cache_write(p, res)
        bar.update(1)

    try:
        _run_cases(todo, _finish, n_jobs, client)
    finally:
        bar.close()

    order = list(m["sample_id"])
    features, diagnostics, errors, cases = _assemble(m, order, results, cached, region_spec,
                                                     region_maps)
    provenance = {"pyradiomics_version": version, "simpleitk_version": sitk.__version__,
                  "settings_hash": settings_hash, "settings": state,
                  "labels": [[n, v] for n, v in case_labels[0]] if labels is not None else None,
                  "regions": ([[n, v] for n, v in region_spec] if region_spec is not None
                              else None),
                  "regions_source": regions if isinstance(regions, str) else None,
                  "params_source": params if isinstance(params, str) else
                  ("dict" if isinstance(params, dict) else "pyradiomics defaults")}
    if len(order) and features.shape[0] == 0:
        stages = errors.groupby(["stage", "reason"]).size().sort_values(ascending=False)
        detail = "; ".join(f"{st} ({k} case(s)): {reason}" for (st, reason), k in stages.head(3).items())
        warnings.warn(
            f"extract: every one of the {len(order)} case(s) failed, so the feature table is "
            f"empty; most common failures: {detail}; see result.errors and result.cases",
            UserWarning, stacklevel=2)
    return ExtractionResult(features=features, diagnostics=diagnostics, errors=errors,
                            cases=cases, provenance=provenance, n_cached=len(cached))
