"""A short tour of the radiogenomics API, as a script that runs top to bottom.

    . .venv/bin/activate          # after `make install` (or `make demo` / `make test`)
    python examples/tour.py       # about 40 s on one core; writes its files into the current folder

The simulated cohort of ``data_sim`` is used throughout, because its ground truth is known and
the estimates can be checked against it; one section shows how your own tables become a Cohort,
with the example files in ``examples/example_data/`` (written by ``examples/make_example_data.py``).
The README shows this file; ``tests/test_tour.py`` runs it.  Sizes and permutation counts are
small so the tour is quick: use the defaults (or more) in a real study.
"""

from pathlib import Path

import data_sim
from radiogenomics import Cohort, mr, plotting
from radiogenomics.association import associate
from radiogenomics.cca import RegularizedCCA, cca_permutation_test, cross_validated_correlation
from radiogenomics.mofa import MOFA
from radiogenomics.penalized import predict_modules
from radiogenomics.power import required_sample_size, run_study
from radiogenomics.studies import cca_power

EXAMPLE_DATA = Path(__file__).resolve().parent / "example_data"

# --- a simulated cohort with ground truth: 3 centres, RNA-seq missing for 10% of patients
cohort, truth = data_sim.make_cohort(n_samples=90, n_centres=3, n_radiomic=40, n_genes=200,
                                     radiomic_signal=1000, expression_signal=1000,
                                     loading_density=(0.5, 0.3),   # strong, dense signal
                                     missing_rate={"expression": 0.1}, rng=42)
print(cohort.summary())             # per-view n, per-centre n, overlap, validation records
print("population canonical correlations:", truth.canonical_correlations)

# --- your own data: CSV/TSV/Parquet files (sample ID in the first column) or DataFrames
own = Cohort(
    {"radiomics": EXAMPLE_DATA / "radiomics.csv", "expression": EXAMPLE_DATA / "expression.csv",
     "traits": EXAMPLE_DATA / "traits.tsv"},
    covariates=EXAMPLE_DATA / "covariates.csv",   # age, sex and the centre column
    centre="centre",                # a column of the covariates file (or a file of its own)
    outcomes=EXAMPLE_DATA / "outcomes.csv",
    nan_policy="raise",             # or drop_samples / drop_features / impute_median / keep
    constant_policy="raise",        # or drop (reported)
)
print(own.summary())
print(own.report.to_frame())        # every sample/feature removed or imputed, and why

# --- pairing two views: who is dropped from which view, and why
paired = cohort.paired("radiomics", "expression")
print(paired.dropped)
X, Y = paired                       # aligned DataFrames

# --- the association screen: every radiomic feature x every gene, adjusted for covariates
res = associate(cohort, x="radiomics", y="expression")      # parametric, BH FDR
print(res.to_frame(top=5))          # feature_x, feature_y, r, t, df, p_parametric, ..., q
plotting.plot_volcano(res).savefig("volcano.png")

# Freedman-Lane permutations within centres (slopes per centre), max-T family-wise error
res = associate(cohort, x="radiomics", y="expression", n_permutations=199,
                exchangeability_blocks="centre", covariates_by_block=True,
                correction="maxT", rng=1)
print("max-T significant pairs:", len(res.to_frame(significant_only=True)))
plotting.plot_null_max(res).savefig("null_max.png")

# --- CCA of imaging traits x module scores: canonical correlations are optimistic in sample
traits = cohort.paired("traits", "modules")
T, M = traits
rcca = RegularizedCCA(n_components=2, reg_x=0.1, reg_y=0.1).fit(T, M)
perm = cca_permutation_test(rcca, T, M, n_permutations=199, covariates=traits.covariates,
                            exchangeability_blocks=traits.centre, rng=1)
print(perm.to_frame())              # step-down p-value per component, permuted within centres
loco = cross_validated_correlation(rcca, T, M, groups=traits.centre, rng=1)
print(loco.summary())               # groups given: held-out correlation, leave-one-centre-out
plotting.plot_cca_scree(perm).savefig("cca_scree.png")

# --- Mendelian randomisation: module activity -> imaging trait, instruments from the cohort
dat = mr.mr_input_from_cohort(cohort, truth.instrumented_module, truth.causal_trait)
print(mr.mr(dat, rng=1))            # TwoSampleMR's default methods and columns
print(mr.mr_heterogeneity(dat))
print(mr.mr_pleiotropy_test(dat))
# two-sample summary statistics: exposure and outcome tables -> harmonise -> mr
summ = data_sim.make_mr_summary(rng=1)
ivw = mr.mr(mr.harmonise(summ.exposure, summ.outcome), method_list=["mr_ivw"]).iloc[0]
print(f"two-sample IVW estimate {ivw['b']:.3f} (SE {ivw['se']:.3f}); "
      f"true causal effect {summ.causal_effect}")

# --- MOFA+ (mofapy2) with the RNA-less patients kept, one group per centre
fit = MOFA(n_factors=4, groups="centre", standardize=["radiomics"], rng=1).fit(
    cohort, views=["radiomics", "expression"])
print(fit.summary())                # views present, variance explained, convergence
print(fit.correlate(cohort.covariates, n_permutations=99, exchangeability_blocks="group",
                    rng=1))
print(fit.leakage())                # which factors mainly encode centre
fit.save("mofa_model.hdf5")         # MOFA2 (R): load_model("mofa_model.hdf5")

# --- virtual transcriptomics: module scores from radiomics, validated leave-one-centre-out
pred = predict_modules(cohort, cv="loco", targets=list(cohort["modules"].columns[:2]),
                       n_boot=50, n_lambda=20, inner_cv=3, rng=1)
print(pred.summary())               # ComBat + elastic net fitted inside every fold

# --- share with scanpy / muon users
cohort.write_h5mu("cohort.h5mu")
print(Cohort.from_mudata("cohort.h5mu"))


# --- power by simulation on a local Dask cluster (or client="tcp://scheduler:8786"); the
# workers do not re-run this script, so no `if __name__ == "__main__":` guard is needed
study = run_study(cca_power, {"n": [40, 80], "p": [4], "q": [4], "r": [0.0, 0.5],
                              "n_permutations": [99]},
                  n_replicates=20, rng=1, alpha=0.05, store="power_store")
print(study.summary())              # power (r > 0) and type-I error (r = 0), Wilson intervals
size = required_sample_size(cca_power, {"p": 4, "q": 4, "r": 0.5, "n_permutations": 99},
                            target_power=0.8, n_range=(20, 160), n_replicates=20, tol=20, rng=1)
print(size.summary())
