#include "fabric/precision/grad_scaler.hpp"

#include <ATen/core/Dict.h>
#include <torch/types.h>

#include "common/error.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric {

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
  if (options_.init_scale <= 0 || options_.growth_factor <= 1.0 || options_.backoff_factor <= 0 ||
      options_.backoff_factor >= 1.0 || options_.growth_interval < 1) {
    throw ValueError(
        "GradScaler needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and "
        "growth_interval >= 1.");
  }
}

void GradScaler::lazy_init(const c10::Device& device) {
  if (!scale_.defined()) {
    double init = loaded_scale_ > 0 ? loaded_scale_ : options_.init_scale;
    scale_ = torch::full({1}, init, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    growth_tracker_ = torch::full({1}, loaded_tracker_,
                                  torch::TensorOptions().dtype(torch::kInt32).device(device));
  } else if (scale_.device() != device) {
    scale_ = scale_.to(device);
    growth_tracker_ = growth_tracker_.to(device);
  }
}

at::Tensor GradScaler::scale(const at::Tensor& loss) {
  lazy_init(loss.device());
  return loss * scale_.reshape({}).to(loss.scalar_type());
}

void GradScaler::unscale_(torch::optim::Optimizer& optimizer) {
  auto& st = per_optimizer_[&optimizer];
  if (st.stage == Stage::Unscaled) {
    throw RuntimeError(
        "unscale_() has already been called on this optimizer since the last update().");
  }
  if (st.stage == Stage::Stepped) throw RuntimeError("unscale_() is being called after step().");

  std::map<c10::ScalarType, std::vector<at::Tensor>> grads_by_dtype;
  c10::optional<c10::Device> device;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().scalar_type() == at::kHalf) {
        throw ValueError(
            "Attempting to unscale FP16 gradients: 16-mixed keeps fp32 weights; "
            "use 16-true without a scaler for fp16 weights.");
      }
      grads_by_dtype[p.grad().scalar_type()].push_back(p.grad());
      if (!device) device = p.grad().device();
    }
  }
  lazy_init(device ? *device : (scale_.defined() ? scale_.device() : c10::Device(c10::kCPU)));
  at::NoGradGuard no_grad;
  auto inv_scale = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  auto found_inf = torch::zeros({1}, scale_.options());
  for (auto& [dtype, grads] : grads_by_dtype) {
    if (compat::has_fused_amp_kernels(scale_.device().type())) {
      at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
    } else {
      for (auto& g : grads) {
        found_inf.add_(g.isfinite().all().logical_not().to(at::kFloat));
        g.mul_(inv_scale.to(g.scalar_type()));
      }
    }
  }
  if (found_inf_reducer_) found_inf_reducer_(found_inf);
  st.found_inf = found_inf.clamp_max(1.0);
  st.stage = Stage::Unscaled;
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  auto it = per_optimizer_.find(&optimizer);
  if (it != per_optimizer_.end() && it->second.stage == Stage::Stepped) {
    throw RuntimeError("step() has already been called since the last update().");
  }
  if (it == per_optimizer_.end() || it->second.stage == Stage::Ready) unscale_(optimizer);
  auto& st = per_optimizer_[&optimizer];
  bool finite = st.found_inf.item<float>() == 0.0f;
  if (finite) {
    optimizer.step();
  } else {
    ++skipped_steps_;
  }
  st.stage = Stage::Stepped;
  return finite;
}

void GradScaler::update() {
  at::Tensor found_inf;
  for (auto& [opt, st] : per_optimizer_) {
    if (!st.found_inf.defined()) continue;
    found_inf = found_inf.defined() ? found_inf + st.found_inf : st.found_inf.clone();
  }
  if (!found_inf.defined()) throw RuntimeError("No inf checks were recorded prior to update().");
  found_inf.clamp_max_(1.0);
  if (compat::has_fused_amp_kernels(scale_.device().type())) {
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf, options_.growth_factor,
                           options_.backoff_factor, options_.growth_interval);
  } else {
    at::NoGradGuard no_grad;
    if (found_inf.item<float>() > 0) {
      scale_.mul_(options_.backoff_factor);
      growth_tracker_.zero_();
    } else {
      growth_tracker_.add_(1);
      if (growth_tracker_.item<int>() >= options_.growth_interval) {
        scale_.mul_(options_.growth_factor);
        growth_tracker_.zero_();
      }
    }
  }
  per_optimizer_.clear();
}

double GradScaler::get_scale() const {
  if (!scale_.defined()) return loaded_scale_ > 0 ? loaded_scale_ : options_.init_scale;
  return scale_.item<double>();
}

int64_t GradScaler::growth_tracker() const {
  return growth_tracker_.defined() ? growth_tracker_.item<int64_t>() : loaded_tracker_;
}

c10::IValue GradScaler::state_dict() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("scale", get_scale());
  d.insert("growth_factor", options_.growth_factor);
  d.insert("backoff_factor", options_.backoff_factor);
  d.insert("growth_interval", options_.growth_interval);
  d.insert("_growth_tracker", growth_tracker());
  return d;
}

void GradScaler::load_state_dict(const c10::IValue& state) {
  if (!state.isGenericDict()) throw TypeError("GradScaler state must be a dict.");
  auto d = state.toGenericDict();
  auto number = [&](const char* key) -> c10::IValue {
    if (!d.contains(key)) {
      throw KeyError(std::string("GradScaler state has no '") + key +
                     "'; it was not written by a GradScaler.");
    }
    return d.at(key);
  };
  auto as_double = [](const c10::IValue& v) {
    return v.isDouble() ? v.toDouble() : double(v.toInt());
  };
  options_.growth_factor = as_double(number("growth_factor"));
  options_.backoff_factor = as_double(number("backoff_factor"));
  options_.growth_interval = number("growth_interval").toInt();
  loaded_scale_ = as_double(number("scale"));
  loaded_tracker_ = number("_growth_tracker").toInt();
  if (scale_.defined()) {
    scale_.fill_(loaded_scale_);
    growth_tracker_.fill_(loaded_tracker_);
  }
  per_optimizer_.clear();
}

}  // namespace fabric
