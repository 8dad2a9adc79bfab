// Lightning's subprocess script launcher: the running program becomes local rank 0 and starts
// N-1 copies of itself (same executable, same arguments) with LOCAL_RANK=1..N-1. A watcher thread
// stops the whole job within a fraction of a second when any child fails, naming the rank and its
// exit status; children die with the parent (PR_SET_PDEATHSIG), so nothing is orphaned.
#pragma once

#include <string>

#include "fabric/launcher/environment.hpp"

namespace fabric {

struct LaunchPlan {
  int num_processes = 1;  // on this node
  int num_nodes = 1;
  int node_rank = 0;
  std::string main_address = "127.0.0.1";
  int main_port = 0;  // 0: pick a free one
};

/// Sets MASTER_ADDR, MASTER_PORT, NODE_RANK, LOCAL_RANK=0 and WORLD_SIZE for this process,
/// divides CPU threads among the local processes when OMP_NUM_THREADS is unset, and starts the
/// children. Returns the port used.
int launch_subprocesses(const LaunchPlan& plan);

/// Waits for the children of launch_subprocesses; returns the first non-zero exit status (0 if
/// all succeeded, or if there were none). Called at exit by the parent.
int wait_for_children();

}  // namespace fabric
