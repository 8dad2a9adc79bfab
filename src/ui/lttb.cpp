#include "ui/lttb.hpp"

#include <cmath>

namespace fabric::ui {

std::vector<Point> lttb(const std::vector<Point>& points, size_t threshold) {
  const size_t n = points.size();
  if (threshold < 3 || n <= threshold) return points;
  std::vector<Point> out;
  out.reserve(threshold);
  out.push_back(points.front());
  // The points between the first and the last fall into threshold - 2 buckets of equal width
  // (in index); each bucket keeps the point that makes the largest triangle with the point kept
  // before it and the mean of the next bucket.
  const double width = double(n - 2) / double(threshold - 2);
  size_t kept = 0;
  for (size_t b = 0; b < threshold - 2; ++b) {
    const size_t begin = size_t(std::floor(double(b) * width)) + 1;
    const size_t end = std::min(size_t(std::floor(double(b + 1) * width)) + 1, n - 1);
    const size_t next_begin = end;
    const size_t next_end = std::min(size_t(std::floor(double(b + 2) * width)) + 1, n);
    double mean_x = 0, mean_y = 0;
    for (size_t i = next_begin; i < next_end; ++i) mean_x += points[i].x, mean_y += points[i].y;
    const double count = double(next_end - next_begin);
    mean_x /= count, mean_y /= count;
    const Point& a = points[kept];
    double best_area = -1;
    size_t best = begin;
    for (size_t i = begin; i < end; ++i) {
      const double area =
          std::abs((a.x - mean_x) * (points[i].y - a.y) - (a.x - points[i].x) * (mean_y - a.y));
      if (area > best_area) best_area = area, best = i;
    }
    out.push_back(points[best]);
    kept = best;
  }
  out.push_back(points.back());
  return out;
}

}  // namespace fabric::ui
