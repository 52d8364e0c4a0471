# cv.glmnet references for tests/test_elasticnet.py (run from this folder: Rscript make_cv_refs.R)
# Fold IDs are fixed (foldid = rep(1:k, length.out = n)) so the folds are the same in Python.
suppressMessages(library(glmnet))
x <- as.matrix(read.csv("quickstart_x.csv.gz")); y <- read.csv("quickstart_y.csv")$y
lam <- read.csv("quickstart_gaussian_lambda.csv")$lambda
xb <- as.matrix(read.csv("binomial_x.csv.gz")); yb <- read.csv("binomial_y.csv")[, 1]
lamb <- read.csv("binomialexample_binomial_lambda.csv")$lambda
out <- list()
run <- function(name, x, y, family, alpha, lambda, k) {
  foldid <- rep(1:k, length.out = nrow(x))
  fit <- cv.glmnet(x, y, family = family, alpha = alpha, lambda = lambda, foldid = foldid,
                   thresh = 1e-14, maxit = 1e6)
  data.frame(case = name, lambda = fit$lambda, cvm = fit$cvm, cvsd = fit$cvsd,
             lambda_min = fit$lambda.min, lambda_1se = fit$lambda.1se, k = k)
}
res <- rbind(run("gaussian_a1_k10", x, y, "gaussian", 1, lam, 10),
             run("gaussian_a0.5_k5", x, y, "gaussian", 0.5, lam, 5),
             run("binomial_a1_k10", xb, yb, "binomial", 1, lamb, 10),
             run("binomial_a0.5_k7", xb, yb, "binomial", 0.5, lamb, 7))
write.csv(format(res, digits = 17), "cv_glmnet_refs.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "glmnet", as.character(packageVersion("glmnet")), "\n")
