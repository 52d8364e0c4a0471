## Reference outputs for tests/test_mr_coloc.py, from coloc 6.0.1's own R code.
##
## The coloc package cannot be installed here (no CRAN/GitHub access), so this script sources
## the two files of coloc's source tree that coloc.abf() needs -- R/claudia.R (Var.data,
## logsum, logdiff, approx.bf.p, approx.bf.estimates, combine.abf, combine_abf_weighted,
## sdY.est, process.dataset, adjust_prior, coloc.abf) and R/check.R (check_dataset) -- from
## github.com/chr1swallace/coloc at commit 50fe5291fea7f8ab49823bd86747385d6e56870f
## (DESCRIPTION Version 6.0.1), and loads data/coloc_test_data.rda of the same commit.
##
## Usage: Rscript make_reference.R <dir with claudia.R, check.R> <coloc_test_data.rda> <outdir>
## R 4.2.2, LANG=C.UTF-8 (so merge() sorts SNP names in C collation order).
args <- commandArgs(trailingOnly = TRUE)
source(file.path(args[1], "claudia.R"))
source(file.path(args[1], "check.R"))
load(args[2])
out <- args[3]
D <- lapply(coloc_test_data[c("D1", "D2", "D3", "D4")], function(d) { d$LD <- NULL; d })

num17 <- function(df) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  df
}

## input data (LD matrices omitted)
inp <- do.call(rbind, lapply(names(D), function(nm) {
  d <- D[[nm]]
  data.frame(dataset = nm, snp = d$snp, position = d$position, beta = d$beta,
             varbeta = d$varbeta, MAF = d$MAF, N = d$N, sdY = d$sdY, type = d$type)
}))
write.csv(num17(inp), file.path(out, "coloc_test_data.csv"), row.names = FALSE, quote = FALSE)

## derived datasets
D1a <- D$D1; D1a$varbeta <- D$D1$varbeta * sqrt(4); D1a$N <- D1a$N / 4   # vignette a04_sensitivity
D2a <- D$D2; D2a$varbeta <- D$D2$varbeta * sqrt(2); D2a$N <- D2a$N / 2
pv <- function(d) 2 * pnorm(-abs(d$beta / sqrt(d$varbeta)))
P1 <- list(pvalues = pv(D$D1), MAF = D$D1$MAF, N = D$D1$N, type = "quant", snp = D$D1$snp)
CC2 <- list(beta = D$D2$beta, varbeta = D$D2$varbeta, type = "cc", s = 0.4, snp = D$D2$snp)
PCC2 <- list(pvalues = pv(D$D2), MAF = D$D2$MAF, N = D$D2$N, type = "cc", s = 0.4, snp = D$D2$snp)
D3nosd <- D$D3; D3nosd$sdY <- NULL
sub <- function(d, idx) { for (v in c("beta", "varbeta", "MAF", "snp", "position", "pvalues"))
  if (!is.null(d[[v]])) d[[v]] <- d[[v]][idx]; d }
D1first400 <- sub(D$D1, 1:400)
set.seed(1); D2last450 <- sub(D$D2, sample(51:500))   # shuffled order
D1nopos <- D$D1; D1nopos$position <- NULL

cases <- list(
  d1_d2 = list(D$D1, D$D2, list()),
  d1_d2_p12_1e6 = list(D$D1, D$D2, list(p12 = 1e-6)),
  d3_d4 = list(D$D3, D$D4, list()),
  d1a_d2a_p12_1e6 = list(D1a, D2a, list(p12 = 1e-6)),
  d1_d2_weights1 = list(D$D1, D$D2, list(prior_weights1 = c(rep(2, 100), rep(1, 400)))),
  p1_cc2 = list(P1, CC2, list()),
  d1nopos_pcc2 = list(D1nopos, PCC2, list()),
  d3nosdY_d4 = list(D3nosd, D$D4, list()),
  d1first400_d2last450 = list(D1first400, D2last450, list()),
  d1_d2_bigpriors = list(D$D1, D$D2, list(p1 = 0.01, p2 = 0.01, p12 = 0.005))
)
summ <- list()
for (nm in names(cases)) {
  cs <- cases[[nm]]
  res <- suppressWarnings(do.call(coloc.abf, c(list(dataset1 = cs[[1]], dataset2 = cs[[2]]), cs[[3]])))
  s <- res$summary
  summ[[nm]] <- data.frame(case = nm, nsnps = s[["nsnps"]], PP.H0.abf = s[["PP.H0.abf"]],
                           PP.H1.abf = s[["PP.H1.abf"]], PP.H2.abf = s[["PP.H2.abf"]],
                           PP.H3.abf = s[["PP.H3.abf"]], PP.H4.abf = s[["PP.H4.abf"]],
                           p1 = res$priors[["p1"]], p2 = res$priors[["p2"]], p12 = res$priors[["p12"]])
  if (nm %in% c("d1_d2", "p1_cc2", "d1nopos_pcc2", "d3nosdY_d4", "d1first400_d2last450"))
    write.csv(num17(res$results), gzfile(file.path(out, paste0("coloc_abf_results_", nm, ".csv.gz"))),
              row.names = FALSE, quote = FALSE)
}
write.csv(num17(do.call(rbind, summ)), file.path(out, "coloc_abf_summary.csv"), row.names = FALSE,
          quote = FALSE)
## sdY.est on D3 (the value coloc.abf used in case d3nosdY_d4)
sd3 <- suppressWarnings(sdY.est(D$D3$varbeta, D$D3$MAF, D$D3$N))
writeLines(sprintf("%.17g", sd3), file.path(out, "coloc_sdY_est_D3.txt"))
