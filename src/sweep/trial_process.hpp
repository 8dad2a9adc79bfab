// A sweep's trials as child processes of its controller: how one is started, and what its output
// says when it fails.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace fabric::sweep {

/// Starts `fabric-exp sweep trial ID N --store S` with its output in `log`. The child leads its
/// own process group (a Ctrl-C reaches the controller, which stops trials cleanly) and gets
/// SIGTERM if the controller dies, so it checkpoints and records itself as killed. A store URL
/// travels in FABRIC_EXP_STORE rather than on the command line, where `ps` would show its
/// password.
pid_t spawn_trial(const std::string& sweep_id, int64_t number, const std::string& store,
                  const std::string& log);
/// The last lines of a trial's output that say what went wrong.
std::string log_tail(const std::string& path);

}  // namespace fabric::sweep
