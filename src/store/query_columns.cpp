// The columns a filter or an ordering may name, and the SQL each stands for.
#include "store/query_columns.hpp"

#include "common/edit_distance.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace fabric::store::query_detail {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

const std::map<std::string, std::string>& run_columns() {
  static const std::map<std::string, std::string> c{
      {"id", "runs.id"},
      {"name", "runs.name"},
      {"experiment", "runs.experiment"},
      {"status", "runs.status"},
      {"created_at", "runs.created_at"},
      {"start_time", "runs.started_at"},
      {"started_at", "runs.started_at"},
      {"end_time", "runs.ended_at"},
      {"ended_at", "runs.ended_at"},
      {"duration", "(coalesce(runs.ended_at, runs.heartbeat_at) - runs.started_at)"},
      {"seed", "runs.seed"},
      {"world_size", "runs.world_size"},
      {"exit_code", "runs.exit_code"},
      {"error", "runs.error"},
      {"git_commit", "runs.git_commit"},
      {"git_dirty", "runs.git_dirty"},
      {"host", "runs.host"},
      {"pid", "runs.pid"},
      {"run_dir", "runs.run_dir"},
      {"parent", "runs.parent"},
      {"recipe_path", "runs.recipe_path"},
      {"resolved_hash", "runs.resolved_hash"},
      {"note", "runs.note"},
      // Every tag as key=value, and the run's headline number: its first validation metric that
      // is not a loss, else val/loss, else a test metric, else the training loss.
      {"tags", ""},  // per dialect, in column_sql
      {"metric",
       // NULL is a stored NaN. present::list_runs shortens the number, the same on both backends.
       "(SELECT key || ' ' || coalesce(CAST(last AS TEXT), 'nan') FROM metric_summary WHERE "
       "metric_summary.run_id = runs.id ORDER BY CASE WHEN key LIKE 'val/%' AND key NOT LIKE "
       "'%loss%' THEN 0 WHEN key = 'val/loss' THEN 1 WHEN key LIKE 'test/%' THEN 2 WHEN key = "
       "'train/loss' THEN 3 ELSE 4 END, key LIMIT 1)"},
  };
  return c;
}

/// The run attributes that are numbers; the others (and tags.*) are text.
bool numeric_run_column(const std::string& name) {
  for (const char* c : {"created_at", "start_time", "started_at", "end_time", "ended_at",
                        "duration", "seed", "world_size", "exit_code", "git_dirty", "pid"})
    if (name == c) return true;
  return false;
}

const std::vector<std::string> kAggregates{"last",     "min",      "max",  "last_step",
                                           "min_step", "max_step", "count"};

/// `metrics.val/accuracy.maxx`: a last segment that is almost a summary's name is a typo, not
/// part of the metric's key (which would silently match nothing).
std::optional<std::string> summary_typo(const std::string& name) {
  if (name.rfind("metrics.", 0) != 0) return std::nullopt;
  const auto dot = name.rfind('.');
  if (dot <= 7) return std::nullopt;
  const std::string tail = name.substr(dot + 1);
  if (std::find(kAggregates.begin(), kAggregates.end(), tail) != kAggregates.end())
    return std::nullopt;
  std::string best;
  size_t best_distance = 3;
  for (const auto& a : kAggregates) {
    const size_t d = fabric::edit_distance(lower(tail), a);
    if (d < best_distance) best = a, best_distance = d;
  }
  if (best.empty()) return std::nullopt;
  std::string all;
  for (const auto& a : kAggregates) all += (all.empty() ? "" : ", ") + a;
  return "unknown summary '" + tail + "' of metric '" + name.substr(8, dot - 8) +
         "'; did you mean '" + best + "'? (summaries: " + all + ")";
}

std::optional<SqlFragment> column_sql(const std::string& name, bool numeric_params,
                                      Dialect dialect) {
  auto dot = name.find('.');
  const std::string prefix = dot == std::string::npos ? "" : name.substr(0, dot);
  const std::string rest = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (prefix.empty() || prefix == "attributes") {
    const std::string attribute = prefix.empty() ? name : rest;
    auto it = run_columns().find(attribute);
    if (it == run_columns().end()) return std::nullopt;
    if (attribute == "tags") {  // every tag as key=value, in key order
      return SqlFragment{dialect == Dialect::PostgreSQL
                             ? "(SELECT string_agg(key || '=' || value, ' ' ORDER BY key) FROM "
                               "tags WHERE tags.run_id = runs.id)"
                             : "(SELECT group_concat(key || '=' || value, ' ') FROM (SELECT key, "
                               "value FROM tags WHERE tags.run_id = runs.id ORDER BY key))",
                         {}};
    }
    return SqlFragment{it->second, {}, numeric_run_column(attribute)};
  }
  if (rest.empty()) return std::nullopt;
  if (prefix == "params") {
    // A parameter compared with a number is its numeric shadow. SQLite compares a text value
    // with a number too (text is greater); PostgreSQL's types do not mix.
    const char* value = !numeric_params                  ? "value"
                        : dialect == Dialect::PostgreSQL ? "value_num"
                                                         : "coalesce(value_num, value)";
    return SqlFragment{std::string("(SELECT ") + value +
                           " FROM params WHERE params.run_id = runs.id AND params.key = ?)",
                       {rest},
                       numeric_params};
  }
  if (prefix == "tags") {
    return SqlFragment{"(SELECT value FROM tags WHERE tags.run_id = runs.id AND tags.key = ?)",
                       {rest}};
  }
  if (prefix == "metrics") {
    std::string key = rest, aggregate = "last";
    if (auto last_dot = rest.rfind('.'); last_dot != std::string::npos) {
      const std::string tail = rest.substr(last_dot + 1);
      if (std::find(kAggregates.begin(), kAggregates.end(), tail) != kAggregates.end()) {
        key = rest.substr(0, last_dot);
        aggregate = tail;
      }
    }
    // `aggregate` is one of our own names, never user text.
    return SqlFragment{"(SELECT " + aggregate +
                           " FROM metric_summary WHERE metric_summary.run_id = runs.id AND "
                           "metric_summary.key = ?)",
                       {key},
                       true};
  }
  return std::nullopt;
}

}  // namespace fabric::store::query_detail
