"""Write the example data of ``examples/config.yaml`` (a small synthetic cohort from data_sim).

    python examples/make_example_data.py                 # -> examples/example_data/
    radiogenomics run examples/config.yaml               # -> examples/example_report/report.html

Every table has the sample ID in its first column and one row per sample, as your own files
should: views (radiomics, log-expression, module scores, imaging traits as TSV, genotype
dosages), covariates (age, sex and the centre column), outcomes, plus GWAS summary statistics
of the genetic instruments (TwoSampleMR columns) for two-sample Mendelian randomisation.
Samples without RNA-seq or genotypes are simply absent from those files.  The simulation's
ground truth is written to ``ground_truth.txt`` for reference; ``radiogenomics run`` never
reads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import data_sim

HERE = Path(__file__).resolve().parent


def make_example_data(out: str | Path = HERE / "example_data", seed: int = 1,
                      n_samples: int = 120, n_radiomic: int = 60, n_genes: int = 300,
                      digits: int = 5) -> dict[str, Path]:
    """Simulate the example cohort and write its files to ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cohort, truth = data_sim.make_cohort(
        n_samples=n_samples, n_radiomic=n_radiomic, n_genes=n_genes,
        missing_rate={"expression": 0.15, "genotypes": 0.10}, rng=seed)
    files = {
        "radiomics.csv": cohort["radiomics"].round(digits),
        "expression.csv": cohort["expression"].round(digits),
        "modules.csv": cohort["modules"].round(digits),
        "traits.tsv": cohort["traits"].round(digits),
        "genotypes.csv": cohort["genotypes"],
        "covariates.csv": cohort.covariates.assign(centre=cohort.centre.astype(str)),
        "outcomes.csv": cohort.outcomes.round(digits),
    }
    paths = {}
    for name, df in files.items():
        p = out / name
        df.to_csv(p, sep="\t" if name.endswith(".tsv") else ",")
        paths[name] = p
    exposure, outcome, _ = truth.mr
    for name, df in (("gwas_exposure.csv", exposure), ("gwas_outcome.csv", outcome)):
        p = out / name
        df.to_csv(p, index=False)
        paths[name] = p
    p = out / "ground_truth.txt"
    p.write_text(str(truth.summary()) + "\n", encoding="utf-8")
    paths["ground_truth.txt"] = p
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "example_data",
                    help="folder to write (default examples/example_data)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-samples", type=int, default=120)
    ap.add_argument("--n-radiomic", type=int, default=60)
    ap.add_argument("--n-genes", type=int, default=300)
    args = ap.parse_args(argv)
    paths = make_example_data(args.out, seed=args.seed, n_samples=args.n_samples,
                              n_radiomic=args.n_radiomic, n_genes=args.n_genes)
    for p in paths.values():
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
