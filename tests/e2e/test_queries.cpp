// The query commands on recorded runs: runs, show, metrics, rm, compare, plot, rerun and gc, on
// both store backends; filters, and plots in the terminal and as SVG.
#include <catch2/catch.hpp>

#if FABRIC_WITH_PNG
#include <cairo.h>
#endif

#include <filesystem>
#include <fstream>

#include "e2e/run_helpers.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;

namespace {
const std::string kShort = " run.max_steps=5 data.samples=512";
}  // namespace

TEST_CASE("runs, show, metrics and rm on recorded runs", "[e2e][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 --tag team=vision")
              .exit_code == 0);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 optimizer.lr=0.01 --note 'higher lr'")
              .exit_code == 0);
  const std::string first = query_one(dir, "SELECT id FROM runs WHERE note IS NULL");
  const std::string second = query_one(dir, "SELECT id FROM runs WHERE note IS NOT NULL");

  auto filtered = fabric_exp(
      dir, "runs --where \"params.optimizer.lr > 5e-3 and status = 'finished'\" --format csv");
  INFO(filtered.output);
  CHECK(filtered.exit_code == 0);
  CHECK(contains(filtered.output, second));
  CHECK_FALSE(contains(filtered.output, first));
  CHECK(contains(filtered.output, "params.optimizer.lr"));  // filtered-on columns are shown

  auto bad = fabric_exp(dir, "runs --where \"params.optimizer.lr >\"");
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.output, "column 22"));

  auto show = fabric_exp(dir, "show " + first.substr(0, 5));
  INFO(show.output);
  CHECK(show.exit_code == 0);
  CHECK(contains(show.output, "team=vision"));
  CHECK(contains(show.output, "val/accuracy"));
  CHECK(contains(show.output, "last.ckpt"));
  CHECK(contains(show.output, "# resolved recipe"));

  // CSV and JSON outputs load in Python's own modules.
  auto python = test_support::python_with_torch();
  if (python) {
    auto csv = fabric_exp(dir, "metrics last val/loss train/loss --format csv > m.csv");
    REQUIRE(csv.exit_code == 0);
    auto parsed = test_support::run_command(
        "cd " + q(dir.str()) + " && " + *python +
        " -c \"import csv; rows = list(csv.DictReader(open('m.csv'))); "
        "assert {r['key'] for r in rows} == {'val/loss', 'train/loss'}, rows; print(len(rows))\"");
    INFO(parsed.output);
    CHECK(parsed.exit_code == 0);
    auto json =
        fabric_exp(dir, "runs --format json --columns note,metrics.val/accuracy.max > r.json");
    REQUIRE(json.exit_code == 0);
    auto loaded = test_support::run_command(
        "cd " + q(dir.str()) + " && " + *python +
        " -c \"import json; runs = json.load(open('r.json')); assert len(runs) == 2; "
        "assert runs[0]['note'] == 'higher lr'; assert 0 < runs[0]['metrics.val/accuracy.max'] <= "
        "1; print('ok')\"");
    INFO(loaded.output);
    CHECK(loaded.exit_code == 0);
  }

  const std::string folder = query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(first));
  REQUIRE(fs::exists(folder));
  auto refused = fabric_exp(dir, "rm " + first + " < /dev/null");
  CHECK(refused.exit_code == 1);
  CHECK(fs::exists(folder));
  auto removed = fabric_exp(dir, "rm --yes " + first);
  CHECK(removed.exit_code == 0);
  CHECK_FALSE(fs::exists(folder));
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "1");
  CHECK(query_one(dir, "SELECT count(*) FROM metrics WHERE run_id = " + q(first)) == "0");
}

TEST_CASE("compare, plot, rerun and gc", "[e2e][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  const std::string base = "run " + q(e2e::recipe("quickstart.toml")) + " run.max_epochs=1";
  REQUIRE(fabric_exp(dir, base).exit_code == 0);
  REQUIRE(fabric_exp(dir, base + " optimizer.lr=0.01").exit_code == 0);
  auto ids = query(dir, "SELECT id FROM runs ORDER BY created_at");
  const std::string a = ids[0][0], b = ids[1][0];

  auto cmp = fabric_exp(dir, "compare " + a + " " + b);
  INFO(cmp.output);
  CHECK(cmp.exit_code == 0);
  CHECK(contains(cmp.output, "optimizer.lr"));
  CHECK_FALSE(contains(cmp.output, "optimizer.kind"));  // equal keys are not listed
  CHECK(contains(cmp.output, "val/accuracy"));

  auto chart = fabric_exp(dir, "plot " + a + " train/loss");
  CHECK(chart.exit_code == 0);
  CHECK(contains(chart.output, "train/loss"));
  CHECK(contains(chart.output, "*"));
  auto svg = fabric_exp(dir, "plot " + a + " " + b + " val/loss --out curves.svg");
  CHECK(svg.exit_code == 0);
  const std::string doc = test_support::read_file(dir.str("curves.svg"));
  CHECK(doc.rfind("<svg", 0) == 0);
  CHECK(contains(doc, "<polyline"));
  CHECK(fabric_exp(dir, "plot " + a + " nope").exit_code == 1);

  // The same resolved recipe and seed give the same numbers; nothing drifted in between.
  auto again = fabric_exp(dir, "rerun " + a);
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.output, "no drift"));
  const std::string c = query_one(dir, "SELECT id FROM runs WHERE parent = " + q(a));
  REQUIRE_FALSE(c.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + reproducible_metrics + " x JOIN " +
                           reproducible_metrics +
                           " y ON x.key = y.key AND x.step = y.step WHERE x.run_id = " + q(a) +
                           " AND y.run_id = " + q(c) + " AND x.value != y.value") == "0");

  // gc: a folder of this store without its row goes; another store's folder stays.
  const std::string dir_b = query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(b));
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 --store other.db")
              .exit_code == 0);
  e2e::exec_sql(dir, "DELETE FROM runs WHERE id = '" + b + "'");
  auto gc = fabric_exp(dir, "gc --yes");
  INFO(gc.output);
  CHECK(gc.exit_code == 0);
  CHECK_FALSE(fs::exists(dir_b));
  CHECK(contains(gc.output, "removed 1 folder(s)"));
  CHECK(fabric_exp(dir, "gc --yes").output.find("nothing to collect") != std::string::npos);
}

TEST_CASE("filters: a misspelt summary is an error, lists compare by value, dates are dates",
          "[e2e][cli][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + kShort).exit_code == 0);
  auto typo = fabric_exp(dir, "runs --where " + q("metrics.val/accuracy.maxx > 0"));
  INFO(typo.output);
  CHECK(typo.exit_code == 2);
  CHECK(contains(typo.output, "did you mean 'max'?"));
  auto list = fabric_exp(dir, "runs --format csv --where " + q("params.model.hidden = '[64, 64]'"));
  INFO(list.output);
  CHECK(list.exit_code == 0);
  CHECK(contains(list.output, ",finished"));
  auto date = fabric_exp(dir, "runs --format csv --where " + q("created_at > '2000-01-01'"));
  INFO(date.output);
  CHECK(contains(date.output, ",finished"));
  auto future =
      fabric_exp(dir, "runs --format csv --where " + q("created_at > '2999-01-01 10:00'"));
  CHECK_FALSE(contains(future.output, ",finished"));
  auto not_date = fabric_exp(dir, "runs --where " + q("created_at > 'yesterday'"));
  CHECK(not_date.exit_code == 2);
  auto order = fabric_exp(dir, "runs --order-by " + q("bogus_column desc"));
  INFO(order.output);
  CHECK(order.exit_code == 2);
  CHECK(contains(order.output, "--order-by:"));
  auto where = fabric_exp(dir, "runs --where " + q("status = 'finished' and bogus = 1"));
  INFO(where.output);
  CHECK(contains(where.output, "(column 25)"));
}

TEST_CASE("plots: lines with round ticks in the terminal, a labelled SVG with a legend beside it",
          "[e2e][cli][output][plot]") {
  TempDir dir;
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " run.max_epochs=1").exit_code ==
      0);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 optimizer.lr=1e-3")
              .exit_code == 0);
  const auto ids = query(dir, "SELECT id FROM runs ORDER BY created_at");
  const std::string a = ids[0][0], b = ids[1][0];
  auto loss = fabric_exp(dir, "plot " + a + " " + b + " train/loss");
  INFO(loss.output);
  REQUIRE(loss.exit_code == 0);
  // Lines: far more drawn cells than the 57 logged points of one run; both series in the legend.
  CHECK(std::count(loss.output.begin(), loss.output.end(), '*') > 60);
  CHECK(contains(loss.output, "  o " + b));
  // Round tick values on the x axis (steps 0..60 in tens).
  CHECK(contains(loss.output, " 20 "));
  CHECK(contains(loss.output, " 40 "));
  // A metric with one point per run (val/loss after one epoch) still shows each as a point.
  auto single = fabric_exp(dir, "plot " + a + " val/loss");
  INFO(single.output);
  CHECK(std::count(single.output.begin(), single.output.end(), '*') == 1);

  auto svg = fabric_exp(dir, "plot " + a + " " + b + " val/loss --out curves.svg");
  REQUIRE(svg.exit_code == 0);
  const std::string doc = test_support::read_file(dir.str("curves.svg"));
  CHECK(contains(doc, "rotate(-90)\" text-anchor=\"middle\">val/loss</text>"));  // y-axis label
  CHECK(std::count(doc.begin(), doc.end(), 'c') > 0);
  CHECK(contains(doc, "<circle"));                      // single points are visible
  CHECK(contains(doc, "stroke-width=\"3\"/>\n<text"));  // legend swatches

#if FABRIC_WITH_PNG
  // The same drawing as a PNG, at twice the SVG's size: both runs' colours are on it.
  auto png = fabric_exp(dir, "plot " + a + " " + b + " val/loss --out curves.PNG");
  INFO(png.output);
  REQUIRE(png.exit_code == 0);
  cairo_surface_t* image = cairo_image_surface_create_from_png(dir.str("curves.PNG").c_str());
  REQUIRE(cairo_surface_status(image) == CAIRO_STATUS_SUCCESS);
  const auto svg_width = std::stoi(doc.substr(doc.find("width=\"") + 7));
  CHECK(cairo_image_surface_get_width(image) == 2 * svg_width);
  CHECK(cairo_image_surface_get_height(image) == 960);
  auto pixels_of = [&](uint32_t rgb) {
    int n = 0;
    const int stride = cairo_image_surface_get_stride(image);
    const unsigned char* data = cairo_image_surface_get_data(image);
    for (int y = 0; y < cairo_image_surface_get_height(image); ++y) {
      const auto* row = reinterpret_cast<const uint32_t*>(data + y * stride);
      for (int x = 0; x < cairo_image_surface_get_width(image); ++x)
        n += (row[x] & 0xffffff) == rgb;
    }
    return n;
  };
  CHECK(pixels_of(0x1f77b4) > 100);  // the first run's points and legend swatch
  CHECK(pixels_of(0xd62728) > 100);  // the second's
  CHECK(pixels_of(0xffffff) > 1000000);
  cairo_surface_destroy(image);
#endif
  auto jpeg = fabric_exp(dir, "plot " + a + " val/loss --out curves.jpg");
  CHECK(jpeg.exit_code != 0);
  CHECK(contains(jpeg.output, "--out curves.jpg: the image's name must end in .svg or .png"));
  CHECK_FALSE(fs::exists(dir.str("curves.jpg")));
}

TEST_CASE("rerun keeps the original's tags and says how its metrics compare", "[e2e][cli][rerun]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 --tag team=vision")
              .exit_code == 0);
  const std::string a = query_one(dir, "SELECT id FROM runs");
  auto again = fabric_exp(dir, "rerun " + a);
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  const std::string b = query_one(dir, "SELECT id FROM runs WHERE parent = " + q(a));
  CHECK(query_one(dir, "SELECT value FROM tags WHERE run_id = " + q(b) + " AND key = 'team'") ==
        "vision");
  CHECK(contains(again.output, "val/accuracy"));
  CHECK(contains(again.output, "every metric identical"));
  CHECK(contains(again.output, "sys/ and throughput/ metrics measure the machine"));
  CHECK_FALSE(contains(again.output, "sys/rss_mib"));
}
