# Produces tsmr_rsq_*.csv with TwoSampleMR 0.7.9's own R/add_rsq.r (github.com/MRCIEU/TwoSampleMR,
# commit c14776b89056e88422d9dff92b517b870a1339a4), sourced unchanged (needs data.table).
# Usage: Rscript make_tsmr_rsq.R <path to add_rsq.r>
args <- commandArgs(trailingOnly = TRUE)
library(data.table)
source(args[1])
options(digits = 15)
w <- function(d, f) write.csv(d, f, row.names = FALSE)
# get_r_from_pn and R's qf over a grid, both sides of R's qf switch to qchisq at df2 > 4e5
g <- expand.grid(p = c(0.5, 0.05, 1e-5, 1e-8, 1e-20, 1e-50, 1e-100, 1e-158, 1e-200, 1e-300),
                 n = c(50, 5000, 339224, 400001, 400002, 1e6))
g$qf <- qf(g$p, 1, g$n - 1, lower.tail = FALSE)
g$r <- get_r_from_pn(g$p, g$n)
w(g, "tsmr_get_r_from_pn.csv")
x <- read.csv("rsq_cases_input.csv", stringsAsFactors = FALSE)
x$r_bsen <- get_r_from_bsen(x$beta, x$se, x$samplesize)
x$r_lor <- get_r_from_lor(x$beta, x$eaf, x$ncase, x$ncontrol, x$prevalence)
x$r_lor_probit <- get_r_from_lor(x$beta, x$eaf, x$ncase, x$ncontrol, x$prevalence, model = "probit", correction = TRUE)
x$popaf <- get_population_allele_frequency(x$eaf, x$ncase / (x$ncase + x$ncontrol), exp(x$beta), x$prevalence)
x$effective_n <- effective_n(x$ncase, x$ncontrol)
w(x, "tsmr_get_r.csv")
mk <- function(units, prev = TRUE) {
  d <- data.frame(SNP = x$SNP, beta.exposure = x$beta, se.exposure = x$se, eaf.exposure = x$eaf,
                  pval.exposure = x$pval, samplesize.exposure = x$samplesize,
                  ncase.exposure = x$ncase, ncontrol.exposure = x$ncontrol,
                  id.exposure = "e1", exposure = "trait", stringsAsFactors = FALSE)
  d$units.exposure <- units
  if (prev) d$prevalence.exposure <- x$prevalence
  d
}
w(suppressWarnings(add_rsq(mk("log odds"))), "tsmr_add_rsq_logodds.csv")
w(suppressWarnings(add_rsq(mk("log odds", prev = FALSE))), "tsmr_add_rsq_logodds_noprev.csv")
w(suppressWarnings(add_rsq(mk("SD"))), "tsmr_add_rsq_sd.csv")
w(suppressWarnings(add_rsq(mk("mmol/L"))), "tsmr_add_rsq_other.csv")
