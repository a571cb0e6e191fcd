# A line fitted to (x, y) data that holds outliers; the evaluator compares it to the true line.

fit_line <- function(x, y) {
  # EVOLVE-BLOCK-START
  # Weighted least squares with equal weights: every point, outliers included, pulls on the line.
  w <- rep(1, length(x))
  mx <- sum(w * x) / sum(w)
  my <- sum(w * y) / sum(w)
  slope <- sum(w * (x - mx) * (y - my)) / sum(w * (x - mx)^2)
  intercept <- my - slope * mx
  # EVOLVE-BLOCK-END
  c(intercept = intercept, slope = slope)
}

main <- function() {
  data <- read.csv(data_path)
  fit <- fit_line(data$x, data$y)
  list(intercept = unname(fit["intercept"]), slope = unname(fit["slope"]))
}
