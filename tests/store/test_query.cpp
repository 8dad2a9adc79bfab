// The --where / --order-by language on a real store of each backend: SQLite and PostgreSQL
// must give the same answers.
#include <catch2/catch.hpp>

#include <algorithm>

#include "present/run_listing.hpp"
#include "store/query.hpp"
#include "store/run_query.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"

using namespace fabric::store;

namespace {

/// Three runs with known parameters, metrics and tags.
struct Fixture {
  test_support::TempDir dir;
  RunStore store;
  std::string a, b, c;
  explicit Fixture(const std::string& backend) : store(test_support::fresh_store(backend, dir)) {
    auto make = [&](const std::string& name, const std::string& kind, const std::string& lr,
                    std::map<std::string, std::string> tags, std::vector<double> acc) {
      NewRun r;
      r.name = name;
      r.experiment = "grammar";
      r.runs_root = dir.str("runs");
      r.params = {{"optimizer.kind", kind}, {"optimizer.lr", lr}, {"model.hidden", "[ 64, 64 ]"}};
      r.tags = std::move(tags);
      auto id = store.create_run(r);
      std::vector<MetricPoint> points;
      for (size_t i = 0; i < acc.size(); ++i)
        points.push_back({"val/acc", int64_t(i), 0, acc[i], 0});
      store.log_metrics(id, points);
      return id;
    };
    // lr "10" > "9" numerically but not as text: comparisons must use the numeric shadow.
    a = make("alpha", "adamw", "10", {{"team", "vision"}}, {0.5, 0.95, 0.9});
    b = make("beta", "sgd", "9", {{"team", "nlp"}, {"note", "it's fine"}}, {0.6, 0.7});
    c = make("gamma", "adamw", "0.001", {}, {0.99});
    store.finish_run(a, Status::Finished, 0);
    store.finish_run(b, Status::Failed, 1, "boom");
  }
  std::vector<std::string> ids(const std::string& where, const std::string& order = "name") {
    auto result = select_runs(store, {where, order, {"id"}, 100});
    std::vector<std::string> out;
    for (const auto& row : result.rows) out.push_back(std::get<std::string>(row[0]));
    return out;
  }
};

size_t error_column(const std::string& where) {
  try {
    compile_filter(where);
  } catch (const QueryError& e) {
    return e.column();
  }
  return 0;
}

}  // namespace

TEST_CASE("every operator", "[store][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  using V = std::vector<std::string>;
  CHECK(f.ids("params.optimizer.kind = 'adamw'") == V{f.a, f.c});
  CHECK(f.ids("params.optimizer.kind == 'sgd'") == V{f.b});
  CHECK(f.ids("params.optimizer.kind != 'sgd'") == V{f.a, f.c});
  CHECK(f.ids("params.optimizer.kind <> 'sgd'") == V{f.a, f.c});
  CHECK(f.ids("params.optimizer.lr > 9") == V{f.a});
  CHECK(f.ids("params.optimizer.lr >= 9") == V{f.a, f.b});
  CHECK(f.ids("params.optimizer.lr < 9") == V{f.c});
  CHECK(f.ids("params.optimizer.lr <= 1e-3") == V{f.c});
  CHECK(f.ids("status in ('finished', 'failed')") == V{f.a, f.b});
  CHECK(f.ids("status not in ('finished')") == V{f.b, f.c});
  CHECK(f.ids("params.optimizer.lr in (9, 10)") == V{f.a, f.b});
  CHECK(f.ids("name like 'g%'") == V{f.c});
  CHECK(f.ids("name not like '%a'") == V{});
  CHECK(f.ids("tags.team is null") == V{f.c});
  CHECK(f.ids("tags.team is not null") == V{f.a, f.b});
  CHECK(f.ids("not status = 'running'") == V{f.a, f.b});
  CHECK(f.ids("error = 'boom'") == V{f.b});
  CHECK(f.ids("attributes.name = 'beta'") == V{f.b});
}

TEST_CASE("metric aggregates", "[store][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  using V = std::vector<std::string>;
  CHECK(f.ids("metrics.val/acc > 0.8") == V{f.a, f.c});  // last: 0.9, 0.7, 0.99
  CHECK(f.ids("metrics.val/acc.last > 0.8") == V{f.a, f.c});
  CHECK(f.ids("metrics.val/acc.max >= 0.95") == V{f.a, f.c});
  CHECK(f.ids("metrics.val/acc.min < 0.55") == V{f.a});
  CHECK(f.ids("metrics.val/acc.max_step = 1") == V{f.a, f.b});
  CHECK(f.ids("metrics.val/acc.count = 2") == V{f.b});
  CHECK(f.ids("metrics.missing > 0") == V{});
  CHECK(f.ids("", "metrics.val/acc.max desc") == V{f.c, f.a, f.b});
  CHECK(f.ids("", "params.optimizer.lr") == V{f.c, f.b, f.a});  // numeric order
}

TEST_CASE("precedence: not binds tighter than and, and tighter than or", "[store][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  using V = std::vector<std::string>;
  // a or (b and c): beta is sgd (no), gamma is adamw with no team.
  CHECK(f.ids("name = 'beta' or params.optimizer.kind = 'adamw' and tags.team is null") ==
        V{f.b, f.c});
  CHECK(f.ids("(name = 'beta' or params.optimizer.kind = 'adamw') and tags.team is null") ==
        V{f.c});
  CHECK(f.ids("not name = 'alpha' and not name = 'beta'") == V{f.c});
  CHECK(f.ids("not (name = 'alpha' or name = 'beta')") == V{f.c});
  CHECK(f.ids("metrics.val/acc.max > 0.9 and (params.optimizer.kind = 'adamw' or "
              "params.optimizer.lr >= 1e-3) "
              "and status in ('finished')") == V{f.a});
}

TEST_CASE("user text stays literal: injection attempts match nothing and change nothing",
          "[store][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  CHECK(f.ids("name = 'x'' OR 1=1 --'").empty());
  CHECK(f.ids("name = 'alpha''; DROP TABLE runs; --'").empty());
  CHECK(f.ids("tags.`note` = 'it''s fine'") == std::vector<std::string>{f.b});
  CHECK(f.ids("tags.`x') OR 1=1 --` = 'a'").empty());
  CHECK(f.ids("params.`optimizer.kind' OR '1'='1` = 'adamw'").empty());
  CHECK(f.ids("").size() == 3);  // the runs table is intact
}

TEST_CASE("malformed expressions point at the offending column", "[store][query]") {
  CHECK(error_column("status = 'finished") == 10);
  CHECK(error_column("bogus = 1") == 1);
  CHECK(error_column("status = ") == 10);
  CHECK(error_column("status = 'a' and") == 17);
  CHECK(error_column("(status = 'a'") == 14);
  CHECK(error_column("status ~ 'a'") == 8);
  CHECK(error_column("status in 'a'") == 11);
  CHECK(error_column("status = 'a' status") == 14);
  CHECK(error_column("params.lr > 1e-3x") == 13);
  CHECK(error_column("name like 5") == 11);
  try {
    compile_filter("status = 'a' nonsense");
    FAIL("no error");
  } catch (const QueryError& e) {
    CHECK(std::string(e.what()).find("status = 'a' nonsense\n               ^") !=
          std::string::npos);
  }
}

TEST_CASE("where the dialects differ the answers do not", "[store][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  using V = std::vector<std::string>;
  // like ignores ASCII case and has no escape character, on both.
  CHECK(f.ids("name like 'G%'") == V{f.c});
  CHECK(f.ids("name like 'al\\%'").empty());
  CHECK(f.ids("params.optimizer.lr like '1%'") == V{f.a});
  // A number compared with text, and text with a number: no SQL type error, a plain answer.
  CHECK(f.ids("name = 5").empty());
  CHECK(f.ids("seed = 'x'").empty());
  CHECK(f.ids("seed = '0'") == V{f.a, f.b, f.c});
  CHECK(f.ids("params.optimizer.kind = 3").empty());
  CHECK(f.ids("status in ('finished', 3)") == V{f.a});
  CHECK(f.ids("params.model.hidden = '[64,64]'") == V{f.a, f.b, f.c});
  CHECK(f.ids("created_at > '2000-01-01'").size() == 3);
  CHECK(f.ids("not tags.team = 'nlp'") == V{f.a, f.c});
  // Text parameters order as text; a missing one first, as SQLite orders NULL.
  CHECK(f.ids("", "params.optimizer.kind desc, name") == V{f.b, f.a, f.c});
  CHECK(f.ids("", "tags.team, name") == V{f.c, f.b, f.a});
  CHECK(f.ids("", "tags.team desc, name") == V{f.a, f.b, f.c});
  // What the listing shows: tags in key order, the headline metric shortened, numbers as numbers.
  auto shown = fabric::present::list_runs(
      f.store, {"name = 'beta'",
                "",
                {"tags", "metric", "params.optimizer.lr", "params.optimizer.kind", "duration"},
                10});
  REQUIRE(shown.rows.size() == 1);
  const auto& row = shown.rows[0];
  CHECK(std::get<std::string>(row[3]) == "note=it's fine team=nlp");
  CHECK(std::get<std::string>(row[4]) == "val/acc 0.7");
  CHECK(std::get<double>(row[5]) == 9);
  CHECK(std::get<std::string>(row[6]) == "sgd");
  CHECK(std::holds_alternative<double>(row[7]));
}
