# Reference outputs for tests/test_plotting_survival.py (radiogenomics.plotting.survival).
# Run from this folder:  Rscript make_refs.R
# Data are simulated here (CC0). R 4.2.2, survival 3.5-3 (Debian packages), splines (base R).
suppressPackageStartupMessages({library(survival); library(splines)})
set.seed(20240518)
n <- 90
group <- sample(c("a", "b", "c"), n, replace = TRUE)
stratum <- sample(c("S1", "S2"), n, replace = TRUE)
x1 <- rnorm(n)
x2 <- rbinom(n, 1, 0.4)
lp <- 0.6 * x1 + 0.4 * x2 + ifelse(group == "b", 0.5, 0) + ifelse(stratum == "S2", 0.7, 0)
tt <- rexp(n, exp(lp) / 3)
cc <- runif(n, 0, 6)
time <- pmax(round(pmin(tt, cc), 1), 0.1)           # rounded: tied times
status <- as.integer(tt <= cc)
dat <- data.frame(id = sprintf("P%02d", 1:n), time = time, status = status, group = group,
                  stratum = stratum, x1 = round(x1, 6), x2 = x2)
write.csv(dat, "data.csv", row.names = FALSE)

# Kaplan-Meier per group with the three band types
km <- list()
for (ct in c("log-log", "log", "plain")) {
  f <- survfit(Surv(time, status) ~ group, data = dat, conf.type = ct)
  km[[ct]] <- f
}
f <- km[["log-log"]]
grp <- rep(sub("group=", "", names(f$strata)), f$strata)
out <- data.frame(group = grp, time = f$time, n_risk = f$n.risk, n_event = f$n.event,
                  surv = f$surv, std_err = f$std.err,
                  lower_loglog = km[["log-log"]]$lower, upper_loglog = km[["log-log"]]$upper,
                  lower_log = km[["log"]]$lower, upper_log = km[["log"]]$upper,
                  lower_plain = km[["plain"]]$lower, upper_plain = km[["plain"]]$upper)
out <- out[out$n_event > 0, ]                          # the curve's steps (event times)
write.csv(out, "km.csv", row.names = FALSE)

# numbers at risk at chosen times
times <- c(0, 0.5, 1, 2, 3, 4)
s <- summary(f, times = times, extend = TRUE)
write.csv(data.frame(group = sub("group=", "", as.character(s$strata)), time = s$time,
                     n_risk = s$n.risk), "at_risk.csv", row.names = FALSE)

# log-rank tests: plain and stratified
rows <- list()
for (which in c("plain", "stratified")) {
  fit <- if (which == "plain") survdiff(Surv(time, status) ~ group, data = dat) else
    survdiff(Surv(time, status) ~ group + strata(stratum), data = dat)
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  ex <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  df <- sum(ex > 0) - 1
  w <- c(0, 1, 2)                          # test for trend, groups ordered a < b < c
  tz <- sum(w * (obs - ex)) / sqrt(drop(t(w) %*% fit$var %*% w))
  rows[[which]] <- data.frame(test = which, group = c("a", "b", "c"), observed = obs,
                              expected = ex, chisq = fit$chisq, df = df,
                              p = pchisq(fit$chisq, df, lower.tail = FALSE),
                              trend_z = tz, trend_p = pnorm(tz, lower.tail = FALSE),
                              var_a = fit$var[, 1], var_b = fit$var[, 2], var_c = fit$var[, 3])
}
write.csv(do.call(rbind, rows), "logrank.csv", row.names = FALSE)

# plot.cox.zph's smooth and band (the computation of survival:::plot.cox.zph, df = 4,
# nsmo = 40), for the default "km" transform and for "identity"
smooth <- list()
axis_rows <- list()
fit <- coxph(Surv(time, status) ~ x1 + x2, data = dat)
for (tr in c("km", "identity")) {
  z <- cox.zph(fit, transform = tr)
  xx <- z$x
  pred.x <- seq(from = min(xx), to = max(xx), length = 40)
  lmat <- ns(c(pred.x, xx), df = 4, intercept = TRUE)
  pmat <- lmat[1:40, ]
  xmat <- lmat[-(1:40), ]
  for (i in 1:2) {
    y <- z$y[, i]
    qmat <- qr(xmat)
    yhat <- pmat %*% qr.coef(qmat, y)
    bk <- backsolve(qmat$qr[1:4, 1:4], diag(4))
    xtx <- bk %*% t(bk)
    seval <- ((pmat %*% xtx) * pmat) %*% rep(1, 4)
    band <- 2 * sqrt(z$var[i, i] * seval)
    smooth[[paste(tr, i)]] <- data.frame(transform = tr, term = colnames(z$y)[i], x = pred.x,
                                         fit = as.vector(yhat), lower = as.vector(yhat - band),
                                         upper = as.vector(yhat + band))
  }
  if (tr == "km") {
    indx <- !duplicated(xx)
    apr1 <- approx(xx[indx], z$time[indx], seq(min(xx), max(xx), length = 17)[2 * (1:8)])
    temp <- signif(apr1$y, 2)
    apr2 <- approx(z$time[indx], xx[indx], temp)
    axis_rows[[1]] <- data.frame(time = temp, position = apr2$y)
  }
}
write.csv(do.call(rbind, smooth), "zph_smooth.csv", row.names = FALSE)
write.csv(axis_rows[[1]], "zph_axis.csv", row.names = FALSE)
# risk groups: tertiles of x1 as a risk score (R's cut of quantile, type 7), stratified log-rank
rg <- cut(dat$x1, quantile(dat$x1, c(0, 1/3, 2/3, 1)), include.lowest = TRUE,
          labels = c("low", "intermediate", "high"))
lr <- survdiff(Surv(time, status) ~ rg + strata(stratum), data = dat)
w <- c(0, 1, 2)                            # factor levels low, intermediate, high
tz <- sum(w * (rowSums(lr$obs) - rowSums(lr$exp))) / sqrt(drop(t(w) %*% lr$var %*% w))
write.csv(data.frame(id = dat$id, risk_group = as.character(rg), chisq = lr$chisq,
                     p = pchisq(lr$chisq, 2, lower.tail = FALSE), trend_z = tz,
                     trend_p = pnorm(tz, lower.tail = FALSE)), "risk_groups.csv",
          row.names = FALSE)
cat("written with", R.version.string, "survival", as.character(packageVersion("survival")), "\n")
