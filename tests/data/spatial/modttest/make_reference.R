## Reference outputs of SpatialPack::modified.ttest for tests/test_spatial_modified_ttest.py
## Run: R_LIBS=/tmp/rlib_e Rscript make_reference.R   (from this folder)
## SpatialPack 0.4-1 and fastmatrix 0.6-6 built from the CRAN sources (github:cran/SpatialPack,
## github:cran/fastmatrix) with R CMD INSTALL -l /tmp/rlib_e.
options(digits = 17)
suppressMessages(library(SpatialPack))
f17 <- function(v) sprintf("%.17g", v)

smooth_field <- function(xpos, ypos, scale, phase) {
  sin(xpos / scale + phase) + cos(ypos / (1.3 * scale) - phase) +
    0.5 * sin((xpos + ypos) / (0.7 * scale) + 2 * phase)
}

write_case <- function(name, xpos, ypos, x, Y, nclass) {
  inp <- data.frame(xpos = f17(xpos), ypos = f17(ypos), x = f17(x))
  for (g in colnames(Y)) inp[[g]] <- f17(Y[, g])
  write.csv(inp, paste0(name, "_input.csv"), row.names = FALSE, quote = FALSE)
  res <- NULL; cls <- NULL
  for (g in colnames(Y)) {
    o <- modified.ttest(x, Y[, g], cbind(xpos, ypos), nclass = nclass)
    res <- rbind(res, data.frame(gene = g, nclass = o$dims[3], corr = f17(o$corr),
                                 ESS = f17(o$ESS), Fstat = f17(o$Fstat), dof = f17(o$dof),
                                 p_value = f17(o$p.value)))
    cls <- rbind(cls, data.frame(gene = g, class = seq_len(o$dims[3]),
                                 upper_bounds = f17(o$upper.bounds), card = f17(o$card),
                                 moran_x = f17(o$imoran[, 1]), moran_y = f17(o$imoran[, 2])))
  }
  write.csv(res, paste0(name, "_results.csv"), row.names = FALSE, quote = FALSE)
  write.csv(cls, paste0(name, "_classes.csv"), row.names = FALSE, quote = FALSE)
}

## 1. 150 random spots, smooth x, genes: smooth (related / unrelated) and iid noise
set.seed(20201)
n <- 150
xpos <- runif(n, 0, 100); ypos <- runif(n, 0, 100)
x <- smooth_field(xpos, ypos, 15, 0) + rnorm(n, sd = 0.5)
Y <- cbind(g_related = 0.6 * x + smooth_field(xpos, ypos, 25, 1) + rnorm(n, sd = 0.5),
           g_smooth = smooth_field(xpos, ypos, 12, 2) + rnorm(n, sd = 0.3),
           g_noise = rnorm(n),
           g_weak = 0.2 * x + rnorm(n),
           g_rough = smooth_field(xpos, ypos, 4, 3) + rnorm(n, sd = 0.2))
write_case("random150", xpos, ypos, x, Y, 13)

## 2. integer grid 7 x 9: d_max = 10, nclass = 5 -> bounds 2, 4, ..., 10 are hit exactly
g <- expand.grid(xpos = 0:6, ypos = 0:8)
n <- nrow(g)
x <- smooth_field(g$xpos, g$ypos, 2, 0.5) + rnorm(n, sd = 0.3)
Y <- cbind(a = smooth_field(g$xpos, g$ypos, 3, 1) + rnorm(n, sd = 0.3),
           b = rnorm(n),
           c = 0.5 * x + rnorm(n, sd = 0.5),
           d = smooth_field(g$xpos, g$ypos, 1.5, 2))
write_case("grid63_ties", g$xpos, g$ypos, x, Y, 5)

## 3. hexagonal (Visium-like) lattice, 120 spots, SpatialPack's default nclass (NULL)
h <- expand.grid(col = 0:11, row = 0:9)
xpos <- 100 * (h$col + 0.5 * (h$row %% 2)); ypos <- 100 * sqrt(3) / 2 * h$row
n <- length(xpos)
x <- smooth_field(xpos, ypos, 250, 0) + rnorm(n, sd = 0.4)
Y <- cbind(s1 = smooth_field(xpos, ypos, 300, 1.5) + rnorm(n, sd = 0.4),
           s2 = -0.4 * x + smooth_field(xpos, ypos, 180, 2.5) + rnorm(n, sd = 0.4),
           iid = rnorm(n))
write_case("hex120_default", xpos, ypos, x, Y, NULL)

## 4. very smooth fields, clustered spots: small ESS
set.seed(7)
n <- 90
xpos <- c(rnorm(45, 20, 8), rnorm(45, 70, 12)); ypos <- c(rnorm(45, 30, 10), rnorm(45, 60, 9))
x <- smooth_field(xpos, ypos, 40, 0) + rnorm(n, sd = 0.05)
Y <- cbind(v1 = smooth_field(xpos, ypos, 50, 0.7) + rnorm(n, sd = 0.05),
           v2 = smooth_field(xpos, ypos, 35, 2.1) + rnorm(n, sd = 0.05))
write_case("clustered90_smooth", xpos, ypos, x, Y, 13)

writeLines(c(R.version.string, paste("SpatialPack", packageVersion("SpatialPack")),
             paste("fastmatrix", packageVersion("fastmatrix"))), "versions.txt")
