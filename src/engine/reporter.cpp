#include "engine/reporter.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace fabric::engine {

namespace {
std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int64_t s = int64_t(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  }
  return buf;
}
std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(5) << v;
  return out.str();
}
}  // namespace

Reporter::Reporter(bool enabled, const std::string& log_path)
    : enabled_(enabled),
      tty_(enabled && isatty(STDERR_FILENO)),
      // https://no-color.org, and terminals that say they have none.
      colour_(tty_ && !std::getenv("NO_COLOR") &&
              std::string(std::getenv("TERM") ? std::getenv("TERM") : "") != "dumb") {
  if (enabled && !log_path.empty()) set_log_file(log_path);
}

Reporter::~Reporter() {
  end_progress();
}

void Reporter::set_log_file(const std::string& path) {
  if (enabled_) log_.open(path, std::ios::app);
}

void Reporter::line(const std::string& text) {
  if (!enabled_) return;
  end_progress(/*erase=*/true);  // the next step draws the bar again, below this line
  std::cout << text << std::endl;
  if (log_) log_ << text << std::endl;
}

void Reporter::start(int64_t total_steps, int64_t first_step) {
  total_ = total_steps;
  first_ = first_step;
  started_ = last_print_ = std::chrono::steady_clock::now();
}

bool Reporter::due(int64_t step) const {
  if (!enabled_) return false;
  const double since_print =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_print_).count();
  // A terminal redraws at most 10 times a second; a log gets a line every 5 seconds.
  return since_print >= (tty_ ? 0.1 : 5.0) || step >= total_;
}

void Reporter::step(int64_t step, int64_t epoch, double loss, double samples_per_sec) {
  if (!due(step)) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  last_print_ = now;
  const double rate = double(step - first_) / std::max(elapsed, 1e-9);
  const double eta = rate > 0 ? double(total_ - step) / rate : NAN;
  std::ostringstream text;
  text << "step " << step << "/" << total_ << "  epoch " << epoch << "  loss " << number(loss)
       << "  " << int64_t(samples_per_sec) << " samples/s  elapsed " << duration(elapsed)
       << "  eta " << duration(eta);
  if (tty_) {
    const int width = 24;
    const int filled = total_ > 0 ? int(double(width) * double(step) / double(total_)) : 0;
    const char* on = colour_ ? "\033[32m" : "";  // the done part green
    const char* dim = colour_ ? "\033[2m" : "";
    const char* off = colour_ ? "\033[0m" : "";
    std::cerr << "\r\033[K[" << on << std::string(size_t(std::min(filled, width)), '#') << off
              << dim << std::string(size_t(width - std::min(filled, width)), '.') << off << "] "
              << text.str() << std::flush;
    bar_open_ = true;
  } else {
    std::cout << text.str() << std::endl;
  }
  if (log_) log_ << text.str() << std::endl;
}

void Reporter::end_progress(bool erase) {
  if (bar_open_) {
    std::cerr << (erase ? "\r\033[K" : "\n") << std::flush;
    bar_open_ = false;
  }
}

void Reporter::summary(const std::vector<Row>& rows,
                       const std::vector<std::pair<std::string, std::string>>& facts) {
  if (!enabled_) return;
  end_progress();
  size_t key_width = 6;
  for (const auto& r : rows) key_width = std::max(key_width, r.key.size());
  std::ostringstream out;
  out << "\n"
      << std::left << std::setw(int(key_width)) << "metric"
      << "  " << std::setw(12) << "last"
      << "  " << std::setw(12) << "best"
      << "  best step\n";
  out << std::string(key_width + 40, '-') << "\n";
  for (const auto& r : rows) {
    out << std::left << std::setw(int(key_width)) << r.key << "  " << std::setw(12)
        << number(r.last) << "  " << std::setw(12) << number(r.best) << "  " << r.best_step << "\n";
  }
  for (const auto& [k, v] : facts) out << k << ": " << v << "\n";
  std::cout << out.str() << std::flush;
  if (log_) log_ << out.str() << std::flush;
}

}  // namespace fabric::engine
