"""Radiomic feature extraction over a manifest of cases with pyradiomics.

:func:`extract` runs pyradiomics' ``RadiomicsFeatureExtractor`` on every case of a manifest
(one row per case: ``sample_id``, ``image``, ``mask`` and optionally ``label`` and ``centre``)
and collects

* ``features``: samples x features, names exactly as pyradiomics writes them
  (``original_glcm_Contrast``), prefixed with the label name when several labels are extracted
  (``MYO_original_glcm_Contrast``);
* ``diagnostics``: pyradiomics' ``diagnostics_*`` entries, kept apart from the features;
* ``errors``: one row per failed (case, label) with the stage and a reason naming the fix.

Design points:

* Cases are run from our own :class:`~concurrent.futures.ProcessPoolExecutor`, one case per
  task (pyradiomics' own batch mode hands out chunks of 10 and busy-waits, so it gives no
  speed-up for small batches).  ``n_jobs=1`` runs in-process.
* A failing case never stops the batch and is never dropped silently: unreadable files, an
  empty mask, a label absent from the mask, an image/mask geometry mismatch and any error
  raised by pyradiomics are recorded in ``errors`` (``stage`` is one of ``read_image``,
  ``read_mask``, ``geometry``, ``label``, ``extract``).  A case whose labels partly fail keeps
  a row in ``features`` with NaN for the failed label's columns; a case where every label
  fails has no row in ``features``.  ``cases`` gives the status of every manifest row.
* ``cache_dir``: every case that finished without error is written atomically (temporary file
  then :func:`os.replace`) as a small JSON file (exact float round trip) named by a SHA-256 of
  the image and mask (absolute path, modification time, size), the labels, the extraction
  settings and the pyradiomics version.  A rerun reads those cases from the cache; a changed
  file or setting changes the name and forces a new extraction.  Failed cases are not cached
  (they are retried on the next run).

Label conventions conflict between data sets (ACDC: 1 = RV, 2 = MYO, 3 = LV; M&Ms:
1 = LV, 2 = MYO, 3 = RV), so presets are provided and the names are written into the
feature names.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["extract", "ExtractionResult", "LABEL_PRESETS", "ExtractionError"]

LABEL_PRESETS = {
    "mnms": {"LV": 1, "MYO": 2, "RV": 3},
    "acdc": {"RV": 1, "MYO": 2, "LV": 3},
}

ERROR_COLUMNS = ["sample_id", "label", "stage", "reason"]
_CACHE_FORMAT = 1


class ExtractionError(ValueError):
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
                              f"mask (optional: label, centre); it has {list(manifest.columns)}")
    m = manifest.reset_index(drop=True).copy()
    if m["sample_id"].isna().any():
        raise ExtractionError("manifest has empty sample_id values; give every case an ID")
    m["sample_id"] = m["sample_id"].astype(str)
    dup = m["sample_id"][m["sample_id"].duplicated()].unique()
    if len(dup):
        raise ExtractionError(f"duplicated sample_id in manifest: {list(dup[:5])}; each row "
                              "must be one case (use labels= for several ROIs of one case)")
    for col in ("image", "mask"):
        if m[col].isna().any():
            bad = list(m.loc[m[col].isna(), "sample_id"][:5])
            raise ExtractionError(f"manifest has no {col} path for sample(s) {bad}")

        def _abs(p, base=base):
            p = Path(str(p)).expanduser()
            if not p.is_absolute() and base is not None:
                p = base / p
            return str(p.absolute())
        m[col] = m[col].map(_abs)
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


def _as_label_value(v, what) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ExtractionError(f"{what}: label value {v!r} is not a number; label values are "
                              "the integer voxel values of the mask") from None
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


def _file_stamp(path: str):
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


def _geometry_problem(image, mask, tol: float) -> str | None:
    if image.GetDimension() != mask.GetDimension():
        return (f"image is {image.GetDimension()}-D but mask is {mask.GetDimension()}-D")
    parts = []
    if image.GetSize() != mask.GetSize():
        parts.append(f"size image {image.GetSize()} vs mask {mask.GetSize()}")
    for what, a, b in (("spacing", image.GetSpacing(), mask.GetSpacing()),
                       ("origin", image.GetOrigin(), mask.GetOrigin()),
                       ("direction", image.GetDirection(), mask.GetDirection())):
        if not np.allclose(a, b, rtol=0, atol=tol * max(1.0, float(np.max(np.abs(a))))):
            parts.append(f"{what} image {tuple(round(x, 6) for x in a)} vs mask "
                         f"{tuple(round(x, 6) for x in b)}")
    if parts:
        return ("image and mask geometry differ (" + "; ".join(parts) + "); resample the mask "
                "onto the image grid (or set correctMask: True in the parameters for small "
                "differences)")
    return None


def _label_text(name, value):
    return f"{value}" if name is None else f"{value} ({name})"


def _run_case(task: dict) -> dict:
    """Extract one case (all its labels).  Never raises: failures go to ``errors``."""
    import SimpleITK as sitk

    sid = task["sample_id"]
    out = {"sample_id": sid, "features": {}, "diagnostics": {}, "errors": []}
    label_names = [_label_text(n, v) for n, v in task["labels"]]

    def fail_all(stage, reason):
        for lt in label_names:
            out["errors"].append({"sample_id": sid, "label": lt, "stage": stage, "reason": reason})
        return out

    imgs = {}
    for key in ("image", "mask"):
        path = task[key]
        if not os.path.isfile(path):
            return fail_all(f"read_{key}", f"{key} file {path!r} does not exist; check the "
                                           "manifest path")
        try:
            imgs[key] = sitk.ReadImage(path)
        except Exception as e:  # noqa: BLE001 - recorded, batch continues
            return fail_all(f"read_{key}", f"cannot read {key} file {path!r} ({_short(e)}); "
                                           "check that it is a complete image file in a format "
                                           "SimpleITK reads (NRRD, NIfTI, MHA, ...)")
    image, mask = imgs["image"], imgs["mask"]
    settings = task["state"]["setting"]
    if not settings.get("correctMask", False):
        tol = settings.get("geometryTolerance") or 1e-6
        problem = _geometry_problem(image, mask, float(tol))
        if problem:
            return fail_all("geometry", problem)
    try:
        marr = sitk.GetArrayViewFromImage(mask)
        present = sorted(int(v) for v in np.unique(marr) if v != 0)
    except Exception as e:  # noqa: BLE001
        return fail_all("read_mask", f"cannot read mask voxel values ({_short(e)})")
    if not present:
        return fail_all("label", "mask is empty (no non-zero voxel); check the segmentation file")

    try:
        extractor = _make_extractor(task["params"])
    except Exception as e:  # noqa: BLE001
        return fail_all("extract", f"cannot build the pyradiomics extractor ({_short(e)})")

    multi = task["prefix"]
    for (name, value), lt in zip(task["labels"], label_names):
        if value not in present:
            out["errors"].append({
                "sample_id": sid, "label": lt, "stage": "label",
                "reason": (f"label {lt} is not present in the mask (labels present: {present}); "
                           "check the label value / convention (e.g. labels='acdc' vs 'mnms')")})
            continue
        try:
            res = extractor.execute(image, mask, label=value)
        except Exception as e:  # noqa: BLE001
            out["errors"].append({"sample_id": sid, "label": lt, "stage": "extract",
                                  "reason": f"pyradiomics failed: {_short(e)}"})
            continue
        prefix = f"{name}_" if (multi and name is not None) else ""
        for k, v in res.items():
            if k.startswith("diagnostics_"):
                out["diagnostics"][prefix + k] = _plain(v, numeric=False)
            else:
                out["features"][prefix + k] = _plain(v, numeric=True)
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
    return _canonical_hash({"format": _CACHE_FORMAT, "image": _file_stamp(task["image"]),
                            "mask": _file_stamp(task["mask"]),
                            "labels": [[n, v] for n, v in task["labels"]],
                            "prefix": task["prefix"], "settings": settings_hash,
                            "pyradiomics": version})


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
        Columns ``sample_id, label, stage, reason``; one row per failed (case, label).
    cases : DataFrame
        One row per manifest case: ``sample_id, image, mask, centre, status, cached`` with
        status ``ok``, ``partial`` (some labels failed) or ``failed``.
    provenance : dict
        pyradiomics and SimpleITK versions, settings hash, settings, labels.
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


# --------------------------------------------------------------------------- main

def extract(manifest, params=None, labels=None, n_jobs: int = 1, cache_dir=None,
            progress=None) -> ExtractionResult:
    """Extract pyradiomics features for every case of a manifest.

    Parameters
    ----------
    manifest : DataFrame or path to CSV
        Columns ``sample_id``, ``image``, ``mask`` and optionally ``label`` (per-case label
        value, used when ``labels`` is None) and ``centre``.  Relative paths in a CSV are taken
        relative to the CSV's folder.
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
        Folder for per-case cache files; cases already there (same files, labels and
        settings) are not recomputed.
    progress : bool or None
        Show a tqdm progress bar; None shows it only on an interactive terminal.

    Returns
    -------
    ExtractionResult
    """
    import radiomics
    import SimpleITK as sitk

    m = _read_manifest(manifest)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ExtractionError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    if isinstance(params, (str, os.PathLike)):
        params = str(Path(params).absolute())
    extractor = _make_extractor(params)  # validates params in the parent process
    state = _extractor_state(extractor)
    settings_hash = _canonical_hash(state)
    version = str(radiomics.__version__)
    default_label = int(state["setting"].get("label", 1) or 1)
    case_labels = _resolve_labels(labels, m, default_label)
    # named labels (dict, preset, several values) are prefixed; one unnamed label is not
    prefix = any(n is not None for n, _ in case_labels[0])

    tasks = [{"sample_id": sid, "image": img, "mask": msk, "labels": lab, "params": params,
              "state": state, "prefix": prefix}
             for sid, img, msk, lab in zip(m["sample_id"], m["image"], m["mask"], case_labels)]

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
    todo = [t for t in tasks if t["sample_id"] not in results]

    from tqdm.auto import tqdm
    disable = None if progress is None else not progress
    bar = tqdm(total=len(tasks), initial=len(cached), desc="radiomics", unit="case",
               disable=disable, file=sys.stderr)

    def _finish(res):
        results[res["sample_id"]] = res
        p = cache_paths.get(res["sample_id"])
        if p is not None and not res["errors"]:
            _cache_write(p, res)
        bar.update(1)

    try:
        if n_jobs == 1 or len(todo) <= 1:
            for t in todo:
                _finish(_run_case(t))
        else:
            with ProcessPoolExecutor(max_workers=min(int(n_jobs), len(todo))) as pool:
                futs = {pool.submit(_run_case, t): t for t in todo}
                for fut in as_completed(futs):
                    t = futs[fut]
                    try:
                        res = fut.result()
                    except Exception as e:  # noqa: BLE001 - e.g. a worker process crashed
                        res = {"sample_id": t["sample_id"], "features": {}, "diagnostics": {},
                               "errors": [{"sample_id": t["sample_id"],
                                           "label": _label_text(n, v), "stage": "extract",
                                           "reason": f"worker process failed: {_short(e)}"}
                                          for n, v in t["labels"]]}
                    _finish(res)
    finally:
        bar.close()

    order = list(m["sample_id"])
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
    provenance = {"pyradiomics_version": version, "simpleitk_version": sitk.__version__,
                  "settings_hash": settings_hash, "settings": state,
                  "labels": [[n, v] for n, v in case_labels[0]] if labels is not None else None,
                  "params_source": params if isinstance(params, str) else
                  ("dict" if isinstance(params, dict) else "pyradiomics defaults")}
    return ExtractionResult(features=features, diagnostics=diagnostics, errors=errors,
                            cases=cases, provenance=provenance, n_cached=len(cached))
