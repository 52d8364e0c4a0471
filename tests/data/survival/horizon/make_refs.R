## Reference values for radiogenomics.survival.horizon (tests/test_survival_horizon.py).
## Run from this folder:  Rscript make_refs.R
## Data are simulated here (CC0).  Predictions are rounded to 6 decimals *before* any
## reference is computed, so R and Python read exactly the same inputs from the CSVs.
## Reference numbers are written with 17 significant digits.
suppressPackageStartupMessages({
  library(survival); library(riskRegression); library(pec); library(prodlim)
})
set.seed(20240518)

wcsv <- function(df, file) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}

## ---------------------------------------------------------------- data
## Weibull proportional hazards, S(t|x) = exp(-(t/5)^1.3 exp(lp)), lp = 0.8 x1 + 0.5 x2;
## uniform censoring on (0, 12) and administrative censoring at 8.
sim <- function(n, grid) {
  x1 <- rnorm(n); x2 <- rnorm(n)
  lp <- 0.8 * x1 + 0.5 * x2
  T <- 5 * (-log(runif(n)) / exp(lp))^(1 / 1.3)
  C <- pmin(runif(n, 0, 12), 8)
  time <- pmin(T, C)
  if (grid > 0) time <- pmax(round(time / grid), 1) * grid    # tied times
  data.frame(time = time, status = as.integer(T <= C), x1 = x1, x2 = x2)
}
H0 <- function(t) (t / 5)^1.3
h <- 3
tb <- c(0.5, 1, 1.5, 2, 3, 4, 5, 6)

A <- sim(400, 0.05)                      # tied times (events and censorings share times)
A$centre <- sample(c("A", "B", "C"), nrow(A), replace = TRUE)
lpA <- 0.8 * A$x1 + 0.5 * A$x2
A$risk_true <- round(1 - exp(-H0(h) * exp(lpA)), 6)                    # correct
A$risk_old  <- round(1 - exp(-H0(h) * exp(0.8 * A$x1)), 6)             # misses x2
A$risk_cal  <- round(1 - exp(-1.3 * H0(h) * exp(0.7 * lpA)), 6)        # miscalibrated
SA <- sapply(tb, function(t) round(exp(-H0(t) * exp(0.9 * lpA)), 6))
colnames(SA) <- paste0("s", seq_along(tb))
A <- cbind(A, SA)

B <- sim(300, 0)                          # continuous times (no ties): for scikit-survival
lpB <- 0.8 * B$x1 + 0.5 * B$x2
SB <- sapply(tb, function(t) round(exp(-H0(t) * exp(0.9 * lpB)), 6))
colnames(SB) <- paste0("s", seq_along(tb))
B <- cbind(B, SB)
stopifnot(all(A$risk_cal > 0 & A$risk_cal < 1), all(A$risk_old > 0), all(A$risk_true < 1))

wA <- A; wA$time <- sprintf("%.2f", A$time)
write.csv(wA[, c("time", "status", "centre", "risk_true", "risk_old", "risk_cal",
                 colnames(SA))], "data_ties.csv", row.names = FALSE, quote = FALSE)
wcsv(B[, c("time", "status", colnames(SB))], "data_noties.csv")
wcsv(data.frame(time = tb), "brier_times.csv")
## re-read, so every reference uses exactly the numbers in the CSVs
A <- read.csv("data_ties.csv"); B <- read.csv("data_noties.csv")

## ---------------------------------------------------------------- KM helpers
km_at <- function(time, status, h, conf.type = "log-log") {
  f <- survfit(Surv(time, status) ~ 1, conf.type = conf.type)
  s <- summary(f, times = h, extend = TRUE)
  c(surv = s$surv, se = s$std.err, lower = s$lower, upper = s$upper)
}

## ---------------------------------------------------------------- calibration
quantile_groups <- function(risk, g) {
  cuts <- quantile(risk, probs = (1:(g - 1)) / g, type = 7)
  cut(risk, breaks = unique(c(-Inf, cuts, Inf)), labels = FALSE)   # (c_{k-1}, c_k]
}
calib_tab <- function(d, risk, grp, h) {
  out <- NULL
  for (g in sort(unique(grp))) {
    i <- grp == g
    r <- c(group = g, n = sum(i), events = sum(d$status[i] == 1 & d$time[i] <= h),
           mean_predicted = mean(risk[i]))
    for (ct in c("log-log", "log", "plain")) {
      k <- km_at(d$time[i], d$status[i], h, ct)
      tag <- gsub("-", "", ct)
      r[c("surv", "se")] <- k[c("surv", "se")]
      r[paste0("lower_", tag)] <- 1 - k[["upper"]]   # CI of the observed RISK
      r[paste0("upper_", tag)] <- 1 - k[["lower"]]
    }
    out <- rbind(out, r)
  }
  out <- as.data.frame(out)
  out$observed <- 1 - out$surv
  ## Hosmer-Lemeshow type statistics: binomial variance (D'Agostino & Nam 2003) with n, and
  ## with the KM effective sample size S(1 - S) / Var_Greenwood (Dorey & Korn 1987)
  out$n_eff <- ifelse(out$surv > 0 & out$surv < 1 & out$se > 0,
                      out$surv * (1 - out$surv) / out$se^2, out$n)
  out$chi2_effective <- out$n_eff * (out$observed - out$mean_predicted)^2 /
    (out$mean_predicted * (1 - out$mean_predicted))
  out$chi2_binomial <- out$n * (out$observed - out$mean_predicted)^2 /
    (out$mean_predicted * (1 - out$mean_predicted))
  out
}
for (g in c(10, 5)) {
  grp <- quantile_groups(A$risk_cal, g)
  tab <- calib_tab(A, A$risk_cal, grp, h)
  wcsv(tab, sprintf("calib_groups_g%d.csv", g))
}
tab <- calib_tab(A, A$risk_cal, match(A$centre, c("A", "B", "C")), h)
wcsv(tab, "calib_groups_centre.csv")

slope_row <- function(d, risk, h, ties, truncate) {
  tt <- if (truncate) pmin(d$time, h) else d$time
  ee <- if (truncate) d$status * (d$time <= h) else d$status
  cll <- log(-log(1 - risk))
  f <- coxph(Surv(tt, ee) ~ cll, ties = ties,
             control = coxph.control(eps = 1e-11, iter.max = 100))
  data.frame(ties = ties, truncate = truncate, slope = unname(coef(f)),
             se = sqrt(vcov(f)[1, 1]), loglik0 = f$loglik[1], loglik = f$loglik[2])
}
sl <- rbind(slope_row(A, A$risk_cal, h, "efron", TRUE), slope_row(A, A$risk_cal, h, "breslow", TRUE),
            slope_row(A, A$risk_cal, h, "efron", FALSE), slope_row(A, A$risk_true, h, "efron", TRUE))
sl$risk <- c("risk_cal", "risk_cal", "risk_cal", "risk_true")
wcsv(sl, "calib_slope.csv")

oe <- NULL
for (ct in c("log-log", "log", "plain")) {
  k <- km_at(A$time, A$status, h, ct)
  oe <- rbind(oe, data.frame(conf_type = ct, surv = k[["surv"]], se = k[["se"]],
                             observed = 1 - k[["surv"]], expected = mean(A$risk_cal)))
}
oe$oe <- oe$observed / oe$expected
oe$se_log_oe <- oe$se / oe$observed                  # delta method, E fixed
wcsv(oe, "calib_oe.csv")

## ---------------------------------------------------------------- net benefit
## Vickers, Cronin, Elkin et al. (2008), written from the paper:
## NB(pt) = P(x) (1 - S(h | x)) - P(x) S(h | x) pt / (1 - pt),  x = {risk >= pt} (or > pt)
net_benefit_ref <- function(d, risk, h, thr, inclusive) {
  n <- nrow(d)
  pd <- 1 - km_at(d$time, d$status, h)[["surv"]]
  res <- data.frame(threshold = thr, n_treated = NA, risk_treated = NA, net_benefit = NA,
                    treat_all = pd - (1 - pd) * thr / (1 - thr), followed = NA)
  for (k in seq_along(thr)) {
    x <- if (inclusive) risk >= thr[k] else risk > thr[k]
    res$n_treated[k] <- sum(x)
    if (sum(x) == 0) { res$net_benefit[k] <- 0; next }
    s <- km_at(d$time[x], d$status[x], h)[["surv"]]
    px <- sum(x) / n
    res$risk_treated[k] <- 1 - s
    res$net_benefit[k] <- px * (1 - s) - px * s * thr[k] / (1 - thr[k])
    res$followed[k] <- max(d$time[x]) >= h || s == 0
  }
  res
}
thr <- (1:99) / 100
wcsv(net_benefit_ref(A, A$risk_cal, h, thr, TRUE), "nb_inclusive.csv")
wcsv(net_benefit_ref(A, A$risk_cal, h, thr, FALSE), "nb_strict.csv")

## ---------------------------------------------------------------- NRI / IDI at h
## Pencina, Steyerberg & D'Agostino (2011): P(up | event) = (1 - S_up(h)) n_up / (n (1 - S(h)))
nri_ref <- function(d, new, old, h, cutoffs = NULL) {
  n <- nrow(d)
  if (is.null(cutoffs)) { up <- new > old; down <- new < old } else {
    cn <- findInterval(new, cutoffs); co <- findInterval(old, cutoffs)   # [c_k, c_k+1)
    up <- cn > co; down <- cn < co
  }
  S <- km_at(d$time, d$status, h)[["surv"]]
  Su <- if (any(up)) km_at(d$time[up], d$status[up], h)[["surv"]] else 1
  Sd <- if (any(down)) km_at(d$time[down], d$status[down], h)[["surv"]] else 1
  nu <- sum(up); nd <- sum(down)
  p_up_e <- (1 - Su) * nu / (n * (1 - S)); p_down_e <- (1 - Sd) * nd / (n * (1 - S))
  p_up_ne <- Su * nu / (n * S); p_down_ne <- Sd * nd / (n * S)
  ## IDI: E[p | T > h] from the observed survivors past h, E[p | T <= h] by Bayes' rule
  m0n <- mean(new[d$time > h]); m0o <- mean(old[d$time > h])
  m1n <- (mean(new) - S * m0n) / (1 - S); m1o <- (mean(old) - S * m0o) / (1 - S)
  data.frame(n_up = nu, n_down = nd, surv = S, surv_up = Su, surv_down = Sd,
             p_up_event = p_up_e, p_down_event = p_down_e,
             p_up_nonevent = p_up_ne, p_down_nonevent = p_down_ne,
             nri_event = p_up_e - p_down_e, nri_nonevent = p_down_ne - p_up_ne,
             nri = p_up_e - p_down_e + p_down_ne - p_up_ne,
             mean_new_event = m1n, mean_old_event = m1o,
             mean_new_nonevent = m0n, mean_old_nonevent = m0o,
             idi = (m1n - m1o) - (m0n - m0o))
}
nr <- rbind(cbind(kind = "continuous", nri_ref(A, A$risk_true, A$risk_old, h)),
            cbind(kind = "categorical", nri_ref(A, A$risk_true, A$risk_old, h, c(0.2, 0.4))))
wcsv(nr, "nri_idi.csv")

## ---------------------------------------------------------------- Brier / IBS / IPA
brier_ref <- function(d, tag) {
  S <- as.matrix(d[, paste0("s", seq_along(tb))])
  sc <- Score(list(model = 1 - S), formula = Hist(time, status) ~ 1, data = d, times = tb,
              metrics = "brier", summary = c("ibs", "ipa"), cens.model = "km",
              null.model = TRUE, se.fit = TRUE, conservative = FALSE)
  s <- as.data.frame(sc$Brier$score)
  sc2 <- Score(list(model = 1 - S), formula = Hist(time, status) ~ 1, data = d, times = tb,
               metrics = "brier", cens.model = "km", null.model = TRUE, se.fit = TRUE,
               conservative = TRUE)
  s$se_conservative <- as.data.frame(sc2$Brier$score)$se
  pp <- pec(list(model = cbind(1, S)), formula = Surv(time, status) ~ 1, data = d, times = tb,
            exact = FALSE, cens.model = "marginal", reference = TRUE, verbose = FALSE)
  s$pec <- c(pp$AppErr$Reference[-1], pp$AppErr$model[-1])
  s$pec_ibs <- NA
  s$pec_ibs[s$times == max(tb)] <- c(ibs(pp)[1], ibs(pp)[2])
  s$model <- as.character(s$model)
  wcsv(s[, c("model", "times", "Brier", "se", "se_conservative", "IBS", "IPA", "pec", "pec_ibs")],
       sprintf("brier_%s.csv", tag))
}
brier_ref(A, "ties")
brier_ref(B, "noties")

## R and package versions: see README.md
