// Catch2 v2 runner for every test executable. A listener counts test cases as passed, failed or
// skipped (FABRIC_SKIP) and prints one machine-readable line that tools/run_tests sums up:
//   @@summary <executable> <passed> <failed> <skipped>
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "support/helpers.hpp"

namespace {
int g_passed = 0, g_failed = 0, g_skipped = 0;

struct CountingListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(Catch::TestCaseInfo const&) override { test_support::reset_skip(); }
  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    if (stats.totals.assertions.failed > 0) {
      ++g_failed;
    } else if (test_support::was_skipped()) {
      ++g_skipped;
      std::fprintf(stderr, "SKIPPED: %s: %s\n", stats.testInfo.name.c_str(),
                   test_support::skip_reason().c_str());
    } else {
      ++g_passed;
    }
  }
};
CATCH_REGISTER_LISTENER(CountingListener)
}  // namespace

int main(int argc, char** argv) {
  test_support::set_argv0(argv[0]);
  Catch::Session session;
  int rc = session.applyCommandLine(argc, argv);
  if (rc != 0) return rc;
  rc = session.run();
  std::string exe = argv[0];
  exe = exe.substr(exe.find_last_of('/') + 1);
  std::printf("@@summary %s %d %d %d\n", exe.c_str(), g_passed, g_failed, g_skipped);
  return rc;
}
