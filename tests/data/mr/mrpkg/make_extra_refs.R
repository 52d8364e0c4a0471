# Extra references for mr_divw / mr_conmix / mr_cML (no shared refdata for them).
# MendelianRandomization 0.10.0 is not installable here; its pure-R sources (github cran/MendelianRandomization
# @2e6f8aa, files R/1Data.R AllClasses.R AllGenerics.R ExtraFunctions.R new-methods.R getter-methods.R values-methods.R
# mr_*-methods.R) were sourced into R 4.2.2 (robustbase 0.95-0, glmnet 4.1-6); SRC points at them.
SRC <- Sys.getenv("MRPKG_SRC", "/tmp/mrpkgsrc/R")
suppressPackageStartupMessages({library(methods); library(robustbase); library(glmnet)})
for (f in c("1Data.R","AllClasses.R","AllGenerics.R","ExtraFunctions.R","new-methods.R","getter-methods.R","values-methods.R",
            "mr_divw-methods.R","mr_conmix-methods.R","mr_cML-methods.R")) source(file.path(SRC, f))
out <- NULL
for (ds in c("real_lipids_ldl_chd","real_tsmr_bmi_chd","syn_n30_outliers")) {
  x <- read.csv(file.path("tests/data/mr/mrpkg", ds, "input_harmonised.csv")); x <- x[x$mr_keep, ]
  inp <- mr_input(x$beta.exposure, x$se.exposure, x$beta.outcome, x$se.outcome)
  d <- mr_divw(inp); d0 <- mr_divw(inp, over.dispersion = FALSE)
  cm <- mr_conmix(inp)
  cml <- mr_cML(inp, MA = TRUE, DP = FALSE, n = 10000)
  cmlb <- mr_cML(inp, MA = FALSE, DP = FALSE, n = 10000)
  add <- function(call, o, lo, hi, se) data.frame(dataset = ds, call = call, estimate = o@Estimate, se = se,
                                                 ci_lower = lo, ci_upper = hi, pval = o@Pvalue)
  out <- rbind(out, add("mr_divw(inp)", d, d@CILower, d@CIUpper, d@StdError),
               add("mr_divw(inp, over.dispersion=FALSE)", d0, d0@CILower, d0@CIUpper, d0@StdError),
               add("mr_conmix(inp)", cm, min(cm@CILower), max(cm@CIUpper), NA),
               add("mr_cML(inp, MA=TRUE, DP=FALSE, n=10000)", cml, cml@CILower, cml@CIUpper, cml@StdError),
               add("mr_cML(inp, MA=FALSE, DP=FALSE, n=10000)", cmlb, cmlb@CILower, cmlb@CIUpper, cmlb@StdError))
}
write.csv(out, "tests/data/mr/mrpkg/mrpkg_extra_refs.csv", row.names = FALSE)
