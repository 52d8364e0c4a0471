# Affine least-squares reference for tests/test_spatial_data.py (R 4.2.2, base stats only).
# Run in this folder after make_skimage_reference.py:  Rscript make_r_affine_reference.R
options(digits = 17)
lm_dat <- read.csv("landmarks.csv")
rows <- list()
for (target in c("fixed", "mirrored")) {
  for (axis in c("x", "y")) {
    f <- as.formula(sprintf("%s_%s ~ moving_x + moving_y", target, axis))
    co <- coef(lm(f, data = lm_dat))
    rows[[length(rows) + 1]] <- data.frame(
      target = target, axis = axis,
      intercept = sprintf("%.17g", co[["(Intercept)"]]),
      moving_x = sprintf("%.17g", co[["moving_x"]]),
      moving_y = sprintf("%.17g", co[["moving_y"]]))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "r_affine_lm.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "\n")
