"""The ``spatial`` workflow step from a user's files, and its YAML block.

The demo's writer (:func:`radiogenomics.demo._write_spatial`) puts a simulated study on disk
(.h5ad, one .mha map per section, landmarks CSV); the step reads the files back, registers,
samples and screens; the configuration resolves the section -> image mapping relative to the
configuration file."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.demo import _write_spatial
from radiogenomics.workflow import StepContext, run_step
from radiogenomics.workflow.config import ConfigError, load_config, plan_from_config


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("spatial")
    return out, _write_spatial(out, 5)


def _ctx(out):
    return StepContext(cohort=None, out_dir=out, rng=np.random.default_rng(1),
                       n_permutations=99)


def test_step_from_files_finds_the_planted_genes(files):
    import matplotlib

    matplotlib.use("Agg")
    out, opts = files
    res = run_step("spatial", _ctx(out), {**opts, "permutations": 99,
                                          "compare_nulls": ["permutation"]})
    assert res.ok, res
    n = res.record.numbers
    # 10 planted genes; the MSR max-T screen finds most with at most one false positive, the
    # naive t-test many false ones
    assert n["true_found"]["msr null, max-T"] >= 8 and n["false_positives"]["msr null, max-T"] <= 1
    assert n["false_positives"]["naive t-test, BH q"] > n["false_positives"]["msr null, max-T"]
    regs = res.result["inputs"]["registrations"]
    assert set(regs) == {"S1", "S2", "S3", "S4"}
    assert all(r.rmse < 55 for r in regs.values())     # below one spot diameter
    names = [b.name for b in res.fragment.blocks if hasattr(b, "name")]
    assert {"spatial_registration", "spatial_genes", "spatial_null_comparison",
            "spatial_nulls", "spatial_colocalisation"} <= set(names)
    # same seed for the step: same table
    again = run_step("spatial", _ctx(out), {**opts, "permutations": 99,
                                            "compare_nulls": ["permutation"]})
    pd.testing.assert_frame_equal(res.result["main"].table, again.result["main"].table)


def test_step_errors_name_the_fix(files, tmp_path):
    out, opts = files
    bad = dict(opts)
    bad["images"] = {k: v for k, v in opts["images"].items() if k != "S2"}
    with pytest.raises(InputError, match="no imaging map for section 'S2'"):
        run_step("spatial", _ctx(out), bad)
    lm = pd.read_csv(opts["landmarks"]).drop(columns="x_spot")
    lm.to_csv(tmp_path / "lm.csv", index=False)
    with pytest.raises(InputError, match="lacks column"):
        run_step("spatial", _ctx(out), {**opts, "landmarks": tmp_path / "lm.csv"})


def test_config_block_resolves_section_images(files, tmp_path):
    out, opts = files
    g = np.random.default_rng(0)
    ids = pd.Index([f"P{i}" for i in range(20)], name="sample_id")
    pd.DataFrame(g.normal(size=(20, 3)), ids, ["a", "b", "c"]).to_csv(out / "rad.csv")
    rel = {k: v.relative_to(out) for k, v in opts["images"].items()}
    images = "\n".join(f"      {k}: {v}" for k, v in rel.items())
    text = textwrap.dedent(f"""\
        data:
          views:
            radiomics: rad.csv
        analyses:
          spatial:
            adata: {opts['adata'].relative_to(out)}
            landmarks: {opts['landmarks'].relative_to(out)}
            null_model: spin
            images:
        """) + images + "\n"
    (out / "config.yaml").write_text(text)
    cfg = load_config(out / "config.yaml")
    step, o = [p for p in plan_from_config(cfg) if p[0] == "spatial"][0]
    assert o.images == opts["images"] and o.null_model == "spin"
    (out / "bad.yaml").write_text(text.replace("null_model: spin", "null_model: spinn"))
    with pytest.raises(ConfigError, match="null_model"):
        load_config(out / "bad.yaml")
    (out / "bad2.yaml").write_text(text.replace(str(rel["S1"]), "nowhere.mha"))
    with pytest.raises(ConfigError, match="nowhere.mha"):
        load_config(out / "bad2.yaml")
