#include "engine/scheduler.hpp"

#include <algorithm>
#include <cmath>

#include "engine/optimizer.hpp"
#include "exp/components/scheduler/constant.hpp"
#include "exp/components/scheduler/cosine.hpp"
#include "exp/components/scheduler/exponential.hpp"
#include "exp/components/scheduler/linear.hpp"
#include "exp/components/scheduler/multistep.hpp"
#include "exp/components/scheduler/one_cycle.hpp"
#include "exp/components/scheduler/polynomial.hpp"
#include "exp/components/scheduler/step.hpp"

namespace fabric::engine {

namespace optim = torch::optim;

Schedule::Schedule(const exp::components::ScheduleParams& common, Rule rule,
                   const RunLength& length)
    : rule_(std::move(rule)),
      interval_(common.interval),
      warmup_(common.warmup_steps),
      total_steps_(std::max<int64_t>(1, length.total_steps)),
      total_epochs_(std::max<int64_t>(1, length.total_epochs)) {}

void add_scheduler_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<SchedulerFamily>(constant_scheduler_spec(),
                         [](const ConstantSchedulerConfig& c, const RunLength& length) {
                           return Schedule(
                               c, [](double base, double, double) { return base; }, length);
                         });
  f.add<SchedulerFamily>(step_scheduler_spec(), [](const StepSchedulerConfig& c,
                                                   const RunLength& length) {
    const double size = double(c.step_size), gamma = c.gamma;
    return Schedule(
        c,
        [=](double base, double t, double) { return base * std::pow(gamma, std::floor(t / size)); },
        length);
  });
  f.add<SchedulerFamily>(
      multistep_scheduler_spec(), [](const MultistepSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [milestones = c.milestones, gamma = c.gamma](double base, double t, double) {
              int passed = 0;
              for (auto m : milestones) passed += t >= double(m);
              return base * std::pow(gamma, passed);
            },
            length);
      });
  f.add<SchedulerFamily>(exponential_scheduler_spec(), [](const ExponentialSchedulerConfig& c,
                                                          const RunLength& length) {
    return Schedule(
        c, [gamma = c.gamma](double base, double t, double) { return base * std::pow(gamma, t); },
        length);
  });
  f.add<SchedulerFamily>(cosine_scheduler_spec(), [](const CosineSchedulerConfig& c,
                                                     const RunLength& length) {
    return Schedule(
        c,
        [eta_min = c.eta_min](double base, double t, double total) {
          return eta_min + (base - eta_min) * (1 + std::cos(M_PI * std::min(t, total) / total)) / 2;
        },
        length);
  });
  f.add<SchedulerFamily>(
      linear_scheduler_spec(), [](const LinearSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [a = c.start_factor, b = c.end_factor](double base, double t, double total) {
              return base * (a + (b - a) * std::min(t, total) / total);
            },
            length);
      });
  // PyTorch's OneCycleLR (cos annealing, div_factor 25, final_div_factor 1e4); max_lr is the
  // peak whatever the optimizer's lr.
  f.add<SchedulerFamily>(
      one_cycle_scheduler_spec(), [](const OneCycleSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [max_lr = c.max_lr, pct = c.pct_start](double, double t, double total) {
              const double initial = max_lr / 25, final_lr = initial / 1e4, up = pct * total;
              auto anneal = [](double from, double to, double frac) {
                return to + (from - to) * (1 + std::cos(M_PI * frac)) / 2;
              };
              if (t < up) return anneal(initial, max_lr, t / std::max(up, 1.0));
              return anneal(max_lr, final_lr, std::min(1.0, (t - up) / std::max(total - up, 1.0)));
            },
            length);
      });
  f.add<SchedulerFamily>(polynomial_scheduler_spec(),
                         [](const PolynomialSchedulerConfig& c, const RunLength& length) {
                           return Schedule(
                               c,
                               [power = c.power](double base, double t, double total) {
                                 return base * std::pow(1.0 - std::min(t, total) / total, power);
                               },
                               length);
                         });
}

double Schedule::lr(double base, int64_t step, int64_t epoch) const {
  if (!rule_) return base;
  double value;
  if (interval_ == "epoch") {
    value = rule_(base, double(epoch), double(total_epochs_));
  } else {
    const int64_t after = std::max<int64_t>(0, step - warmup_);
    value = rule_(base, double(after), double(std::max<int64_t>(1, total_steps_ - warmup_)));
  }
  if (warmup_ > 0 && step < warmup_) value *= double(step + 1) / double(warmup_ + 1);
  return value;
}

void Schedule::bind(const optim::Optimizer& optimizer) {
  base_lrs_.clear();
  for (const auto& g : optimizer.param_groups()) base_lrs_.push_back(group_lr(g));
}

void Schedule::apply(optim::Optimizer& optimizer, int64_t step, int64_t epoch) {
  if (!rule_) return;
  auto& groups = optimizer.param_groups();
  if (base_lrs_.size() != groups.size()) throw std::logic_error("Schedule::apply before bind");
  for (size_t i = 0; i < groups.size(); ++i) set_group_lr(groups[i], lr(base_lrs_[i], step, epoch));
}

}  // namespace fabric::engine
