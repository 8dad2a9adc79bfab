#include "fabric/launcher/subprocess_launcher.hpp"

#include <ATen/Parallel.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"

extern char** environ;

namespace fabric {

namespace {

struct Child {
  pid_t pid;
  int local_rank;
  bool done = false;
  int status = 0;  // exit code, or 128 + signal
};

// Shared with the detached watcher thread, which may still be running while static destructors
// run at exit: so this state is never destroyed (found by ASan as a use-after-free).
struct LauncherState {
  std::mutex mutex;
  std::vector<Child> children;
  std::atomic<bool> exiting{false};
};
LauncherState& state() {
  static LauncherState* s = new LauncherState;  // intentionally leaked: process lifetime
  return *s;
}

std::vector<std::string> own_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == '\0') {
      args.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  }
  return args;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void kill_all_children() {
  for (auto& c : state().children) {
    if (!c.done) ::kill(c.pid, SIGKILL);
  }
}

// Polls the children; a failed child takes the whole job down (Lightning's _ChildProcessObserver).
void watch_children() {
  while (!state().exiting.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> lock(state().mutex);
    for (auto& c : state().children) {
      if (c.done) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      c.done = true;
      c.status = decode(status);
      if (c.status != 0) {
        std::cerr << "fabric: local rank " << c.local_rank << " (pid " << c.pid
                  << ") exited with status " << c.status
                  << "; stopping the other processes of this job" << std::endl;
        kill_all_children();
        ::_exit(c.status);
      }
    }
  }
}

void wait_at_exit() {
  int status = wait_for_children();
  if (status != 0) ::_exit(status);
}

}  // namespace

int wait_for_children() {
  state().exiting = true;
  std::lock_guard<std::mutex> lock(state().mutex);
  int first_failure = 0;
  for (auto& c : state().children) {
    if (!c.done) {
      int status = 0;
      while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
      }
      c.done = true;
      c.status = decode(status);
    }
    if (c.status != 0 && first_failure == 0) {
      std::cerr << "fabric: local rank " << c.local_rank << " (pid " << c.pid
                << ") exited with status " << c.status << std::endl;
      first_failure = c.status;
    }
  }
  return first_failure;
}

int launch_subprocesses(const LaunchPlan& plan) {
  int port = plan.main_port > 0 ? plan.main_port : find_free_port();
  const int world = plan.num_processes * plan.num_nodes;
  ::setenv("MASTER_ADDR", plan.main_address.c_str(), 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  ::setenv("NODE_RANK", std::to_string(plan.node_rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  ::setenv("LOCAL_RANK", "0", 1);
  if (!std::getenv("OMP_NUM_THREADS")) {
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    int threads = std::max(1, int(cpus) / plan.num_processes);
    ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
    at::set_num_threads(threads);
  }
  if (plan.num_processes <= 1) return port;

  std::vector<std::string> args = own_argv();
  if (args.empty()) throw Error("cannot read /proc/self/cmdline to re-execute this program");
  const pid_t parent = ::getpid();
  for (int rank = 1; rank < plan.num_processes; ++rank) {
    // Everything the child needs is built before fork: only async-signal-safe calls after it.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "LOCAL_RANK=", 11) != 0) env_strings.emplace_back(*e);
    }
    env_strings.push_back("LOCAL_RANK=" + std::to_string(rank));
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);  // the parent died before prctl took effect
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    std::lock_guard<std::mutex> lock(state().mutex);
    state().children.push_back({pid, rank});
  }
  std::thread(watch_children).detach();
  std::atexit(wait_at_exit);
  return port;
}

}  // namespace fabric
