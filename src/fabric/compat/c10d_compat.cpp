// Process-group creation for LibTorch 1.13 and 2.x (see torch_compat.hpp).
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FABRIC_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "common/error.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::compat {

namespace {
bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}
}  // namespace

c10::intrusive_ptr<c10d::ProcessGroup> new_process_group(const std::string& backend,
                                                         const std::string& address, int port,
                                                         int rank, int world_size,
                                                         std::chrono::milliseconds timeout) {
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent && std::string(agent) == "True";
  const char* restarts = std::getenv("TORCHELASTIC_RESTART_COUNT");
  const std::string prefix = agent_store
                                 ? "/worker/attempt_" + std::string(restarts ? restarts : "0")
                                 : std::string("fabric");
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0 && !agent_store;
  so.numWorkers = static_cast<size_t>(world_size);
  so.waitWorkers = true;
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(address, so);
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(rank) +
                       " could not reach the rendezvous store at " + address + ":" +
                       std::to_string(port) + ": " + e.what());
  }
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix, store);

  if (backend == "gloo") {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(is_loopback(address)
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
#if FABRIC_TORCH_AT_LEAST(2, 0)
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world_size, options);
    auto pg = c10::make_intrusive<c10d::ProcessGroup>(prefixed, rank, world_size);
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
    return pg;
#else
    return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world_size, options);
#endif
  }
  if (backend == "nccl") {
#if defined(FABRIC_WITH_CUDA) && FABRIC_TORCH_AT_LEAST(2, 0)
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = timeout;
    auto nccl =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, world_size, nccl_options);
    auto pg = c10::make_intrusive<c10d::ProcessGroup>(prefixed, rank, world_size);
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
    return pg;
#else
    throw NotSupportedError(
        "the nccl backend needs a CUDA build of LibTorch >= 2.0; this build has LibTorch " +
        torch_version() + " without CUDA");
#endif
  }
  throw ValueError("unknown process group backend '" + backend + "' (use gloo or nccl)");
}

}  // namespace fabric::compat
