// The one list of built-in recipe tables and components (STYLE.md B3). Adding a component is one
// file under components/ and one line here.
#include "exp/components/entries.hpp"
#include "exp/recipe/tables.hpp"

namespace fabric::exp {

void register_builtin(Registry& r) {
  r.add_table({"run", "What to run: length, validation, accumulation, clipping, output.",
               TableShape::Fixed, false, &run_spec()});
  r.add_table({"fabric", "Accelerator, devices, strategy and precision.", TableShape::Fixed, false,
               &fabric_spec()});
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
  r.add_table(
      {"loggers", "Where metrics go besides the run store.", TableShape::ComponentArray, false});
  TableInfo sweep{"sweep", "How `fabric-exp sweep` explores the recipe.", TableShape::Fixed, false,
                  &sweep_spec()};
  sweep.filled_when_absent = false;
  r.add_table(sweep);

  r.add(components::mlp_model_entry());
  r.add(components::cnn_model_entry());
  r.add(components::resnet_model_entry());
  r.add(components::transformer_lm_model_entry());
  r.add(components::sequential_model_entry());
  r.add(components::torchscript_model_entry());
  r.add(components::sgd_optimizer_entry());
  r.add(components::adam_optimizer_entry());
  r.add(components::adamw_optimizer_entry());
  r.add(components::rmsprop_optimizer_entry());
  r.add(components::adagrad_optimizer_entry());
  r.add(components::constant_scheduler_entry());
  r.add(components::step_scheduler_entry());
  r.add(components::multistep_scheduler_entry());
  r.add(components::exponential_scheduler_entry());
  r.add(components::cosine_scheduler_entry());
  r.add(components::linear_scheduler_entry());
  r.add(components::one_cycle_scheduler_entry());
  r.add(components::fashion_mnist_data_entry());
  r.add(components::mnist_data_entry());
  r.add(components::csv_data_entry());
  r.add(components::synthetic_data_entry());
  r.add(components::text_data_entry());
  r.add(components::tensors_data_entry());
  r.add(components::cross_entropy_loss_entry());
  r.add(components::mse_loss_entry());
  r.add(components::l1_loss_entry());
  r.add(components::smooth_l1_loss_entry());
  r.add(components::bce_with_logits_loss_entry());
  r.add(components::nll_loss_entry());
  r.add(components::accuracy_metric_entry());
  r.add(components::top_k_accuracy_metric_entry());
  r.add(components::mse_metric_entry());
  r.add(components::mae_metric_entry());
  r.add(components::perplexity_metric_entry());
  r.add(components::checkpoint_callback_entry());
  r.add(components::early_stopping_callback_entry());
  r.add(components::lr_monitor_callback_entry());
  r.add(components::throughput_callback_entry());
  r.add(components::store_logger_entry());
  r.add(components::csv_logger_entry());
  r.add(components::tensorboard_logger_entry());
}

}  // namespace fabric::exp
