# Reference outputs of GSVA 1.46 for tests/test_expression_genesets.py.
# Run from this folder:  Rscript make_refs.R
# Rewrites every file here except README.md and this script.
suppressPackageStartupMessages(library(GSVA))

set.seed(20240611)
n <- 30L
p <- 500L
genes <- sprintf("G%03d", seq_len(p))
samples <- sprintf("S%02d", seq_len(n))

# ---- log-expression: 4 latent factors driving gene blocks, plus noise --------------------
fac <- matrix(rnorm(n * 4), n, 4)
base <- runif(p, 4, 12)
noise_sd <- runif(p, 0.3, 1.2)
load <- matrix(0, p, 4)
load[1:60, 1] <- runif(60, 0.5, 1.5)
load[61:100, 2] <- runif(40, -1.5, 1.5)
load[101:140, 3] <- runif(40, 0.3, 1.0)
load[141:200, 4] <- runif(60, -0.8, 0.8)
mu <- base + load %*% t(fac)                                 # p x n
expr_raw <- mu + matrix(rnorm(p * n), p, n) * noise_sd
expr <- round(expr_raw, 2)                                   # 2 decimals: ties across genes
expr[499, ] <- expr[498, ]                                   # an exact copy of another gene
expr[500, ] <- 7                                             # a constant gene
dimnames(expr) <- list(genes, samples)

# ---- counts (for kcdf = "Poisson") --------------------------------------------------------
counts <- matrix(rnbinom(p * n, size = 10, mu = 2^(expr_raw - 2)), p, n)
counts[500, ] <- 0L                                          # constant (all zero)
dimnames(counts) <- list(genes, samples)
storage.mode(counts) <- "integer"

# ---- gene sets (some genes absent from the data) ------------------------------------------
absent <- sprintf("ABSENT_%d", 1:12)
rest <- genes[201:497]
sets <- list(
  set_A_factor1 = c(genes[1:40], absent[1:2]),
  set_B_factor2 = c(genes[61:80], "G500"),
  set_C_small = genes[c(101, 150, 200, 250, 300)],
  set_D_mixed = c(sample(rest, 30), absent[3:7]),
  set_E_large = sample(genes[1:497], 60),
  set_F_overlap = genes[30:70],
  set_G_mostly_absent = c(genes[401:403], absent[7:12]),
  set_H_copies = c("G498", "G499", genes[10:20])
)
gmt <- vapply(names(sets), function(s)
  paste(c(s, paste0("simulated set ", s), sets[[s]]), collapse = "\t"), "")
writeLines(gmt, "example.gmt")

wcsv <- function(m, file) {
  m <- as.matrix(m)
  out <- data.frame(id = rownames(m), check.names = FALSE)
  for (j in seq_len(ncol(m))) out[[colnames(m)[j]]] <- sprintf("%.17g", m[, j])
  con <- if (grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(out, con, row.names = FALSE, quote = FALSE)
  close(con)
}
wexpr <- function(m, file) {           # the input data: exact decimal text
  con <- gzfile(file, "w")
  write.csv(data.frame(id = rownames(m), m, check.names = FALSE), con,
            row.names = FALSE, quote = FALSE)
  close(con)
}
wexpr(expr, "expr.csv.gz")
wexpr(counts, "counts.csv.gz")
# score exactly what the tests read: the matrices as parsed back from those files
rexpr <- function(file) as.matrix(read.csv(file, row.names = 1, check.names = FALSE))
expr <- rexpr("expr.csv.gz")
counts <- rexpr("counts.csv.gz")
stopifnot(identical(dimnames(expr), list(genes, samples)), is.integer(counts))

# ---- GSVA calls -----------------------------------------------------------------------------
calls <- list(
  gsva_default = quote(gsva(expr, sets, method = "gsva", kcdf = "Gaussian", verbose = FALSE)),
  gsva_maxdev = quote(gsva(expr, sets, method = "gsva", kcdf = "Gaussian", mx.diff = FALSE,
                           verbose = FALSE)),
  gsva_absrank = quote(gsva(expr, sets, method = "gsva", kcdf = "Gaussian", abs.ranking = TRUE,
                            verbose = FALSE)),
  gsva_tau05 = quote(gsva(expr, sets, method = "gsva", kcdf = "Gaussian", tau = 0.5,
                          verbose = FALSE)),
  gsva_none = quote(gsva(expr, sets, method = "gsva", kcdf = "none", verbose = FALSE)),
  gsva_poisson = quote(gsva(counts, sets, method = "gsva", kcdf = "Poisson", verbose = FALSE)),
  gsva_minmax = quote(gsva(expr, sets, method = "gsva", kcdf = "Gaussian", min.sz = 5,
                           max.sz = 40, verbose = FALSE)),
  ssgsea = quote(gsva(expr, sets, method = "ssgsea", kcdf = "Gaussian", verbose = FALSE)),
  ssgsea_nonorm = quote(gsva(expr, sets, method = "ssgsea", kcdf = "Gaussian",
                             ssgsea.norm = FALSE, verbose = FALSE)),
  ssgsea_counts_min5 = quote(gsva(counts, sets, method = "ssgsea", kcdf = "Poisson",
                                  min.sz = 5, verbose = FALSE)),
  zscore = quote(gsva(expr, sets, method = "zscore", kcdf = "Gaussian", verbose = FALSE)),
  plage = quote(gsva(expr, sets, method = "plage", kcdf = "Gaussian", verbose = FALSE))
)
call_text <- character(0)
for (nm in names(calls)) {
  res <- suppressWarnings(capture.output(r <- eval(calls[[nm]])))
  wcsv(r, paste0("scores_", nm, ".csv"))
  call_text[nm] <- paste(deparse(calls[[nm]], width.cutoff = 500L), collapse = " ")
}
write.csv(data.frame(name = names(call_text), call = call_text), "calls.csv",
          row.names = FALSE)

# ---- GSVA's C kernel estimate itself (first 60 genes), as compute.gene.density calls it ----
dens <- function(m, rnaseq) {
  A <- .C("matrix_density_R", as.double(t(m)), as.double(t(m)), R = double(ncol(m) * nrow(m)),
          ncol(m), ncol(m), nrow(m), as.integer(rnaseq), PACKAGE = "GSVA")$R
  t(matrix(A, ncol(m), nrow(m), dimnames = list(colnames(m), rownames(m))))
}
wcsv(dens(expr[1:60, ], FALSE), "density_gaussian.csv.gz")
wcsv(dens(counts[1:60, ], TRUE), "density_poisson.csv.gz")

write.csv(data.frame(software = c("R", "GSVA", "sparseMatrixStats"),
                     version = c(as.character(getRversion()),
                                 as.character(packageVersion("GSVA")),
                                 as.character(packageVersion("sparseMatrixStats")))),
          "versions.csv", row.names = FALSE)
