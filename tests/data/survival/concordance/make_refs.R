## Reference values for tests/test_survival_concordance.py.
## Run from this folder:  Rscript make_refs.R
## R 4.2.2; survival 3.5-3, riskRegression 2022.11.28, prodlim 2019.11.13, Hmisc 4.8-0 (Debian).
suppressPackageStartupMessages({
  library(survival); library(riskRegression); library(prodlim); library(Hmisc)
})
set.seed(20240518)
## reference numbers with 17 significant digits (round-trip exact)
write17 <- function(df, file) {
  num <- vapply(df, is.double, TRUE)
  df[num] <- lapply(df[num], function(v) ifelse(is.na(v), NA, sprintf("%.17g", v)))
  write.csv(df, file, row.names = FALSE, quote = FALSE, na = "")
}

## ---- data A: many ties in time and in risk, coincident event / censoring times -------------
n <- 240
lp <- rnorm(n)
centre <- sample(c("A", "B", "C", "D"), n, replace = TRUE, prob = c(.4, .3, .2, .1))
centre12 <- sprintf("c%02d", sample(1:12, n, replace = TRUE))
ev <- rexp(n, 0.08 * exp(0.7 * lp))
cens <- runif(n, 2, 40)
a <- data.frame(time = pmax(1, round(pmin(ev, cens))),
                status = as.integer(ev <= cens),
                risk = round(lp + rnorm(n, sd = 0.8), 1),
                score = round(lp + rnorm(n), 4),
                centre = centre, centre12 = centre12,
                w = round(runif(n, 0.5, 2), 3))
## a few near-ties that survival's timefix (aeqSurv) merges
a$time[1:3] <- a$time[1:3] + c(1e-9, 1e-7, 2e-9)
write.csv(a, "data_a.csv", row.names = FALSE)
a <- read.csv("data_a.csv")   # references from exactly the values Python reads

## ---- data B: event times integer, censoring times integer + 1/2 (never coincide) ----------
m <- 200
lpb <- rnorm(m)
evb <- ceiling(rexp(m, 0.06 * exp(0.8 * lpb)))
cnb <- floor(runif(m, 3, 45)) + 0.5
b <- data.frame(time = pmin(evb, cnb), status = as.integer(evb <= cnb),
                risk = round(lpb + rnorm(m, sd = 0.7), 1))
write.csv(b, "data_b.csv", row.names = FALSE)
b <- read.csv("data_b.csv")

## ---- Harrell's C: survival::concordance(reverse = TRUE) -----------------------------------
harrell <- function(case, fit) {
  cnt <- if (is.matrix(fit$count)) colSums(fit$count) else fit$count
  data.frame(case = case, c = unname(fit$concordance), se = sqrt(unname(fit$var)),
             concordant = cnt[["concordant"]], discordant = cnt[["discordant"]],
             tied_x = cnt[["tied.x"]], tied_y = cnt[["tied.y"]], tied_xy = cnt[["tied.xy"]])
}
h <- rbind(
  harrell("plain", concordance(Surv(time, status) ~ risk, a, reverse = TRUE)),
  harrell("score", concordance(Surv(time, status) ~ score, a, reverse = TRUE)),
  harrell("strata", concordance(Surv(time, status) ~ risk + strata(centre), a, reverse = TRUE)),
  harrell("weights", concordance(Surv(time, status) ~ risk, a, weights = w, reverse = TRUE)),
  harrell("strata_weights", concordance(Surv(time, status) ~ risk + strata(centre), a,
                                        weights = w, reverse = TRUE)),
  harrell("strata12", concordance(Surv(time, status) ~ risk + strata(centre12), a,
                                  reverse = TRUE)),
  harrell("strata12_weights", concordance(Surv(time, status) ~ risk + strata(centre12), a,
                                          weights = w, reverse = TRUE)),
  ## concordance.formula does not pass timefix on (3.5-3): call concordancefit directly
  harrell("no_timefix", concordancefit(Surv(a$time, a$status), a$risk, reverse = TRUE,
                                       timefix = FALSE)),
  harrell("data_b", concordance(Surv(time, status) ~ risk, b, reverse = TRUE)),
  ## constant risk: every comparable pair tied in x; survival returns 0.5 with var 0
  harrell("constant", concordance(Surv(time, status) ~ I(0 * risk + 1), a, reverse = TRUE)))
## per-centre C and SE (each centre alone)
for (s in sort(unique(a$centre)))
  h <- rbind(h, harrell(paste0("centre_", s),
                        concordance(Surv(time, status) ~ risk, a[a$centre == s, ], reverse = TRUE)))
## Hmisc rcorr.cens: C with risk ties excluded (outx = TRUE); x = -risk (higher = longer)
rc <- rcorr.cens(-a$risk, Surv(a$time, a$status), outx = TRUE)
h <- rbind(h, data.frame(case = "hmisc_outx", c = rc[["C Index"]], se = NA, concordant = NA,
                         discordant = NA, tied_x = NA, tied_y = NA, tied_xy = NA))
write17(h, "harrell_refs.csv")

## ---- Uno's C via timewt = "n/G2" on data B (train = test) --------------------------------
uno <- function(case, ymax) {
  fit <- if (is.null(ymax)) concordance(Surv(time, status) ~ risk, data = b, reverse = TRUE,
                                        timewt = "n/G2")
         else concordance(Surv(time, status) ~ risk, data = b, reverse = TRUE,
                          timewt = "n/G2", ymax = ymax)
  data.frame(case = case, tau = ifelse(is.null(ymax), NA, ymax), c = unname(fit$concordance),
             se_survival = sqrt(unname(fit$var)))
}
write17(rbind(uno("all", NULL), uno("tau15", 15.25), uno("tau25", 25.25)),
          "uno_refs.csv")

## ---- time-dependent AUC: riskRegression::Score, Kaplan-Meier censoring --------------------
auc <- function(case, col, data, times) {
  sc <- Score(list(m = data[[col]]), formula = Hist(time, status) ~ 1, data = data,
              metrics = "auc", times = times, cens.model = "km", null.model = FALSE,
              se.fit = TRUE, conf.int = 0.95)$AUC$score
  data.frame(case = case, time = sc$times, auc = sc$AUC, se = sc$se, lower = sc$lower,
             upper = sc$upper)
}
write17(rbind(auc("a_risk", "risk", a, c(5, 10, 20)),
                auc("a_score", "score", a, c(3, 12, 25)),
                auc("b_risk", "risk", b, c(6, 14.5, 30))),
          "auc_refs.csv")
writeLines(capture.output(sessionInfo()), "sessionInfo.txt")
