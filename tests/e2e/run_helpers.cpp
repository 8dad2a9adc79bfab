#include "e2e/run_helpers.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "install_paths.hpp"
#include "support/postgres_server.hpp"

namespace e2e {

namespace {
std::map<std::string, std::string>& stores() {  // folder -> store location, where not store.db
  static std::map<std::string, std::string> s;
  return s;
}
}  // namespace

void use_store_backend(const test_support::TempDir& dir, const std::string& backend) {
  stores()[dir.str()] = test_support::fresh_store(backend, dir);
}

std::string store_location(const test_support::TempDir& dir) {
  auto it = stores().find(dir.str());
  return it == stores().end() ? dir.str("store.db") : it->second;
}

std::string binary() {
  return (test_support::exe_dir().parent_path() / "src/fabric-exp").string();
}

std::string readme_binary() {
  const std::filesystem::path installed = FABRIC_INSTALLED_BINARY;
  std::error_code ec;
  if (!std::filesystem::exists(installed, ec)) {
    WARN("no installed " << installed.string() << ": the README's commands run " << binary());
    return binary();
  }
  for (const char* name : {"fabric-exp", "fabric-exp-train"}) {
    const auto built = test_support::exe_dir().parent_path() / "src" / name;
    const auto copy = installed.parent_path() / name;
    INFO(copy.string() << " is older than " << built.string()
                       << ": reinstall it (meson install -C build --tags runtime, as "
                          "tools/run_tests does) or remove it");
    REQUIRE(std::filesystem::last_write_time(copy, ec) >= std::filesystem::last_write_time(built));
  }
  return installed.string();
}

std::string recipe(const std::string& name) {
  return std::string(FABRIC_SOURCE_DIR) + "/recipes/" + name;
}

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

test_support::CommandResult fabric_exp(const test_support::TempDir& dir, const std::string& args,
                                       const std::string& shell_prefix) {
  return test_support::run_command("cd " + q(dir.str()) + " && " + shell_prefix +
                                   "FABRIC_EXP_STORE=" + q(store_location(dir)) + " " +
                                   q(binary()) + " " + args);
}

int signal_when(const test_support::TempDir& dir, const std::string& args,
                const std::string& pattern, double delay, int sig) {
  std::ofstream(dir.str("signal.sh"))
      << "cd " << q(dir.str()) << "\nexport FABRIC_EXP_STORE=" << q(store_location(dir)) << "\n"
      << q(binary()) << " " << args << " > out.txt 2>&1 &\npid=$!\n"
      << "for i in $(seq 1 3000); do\n"
      << "  grep -Eq " << q(pattern) << " out.txt 2>/dev/null && break; sleep 0.01\n"
      << "done\n"
      << "sleep " << delay << "\nkill -" << sig << " $pid\nwait $pid\necho \"exit=$?\"\n";
  auto r = test_support::run_command("bash " + q(dir.str("signal.sh")));
  auto pos = r.output.rfind("exit=");
  return pos == std::string::npos ? -1 : std::stoi(r.output.substr(pos + 5));
}

std::vector<std::vector<std::string>> query(const test_support::TempDir& dir,
                                            const std::string& sql) {
  auto db = fabric::store::open_database(store_location(dir), /*read_only=*/true);
  auto st = db->prepare(sql);
  std::vector<std::vector<std::string>> rows;
  while (st.step()) {
    rows.emplace_back();
    for (int i = 0; i < st.columns(); ++i) rows.back().push_back(st.text(i));
  }
  return rows;
}

void exec_sql(const test_support::TempDir& dir, const std::string& sql) {
  fabric::store::open_database(store_location(dir))->exec(sql);
}

bool wait_until(const std::function<bool()>& done, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {  // the store is not there yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool wait_for(const test_support::TempDir& dir, const std::string& sql, double seconds) {
  const std::string store = store_location(dir);
  return wait_until(
      [&] {
        if (!fabric::store::is_store_url(store) && !std::filesystem::exists(store)) return false;
        const std::string v = query_one(dir, sql);
        return !v.empty() && v != "0";
      },
      seconds);
}

std::string query_one(const test_support::TempDir& dir, const std::string& sql) {
  auto rows = query(dir, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

}  // namespace e2e
