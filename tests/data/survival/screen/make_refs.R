# Reference score tests for radiogenomics.survival.screen (tests/test_survival_screen.py).
# Run from this folder:  Rscript make_refs.R   (rewrites data.csv.gz, score_refs.csv, null_fits.csv)
suppressPackageStartupMessages(library(survival))
set.seed(20250611)

## ---------------------------------------------------------------- simulated data (CC0)
n <- 150
centre <- factor(sample(rep(c("A", "B", "C"), c(40, 50, 60))))
age <- round(rnorm(n, 60 + 5 * (as.integer(centre) - 2), 10), 1)
sex <- factor(ifelse(runif(n) < 0.5, "F", "M"))
p <- 24
z <- rnorm(n)                                   # latent driver of the hazard
X <- matrix(rnorm(n * p), n, p)
X <- X + outer(as.vector(scale(age)), runif(p, -0.8, 0.8)) +
  outer(as.integer(centre), runif(p, -0.5, 0.5))  # features correlated with age and centre
X[, 1:4] <- X[, 1:4] + outer(z, c(1, 0.8, 0.6, 0.4))
X[, 5] <- exp(X[, 5])                           # skewed
X[, 6] <- as.numeric(X[, 6] > 0)                # binary
X <- round(X, 6)
colnames(X) <- sprintf("x%02d", 1:p)
lp <- 0.7 * z + 0.03 * (age - 60) + 0.4 * (sex == "M") + c(-1, 0, 1.2)[as.integer(centre)]
T <- 5 * (rexp(n) / exp(lp))^(1 / 1.5)
C <- pmin(runif(n, 0, 15), 10)
time <- ceiling(pmin(T, C) * 2) / 2             # half-unit grid: many tied times
status <- as.integer(T <= C)
d <- data.frame(id = sprintf("P%03d", 1:n), time = time, status = status,
                centre = as.character(centre), age = age, sex = as.character(sex), X)
fmt <- function(df) {
  for (k in names(df)) if (is.double(df[[k]])) df[[k]] <- sprintf("%.17g", df[[k]])
  df
}
con <- gzfile("data.csv.gz", "w")
write.csv(fmt(d), con, row.names = FALSE, quote = FALSE)
close(con)
d <- read.csv("data.csv.gz")                    # compute from exactly what was written
d$centre <- factor(d$centre)
d$sex <- factor(d$sex)

## ---------------------------------------------------------------- references
configs <- list(                                # feature model; null model (no feature)
  cov_strata = c("age + sex + %s + strata(centre)", "age + sex + strata(centre)"),
  cov        = c("age + sex + %s", "age + sex"),
  strata     = c("%s + strata(centre)", NA),
  none       = c("%s", NA))
ctl <- coxph.control(eps = 1e-13, iter.max = 200, toler.chol = 1e-15)
out <- list(); nulls <- list()
for (cfg in names(configs)) for (ties in c("breslow", "efron")) {
  rhs0 <- configs[[cfg]][2]
  if (!is.na(rhs0)) {
    f0 <- coxph(as.formula(paste("Surv(time, status) ~", rhs0)), data = d, ties = ties,
                control = ctl)
    b0 <- unname(coef(f0))
    nulls[[length(nulls) + 1]] <- data.frame(
      config = cfg, ties = ties, term = names(coef(f0)), coef = sprintf("%.17g", b0),
      loglik = sprintf("%.17g", f0$loglik[2]), iter = f0$iter)
  } else b0 <- numeric(0)
  for (j in colnames(X)) {
    f <- coxph(as.formula(paste("Surv(time, status) ~", sprintf(configs[[cfg]][1], j))),
               data = d, ties = ties, init = c(b0, 0), control = coxph.control(iter.max = 0))
    k <- length(b0) + 1
    U <- colSums(as.matrix(residuals(f, type = "score")))[k]
    out[[length(out) + 1]] <- data.frame(
      config = cfg, ties = ties, feature = j, score_test = sprintf("%.17g", f$score),
      U = sprintf("%.17g", U), V = sprintf("%.17g", 1 / f$var[k, k]))
  }
}
write.csv(do.call(rbind, out), "score_refs.csv", row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, nulls), "null_fits.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("n = %d, events = %d, distinct event times = %d, censored = %.2f\n", n,
            sum(d$status), length(unique(d$time[d$status == 1])), 1 - mean(d$status)))
print(table(d$centre, d$status))
print(sessionInfo())
