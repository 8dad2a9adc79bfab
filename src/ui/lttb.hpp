// Largest-Triangle-Three-Buckets (Steinarsson, 2013): a curve of many points drawn with a few
// thousand that keep its shape, peaks included, which taking every k-th point would drop.
#pragma once

#include <cstddef>
#include <vector>

namespace fabric::ui {

struct Point {
  double x = 0, y = 0;
};

/// At most `threshold` points of `points` (sorted by x), the first and the last among them.
/// Fewer points than the threshold (or a threshold under 3) come back unchanged.
std::vector<Point> lttb(const std::vector<Point>& points, size_t threshold);

}  // namespace fabric::ui
