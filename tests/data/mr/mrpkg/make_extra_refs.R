# Extra references for mr_divw / mr_conmix / mr_cML / mr_lasso and the correlated-variant IVW/Egger
# (no shared refdata for them).
# MendelianRandomization 0.10.0 is not installable here; its pure-R sources (github cran/MendelianRandomization
# @2e6f8aa, files R/1Data.R AllClasses.R AllGenerics.R ExtraFunctions.R new-methods.R getter-methods.R values-methods.R
# mr_*-methods.R) were sourced into R 4.2.2 (robustbase 0.95-0, glmnet 4.1-6); SRC points at them.
# Writes mrpkg_extra_refs.csv, mrpkg_lasso_refs.csv, mrpkg_lasso_lambda_path.csv, mrpkg_correl_refs.csv.
SRC <- Sys.getenv("MRPKG_SRC", "/tmp/mrpkgsrc/R")
suppressPackageStartupMessages({library(methods); library(robustbase); library(glmnet)})
for (f in c("1Data.R","AllClasses.R","AllGenerics.R","ExtraFunctions.R","new-methods.R","getter-methods.R","values-methods.R",
            "mr_ivw-methods.R","mr_egger-methods.R",
            "mr_divw-methods.R","mr_conmix-methods.R","mr_cML-methods.R","mr_lasso-methods.R")) source(file.path(SRC, f))
D <- "tests/data/mr/mrpkg"
rd <- function(ds) { x <- read.csv(file.path(D, ds, "input_harmonised.csv")); x[x$mr_keep, ] }
out <- NULL
for (ds in c("real_lipids_ldl_chd","real_tsmr_bmi_chd","syn_n30_outliers")) {
  x <- rd(ds)
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
write.csv(out, file.path(D, "mrpkg_extra_refs.csv"), row.names = FALSE)

# ---- mr_lasso: package defaults (glmnet thresh = 1e-7), t-dist, a user lambda; and, as a separate check of the
# lasso coefficients themselves (RegEstimate), the same call with glmnet's convergence threshold tightened to 1e-14.
lasso <- NULL; path <- NULL
glmnet_pkg <- glmnet::glmnet
for (ds in c("real_lipids_ldl_chd","real_lipids_hdl_chd","real_lipids_tg_chd","real_do2013_ldl_chd",
             "real_tsmr_bmi_chd","real_presso_E1_Y","syn_n10_clean_harm","syn_n100_clean","syn_n30_outliers")) {
  x <- rd(ds)
  inp <- mr_input(x$beta.exposure, x$se.exposure, x$beta.outcome, x$se.outcome, snps = x$SNP)
  add <- function(call, o) data.frame(dataset = ds, call = call, estimate = o@Estimate, se = o@StdError,
                                      ci_lower = o@CILower, ci_upper = o@CIUpper, pval = o@Pvalue,
                                      reg_estimate = o@RegEstimate, n_valid = o@Valid, lambda = o@Lambda,
                                      valid_snps = paste(o@ValidSNPs, collapse = ";"))
  glmnet <- glmnet_pkg
  a <- mr_lasso(inp); b <- mr_lasso(inp, distribution = "t-dist")
  lam_user <- a@Lambda * 0.5
  u <- mr_lasso(inp, lambda = lam_user)
  glmnet <- function(...) glmnet_pkg(..., thresh = 1e-14)
  h <- mr_lasso(inp)
  lasso <- rbind(lasso, add("mr_lasso(inp)", a), add("mr_lasso(inp, distribution='t-dist')", b),
                 add("mr_lasso(inp, lambda=0.5*lambda_default)", u), add("mr_lasso(inp) [glmnet thresh=1e-14]", h))
  # the lambda path glmnet chose (its length depends on glmnet's early stopping)
  Bx <- abs(x$beta.exposure); By <- x$beta.outcome * sign(x$beta.exposure); S <- diag(x$se.outcome^-2)
  bb <- S^(1/2) %*% Bx; Pb <- bb %*% solve(t(bb) %*% bb, t(bb)); n <- length(Bx)
  fit <- glmnet_pkg((diag(n) - Pb) %*% S^(1/2), (diag(n) - Pb) %*% S^(1/2) %*% By, intercept = FALSE)
  path <- rbind(path, data.frame(dataset = ds, step = seq_along(fit$lambda), lambda = fit$lambda,
                                 n_nonzero = fit$df, dev_ratio = fit$dev.ratio))
}
rm(glmnet)
write.csv(lasso, file.path(D, "mrpkg_lasso_refs.csv"), row.names = FALSE)
write.csv(path, file.path(D, "mrpkg_lasso_lambda_path.csv"), row.names = FALSE)

# ---- correlated variants: the package's calcium -> fasting glucose example (R/1Data.R: calcium, calciumse, fastgluc,
# fastglucse, calc.rho; Burgess et al. 2015)
inp <- mr_input(calcium, calciumse, fastgluc, fastglucse, corr = calc.rho)
cr <- NULL
addc <- function(call, o, egger = FALSE) {
  if (egger) data.frame(call = call, estimate = o@Estimate, se = o@StdError.Est, ci_lower = o@CILower.Est,
                        ci_upper = o@CIUpper.Est, pval = o@Causal.pval, intercept = o@Intercept,
                        intercept_se = o@StdError.Int, intercept_ci_lower = o@CILower.Int,
                        intercept_ci_upper = o@CIUpper.Int, intercept_pval = o@Pleio.pval, rse = o@RSE,
                        heter_stat = o@Heter.Stat[1], heter_pval = o@Heter.Stat[2], fstat = NA)
  else data.frame(call = call, estimate = o@Estimate, se = o@StdError, ci_lower = o@CILower, ci_upper = o@CIUpper,
                  pval = o@Pvalue, intercept = NA, intercept_se = NA, intercept_ci_lower = NA,
                  intercept_ci_upper = NA, intercept_pval = NA, rse = o@RSE, heter_stat = o@Heter.Stat[1],
                  heter_pval = o@Heter.Stat[2], fstat = o@Fstat)
}
cr <- rbind(addc("mr_ivw(inp)", mr_ivw(inp)), addc("mr_ivw(inp, model='fixed')", mr_ivw(inp, model = "fixed")),
            addc("mr_ivw(inp, model='random')", mr_ivw(inp, model = "random")),
            addc("mr_ivw(inp, distribution='t-dist')", mr_ivw(inp, distribution = "t-dist")),
            addc("mr_egger(inp)", mr_egger(inp), TRUE),
            addc("mr_egger(inp, distribution='t-dist')", mr_egger(inp, distribution = "t-dist"), TRUE))
write.csv(cr, file.path(D, "mrpkg_correl_refs.csv"), row.names = FALSE)
write.csv(data.frame(snp = seq_along(calcium), calcium, calciumse, fastgluc, fastglucse),
          file.path(D, "calcium_fastgluc_input.csv"), row.names = FALSE)
write.csv(calc.rho, file.path(D, "calcium_calc_rho.csv"), row.names = FALSE)
cat(sprintf("R %s, glmnet %s, robustbase %s\n", getRversion(), packageVersion("glmnet"), packageVersion("robustbase")))
