# Produces tsmr_harmonise_cases_action{1,2,3}.csv from harmonise_cases_input.csv by running
# TwoSampleMR 0.7.9's own harmonisation code: R/harmonise.R of github.com/MRCIEU/TwoSampleMR
# (commit c14776b89056e88422d9dff92b517b870a1339a4, DESCRIPTION Version 0.7.9), sourced as is
# (it needs only data.table).  Usage: Rscript make_tsmr_harmonise_cases.R <path to harmonise.R>
args <- commandArgs(trailingOnly = TRUE)
library(data.table)
source(args[1])
t <- read.csv("harmonise_cases_input.csv", stringsAsFactors = FALSE, na.strings = "NA",
              colClasses = c(fB = "character"))
exposure_dat <- data.frame(SNP = t$SNP, effect_allele.exposure = t$A1, other_allele.exposure = t$A2,
                           beta.exposure = t$betaA, se.exposure = 0.01, eaf.exposure = t$fA,
                           id.exposure = "A", exposure = "A", stringsAsFactors = FALSE)
outcome_dat <- data.frame(SNP = t$SNP, effect_allele.outcome = t$B1, other_allele.outcome = t$B2,
                          beta.outcome = t$betaB, se.outcome = 0.02, eaf.outcome = t$fB,
                          id.outcome = "B", outcome = "B", stringsAsFactors = FALSE)
for (a in 1:3) {
  h <- suppressMessages(suppressWarnings(harmonise_data(exposure_dat, outcome_dat, action = a)))
  write.csv(h, sprintf("tsmr_harmonise_cases_action%d.csv", a), row.names = FALSE)
}
