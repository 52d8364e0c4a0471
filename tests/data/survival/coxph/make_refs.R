## Reference outputs for tests/test_survival_coxph.py (radiogenomics.survival.coxph / zph).
## Run from this folder: Rscript make_refs.R   (R 4.2.2, Debian r-cran-survival 3.5-3)
library(survival)
stopifnot(packageVersion("survival") == "3.5.3")
f17 <- function(x) sprintf("%.17g", x)
f12 <- function(x) sprintf("%.12g", x)
wcsv <- function(df, file, digits = f17) {
  for (k in names(df)) if (is.double(df[[k]])) df[[k]] <- digits(df[[k]])
  con <- if (grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names = FALSE, quote = FALSE)
  close(con)
}

## ---------------------------------------------------------------- data (CC0)
set.seed(20250611)
n <- 200
centre <- sample(c("A", "B", "C"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25))
x1 <- round(rnorm(n), 3)                        # continuous radiomic score
x2 <- rbinom(n, 1, 0.4)                         # binary (mutation)
x3 <- round(rnorm(n, 62, 9) + 3 * x1, 1)        # age, correlated with x1
rate <- c(A = 0.14, B = 0.22, C = 0.10)[centre]
tt <- rexp(n, rate * exp(0.6 * x1 - 0.5 * x2 + 0.03 * (x3 - 62)))
cc <- runif(n, 1, 12)
time <- ceiling(pmin(tt, cc) * 2) / 2           # grid of 0.5: many ties
status <- as.integer(tt <= cc)
weight <- round(runif(n, 0.5, 2), 2)            # non-integer case weights
scanner <- sample(sprintf("s%02d", 1:12), n, replace = TRUE)  # 12 clusters
d <- data.frame(time, status, x1, x2, x3, centre, scanner, weight)
write.csv(d, "data.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("n = %d, events = %d (%.0f%% censored), distinct times = %d\n", n,
            sum(status), 100 * mean(status == 0), length(unique(time))))

## ---------------------------------------------------------------- fits
fm <- Surv(time, status) ~ x1 + x2 + x3
fs <- Surv(time, status) ~ x1 + x2 + x3 + strata(centre)
fits <- list(
  efron                 = coxph(fm, d, ties = "efron"),
  breslow               = coxph(fm, d, ties = "breslow"),
  efron_strata          = coxph(fs, d, ties = "efron"),
  breslow_strata        = coxph(fs, d, ties = "breslow"),
  efron_weights         = coxph(fm, d, ties = "efron", weights = weight),  # robust by default
  breslow_weights_naive = coxph(fm, d, ties = "breslow", weights = weight, robust = FALSE),
  efron_robust          = coxph(fm, d, ties = "efron", robust = TRUE),
  efron_cluster         = coxph(fm, d, ties = "efron", cluster = centre),
  breslow_cluster       = coxph(fm, d, ties = "breslow", cluster = scanner),
  efron_strata_weights_cluster = coxph(fs, d, ties = "efron", weights = weight,
                                       cluster = scanner))
terms <- c("x1", "x2", "x3")
rows <- list()
add <- function(case, q, term, v) rows[[length(rows) + 1]] <<-
  data.frame(case = case, quantity = q, term = term, value = as.double(v))
for (case in names(fits)) {
  f <- fits[[case]]
  naive <- if (is.null(f$naive.var)) f$var else f$naive.var
  add(case, "coef", terms, coef(f))
  add(case, "se", terms, sqrt(diag(naive)))
  add(case, "mean", terms, f$means)
  for (i in 1:3) add(case, "var", paste(terms[i], terms, sep = ":"), naive[i, ])
  if (!is.null(f$naive.var)) {
    add(case, "robust_se", terms, sqrt(diag(f$var)))
    for (i in 1:3) add(case, "robust_var", paste(terms[i], terms, sep = ":"), f$var[i, ])
    add(case, "rscore", "", f$rscore)
  }
  s <- summary(f)
  add(case, "loglik_init", "", f$loglik[1])
  add(case, "loglik", "", f$loglik[2])
  add(case, "score", "", f$score)
  add(case, "wald", "", f$wald.test)
  add(case, "lrt", "", s$logtest["test"])
  add(case, "lrt_p", "", s$logtest["pvalue"])
  add(case, "wald_p", "", s$waldtest["pvalue"])
  add(case, "score_p", "", s$sctest["pvalue"])
  add(case, "wald_df", "", s$waldtest["df"])
  add(case, "z", terms, s$coefficients[, "z"])
  add(case, "p", terms, s$coefficients[, "Pr(>|z|)"])
  add(case, "hr_lower", terms, s$conf.int[, "lower .95"])
  add(case, "hr_upper", terms, s$conf.int[, "upper .95"])
  add(case, "iter", "", f$iter)
}
## score test of x3 at the restricted MLE (partial score test)
f0 <- coxph(Surv(time, status) ~ x1 + x2, d, ties = "efron")
f1 <- coxph(fm, d, ties = "efron", init = c(coef(f0), 0), iter.max = 0)
add("score_partial", "init", terms, c(coef(f0), 0))
add("score_partial", "score", "", f1$score)
add("score_partial", "loglik", "", f1$loglik[2])
## monotone likelihood: no events among x2 == 1 in the first 80 subjects (R warns
## "Loglik converged before variable 2; coefficient may be infinite")
d2 <- d[1:80, ]
d2$status[d2$x2 == 1] <- 0L
wmsg <- ""
fm2 <- withCallingHandlers(coxph(Surv(time, status) ~ x1 + x2, d2),
  warning = function(w) { wmsg <<- conditionMessage(w); invokeRestart("muffleWarning") })
stopifnot(grepl("coefficient may be infinite", wmsg))
add("monotone", "coef", c("x1", "x2"), coef(fm2))
add("monotone", "iter", "", fm2$iter)
add("monotone", "loglik", "", fm2$loglik[2])
## a single binary covariate
for (tt in c("efron", "breslow")) {
  g1 <- coxph(Surv(time, status) ~ x2, d, ties = tt)
  add(paste0("single_", tt), "coef", "x2", coef(g1))
  add(paste0("single_", tt), "se", "x2", sqrt(g1$var[1, 1]))
  add(paste0("single_", tt), "score", "", g1$score)
  add(paste0("single_", tt), "loglik", "", g1$loglik[2])
}
wcsv(do.call(rbind, rows), "coxph_fits.csv")

## ---------------------------------------------------------------- residuals
res <- list()
for (case in c("efron", "breslow_strata", "efron_strata_weights_cluster")) {
  f <- fits[[case]]
  sc <- residuals(f, type = "score")
  dfb <- residuals(f, type = "dfbeta")
  res[[case]] <- data.frame(case = case, row = 1:n, lp = f$linear.predictors,
    martingale = residuals(f, type = "martingale"),
    deviance = residuals(f, type = "deviance"),
    score_x1 = sc[, 1], score_x2 = sc[, 2], score_x3 = sc[, 3],
    dfbeta_x1 = dfb[, 1], dfbeta_x2 = dfb[, 2], dfbeta_x3 = dfb[, 3])
}
wcsv(do.call(rbind, res), "coxph_residuals.csv.gz", f12)
sch <- list()
for (case in c("efron", "breslow_strata", "efron_strata_weights_cluster")) {
  r <- residuals(fits[[case]], type = "schoenfeld")
  sch[[case]] <- data.frame(case = case, time = as.numeric(rownames(r)),
                            x1 = r[, 1], x2 = r[, 2], x3 = r[, 3])
}
wcsv(do.call(rbind, sch), "coxph_schoenfeld.csv.gz", f12)

## ---------------------------------------------------------------- survival curves
nd <- data.frame(x1 = c(0, 1.2, -0.8, 0.3), x2 = c(0, 1, 1, 0), x3 = c(62, 50, 75, 60.5),
                 centre = c("A", "B", "C", "B"))
times <- c(0.5, 1, 2.75, 5, 8.5, 30)
srows <- list()
bh <- list()
for (case in names(fits)) {
  f <- fits[[case]]
  g <- f
  sf <- survfit(g, newdata = nd, se.fit = FALSE)
  sm <- summary(sf, times = times, extend = TRUE)
  if (grepl("strata", case)) {
    srows[[case]] <- data.frame(case = case, row = as.integer(sm$strata), time = sm$time,
                                surv = sm$surv)
  } else {
    srows[[case]] <- data.frame(case = case, row = rep(1:4, each = length(times)),
                                time = rep(sm$time, 4), surv = as.vector(sm$surv))
  }
  b <- basehaz(g, centered = FALSE)
  bh[[case]] <- data.frame(case = case, strata = if (is.null(b$strata)) "" else
    sub("centre=", "", as.character(b$strata)), time = b$time, cumhaz = b$hazard)
}
wcsv(do.call(rbind, srows), "coxph_survfit.csv")
wcsv(do.call(rbind, bh), "coxph_basehaz.csv.gz", f12)

## ---------------------------------------------------------------- cox.zph
zrows <- list()
zres <- list()
for (case in c("efron", "breslow", "efron_strata", "efron_strata_weights_cluster")) {
  for (tr in c("km", "rank", "identity", "log")) {
    z <- cox.zph(fits[[case]], transform = tr)
    zrows[[length(zrows) + 1]] <- data.frame(case = case, transform = tr,
      term = rownames(z$table), chisq = z$table[, "chisq"],
      df = z$table[, "df"], p = z$table[, "p"])
    if (tr == "km" && case %in% c("efron", "efron_strata")) {
      zres[[case]] <- data.frame(case = case, time = z$time, x = z$x,
                                 y_x1 = z$y[, 1], y_x2 = z$y[, 2], y_x3 = z$y[, 3])
    }
  }
}
## a multi-column term: centre as a factor covariate (two dummies, reference A)
gf <- coxph(Surv(time, status) ~ x1 + x2 + x3 + factor(centre), data = d, ties = "efron")
for (tm in c(TRUE, FALSE)) {
  z <- cox.zph(gf, transform = "km", terms = tm)
  zrows[[length(zrows) + 1]] <- data.frame(case = if (tm) "factor_terms" else "factor_columns",
    transform = "km", term = rownames(z$table), chisq = z$table[, "chisq"],
    df = z$table[, "df"], p = z$table[, "p"])
  if (tm) zres[["factor_terms"]] <- data.frame(case = "factor_terms", time = z$time,
    x = z$x, y_x1 = z$y[, 1], y_x2 = z$y[, 2], y_x3 = z$y[, 3], y_centre = z$y[, 4])
}
wcsv(do.call(rbind, zrows), "zph_tests.csv")
zr <- do.call(rbind, lapply(zres, function(r) { if (is.null(r$y_centre)) r$y_centre <- NA; r }))
wcsv(zr, "zph_residuals.csv.gz", f12)
