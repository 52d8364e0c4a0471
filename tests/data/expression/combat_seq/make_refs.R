## References for tests/test_expression_combat_seq.py (sva::ComBat_seq, edgeR dispersions).
## Run from this folder:  Rscript make_refs.R
## Writes csv / csv.gz files next to this script.  R >= 4.2, sva 3.46.0, edgeR 3.40.2.
suppressPackageStartupMessages({ library(sva); library(edgeR) })
cat("R", R.version.string, " sva", format(packageVersion("sva")),
    " edgeR", format(packageVersion("edgeR")), "\n")

## ---------------------------------------------------------------- simulated counts
set.seed(20240611)
n_gene <- 400; n_per <- 8
batch <- rep(c("A", "B", "C"), each = n_per)
group <- rep(rep(c("ctrl", "case"), each = n_per / 2), 3)
x <- round(rnorm(3 * n_per), 3)                      # a continuous covariate
base <- exp(rnorm(n_gene, 3, 1.6))                   # gene means, ~0.2 to ~2000
bshift <- cbind(A = 0, B = rnorm(n_gene, 0.4, 0.4), C = rnorm(n_gene, -0.3, 0.4))
bdisp <- cbind(A = 1, B = 2.5, C = 0.5)              # batch dispersion multipliers
disp <- 0.05 + rexp(n_gene, 1 / 0.15)                # gene dispersions
de <- ifelse(runif(n_gene) < 0.15, sample(c(-1, 1), n_gene, TRUE) * runif(n_gene, 0.5, 1.5), 0)
libf <- exp(runif(3 * n_per, log(0.5), log(2)))      # library size factors
counts <- matrix(0L, n_gene, 3 * n_per)
for (j in seq_len(3 * n_per)) {
  b <- batch[j]
  mu <- base * libf[j] * exp(bshift[, b] + de * (group[j] == "case") + 0.2 * x[j] * (de != 0))
  counts[, j] <- rnbinom(n_gene, mu = mu, size = 1 / (disp * bdisp[, b]))
}
counts[1:4, batch == "B"] <- 0L                      # genes all zero in one batch
counts[5:6, batch == "C"] <- 0L
rownames(counts) <- sprintf("g%03d", seq_len(n_gene))
colnames(counts) <- sprintf("s%02d", seq_len(3 * n_per))
samples <- data.frame(sample = colnames(counts), batch = batch, group = group, x = x)

## ------------------------------------------- ComBat_seq returning its intermediates
## A copy of sva::ComBat_seq whose last line returns the intermediates as well; its
## adjusted counts are checked to be identical to sva::ComBat_seq's below.
cs_internals <- sva::ComBat_seq
bd <- body(cs_internals)
stopifnot(identical(bd[[length(bd)]], quote(return(adjust_counts_whole))))
bd[[length(bd)]] <- quote(return(list(
  adjusted = adjust_counts_whole, keep = keep, disp_common = disp_common,
  phi_hat = phi_hat, gamma_hat = gamma_hat, alpha_g = alpha_g, mu_hat = mu_hat,
  gamma_star = gamma_star_mat, phi_star = phi_star_mat)))
body(cs_internals) <- bd

fmt <- function(df, digits = 10) {
  df[] <- lapply(df, function(v) if (is.numeric(v)) signif(v, digits) else v); df
}
write_gz <- function(df, file) {
  con <- gzfile(file, "w"); on.exit(close(con))
  write.csv(df, con, row.names = FALSE, quote = FALSE)
}
## run ComBat_seq and the copy on samples `sel`; write the adjusted counts (samples x genes),
## the per-gene estimates (hat: gamma_hat, phi_hat, alpha_g; star: gamma_star, phi_star)
## and return the common dispersions
run <- function(tag, sel = seq_len(ncol(counts)), params = "hat", ...) {
  set.seed(1)
  capture.output(out <- sva::ComBat_seq(counts[, sel], batch[sel], ...))
  set.seed(1)
  capture.output(res <- cs_internals(counts[, sel], batch[sel], ...))
  stopifnot(identical(out, res$adjusted))
  write_gz(data.frame(sample = colnames(counts)[sel], t(out), check.names = FALSE),
           sprintf("adjusted_%s.csv.gz", tag))
  p <- data.frame(gene = rownames(counts)[res$keep])
  what <- if (params == "hat") c("gamma_hat", "phi_hat") else c("gamma_star", "phi_star")
  for (k in 1:3) for (w in what)
    p[[paste0(w, "_", c("A", "B", "C")[k])]] <- res[[w]][, k]
  if (params == "hat") p$alpha_g <- as.vector(res$alpha_g)
  if (params != "none") write_gz(fmt(p), sprintf("params_%s.csv.gz", tag))
  list(common = data.frame(scenario = tag, batch = c("A", "B", "C"),
                           disp_common = sprintf("%.15g", res$disp_common)), res = res)
}

write.csv(samples, "samples.csv", row.names = FALSE, quote = FALSE)
write_gz(data.frame(sample = colnames(counts), t(counts), check.names = FALSE), "counts.csv.gz")
## unbalanced subset: batch A with 2 samples (1 per group), batch C without "case" samples,
## so both get sva's intercept-only common dispersion
unbal <- c(1, 5, 9:16, 17:20)
r_group <- run("group", group = group)
r_shrink <- run("shrink", params = "none", group = group, shrink = TRUE)
r_shrinkdisp <- run("shrinkdisp", params = "star", group = group, shrink = TRUE,
                    shrink.disp = TRUE)
stopifnot(identical(r_shrink$res$gamma_star, r_shrinkdisp$res$gamma_star),
          identical(r_shrink$res$gamma_hat, r_group$res$gamma_hat))
common <- rbind(
  r_group$common,
  run("nogroup")$common,
  run("covar", group = group, covar_mod = data.frame(x = x))$common,
  run("covaronly", covar_mod = cbind(x = x))$common,
  run("unbal", sel = unbal, group = group[unbal])$common)
write.csv(common, "disp_common.csv", row.names = FALSE, quote = FALSE)

## ------------------------------------------------ edgeR pieces on batch A (genes x samples)
## tagwise dispersions with the design ComBat_seq uses inside a batch, and glmFit with
## prior.count = 1e-4 (coefficients) on the full design with those dispersions.
yA <- counts[-(1:6), batch == "A"]
yA <- yA[rowSums(yA) > 0, ]
dA <- model.matrix(~ group[batch == "A"])
cdA <- estimateGLMCommonDisp(yA, design = dA, subset = nrow(yA))
twA <- estimateGLMTagwiseDisp(yA, design = dA, dispersion = cdA, prior.df = 0)
aplA <- adjustedProfileLik(rep(cdA, nrow(yA)), yA, dA, offset = log(colSums(yA)))
write_gz(fmt(data.frame(gene = rownames(yA), tagwise = twA, apl_common = aplA), 15),
         "edger_batchA.csv.gz")
cat(sprintf("%.15g\n", cdA), file = "edger_batchA_common.txt")

## ------------------------------------------ pnbinom / qnbinom (R's left-continuity fuzz)
k <- rep(0:60, 3)
mu <- rep(c(5, 30, 200), each = 61)
size <- rep(c(0.5, 3, 40), each = 61)
p0 <- pnbinom(k, mu = mu, size = size)
eps <- .Machine$double.eps
p <- c(p0, p0 * (1 + 4 * eps), p0 * (1 + 64 * eps))
q <- data.frame(k = rep(k, 3), mu = rep(mu, 3), size = rep(size, 3),
                p = sprintf("%.17g", p), pnbinom_k = sprintf("%.17g", rep(p0, 3)),
                qnbinom_p = qnbinom(p, mu = rep(mu, 3), size = rep(size, 3)))
write_gz(q, "nbinom.csv.gz")

## ------------------------------------ sva:::match_quantiles on a crafted 40 x 10 block
## (counts from 0 to far in the upper tail, so that the |p - 1| < 1e-4 rule applies)
set.seed(11)
G <- 40; J <- 10
old_mu <- matrix(exp(runif(G * J, log(0.5), log(200))), G)
old_phi <- exp(runif(G, log(0.01), log(2)))
y <- matrix(rnbinom(G * J, mu = old_mu * rep(c(1, 4), each = G * J / 2),
                    size = 1 / old_phi), G)
new_mu <- old_mu * exp(rnorm(G * J, 0, 0.5))
new_phi <- old_phi * exp(runif(G, log(0.5), log(2)))
adj <- sva:::match_quantiles(y, old_mu, old_phi, new_mu, new_phi)
f17 <- function(v) sprintf("%.17g", v)
write_gz(data.frame(y = as.vector(y), old_mu = f17(old_mu), old_phi = f17(rep(old_phi, J)),
                    new_mu = f17(new_mu), new_phi = f17(rep(new_phi, J)),
                    adjusted = as.vector(adj)), "match_quantiles.csv.gz")
cat("done\n")
