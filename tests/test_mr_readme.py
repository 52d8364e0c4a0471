"""The README's Mendelian randomisation example runs as written (files, clumping, estimators,
MR-PRESSO, coloc) and its printed claims hold on its data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code() -> str:
    text = README.read_text()
    section = text.split("## Mendelian randomisation from GWAS files", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.filterwarnings("ignore:maximum likelihood MR:RuntimeWarning")
def test_readme_mr_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_section_code(), "README-mr", "exec"), ns)
    out = capsys.readouterr().out
    # the clumping kept one SNP of each tagging pair, and said why the others went
    clumped = ns["clumped"]
    assert len(clumped.data) == 30 and len(clumped.dropped) == 30
    assert clumped.dropped["reason"].str.contains("LD with a more significant index SNP").all()
    # files read back: nothing dropped; all TwoSampleMR methods ran; coloc and PRESSO printed
    assert ns["mr"].report_table(ns["exposure"]).empty and ns["mr"].report_table(ns["outcome"]).empty
    mr = ns["mr"]
    # 18 multi-SNP methods (the Wald ratio needs exactly one SNP), all finite estimates
    est = ns["est"]
    assert set(est["method"]) == set(mr.METHODS.values()) - {"Wald ratio"}
    assert est["b"].notna().all()
    assert "Robust IVW" in out and "Posterior: H0" in out and "Global test: RSSobs" in out
    # Egger's intercept detects the simulated directional pleiotropy
    eg = mr.mr_pleiotropy_test(ns["dat"])
    assert eg["pval"].iloc[0] < 0.05 and eg["egger_intercept"].iloc[0] > 0


def test_readme_mr_yaml_options_are_the_steps():
    """Every key of the README's `mr` YAML example is an option of the workflow's mr step and
    its values validate (the file paths are checked when a real config is loaded)."""
    import yaml

    from radiogenomics.workflow import step_options

    text = README.read_text().split("## Mendelian randomisation from GWAS files", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(block) == 1
    opts = yaml.safe_load(block[0])["analyses"]["mr"]
    got = step_options("mr", opts)
    for key, value in opts.items():
        v = getattr(got, key)
        assert (v == value) if isinstance(value, (int, float, bool)) else str(v) == str(value), key
