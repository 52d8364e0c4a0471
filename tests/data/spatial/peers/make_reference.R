# Reference values for tests/test_spatial_peers_runner.py (helper F, issue 20).
# Run from this folder: Rscript make_reference.R   (R 4.2.2, spdep 1.2.7)
# Writes inputs.csv (coordinates and 4 variables), neighbours.csv (spdep's kNN list) and
# moran_spdep.csv (spdep::moran.test under normality and randomisation, alternative "greater").
suppressPackageStartupMessages(library(spdep))
options(digits = 17)
set.seed(20)
n <- 200; k <- 6
x <- runif(n, 0, 100); y <- runif(n, 0, 100)
vars <- data.frame(
  iid = rnorm(n),
  trend = sin(x / 15) + cos(y / 20) + rnorm(n, sd = 0.5),
  skewed = exp(rnorm(n) + x / 50),
  checker = ((floor(x / 10) + floor(y / 10)) %% 2) + rnorm(n, sd = 0.3)
)
coords <- cbind(x, y)
# write.csv keeps 15 significant digits whatever options(digits) says: print numbers with %.17g
full <- function(df) {
  for (v in names(df)) if (is.double(df[[v]])) df[[v]] <- sprintf("%.17g", df[[v]])
  df
}
nb <- knn2nb(knearneigh(coords, k = k))
lw <- nb2listw(nb, style = "W")
write.csv(full(data.frame(x = x, y = y, vars)), "inputs.csv", row.names = FALSE, quote = FALSE)
write.csv(data.frame(i = rep(seq_len(n), each = k) - 1L, j = unlist(nb) - 1L),
          "neighbours.csv", row.names = FALSE, quote = FALSE)
rows <- lapply(names(vars), function(v) {
  tn <- moran.test(vars[[v]], lw, randomisation = FALSE, alternative = "greater")
  tr <- moran.test(vars[[v]], lw, randomisation = TRUE, alternative = "greater")
  data.frame(variable = v, I = unname(tn$estimate[1]), EI = unname(tn$estimate[2]),
             var_norm = unname(tn$estimate[3]), var_rand = unname(tr$estimate[3]),
             z_norm = unname(tn$statistic), z_rand = unname(tr$statistic),
             p_norm = tn$p.value, p_rand = tr$p.value)
})
write.csv(full(do.call(rbind, rows)), "moran_spdep.csv", row.names = FALSE, quote = FALSE)
cat("R", R.version$major, R.version$minor, "spdep", as.character(packageVersion("spdep")), "\n")
