// Runs whose process died: a live process's run is never reaped; this host's runs are judged by
// their process, other hosts' by their heartbeat (kStaleSeconds).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "common/time_text.hpp"
#include "store/run_store.hpp"
#include "store/sqlite.hpp"

namespace fabric::store {

namespace fs = std::filesystem;

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::optional<double> process_started_at(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Field 22, start time in clock ticks since boot, counted after "(command) ".
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  if (!fields) return std::nullopt;
  std::ifstream uptime_file("/proc/stat");
  double boot = 0;
  for (std::string key; uptime_file >> key;) {
    if (key == "btime") {
      uptime_file >> boot;
      break;
    }
  }
  if (boot <= 0) return std::nullopt;
  return boot + std::stod(field) / double(sysconf(_SC_CLK_TCK));
}

bool process_gone(int64_t pid) {
  if (pid <= 0) return false;
  if (kill(pid_t(pid), 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');  // the state follows "(command) "
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

int RunStore::reap_stale(double timeout) {
  if (read_only_) return 0;  // an archive on a read-only mount is shown as it is
  const std::string host = hostname();
  std::vector<std::pair<std::string, std::string>> dead;  // id, why
  {
    auto st = db_->prepare("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'");
    const double cutoff = db_->now() - timeout;
    while (st.step()) {
      const int64_t pid = st.integer(2);
      const double beat = st.real(3);
      const std::string when = utc_time_text(beat);
      if (st.text(1) == host && pid > 0) {
        // This host's own runs: the process tells, whatever the heartbeat (a writer waiting
        // for its server to come back beats nothing meanwhile). A pid taken by a process that
        // started after the run's last beat is another process; a minute of slack for the
        // store's clock, which may be another machine's.
        const auto started = process_started_at(pid);
        if (process_gone(pid) || (started && *started > beat + 60)) {
          dead.emplace_back(st.text(0), "process " + std::to_string(pid) +
                                            " is gone; no heartbeat since " + when);
        }
      } else if (beat < cutoff) {
        dead.emplace_back(st.text(0), std::string("no heartbeat since ") + when);
      }
    }
  }
  if (dead.empty()) return 0;
  db_->transaction([&] {
    auto st = db_->prepare(
        "UPDATE runs SET status = 'failed', ended_at = heartbeat_at, error = ? "
        "WHERE id = ? AND status = 'running'");
    for (const auto& [id, why] : dead) {
      st.bind_all({why, id});
      st.run();
    }
  });
  return int(dead.size());
}

bool RunStore::revive_if_reaped(const std::string& id) {
  // Reaped rows are the only failed ones without an exit code; host and pid say it is ours.
  auto st = db_->prepare(
      "UPDATE runs SET status = 'running', ended_at = NULL, heartbeat_at = ?, error = NULL "
      "WHERE id = ? AND status = 'failed' AND exit_code IS NULL AND host = ? AND pid = ? "
      "RETURNING id");
  st.bind_all({db_->now(), id, hostname(), int64_t(getpid())});
  if (!st.step()) return false;
  std::cerr << "fabric-exp: warning: run " << id
            << " had been marked failed by another process while this one was alive (no "
               "heartbeat for over "
            << int(kStaleSeconds) << " s: the store was out of reach); it runs again\n";
  return true;
}

}  // namespace fabric::store
