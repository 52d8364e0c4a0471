# Kaplan-Meier references for tests/test_survival_km.py (run here: Rscript make_refs.R)
# data: ../horizon/data_ties.csv (simulated, CC0; ties between event and censoring times)
suppressMessages({library(survival); library(prodlim)})
d <- read.csv("../horizon/data_ties.csv")
km <- survfit(Surv(time, status) ~ 1, data = d)
out <- data.frame(time = km$time, surv = km$surv, var = (km$std.err * km$surv)^2,
                  n_risk = km$n.risk, n_event = km$n.event)
write.csv(format(out[out$n_event > 0, ], digits = 17), "km_survfit.csv", row.names = FALSE,
          quote = FALSE)
w <- seq(0.5, 2, length.out = nrow(d))          # case weights
kmw <- survfit(Surv(time, status) ~ 1, data = d, weights = w)
outw <- data.frame(time = kmw$time, surv = kmw$surv)
write.csv(format(outw[kmw$n.event > 0, ], digits = 17), "km_survfit_weights.csv",
          row.names = FALSE, quote = FALSE)
G <- prodlim(Hist(time, status) ~ 1, data = d, reverse = TRUE)
tt <- sort(unique(d$time))
outg <- data.frame(time = tt, G = predict(G, times = tt))
write.csv(format(outg, digits = 17), "censoring_prodlim_reverse.csv", row.names = FALSE,
          quote = FALSE)
cat(R.version.string, "survival", as.character(packageVersion("survival")), "prodlim",
    as.character(packageVersion("prodlim")), "\n")
