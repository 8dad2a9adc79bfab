#include "common/time_text.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace fabric {

namespace {
std::string formatted(double seconds, bool utc, const char* format) {
  const std::time_t t = std::time_t(std::floor(seconds));
  std::tm parts{};
  if (utc) {
    gmtime_r(&t, &parts);
  } else {
    localtime_r(&t, &parts);
  }
  char text[40];
  std::strftime(text, sizeof text, format, &parts);
  return text;
}
}  // namespace

std::string local_time_text(double seconds) {
  return seconds <= 0 ? "" : formatted(seconds, false, "%Y-%m-%d %H:%M:%S");
}

std::string local_time_ms_text(double seconds) {
  const std::string day = local_time_text(seconds);
  if (day.empty()) return day;
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", int((seconds - std::floor(seconds)) * 1000));
  return day + ms;
}

std::string utc_time_text(double seconds) {
  return formatted(seconds, true, "%Y-%m-%d %H:%M:%S UTC");
}

std::string duration_text(double seconds) {
  char text[48];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%d min %02d s", int(seconds / 60), int(seconds) % 60);
  } else {
    std::snprintf(text, sizeof text, "%d h %02d min", int(seconds / 3600), int(seconds / 60) % 60);
  }
  return text;
}

}  // namespace fabric
