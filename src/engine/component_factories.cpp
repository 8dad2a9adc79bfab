#include "engine/component_factories.hpp"

#include "engine/callbacks.hpp"
#include "engine/data.hpp"
#include "engine/loggers.hpp"
#include "engine/loss.hpp"
#include "engine/metrics.hpp"
#include "engine/model.hpp"
#include "engine/optimizer.hpp"
#include "engine/scheduler.hpp"

namespace fabric::engine {

ComponentFactories& component_factories() {
  static ComponentFactories factories = [] {
    ComponentFactories f;
    add_model_factories(f);
    add_optimizer_factories(f);
    add_scheduler_factories(f);
    add_data_factories(f);
    add_loss_factories(f);
    add_metric_factories(f);
    add_callback_factories(f);
    add_logger_factories(f);
    return f;
  }();
  return factories;
}

}  // namespace fabric::engine
