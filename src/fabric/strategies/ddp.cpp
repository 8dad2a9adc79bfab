#include "fabric/strategies/ddp.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <sstream>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fabric/base/module_ref.hpp"
#include "fabric/compat/torch_compat.hpp"
#include "fabric/launcher/subprocess_launcher.hpp"

namespace fabric {

namespace {

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean:
      return c10d::ReduceOp::SUM;
    case ReduceOp::Max:
      return c10d::ReduceOp::MAX;
    case ReduceOp::Min:
      return c10d::ReduceOp::MIN;
    case ReduceOp::Product:
      return c10d::ReduceOp::PRODUCT;
  }
  return c10d::ReduceOp::SUM;
}

// Per-model gradient synchronisation state.
class DDPModuleState : public StrategyModuleState,
                       public std::enable_shared_from_this<DDPModuleState> {
 public:
  DDPModuleState(c10d::ProcessGroup* pg, int world_size) : pg_(pg), world_size_(world_size) {}

  void build(const std::vector<at::Tensor>& all_params, size_t bucket_cap_bytes) {
    for (const auto& p : all_params) {
      if (p.requires_grad()) params_.push_back(p);
    }
    // Gradients arrive roughly in reverse registration order: bucket from the back.
    size_t cap = std::min<size_t>(1 << 20, bucket_cap_bytes), bytes = 0;
    param_bucket_.assign(params_.size(), 0);
    for (size_t k = params_.size(); k-- > 0;) {
      const at::Tensor& p = params_[k];
      size_t size = size_t(p.numel()) * p.element_size();
      bool new_bucket = buckets_.empty() || bytes + size > cap ||
                        params_[buckets_.back().params.front()].scalar_type() != p.scalar_type() ||
                        params_[buckets_.back().params.front()].device() != p.device();
      if (new_bucket) {
        if (!buckets_.empty()) cap = bucket_cap_bytes;
        buckets_.emplace_back();
        bytes = 0;
      }
      buckets_.back().params.push_back(k);
      bytes += size;
      param_bucket_[k] = buckets_.size() - 1;
    }
    for (auto& b : buckets_) b.pending = b.params.size();
  }

  void install_hooks() {
    std::weak_ptr<DDPModuleState> weak = weak_from_this();
    for (size_t k = 0; k < params_.size(); ++k) {
      auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
      if (!acc)
        throw RuntimeError("DDP: parameter " + std::to_string(k) + " has no gradient accumulator");
      acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [weak, k](const torch::autograd::variable_list& outputs,
                    const torch::autograd::variable_list&) {
            if (auto self = weak.lock()) self->on_grad_ready(k);
            return outputs;
          }));
      accumulators_.push_back(std::move(acc));  // the tensor only holds it weakly
    }
  }

  void set_backward_sync(bool enabled) override { sync_ = enabled; }
  bool backward_sync() const override { return sync_; }

 private:
  struct Bucket {
    std::vector<size_t> params;
    size_t pending = 0;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };

  void on_grad_ready(size_t k) {
    if (!sync_) return;  // no_backward_sync: gradients accumulate locally
    if (!callback_queued_) {
      callback_queued_ = true;
      std::weak_ptr<DDPModuleState> weak = weak_from_this();
      torch::autograd::Engine::get_default_engine().queue_callback([weak] {
        if (auto self = weak.lock()) self->finalize();
      });
    }
    auto& bucket = buckets_[param_bucket_[k]];
    if (bucket.pending > 0) --bucket.pending;
    while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0)
      launch(next_launch_++);
  }

  void launch(size_t b) {
    at::NoGradGuard no_grad;
    auto& bucket = buckets_[b];
    std::vector<at::Tensor> grads;
    for (size_t k : bucket.params) {
      const at::Tensor& g = params_[k].grad();
      grads.push_back(g.defined() ? g : at::zeros_like(params_[k]));
    }
    bucket.flat = at::flatten_dense_tensors(grads);
    std::vector<at::Tensor> io{bucket.flat};
    bucket.work = pg_->allreduce(io);
  }

  // Runs once at the end of each synchronised backward pass.
  void finalize() {
    at::NoGradGuard no_grad;
    while (next_launch_ < buckets_.size()) launch(next_launch_++);  // parameters without a gradient
    for (auto& bucket : buckets_) {
      bucket.work->wait();
      bucket.flat.div_(world_size_);
      std::vector<at::Tensor> like;
      for (size_t k : bucket.params) like.push_back(params_[k]);
      auto averaged = at::unflatten_dense_tensors(bucket.flat, like);
      for (size_t i = 0; i < bucket.params.size(); ++i) {
        at::Tensor& p = params_[bucket.params[i]];
        if (p.grad().defined()) {
          p.mutable_grad().copy_(averaged[i]);
        } else {
          p.mutable_grad() = averaged[i].clone();
        }
      }
      bucket.flat = at::Tensor();
      bucket.work.reset();
      bucket.pending = bucket.params.size();
    }
    next_launch_ = 0;
    callback_queued_ = false;
  }

  c10d::ProcessGroup* pg_;
  int world_size_;
  std::vector<at::Tensor> params_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> param_bucket_;
  size_t next_launch_ = 0;
  bool callback_queued_ = false;
  bool sync_ = true;
};

}  // namespace

DDPStrategy::DDPStrategy(AcceleratorKind accelerator, std::vector<c10::Device> devices,
                         int num_nodes, ClusterEnvironment environment, DDPOptions options)
    : accelerator_(accelerator),
      devices_(std::move(devices)),
      num_nodes_(num_nodes),
      environment_(std::move(environment)),
      options_(std::move(options)) {
  const int per_node = int(devices_.size());
  validate_environment(environment_, per_node, num_nodes_);
  world_size_ = environment_.world_size > 0 ? environment_.world_size : per_node * num_nodes_;
  global_rank_ = environment_.global_rank >= 0
                     ? environment_.global_rank
                     : environment_.node_rank * per_node + environment_.local_rank;
  if (environment_.local_rank < 0 || environment_.local_rank >= per_node) {
    throw ValueError("LOCAL_RANK=" + std::to_string(environment_.local_rank) + " is outside the " +
                     std::to_string(per_node) + " devices of this node");
  }
  if (options_.process_group_backend == "auto") {
    options_.process_group_backend = accelerator_ == AcceleratorKind::Cuda ? "nccl" : "gloo";
  }
  set_log_rank(global_rank_);
}

DDPStrategy::~DDPStrategy() = default;

c10::Device DDPStrategy::root_device() const {
  return devices_[size_t(environment_.local_rank)];
}

c10d::ProcessGroup& DDPStrategy::process_group() const {
  if (!pg_) throw RuntimeError("the process group is not initialised: call fabric.launch() first");
  return *pg_;
}

void DDPStrategy::launch() {
  if (environment_.creates_processes_externally) return;
  LaunchPlan plan;
  plan.num_processes = int(devices_.size());
  plan.num_nodes = num_nodes_;
  plan.node_rank = environment_.node_rank;
  plan.main_address = environment_.main_address;
  plan.main_port = environment_.main_port;
  environment_.main_port = launch_subprocesses(plan);
  environment_.creates_processes_externally = true;
}

void DDPStrategy::setup_environment() {
  if (pg_) return;
  if (environment_.main_port <= 0) {
    const char* port = std::getenv("MASTER_PORT");
    if (!port)
      throw RuntimeError(
          "MASTER_PORT is not set: start the processes with fabric.launch() or torchrun");
    environment_.main_port = std::stoi(port);
  }
  pg_ = compat::new_process_group(options_.process_group_backend, environment_.main_address,
                                  environment_.main_port, global_rank_, world_size_,
                                  options_.timeout);
}

std::shared_ptr<StrategyModuleState> DDPStrategy::setup_module(ModuleRef& module) {
  process_group();  // throws before launch
  broadcast_module_from_rank0(module);
  auto state = std::make_shared<DDPModuleState>(pg_.get(), world_size_);
  state->build(module.parameters(), options_.bucket_cap_mb << 20);
  state->install_hooks();
  return state;
}

void DDPStrategy::broadcast_module_from_rank0(ModuleRef& module) {
  {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> tensors = module.parameters();
    for (auto& [name, b] : module.named_buffers()) {
      if (b.defined()) tensors.push_back(b);
    }
    std::map<std::pair<c10::ScalarType, std::string>, std::vector<at::Tensor>> groups;
    for (auto& t : tensors) groups[{t.scalar_type(), t.device().str()}].push_back(t);
    for (auto& [key, group] : groups) {
      at::Tensor flat = at::flatten_dense_tensors(group);
      std::vector<at::Tensor> io{flat};
      c10d::BroadcastOptions opts;
      opts.rootRank = 0;
      pg_->broadcast(io, opts)->wait();
      auto parts = at::unflatten_dense_tensors(flat, group);
      for (size_t i = 0; i < group.size(); ++i) group[i].copy_(parts[i]);
    }
  }
}

bool DDPStrategy::widens_for_gloo(const at::Tensor& tensor) const {
  // Gloo reduces only some dtypes (no bf16 in 1.13): those travel as fp32 and are cast back.
  return tensor.scalar_type() == at::kBFloat16 && options_.process_group_backend == "gloo";
}

void DDPStrategy::check_same_shape(const at::Tensor& tensor, const char* op) {
  constexpr int kMaxDims = 8;
  if (tensor.dim() > kMaxDims) return;
  // [ndim, dtype, sizes..., -1 padding], built on the host in one go.
  std::vector<int64_t> host(kMaxDims + 2, -1);
  host[0] = tensor.dim();
  host[1] = int64_t(tensor.scalar_type());
  for (int64_t d = 0; d < tensor.dim(); ++d) host[size_t(d) + 2] = tensor.size(d);
  auto desc = at::tensor(host, at::kLong).to(tensor.device());
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_size_; ++r) out[0].push_back(at::empty_like(desc));
  std::vector<at::Tensor> in{desc};
  pg_->allgather(out, in)->wait();
  auto all = at::stack(out[0]).cpu();
  if (at::all(all == all[0]).item<bool>()) return;
  std::string msg = std::string(op) + ": the tensors differ across ranks (";
  for (int r = 0; r < world_size_; ++r) {
    auto row = all[r];
    std::ostringstream os;
    os << "rank " << r << ": [";
    for (int64_t d = 0; d < row[0].item<int64_t>(); ++d)
      os << (d ? ", " : "") << row[d + 2].item<int64_t>();
    os << "] " << c10::toString(c10::ScalarType(row[1].item<int64_t>()));
    msg += (r ? "; " : "") + os.str();
  }
  throw ValueError(msg + "); every rank must pass the same shape and dtype");
}

void DDPStrategy::all_reduce_(at::Tensor& tensor, ReduceOp op) {
  process_group();
  check_same_shape(tensor, "all_reduce");
  const bool widen = widens_for_gloo(tensor);
  at::Tensor work = widen ? tensor.to(at::kFloat) : tensor;
  std::vector<at::Tensor> io{work};
  c10d::AllreduceOptions opts;
  opts.reduceOp = to_c10d(op);
  pg_->allreduce(io, opts)->wait();
  if (op == ReduceOp::Mean) {
    if (work.is_floating_point()) {
      work.div_(world_size_);
    } else {
      work.copy_(work / world_size_);  // integer mean truncates, as Lightning on Gloo
    }
  }
  if (widen) tensor.copy_(work);
}

at::Tensor DDPStrategy::all_gather(const at::Tensor& tensor) {
  process_group();
  check_same_shape(tensor, "all_gather");
  const bool widen = widens_for_gloo(tensor);
  at::Tensor in = widen ? tensor.to(at::kFloat) : tensor.contiguous();
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_size_; ++r) out[0].push_back(at::empty_like(in));
  std::vector<at::Tensor> io{in};
  pg_->allgather(out, io)->wait();
  at::Tensor stacked = at::stack(out[0]);
  return widen ? stacked.to(at::kBFloat16) : stacked;
}

void DDPStrategy::broadcast_(at::Tensor& tensor, int src) {
  process_group();
  if (src < 0 || src >= world_size_) {
    throw ValueError("broadcast: src=" + std::to_string(src) + " is not a rank of a world of " +
                     std::to_string(world_size_));
  }
  check_same_shape(tensor, "broadcast");
  const bool widen = widens_for_gloo(tensor);
  at::Tensor work = widen ? tensor.to(at::kFloat) : tensor;
  std::vector<at::Tensor> io{work};
  c10d::BroadcastOptions opts;
  opts.rootRank = src;
  pg_->broadcast(io, opts)->wait();
  if (widen) tensor.copy_(work);
}

std::vector<uint8_t> DDPStrategy::broadcast_bytes(std::vector<uint8_t> bytes, int src) {
  process_group();
  auto device = options_.process_group_backend == "nccl" ? root_device() : c10::Device(c10::kCPU);
  auto size =
      at::full({1}, int64_t(bytes.size()), at::TensorOptions().dtype(at::kLong).device(device));
  std::vector<at::Tensor> io{size};
  c10d::BroadcastOptions opts;
  opts.rootRank = src;
  pg_->broadcast(io, opts)->wait();
  int64_t n = size.item<int64_t>();
  auto data = at::empty({n}, at::kByte);
  if (global_rank_ == src) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
  data = data.to(device);
  std::vector<at::Tensor> io2{data};
  pg_->broadcast(io2, opts)->wait();
  data = data.cpu();
  std::vector<uint8_t> out(static_cast<size_t>(n));
  std::memcpy(out.data(), data.data_ptr(), size_t(n));
  return out;
}

void DDPStrategy::barrier() {
  process_group();
  pg_->barrier()->wait();
}

void DDPStrategy::teardown() {
  pg_.reset();
}

}  // namespace fabric
