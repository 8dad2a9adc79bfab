#include "fabric/launcher/environment.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "common/log.hpp"

namespace fabric {

namespace {
const char* env(const char* name) {
  return std::getenv(name);
}
int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (!v || !*v) return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    throw ValueError(std::string("environment variable ") + name + "='" + v +
                     "' is not an integer");
  }
}
}  // namespace

std::string ClusterEnvironment::name() const {
  switch (kind) {
    case EnvironmentKind::TorchElastic:
      return "torchelastic";
    case EnvironmentKind::Slurm:
      return "slurm";
    default:
      return "lightning";
  }
}

std::string slurm_first_host(const std::string& nodelist) {
  std::string first = nodelist.substr(0, nodelist.find_first_of(", "));
  // A comma inside brackets belongs to the range: "n[01-04,07]".
  size_t bracket = nodelist.find('[');
  if (bracket != std::string::npos && bracket < nodelist.find_first_of(", ")) {
    std::string prefix = nodelist.substr(0, bracket);
    std::string range = nodelist.substr(bracket + 1, nodelist.find(']') - bracket - 1);
    std::string head = range.substr(0, range.find_first_of(",-"));
    return prefix + head;
  }
  return first;
}

int find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw Error("cannot bind a socket to find a free port");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

ClusterEnvironment detect_environment() {
  ClusterEnvironment e;
  const char* job_name = env("SLURM_JOB_NAME");
  bool slurm =
      env("SLURM_NTASKS") &&
      !(job_name && (std::string(job_name) == "bash" || std::string(job_name) == "interactive"));
  if (env("TORCHELASTIC_RUN_ID")) {
    e.kind = EnvironmentKind::TorchElastic;
    e.creates_processes_externally = true;
    e.world_size = env_int("WORLD_SIZE", 1);
    e.global_rank = env_int("RANK", 0);
    e.local_rank = env_int("LOCAL_RANK", 0);
    e.node_rank = env_int("GROUP_RANK", 0);
    e.local_world_size = env_int("LOCAL_WORLD_SIZE", -1);
    if (!env("MASTER_ADDR"))
      warn("MASTER_ADDR environment variable is not defined. Set as localhost");
    e.main_address = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
    if (!env("MASTER_PORT")) warn("MASTER_PORT environment variable is not defined. Set as 12910");
    e.main_port = env_int("MASTER_PORT", 12910);
  } else if (slurm) {
    e.kind = EnvironmentKind::Slurm;
    e.creates_processes_externally = true;
    e.world_size = env_int("SLURM_NTASKS", 1);
    e.global_rank = env_int("SLURM_PROCID", 0);
    e.local_rank = env_int("SLURM_LOCALID", 0);
    e.node_rank = env_int("SLURM_NODEID", 0);
    e.local_world_size = env_int("SLURM_NTASKS_PER_NODE", -1);
    if (env("MASTER_ADDR")) {
      e.main_address = env("MASTER_ADDR");
    } else if (env("SLURM_NODELIST")) {
      e.main_address = slurm_first_host(env("SLURM_NODELIST"));
    }
    if (env("MASTER_PORT")) {
      e.main_port = env_int("MASTER_PORT", 0);
    } else if (const char* job = env("SLURM_JOB_ID")) {
      std::string id = job;
      e.main_port = 15000 + std::stoi(id.size() > 4 ? id.substr(id.size() - 4) : id);
    } else {
      e.main_port = 12910;
    }
  } else {
    e.kind = EnvironmentKind::Lightning;
    e.creates_processes_externally = env("LOCAL_RANK") != nullptr;
    e.local_rank = env_int("LOCAL_RANK", 0);
    e.node_rank = env("NODE_RANK") ? env_int("NODE_RANK", 0) : env_int("GROUP_RANK", 0);
    if (env("WORLD_SIZE") && e.creates_processes_externally)
      e.world_size = env_int("WORLD_SIZE", -1);
    e.main_address = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
    e.main_port = env_int("MASTER_PORT", 0);  // 0: chosen by the launcher
  }
  return e;
}

void validate_environment(const ClusterEnvironment& e, int devices, int num_nodes) {
  if (e.kind == EnvironmentKind::Slurm) {
    int per_node = e.local_world_size;
    if (e.world_size > 1 && per_node < 0) {
      throw ValueError(
          "You set `SLURM_NTASKS=" + std::to_string(e.world_size) +
          "` but not `SLURM_NTASKS_PER_NODE`: run the job with srun --ntasks-per-node.");
    }
    if (per_node >= 0 && per_node != devices) {
      throw ValueError("You set `devices=" + std::to_string(devices) +
                       "` in Fabric, but SLURM has " + std::to_string(per_node) +
                       " tasks per node (SLURM_NTASKS_PER_NODE): these must match.");
    }
    int nnodes = env_int("SLURM_NNODES", num_nodes);
    if (nnodes != num_nodes) {
      throw ValueError("You set `num_nodes=" + std::to_string(num_nodes) +
                       "` in Fabric, but SLURM has " + std::to_string(nnodes) +
                       " nodes (SLURM_NNODES): these must match.");
    }
  }
  if (e.world_size > 0 && e.world_size != devices * num_nodes) {
    throw ValueError("`Fabric(devices=" + std::to_string(devices) +
                     ", num_nodes=" + std::to_string(num_nodes) + ")` gives a world size of " +
                     std::to_string(devices * num_nodes) + ", but the " + e.name() +
                     " environment sets the world size to " + std::to_string(e.world_size) + ".");
  }
  if (e.global_rank >= 0 && e.world_size > 0 && e.global_rank >= e.world_size) {
    throw ValueError("rank " + std::to_string(e.global_rank) + " is outside world size " +
                     std::to_string(e.world_size));
  }
}

}  // namespace fabric
