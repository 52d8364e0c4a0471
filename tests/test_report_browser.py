"""The report in a real browser (headless Chromium): every image loads, no text overflows
its box, the page does not scroll sideways, no section is empty, and the embedded table
script sorts and searches.  Skipped with the reason where no Chromium is installed
(``scripts/dev.sh test`` installs Debian's chromium in CI)."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from _browser import browser_checks, find_chromium, problems, run_in_browser, synthetic_steps  # noqa: E402,I001

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium not installed (Debian: apt-get install chromium; "
           "scripts/dev.sh test installs it when run as root in CI)")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from radiogenomics.report.render import render_report

    out = tmp_path_factory.mktemp("browser")
    return render_report("Synthetic study", synthetic_steps(), out,
                         meta={"seed": 1, "alpha": 0.05, "seconds": 3.0})


@pytest.mark.parametrize("width", [1280, 720])
def test_report_renders_cleanly_in_chromium(report, width):
    c = browser_checks(report, width=width)
    assert problems(c) == []
    assert c["images"] == 2 and c["tables"] == 3
    assert c["sections"] == 7                       # summary, methods, 5 steps
    assert c["checked_elements"] > 40               # the checks saw the page's text


def test_browser_checks_catch_a_broken_page(tmp_path):
    """The checks are not vacuous: a page with a broken image, a line too long for its box
    and an empty section fails each of them."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='width:400px'>"
        "<section id='a'><h2>A</h2><p style='white-space:nowrap'>" + "word " * 200 + "</p>"
        "<img src='missing.png' alt='gone'></section>"
        "<section id='b'><h2>Empty</h2></section>"
        "<div class='scroll' style='overflow-x:auto'><p style='white-space:nowrap'>"
        + "fine " * 200 + "</p></div></body></html>")
    c = browser_checks(page)
    assert c["broken_images"] == ["gone"]
    assert [o["tag"] for o in c["overflow"]] == ["p"]         # the scroll container is exempt
    assert c["empty_sections"] == ["b"]
    assert len(problems(c)) >= 3


SORT_SEARCH = r"""
var box = document.querySelector("[id$='-table-2']");         // the long association table
var table = box.querySelector("table");
var col = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) {
  return c.textContent; }).indexOf("p");
var first = function () { return table.tBodies[0].rows[0].cells[col].textContent; };
var before = first();
table.tHead.rows[0].cells[col].click();
var asc = first();
table.tHead.rows[0].cells[col].click();
var desc = first();
var input = box.querySelector("input.tsearch");
input.value = "GENE17";
input.dispatchEvent(new Event("input"));
var visible = Array.prototype.filter.call(table.tBodies[0].rows, function (r) {
  return r.style.display !== "none"; }).length;
out = {before: before, asc: asc, desc: desc, visible: visible,
       count: box.querySelector(".tcount").textContent};
"""


def test_tables_sort_numerically_and_search(report):
    r = run_in_browser(report, SORT_SEARCH)
    assert r["asc"] == "< 1e-300"                  # sorted by value, not by text
    assert r["desc"] != "< 1e-300" and float(r["desc"]) > 0.5
    assert r["visible"] == 1 and r["count"] == "1 of 40 rows match"
