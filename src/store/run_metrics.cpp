// A run's metrics: points upserted in batches with their per-key summaries, read back whole, by
// key, or one point at a time.
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "store/run_store.hpp"
#include "store/sqlite.hpp"

namespace fabric::store {

namespace {
/// A key's summary over all its rows, for a key new to the run or a step logged again.
constexpr const char* kRecomputeSummary = R"sql(
INSERT INTO metric_summary (run_id, key, last, last_step, min, min_step, max, max_step, count)
SELECT ?1, ?2,
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 ORDER BY step DESC LIMIT 1),
  (SELECT max(step) FROM metrics WHERE run_id = ?1 AND key = ?2),
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value ASC, step ASC LIMIT 1),
  (SELECT step FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value ASC, step ASC LIMIT 1),
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value DESC, step ASC LIMIT 1),
  (SELECT step FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value DESC, step ASC LIMIT 1),
  (SELECT count(*) FROM metrics WHERE run_id = ?1 AND key = ?2)
WHERE true
ON CONFLICT (run_id, key) DO UPDATE SET last = excluded.last, last_step = excluded.last_step,
  min = excluded.min, min_step = excluded.min_step, max = excluded.max,
  max_step = excluded.max_step, count = excluded.count)sql";
/// The run's metric_summary rows for the keys of `rows` (sorted by key, then step), once they
/// are in metrics.
void update_summaries(Database& db, const std::string& id,
                      const std::vector<const MetricPoint*>& rows) {
  // A NaN is stored as NULL: it can be the last value (a diverged run shows it), never the
  // least or the greatest. Ties keep the earliest step.
  // Each key's summary is merged with the batch's (rows come sorted by key, then step) when
  // every point is past the summary's last step: no earlier row was overwritten, and the flush
  // costs the same at the millionth point as at the first. A step logged again (a resumed run)
  // or a key without a summary is summed over its rows again.
  auto current = db.prepare(
      "SELECT last_step, min, min_step, max, max_step, count FROM metric_summary "
      "WHERE run_id = ? AND key = ?");
  std::optional<Statement> merge, recompute;
  const auto optional_step = [](double v, int64_t step) -> SqlValue {
    return std::isnan(v) ? SqlValue{} : SqlValue{step};
  };
  for (size_t begin = 0; begin < rows.size();) {
    const std::string& key = rows[begin]->key;
    size_t end = begin;
    double lo = NAN, hi = NAN;
    int64_t lo_step = 0, hi_step = 0;
    for (; end < rows.size() && rows[end]->key == key; ++end) {
      const MetricPoint& p = *rows[end];
      if (std::isnan(p.value)) continue;
      if (std::isnan(lo) || p.value < lo) lo = p.value, lo_step = p.step;
      if (std::isnan(hi) || p.value > hi) hi = p.value, hi_step = p.step;
    }
    const MetricPoint& last = *rows[end - 1];
    current.reset();
    current.bind_all({id, key});
    if (current.step() && !current.is_null(0) && current.integer(0) < rows[begin]->step &&
        !current.is_null(5)) {
      if (!current.is_null(1) && !(current.real(1) > lo))
        lo = current.real(1), lo_step = current.integer(2);
      if (!current.is_null(3) && !(current.real(3) < hi))
        hi = current.real(3), hi_step = current.integer(4);
      const int64_t count = current.integer(5) + int64_t(end - begin);
      if (!merge) {
        merge.emplace(db.prepare(
            "UPDATE metric_summary SET last = ?, last_step = ?, min = ?, min_step = ?, max = ?, "
            "max_step = ?, count = ? WHERE run_id = ? AND key = ?"));
      }
      merge->bind_all({last.value, last.step, lo, optional_step(lo, lo_step), hi,
                       optional_step(hi, hi_step), count, id, key});
      merge->run();
    } else {
      if (!recompute) recompute.emplace(db.prepare(kRecomputeSummary));
      recompute->bind_all({id, key});
      recompute->run();
    }
    begin = end;
  }
}
}  // namespace

void RunStore::log_metrics(const std::string& id, const std::vector<MetricPoint>& points) {
  if (points.empty()) return;
  db_->transaction([&] {
    // First, so that the run's row is locked while its metrics go in: a run another process
    // marked ended takes no more.
    auto beat = db_->prepare(
        "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running' RETURNING id");
    beat.bind_all({db_->now(), id});
    if (!beat.step() && !revive_if_reaped(id))
      throw_ended(id, std::to_string(points.size()) + " metric point(s) not recorded");
    // Many rows per INSERT: one round trip for up to kRowsPerInsert points, which is what a
    // server's latency makes count. A step logged twice in one batch keeps its last value, as
    // one upsert after another would (and one statement may not upsert a row twice).
    std::map<std::pair<std::string, int64_t>, size_t> last;
    for (size_t i = 0; i < points.size(); ++i) last[{points[i].key, points[i].step}] = i;
    std::vector<const MetricPoint*> rows;
    rows.reserve(last.size());
    for (const auto& [key_step, i] : last) rows.push_back(&points[i]);
    constexpr size_t kRowsPerInsert = 200;
    auto insert_sql = [](size_t n) {
      std::string sql = "INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES ";
      for (size_t i = 0; i < n; ++i) sql += i ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)";
      return sql +
             " ON CONFLICT (run_id, key, step) DO UPDATE SET epoch = excluded.epoch, "
             "value = excluded.value, wall_time = excluded.wall_time";
    };
    std::optional<Statement> full;
    std::vector<SqlValue> values;
    for (size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
      const size_t n = std::min(kRowsPerInsert, rows.size() - start);
      values.clear();
      for (size_t i = start; i < start + n; ++i) {
        const MetricPoint& p = *rows[i];
        values.insert(values.end(), {id, p.key, p.step, p.epoch, p.value, p.wall_time});
      }
      if (n == kRowsPerInsert) {
        if (!full) full.emplace(db_->prepare(insert_sql(n)));
        full->bind_all(values);
        full->run();
      } else {
        db_->prepare(insert_sql(n)).bind_all(values).run();
      }
    }
    update_summaries(*db_, id, rows);
  });
}

std::vector<MetricSummary> RunStore::summaries(const std::string& id) {
  auto st = db_->prepare(
      "SELECT key, last, last_step, min, min_step, max, max_step, count "
      "FROM metric_summary WHERE run_id = ? ORDER BY key");
  st.bind(1, id);
  std::vector<MetricSummary> out;
  while (st.step()) {
    out.push_back({st.text(0), st.real_or_nan(1), st.real_or_nan(3), st.real_or_nan(5),
                   st.integer(2), st.integer(4), st.integer(6), st.integer(7)});
  }
  return out;
}

std::vector<MetricPoint> RunStore::metrics(const std::string& id,
                                           const std::vector<std::string>& keys) {
  // One key at a time when some are named, so the primary key (run_id, key, step) finds them
  // instead of a scan of every key of the run.
  auto st = db_->prepare(keys.empty()
                             ? "SELECT key, step, coalesce(epoch,0), value, coalesce(wall_time,0) "
                               "FROM metrics WHERE run_id = ? ORDER BY key, step"
                             : "SELECT key, step, coalesce(epoch,0), value, coalesce(wall_time,0) "
                               "FROM metrics WHERE run_id = ? AND key = ? ORDER BY step");
  const std::set<std::string> wanted(keys.begin(), keys.end());
  std::vector<MetricPoint> out;
  auto read = [&] {
    while (st.step())
      out.push_back({st.text(0), st.integer(1), st.integer(2), st.real_or_nan(3), st.real(4)});
  };
  if (keys.empty()) {
    st.bind(1, id);
    read();
  }
  for (const auto& key : wanted) {
    st.reset();
    st.bind_all({id, key});
    read();
  }
  return out;
}

void RunStore::for_each_point(const std::string& id, const std::string& key,
                              const std::function<void(int64_t step, double value)>& visit) {
  auto st =
      db_->prepare("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step");
  st.bind_all({id, key});
  while (st.step()) visit(st.integer(0), st.real_or_nan(1));
}

int64_t RunStore::finite_point_count(const std::string& id, const std::string& key) {
  // NULL (a stored NaN) and the infinities fall outside the range of finite doubles.
  auto st = db_->prepare(
      "SELECT count(*) FROM metrics WHERE run_id = ? AND key = ? AND value BETWEEN ? AND ?");
  st.bind_all({id, key, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max()});
  st.step();
  return st.integer(0);
}

}  // namespace fabric::store
