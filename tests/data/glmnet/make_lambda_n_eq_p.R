# glmnet's default lambda sequence where n == p and n < p (lambda.min.ratio = 1e-4 vs 0.01).
# R 4.2.2, glmnet 4.1-6 (Debian r-cran-glmnet 4.1-6-1). Run from tests/data/glmnet:
#   Rscript make_lambda_n_eq_p.R
# Inputs: the first 20 rows of glmnet's QuickStartExample (quickstart_x.csv.gz, quickstart_y.csv),
# all 20 columns (n = p = 20) and the same rows with one extra column x21 = x1 * x2 (n = 20 < p = 21).
suppressMessages(library(glmnet))
x <- as.matrix(read.csv(gzfile("quickstart_x.csv.gz")))[1:20, ]
y <- read.csv("quickstart_y.csv")[1:20, 1]
f1 <- glmnet(x, y)
x2 <- cbind(x, x21 = x[, 1] * x[, 2])
f2 <- glmnet(x2, y)
write.csv(data.frame(lambda = sprintf("%.17g", f1$lambda)), "quickstart20_n_eq_p_default_lambda_seq.csv",
          row.names = FALSE, quote = FALSE)
write.csv(data.frame(lambda = sprintf("%.17g", f2$lambda)), "quickstart20_n_lt_p_default_lambda_seq.csv",
          row.names = FALSE, quote = FALSE)
cat("glmnet", as.character(packageVersion("glmnet")), R.version.string, "\n")
cat(length(f1$lambda), length(f2$lambda), "\n")
