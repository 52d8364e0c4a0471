# psych::ICC references for tests/test_features.py (run: Rscript make_icc_reference.R)
suppressMessages(library(psych))
sf <- matrix(c(9,2,5,8, 6,1,3,2, 8,4,6,8, 7,1,2,6, 10,5,6,9, 6,2,4,7), ncol = 4, byrow = TRUE)
write.csv(sf, "shrout_fleiss_1979_table2.csv", row.names = FALSE)
r <- ICC(sf, lmer = FALSE)$results
write.csv(r, "psych_icc_shrout_fleiss.csv", row.names = FALSE)
set.seed(20261205)
subj <- rnorm(25, sd = 2)
x <- sapply(1:3, function(j) subj + 0.5 * j + rnorm(25))
write.csv(x, "random_25x3.csv", row.names = FALSE)
r2 <- ICC(x, lmer = FALSE, alpha = 0.1)$results
write.csv(r2, "psych_icc_random_25x3_alpha0.1.csv", row.names = FALSE)
cat("psych", as.character(packageVersion("psych")), R.version.string, "\n")
