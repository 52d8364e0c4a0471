"""Command line: ``radiogenomics demo | run | init | simulate | summary | associate`` (also
``python -m radiogenomics``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

DESCRIPTION = """\
radiogenomics: classical statistical radiogenomics for small multi-centre imaging-omics cohorts.

commands:
  demo       simulate the default synthetic cohort, validate it, run the whole pipeline (cohort
             summary, per-centre distributions, association screens with FDR and max-T
             permutations, CCA, phantom images -> pyradiomics -> ComBat, MOFA+, prediction with
             leave-one-centre-out validation, Mendelian randomisation, checks against the ground
             truth) and write an HTML report with PNG plots and CSV tables
  run        the same report on your own files: `radiogenomics run CONFIG.yaml` with a YAML
             configuration naming the views (CSV/TSV/Parquet by sample ID), covariates, centre,
             outcomes, genotypes and the analyses to run (see examples/config.yaml)
  init       write a commented starter configuration from the tables in a folder (views,
             sample-ID column, covariates and centre, outcomes, genotypes detected)
  simulate   write a synthetic cohort (views, covariates, centre, outcomes) to a folder as CSV
             files (or one .h5mu file), with a summary of its ground truth and the table of
             features that load on the shared factors
  summary    validate a cohort given as files and print its summary (per-view n, per-centre n,
             overlap, missingness, what validation removed)
  associate  screen every feature of one view against every feature of another (partial
             correlations adjusting for covariates and centre; Freedman-Lane permutations with
             max-T, optionally within centres) and write the table as CSV

Run `radiogenomics COMMAND --help` for the options of each command.
"""


def _add_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--n-samples", type=int, default=None,
                   help="samples (default: 150 for demo, data_sim's 120 for simulate)")
    p.add_argument("--n-centres", type=int, default=None, help="centres")
    p.add_argument("--n-radiomic", type=int, default=None, help="radiomic features")
    p.add_argument("--n-genes", type=int, default=None, help="genes")
    p.add_argument("--null", action="store_true", help="no shared imaging-expression signal")


def _sim_kwargs(args) -> dict:
    kw = {}
    for name in ("n_samples", "n_centres", "n_radiomic", "n_genes"):
        val = getattr(args, name)
        if val is not None:
            kw[name] = val
    if args.null:
        kw["null"] = True
    return kw


def _add_run_init(sub) -> None:
    """The ``run`` and ``init`` sub-commands."""
    p = sub.add_parser("run", help="run the report on your own files named in a YAML config",
                       description="Build a Cohort from the files named in CONFIG (a YAML file; "
                                   "examples/config.yaml documents every key), run the analyses "
                                   "it asks for that apply to the data (sections whose views are "
                                   "missing are skipped with a note), and write report.html with "
                                   "PNG plots and CSV tables to its output folder.")
    p.add_argument("config", type=Path, help="YAML configuration file")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the config's 'output', relative to the config)")
    p.add_argument("--no-progress", action="store_true", help="hide progress lines and bars")

    p = sub.add_parser("init", help="write a starter YAML config from the tables in a folder",
                       description="Read every CSV/TSV/Parquet table in DATA (sample ID in the "
                                   "first column), detect the views, covariates and centre "
                                   "column, outcomes, genotype dosages and GWAS summary "
                                   "statistics, and write a commented configuration for "
                                   "`radiogenomics run` that proposes analyses for the views "
                                   "found.")
    p.add_argument("data", nargs="?", type=Path, metavar="DATA",
                   help="folder holding your tables (or --data DATA)")
    p.add_argument("--data", dest="data_opt", type=Path, metavar="DATA", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=Path("config.yaml"),
                   help="configuration to write (default config.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radiogenomics", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"radiogenomics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="run the demo analysis and write an HTML report",
                       description="Simulate the default cohort and write the demo report "
                                   "(report.html, PNG plots, CSV tables) to --out.")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    _add_sim_args(p)
    p.add_argument("--alpha", type=float, default=0.05, help="FDR/FWER level (default 0.05)")
    p.add_argument("--permutations", type=int, default=1000,
                   help="Freedman-Lane permutations within centres (default 1000; 0: none)")
    p.add_argument("--no-images", action="store_true",
                   help="skip section 6 (phantom images, pyradiomics extraction, ComBat)")
    p.add_argument("--jobs", type=int, default=2,
                   help="worker processes for the radiomic extraction (default 2)")
    p.add_argument("--no-mofa", action="store_true", help="skip the MOFA+ section")
    p.add_argument("--no-prediction", action="store_true",
                   help="skip the prediction section (leave-one-centre-out validation)")
    p.add_argument("--no-mr", action="store_true", help="skip the Mendelian randomisation section")
    p.add_argument("--no-survival", action="store_true",
                   help="skip the time-to-event outcome and its section")
    p.add_argument("--no-spatial", action="store_true",
                   help="skip the spatial transcriptomics x imaging map section")

    _add_run_init(sub)

    p = sub.add_parser("simulate", help="write a synthetic cohort with ground truth",
                       description="Write a synthetic cohort from data_sim.make_cohort to --out.")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--format", choices=("csv", "tsv", "parquet", "h5mu"), default="csv",
                   help="file format (default csv; h5mu writes one MuData file)")
    _add_sim_args(p)

    p = sub.add_parser("summary", help="validate cohort files and print the summary",
                       description="Build a Cohort from files (first column: sample ID) and print "
                                   "its summary. Example: radiogenomics summary --view "
                                   "radiomics=rad.csv --view expression=expr.tsv --covariates "
                                   "cov.csv --centre centre")
    _add_cohort_args(p)

    p = sub.add_parser("associate", help="imaging x omics association screen to a CSV table",
                       description="Partial-correlation screen of view --x against view --y, "
                                   "adjusting for the covariates and centre, with optional "
                                   "Freedman-Lane permutations (max-T). Example: radiogenomics "
                                   "associate --h5mu cohort.h5mu --x radiomics --y expression "
                                   "--permutations 1000 --blocks centre --out assoc.csv")
    _add_cohort_args(p)
    p.add_argument("--x", required=True, help="view of the rows (e.g. radiomics)")
    p.add_argument("--y", required=True, help="view of the columns (e.g. expression)")
    p.add_argument("--out", required=True, type=Path, help="CSV table to write")
    p.add_argument("--method", choices=("pearson", "spearman"), default="pearson")
    p.add_argument("--permutations", type=int, default=0, help="Freedman-Lane permutations (default 0)")
    p.add_argument("--blocks", choices=("none", "centre"), default="none",
                   help="permute within centres, with covariate slopes fitted per centre "
                        "(default none: free permutation)")
    p.add_argument("--pooled-slopes", action="store_true",
                   help="with --blocks centre, keep one covariate slope across centres "
                        "(liberal when centres differ in spread; see the README)")
    p.add_argument("--correction", choices=("fdr_bh", "bonferroni", "maxT"), default="fdr_bh")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--top", type=int, default=None, help="write only the TOP smallest p-values")
    p.add_argument("--seed", type=int, default=0, help="permutation seed (default 0)")
    p.add_argument("--backend", choices=("auto", "numpy", "numba", "cupy"), default="auto")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _add_cohort_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--view", action="append", default=[], metavar="NAME=PATH",
                   help="a view file (repeat for each view); .csv, .tsv or .parquet")
    p.add_argument("--h5mu", type=Path, help="read the whole cohort from a .h5mu file instead")
    p.add_argument("--covariates", type=Path, help="covariates file")
    p.add_argument("--centre", help="centre file, or the name of a covariates column")
    p.add_argument("--outcomes", type=Path, help="outcomes file")
    p.add_argument("--nan-policy", default="raise",
                   choices=("raise", "drop_samples", "drop_features", "impute_median", "keep"),
                   help="NaN/inf in a view: refuse (default), drop samples or features, impute the median (exploration only), or keep NaN as missing (for MOFA+)")
    p.add_argument("--constant-policy", default="raise", choices=("raise", "drop"))
    p.add_argument("--missing-meta", default="raise", choices=("raise", "drop_samples"),
                   help="samples without covariates or centre: refuse (default) or drop them")


def _load_cohort(args):
    """The Cohort named by --h5mu or --view/--covariates/--centre/--outcomes (None: usage error)."""
    from .cohort import Cohort

    policies = {"nan_policy": args.nan_policy, "constant_policy": args.constant_policy,
                "missing_meta": args.missing_meta}
    if args.h5mu:
        return Cohort.from_mudata(args.h5mu, **policies)
    if not args.view:
        print(f"{args.command}: give at least one --view NAME=PATH (or --h5mu FILE)", file=sys.stderr)
        return None
    views = {}
    for spec in args.view:
        if "=" not in spec:
            print(f"{args.command}: --view takes NAME=PATH, got {spec!r}", file=sys.stderr)
            return None
        name, path = spec.split("=", 1)
        views[name] = path
    return Cohort.from_files(views, covariates=args.covariates, centre=args.centre,
                             outcomes=args.outcomes, **policies)


def _cmd_demo(args) -> int:
    from .demo import run_demo

    result = run_demo(args.out, rng=args.seed, alpha=args.alpha, n_permutations=args.permutations,
                      images=not args.no_images, n_jobs=args.jobs, mofa=not args.no_mofa,
                      prediction=not args.no_prediction, mr=not args.no_mr,
                      survival=not args.no_survival, spatial=not args.no_spatial,
                      **_sim_kwargs(args))
    print(result.summary())
    print(f"\nReport written to {result.report_path.resolve()}")
    return 0


def _cmd_run(args) -> int:
    from .workflow.config import load_config, run_config

    cfg = load_config(args.config)  # checks keys, files and view names before any work
    result = run_config(cfg, out_dir=args.out, progress=False if args.no_progress else None)
    print(result.summary())
    print(f"\nReport written to {result.report_path.resolve()}")
    return 0


def _cmd_init(args) -> int:
    from .workflow.config import load_config
    from .workflow.init import init_config

    data = args.data if args.data is not None else args.data_opt
    if data is None or (args.data is not None and args.data_opt is not None):
        raise ValueError("give the folder of your tables once: radiogenomics init DATA "
                         "[--out config.yaml]")
    path = init_config(data, args.out, force=args.force)
    cfg = load_config(path)
    views = ", ".join(f"{k} ({v.name})" for k, v in cfg.data.views.items())
    steps = ", ".join(dict.fromkeys(s for s, _ in cfg.plan))
    print(f"wrote {path}: views {views}; analyses {steps}")
    print(f"check it (every choice has a comment), then: radiogenomics run {path}")
    return 0


def _cmd_simulate(args) -> int:
    import data_sim

    cohort, truth = data_sim.make_cohort(rng=args.seed, **_sim_kwargs(args))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.format == "h5mu":
        path = cohort.write_h5mu(args.out / "cohort.h5mu")
        print(f"wrote {path}")
    else:
        paths = cohort.to_files(args.out, fmt=args.format)
        for p in paths.values():
            print(f"wrote {p}")
    truth_path = args.out / "ground_truth.txt"
    truth_path.write_text(str(truth.summary()) + "\n", encoding="utf-8")
    print(f"wrote {truth_path}")
    import pandas as pd

    signal = pd.concat(
        {v: truth.signal_features(v) for v in ("radiomics", "expression")}, names=["view", "feature"]
    ).rename("loads_on_shared_factor")
    signal_path = args.out / "ground_truth_signal_features.csv"
    signal.to_csv(signal_path)
    print(f"wrote {signal_path}")
    print(cohort)
    return 0


def _cmd_summary(args) -> int:
    cohort = _load_cohort(args)
    if cohort is None:
        return 2
    print(cohort)
    print(cohort.summary())
    names = cohort.view_names
    if len(names) > 1:
        common = set(cohort[names[0]].index)
        for v in names[1:]:
            common &= set(cohort[v].index)
        if not common:
            examples = "; ".join(f"{v}: {', '.join(map(repr, list(cohort[v].index[:2])))}"
                                 for v in names)
            print(f"radiogenomics summary: warning: the views share no sample ID, so no paired "
                  f"analysis is possible (e.g. {examples}); check that the ID formats match "
                  "(case, zero padding, prefixes, str vs int)", file=sys.stderr)
            return 1
    return 0


def _cmd_associate(args) -> int:
    from .association import associate

    cohort = _load_cohort(args)
    if cohort is None:
        return 2
    _check_views(cohort, args.x, args.y)
    res = associate(cohort, x=args.x, y=args.y, method=args.method,
                    n_permutations=args.permutations,
                    exchangeability_blocks="centre" if args.blocks == "centre" else None,
                    covariates_by_block=args.blocks == "centre" and not args.pooled_slopes,
                    correction=args.correction, alpha=args.alpha, rng=args.seed,
                    backend=args.backend, progress=False if args.no_progress else None)
    print(res.summary())
    path = res.to_csv(args.out, top=args.top)
    print(f"wrote {path}")
    return 0


#: Python argument names in library messages -> the CLI flags a shell user types
_FLAG_NAMES = [
    (r"nan_policy\s*=\s*'(\w+)'", r"--nan-policy \1"),
    (r"constant_policy\s*=\s*'(\w+)'", r"--constant-policy \1"),
    (r"missing_meta\s*=\s*'(\w+)'", r"--missing-meta \1"),
    (r"\bnan_policy\b", "--nan-policy"),
    (r"\bconstant_policy\b", "--constant-policy"),
    (r"\bmissing_meta\b", "--missing-meta"),
    (r"\bn_permutations\b", "--permutations"),
    (r"Cohort\s*(--nan-policy)", r"\1"),
    (r"(--[a-z-]+ \w+), '(\w+)' or '(\w+)'", r"\1, \2 or \3"),
    (r"(--[a-z-]+ \w+) or '(\w+)'", r"\1 or \2"),
    (r"'(drop_samples|drop_features|impute_median|keep)'", r"\1"),
]


def cli_message(exc: BaseException) -> str:
    """One line for the shell: the library's message with Python argument names replaced by
    the CLI flags (``nan_policy='drop_samples'`` -> ``--nan-policy drop_samples``)."""
    import re

    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    msg = " ".join(str(msg).split())
    for pat, rep in _FLAG_NAMES:
        msg = re.sub(pat, rep, msg)
    return msg


def _check_views(cohort, *names: str) -> None:
    """Refuse an unknown view name with the closest existing one (one line, no traceback)."""
    import difflib

    for name in names:
        if name not in cohort:
            close = difflib.get_close_matches(name, cohort.view_names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"no view {name!r} in the cohort (views: {', '.join(cohort.view_names)})"
                           f"{hint}")


def main(argv: list[str] | None = None) -> int:
    """Entry point.  Exit status: 0 success, 1 a result that needs attention (e.g. ``summary``
    of views sharing no sample), 2 bad input or usage (one line on stderr, no traceback), 130
    interrupted.  ``RADIOGENOMICS_TRACEBACK=1`` shows the traceback of an unexpected error."""
    import os

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = {"demo": _cmd_demo, "run": _cmd_run, "init": _cmd_init, "simulate": _cmd_simulate,
               "summary": _cmd_summary, "associate": _cmd_associate}[args.command]
    try:
        return handler(args)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        # RadiogenomicsError (bad input), missing/unreadable files, unknown names
        if os.environ.get("RADIOGENOMICS_TRACEBACK"):
            raise
        from .workflow.config import ConfigError

        # a configuration's keys are YAML keys, not CLI flags: no flag translation there
        msg = " ".join(str(exc).split()) if isinstance(exc, ConfigError) else cli_message(exc)
        print(f"radiogenomics {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no partial output was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `radiogenomics summary ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
