#include "engine/component_factories.hpp"

#include "engine/callbacks.hpp"
#include "engine/datasets.hpp"
#include "engine/loggers.hpp"
#include "engine/models.hpp"
#include "engine/objectives.hpp"
#include "engine/optim.hpp"

namespace fabric::engine {

ComponentFactories& component_factories() {
  static ComponentFactories factories = [] {
    ComponentFactories f;
    add_model_factories(f);
    add_optimizer_factories(f);
    add_schedule_factories(f);
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
