// SIGINT and SIGTERM as a request to stop cleanly: the handler only records the signal, and the
// loop (a training loop, the sweep controller) decides when to stop. Header-only, so that code
// without the Fabric library (the sweep controller) shares it.
#pragma once

#include <csignal>

#include <atomic>

namespace fabric {

/// The last SIGINT/SIGTERM received after install_stop_signal_handlers(), or 0.
inline std::atomic<int>& stop_signal() {
  static std::atomic<int> received{0};
  return received;
}

inline void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int sig) { stop_signal().store(sig); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace fabric
