# Reference outputs of spdep for tests/test_spatial_autocorr.py.
# Run from this folder:  Rscript make_spdep_refs.R   (R 4.2.2, spdep 1.2-7; dbscan NOT installed,
# so knearneigh / dnearneigh use spdep's own C code: exact hypot distances, ties kept by index).
suppressMessages(library(spdep))
set.seed(20240520)
f17 <- function(x) sprintf("%.17g", x)

smooth_field <- function(xy, bw) {
  d2 <- as.matrix(dist(xy))^2
  K <- exp(-d2 / (2 * bw^2))
  v <- drop(K %*% rnorm(nrow(xy)))
  (v - mean(v)) / sd(v)
}
make_vars <- function(xy, bw) {
  data.frame(smooth1 = smooth_field(xy, bw), smooth2 = smooth_field(xy, 2 * bw),
             smooth3 = smooth_field(xy, bw) + 0.5 * rnorm(nrow(xy)),
             noise1 = rnorm(nrow(xy)), noise2 = rexp(nrow(xy)))
}
# square 20 x 20 grid (unit spacing)
g <- expand.grid(x = 0:19, y = 0:19)
grid <- cbind(data.frame(x = as.numeric(g$x), y = as.numeric(g$y)), make_vars(g, 2))
# hex (Visium-like) layout: 17 rows x 18 columns, 100 units between spot centres
h <- expand.grid(col = 0:17, row = 0:16)
hx <- data.frame(x = 100 * (h$col + 0.5 * (h$row %% 2)), y = 100 * h$row * sqrt(3) / 2)
hex <- cbind(hx, make_vars(hx, 200))
# irregular uniform points in [0, 10]^2
ix <- data.frame(x = runif(150, 0, 10), y = runif(150, 0, 10))
irr <- cbind(ix, make_vars(ix, 1.5))
datasets <- list(grid = grid, hex = hex, irregular = irr)
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  write.csv(data.frame(lapply(d, f17)), paste0("data_", nm, ".csv"), row.names = FALSE, quote = FALSE)
}

# weights: name -> list(dataset, nb builder, style)
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
edges <- list(); tests <- list(); lees <- list(); mcs <- list(); nulls <- list()
for (nm in names(nbs)) {
  d <- datasets[[nm]]; xy <- as.matrix(d[, c("x", "y")])
  for (wn in names(nbs[[nm]])) {
    nb <- nbs[[nm]][[wn]](xy)
    for (style in c("W", "B", "C")) {
      lw <- nb2listw(nb, style = style, zero.policy = TRUE)
      if (style == "B") {  # the neighbour structure (0-based i -> j); W and C follow from it
        ij <- which(listw2mat(lw) != 0, arr.ind = TRUE)
        ij <- ij[order(ij[, 1], ij[, 2]), , drop = FALSE]
        edges[[length(edges) + 1]] <- data.frame(dataset = nm, weights = wn,
          i = ij[, 1] - 1L, j = ij[, 2] - 1L)
      }
      for (v in vars) {
        x <- d[[v]]
        for (rnd in c(TRUE, FALSE)) for (alt in c("greater", "less", "two.sided")) {
          mt <- moran.test(x, lw, randomisation = rnd, alternative = alt, zero.policy = TRUE)
          gt <- geary.test(x, lw, randomisation = rnd, alternative = alt, zero.policy = TRUE)
          for (tt in list(list("moran", mt), list("geary", gt)))
            tests[[length(tests) + 1]] <- data.frame(dataset = nm, weights = wn, style = style,
              variable = v, test = tt[[1]], randomisation = rnd, alternative = alt,
              statistic = f17(tt[[2]]$estimate[1]), expectation = f17(tt[[2]]$estimate[2]),
              variance = f17(tt[[2]]$estimate[3]), z = f17(tt[[2]]$statistic),
              p = f17(tt[[2]]$p.value))
        }
        # Lee's L of smooth1 with each variable, n = number of spots (as lee.mc uses)
        L <- lee(d$smooth1, x, lw, n = length(x), zero.policy = TRUE)
        lees[[length(lees) + 1]] <- data.frame(dataset = nm, weights = wn, style = style,
          x = "smooth1", y = v, L = f17(L$L))
      }
      if (style == "W" && paste(nm, wn) %in% c("grid knn6", "hex d0_150")) {
        for (v in c("smooth1", "noise1", "noise2")) for (alt in c("greater", "less", "two.sided")) {
          x <- d[[v]]
          set.seed(1); r1 <- moran.mc(x, lw, nsim = 999, alternative = alt)
          set.seed(2); r2 <- geary.mc(x, lw, nsim = 999, alternative = alt)
          set.seed(3); r3 <- lee.mc(d$noise2, x, lw, nsim = 999, alternative = alt)
          for (tt in list(list("moran", r1), list("geary", r2), list("lee", r3))) {
            key <- paste(nm, wn, style, tt[[1]], v, alt, sep = "|")
            mcs[[length(mcs) + 1]] <- data.frame(key = key, dataset = nm, weights = wn,
              style = style, test = tt[[1]], variable = v, alternative = alt,
              statistic = f17(tt[[2]]$statistic), p = f17(tt[[2]]$p.value))
            # the nsim + 1 statistics do not depend on the alternative (same seed): keep one
            if (alt == "greater") nulls[[paste(nm, wn, style, tt[[1]], v, sep = "|")]] <- f17(tt[[2]]$res)
          }
        }
      }
    }
  }
}
wr <- function(lst, file) write.csv(do.call(rbind, lst), file, row.names = FALSE, quote = FALSE)
wr(edges, "weights_edges.csv"); wr(tests, "moran_geary_tests.csv"); wr(lees, "lee.csv")
wr(mcs, "mc_tests.csv")
# the nsim + 1 statistics of each mc run (last = observed), one column per dataset|weights|style|test|variable
write.csv(as.data.frame(nulls, check.names = FALSE), "mc_res.csv", row.names = FALSE, quote = TRUE)
cat("spdep", as.character(packageVersion("spdep")), R.version.string, "\n")
