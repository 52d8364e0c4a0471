# Produces tsmr_format_*.csv with TwoSampleMR 0.7.9's own R/read_data.R (github.com/MRCIEU/TwoSampleMR,
# commit c14776b89056e88422d9dff92b517b870a1339a4), sourced unchanged (needs only data.table).
# Usage: Rscript make_tsmr_format_data.R <path to read_data.R>.  Ids drawn by create_ids are random.
args <- commandArgs(trailingOnly = TRUE)
library(data.table)
source(args[1])
set.seed(1)
w <- function(d, f) write.csv(d, f, row.names = FALSE)
w(suppressMessages(suppressWarnings(read_exposure_data("tsmr_extdata_telomere_length.txt"))), "tsmr_format_telomere_length.csv")
w(suppressMessages(suppressWarnings(read_exposure_data("tsmr_extdata_bmi.txt"))), "tsmr_format_bmi.csv")
w(suppressMessages(suppressWarnings(read_outcome_data("tsmr_extdata_cardiogram.txt"))), "tsmr_format_cardiogram.csv")
w(suppressMessages(suppressWarnings(read_outcome_data("tsmr_extdata_bladdercancer.txt"))), "tsmr_format_bladdercancer.csv")
x <- read.csv("format_cases_input.csv", stringsAsFactors = FALSE, check.names = FALSE)
w(suppressMessages(suppressWarnings(format_data(x, type = "outcome", snp_col = "rsid", phenotype_col = "trait",
  beta_col = "b", se_col = "stderr", eaf_col = "freq", effect_allele_col = "A1", other_allele_col = "A2",
  pval_col = "p", samplesize_col = "N", ncase_col = "cases", ncontrol_col = "controls", units_col = "unit",
  chr_col = "chr", pos_col = "bp"))), "tsmr_format_cases.csv")
