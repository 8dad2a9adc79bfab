#include "support/postgres_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace test_support {

namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// The newest installed server's bin folder, or "".
std::string server_bin() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin/initdb") && fs::exists(e.path() / "bin/pg_ctl"))
      found.push_back(e.path() / "bin");
  if (found.empty()) return "";
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename()) < std::stoi(b.parent_path().filename());
  });
  return found.back().string();
}

class Server {
 public:
  Server() {
    bin_ = server_bin();
    if (bin_.empty()) {
      problem_ = "no server installed (apt-get install postgresql)";
      return;
    }
    if (::geteuid() == 0) {
      if (!::getpwnam("postgres")) {
        problem_ = "running as root and there is no postgres user to run the server";
        return;
      }
      as_user_ = "runuser -u postgres -- ";
    }
    dir_ = fs::temp_directory_path() / ("fabric-pg-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (!as_user_.empty()) run_command("chown postgres " + quote(dir_.string()));
    auto init = run_command(as_user_ + bin_ + "/initdb -D " + quote((dir_ / "data").string()) +
                            " -U postgres --auth=trust -E UTF8 --no-sync 2>&1");
    if (init.exit_code != 0) {
      problem_ = "initdb failed: " + init.output.substr(0, 400);
      return;
    }
    start();
  }
  ~Server() {
    if (started_)
      run_command(as_user_ + bin_ + "/pg_ctl -D " + quote((dir_ / "data").string()) +
                  " -m immediate -w stop >/dev/null 2>&1");
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void start() {
    // fsync off: a test database need not survive a power cut, and it makes setup fast.
    auto up = run_command(as_user_ + bin_ + "/pg_ctl -D " + quote((dir_ / "data").string()) +
                          " -l " + quote((dir_ / "server.log").string()) + " -o " +
                          quote("-k " + dir_.string() +
                                " -c listen_addresses='' -c fsync=off -c max_connections=200") +
                          " -w -t 60 start 2>&1");
    started_ = up.exit_code == 0;
    if (!started_) problem_ = "pg_ctl start failed: " + up.output.substr(0, 400);
  }
  void restart(double down_seconds) {
    run_command(as_user_ + bin_ + "/pg_ctl -D " + quote((dir_ / "data").string()) +
                " -m fast -w stop >/dev/null 2>&1");
    std::this_thread::sleep_for(std::chrono::duration<double>(down_seconds));
    start();
  }

  const std::string& problem() const { return problem_; }
  std::string psql(const std::string& database) const {
    return bin_ + "/psql -X -q -At -h " + quote(dir_.string()) + " -U postgres -d " +
           quote(database);
  }
  std::string url(const std::string& database) const {
    return "postgresql://postgres@/" + database + "?host=" + dir_.string();
  }

 private:
  std::string bin_, as_user_, problem_;
  fs::path dir_;
  bool started_ = false;
};

Server& server() {
  static std::unique_ptr<Server> s = std::make_unique<Server>();
  return *s;
}

}  // namespace

std::string postgres_unavailable() {
  return server().problem();
}

CommandResult postgres_sql(const std::string& database, const std::string& sql) {
  return run_command(server().psql(database) + " -c " + quote(sql) + " 2>&1");
}

std::string fresh_postgres_database() {
  static std::atomic<int> counter{0};
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto made = postgres_sql("postgres", "CREATE DATABASE " + name);
  if (made.exit_code != 0) throw std::runtime_error("CREATE DATABASE failed: " + made.output);
  return server().url(name);
}

void restart_postgres(double down_seconds) {
  server().restart(down_seconds);
  if (!server().problem().empty()) throw std::runtime_error(server().problem());
}

std::string fresh_store(const std::string& backend, const TempDir& dir) {
  if (backend == "postgresql") return fresh_postgres_database();
  return dir.str("store.db");
}

}  // namespace test_support
