# Reference outputs of spdep's analytic Lee's L test (lee.test) for tests/test_spatial_autocorr.py.
# Run from this folder (after make_spdep_refs.R, whose data_*.csv it reads):
#   Rscript make_lee_test_refs.R      (R 4.2.2, spdep 1.2-7; dbscan NOT installed, ~2 min)
# The neighbour lists are rebuilt with the same calls as make_spdep_refs.R from the stored
# coordinates (written with 17 significant digits, so they round-trip exactly).
suppressMessages(library(spdep))
f17 <- function(x) sprintf("%.17g", x)
rd <- function(nm) read.csv(paste0("data_", nm, ".csv"))
datasets <- list(grid = rd("grid"), hex = rd("hex"), irregular = rd("irregular"))
nbs <- list(
  grid = list(knn4 = function(xy) knn2nb(knearneigh(xy, k = 4)),
              knn6 = function(xy) knn2nb(knearneigh(xy, k = 6)),
              d0_1 = function(xy) dnearneigh(xy, 0, 1),
              d1_2 = function(xy) dnearneigh(xy, 1, 2)),
  hex = list(knn4 = function(xy) knn2nb(knearneigh(xy, k = 4)),
             knn6 = function(xy) knn2nb(knearneigh(xy, k = 6)),
             d0_150 = function(xy) dnearneigh(xy, 0, 150)),
  irregular = list(knn4 = function(xy) knn2nb(knearneigh(xy, k = 4)),
                   knn6 = function(xy) knn2nb(knearneigh(xy, k = 6)),
                   d0_1.5 = function(xy) dnearneigh(xy, 0, 1.5),
                   d0_0.6 = function(xy) dnearneigh(xy, 0, 0.6)))  # has islands
vars <- c("smooth1", "smooth2", "smooth3", "noise1", "noise2")
out <- list()
for (nm in names(nbs)) {
  d <- datasets[[nm]]; xy <- as.matrix(d[, c("x", "y")])
  for (wn in names(nbs[[nm]])) {
    nb <- nbs[[nm]][[wn]](xy)
    for (style in c("W", "B", "C")) {
      lw <- nb2listw(nb, style = style, zero.policy = TRUE)
      for (xv in c("smooth1", "noise2")) for (v in vars) for (alt in c("greater", "less", "two.sided")) {
        lt <- lee.test(d[[xv]], d[[v]], lw, zero.policy = TRUE, alternative = alt)
        out[[length(out) + 1]] <- data.frame(dataset = nm, weights = wn, style = style,
          x = xv, y = v, alternative = alt, L = f17(lt$estimate[1]),
          expectation = f17(lt$estimate[2]), variance = f17(lt$estimate[3]),
          z = f17(lt$statistic), p = f17(lt$p.value))
      }
    }
  }
}
write.csv(do.call(rbind, out), "lee_test.csv", row.names = FALSE, quote = FALSE)
cat("spdep", as.character(packageVersion("spdep")), R.version.string, "\n")
