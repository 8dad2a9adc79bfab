#include "engine/loss.hpp"

#include <torch/nn/functional/loss.h>

#include "common/error.hpp"
#include "exp/components/loss/bce_with_logits.hpp"
#include "exp/components/loss/cross_entropy.hpp"
#include "exp/components/loss/l1.hpp"
#include "exp/components/loss/mse.hpp"
#include "exp/components/loss/nll.hpp"
#include "exp/components/loss/smooth_l1.hpp"

namespace fabric::engine {

namespace F = torch::nn::functional;

namespace {

at::Tensor as_float_target(const at::Tensor& out, const at::Tensor& target) {
  if (target.is_floating_point()) return target.to(out.scalar_type()).view(out.sizes());
  if (out.size(-1) == 1) return target.to(out.scalar_type()).view(out.sizes());
  return at::one_hot(target, out.size(-1)).to(out.scalar_type());
}

/// Cross entropy and NLL score class targets.
void need_classes(const DataInfo& info, const std::string& kind) {
  if (info.task == Task::Regression) {
    throw ValueError("[loss] kind '" + kind +
                     "' needs class targets; the data is a regression task");
  }
}

at::Tensor regression_target(const at::Tensor& out, const at::Tensor& target) {
  return target.to(out.scalar_type()).view(out.sizes());
}

}  // namespace

std::pair<at::Tensor, at::Tensor> flat_tokens(const at::Tensor& out, const at::Tensor& target) {
  if (out.dim() == 3) return {out.reshape({-1, out.size(-1)}), target.reshape({-1})};
  return {out, target};
}

void add_loss_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<LossFamily>(cross_entropy_loss_spec(),
                    [](const CrossEntropyLossConfig& c, const DataInfo& info) -> Loss {
                      need_classes(info, "cross_entropy");
                      auto options = F::CrossEntropyFuncOptions()
                                         .label_smoothing(c.label_smoothing)
                                         .ignore_index(c.ignore_index);
                      return Loss{[options](const at::Tensor& out, const at::Tensor& target) {
                        auto [o, t] = flat_tokens(out, target);
                        return F::cross_entropy(o, t, options);
                      }};
                    });
  f.add<LossFamily>(nll_loss_spec(), [](const NllLossConfig&, const DataInfo& info) -> Loss {
    need_classes(info, "nll");
    return Loss{[](const at::Tensor& out, const at::Tensor& target) {
      auto [o, t] = flat_tokens(out, target);
      return F::nll_loss(o, t);
    }};
  });
  f.add<LossFamily>(
      bce_with_logits_loss_spec(), [](const BceWithLogitsLossConfig&, const DataInfo&) -> Loss {
        return Loss{[](const at::Tensor& out, const at::Tensor& target) {
                      return F::binary_cross_entropy_with_logits(out, as_float_target(out, target));
                    },
                    true};
      });
  f.add<LossFamily>(mse_loss_spec(), [](const MseLossConfig&, const DataInfo&) -> Loss {
    return Loss{[](const at::Tensor& out, const at::Tensor& t) {
      return F::mse_loss(out, regression_target(out, t));
    }};
  });
  f.add<LossFamily>(l1_loss_spec(), [](const L1LossConfig&, const DataInfo&) -> Loss {
    return Loss{[](const at::Tensor& out, const at::Tensor& t) {
      return F::l1_loss(out, regression_target(out, t));
    }};
  });
  f.add<LossFamily>(smooth_l1_loss_spec(),
                    [](const SmoothL1LossConfig& c, const DataInfo&) -> Loss {
                      const auto options = F::SmoothL1LossFuncOptions().beta(c.beta);
                      return Loss{[options](const at::Tensor& out, const at::Tensor& t) {
                        return F::smooth_l1_loss(out, regression_target(out, t), options);
                      }};
                    });
}

}  // namespace fabric::engine
