"""Tests of radiogenomics.radiomics on real pyradiomics (data: tests/data/radiomics/README.md)."""

import ast
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("radiomics")
sitk = pytest.importorskip("SimpleITK")

from radiogenomics.radiomics import (LABEL_PRESETS, ExtractionError, ExtractionResult,  # noqa: E402
                                     extract)

DATA = Path(__file__).parent / "data" / "radiomics"
IMG = DATA / "breast1_image.nrrd"
LBL = DATA / "breast1_label.nrrd"
# stated tolerances: upstream allows |1 - value/baseline| < 0.03; measured here max 9.1e-4 (shape
# only, mesh-based features), every other class < 1e-11.  We require 1e-6, shape 3e-3.
REL_TOL = 1e-6
REL_TOL_SHAPE = 3e-3
FAST = {"setting": {"binWidth": 25}, "imageType": {"Original": {}},
        "featureClass": {"firstorder": []}}


def _baseline():
    b = pd.read_csv(DATA / "baseline_breast1.csv", index_col=0)["breast1"]
    settings = ast.literal_eval(b["diagnostics_Configuration_Settings"])
    feats = b[[i for i in b.index if not i.startswith("diagnostics_")]].astype(float)
    return settings, feats


def _manifest(rows):
    return pd.DataFrame(rows, columns=["sample_id", "image", "mask"])


def _rel(a, b):
    return (1 - a / b).abs()


def test_parity_with_pyradiomics_baseline_breast1():
    settings, base = _baseline()
    classes = {i.split("_")[1] for i in base.index}
    assert classes == {"shape", "firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm"}
    res = extract(_manifest([("breast1", str(IMG), str(LBL))]),
                  params={"setting": settings, "imageType": {"Original": {}}})
    assert isinstance(res, ExtractionResult)
    assert res.errors.empty and res.n_cached == 0
    f = res.features.loc["breast1"]
    assert set(base.index) <= set(f.index)       # every baseline feature, same names
    assert not any(c.startswith("diagnostics_") for c in res.features.columns)
    assert any(c.startswith("diagnostics_") for c in res.diagnostics.columns)
    rel = _rel(f[base.index], base)
    shape = rel.index.str.startswith("original_shape_")
    assert rel[shape].max() < REL_TOL_SHAPE
    assert rel[~shape].max() < REL_TOL
    # pyradiomics' own defaults differ from the baseline only by voxelArrayShift (2000 vs 0),
    # which changes exactly the three intensity-offset-dependent first-order features
    d = extract(_manifest([("breast1", str(IMG), str(LBL))])).features.loc["breast1"]
    rel_d = _rel(d[base.index], base)
    off = {"original_firstorder_Energy", "original_firstorder_TotalEnergy",
           "original_firstorder_RootMeanSquared"}
    assert set(rel_d[rel_d > REL_TOL_SHAPE].index) == off
    prov = res.provenance
    assert prov["pyradiomics_version"].lstrip("v").startswith("3.")
    assert prov["simpleitk_version"] == sitk.__version__
    assert len(prov["settings_hash"]) == 64
    assert "1 ok" in res.summary() and "ExtractionResult(n_cases=1" in repr(res)
    assert res.to_frame().equals(res.features)
    assert res.to_frame(diagnostics=True).shape[1] == res.features.shape[1] + res.diagnostics.shape[1]


def test_multilabel_prefix_cardiac_presets():
    m = _manifest([("c0", str(DATA / "cardiac_000_image.nrrd"), str(DATA / "cardiac_000_label.nrrd"))])
    res = extract(m, params=FAST, labels="mnms")
    assert res.errors.empty
    cols = res.features.columns
    for name in ("LV", "MYO", "RV"):
        assert f"{name}_original_firstorder_Mean" in cols
    assert not any(c.startswith("original_") for c in cols)
    # acdc swaps LV and RV: same numbers, swapped names
    acdc = extract(m, params=FAST, labels="acdc")
    assert acdc.features.loc["c0", "RV_original_firstorder_Mean"] == \
        res.features.loc["c0", "LV_original_firstorder_Mean"]
    # one unnamed label: pyradiomics' own names; equals the prefixed MYO column
    one = extract(m, params=FAST, labels=2)
    assert "original_firstorder_Mean" in one.features.columns
    assert one.features.loc["c0", "original_firstorder_Mean"] == \
        res.features.loc["c0", "MYO_original_firstorder_Mean"]
    assert LABEL_PRESETS["mnms"] == {"LV": 1, "MYO": 2, "RV": 3}
    with pytest.raises(ExtractionError, match="unknown label preset"):
        extract(m, params=FAST, labels="myops")


def _write(img, path):
    sitk.WriteImage(img, str(path))
    return str(path)


def test_failures_are_recorded_and_good_case_succeeds(tmp_path):
    mask = sitk.ReadImage(str(LBL))
    corrupt = tmp_path / "corrupt_image.nrrd"
    corrupt.write_bytes(IMG.read_bytes()[:2000])                     # truncated file
    empty = _write(mask * 0, tmp_path / "empty_label.nrrd")          # no ROI at all
    relabel = _write(mask * 2, tmp_path / "label2.nrrd")              # ROI has value 2, not 1
    small = sitk.RegionOfInterest(mask, [40, 100, 21], [0, 0, 0])     # different size
    wrong_geom = _write(small, tmp_path / "small_label.nrrd")
    spaced = sitk.Image(mask)
    spaced.SetSpacing([1.0, 1.0, 3.0])                                # same size, other spacing
    wrong_spacing = _write(spaced, tmp_path / "spacing_label.nrrd")
    m = _manifest([("good", str(IMG), str(LBL)),
                   ("corrupt", str(corrupt), str(LBL)),
                   ("missing", str(tmp_path / "nope.nrrd"), str(LBL)),
                   ("empty", str(IMG), empty),
                   ("wronglabel", str(IMG), relabel),
                   ("size", str(IMG), wrong_geom),
                   ("spacing", str(IMG), wrong_spacing)])
    res = extract(m, params=FAST, n_jobs=2)
    assert list(res.features.index) == ["good"]
    assert np.isfinite(res.features.loc["good"]).all()
    err = res.errors.set_index("sample_id")
    assert sorted(err.index) == sorted(m["sample_id"][1:])          # nothing silently dropped
    assert err.loc["corrupt", "stage"] == "read_image"
    assert "cannot read image file" in err.loc["corrupt", "reason"]
    assert err.loc["missing", "stage"] == "read_image" and "does not exist" in err.loc["missing", "reason"]
    assert err.loc["empty", "stage"] == "label" and "mask is empty" in err.loc["empty", "reason"]
    assert err.loc["wronglabel", "stage"] == "label"
    assert "not present in the mask (labels present: [2])" in err.loc["wronglabel", "reason"]
    assert err.loc["size", "stage"] == "geometry" and "size image (45, 120, 21)" in err.loc["size", "reason"]
    assert err.loc["spacing", "stage"] == "geometry" and "spacing" in err.loc["spacing", "reason"]
    st = res.cases.set_index("sample_id")["status"]
    assert st["good"] == "ok" and (st.drop("good") == "failed").all()
    assert "6 failed" in res.summary()


def test_partial_label_failure_keeps_other_labels():
    m = _manifest([("b", str(IMG), str(LBL))])
    res = extract(m, params=FAST, labels={"ROI": 1, "OTHER": 5})
    assert res.cases["status"].tolist() == ["partial"]
    assert res.features["ROI_original_firstorder_Mean"].notna().all()
    assert res.errors[["label", "stage"]].values.tolist() == [["5 (OTHER)", "label"]]


def test_cache_rerun_reads_cache(tmp_path):
    img = shutil.copy(IMG, tmp_path / "img.nrrd")
    m = _manifest([("a", img, str(LBL)), ("b", str(IMG), str(LBL)),
                   ("bad", str(tmp_path / "nope.nrrd"), str(LBL))])
    cache = tmp_path / "cache"
    first = extract(m, params=FAST, cache_dir=cache)
    assert first.n_cached == 0
    assert len(list(cache.glob("*.json"))) == 2                      # failed case not cached
    assert not list(cache.glob(".tmp_*"))
    second = extract(m, params=FAST, cache_dir=cache)
    assert second.n_cached == 2
    pd.testing.assert_frame_equal(first.features, second.features)
    assert second.cases.set_index("sample_id")["cached"].to_dict() == {"a": True, "b": True,
                                                                       "bad": False}
    assert len(second.errors) == 1
    # a changed image file changes the hash: the case is recomputed (and fails if unreadable)
    Path(img).write_bytes(b"not an image")
    third = extract(m, params=FAST, cache_dir=cache)
    assert third.n_cached == 1
    assert set(third.errors["sample_id"]) == {"a", "bad"}
    # other settings give other cache entries
    other = extract(m.iloc[1:2], params={**FAST, "setting": {"binWidth": 10}}, cache_dir=cache)
    assert other.n_cached == 0


def test_manifest_csv_relative_paths_and_validation(tmp_path):
    shutil.copy(IMG, tmp_path / "i.nrrd")
    shutil.copy(LBL, tmp_path / "m.nrrd")
    pd.DataFrame({"sample_id": [7], "image": ["i.nrrd"], "mask": ["m.nrrd"], "label": [1],
                  "centre": ["X"]}).to_csv(tmp_path / "man.csv", index=False)
    res = extract(tmp_path / "man.csv", params=FAST)
    assert list(res.features.index) == ["7"] and res.cases["centre"].tolist() == ["X"]
    (tmp_path / "p.yaml").write_text("setting:\n  binWidth: 25\nimageType:\n  Original: {}\n"
                                     "featureClass:\n  firstorder:\n")
    from_yaml = extract(tmp_path / "man.csv", params=tmp_path / "p.yaml")
    pd.testing.assert_frame_equal(from_yaml.features, res.features)
    assert from_yaml.provenance["settings_hash"] == res.provenance["settings_hash"]
    with pytest.raises(ExtractionError, match="lacks column"):
        extract(pd.DataFrame({"sample_id": ["a"], "image": ["x"]}))
    with pytest.raises(ExtractionError, match="duplicated sample_id"):
        extract(_manifest([("a", "x", "y"), ("a", "x", "y")]))
    with pytest.raises(ExtractionError, match="parameter file"):
        extract(_manifest([("a", "x", "y")]), params=tmp_path / "none.yaml")
