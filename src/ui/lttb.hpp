// Largest-Triangle-Three-Buckets (Steinarsson, 2013): a curve of many points drawn with a few
// thousand that keep its shape, peaks included, which taking every k-th point would drop.
#pragma once

#include <cstddef>
#include <vector>

namespace fabric::ui {

struct Point {
  double x = 0, y = 0;
};

/// LTTB over a stream of points in x order whose count is known beforehand (the store counts
/// them first), holding two buckets at a time: a curve of any length is downsampled in memory
/// proportional to its length over the threshold, never to its length.
class LttbStream {
 public:
  /// `total` points will be pushed; at most `threshold` come out. Fewer points than the
  /// threshold (or a threshold under 3) come out unchanged.
  LttbStream(size_t total, size_t threshold);
  void push(const Point& p);
  /// The kept points: the first and the last among them. If the stream ended early (the count
  /// was stale), what was seen is downsampled; points past `total` are ignored.
  std::vector<Point> finish();
  /// The most points held at once, for the tests and the benchmark.
  size_t peak_held() const { return peak_held_; }

 private:
  size_t bucket_begin(size_t b) const;
  size_t bucket_end(size_t b) const;  // also where the next bucket's mean starts
  size_t next_mean_end(size_t b) const;
  void close_bucket();

  size_t total_, threshold_;
  bool pass_through_;
  double width_ = 0;
  size_t index_ = 0, bucket_ = 0, peak_held_ = 0;
  Point kept_{}, last_{};
  std::vector<Point> out_, current_, next_;
};

/// At most `threshold` points of `points` (sorted by x), the first and the last among them.
std::vector<Point> lttb(const std::vector<Point>& points, size_t threshold);

}  // namespace fabric::ui
