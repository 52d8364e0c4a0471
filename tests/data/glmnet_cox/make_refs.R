# Reference values for radiogenomics/_cox.py (tests/test_cox.py).
# R 4.2.2, glmnet 4.1-6 (Debian r-cran-glmnet 4.1-6-1), survival 3.5-3 (Debian r-cran-survival).
# Run from tests/data/glmnet_cox:   Rscript make_refs.R
# Every number is written with 17 significant digits (sprintf("%.17g")), so it round-trips.
suppressMessages({library(glmnet); library(survival)})
wr <- function(df, file) {
  num <- vapply(df, is.numeric, TRUE)
  df[num] <- lapply(df[num], function(v) sprintf("%.17g", v))
  con <- if (grepl("[.]gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names = FALSE, quote = FALSE)
  close(con)
}

## ---- simulated data: n = 100, p = 30, tied times, ~30% censoring --------------------------
set.seed(20240917)
n <- 100; p <- 30
f <- rnorm(n)                                        # one shared factor: correlated columns
x <- matrix(rnorm(n * p), n, p) + 0.5 * f
colnames(x) <- sprintf("x%02d", 1:p)
beta_true <- c(0.8, -0.6, 0.5, -0.4, 0.3, rep(0, p - 5))
t_event <- rexp(n, rate = 0.15 * exp(drop(x %*% beta_true)))
t_cens <- runif(n, 0, 25)
time <- ceiling(pmin(t_event, t_cens) * 2) / 2       # grid of 0.5: many tied times (< 128, see README)
status <- as.integer(t_event <= t_cens)
time[1] <- 0.25; status[1] <- 0L                     # censored before the first event: weight 0
strata <- sample(c("a", "b", "c"), n, replace = TRUE)
weights <- round(runif(n, 0.5, 2), 2)
dat <- data.frame(time = time, status = status, strata = strata, weights = weights, x)
wr(dat, "cox_data.csv.gz")

y <- Surv(time, status)
ys <- stratifySurv(y, strata)
cat(sprintf("n=%d events=%d censored=%.2f distinct event times=%d tied events=%d\n", n, sum(status),
            mean(status == 0), length(unique(time[status == 1])),
            sum(duplicated(time[status == 1]))))

## ---- fixed coefficient vectors --------------------------------------------------------------
set.seed(7)
betas <- cbind(zero = rep(0, p), true = beta_true, dense = rnorm(p, sd = 0.3))
betas <- cbind(betas, large = 4 * betas[, "dense"])  # linear predictors spanning ~ +-20
wr(data.frame(var = colnames(x), betas), "cox_betas.csv")

## ---- survival::coxph partial log-likelihood at fixed beta (iter.max = 0) ---------------------
ll_rows <- list()
for (ties in c("breslow", "efron")) for (st in 0:1) for (wt in 0:1) for (b in colnames(betas)) {
  fo <- if (st == 1) y ~ x + strata(strata) else y ~ x
  fit <- suppressWarnings(coxph(fo, init = betas[, b], ties = ties, weights = if (wt) weights,
                                control = coxph.control(iter.max = 0)))
  ll_rows[[length(ll_rows) + 1]] <- data.frame(ties = ties, strata = st, weights = wt, beta = b,
                                               loglik = fit$loglik[2])
}
wr(do.call(rbind, ll_rows), "coxph_loglik.csv")

## ---- coxph martingale residuals at beta = dense (d loglik / d eta_i / w_i) -----------------
mart <- list()
for (ties in c("breslow", "efron")) for (st in 0:1) for (wt in 0:1) {
  fo <- if (st == 1) y ~ x + strata(strata) else y ~ x
  fit <- suppressWarnings(coxph(fo, init = betas[, "dense"], ties = ties, weights = if (wt) weights,
                                control = coxph.control(iter.max = 0)))
  mart[[sprintf("%s_s%d_w%d", ties, st, wt)]] <- residuals(fit, type = "martingale")
}
wr(as.data.frame(mart), "coxph_martingale_dense.csv")

## ---- glmnet:::coxgrad (Breslow) gradient and diagonal Hessian at beta = dense ---------------
eta <- drop(x %*% betas[, "dense"])
gr <- list()
for (st in 0:1) for (wt in 0:1) {
  g <- glmnet:::coxgrad(eta, if (st) ys else y, if (wt) weights else rep(1, n),
                        std.weights = FALSE, diag.hessian = TRUE)
  gr[[sprintf("grad_s%d_w%d", st, wt)]] <- as.numeric(g)
  gr[[sprintf("hess_s%d_w%d", st, wt)]] <- attr(g, "diag_hessian")
}
wr(as.data.frame(gr), "glmnet_coxgrad_dense.csv")

## ---- glmnet::coxnet.deviance at fixed beta (Breslow) ----------------------------------------
dv <- list()
for (b in colnames(betas)) {
  pr <- x %*% betas[, b]
  dv[[length(dv) + 1]] <- data.frame(
    beta = b,
    plain = coxnet.deviance(pred = pr, y = y),
    strata = coxnet.deviance(pred = pr, y = ys),
    weights_raw = coxnet.deviance(pred = pr, y = y, weights = weights, std.weights = FALSE),
    weights_std = coxnet.deviance(pred = pr, y = y, weights = weights))
}
wr(do.call(rbind, dv), "coxnet_deviance.csv")

## ---- glmnet coefficient paths (family = "cox": Breslow only, see README) -------------------
path <- function(fit, file) {
  cf <- t(as.matrix(coef(fit)))
  wr(data.frame(lambda = fit$lambda, dev.ratio = fit$dev.ratio, cf), file)
  cat(file, "nlambda", length(fit$lambda), "nulldev", sprintf("%.17g", fit$nulldev), "\n")
}
for (a in c(1, 0.5, 0)) {
  fit <- glmnet(x, y, family = "cox", alpha = a, thresh = 1e-14, maxit = 1e7)
  path(fit, sprintf("glmnet_cox_breslow_alpha%s_thresh1e-14.csv.gz", a))
}
fit <- glmnet(x, y, family = "cox", weights = weights, alpha = 1, thresh = 1e-14, maxit = 1e7)
path(fit, "glmnet_cox_breslow_weights_alpha1_thresh1e-14.csv.gz")
# stratified: glmnet() goes through cox.path()/cox.fit() (R IRLS, not the Fortran coxnet); tighten
# its outer Newton tolerance (default epsnr 1e-8, mxitnr 25; 1e-12 with 100 iterations converges
# at every lambda without a warning)
glmnet.control(epsnr = 1e-12, mxitnr = 100)
fit <- glmnet(x, ys, family = "cox", alpha = 1, thresh = 1e-14, maxit = 1e7)
path(fit, "glmnet_cox_breslow_strata_alpha1_thresh1e-14.csv.gz")
glmnet.control(factory = TRUE)

## ---- Efron: glmnet 4.1-6 has no Efron option; ties = "efron" is swallowed by `...` ---------
f1 <- glmnet(x, y, family = "cox", alpha = 1, thresh = 1e-14, ties = "efron")
f2 <- glmnet(x, y, family = "cox", alpha = 1, thresh = 1e-14)
cat("glmnet(..., ties = 'efron') identical to Breslow fit:",
    identical(as.matrix(f1$beta), as.matrix(f2$beta)), "\n")

## ---- glmnet's censored/event tie rule needs times < ~128 (printed only) ----------------------
# glmnet adds 100 * .Machine$double.eps to censored times so they sort after tied events; at
# times >= ~128 the shift is absorbed and the Fortran sort can drop a censored subject from the
# risk set of a tied event time.  coxph's loglik does not depend on the scale of time:
for (sc in c(1, 1000)) {
  ys1 <- Surv(time * sc, status)
  ll <- suppressWarnings(coxph(ys1 ~ x, init = beta_true, ties = "breslow",
                               control = coxph.control(iter.max = 0)))$loglik[2]
  dv <- coxnet.deviance(pred = x %*% beta_true, y = ys1)
  cat(sprintf("time x %g: coxnet.deviance %.10f, coxph loglik %.10f, their sum/2 (lsat) %.10f\n",
              sc, dv, ll, dv / 2 + ll))
}

cat("R", R.version.string, "glmnet", as.character(packageVersion("glmnet")),
    "survival", as.character(packageVersion("survival")), "\n")
print(extSoftVersion()["BLAS"]); print(La_library())
