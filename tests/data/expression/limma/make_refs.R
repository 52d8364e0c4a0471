# Reference outputs of limma 3.54.1 (R 4.2.2) for tests/test_expression_limma.py.
# Rerun from this folder:  Rscript make_refs.R
# Matrices are written samples x genes (the toolkit's orientation; R's are transposed),
# numbers rounded to 9 significant digits; inputs that are fitted (log-CPM, variances) are
# rounded to 6 digits first, so the stored input is exactly what R fitted.
suppressPackageStartupMessages({library(limma); library(edgeR)})
S <- function(x) signif(x, 9)
S6 <- function(x) signif(x, 6)
wcsv <- function(df, file) {
  if (grepl("\\.gz$", file)) { con <- gzfile(file, "w"); write.csv(df, con, row.names = FALSE); close(con) }
  else write.csv(df, file, row.names = FALSE)
}
wmat <- function(m, file, like = NULL) {  # genes x samples in R -> samples x genes on disk
  if (!is.null(like)) dimnames(m) <- dimnames(like)
  df <- data.frame(sample = colnames(m), t(m), check.names = FALSE)
  wcsv(df, file)
}
per_gene <- function(fit, eb, coef, lm = FALSE) {  # topTable (unsorted) + moderation vectors
  tt <- topTable(eb, coef = coef, number = Inf, sort.by = "none")
  G <- nrow(eb$coefficients)
  out <- data.frame(gene = rownames(tt), S(tt[, c("logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B")]),
             s2.prior = S(rep_len(eb$s2.prior, G)), df.prior = S(rep_len(eb$df.prior, G)),
             s2.post = S(eb$s2.post), df.total = S(eb$df.total), check.names = FALSE)
  if (lm) out <- data.frame(out, sigma = S(eb$sigma), df.residual = eb$df.residual,
                            stdev.unscaled = S(eb$stdev.unscaled[, coef]), check.names = FALSE)
  out
}
versions <- data.frame(package = c("R", "limma", "edgeR", "statmod", "splines"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("limma")), as.character(packageVersion("edgeR")),
              as.character(packageVersion("statmod")), as.character(packageVersion("splines"))))
wcsv(versions, "versions.csv")

# ------------------------------------------------------------------ case A: n = 24, 300 genes
set.seed(20240601)
n <- 24; G <- 300
x <- round(rnorm(n), 4)
centre <- factor(rep(c("A", "B", "C"), each = 8))
lib <- round(runif(n, 0.6, 1.6) * 2e6)
base <- exp(rnorm(G, 3.5, 2))                       # wide range of expression
base[1:40] <- runif(40, 0.05, 1.5)                  # low-count genes
disp <- rep(0.08, G) * exp(rnorm(G, 0, 0.5))
disp[281:292] <- 1.5                                # high-variance (outlier) genes
beta <- rep(0, G); beta[41:56] <- rep(c(0.8, -0.6), 8)    # genes truly associated with x
cen <- matrix(rnorm(G * 3, 0, 0.3), G, 3)
mu <- base * exp(outer(beta, x) + cen[, as.integer(centre)])
mu <- t(t(mu / sum(base)) * lib)
counts <- matrix(rnbinom(G * n, mu = mu, size = 1 / disp), G, n)
counts[296, ] <- 0                                  # an all-zero gene
counts[297, 5] <- counts[297, 5] + 5000             # single-sample outliers
counts[298, 17] <- counts[298, 17] + 3000
rownames(counts) <- sprintf("g%03d", 1:G); colnames(counts) <- sprintf("s%02d", 1:n)
nf <- calcNormFactors(counts)
design <- model.matrix(~ x + centre); rownames(design) <- colnames(counts)
wmat(counts, "A_counts.csv.gz")
wcsv(data.frame(sample = colnames(counts), x = x, centre = centre, norm.factors = nf), "A_samples.csv")
wcsv(data.frame(sample = rownames(design), design, check.names = FALSE), "A_design.csv")

v <- voom(counts, design, lib.size = colSums(counts) * nf, save.plot = TRUE)
wmat(S(v$E), "A_voom_E.csv.gz"); wmat(S(v$weights), "A_voom_weights.csv.gz", v$E)
wcsv(data.frame(x = S(v$voom.line$x), y = S(v$voom.line$y)), "A_voom_trend.csv.gz")
fit <- lmFit(v, design)
wcsv(data.frame(gene = rownames(fit), S(fit$coefficients), S(fit$stdev.unscaled),
                sigma = S(fit$sigma), Amean = S(fit$Amean), check.names = FALSE), "A_lmfit_voom.csv.gz")
wcsv(per_gene(fit, eBayes(fit), "x"), "A_voom_plain.csv.gz")
wcsv(per_gene(fit, eBayes(fit, robust = TRUE), "x"), "A_voom_robust.csv.gz")
y <- DGEList(counts); y$samples$norm.factors <- nf
logcpm <- S6(cpm(y, log = TRUE, prior.count = 3))
wmat(logcpm, "A_logcpm.csv.gz")
fl <- lmFit(logcpm, design)
wcsv(per_gene(fl, eBayes(fl, trend = TRUE), "x"), "A_logcpm_trend.csv.gz")
wcsv(per_gene(fl, eBayes(fl, trend = TRUE, robust = TRUE), "x"), "A_logcpm_trend_robust.csv.gz")
wcsv(per_gene(fl, eBayes(fl), "x"), "A_logcpm_plain.csv.gz")
# other options of eBayes / topTable on the same fit
ebo <- eBayes(fl, proportion = 0.05, stdev.coef.lim = c(0.05, 2))
wcsv(per_gene(fl, ebo, "centreC"), "A_logcpm_options.csv.gz")
tt <- topTable(eBayes(fl), coef = "x", number = 25, sort.by = "B")
wcsv(data.frame(gene = rownames(tt), S(tt), check.names = FALSE), "A_logcpm_top25_B.csv")
tt <- topTable(eBayes(fl), coef = 2, number = 25, sort.by = "p", adjust.method = "holm")
wcsv(data.frame(gene = rownames(tt), S(tt), check.names = FALSE), "A_logcpm_top25_p_holm.csv")

# missing values: NaN in E (gene-wise reduced fits, as lmFit does) and some zero weights
set.seed(7)
Ena <- logcpm
na_pos <- cbind(gene = sample(1:G, 30), sample = sample(1:n, 30, replace = TRUE))
Ena[na_pos] <- NA
Ena[250, c(1:6, 9:14, 17:22)] <- NA                # 6 observations left: df.residual = 2
Ena[251, c(2:7, 10:15, 18:23)] <- NA
Ena[252, c(1:7, 9:15, 17:23)] <- NA                # 3 observations, one per centre: ... ->
Ena[252, c(8, 16, 24)] <- NA; Ena[252, c(1, 9, 17, 2)] <- logcpm[252, c(1, 9, 17, 2)]  # df 0
wcsv(data.frame(gene = rownames(logcpm)[which(is.na(Ena), arr.ind = TRUE)[, 1]],
                sample = colnames(logcpm)[which(is.na(Ena), arr.ind = TRUE)[, 2]]), "A_na_positions.csv")
fna <- lmFit(Ena, design)
wcsv(per_gene(fna, eBayes(fna), "x", lm = TRUE), "A_na_plain.csv.gz")
wcsv(per_gene(fna, eBayes(fna, robust = TRUE), "x"), "A_na_robust.csv.gz")
wcsv(per_gene(fna, eBayes(fna, trend = TRUE, robust = TRUE), "x"), "A_na_trend_robust.csv.gz")
W <- v$weights; W[1:30, 3] <- 0; W[31:40, c(3, 4)] <- 0
fw <- lmFit(v$E, design, weights = W)
wcsv(per_gene(fw, eBayes(fw), "x", lm = TRUE), "A_zeroweights_plain.csv.gz")

# ------------------------------------------------------------------ case B: n = 8, small df
set.seed(99)
nB <- 8; GB <- 200
xB <- round(rnorm(nB), 4); group <- factor(rep(c("a", "b"), 4))
muB <- exp(rnorm(GB, 3, 1.5)) %o% rep(1, nB)
countsB <- matrix(rpois(GB * nB, muB), GB, nB)       # Poisson: no extra-Poisson variation
rownames(countsB) <- sprintf("h%03d", 1:GB); colnames(countsB) <- sprintf("b%d", 1:nB)
designB <- model.matrix(~ x + group, data.frame(x = xB, group = group)); rownames(designB) <- colnames(countsB)
wmat(countsB, "B_counts.csv.gz")
wcsv(data.frame(sample = rownames(designB), designB, check.names = FALSE), "B_design.csv")
vB <- voom(countsB, designB)                           # default library sizes
wmat(S(vB$E), "B_voom_E.csv.gz"); wmat(S(vB$weights), "B_voom_weights.csv.gz", vB$E)
vB0 <- voom(countsB)                                   # default design: intercept only
wmat(S(vB0$weights), "B_voom0_weights.csv.gz", vB$E)
fB <- lmFit(vB, designB)
wcsv(per_gene(fB, eBayes(fB), "x"), "B_voom_plain.csv.gz")
wcsv(per_gene(fB, eBayes(fB, robust = TRUE), "x"), "B_voom_robust.csv.gz")
wcsv(per_gene(fB, eBayes(fB, trend = TRUE), "x"), "B_voom_trend.csv.gz")
wcsv(per_gene(fB, eBayes(fB, trend = TRUE, robust = TRUE), "x"), "B_voom_trend_robust.csv.gz")

# ------------------------------------------------------------------ fitFDist / fitFDistRobustly / squeezeVar
set.seed(3)
N <- 400
cov <- round(runif(N, 0, 12), 6)
trendv <- exp(-0.15 * cov)
d1 <- sample(c(3, 4, 5), N, replace = TRUE); d1[1:5] <- 0
s2 <- S6(trendv * rchisq(N, d1) / pmax(d1, 1) * 8 / rchisq(N, 8))
s2[6:15] <- s2[6:15] * 25                            # outliers
s2[1:5] <- NA; s2[16] <- 0
d1[17] <- 2.5
# variances without extra variation (prior df estimated as Inf): chi-square quantiles
set.seed(2); s2inf <- S6(sample(qchisq(ppoints(N), 5) / 5))
# a robust fit where even the Winsorised variance is below the F(d, Inf) one
s2rinf <- S6(qchisq(ppoints(N), 6) / 6); s2rinf[(N - 2):N] <- s2rinf[(N - 2):N] * 30
set.seed(11); s2rinf <- sample(s2rinf)
wcsv(data.frame(cov = cov, d1 = d1, s2 = s2, s2inf = s2inf, s2rinf = s2rinf), "F_inputs.csv.gz")
out <- list()
add <- function(case, r) {
  len <- max(lengths(r))
  out[[case]] <<- data.frame(case = case, i = seq_len(len),
    scale = S(rep_len(r$scale, len)), df2 = S(rep_len(r$df2, len)),
    df2.shrunk = if (is.null(r$df2.shrunk)) NA else S(rep_len(r$df2.shrunk, len)))
}
ok <- !is.na(s2)
add("fd_plain", fitFDist(s2, d1))
add("fd_cov", fitFDist(s2, d1, covariate = cov))
add("fd_scalar_df", fitFDist(s2[ok], 4))
add("fd_cov_scalar_df", fitFDist(s2[ok], 4, covariate = cov[ok]))
add("fd_inf", fitFDist(s2inf, 5))
add("fd_inf_cov", fitFDist(s2inf, 5, covariate = cov))
add("fr_plain", fitFDistRobustly(s2[ok], d1[ok]))
add("fr_cov", fitFDistRobustly(s2[ok], d1[ok], covariate = cov[ok]))
add("fr_scalar_df", fitFDistRobustly(s2[ok], 4))
add("fr_cov_scalar_df", fitFDistRobustly(s2[ok], 4, covariate = cov[ok]))
add("fr_inf", fitFDistRobustly(s2rinf, 6))
add("fr_notok", fitFDistRobustly(s2, d1))             # NA variances / zero df: recursive branch
add("fr_winsor", fitFDistRobustly(s2[ok], 4, winsor.tail.p = c(0.1, 0.2)))
sq <- squeezeVar(s2[ok], 4, robust = TRUE, covariate = cov[ok])
out[["sq_robust_cov"]] <- data.frame(case = "sq_robust_cov", i = seq_along(sq$var.post),
  scale = S(sq$var.prior), df2 = S(sq$df.prior), df2.shrunk = S(sq$var.post))
sq <- squeezeVar(s2inf, 5)
out[["sq_inf"]] <- data.frame(case = "sq_inf", i = seq_along(sq$var.post),
  scale = S(sq$var.prior), df2 = S(sq$df.prior), df2.shrunk = S(sq$var.post))
wcsv(do.call(rbind, out), "F_outputs.csv.gz")

# ------------------------------------------------------------------ lowess (clowess) directly
set.seed(5)
lx <- round(rnorm(300) * 2, 1)                         # many ties
ly <- sin(lx) + rnorm(300) * 0.3 + (runif(300) < 0.05) * 4
l1 <- lowess(lx, ly, f = 0.5); l2 <- lowess(lx, ly, f = 0.2, iter = 0); l3 <- lowess(lx, ly, f = 0.9, iter = 5, delta = 0)
wcsv(data.frame(x = lx, y = ly), "L_inputs.csv.gz")
wcsv(data.frame(x = l1$x, y05 = S(l1$y), y02_iter0 = S(l2$y), y09_iter5_delta0 = S(l3$y)), "L_outputs.csv.gz")

# ------------------------------------------------------------------ p.adjust (stats)
set.seed(13)
pv <- signif(c(runif(40)^3, 0.5, 0.5, NA, 1e-12, NA), 6)
wcsv(data.frame(p = pv, BH = S(p.adjust(pv, "BH")), BY = S(p.adjust(pv, "BY")),
                holm = S(p.adjust(pv, "holm")), bonferroni = S(p.adjust(pv, "bonferroni"))), "P_adjust.csv")
