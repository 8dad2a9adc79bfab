// `fabric-exp compare RUN RUN...` and `fabric-exp plot RUN... KEY [--out curves.svg|.png]`.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/chart.hpp"
#include "cli/commands.hpp"
#include "cli/png_image.hpp"
#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "present/open_store.hpp"
#include "present/table_output.hpp"
#include "store/run_store.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

namespace fs = std::filesystem;

namespace {

int compare(const std::vector<std::string>& refs, const std::string& store_arg,
            const std::string& format) {
  auto s = open_store(store_arg);
  std::vector<std::string> ids;
  for (const auto& r : refs) ids.push_back(s->resolve(r));
  // Parameters: only the keys whose values differ between the runs.
  std::map<std::string, std::vector<store::SqlValue>> params;
  for (size_t i = 0; i < ids.size(); ++i) {
    for (const auto& [k, v] : s->params(ids[i])) {
      auto& row = params[k];
      row.resize(ids.size());
      row[i] = v;
    }
  }
  ResultTable p{{"param"}, {}};
  for (const auto& id : ids) p.headers.push_back(id);
  for (auto& [k, values] : params) {
    values.resize(ids.size());
    if (std::all_of(values.begin(), values.end(), [&](const auto& v) { return v == values[0]; }))
      continue;
    p.rows.push_back({k});
    p.rows.back().insert(p.rows.back().end(), values.begin(), values.end());
  }
  if (format == "json") {
    // {"params": [{"param": k, id: v, ...}], "metrics": [{"metric": k, id: last, ...}]}
    std::cout << "{\"params\": ";
    p.headers[0] = "param";
    print_table(std::cout, p, "json");
  } else if (p.rows.empty()) {
    std::cout << "parameters: identical\n";
  } else {
    print_table(std::cout, p, format);
  }
  // Metrics side by side: last (and best where lower or higher is better).
  std::map<std::string, std::vector<store::SqlValue>> metrics;
  for (size_t i = 0; i < ids.size(); ++i) {
    for (const auto& m : s->summaries(ids[i])) {
      auto& row = metrics[m.key];
      row.resize(ids.size());
      row[i] = m.last;
    }
  }
  ResultTable m{{"metric (last)"}, {}};
  for (const auto& id : ids) m.headers.push_back(id);
  for (auto& [k, values] : metrics) {
    values.resize(ids.size());
    m.rows.push_back({k});
    m.rows.back().insert(m.rows.back().end(), values.begin(), values.end());
  }
  if (format == "json") {
    m.headers[0] = "metric";
    std::cout << ", \"metrics\": ";
    print_table(std::cout, m, "json");
    std::cout << "}\n";
    return 0;
  }
  std::cout << "\n";
  print_table(std::cout, m, format);
  return 0;
}

int plot(const std::vector<std::string>& args, const std::string& out,
         const std::string& store_arg) {
  if (args.size() < 2) {
    std::cerr << "fabric-exp plot: give one or more runs and a metric key: plot RUN [RUN...] KEY\n";
    return 2;
  }
  auto s = open_store(store_arg);
  const std::string key = args.back();
  std::vector<Curve> curves;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string id = s->resolve(args[i]);
    Curve c{id + " " + s->get(id)->name, {}};
    for (const auto& p : s->metrics(id, {key})) c.points.emplace_back(double(p.step), p.value);
    if (c.points.empty()) {
      throw store::StoreError("run " + id + " has no metric '" + key +
                              "' (it has: " + metric_keys(*s, id) + ")");
    }
    curves.push_back(std::move(c));
  }
  if (out.empty()) {
    std::cout << terminal_chart(curves, key);
    return 0;
  }
  std::string ext = fs::path(out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext != ".svg" && ext != ".png") {
    throw ValueError("--out " + out + ": the image's name must end in .svg or .png");
  }
  const std::string svg = svg_chart(curves, key);
  // Drawn at twice the SVG's size: sharp on high-density screens and in printed reports.
  const std::string image = ext == ".png" ? png_from_svg(svg, 2.0) : svg;
  atomic_write(out, image.data(), image.size());
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

void add_compare_commands(CLI::App& app) {
  {
    auto* sub = app.add_subcommand("compare", "Parameters that differ and metrics side by side");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto store_arg = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("table");
    sub->add_option("runs", *refs, "Two or more runs")->required()->expected(2, -1);
    add_store_option(sub, *store_arg);
    sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    register_action(sub, [=] { return compare(*refs, *store_arg, *format); });
  }
  {
    auto* sub = app.add_subcommand(
        "plot", "A metric's curve in the terminal, or several runs' curves as SVG or PNG");
    auto args = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto store_arg = std::make_shared<std::string>();
    sub->add_option("args", *args, "RUN [RUN...] KEY")->required();
    sub->add_option("--out", *out, "Write an image instead: curves.svg or curves.png");
    add_store_option(sub, *store_arg);
    register_action(sub, [=] { return plot(*args, *out, *store_arg); });
  }
}

}  // namespace fabric::cli
