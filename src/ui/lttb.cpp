#include "ui/lttb.hpp"

#include <algorithm>
#include <cmath>

namespace fabric::ui {

// The points between the first and the last fall into threshold - 2 buckets of equal width (in
// index); each bucket keeps the point that makes the largest triangle with the point kept before
// it and the mean of the next bucket (for the last bucket: the last point).

LttbStream::LttbStream(size_t total, size_t threshold)
    : total_(total), threshold_(threshold), pass_through_(threshold < 3 || total <= threshold) {
  if (!pass_through_) {
    width_ = double(total - 2) / double(threshold - 2);
    out_.reserve(threshold);
  }
}

size_t LttbStream::bucket_begin(size_t b) const {
  return size_t(std::floor(double(b) * width_)) + 1;
}
size_t LttbStream::bucket_end(size_t b) const {
  return std::min(size_t(std::floor(double(b + 1) * width_)) + 1, total_ - 1);
}
size_t LttbStream::next_mean_end(size_t b) const {
  return std::min(size_t(std::floor(double(b + 2) * width_)) + 1, total_);
}

void LttbStream::push(const Point& p) {
  const size_t i = index_++;
  if (i >= total_) return;
  last_ = p;
  if (pass_through_ || i == 0) {
    out_.push_back(p);
    kept_ = p;
    return;
  }
  // Bucket b's points, then the points whose mean it is measured against; with width > 1 each
  // range holds at least one point, and the second is exactly bucket b + 1.
  (i < bucket_end(bucket_) ? current_ : next_).push_back(p);
  peak_held_ = std::max(peak_held_, current_.size() + next_.size());
  if (i + 1 == next_mean_end(bucket_)) {
    close_bucket();
    current_.swap(next_);
    next_.clear();
  }
}

void LttbStream::close_bucket() {
  if (current_.empty()) return;
  double mean_x = 0, mean_y = 0;
  const std::vector<Point>& against = next_.empty() ? current_ : next_;
  for (const Point& q : against) mean_x += q.x, mean_y += q.y;
  mean_x /= double(against.size()), mean_y /= double(against.size());
  double best_area = -1;
  const Point* best = &current_.front();
  for (const Point& q : current_) {
    const double area =
        std::abs((kept_.x - mean_x) * (q.y - kept_.y) - (kept_.x - q.x) * (mean_y - kept_.y));
    if (area > best_area) best_area = area, best = &q;
  }
  kept_ = *best;
  out_.push_back(kept_);
  ++bucket_;
}

std::vector<Point> LttbStream::finish() {
  if (pass_through_ || index_ <= 1) return std::move(out_);
  if (index_ < total_) {
    // The stream ended early: the open bucket keeps its best point, then the last one seen.
    (next_.empty() ? current_ : next_).pop_back();
    close_bucket();
  }
  out_.push_back(last_);
  return std::move(out_);
}

std::vector<Point> lttb(const std::vector<Point>& points, size_t threshold) {
  LttbStream stream(points.size(), threshold);
  for (const Point& p : points) stream.push(p);
  return stream.finish();
}

}  // namespace fabric::ui
