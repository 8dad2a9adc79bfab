// `fabric-exp ui` over HTTP: the real server on a loopback port (in this process, and the real
// binary), a real SQLite store written through the store's API.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "store/run_store.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "sweep/sweep_store.hpp"
#include "ui/lttb.hpp"
#include "ui/server.hpp"
#include "ui/ui_fixture.hpp"

namespace fs = std::filesystem;
using fabric::ui::Point;
using test_support::TempDir;
using ui_test::contains;
using ui_test::count_of;
using ui_test::Fixture;
using ui_test::Served;

TEST_CASE("LTTB keeps the first and last points, the threshold, and the peaks", "[ui][lttb]") {
  std::vector<Point> flat;
  for (int i = 0; i < 10000; ++i) flat.push_back({double(i), i == 4321 ? 100.0 : 0.0});
  const auto kept = fabric::ui::lttb(flat, 500);
  REQUIRE(kept.size() == 500);
  CHECK(kept.front().x == 0);
  CHECK(kept.back().x == 9999);
  // A single spike survives, which every-k-th-point sampling would drop.
  CHECK(std::any_of(kept.begin(), kept.end(), [](const Point& p) { return p.y == 100.0; }));
  for (size_t i = 1; i < kept.size(); ++i) CHECK(kept[i].x > kept[i - 1].x);
  // Fewer points than the threshold come back as they are.
  std::vector<Point> few{{0, 1}, {1, 2}, {2, 3}};
  CHECK(fabric::ui::lttb(few, 500).size() == 3);
}

namespace {
/// LTTB over the whole curve in memory, as Steinarsson's paper writes it: what the stream must
/// reproduce.
std::vector<Point> reference_lttb(const std::vector<Point>& points, size_t threshold) {
  const size_t n = points.size();
  if (threshold < 3 || n <= threshold) return points;
  std::vector<Point> out{points.front()};
  const double width = double(n - 2) / double(threshold - 2);
  size_t kept = 0;
  for (size_t b = 0; b < threshold - 2; ++b) {
    const size_t begin = size_t(std::floor(double(b) * width)) + 1;
    const size_t end = std::min(size_t(std::floor(double(b + 1) * width)) + 1, n - 1);
    const size_t next_end = std::min(size_t(std::floor(double(b + 2) * width)) + 1, n);
    double mx = 0, my = 0;
    for (size_t i = end; i < next_end; ++i) mx += points[i].x, my += points[i].y;
    mx /= double(next_end - end), my /= double(next_end - end);
    const Point& a = points[kept];
    double best_area = -1;
    size_t best = begin;
    for (size_t i = begin; i < end; ++i) {
      const double area =
          std::abs((a.x - mx) * (points[i].y - a.y) - (a.x - points[i].x) * (my - a.y));
      if (area > best_area) best_area = area, best = i;
    }
    out.push_back(points[best]);
    kept = best;
  }
  out.push_back(points.back());
  return out;
}
}  // namespace

TEST_CASE("streamed LTTB keeps exactly the paper's points, holding two buckets at a time",
          "[ui][lttb]") {
  std::mt19937 random(7);
  std::normal_distribution<double> noise;
  for (size_t n : {4u, 10u, 1001u, 1002u, 4999u, 100000u}) {
    for (size_t threshold : {3u, 5u, 1000u, 2000u}) {
      std::vector<Point> curve;
      double y = 0;
      for (size_t i = 0; i < n; ++i) curve.push_back({double(i * 3), y += noise(random)});
      fabric::ui::LttbStream stream(n, threshold);
      for (const Point& p : curve) stream.push(p);
      const size_t peak = stream.peak_held();
      const auto kept = stream.finish();
      const auto expected = reference_lttb(curve, threshold);
      INFO("n " << n << " threshold " << threshold);
      REQUIRE(kept.size() == expected.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        CHECK(kept[i].x == expected[i].x);
        CHECK(kept[i].y == expected[i].y);
      }
      if (n > threshold)
        CHECK(peak <= 2 * size_t(std::ceil(double(n) / double(threshold - 2))) + 2);
    }
  }
  // A count that was stale (the run logged more, or fewer, points between the count and the
  // read): never more than the threshold, the first and the last point seen kept.
  std::vector<Point> curve;
  for (int i = 0; i < 700; ++i) curve.push_back({double(i), double(i % 7)});
  fabric::ui::LttbStream fewer(1000, 100);
  for (const Point& p : curve) fewer.push(p);
  const auto cut = fewer.finish();
  CHECK(cut.size() <= 100);
  CHECK(cut.front().x == 0);
  CHECK(cut.back().x == 699);
  for (size_t i = 1; i < cut.size(); ++i) CHECK(cut[i].x > cut[i - 1].x);
  fabric::ui::LttbStream more(500, 100);
  for (const Point& p : curve) more.push(p);
  const auto capped = more.finish();
  CHECK(capped.size() == 100);
  CHECK(capped.back().x == 499);
}

TEST_CASE("the JSON API: runs with filter and paging, a run, its series, log and sweeps",
          "[ui][api]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();

  auto runs = c.Get("/api/runs?limit=1");
  REQUIRE(runs);
  CHECK(runs->status == 200);
  CHECK(runs->get_header_value("Content-Type") == "application/json");
  CHECK(contains(runs->body, "\"total\": 2"));
  CHECK(contains(runs->body, f.running));  // newest first
  CHECK_FALSE(contains(runs->body, f.finished));
  auto page2 = c.Get("/api/runs?limit=1&offset=1");
  REQUIRE(page2);
  CHECK(contains(page2->body, f.finished));

  auto filtered =
      c.Get("/api/runs?where=" + httplib::detail::encode_query_param("status = 'finished'"));
  REQUIRE(filtered);
  CHECK(filtered->status == 200);
  CHECK(contains(filtered->body, "\"total\": 1"));
  // A filter error says what and where (its column), as `runs --where` does.
  auto bad = c.Get("/api/runs?where=" + httplib::detail::encode_query_param("status = = 1"));
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(contains(bad->body, "\"column\": "));
  auto unknown = c.Get("/api/runs?where=nosuchcolumn%20%3E%201");
  REQUIRE(unknown);
  CHECK(unknown->status == 400);
  CHECK(contains(unknown->body, "nosuchcolumn"));
  for (const char* q : {"limit=0", "limit=abc", "limit=100000", "offset=-1"}) {
    auto r = c.Get(std::string("/api/runs?") + q);
    REQUIRE(r);
    INFO(q);
    CHECK(r->status == 400);
  }

  auto run = c.Get("/api/runs/" + f.finished);
  REQUIRE(run);
  CHECK(run->status == 200);
  // Strings from the store are JSON-escaped: the quotes of the name cannot end the string.
  CHECK(contains(run->body, R"("name": "<img src=x onerror=\"alert('x')\">")"));
  CHECK(contains(run->body, "\"recipe\": "));
  CHECK(contains(run->body, "\"resolved_recipe\": "));

  // 100,000 points come back as at most max_points, the first and last kept; NaN is left out.
  auto series = c.Get("/api/runs/" + f.finished + "/series?max_points=1000");
  REQUIRE(series);
  CHECK(series->status == 200);
  CHECK(contains(series->body, "\"points\": 100000"));
  const auto x_at = series->body.find("\"x\": [", series->body.find("train/loss"));
  const auto x_end = series->body.find(']', x_at);
  const std::string xs = series->body.substr(x_at, x_end - x_at);
  CHECK(std::count(xs.begin(), xs.end(), ',') == 999);
  CHECK(contains(xs, "[0,"));
  CHECK(contains(xs, ",99999"));
  CHECK(contains(series->body, "\"non_finite\": 1"));
  CHECK_FALSE(contains(series->body, "inf"));
  auto one = c.Get("/api/runs/" + f.finished + "/series?keys=val/loss");
  REQUIRE(one);
  CHECK_FALSE(contains(one->body, "train/loss"));

  auto log = c.Get("/api/runs/" + f.finished + "/log?lines=2");
  REQUIRE(log);
  CHECK(contains(log->body, "line three"));
  CHECK_FALSE(contains(log->body, "line one"));
  // A log of many 64 KiB blocks, its last line unterminated: exactly the last lines, whole.
  {
    const std::string log_path =
        fabric::store::RunStore(f.store_path).get(f.finished)->run_dir + "/train.log";
    std::ofstream out(log_path);
    for (int i = 0; i < 30000; ++i) out << "step " << i << " loss " << 1.0 / (i + 1) << "\n";
    out << "the end";
  }
  for (int lines : {1, 2, 4999, 5000}) {
    auto tail = c.Get("/api/runs/" + f.finished + "/log?lines=" + std::to_string(lines));
    REQUIRE(tail);
    INFO(lines);
    CHECK(count_of(tail->body, "\"step ") == lines - 1);
    if (lines > 1) CHECK(contains(tail->body, "\"step " + std::to_string(30001 - lines) + " loss"));
    CHECK_FALSE(contains(tail->body, "\"step " + std::to_string(30000 - lines) + " loss"));
    CHECK(contains(tail->body, "\"the end\"]}"));
  }

  auto sweeps = c.Get("/api/sweeps");
  REQUIRE(sweeps);
  CHECK(contains(sweeps->body, "\"name\": \"lr-sweep\""));
  CHECK(contains(sweeps->body, "\"best\": 0.2"));
  auto sweep = c.Get("/api/sweeps/" + f.sweep_id);
  REQUIRE(sweep);
  CHECK(sweep->status == 200);
  CHECK(contains(sweep->body, "\"best_trial\": 1"));
  // Best first: trial 1 (0.2) before trial 0 (0.4); the failed one keeps its reason.
  CHECK(sweep->body.find("\"number\": 1") < sweep->body.find("\"number\": 0"));
  CHECK(contains(sweep->body, "diverged: loss is nan"));
  CHECK(contains(sweep->body, "\"optimizer.lr\": \"0.02\""));

  for (const char* missing :
       {"/api/runs/zzzzzz", "/api/sweeps/zzzzzz", "/api/nothing", "/api/runs/last/nothing"}) {
    auto r = c.Get(missing);
    REQUIRE(r);
    INFO(missing);
    CHECK(r->status == 404);
    CHECK(contains(r->body, "\"error\""));
  }
}

TEST_CASE(
    "on PostgreSQL the server holds one connection for all its request threads, and answers "
    "again after the server restarts",
    "[ui][api][postgresql]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  Fixture f("postgresql");  // its writer's connection is closed once it is built
  // postgresql://postgres@/NAME?host=DIR
  const auto at = f.store_path.find("@/") + 2;
  const std::string database = f.store_path.substr(at, f.store_path.find('?') - at);
  const auto connections = [&] {
    auto r = test_support::postgres_sql(
        database,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'fabric-exp'");
    REQUIRE(r.exit_code == 0);
    return std::stoi(r.output);
  };
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  // 8 clients at once, 5 requests each, on the server's request threads.
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      auto c = served.client();
      for (int i = 0; i < 5; ++i) {
        auto r = c.Get(t % 2 ? "/api/runs" : "/api/runs/" + f.finished + "/series?max_points=100");
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(ok == 40);
  // Held between requests, and only one: a connection per request would have closed by now.
  CHECK(connections() == 1);
  // pg_ctl stop -m fast cuts it: the next request reconnects.
  test_support::restart_postgres();
  auto c = served.client();
  auto runs = c.Get("/api/runs");
  REQUIRE(runs);
  CHECK(runs->status == 200);
  CHECK(contains(runs->body, f.finished));
  CHECK(connections() == 1);
}

TEST_CASE("artifacts: only registered files, by index; traversal and garbage get a 4xx",
          "[ui][security]") {
  Fixture f;
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();
  auto ok = c.Get("/api/runs/" + f.finished + "/artifacts/0");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "checkpoint bytes");
  CHECK(contains(ok->get_header_value("Content-Disposition"), "last.ckpt"));
  for (const std::string& path : std::vector<std::string>{
           "/api/runs/" + f.finished + "/artifacts/1", "/api/runs/" + f.finished + "/artifacts/-1",
           "/api/runs/" + f.finished + "/artifacts/..%2F..%2Fstore.db",
           "/api/runs/" + f.finished + "/artifacts/../../../etc/passwd", "/static/../store.db",
           "/static/..%2F..%2Fetc%2Fpasswd", "/../../etc/passwd"}) {
    auto r = c.Get(path);
    INFO(path);
    if (!r) continue;  // refused by the HTTP layer
    CHECK(r->status >= 400);
    CHECK(r->status < 500);
    CHECK_FALSE(contains(r->body, "root:"));
    CHECK_FALSE(contains(r->body, "SQLite format"));
  }
  // Writes are refused: the server is read-only.
  auto post = c.Post("/api/runs", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 405);
  // Garbage on the socket: a 400, and the server still answers afterwards.
  {
    httplib::Client raw("127.0.0.1", served.server.port());
    auto r = raw.Get(std::string("/api/runs?where=") + "%ZZ%");
    REQUIRE(r);
    CHECK(r->status < 500);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(served.server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string garbage = "\x01\x02 NOT HTTP AT ALL\r\n\r\n";
  CHECK(::write(fd, garbage.data(), garbage.size()) == ssize_t(garbage.size()));
  char buffer[256] = {};
  const auto got = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  CHECK((got <= 0 || contains(buffer, "400")));
  auto after = c.Get("/api/runs");
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("pages: one embedded app, escaped by construction, with a strict CSP", "[ui][security]") {
  Fixture f;
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();
  for (const std::string& page : std::vector<std::string>{
           "/", "/run/" + f.finished, "/compare?runs=a,b", "/sweeps", "/sweep/" + f.sweep_id}) {
    auto r = c.Get(page);
    REQUIRE(r);
    INFO(page);
    CHECK(r->status == 200);
    CHECK(contains(r->body, "/static/app.js"));
    // The page carries no store data: a run's name cannot become markup on the server.
    CHECK_FALSE(contains(r->body, "onerror"));
    CHECK(contains(r->get_header_value("Content-Security-Policy"), "script-src 'self'"));
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
  }
  // Every script the page loads writes store strings as text nodes, never as markup.
  auto page = c.Get("/");
  REQUIRE(page);
  std::vector<std::string> scripts;
  for (size_t at = 0; (at = page->body.find("<script src=\"/static/", at)) != std::string::npos;) {
    at += std::string("<script src=\"").size();
    scripts.push_back(page->body.substr(at, page->body.find('"', at) - at));
  }
  CHECK(scripts.size() >= 2);
  for (const auto& script : scripts) {
    INFO(script);
    auto js = c.Get(script);
    REQUIRE(js);
    CHECK(js->status == 200);
    CHECK(contains(js->get_header_value("Content-Type"), "javascript"));
    CHECK_FALSE(contains(js->body, "innerHTML"));
    CHECK_FALSE(contains(js->body, "insertAdjacentHTML"));
  }
  auto missing = c.Get("/nosuchpage");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  // A request for another host name (DNS rebinding) is refused without a token.
  httplib::Headers rebinding{{"Host", "evil.example:" + std::to_string(served.server.port())}};
  auto rebound = c.Get("/api/runs", rebinding);
  REQUIRE(rebound);
  CHECK(rebound->status == 403);
}

TEST_CASE("a token is required on every request when one is set", "[ui][security]") {
  Fixture f;
  CHECK_THROWS_WITH(fabric::ui::UiServer({f.store_path, "0.0.0.0", 0, "", {}}),
                    Catch::Contains("needs an access token"));
  CHECK(fabric::ui::is_loopback("127.0.0.1"));
  CHECK_FALSE(fabric::ui::is_loopback("127.evil.example"));
  CHECK_FALSE(fabric::ui::is_loopback("0.0.0.0"));
  const std::string token = fabric::ui::new_token();
  CHECK(token.size() == 32);
  CHECK(token != fabric::ui::new_token());
  Served served({f.store_path, "0.0.0.0", 0, token, {}});
  auto c = served.client();
  for (const std::string& path :
       std::vector<std::string>{"/", "/api/runs", "/static/app.js", "/api/runs/" + f.finished}) {
    auto r = c.Get(path);
    REQUIRE(r);
    INFO(path);
    CHECK(r->status == 401);
    CHECK_FALSE(contains(r->body, f.finished));
  }
  auto wrong = c.Get("/api/runs?token=" + std::string(32, 'a'));
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto by_query = c.Get("/?token=" + token);
  REQUIRE(by_query);
  CHECK(by_query->status == 200);
  const std::string cookie = by_query->get_header_value("Set-Cookie");
  CHECK(contains(cookie, "HttpOnly"));
  CHECK(contains(cookie, "SameSite=Strict"));
  auto by_header = c.Get("/api/runs", {{"Authorization", "Bearer " + token}});
  REQUIRE(by_header);
  CHECK(by_header->status == 200);
  auto by_cookie = c.Get("/api/runs", {{"Cookie", "fabric_exp_token=" + token}});
  REQUIRE(by_cookie);
  CHECK(by_cookie->status == 200);
}

TEST_CASE("fabric-exp ui: the binary prints its address, serves, and stops on SIGTERM",
          "[ui][e2e]") {
  Fixture f;
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    const std::string binary = (test_support::exe_dir() / "../src/fabric-exp").string();
    ::execl(binary.c_str(), binary.c_str(), "ui", "--port", "0", "--host", "0.0.0.0", "--store",
            f.store_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char ch = 0;
  while (::read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  INFO(line);
  // A non-loopback host: a token is generated and printed in the address.
  const auto at = line.find("http://0.0.0.0:");
  REQUIRE(at != std::string::npos);
  const int port = std::stoi(line.substr(at + 15));
  const auto token_at = line.find("?token=");
  REQUIRE(token_at != std::string::npos);
  const std::string token = line.substr(token_at + 7, 32);
  httplib::Client c("127.0.0.1", port);
  auto refused = c.Get("/api/runs");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  auto runs = c.Get("/api/runs?token=" + token);
  REQUIRE(runs);
  CHECK(runs->status == 200);
  CHECK(contains(runs->body, f.finished));
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("fabric-exp ui: a missing store and a taken port are errors that say so", "[ui][e2e]") {
  TempDir dir;
  const std::string binary = (test_support::exe_dir() / "../src/fabric-exp").string();
  auto missing = test_support::run_command(binary + " ui --port 0 --store " + dir.str("none.db"));
  CHECK(missing.exit_code != 0);
  CHECK(contains(missing.output, "none.db"));
  Fixture f;
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto taken = test_support::run_command(binary + " ui --store " + f.store_path + " --port " +
                                         std::to_string(served.server.port()));
  CHECK(taken.exit_code != 0);
  CHECK(
      contains(taken.output, "cannot listen on 127.0.0.1:" + std::to_string(served.server.port())));
}

namespace {

/// Debian's chromium, headless (as root it needs --no-sandbox), or "" when not installed.
std::string chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  return "";
}

/// The page at `url` as the browser's DOM after its scripts ran for `virtual_ms` of virtual
/// time (fetches are real); with `screenshot`, also a PNG of it.
std::string browse(const std::string& url, int virtual_ms, const std::string& screenshot = "") {
  TempDir profile;
  const std::string base = chromium() +
                           " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                           " --user-data-dir=" +
                           profile.str() + " --virtual-time-budget=" + std::to_string(virtual_ms) +
                           " --window-size=1280,1000 ";
  if (!screenshot.empty()) {
    test_support::run_command(base + "--screenshot=" + screenshot + " '" + url + "' 2>/dev/null");
  }
  return test_support::run_command(base + "--dump-dom '" + url + "' 2>/dev/null").output;
}

}  // namespace

TEST_CASE("a real browser draws the runs, run, compare and sweep pages, and a live update",
          "[ui][browser]") {
  if (chromium().empty()) FABRIC_SKIP("Debian's chromium is not installed");
  Fixture f;
  // The running run gets five new points when its page asks for it the second time (its first
  // live update), before that request is answered: the update must show them.
  std::atomic<int> asked{0};
  const std::string store_path = f.store_path, running = f.running;
  fabric::ui::UiOptions options{f.store_path, "127.0.0.1", 0, "", {}};
  options.on_request = [&](const std::string&, const std::string& path) {
    if (path != "/api/runs/" + running || ++asked != 2) return;
    fabric::store::RunStore s(store_path);
    std::vector<fabric::store::MetricPoint> more;
    for (int64_t step = 2; step <= 6; ++step)
      more.push_back({"train/loss", step, 0, 1.0 / double(step), 0});
    s.log_metrics(running, more);
  };
  Served served(options);
  const std::string root = "http://127.0.0.1:" + std::to_string(served.server.port());
  const fs::path shots = test_support::exe_dir() / "../ui-screenshots";
  fs::create_directories(shots);

  SECTION("runs: a row per run, the hostile name as text, a filter error at its column") {
    const std::string dom = browse(root + "/", 3000, (shots / "runs.png").string());
    CHECK(count_of(dom, "<tr data-run=") == 2);
    CHECK(contains(dom, f.finished));
    CHECK(contains(dom, "&lt;img src=x onerror="));  // shown as text, not run
    CHECK_FALSE(contains(dom, "<img src=x"));
    const std::string bad = browse(root + "/?where=status%20%3D%20%3D%201", 3000);
    CHECK(contains(bad, "id=\"filter-error\""));
    CHECK(contains(bad, "^"));
    CHECK(count_of(bad, "<tr data-run=") == 0);
  }
  SECTION("run: a drawn curve of the downsampled metric, its recipe and log") {
    const std::string dom = browse(root + "/run/" + f.finished, 3000, (shots / "run.png").string());
    CHECK(contains(dom, "data-metric=\"train/loss\""));
    CHECK(contains(dom, "class=\"curve\" data-points=\"2000\""));  // LTTB, from 100,000
    // The process's own figures in their section, not among the training curves.
    const size_t system = dom.find("id=\"system-charts\"");
    REQUIRE(system != std::string::npos);
    CHECK(dom.find("data-metric=\"sys/rss_mib\"") > system);
    CHECK(dom.find("data-metric=\"train/loss\"") < system);
    CHECK(contains(dom, "line three"));
    CHECK(contains(dom, "hidden = [64]"));
  }
  SECTION("a running run updates itself with the points logged since it was opened") {
    const std::string dom = browse(root + "/run/" + f.running, 5000);
    CHECK(asked >= 2);
    CHECK(contains(dom, "data-updates=\""));
    CHECK(contains(dom, "class=\"curve\" data-points=\"6\""));
  }
  SECTION("compare: both runs' curves in one chart with a legend, and the differing params") {
    const std::string dom = browse(root + "/compare?runs=" + f.finished + "," + f.running, 3000,
                                   (shots / "compare.png").string());
    CHECK(count_of(dom, "class=\"curve\"") >= 2);
    CHECK(contains(dom, "optimizer.lr"));
    CHECK(contains(dom, "0.02"));
  }
  SECTION("sweep: trials best first, the failed one's reason, the charts") {
    const std::string dom =
        browse(root + "/sweep/" + f.sweep_id, 3000, (shots / "sweep.png").string());
    CHECK(contains(dom, "diverged: loss is nan"));
    CHECK(dom.find("data-trial=\"1\"") < dom.find("data-trial=\"0\""));
    CHECK(contains(dom, "id=\"parallel\""));
    CHECK(count_of(dom, "class=\"point\"") >= 3);
    const std::string list = browse(root + "/sweeps", 3000, (shots / "sweeps.png").string());
    CHECK(contains(list, "lr-sweep"));
  }
}
