#include "cli/chart.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "store/run_store.hpp"

namespace fabric::cli {

namespace {

struct Bounds {
  double x0 = std::numeric_limits<double>::max(), x1 = std::numeric_limits<double>::lowest();
  double y0 = std::numeric_limits<double>::max(), y1 = std::numeric_limits<double>::lowest();
};

Bounds bounds(const std::vector<Curve>& curves) {
  Bounds b;
  for (const auto& c : curves) {
    for (auto [x, y] : c.points) {
      if (!std::isfinite(y)) continue;
      b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x);
      b.y0 = std::min(b.y0, y), b.y1 = std::max(b.y1, y);
    }
  }
  if (b.x1 <= b.x0) b.x1 = b.x0 + 1;
  if (b.y1 <= b.y0) b.y1 = b.y0 + (b.y0 == 0 ? 1 : std::abs(b.y0) * 0.1);
  return b;
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
  const Bounds b = bounds(curves);
  std::vector<std::string> grid(size_t(height), std::string(size_t(width), ' '));
  const std::string marks = "*o+x#@%&";
  for (size_t ci = 0; ci < curves.size(); ++ci) {
    for (auto [x, y] : curves[ci].points) {
      if (!std::isfinite(y)) continue;
      const int col = int(std::lround((x - b.x0) / (b.x1 - b.x0) * (width - 1)));
      const int row = height - 1 - int(std::lround((y - b.y0) / (b.y1 - b.y0) * (height - 1)));
      grid[size_t(row)][size_t(col)] = marks[ci % marks.size()];
    }
  }
  std::ostringstream out;
  out << title << "\n";
  const size_t label_width = std::max(num(b.y1).size(), num(b.y0).size());
  for (int r = 0; r < height; ++r) {
    std::string label = r == 0 ? num(b.y1) : r == height - 1 ? num(b.y0) : "";
    out << std::setw(int(label_width)) << label << " |" << grid[size_t(r)] << "\n";
  }
  out << std::string(label_width + 1, ' ') << "+" << std::string(size_t(width), '-') << "\n";
  std::string left = "step " + num(b.x0), right = num(b.x1);
  out << std::string(label_width + 2, ' ') << left
      << std::string(size_t(std::max<int>(1, width - int(left.size()) - int(right.size()))), ' ')
      << right << "\n";
  if (curves.size() > 1) {
    for (size_t ci = 0; ci < curves.size(); ++ci)
      out << "  " << marks[ci % marks.size()] << " " << curves[ci].label << "\n";
  }
  return out.str();
}

std::string svg_chart(const std::vector<Curve>& curves, const std::string& title) {
  const Bounds b = bounds(curves);
  const double W = 800, H = 480, left = 70, right = 20, top = 40, bottom = 50;
  auto sx = [&](double x) { return left + (x - b.x0) / (b.x1 - b.x0) * (W - left - right); };
  auto sy = [&](double y) { return H - bottom - (y - b.y0) / (b.y1 - b.y0) * (H - top - bottom); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                 "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
      << xml_escape(title) << "</text>\n";
  for (int i = 0; i <= 4; ++i) {  // grid and tick labels
    const double y = b.y0 + (b.y1 - b.y0) * i / 4, x = b.x0 + (b.x1 - b.x0) * i / 4;
    out << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << sy(y) << "\" y2=\""
        << sy(y) << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << sy(y) + 4
        << "\" text-anchor=\"end\">" << num(y) << "</text>\n<text x=\"" << sx(x) << "\" y=\""
        << H - bottom + 18 << "\" text-anchor=\"middle\">" << num(x) << "</text>\n";
  }
  out << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 10
      << "\" text-anchor=\"middle\">step</text>\n";
  for (size_t ci = 0; ci < curves.size(); ++ci) {
    out << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << colors[ci % 8]
        << "\" points=\"";
    for (auto [x, y] : curves[ci].points)
      if (std::isfinite(y)) out << sx(x) << "," << sy(y) << " ";
    out << "\"/>\n<text x=\"" << W - right - 4 << "\" y=\"" << top + 16 * double(ci + 1)
        << "\" text-anchor=\"end\" fill=\"" << colors[ci % 8] << "\">"
        << xml_escape(curves[ci].label) << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace fabric::cli
