## Reference outputs for coloc_bf_bf / coloc_susie in tests/test_mr_coloc.py.
##
## Sources coloc 6.0.1's R/claudia.R, R/check.R and R/susie.R (github.com/chr1swallace/coloc,
## commit 50fe5291fea7f8ab49823bd86747385d6e56870f) with susieR 0.12.35 and data.table 1.14.8
## installed, runs coloc's runsusie() (susie_rss with n = N, z = beta/sqrt(varbeta), the
## dataset's LD) on coloc_test_data D3 and D4 as vignette a06_SuSiE does, and writes
##  * susie_lbf_D3.csv, susie_lbf_D4.csv: the rows cs_index of lbf_variable (log BFs of the
##    credible-set signals; columns = SNPs and "null"), 17 significant digits;
##  * susie_cs_index.csv: cs_index of each fit;
##  * coloc_susie_summary.csv: coloc.susie(S3, S4) and coloc.bf_bf() on subsets (see below);
##  * coloc_susie_results_S3_S4.csv: its per-SNP SNP.PP.H4 columns.
## Usage: Rscript make_reference_susie.R <dir with claudia.R, check.R, susie.R> <coloc_test_data.rda> <outdir>
args <- commandArgs(trailingOnly = TRUE)
suppressMessages({ library(data.table); library(susieR) })
for (f in c("claudia.R", "check.R", "susie.R")) source(file.path(args[1], f))
load(args[2])
out <- args[3]
num17 <- function(df) {
  df <- as.data.frame(df)
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  df
}
S3 <- suppressMessages(runsusie(coloc_test_data$D3))
S4 <- suppressMessages(runsusie(coloc_test_data$D4))
for (nm in c("S3", "S4")) {
  s <- get(nm)
  lbf <- s$lbf_variable[s$sets$cs_index, , drop = FALSE]
  df <- data.frame(signal = s$sets$cs_index, lbf, check.names = FALSE)
  write.csv(num17(df), file.path(out, paste0("susie_lbf_D", substr(nm, 2, 2), ".csv")),
            row.names = FALSE, quote = FALSE)
}
res <- coloc.susie(S3, S4)
summ <- list(data.frame(case = "coloc_susie_S3_S4", res$summary))
write.csv(num17(res$results), file.path(out, "coloc_susie_results_S3_S4.csv"),
          row.names = FALSE, quote = FALSE)
b3 <- S3$lbf_variable[S3$sets$cs_index, , drop = FALSE]
b4 <- S4$lbf_variable[S4$sets$cs_index, , drop = FALSE]
keep <- function(b, snps) b[, intersect(c(snps, "null"), colnames(b)), drop = FALSE]
cases <- list(
  bf_bf_p12_1e5 = list(b3, b4, list(p12 = 1e-5)),
  bf_bf_D4_s60_s500 = list(b3, keep(b4, paste0("s", 60:500)), list()),
  bf_bf_D3_s1_s104 = list(keep(b3, paste0("s", 1:104)), b4, list())
)
for (nm in names(cases)) {
  cs <- cases[[nm]]
  r <- suppressWarnings(do.call(coloc.bf_bf, c(list(cs[[1]], cs[[2]]), cs[[3]])))
  summ[[nm]] <- data.frame(case = nm, r$summary)
}
summ <- rbindlist(summ, fill = TRUE)
write.csv(num17(summ), file.path(out, "coloc_susie_summary.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(dataset = rep(c("D3", "D4"), c(length(S3$sets$cs_index), length(S4$sets$cs_index))),
                     cs_index = c(S3$sets$cs_index, S4$sets$cs_index)),
          file.path(out, "susie_cs_index.csv"), row.names = FALSE, quote = FALSE)
