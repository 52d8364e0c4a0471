# cv.glmnet(family = "cox") reference for tests/test_elasticnet.py (run here: Rscript make_cv_refs.R)
suppressMessages({library(glmnet); library(survival)})
d <- read.csv("cox_data.csv.gz")
x <- as.matrix(d[, grep("^x", names(d))])
y <- Surv(d$time, d$status)
lam <- read.csv("glmnet_cox_breslow_alpha1_thresh1e-14.csv.gz")$lambda
foldid <- rep(1:5, length.out = nrow(x))
fit <- cv.glmnet(x, y, family = "cox", alpha = 1, lambda = lam, foldid = foldid, thresh = 1e-14,
                 grouped = TRUE)
out <- data.frame(lambda = fit$lambda, cvm = fit$cvm, cvsd = fit$cvsd,
                  lambda_min = fit$lambda.min, lambda_1se = fit$lambda.1se)
write.csv(format(out, digits = 17), "cv_glmnet_cox_refs.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "glmnet", as.character(packageVersion("glmnet")), "\n")
# type.measure = "C" (Harrell's C per fold, folds weighted by size), same folds and lambdas
fitc <- cv.glmnet(x, y, family = "cox", alpha = 1, lambda = lam, foldid = foldid, thresh = 1e-14,
                  type.measure = "C")
outc <- data.frame(lambda = fitc$lambda, cvm = fitc$cvm, cvsd = fitc$cvsd,
                   lambda_min = fitc$lambda.min, lambda_1se = fitc$lambda.1se)
write.csv(format(outc, digits = 17), "cv_glmnet_cox_C_refs.csv", row.names = FALSE, quote = FALSE)
