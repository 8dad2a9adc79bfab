// Entry points of the built-in components: one function per component, one file each.
#pragma once

#include "exp/recipe/registry.hpp"

namespace fabric::exp::components {

ComponentEntry mlp_model_entry();
ComponentEntry cnn_model_entry();
ComponentEntry resnet_model_entry();
ComponentEntry transformer_lm_model_entry();
ComponentEntry sequential_model_entry();
ComponentEntry torchscript_model_entry();
ComponentEntry sgd_optimizer_entry();
ComponentEntry adam_optimizer_entry();
ComponentEntry adamw_optimizer_entry();
ComponentEntry rmsprop_optimizer_entry();
ComponentEntry adagrad_optimizer_entry();
ComponentEntry constant_scheduler_entry();
ComponentEntry step_scheduler_entry();
ComponentEntry multistep_scheduler_entry();
ComponentEntry exponential_scheduler_entry();
ComponentEntry cosine_scheduler_entry();
ComponentEntry linear_scheduler_entry();
ComponentEntry one_cycle_scheduler_entry();
ComponentEntry fashion_mnist_data_entry();
ComponentEntry mnist_data_entry();
ComponentEntry csv_data_entry();
ComponentEntry synthetic_data_entry();
ComponentEntry text_data_entry();
ComponentEntry tensors_data_entry();
ComponentEntry cross_entropy_loss_entry();
ComponentEntry mse_loss_entry();
ComponentEntry l1_loss_entry();
ComponentEntry smooth_l1_loss_entry();
ComponentEntry bce_with_logits_loss_entry();
ComponentEntry nll_loss_entry();
ComponentEntry accuracy_metric_entry();
ComponentEntry top_k_accuracy_metric_entry();
ComponentEntry mse_metric_entry();
ComponentEntry mae_metric_entry();
ComponentEntry perplexity_metric_entry();
ComponentEntry checkpoint_callback_entry();
ComponentEntry early_stopping_callback_entry();
ComponentEntry lr_monitor_callback_entry();
ComponentEntry throughput_callback_entry();
ComponentEntry store_logger_entry();
ComponentEntry csv_logger_entry();
ComponentEntry tensorboard_logger_entry();

}  // namespace fabric::exp::components
