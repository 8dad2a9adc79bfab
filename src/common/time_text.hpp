// Times and durations as text, written once for every place that shows or records one: the
// terminal's tables, the runs listing, and the store's messages about a reaped run.
#pragma once

#include <string>

namespace fabric {

/// "2026-11-29 17:03:31" in local time; "" for a time that is not set (<= 0).
std::string local_time_text(double seconds);
/// The same with milliseconds: "2026-11-29 17:03:31.125".
std::string local_time_ms_text(double seconds);
/// "2026-11-29 16:03:31 UTC": for text stored where readers may be in any time zone.
std::string utc_time_text(double seconds);
/// 12.3 s, 4 min 05 s, 2 h 03 min.
std::string duration_text(double seconds);

}  // namespace fabric
