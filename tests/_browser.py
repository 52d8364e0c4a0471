"""Helpers of the report tests: synthetic workflow steps, and checks of a rendered report in
a real browser (headless Chromium).

``browser_checks(html_path)`` works on any report, e.g. the demo's::

    import sys; sys.path.insert(0, "tests")
    from _browser import browser_checks, problems
    print(problems(browser_checks("demo_report/report.html")))

It writes a copy of the report with an injected script that, once the page has loaded,
checks that every image loaded (``naturalWidth > 0``), that no paragraph, cell, list item,
caption or heading overflows its box (``scrollWidth <= clientWidth + 1``; the horizontally
scrollable table containers ``.scroll`` are exempt: they scroll by design), that the page
itself does not scroll sideways, and that no section is empty; the script writes its JSON
into ``<pre id="checks">``, which ``chromium --headless --dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

CHECK_JS = r"""
  out = {images: 0, broken_images: [], overflow: [], empty_sections: [], sections: 0,
             tables: document.querySelectorAll("table").length, checked_elements: 0,
             page_overflow: null, wide_images: []};
  document.querySelectorAll("img").forEach(function (img) {
    out.images += 1;
    if (!img.complete || img.naturalWidth === 0) {
      out.broken_images.push((img.getAttribute("alt") || img.src).slice(0, 120));
    }
    var box = img.parentElement.getBoundingClientRect();
    if (img.getBoundingClientRect().width > box.width + 1) {
      out.wide_images.push((img.getAttribute("alt") || "").slice(0, 120));
    }
  });
  var sel = "p, td, th, li, caption, figcaption, h1, h2, h3";
  document.querySelectorAll(sel).forEach(function (el) {
    if (el.closest(".scroll") || el.closest("#checks")) { return; }
    out.checked_elements += 1;
    if (el.scrollWidth > el.clientWidth + 1) {
      out.overflow.push({tag: el.tagName.toLowerCase(), scrollWidth: el.scrollWidth,
                         clientWidth: el.clientWidth,
                         text: (el.textContent || "").trim().slice(0, 100)});
    }
  });
  out.page_overflow = document.documentElement.scrollWidth > window.innerWidth + 1;
  document.querySelectorAll("section").forEach(function (s) {
    out.sections += 1;
    var clone = s.cloneNode(true);
    clone.querySelectorAll("h1, h2, h3").forEach(function (h) { h.remove(); });
    var text = (clone.textContent || "").trim();
    if (!text && !s.querySelector("img, table")) {
      var h = s.querySelector("h1, h2, h3");
      out.empty_sections.push(s.id || (h ? h.textContent : "?"));
    }
  });
"""


def find_chromium() -> str | None:
    """The path of a Chromium / Chrome binary, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_in_browser(html_path, script: str, width: int = 1280, height: int = 900,
                   timeout: float = 120.0):
    """Load a copy of ``html_path`` with ``script`` (JavaScript, run on the page's ``load``
    event, that assigns its result to ``out``) in headless Chromium; return ``out`` parsed
    from JSON.  The copy sits beside the original (relative links resolve as for the user)
    and is removed afterwards."""
    exe = find_chromium()
    if exe is None:
        raise RuntimeError(f"no Chromium found (tried {', '.join(CHROMIUM_NAMES)}); "
                           "install Debian's chromium package")
    src = Path(html_path).resolve()
    doc = src.read_text(encoding="utf-8")
    if "</body>" not in doc:
        raise ValueError(f"{src} has no </body>: not an HTML report")
    inject = ('<script>window.addEventListener("load", function () { var out = null;\n'
              + script + '\nvar pre = document.createElement("pre"); pre.id = "checks"; '
              'pre.textContent = JSON.stringify(out); document.body.appendChild(pre); });'
              "</script>")
    i = doc.rindex("</body>")
    doc = doc[:i] + inject + doc[i:]
    with tempfile.TemporaryDirectory(prefix="rg-browser-") as tmp:
        fd, copy = tempfile.mkstemp(dir=src.parent, prefix=".browser-check-", suffix=".html")
        os.close(fd)
        try:
            Path(copy).write_text(doc, encoding="utf-8")
            cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-dev-shm-usage", f"--user-data-dir={tmp}",
                   f"--window-size={int(width)},{int(height)}",
                   "--virtual-time-budget=10000", "--dump-dom", Path(copy).as_uri()]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        finally:
            Path(copy).unlink(missing_ok=True)
    m = re.search(r'<pre id="checks">(.*?)</pre>', proc.stdout, re.S)
    if m is None:
        raise RuntimeError(f"Chromium printed no check result (exit {proc.returncode}); "
                           f"stderr: {proc.stderr[-2000:]}")
    return json.loads(html.unescape(m.group(1)))


def browser_checks(html_path, width: int = 1280, height: int = 900,
                   timeout: float = 120.0) -> dict:
    """Load ``html_path`` in headless Chromium at ``width`` x ``height`` CSS pixels and return
    the checks' results: ``images``, ``broken_images``, ``wide_images``, ``overflow`` (list of
    ``{tag, scrollWidth, clientWidth, text}``), ``page_overflow``, ``sections``,
    ``empty_sections``, ``tables``, ``checked_elements``.

    Raises RuntimeError when no Chromium is installed or it printed no result."""
    return run_in_browser(html_path, CHECK_JS, width, height, timeout)


def problems(checks: dict) -> list[str]:
    """The failed checks of :func:`browser_checks` as sentences (empty: all passed)."""
    out = []
    if checks["broken_images"]:
        out.append(f"images that did not load: {checks['broken_images']}")
    if checks["wide_images"]:
        out.append(f"images wider than their container: {checks['wide_images']}")
    if checks["overflow"]:
        out.append(f"text overflowing its container: {checks['overflow'][:10]}")
    if checks["page_overflow"]:
        out.append("the page scrolls sideways")
    if checks["empty_sections"]:
        out.append(f"empty sections: {checks['empty_sections']}")
    return out


# ----------------------------------------------------------------------------- synthetic steps

LONG_WORD = "original_glszm_GrayLevelNonUniformityNormalized" * 4
P_VALUES = [0.0, 3.2e-8, 0.00042, 0.032, 0.5]


def synthetic_steps(n_long: int = 60):
    """Five StepResults that exercise every part of the report: counts and p-values (one
    exactly 0), a long table with long feature names, a wide table, figures, citations,
    every kind of finding (one failed check), a warning and a skipped step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from radiogenomics.plotting import plot_cohort_overview
    from radiogenomics.workflow._base import (Fragment, StepRecord, StepResult, skipped)

    rng = np.random.default_rng(0)

    class Summ:                                 # what plot_cohort_overview reads
        centres = pd.DataFrame({"radiomics": [30, 20], "expression": [25, 18],
                                "total": [30, 20]}, index=pd.Index(["A", "B"], name="centre"))

    f1 = Fragment("Cohort", methods="Samples were counted per view and centre.")
    f1.text("The cohort has 50 patients from 2 centres.")
    f1.table(pd.DataFrame({"samples": [30, 20], "pairs tested": [600000.0, 1234567.0]},
                          index=pd.Index(["A", "B"], name="centre")),
             "cohort_counts", "Samples and pairs tested per centre.")
    f1.figure(plot_cohort_overview(Summ()), "cohort_overview",
              "Samples per view (bars) split by centre (colours); taller bars mean more "
              "samples with that view.")
    f1.finding("All 50 patients have at least one view.", "info")
    s1 = StepResult({}, f1, StepRecord("cohort", "Cohort", samples_used={"radiomics": 50}))

    f2 = Fragment("Association: radiomics x expression",
                  methods="Partial Pearson correlations adjusted for age and sex, fitted "
                          "within each centre; max-T permutations within centres.",
                  citations=["Winkler AM et al. (2020) NeuroImage 220:117065",
                             "Benjamini Y, Hochberg Y (1995) JRSS B 57:289-300"])
    f2.text("Text with a long unbroken word: " + LONG_WORD + " and <script>alert(1)</script>.")
    feats = [f"{LONG_WORD[:60]}_{i}" for i in range(n_long)]
    p = np.r_[P_VALUES, rng.uniform(size=n_long - len(P_VALUES))]
    f2.table(pd.DataFrame({"feature_x": feats, "feature_y": [f"GENE{i}" for i in range(n_long)],
                           "r": rng.uniform(-1, 1, n_long), "p": p, "q": np.minimum(p * 5, 1),
                           "p_fwer": np.minimum(p * 50, 1)}),
             "association_top", "Pairs with the smallest p; q: Benjamini-Hochberg, p_fwer: "
             "max-T.", max_rows=40, index=False)
    fig, ax = plt.subplots(layout="constrained")
    ax.hist(p, bins=10)
    f2.figure(fig, "association_pvalues", "Histogram of p-values; a peak near 0 means signal.")
    f2.finding("12 pairs passed max-T FWER at 0.05 (B = 999 within-centre permutations).",
               "significant")
    f2.finding("No pair of traits x modules passed FDR 0.05.", "null")
    s2 = StepResult({}, f2, StepRecord("association:radiomics~expression", "Association",
                                        seed=42, warnings=["3 features were constant in centre "
                                                           "B and were dropped there."]))

    f3 = Fragment("Prediction", methods="Elastic net, leave-one-centre-out.",
                  citations=["Winkler AM et al. (2020) NeuroImage 220:117065"])
    wide = pd.DataFrame(rng.normal(size=(4, 30)), columns=[f"metric_{j}_long_name" for j in
                                                           range(30)])
    f3.table(wide, "prediction_wide", "A wide table of 30 metrics (scrolls sideways).")
    f3.finding("AUROC 0.71 [0.62, 0.80] leave-one-centre-out.", "out-of-sample")
    s3 = StepResult({}, f3, StepRecord("prediction", "Prediction"))

    f4 = Fragment("Ground truth", methods="Estimates compared with the simulation's truth.")
    f4.text("Two checks against the known truth.")
    f4.finding("Recovered 9 of 10 true pairs.", "check", ok=True)
    f4.finding("CCA r1 outside its interval.", "check", ok=False)
    s4 = StepResult({}, f4, StepRecord("truth", "Ground truth"))

    s5 = skipped("mr", "Mendelian randomisation", "the cohort has no genotypes view")
    return [s1, s2, s3, s4, s5]
