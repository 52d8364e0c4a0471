## Reference outputs of edgeR for tests/test_expression_normalize.py.
## Run from this folder:  Rscript make_refs.R
## R 4.2.2, edgeR 3.40.2, limma 3.54.1 (versions are written to versions.csv).
## Counts are simulated here (set.seed below); all files are written in genes x samples
## orientation as R uses them (the tests transpose).
suppressPackageStartupMessages(library(edgeR))
set.seed(20240517)
wcsv <- function(x, file) {
  con <- gzfile(file, "w")
  if (is.matrix(x) || is.data.frame(x)) {
    x <- as.data.frame(x)
    num <- vapply(x, is.double, TRUE)
    x[num] <- lapply(x[num], function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v)))
  }
  write.csv(x, con, quote = FALSE)
  close(con)
}

## ---- simulated negative-binomial counts -----------------------------------------------
## genes: log-normal baseline abundances; ~10% all-zero or very low; 3 genes with huge
## counts; libraries log-uniform 1e5..5e6; group effect on 10% of genes; centre effect.
sim_counts <- function(n, G, group, centre, covariate = NULL) {
  lib <- exp(runif(n, log(1e5), log(5e6)))
  base <- rlnorm(G, meanlog = -9.5, sdlog = 2)
  base[1:3] <- c(0.05, 0.03, 0.02)                       # huge genes
  base[4:(3 + round(0.05 * G))] <- 0                     # all-zero genes
  low <- (4 + round(0.05 * G)):(3 + round(0.10 * G))
  base[low] <- 1e-8                                      # very low genes
  base <- base / sum(base)
  de <- sample(G, round(0.1 * G))
  lfc <- matrix(0, G, n)
  lfc[de, group == levels(group)[2]] <- rnorm(length(de), 0, 1)
  lfc <- lfc + outer(rnorm(G, 0, 0.3), as.numeric(centre) - 2)
  if (!is.null(covariate)) lfc <- lfc + outer(rnorm(G, 0, 0.02), covariate)
  mu <- outer(base, lib) * 2^lfc
  y <- matrix(rnbinom(G * n, mu = mu, size = 1 / 0.1), G, n)
  dimnames(y) <- list(sprintf("g%03d", seq_len(G)), sprintf("s%02d", seq_len(n)))
  y
}

cases <- list()
## case c12: 12 samples x 600 genes, 2 groups (5/7), 3 centres
g12 <- factor(rep(c("ctrl", "case"), c(5, 7)), levels = c("ctrl", "case"))
c12 <- factor(rep(c("A", "B", "C"), 4))
cases$c12 <- list(y = sim_counts(12, 600, g12, c12), group = g12, centre = c12)
## case c40: 40 samples x 400 genes, groups 14/26 (> large.n), 3 centres
g40 <- factor(rep(c("ctrl", "case"), c(14, 26)), levels = c("ctrl", "case"))
c40 <- factor(rep(c("A", "B", "C", "A"), 10))
cases$c40 <- list(y = sim_counts(40, 400, g40, c40), group = g40, centre = c40)
## case cov: 16 samples x 300 genes, design with a continuous covariate (age)
g16 <- factor(rep(c("ctrl", "case"), 8), levels = c("ctrl", "case"))
c16 <- factor(rep(c("A", "B"), each = 8))
age <- round(runif(16, 35, 80))
cases$cov <- list(y = sim_counts(16, 300, g16, c16, age - 57), group = g16, centre = c16, age = age)
## case sparse: 8 samples x 200 genes, mostly zero (upper quartile zero in most samples,
## so TMM takes the sqrt-colSum reference; TMMwsp pairs singletons)
ys <- matrix(rnbinom(8 * 600, mu = 0.05, size = 0.5), 600, 8)
ys[1:10, ] <- matrix(rnbinom(8 * 10, mu = 200, size = 5), 10, 8)
dimnames(ys) <- list(sprintf("g%03d", 1:600), sprintf("s%02d", 1:8))
cases$sparse <- list(y = ys)

fbe_rows <- list()
for (nm in names(cases)) {
  cs <- cases[[nm]]
  y <- cs$y
  wcsv(y, sprintf("%s_counts.csv.gz", nm))
  samp <- data.frame(lib_size = colSums(y), row.names = colnames(y))
  if (!is.null(cs$group)) { samp$group <- cs$group; samp$centre <- cs$centre }
  if (!is.null(cs$age)) samp$age <- cs$age
  ## norm factors (calcNormFactors on the DGEList, default arguments)
  d <- DGEList(y)
  nf <- sapply(c("TMM", "TMMwsp", "RLE", "upperquartile", "none"), function(m)
    if (nm == "sparse" && m == "upperquartile") rep(NA_real_, ncol(y))
    else calcNormFactors(d, method = m)$samples$norm.factors)
  rownames(nf) <- colnames(y)
  ## non-default TMM arguments
  nf <- cbind(nf,
    TMM_ref3_noweight = calcNormFactors(d, method = "TMM", refColumn = 3, doWeighting = FALSE)$samples$norm.factors,
    TMM_trim = calcNormFactors(d, method = "TMM", logratioTrim = 0.2, sumTrim = 0.1, Acutoff = -20)$samples$norm.factors,
    UQ_p90 = if (nm == "sparse") NA_real_ else calcNormFactors(d, method = "upperquartile", p = 0.9)$samples$norm.factors)
  wcsv(cbind(samp[, "lib_size", drop = FALSE], nf), sprintf("%s_normfactors.csv.gz", nm))
  write.csv(samp, sprintf("%s_samples.csv", nm), quote = FALSE)
  dt <- calcNormFactors(d, method = "TMM")
  ## CPM (c12 only, to keep the files small)
  if (nm == "c12") {
    wcsv(cpm(dt), "c12_cpm.csv.gz")
    wcsv(cpm(dt, log = TRUE, prior.count = 2), "c12_logcpm_prior2.csv.gz")
    wcsv(cpm(dt, log = TRUE, prior.count = 0.5), "c12_logcpm_prior0.5.csv.gz")
    wcsv(cpm(d, log = TRUE, prior.count = 2), "c12_logcpm_prior2_nonorm.csv.gz")
  }
  ## filterByExpr: keep vectors; calls listed in fbe_calls.csv
  keep <- list()
  info <- function(call, k, mss, cut) fbe_rows[[length(fbe_rows) + 1]] <<-
    data.frame(case = nm, call = call, n_kept = sum(k), min_samples = mss, cpm_cutoff = cut)
  ## min sample size and cutoff recomputed from the documented rule for the record
  mss_of <- function(n) if (n > 10) 10 + (n - 10) * 0.7 else n
  if (!is.null(cs$group)) {
    keep$group <- filterByExpr(d, group = cs$group)
    keep$nodesign <- suppressMessages(filterByExpr(d))
    keep$group_tmm <- filterByExpr(dt, group = cs$group)
    keep$group_mc5_mt30 <- filterByExpr(d, group = cs$group, min.count = 5, min.total.count = 30)
    keep$group_centre <- filterByExpr(d, group = interaction(cs$group, cs$centre))
    des <- model.matrix(~ group + centre, data = samp)
    keep$design <- filterByExpr(d, design = des)
    keep$design_largen3_prop05 <- filterByExpr(d, design = des, large.n = 3, min.prop = 0.5)
    wcsv(des, sprintf("%s_design.csv.gz", nm))
    if (!is.null(cs$age)) {
      desa <- model.matrix(~ age + group, data = samp)
      keep$design_age <- filterByExpr(d, design = desa)
      keep$design_ageonly <- filterByExpr(d, design = cbind(age = samp$age))
      wcsv(desa, "cov_design_age.csv.gz")
      h <- hat(desa); info("design_age", keep$design_age, mss_of(1 / max(h)), 10 / median(samp$lib_size) * 1e6)
      h <- hat(cbind(age = samp$age)); info("design_ageonly", keep$design_ageonly, mss_of(1 / max(h)), 10 / median(samp$lib_size) * 1e6)
    }
    h <- hat(des); info("design", keep$design, mss_of(1 / max(h)), 10 / median(samp$lib_size) * 1e6)
    info("group", keep$group, mss_of(min(table(cs$group))), 10 / median(samp$lib_size) * 1e6)
    info("nodesign", keep$nodesign, mss_of(ncol(y)), 10 / median(samp$lib_size) * 1e6)
    info("group_tmm", keep$group_tmm, mss_of(min(table(cs$group))),
         10 / median(dt$samples$lib.size * dt$samples$norm.factors) * 1e6)
    info("group_mc5_mt30", keep$group_mc5_mt30, mss_of(min(table(cs$group))), 5 / median(samp$lib_size) * 1e6)
    wcsv(as.data.frame(lapply(keep, as.integer), row.names = rownames(y)),
         sprintf("%s_filterbyexpr.csv.gz", nm))
  }
}
## ---- exact ties at the CPM cutoff -------------------------------------------------------
## 5 samples; library sizes M * k / 10 (k = 8..12 for samples 1..5), so a count of k in
## sample k is exactly min.count = 10 reads at the median library size M: whether it reaches
## the cutoff depends on floating-point rounding.  Genes t1..t5 hold that tie in sample i and
## k - 1 (clearly below) elsewhere; a1..a5 hold k + 1 (clearly above) in sample i; r01..r15
## are random 5..15.  100 values of M; one sample per group (MinSampleSize 1) and
## min.total.count 0 so only the CPM rule acts.
k <- 8:12
tie <- t(sapply(1:5, function(i) ifelse(1:5 == i, k, k - 1)))
above <- t(sapply(1:5, function(i) ifelse(1:5 == i, k + 1, k - 1)))
yt <- rbind(tie, above, matrix(sample(5:15, 5 * 15, replace = TRUE), 15, 5))
dimnames(yt) <- list(c(sprintf("t%d", 1:5), sprintf("a%d", 1:5), sprintf("r%02d", 1:15)),
                     sprintf("s%02d", 1:5))
wcsv(yt, "ties_counts.csv.gz")
Ms <- round(exp(runif(100, log(1e5), log(1e7))), 1)
tl <- sapply(Ms, function(M) M * k / 10)
colnames(tl) <- sprintf("M%03d", seq_along(Ms)); rownames(tl) <- colnames(yt)
tk <- sapply(seq_along(Ms), function(j) as.integer(filterByExpr(
  DGEList(yt), group = 1:5, lib.size = tl[, j], min.total.count = 0)))
colnames(tk) <- colnames(tl); rownames(tk) <- rownames(yt)
wcsv(tl, "ties_libsizes.csv.gz")
wcsv(as.data.frame(tk), "ties_filterbyexpr.csv.gz")
## total-count boundary: a1..a5 have exactly 47 reads in total (first M)
tt <- sapply(c(47, 48), function(m) as.integer(filterByExpr(
  DGEList(yt), group = 1:5, lib.size = tl[, 1], min.total.count = m)))
colnames(tt) <- c("total47", "total48"); rownames(tt) <- rownames(yt)
wcsv(as.data.frame(tt), "ties_filterbyexpr_total.csv.gz")

write.csv(do.call(rbind, fbe_rows), "filterbyexpr_calls.csv", quote = FALSE, row.names = FALSE)
write.csv(data.frame(package = c("R", "edgeR", "limma"),
                     version = c(as.character(getRversion()), as.character(packageVersion("edgeR")),
                                 as.character(packageVersion("limma")))),
          "versions.csv", quote = FALSE, row.names = FALSE)
