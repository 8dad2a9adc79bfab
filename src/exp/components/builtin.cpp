// The one list of built-in recipe tables and component declarations. A component's
// declaration (typed config and ParamSpec) is one header under components/ and one line here; its
// factory registers against the same (table, kind) in src/engine/<table>.cpp.
#include "exp/components/callbacks/checkpoint.hpp"
#include "exp/components/callbacks/early_stopping.hpp"
#include "exp/components/callbacks/lr_monitor.hpp"
#include "exp/components/callbacks/throughput.hpp"
#include "exp/components/data/csv.hpp"
#include "exp/components/data/fashion_mnist.hpp"
#include "exp/components/data/mnist.hpp"
#include "exp/components/data/synthetic.hpp"
#include "exp/components/data/tensors.hpp"
#include "exp/components/data/text.hpp"
#include "exp/components/fabric/fabric.hpp"
#include "exp/components/loggers/csv.hpp"
#include "exp/components/loggers/store.hpp"
#include "exp/components/loggers/tensorboard.hpp"
#include "exp/components/loss/bce_with_logits.hpp"
#include "exp/components/loss/cross_entropy.hpp"
#include "exp/components/loss/l1.hpp"
#include "exp/components/loss/mse.hpp"
#include "exp/components/loss/nll.hpp"
#include "exp/components/loss/smooth_l1.hpp"
#include "exp/components/metrics/accuracy.hpp"
#include "exp/components/metrics/mae.hpp"
#include "exp/components/metrics/mse.hpp"
#include "exp/components/metrics/perplexity.hpp"
#include "exp/components/metrics/top_k_accuracy.hpp"
#include "exp/components/model/cnn.hpp"
#include "exp/components/model/mlp.hpp"
#include "exp/components/model/resnet.hpp"
#include "exp/components/model/sequential.hpp"
#include "exp/components/model/torchscript.hpp"
#include "exp/components/model/transformer_lm.hpp"
#include "exp/components/optimizer/adagrad.hpp"
#include "exp/components/optimizer/adam.hpp"
#include "exp/components/optimizer/adamw.hpp"
#include "exp/components/optimizer/rmsprop.hpp"
#include "exp/components/optimizer/sgd.hpp"
#include "exp/components/run/run.hpp"
#include "exp/components/scheduler/constant.hpp"
#include "exp/components/scheduler/cosine.hpp"
#include "exp/components/scheduler/exponential.hpp"
#include "exp/components/scheduler/linear.hpp"
#include "exp/components/scheduler/multistep.hpp"
#include "exp/components/scheduler/one_cycle.hpp"
#include "exp/components/scheduler/polynomial.hpp"
#include "exp/components/scheduler/step.hpp"
#include "exp/components/sweep/sweep.hpp"

namespace fabric::exp {

void register_builtin(Registry& r) {
  // A fixed table's summary is its spec's: the schema, the docs and the reference say the same.
  r.add_table({"run", "", TableShape::Fixed, false, &run_spec()});
  r.add_table({"fabric", "", TableShape::Fixed, false, &fabric_spec()});
  r.add_table({"model", "The network.", TableShape::Component, true});
  r.add_table({"optimizer", "The optimizer.", TableShape::Component, true});
  r.add_table({"scheduler", "The learning-rate schedule.", TableShape::Component, false});
  r.add_table({"data", "Training, validation and test data.", TableShape::Component, true});
  r.add_table(
      {"loss", "The training loss (default: cross_entropy).", TableShape::Component, false});
  r.add_table(
      {"metrics", "Metrics computed on validation and test.", TableShape::ComponentArray, false});
  r.add_table({"callbacks", "Hooks run at Lightning's points in the loop.",
               TableShape::ComponentArray, false});
  r.add_table({"loggers", "The run's loggers: the run store (always), CSV, TensorBoard.",
               TableShape::ComponentArray, false});
  TableInfo sweep{"sweep", "", TableShape::Fixed, false, &sweep_spec()};
  sweep.filled_when_absent = false;
  r.add_table(sweep);

  r.add(components::mlp_model_spec());
  r.add(components::cnn_model_spec());
  r.add(components::resnet_model_spec());
  r.add(components::transformer_lm_model_spec());
  r.add(components::sequential_model_spec());
  r.add(components::torchscript_model_spec());
  r.add(components::sgd_optimizer_spec());
  r.add(components::adam_optimizer_spec());
  r.add(components::adamw_optimizer_spec());
  r.add(components::rmsprop_optimizer_spec());
  r.add(components::adagrad_optimizer_spec());
  r.add(components::constant_scheduler_spec());
  r.add(components::step_scheduler_spec());
  r.add(components::multistep_scheduler_spec());
  r.add(components::exponential_scheduler_spec());
  r.add(components::cosine_scheduler_spec());
  r.add(components::linear_scheduler_spec());
  r.add(components::one_cycle_scheduler_spec());
  r.add(components::polynomial_scheduler_spec());
  r.add(components::fashion_mnist_data_spec());
  r.add(components::mnist_data_spec());
  r.add(components::csv_data_spec());
  r.add(components::synthetic_data_spec());
  r.add(components::text_data_spec());
  r.add(components::tensors_data_spec());
  r.add(components::cross_entropy_loss_spec());
  r.add(components::mse_loss_spec());
  r.add(components::l1_loss_spec());
  r.add(components::smooth_l1_loss_spec());
  r.add(components::bce_with_logits_loss_spec());
  r.add(components::nll_loss_spec());
  r.add(components::accuracy_metric_spec());
  r.add(components::top_k_accuracy_metric_spec());
  r.add(components::mse_metric_spec());
  r.add(components::mae_metric_spec());
  r.add(components::perplexity_metric_spec());
  r.add(components::checkpoint_callback_spec());
  r.add(components::early_stopping_callback_spec());
  r.add(components::lr_monitor_callback_spec());
  r.add(components::throughput_callback_spec());
  r.add(components::store_logger_spec());
  r.add(components::csv_logger_spec());
  r.add(components::tensorboard_logger_spec());
}

}  // namespace fabric::exp
