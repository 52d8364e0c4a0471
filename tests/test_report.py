"""The workflow report (radiogenomics.report.render): numbers for people, every figure
embedded and captioned, every table with its full CSV, the opening summary, results.json."""

from __future__ import annotations

import base64
import html as htmllib
import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from _browser import LONG_WORD, synthetic_steps  # noqa: E402
from radiogenomics.report.render import (format_cell, is_p_column, render_report,  # noqa: E402
                                         write_results_json)

META = {"seed": 7, "alpha": 0.05, "n_permutations": 999, "seconds": 12.5}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    steps = synthetic_steps()
    path = render_report("Synthetic study", steps, out, meta=META)
    js = write_results_json(steps, out, meta=META)
    return path, path.read_text(encoding="utf-8"), js, steps


def _section(doc: str, sec_id: str) -> str:
    m = re.search(rf'<section id="{sec_id}"[^>]*>(.*?)</section>', doc, re.S)
    assert m, f"no section {sec_id}"
    return m.group(1)


def _cells(doc: str) -> list[str]:
    return [htmllib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", doc, re.S)]


def test_cells_are_formatted_for_people():
    assert format_cell(0.0, "p") == ("< 1e-300", 0.0)
    assert format_cell(3.2e-8, "p_fwer")[0] == "3.2e-8"
    assert format_cell(0.032, "q")[0] == "0.032"
    assert format_cell(600000.0, "pairs tested")[0] == "600,000"
    assert format_cell(np.int64(1234567), "n")[0] == "1,234,567"
    assert format_cell(0.123456, "r")[0] == "0.1235"
    assert format_cell(float("nan"), "r") == ("NA", None)
    assert format_cell("GENE1", "feature") == ("GENE1", None)
    for c in ("p", "q", "pval", "p_fwer", "p_permutation", "q_bh", "egger_p", "fdr"):
        assert is_p_column(c), c
    for c in ("r", "pc1", "group", "top", "n_pairs", "samples", "estimate"):
        assert not is_p_column(c), c


def test_report_numbers_are_formatted(report):
    _, doc, _, _ = report
    cells = _cells(doc)
    assert cells.count("< 1e-300") == 3              # p, q and p_fwer exactly 0, never "0"
    assert {"600,000", "1,234,567", "30", "20"} <= set(cells)   # counts with separators
    assert not [c for c in cells if "e+" in c or c.endswith(".0")]
    assert "3.2e-8" in cells and "0.032" in cells
    # sortable by the raw value, shown formatted
    assert 'data-sort="0.0">&lt; 1e-300</td>' in doc


def test_every_figure_is_embedded_saved_and_captioned(report):
    path, doc, _, steps = report
    n_fig = sum(type(b).__name__ == "Figure" for s in steps for b in s.fragment.blocks)
    figs = re.findall(r"<figure[^>]*>(.*?)</figure>", doc, re.S)
    assert len(figs) == n_fig == 2
    for k, f in enumerate(figs, start=1):
        src = re.search(r'<img src="data:image/png;base64,([^"]+)"', f).group(1)
        cap = re.search(r"<figcaption>(.*?)</figcaption>", f, re.S).group(1)
        assert cap.startswith(f"<b>Figure {k}.</b> ") and len(cap) > 40
        png = re.search(r'<a class="png" href="([^"]+)"', f).group(1)
        assert (path.parent / png).read_bytes() == base64.b64decode(src)
    assert 'src="' not in re.sub(r'src="data:image/png;base64,', "", doc)  # nothing external


def test_every_table_has_its_full_csv(report):
    path, doc, _, steps = report
    boxes = re.findall(r'<div class="tablebox"(.*?)</table>\s*</div>\s*<p class="note">(.*?)</p>',
                       doc, re.S)
    tables = [b for s in steps for b in s.fragment.blocks if type(b).__name__ == "Table"]
    assert len(boxes) == len(tables) == 3
    for (body, note), tab in zip(boxes, tables):
        csv = re.search(r'<a class="csv" href="([^"]+)"', note).group(1)
        full = pd.read_csv(path.parent / csv)
        assert len(full) == len(tab.df)
        shown = len(re.findall(r"<tr>", body)) - 1            # minus the header row
        assert shown == min(len(tab.df), tab.max_rows)
        if len(tab.df) > tab.max_rows:
            assert f"first {tab.max_rows} of {len(tab.df)} rows" in note
            assert 'type="search"' in body                      # long tables are searchable
    assert doc.count('class="sortable"') == 3
    assert "<script>" in doc and "http" not in re.sub(r"<p[^>]*>.*?</p>", "", doc, flags=re.S)


def test_summary_lists_findings_skips_and_failed_checks(report):
    _, doc, _, steps = report
    summ = htmllib.unescape(_section(doc, "summary"))
    for s in steps:
        for f in s.fragment.findings:
            assert f.text in summ
    assert "the cohort has no genotypes view" in summ              # skipped, with its reason
    assert "1 check failed" in summ
    failed, passed = summ.index("CCA r1 outside"), summ.index("Recovered 9 of 10")
    assert failed < passed                                         # failures first
    assert summ.index("Significant after correction") < summ.index("Out-of-sample")
    # the summary is first, then the methods, then the sections
    assert doc.index('id="summary"') < doc.index('id="methods"') < doc.index('id="sec-cohort"')


def test_methods_cite_numbered_references_and_versions(report):
    _, doc, _, _ = report
    meth = htmllib.unescape(_section(doc, "methods"))
    assert "within centres. [1, 2]" in meth and "leave-one-centre-out. [1]" in meth
    refs = re.findall(r'<li id="ref-(\d)">(.*?)</li>', meth)
    assert [r[0] for r in refs] == ["1", "2"] and refs[0][1].startswith("Winkler")
    assert re.search(r"numpy \d+\.\d+", meth) and re.search(r"Python 3\.\d+", meth)


def test_text_is_escaped_and_steps_keep_their_warnings(report):
    _, doc, _, _ = report
    assert "<script>alert(1)" not in doc and "&lt;script&gt;alert(1)" in doc
    assert LONG_WORD in doc
    assert "3 features were constant in centre B" in doc
    assert "seed 42" in doc
    sk = htmllib.unescape(_section(doc, "sec-mr"))
    assert "Not run (skipped): the cohort has no genotypes view" in sk


def test_results_json_holds_every_record(report):
    _, _, js, steps = report
    d = json.loads(js.read_text())
    assert d["meta"]["seed"] == 7 and d["meta"]["seconds"] == 12.5
    assert re.match(r"3\.\d+", d["meta"]["python"]) and "numpy" in d["meta"]["versions"]
    assert [s["step"] for s in d["steps"]] == [s.record.step for s in steps]
    mr = d["steps"][-1]
    assert mr["status"] == "skipped" and mr["reason"] == "the cohort has no genotypes view"
    assert len(d["findings"]) == sum(len(s.fragment.findings) for s in steps)
    assert d["steps"][1]["seed"] == 42


def test_same_names_get_distinct_files_and_bad_input_is_refused(tmp_path):
    steps = synthetic_steps(n_long=12)
    steps[2].fragment.blocks[0].name = "cohort_counts"         # clashes with step 1's table
    render_report("t", steps, tmp_path)
    assert (tmp_path / "cohort_counts.csv").exists() and (tmp_path / "cohort_counts_2.csv").exists()
    assert len(pd.read_csv(tmp_path / "cohort_counts_2.csv").columns) == 31
    with pytest.raises(TypeError, match="StepResult"):
        render_report("t", [object()], tmp_path)


def test_p_values_keep_two_significant_figures_and_papers_get_one_number():
    """Review of issue 15: 0.06 printed as '0.06' beside '0.0021' and the same paper, worded
    differently by two steps, got two reference numbers."""
    from radiogenomics.report.format import fmt_p
    from radiogenomics.report.render import _Ref

    assert [fmt_p(p) for p in (0.5, 0.06, 0.0021, 0.001, 3.4e-8, 0.0)] == \
        ["0.50", "0.060", "0.0021", "0.0010", "3.4e-8", "< 1e-300"]
    refs = _Ref()
    a = refs.cite("Winkler AM, Ridgway GR, Webster MA, Smith SM, Nichols TE (2014) Permutation "
                  "inference for the general linear model. NeuroImage 92:381-397")
    b = refs.cite("Winkler AM et al. (2014) NeuroImage 92:381")
    c = refs.cite("Winkler AM et al. (2020) NeuroImage 220:117065")
    assert a == b == 1 and c == 2 and len(refs.citations) == 2
