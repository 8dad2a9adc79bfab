// Cluster environments: who started the processes and where rank 0 listens (Lightning's
// LightningEnvironment, TorchElasticEnvironment, SLURMEnvironment; detected in that priority:
// torchelastic > SLURM > plain environment).
#pragma once

#include <string>

namespace fabric {

enum class EnvironmentKind { Lightning, TorchElastic, Slurm };

struct ClusterEnvironment {
  EnvironmentKind kind = EnvironmentKind::Lightning;
  /// True when a launcher outside fabric (torchrun, srun, or our own parent) made the processes.
  bool creates_processes_externally = false;
  std::string main_address = "127.0.0.1";
  int main_port = 0;
  /// -1 where the environment does not say (fabric then uses devices x num_nodes).
  int world_size = -1;
  int global_rank = -1;
  int local_rank = 0;
  int node_rank = 0;
  /// Processes on this node, where the environment says (-1 otherwise).
  int local_world_size = -1;

  std::string name() const;
};

/// Reads the environment variables of this process.
ClusterEnvironment detect_environment();

/// Checks devices x num_nodes against what the environment dictates; ValueError on a mismatch.
void validate_environment(const ClusterEnvironment& env, int devices, int num_nodes);

/// First host of a SLURM node list: "host[5-9]" -> "host5", "a,b" -> "a", "n[01-04,07]" -> "n01".
std::string slurm_first_host(const std::string& nodelist);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int find_free_port();

}  // namespace fabric
