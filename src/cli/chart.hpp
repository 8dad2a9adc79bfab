// Metric curves: a terminal chart (`fabric-exp plot RUN KEY`) and an SVG of several runs'
// curves for reports (`--out curves.svg`).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fabric::cli {

struct Curve {
  std::string label{};
  std::vector<std::pair<double, double>> points{};  // (step, value)
};

/// A width x height character chart with axis labels.
std::string terminal_chart(const std::vector<Curve>& curves, const std::string& title,
                           int width = 72, int height = 16);
/// A standalone SVG document with one polyline per curve and a legend.
std::string svg_chart(const std::vector<Curve>& curves, const std::string& title);

}  // namespace fabric::cli
