#include "ui/api.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/utf8.hpp"
#include "present/run_json.hpp"
#include "present/run_listing.hpp"
#include "present/table_output.hpp"
#include "store/query.hpp"
#include "store/run_query.hpp"
#include "store/shared_run_store.hpp"
#include "sweep/sampler.hpp"
#include "sweep/settings.hpp"
#include "sweep/sweep_store.hpp"
#include "ui/lttb.hpp"

namespace fabric::ui {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxPageRows = 1000;
constexpr int64_t kMaxPoints = 10000;
constexpr int64_t kMaxLogLines = 5000;

class BadRequest : public std::runtime_error {
 public:
  explicit BadRequest(const std::string& what, int status = 400)
      : std::runtime_error(what), status(status) {}
  int status;
};

ApiResponse error(int status, const std::string& message, const std::string& extra = "") {
  return {status, "application/json",
          "{\"error\": " + json_string(message) + (extra.empty() ? "" : ", " + extra) + "}", ""};
}

std::string param(const QueryParams& params, const std::string& key, const std::string& fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

int64_t integer_param(const QueryParams& params, const std::string& key, int64_t fallback,
                      int64_t low, int64_t high) {
  auto it = params.find(key);
  if (it == params.end() || it->second.empty()) return fallback;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || value < low || value > high) {
    throw BadRequest("'" + key + "' must be an integer from " + std::to_string(low) + " to " +
                     std::to_string(high) + ", not '" + it->second + "'");
  }
  return value;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/'))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::string runs_json(store::RunStore& s, const QueryParams& params) {
  store::RunQuery q;
  q.where = param(params, "where", "");
  q.order_by = param(params, "order_by", "");
  q.columns = store::split_list(param(params, "columns", ""));
  q.limit = integer_param(params, "limit", 50, 1, kMaxPageRows);
  q.offset = integer_param(params, "offset", 0, 0, int64_t(1) << 40);
  q.count_total = true;
  const auto result = present::list_runs(s, q);
  std::string o = "{\"total\": " + std::to_string(result.total) +
                  ", \"offset\": " + std::to_string(q.offset) + ", \"columns\": [";
  for (size_t c = 0; c < result.headers.size(); ++c)
    o += (c ? ", " : "") + json_string(result.headers[c]);
  o += "], \"rows\": [";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    o += r ? ",\n[" : "\n[";
    for (size_t c = 0; c < result.rows[r].size(); ++c)
      o += (c ? ", " : "") + present::json_value(result.rows[r][c]);
    o += "]";
  }
  return o + "]}";
}

std::string series_json(store::RunStore& s, const std::string& id, const QueryParams& params) {
  std::vector<std::string> keys = store::split_list(param(params, "keys", ""));
  if (keys.empty())
    for (const auto& m : s.summaries(id)) keys.push_back(m.key);
  const auto max_points = size_t(integer_param(params, "max_points", 2000, 3, kMaxPoints));
  std::string o = "{\"run\": " + json_string(id) + ", \"series\": {";
  bool first = true;
  for (const auto& key : std::set<std::string>(keys.begin(), keys.end())) {
    // Streamed from the store through LTTB: a curve of any length costs two buckets of memory.
    // JSON has no NaN or infinity: a diverged value is left out of its curve, and counted.
    LttbStream curve(size_t(s.finite_point_count(id, key)), max_points);
    size_t points = 0, non_finite = 0;
    s.for_each_point(id, key, [&](int64_t step, double value) {
      ++points;
      if (std::isfinite(value)) {
        curve.push({double(step), value});
      } else {
        ++non_finite;
      }
    });
    const auto kept = curve.finish();
    o += std::string(first ? "\n" : ",\n") + json_string(key) +
         ": {\"points\": " + std::to_string(points) +
         ", \"non_finite\": " + std::to_string(non_finite) + ", \"x\": [";
    for (size_t i = 0; i < kept.size(); ++i)
      o += (i ? "," : "") + present::json_value(int64_t(kept[i].x));
    o += "], \"y\": [";
    for (size_t i = 0; i < kept.size(); ++i) o += (i ? "," : "") + present::json_value(kept[i].y);
    o += "]}";
    first = false;
  }
  return o + "}}";
}

/// The last `count` lines of a file (as std::getline splits them), read from its end in blocks:
/// a running run's page asks every two seconds, and its log only grows.
std::vector<std::string> last_lines(const std::string& path, size_t count) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::streamoff start = in.tellg();
  std::string text;
  constexpr std::streamoff kBlock = 64 * 1024;
  // More newlines than lines wanted: everything after the first one is whole lines.
  while (start > 0 && size_t(std::count(text.begin(), text.end(), '\n')) <= count) {
    const std::streamoff from = std::max<std::streamoff>(0, start - kBlock);
    std::string block(size_t(start - from), '\0');
    in.seekg(from);
    in.read(block.data(), std::streamsize(block.size()));
    text.insert(0, block);
    start = from;
  }
  std::vector<std::string> lines;
  std::stringstream split(text);
  for (std::string line; std::getline(split, line);) lines.push_back(std::move(line));
  if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // cut in the middle
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - std::ptrdiff_t(count));
  return lines;
}

std::string log_json(const store::RunRecord& run, const QueryParams& params) {
  const auto count = size_t(integer_param(params, "lines", 200, 1, kMaxLogLines));
  const auto tail = last_lines(run.run_dir + "/train.log", count);
  std::string o = "{\"run\": " + json_string(run.id) + ", \"lines\": [";
  for (size_t i = 0; i < tail.size(); ++i) o += (i ? ",\n" : "\n") + json_string(tail[i]);
  return o + "]}";
}

/// The fields a sweep's row in the list and its own page share (without the closing brace).
std::string sweep_fields(const sweep::SweepRecord& w) {
  return "{\"id\": " + json_string(w.id) + ", \"name\": " + json_string(w.name) +
         ", \"method\": " + json_string(w.method) + ", \"objective\": " + json_string(w.objective) +
         ", \"direction\": " + json_string(w.direction) +
         ", \"status\": " + json_string(store::status_name(w.status)) +
         ", \"max_trials\": " + std::to_string(w.max_trials);
}

std::string sweeps_json(store::RunStore& s) {
  sweep::SweepStore sweeps(s);
  std::string o = "{\"sweeps\": [";
  bool first = true;
  for (const auto& w : sweeps.list()) {
    const auto trials = sweeps.trials(w.id);
    const auto ranked = sweep::ranked_trials(trials, w.minimize());
    const auto* best = sweep::best_trial(ranked);
    o += std::string(first ? "\n" : ",\n") + sweep_fields(w) +
         ", \"trials\": " + std::to_string(trials.size()) +
         ", \"created_at\": " + present::json_value(w.created_at) +
         ", \"best\": " + (best && best->value ? present::json_value(*best->value) : "null") + "}";
    first = false;
  }
  return o + "]}";
}

std::string optional_json(const std::optional<double>& v) {
  return v ? present::json_value(*v) : "null";
}

std::string sweep_json(store::RunStore& s, const std::string& ref) {
  sweep::SweepStore sweeps(s);
  const auto w = sweeps.get(sweeps.resolve(ref));
  if (!w) throw BadRequest("no sweep '" + ref + "'", 404);
  const auto ranked = sweep::ranked_trials(sweeps.trials(w->id), w->minimize());
  const auto* best = sweep::best_trial(ranked);
  const auto space = sweep::read_settings(w->spec).space;
  std::string o = sweep_fields(*w) + ", \"spec\": " + json_string(w->spec) +
                  ", \"best_trial\": " + (best ? std::to_string(best->number) : "null") +
                  ", \"trials\": [";
  for (size_t i = 0; i < ranked.size(); ++i) {
    const auto& t = ranked[i];
    // Each parameter's value as the trial's TOML writes it, in the search space's order.
    const auto point = sweep::point_from_toml(space, t.params);
    std::string params = "{";
    for (size_t d = 0; d < space.size(); ++d)
      params += (d ? ", " : "") + json_string(space[d].path) + ": " + json_string(point[d]);
    o += std::string(i ? ",\n" : "\n") + "{\"number\": " + std::to_string(t.number) +
         ", \"run\": " + (t.run_id.empty() ? "null" : json_string(t.run_id)) +
         ", \"status\": " + json_string(store::status_name(t.status)) +
         ", \"value\": " + optional_json(t.value) + ", \"error\": " + json_string(t.error) +
         ", \"pruned_rung\": " +
         (t.pruned_rung ? std::to_string(*t.pruned_rung) : std::string("null")) +
         ", \"pruned_value\": " + optional_json(t.pruned_value) +
         ", \"pruned_threshold\": " + optional_json(t.pruned_threshold) +
         ", \"params\": " + params + "}}";
  }
  return o + "]}";
}

ApiResponse artifact(store::RunStore& s, const std::string& id, const std::string& run_dir,
                     const std::string& index) {
  // By its index among the run's registered artifacts: a path never comes from the request.
  const auto artifacts = s.artifacts(id);
  size_t used = 0;
  size_t n = 0;
  try {
    n = std::stoul(index, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != index.size() || index.empty() || n >= artifacts.size())
    throw BadRequest("run " + id + " has no artifact " + index, 404);
  // Only a regular file inside the run's own folder, whatever the row says: a shared store or
  // one merged in with `store copy` may hold any path.
  const auto file = store::artifact_file(run_dir, artifacts[n].path);
  if (!file)
    throw BadRequest("artifact " + index + " of run " + id + " is not a file of the run", 404);
  return {200, "application/octet-stream", "", *file};
}

ApiResponse route(store::RunStore& s, const std::vector<std::string>& parts,
                  const QueryParams& params) {
  s.reap_stale();
  if (parts.size() == 1 && parts[0] == "runs")
    return {200, "application/json", runs_json(s, params), ""};
  if (parts.size() == 1 && parts[0] == "sweeps")
    return {200, "application/json", sweeps_json(s), ""};
  if (parts.size() == 2 && parts[0] == "sweeps")
    return {200, "application/json", sweep_json(s, parts[1]), ""};
  if (parts.size() >= 2 && parts[0] == "runs") {
    const std::string id = s.resolve(parts[1]);
    const auto run = s.get(id);
    if (!run) throw BadRequest("no run '" + parts[1] + "'", 404);
    if (parts.size() == 2) return {200, "application/json", present::run_json(s, *run), ""};
    if (parts.size() == 3 && parts[2] == "series")
      return {200, "application/json", series_json(s, id, params), ""};
    if (parts.size() == 3 && parts[2] == "log")
      return {200, "application/json", log_json(*run, params), ""};
    if (parts.size() == 4 && parts[2] == "artifacts")
      return artifact(s, id, run->run_dir, parts[3]);
  }
  throw BadRequest("no such endpoint", 404);
}

/// What every request's text must be before anything reads it: UTF-8 without NUL or other
/// control characters, of a bounded size. Both backends then see the same text (PostgreSQL
/// refuses bad UTF-8, and libpq cuts a value at a NUL where SQLite keeps it).
void check_text(const std::string& what, const std::string& text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    throw BadRequest(what + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (const size_t at = invalid_utf8_at(text); at != std::string::npos) {
    throw BadRequest(what + " is not valid UTF-8 (byte " + std::to_string(at + 1) + ")");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) < 0x20) {
      throw BadRequest(what + " holds a control character (byte " + std::to_string(i + 1) + ")");
    }
  }
}

}  // namespace

ApiResponse handle_api(store::SharedRunStore& store, const std::string& path,
                       const QueryParams& params) {
  try {
    check_text("the path", path, 1024);
    for (const auto& [key, value] : params) {
      check_text("a parameter's name", key, 64);
      check_text("'" + key + "'", value, store::kMaxQueryLength);
    }
    auto parts = split_path(path);
    if (parts.empty() || parts[0] != "api") return error(404, "no such endpoint");
    parts.erase(parts.begin());
    return store.with([&](store::RunStore& s) { return route(s, parts, params); });
  } catch (const store::QueryError& e) {
    return error(400, e.what(), "\"column\": " + std::to_string(e.column()));
  } catch (const BadRequest& e) {
    return error(e.status, e.what());
  } catch (const store::StoreUnavailable& e) {  // a statement timeout too
    return error(503, e.what());
  } catch (const store::UnknownReference& e) {
    return error(404, e.what());  // the request's fault; any other store error is the server's
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
}

}  // namespace fabric::ui
