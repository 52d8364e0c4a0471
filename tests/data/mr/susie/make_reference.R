## Reference outputs for tests/test_mr_susie.py (Python susie_rss vs R susieR 0.12.35).
## R 4.2.2, susieR 0.12.35, data.table 1.14.8; coloc 6.0.1's R/claudia.R, R/check.R, R/susie.R
## sourced (github.com/chr1swallace/coloc commit 50fe5291fea7f8ab49823bd86747385d6e56870f) for
## coloc.susie, and its data/coloc_test_data.rda.  No Rfast installed (purity uses stats::median).
## Usage: Rscript make_reference.R <dir with claudia.R, check.R, susie.R> <coloc_test_data.rda> <outdir>
args <- commandArgs(trailingOnly = TRUE)
suppressMessages({ library(data.table); library(susieR) })
for (f in c("claudia.R", "check.R", "susie.R")) source(file.path(args[1], f))
load(args[2])
out <- args[3]
g17 <- function(x) sprintf("%.17g", x)
wmat <- function(M, file) {                 # matrix with dimnames, 17 significant digits
  df <- data.frame(snp = rownames(M), apply(M, 2, g17), check.names = FALSE)
  con <- gzfile(file.path(out, file), "w"); write.csv(df, con, row.names = FALSE, quote = FALSE); close(con)
}
fits <- list()
## (a) coloc_test_data D3 / D4 restricted to s51..s170 (120 SNPs holding all their credible
##     sets), z = beta / sqrt(varbeta), the dataset's LD (D3$LD identical to D4$LD), n = N.
keep <- paste0("s", 51:170)
D3 <- coloc_test_data$D3; D4 <- coloc_test_data$D4
i3 <- match(keep, D3$snp); i4 <- match(keep, D4$snp)
LDsub <- D3$LD[keep, keep]
z3 <- D3$beta[i3] / sqrt(D3$varbeta[i3]); z4 <- D4$beta[i4] / sqrt(D4$varbeta[i4])
write.csv(data.frame(snp = keep, z_D3 = g17(z3), z_D4 = g17(z4), N_D3 = D3$N, N_D4 = D4$N),
          file.path(out, "coloc_sub_input.csv"), row.names = FALSE, quote = FALSE)
wmat(LDsub, "coloc_sub_ld.csv.gz")
fits$coloc_D3 <- susie_rss(z = z3, R = LDsub, n = D3$N, max_iter = 100)
fits$coloc_D3_mac07 <- susie_rss(z = z3, R = LDsub, n = D3$N, max_iter = 100, min_abs_corr = 0.7)
fits$coloc_D4 <- susie_rss(z = z4, R = LDsub, n = D4$N, max_iter = 100)
S3 <- annotate_susie(fits$coloc_D3, keep, LDsub); S4 <- annotate_susie(fits$coloc_D4, keep, LDsub)
cs <- coloc.susie(S3, S4)
write.csv(data.frame(lapply(as.data.frame(cs$summary), function(x) if (is.double(x)) g17(x) else x)),
          file.path(out, "coloc_susie_sub_summary.csv"), row.names = FALSE, quote = FALSE)
## (b) simulated region: 800 individuals, 80 SNPs in strong LD (latent AR(1), rho = 0.97,
##     two haplotypes per person), 2 causal SNPs; y standardised per R's univariate_regression.
set.seed(20261206)
n <- 800; p <- 80
hap <- function() { Zl <- matrix(0, n, p); Zl[, 1] <- rnorm(n)
  for (j in 2:p) Zl[, j] <- 0.97 * Zl[, j - 1] + sqrt(1 - 0.97^2) * rnorm(n)
  maf <- runif(p, 0.05, 0.5); 1 * (t(t(Zl) < qnorm(maf))) }
X <- hap() + hap()
X <- X[, apply(X, 2, sd) > 0]
stopifnot(ncol(X) == p)
colnames(X) <- paste0("v", 1:p)
b <- rep(0, p); b[c(25, 60)] <- c(0.3, -0.25)
y <- drop(X %*% b) + rnorm(n)
ur <- univariate_regression(X, y)
bh <- ur$betahat; sh <- ur$sebetahat; zs <- bh / sh; Rs <- cor(X); vy <- var(y)
write.csv(data.frame(snp = colnames(X), bhat = g17(bh), shat = g17(sh), z = g17(zs)),
          file.path(out, "sim_input.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(paste0("n,", n), paste0("var_y,", g17(vy))), file.path(out, "sim_scalars.csv"))
wmat(Rs, "sim_ld.csv.gz")
## read the written inputs back so that R and Python fit exactly the same numbers
rd <- function(f) read.csv(gzfile(file.path(out, f)), row.names = 1, check.names = FALSE)
Rs <- as.matrix(rd("sim_ld.csv.gz")); si <- read.csv(file.path(out, "sim_input.csv"))
zs <- si$z; bh <- si$bhat; sh <- si$shat
fits$sim_z <- susie_rss(z = zs, R = Rs, n = n, L = 10)
fits$sim_bhat <- susie_rss(bhat = bh, shat = sh, R = Rs, n = n, var_y = vy, L = 10)
fits$sim_noN <- suppressMessages(susie_rss(z = zs, R = Rs, L = 10))
fits$sim_erv <- suppressMessages(susie_rss(z = zs, R = Rs, n = n, L = 10, estimate_residual_variance = TRUE))
fits$sim_em <- susie_rss(z = zs, R = Rs, n = n, L = 10, estimate_prior_method = "EM")
fits$sim_fixedV <- susie_rss(z = zs, R = Rs, n = n, L = 5, estimate_prior_variance = FALSE)
fits$sim_maxiter2 <- suppressWarnings(susie_rss(z = zs, R = Rs, n = n, L = 10, max_iter = 2))
fits$sim_L1_cov90 <- susie_rss(z = zs, R = Rs, n = n, L = 1, coverage = 0.9, min_abs_corr = 0.8)
vec <- list(); csl <- list()
for (nm in names(fits)) {
  s <- fits[[nm]]
  qs <- if (nm %in% c("coloc_D3", "sim_z", "sim_bhat")) c("alpha", "mu", "mu2", "lbf_variable")
        else c("alpha", "lbf_variable")          # (mu, mu2 for three cases only: size)
  M <- do.call(rbind, s[qs])
  rownames(M) <- paste(rep(qs, each = nrow(s$alpha)), rep(seq_len(nrow(s$alpha)), length(qs)), sep = "_")
  colnames(M) <- NULL
  wmat(M, paste0("fit_", nm, ".csv.gz"))
  add <- function(q, v) vec[[length(vec) + 1]] <<- data.frame(case = nm, quantity = q,
                                                              index = seq_along(v), value = g17(v))
  add("V", s$V); add("lbf", s$lbf); add("KL", s$KL); add("elbo", s$elbo); add("pip", s$pip)
  add("sigma2", s$sigma2); add("niter", s$niter); add("converged", as.numeric(s$converged))
  if (!is.null(s$sets$cs_index)) for (k in seq_along(s$sets$cs))
    csl[[length(csl) + 1]] <- data.frame(case = nm, name = names(s$sets$cs)[k], cs_index = s$sets$cs_index[k],
      snps = paste(s$sets$cs[[k]], collapse = " "), coverage = g17(s$sets$coverage[k]),
      min_abs_corr = g17(s$sets$purity[k, 1]), mean_abs_corr = g17(s$sets$purity[k, 2]),
      median_abs_corr = g17(s$sets$purity[k, 3]))
}
write.csv(do.call(rbind, vec), file.path(out, "fits_vectors.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, csl), file.path(out, "fits_cs.csv"), row.names = FALSE, quote = FALSE)
## (c) R's optimize (Brent fmin) on fixed functions, tol = sqrt(eps) as optim(method = "Brent")
fns <- list(f1 = function(x) (x - 1)^2 / 7 + sin(3 * x), f2 = function(x) exp(x) - 2 * x,
            f3 = function(x) abs(x - 0.3) + 0.01 * x^2)
br <- expand.grid(fn = names(fns), iv = c("-30,15", "-3,4", "0,2"), stringsAsFactors = FALSE)
br$minimum <- sapply(seq_len(nrow(br)), function(i) { iv <- as.numeric(strsplit(br$iv[i], ",")[[1]])
  g17(optimize(fns[[br$fn[i]]], iv, tol = sqrt(.Machine$double.eps))$minimum) })
br$lower <- sub(",.*", "", br$iv); br$upper <- sub(".*,", "", br$iv); br$iv <- NULL
write.csv(br, file.path(out, "brent_optimize.csv"), row.names = FALSE, quote = FALSE)
