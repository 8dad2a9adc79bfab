#include "cli/chart.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>

#include "store/run_store.hpp"

namespace fabric::cli {

namespace {

struct Bounds {
  double x0 = std::numeric_limits<double>::max(), x1 = std::numeric_limits<double>::lowest();
  double y0 = std::numeric_limits<double>::max(), y1 = std::numeric_limits<double>::lowest();
};

/// 1, 2 or 5 times a power of ten: the step between round tick values.
double nice_step(double span, int ticks) {
  const double raw = span / std::max(1, ticks);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

/// The range [lo, hi] widened to multiples of a round step (about `ticks` of them).
std::pair<double, double> nice_range(double lo, double hi, int ticks, double& step) {
  if (hi <= lo) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  step = nice_step(hi - lo, ticks);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step};
}

struct Axes {
  Bounds b;
  double x_step = 1, y_step = 1;
};

Axes axes(const std::vector<Curve>& curves, int ticks) {
  Bounds b;
  for (const auto& c : curves) {
    for (auto [x, y] : c.points) {
      if (!std::isfinite(y)) continue;
      b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x);
      b.y0 = std::min(b.y0, y), b.y1 = std::max(b.y1, y);
    }
  }
  if (b.x0 > b.x1) b = {0, 1, 0, 1};  // nothing finite to draw
  Axes a;
  std::tie(a.b.x0, a.b.x1) = nice_range(b.x0, b.x1, ticks, a.x_step);
  std::tie(a.b.y0, a.b.y1) = nice_range(b.y0, b.y1, ticks, a.y_step);
  return a;
}

/// The tick values of [lo, hi] every `step`.
std::vector<double> ticks_of(double lo, double hi, double step) {
  std::vector<double> out;
  for (double v = lo; v <= hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

std::string num(double v) {
  std::ostringstream out;
  out << std::setprecision(4) << v;
  return out.str();
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string terminal_chart(const std::vector<Curve>& curves, const std::string& title, int width,
                           int height) {
  const Axes a = axes(curves, 4);
  const Bounds& b = a.b;
  std::vector<std::string> grid(size_t(height), std::string(size_t(width), ' '));
  std::vector<std::vector<int>> owner(size_t(height), std::vector<int>(size_t(width), -1));
  const std::string marks = "*o+x@&$=";
  const char kOverlap = '%';  // two series in one cell: neither hides the other
  auto cell = [&](double x, double y) {
    const int col = int(std::lround((x - b.x0) / (b.x1 - b.x0) * (width - 1)));
    const int row = height - 1 - int(std::lround((y - b.y0) / (b.y1 - b.y0) * (height - 1)));
    return std::pair{std::clamp(row, 0, height - 1), std::clamp(col, 0, width - 1)};
  };
  bool overlapped = false;
  auto put = [&](int r, int c, int series) {
    int& who = owner[size_t(r)][size_t(c)];
    if (who == -1 || who == series) {
      who = series;
      grid[size_t(r)][size_t(c)] = marks[size_t(series) % marks.size()];
    } else {
      grid[size_t(r)][size_t(c)] = kOverlap;
      overlapped = true;
    }
  };
  for (size_t ci = 0; ci < curves.size(); ++ci) {
    std::optional<std::pair<int, int>> prev;
    for (auto [x, y] : curves[ci].points) {
      if (!std::isfinite(y)) {
        prev.reset();
        continue;
      }
      const auto here = cell(x, y);
      if (prev) {  // a line from the previous point: every cell it crosses
        const int steps =
            std::max(std::abs(here.first - prev->first), std::abs(here.second - prev->second));
        for (int i = 1; i < steps; ++i) {
          const double f = double(i) / steps;
          put(int(std::lround(prev->first + f * (here.first - prev->first))),
              int(std::lround(prev->second + f * (here.second - prev->second))), int(ci));
        }
      }
      put(here.first, here.second, int(ci));
      prev = here;
    }
  }
  std::ostringstream out;
  out << title << "\n";
  // Round values on the rows they fall on.
  std::vector<std::string> labels(static_cast<size_t>(height));
  size_t label_width = 1;
  for (double v : ticks_of(b.y0, b.y1, a.y_step)) {
    const int row = cell(b.x0, v).first;
    labels[size_t(row)] = num(v);
    label_width = std::max(label_width, labels[size_t(row)].size());
  }
  for (int r = 0; r < height; ++r)
    out << std::setw(int(label_width)) << labels[size_t(r)] << " |" << grid[size_t(r)] << "\n";
  out << std::string(label_width + 1, ' ') << "+" << std::string(size_t(width), '-') << "\n";
  std::string axis(size_t(width) + 8, ' ');
  for (double v : ticks_of(b.x0, b.x1, a.x_step)) {
    const std::string text = num(v);
    const size_t col = size_t(cell(v, b.y0).second);
    const size_t at = col >= text.size() / 2 ? col - text.size() / 2 : 0;
    if (at + text.size() <= axis.size()) axis.replace(at, text.size(), text);
  }
  out << std::string(label_width + 2, ' ') << axis << "\n"
      << std::string(label_width + 2, ' ') << "step\n";
  if (curves.size() > 1 || overlapped) {
    for (size_t ci = 0; ci < curves.size(); ++ci)
      out << "  " << marks[ci % marks.size()] << " " << curves[ci].label << "\n";
    if (overlapped) out << "  " << kOverlap << " more than one run\n";
  }
  return out.str();
}

std::string svg_chart(const std::vector<Curve>& curves, const std::string& title) {
  const Axes a = axes(curves, 5);
  const Bounds& b = a.b;
  // The legend has its own column right of the plot, so it never runs over a curve.
  size_t longest = 0;
  for (const auto& c : curves) longest = std::max(longest, c.label.size());
  const double legend_width = 40 + 7.0 * double(std::min<size_t>(longest, 40));
  const double W = 720 + legend_width, H = 480, left = 80, right = legend_width + 20, top = 40,
               bottom = 50;
  auto sx = [&](double x) { return left + (x - b.x0) / (b.x1 - b.x0) * (W - left - right); };
  auto sy = [&](double y) { return H - bottom - (y - b.y0) / (b.y1 - b.y0) * (H - top - bottom); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                 "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << (left + W - right) / 2 << "\" y=\"24\" text-anchor=\"middle\" "
      << "font-size=\"15\">" << xml_escape(title) << "</text>\n";
  for (double y : ticks_of(b.y0, b.y1, a.y_step)) {
    out << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << sy(y) << "\" y2=\""
        << sy(y) << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << sy(y) + 4
        << "\" text-anchor=\"end\">" << num(y) << "</text>\n";
  }
  for (double x : ticks_of(b.x0, b.x1, a.x_step)) {
    out << "<line x1=\"" << sx(x) << "\" x2=\"" << sx(x) << "\" y1=\"" << H - bottom << "\" y2=\""
        << H - bottom + 4 << "\" stroke=\"#444\"/>\n<text x=\"" << sx(x) << "\" y=\""
        << H - bottom + 18 << "\" text-anchor=\"middle\">" << num(x) << "</text>\n";
  }
  out << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << H - bottom << "\" y2=\""
      << H - bottom << "\" stroke=\"#444\"/>\n"
      << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 10
      << "\" text-anchor=\"middle\">step</text>\n"
      << "<text transform=\"translate(18," << (top + H - bottom) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(title) << "</text>\n";
  for (size_t ci = 0; ci < curves.size(); ++ci) {
    const char* colour = colors[ci % 8];
    size_t finite = 0;
    for (auto [x, y] : curves[ci].points) finite += std::isfinite(y);
    out << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << colour << "\" points=\"";
    for (auto [x, y] : curves[ci].points)
      if (std::isfinite(y)) out << sx(x) << "," << sy(y) << " ";
    out << "\"/>\n";
    if (finite <= 20) {  // few points (or one): each is a visible dot
      for (auto [x, y] : curves[ci].points)
        if (std::isfinite(y))
          out << "<circle cx=\"" << sx(x) << "\" cy=\"" << sy(y) << "\" r=\"3\" fill=\"" << colour
              << "\"/>\n";
    }
    const double ly = top + 18 * double(ci) + 6, lx = W - right + 16;
    out << "<line x1=\"" << lx << "\" x2=\"" << lx + 20 << "\" y1=\"" << ly << "\" y2=\"" << ly
        << "\" stroke=\"" << colour << "\" stroke-width=\"3\"/>\n<text x=\"" << lx + 26 << "\" y=\""
        << ly + 4 << "\">" << xml_escape(curves[ci].label.substr(0, 40)) << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace fabric::cli
