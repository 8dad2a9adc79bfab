// `fabric-exp ui` under attack, over loopback: what a client on the same host or network can
// send (filters too deep or too large, bytes that are not UTF-8, artifact rows that point out of
// their run, connections that never finish their headers), and a fuzz of a few thousand
// generated requests to the real binary. Each answer is a well-formed 2xx/4xx with no SQL in it,
// and the server keeps answering others, within bounded memory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "ui/ui_fixture.hpp"

namespace fs = std::filesystem;
using test_support::TempDir;
using ui_test::contains;
using ui_test::Fixture;
using ui_test::Served;

namespace {

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// What no answer may contain: the SQL a store built, or a database's own error text.
bool holds_sql(const std::string& body) {
  for (const char* word : {"SELECT", "select ", "FROM runs", "WHERE ", "ORDER BY", "syntax error",
                           "sqlite", "LINE 1", "parser stack"})
    if (contains(body, word)) return true;
  return false;
}

/// A 4xx whose body is a JSON object with an "error", and no SQL.
void check_refused(const httplib::Result& r, const std::string& what) {
  INFO(what.substr(0, 200));
  REQUIRE(r);
  INFO(r->status << " " << r->body.substr(0, 400));
  CHECK(r->status >= 400);
  CHECK(r->status < 500);
  CHECK(nlohmann::json::accept(r->body));
  CHECK(contains(r->body, "\"error\""));
  CHECK_FALSE(holds_sql(r->body));
}

std::string repeat(const std::string& part, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += part;
  return out;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends what it can of `text` without blocking for long (the server may have closed).
bool send_all(int fd, const std::string& text) {
  size_t sent = 0;
  while (sent < text.size()) {
    const auto n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += size_t(n);
  }
  return true;
}

/// What the server sent before closing, or within `seconds`.
std::string read_answer(int fd, double seconds) {
  timeval tv{long(seconds), long((seconds - long(seconds)) * 1e6)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, size_t(n));
  return out;
}

/// The real `fabric-exp ui` on a free loopback port, stopped by SIGTERM at the end.
struct UiProcess {
  pid_t pid = -1;
  int port = 0;
  explicit UiProcess(const std::string& store) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      const std::string binary = (test_support::exe_dir() / "../src/fabric-exp").string();
      ::execl(binary.c_str(), binary.c_str(), "ui", "--port", "0", "--store", store.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char ch = 0;
    while (::read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    ::close(out[0]);
    INFO(line);
    const auto at = line.find("http://127.0.0.1:");
    REQUIRE(at != std::string::npos);
    port = std::stoi(line.substr(at + 17));
  }
  ~UiProcess() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  bool alive() const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
  /// A field of /proc/<pid>/status in MiB (VmRSS now, VmHWM its peak).
  double memory_mib(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
    return -1;
  }
};

}  // namespace

TEST_CASE("filters too deep or too large answer 400 with the column, on both backends, no SQL",
          "[ui][security][attack]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();
  const std::string cond = "params.optimizer.lr = 0.01";
  // Within the request line cpp-httplib reads (8 KiB) and the length a filter may have (4 KiB),
  // so each reaches the parser: nesting, negation, conditions, order terms, list values.
  const std::vector<std::pair<std::string, std::string>> filters{
      {"where", repeat("(", 40) + cond + repeat(")", 40)},
      {"where", repeat("not ", 40) + cond},
      {"where", cond + repeat(" or " + cond, 80)},
      {"where", "name in (" + repeat("'x', ", 300) + "'y')"},
      {"order_by", "created_at" + repeat(", params.optimizer.lr desc", 20)},
  };
  for (const auto& [key, value] : filters) {
    auto r = c.Get("/api/runs?" + key + "=" + url_encode(value));
    check_refused(r, key + "=" + value);
    CHECK(contains(r->body, "\"column\": "));
  }
  // Longer than a filter may be, or than the request line: refused whole, by us or by
  // cpp-httplib (which closes without an answer past 8 KiB).
  for (const std::string& value : std::vector<std::string>{repeat("(", 8100), repeat("not ", 30000),
                                                           cond + repeat(" or " + cond, 500)}) {
    auto r = c.Get("/api/runs?where=" + url_encode(value));
    if (r) check_refused(r, value);
  }
  auto still = c.Get("/api/runs");
  REQUIRE(still);
  CHECK(still->status == 200);
  CHECK(contains(still->body, f.finished));
}

TEST_CASE("bytes that are not UTF-8, and a NUL, are refused alike on both backends",
          "[ui][security][attack]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();
  for (const std::string& path : std::vector<std::string>{
           "/api/runs/%FF", "/api/runs/%C3%28", "/api/runs/" + f.finished + "%00junk",
           "/api/runs/" + f.finished + "%00", "/api/runs?where=" + url_encode("name = '\xff'"),
           "/api/runs?where=" + url_encode(std::string("name = 'a\0b'", 12)),
           "/api/runs/" + f.finished + "/series?keys=" + url_encode("train/loss\xc0"),
           "/api/sweeps/%ED%A0%80", "/api/runs?order_by=%01name"}) {
    check_refused(c.Get(path), path);
  }
  // A stored value that is not UTF-8 (SQLite keeps what another tool wrote; PostgreSQL refuses
  // it) reads back as valid JSON.
  if (backend == "sqlite")
    fabric::store::RunStore(f.store_path).set_tag(f.finished, "bad", "\xff\xfe");
  auto run = c.Get("/api/runs/" + f.finished);
  REQUIRE(run);
  CHECK(run->status == 200);
  CHECK(nlohmann::json::accept(run->body));
}

TEST_CASE("artifact rows that point out of their run's folder are refused and never served",
          "[ui][security][attack]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  Fixture f(backend);
  const std::string secret = f.dir.str("secret.txt");
  std::ofstream(secret) << "top secret";
  fabric::store::RunStore s(f.store_path);
  const std::string run_dir = s.get(f.finished)->run_dir;
  fs::create_symlink(secret, run_dir + "/link.txt");
  fs::create_directories(run_dir + "/sub");
  const std::vector<std::string> escapes{secret,
                                         run_dir + "/../../secret.txt",
                                         run_dir + "/sub/../../../secret.txt",
                                         run_dir + "/link.txt",
                                         "/etc/passwd",
                                         "/proc/self/environ"};
  // The store refuses to register them ...
  for (const auto& path : escapes) {
    INFO(path);
    CHECK_THROWS_WITH(s.add_artifact(f.finished, path, "checkpoint"),
                      Catch::Contains("is not inside run"));
  }
  // ... and the server refuses rows written by another tool, or merged in from another store.
  for (const auto& path : escapes) {
    std::string quoted = "'";  // the run folder's name holds the fixture's hostile quotes
    for (char ch : path) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    const std::string sql = "INSERT INTO artifacts (run_id, path, kind) VALUES ('" + f.finished +
                            "', " + quoted + "', 'checkpoint');";
    if (backend == "sqlite") {
      std::ofstream(f.dir.str("insert.sql")) << sql << "\n";
      auto r = test_support::run_command("sqlite3 '" + f.store_path + "' < '" +
                                         f.dir.str("insert.sql") + "'");
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
    } else {
      const std::string url = f.store_path.substr(0, f.store_path.find('?'));
      const std::string db = url.substr(url.rfind('/') + 1);
      auto r = test_support::postgres_sql(db, sql);
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
    }
  }
  Served served({f.store_path, "127.0.0.1", 0, "", {}});
  auto c = served.client();
  int served_files = 0;
  for (size_t n = 0; n < escapes.size() + 1; ++n) {
    auto r = c.Get("/api/runs/" + f.finished + "/artifacts/" + std::to_string(n));
    REQUIRE(r);
    INFO(n << ": " << r->status << " " << r->body.substr(0, 200));
    CHECK_FALSE(contains(r->body, "top secret"));
    CHECK_FALSE(contains(r->body, "root:"));
    CHECK(r->status != 500);
    if (r->status == 200) {
      ++served_files;
      CHECK(r->body == "checkpoint bytes");  // the one inside the run's folder
    } else {
      check_refused(r, "artifact " + std::to_string(n));
    }
  }
  CHECK(served_files == 1);
}

TEST_CASE("connections that never finish their headers are cut; the server answers others",
          "[ui][security][attack]") {
  Fixture f;
  UiProcess ui(f.store_path);
  const double rss_before = ui.memory_mib("VmRSS");
  // 16 slow clients, each a header line every 2 s (slowloris) ...
  std::vector<int> slow;
  for (int i = 0; i < 16; ++i) {
    int fd = connect_to(ui.port);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    slow.push_back(fd);
  }
  // ... and one whose headers never end, sent as fast as the server reads.
  int endless = connect_to(ui.port);
  REQUIRE(endless >= 0);
  const int small = 16 * 1024;  // little in flight: what was sent is about what the server read
  ::setsockopt(endless, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  send_all(endless, "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  size_t sent = 0;
  const std::string line = "X-Filler: " + std::string(100, 'a') + "\r\n";
  char peek;
  while (sent < (64u << 20) && ::recv(endless, &peek, 1, MSG_DONTWAIT | MSG_PEEK) < 0 &&
         send_all(endless, line))
    sent += line.size();
  const std::string endless_answer = read_answer(endless, 5);
  ::close(endless);
  INFO("sent " << sent << " bytes of headers; answer: " << endless_answer.substr(0, 100));
  CHECK(sent < (1u << 20));  // cut after its first 16 KiB, not after 64 MiB
  CHECK(contains(endless_answer, "431"));

  const auto started = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  bool cut = false;
  int answered = 0;
  while (since() < 20 && !cut) {
    // Others are answered while the slow ones dribble.
    httplib::Client c("127.0.0.1", ui.port);
    c.set_read_timeout(3, 0);
    auto r = c.Get("/api/runs");
    if (r && r->status == 200) ++answered;
    for (int fd : slow) send_all(fd, "X-Slow: 1\r\n");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    // The deadline of a whole request (10 s) cuts them: the server closes, 408 or not.
    cut = true;
    for (int fd : slow) {
      char byte;
      const auto n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) cut = false;
    }
  }
  const double seconds = since();
  for (int fd : slow) ::close(fd);
  CHECK(answered >= 3);
  CHECK(cut);
  CHECK(seconds < 18);
  CHECK(ui.alive());
  const double rss_after = ui.memory_mib("VmRSS");
  INFO("RSS " << rss_before << " MiB before, " << rss_after << " MiB after");
  CHECK(rss_after < rss_before + 64);
}

TEST_CASE("a few thousand generated requests: well-formed 2xx/4xx answers, alive, bounded memory",
          "[ui][security][attack][fuzz]") {
  Fixture f;
  UiProcess ui(f.store_path);
  std::mt19937 rng(20261207);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  auto number = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng);
  };
  const std::vector<std::string> segments{
      "api",    "runs",   "sweeps",    f.finished,   f.running, f.sweep_id, f.finished.substr(0, 4),
      "series", "log",    "artifacts", "0",          "1",       "-1",       "99999999999999999999",
      "static", "app.js", "app.css",   "index.html", "..",      ".",        "%2e%2e",
      "%2F",    "%FF",    "%00",       "%C3%28",     "%E2%82",  "run",      "compare",
      "sweep",  "last",   "'",         "\"",         "<x>"};
  const std::vector<std::string> keys{"where", "order_by",   "columns", "limit", "offset",
                                      "keys",  "max_points", "tail",    "token", "x"};
  const std::vector<std::string> words{"status",
                                       "=",
                                       "'finished'",
                                       "(",
                                       ")",
                                       "not",
                                       "and",
                                       "or",
                                       "params.optimizer.lr",
                                       "metrics.val/loss.min",
                                       "<",
                                       ">=",
                                       "like",
                                       "'%'",
                                       "in",
                                       ",",
                                       "desc",
                                       "created_at",
                                       "1e309",
                                       "-",
                                       "%FF",
                                       "%00",
                                       "'",
                                       "tags.team",
                                       "null",
                                       "is"};
  auto generated_value = [&] {
    switch (number(0, 4)) {
      case 0:
        return std::to_string(number(-5, 100000));
      case 1:
        return repeat("(", size_t(number(1, 200))) + "status = 'x'";
      case 2: {
        std::string bytes;
        for (int i = number(1, 40); i > 0; --i) bytes += char(number(1, 255));
        return url_encode(bytes);
      }
      default: {
        std::string text;
        for (int i = number(1, 60); i > 0; --i) text += pick(words) + " ";
        return url_encode(text);
      }
    }
  };
  const int requests = 3000;
  int by_class[6] = {};
  httplib::Client c("127.0.0.1", ui.port);
  c.set_read_timeout(10, 0);
  for (int i = 0; i < requests; ++i) {
    std::string path;
    for (int n = number(1, 5); n > 0; --n) path += "/" + pick(segments);
    if (number(0, 1)) {
      path += "?";
      for (int n = number(1, 3); n > 0; --n) path += pick(keys) + "=" + generated_value() + "&";
    }
    if (path.size() > 8000) path.resize(8000);
    httplib::Headers headers;
    if (i % 50 == 0) headers.emplace("X-Big", std::string(size_t(number(1000, 40000)), 'h'));
    if (i % 7 == 0) headers.emplace("Accept", std::string("\xff\xfe", 2));
    auto r = c.Get(path, headers);
    INFO(i << ": " << path.substr(0, 300));
    if (!r) {
      // Refused at the HTTP layer (an over-long line or head): the connection is closed; a
      // new one is answered.
      ++by_class[5];
      auto again = httplib::Client("127.0.0.1", ui.port).Get("/api/runs?limit=1");
      REQUIRE(again);
      CHECK(again->status == 200);
      continue;
    }
    INFO(r->status << " " << r->get_header_value("Content-Type") << " " << r->body.substr(0, 300));
    ++by_class[std::min(r->status / 100, 5)];
    CHECK(r->status >= 200);
    CHECK(r->status < 500);
    const std::string type = r->get_header_value("Content-Type");
    if (contains(type, "json")) {
      CHECK(nlohmann::json::accept(r->body));
      CHECK_FALSE(holds_sql(r->body));
    } else if (contains(type, "text/html")) {
      CHECK(contains(r->body, "<!doctype html>"));
    } else {
      CHECK((contains(type, "javascript") || contains(type, "css") ||
             contains(type, "octet-stream") || contains(type, "text/plain")));
    }
  }
  REQUIRE(ui.alive());
  const double peak = ui.memory_mib("VmHWM");
  std::cout << "fuzz: " << requests << " requests: " << by_class[2] << " 2xx, " << by_class[4]
            << " 4xx, " << by_class[5] << " closed by the HTTP layer; server peak RSS " << peak
            << " MiB\n";
  CHECK(peak < 256);
  CHECK(by_class[3] == 0);
}
