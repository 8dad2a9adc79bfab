// The rules between tables of a recipe, checked once every table is valid on its own: a model
// gets the inputs its data gives, the loss and metrics fit the data's task, the sweep's search
// space and settings, a run name that is a folder name, precision and devices this machine has.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/recipe_internal.hpp"
#include "exp/recipe/search_space.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "store/folder_name.hpp"

namespace fs = std::filesystem;

namespace fabric::exp::detail {

namespace {

class CrossTableRules {
 public:
  CrossTableRules(const Registry& registry, std::string base_dir, std::vector<Diagnostic>& out)
      : registry_(registry), base_dir_(std::move(base_dir)), out_(out) {}

  /// The [data] parameter marked by `flag` (sample_shape, task) and its value as written, else
  /// its default; nulls when the kind has none.
  static std::pair<const ParamInfo*, const toml::node*> flagged_data_value(const toml::table& root,
                                                                           const SpecBase& data,
                                                                           bool ParamInfo::*flag) {
    for (const auto& p : data.params()) {
      if (!(p.*flag)) continue;
      const toml::node* node = root["data"][p.name].node();
      return {&p, node ? node : p.default_value.get()};
    }
    return {nullptr, nullptr};
  }

  /// The rank of one sample of the recipe's data when validation can know it, and what says so.
  std::optional<std::pair<int64_t, std::string>> sample_rank(const toml::table& root,
                                                             const SpecBase& data) const {
    if (data.sample_rank() > 0) {
      return std::pair{data.sample_rank(), "[data] kind \"" + data.kind() + "\""};
    }
    const auto [p, node] = flagged_data_value(root, data, &ParamInfo::is_sample_shape);
    if (const auto* shape = node ? node->as_array() : nullptr)
      return std::pair{int64_t(shape->size()), "'data." + p->name + "' = " + value_text(*node)};
    return std::nullopt;
  }

  /// A model that needs images gets images: what the data gives is known here for most kinds.
  void check_model_inputs(const toml::table& root, const std::string& file) {
    const toml::table* model = root["model"].as_table();
    const toml::table* data = root["data"].as_table();
    const SpecBase* model_spec =
        model ? component_spec(registry_, "model", *model, nullptr) : nullptr;
    const SpecBase* data_spec = data ? component_spec(registry_, "data", *data, nullptr) : nullptr;
    if (!model_spec || !data_spec || model_spec->input_rank() == 0) return;
    const auto rank = sample_rank(root, *data_spec);
    if (!rank || rank->first == model_spec->input_rank()) return;
    const toml::node* kind = model->get("kind");
    out_.push_back({pos_of(kind ? *kind : static_cast<const toml::node&>(*model), file),
                    "[model] kind \"" + model_spec->kind() + "\" needs samples of " +
                        std::to_string(model_spec->input_rank()) +
                        " dimensions (images [channels, height, width]), but " + rank->second +
                        " gives samples of " + std::to_string(rank->first) +
                        (rank->first == 1 ? " dimension" : " dimensions"),
                    {}});
  }

  /// The task of the recipe's data when validation can know it, and what says so.
  std::optional<std::pair<std::string, std::string>> data_task(const toml::table& root,
                                                               const SpecBase& data) const {
    if (!data.gives_task().empty())
      return std::pair{data.gives_task(), "[data] kind \"" + data.kind() + "\""};
    const auto [p, node] = flagged_data_value(root, data, &ParamInfo::is_task);
    if (auto task = node ? node->value<std::string>() : std::nullopt)
      return std::pair{*task, "'data." + p->name + "' = \"" + *task + "\""};
    return std::nullopt;
  }

  static std::string targets_of(const std::string& task) {
    return task == "regression"       ? "regression targets"
           : task == "language_model" ? "token targets"
                                      : "class targets";
  }

  /// Models, losses and metrics get the targets they work on: what the data gives is known here
  /// for most kinds, and the loss is cross_entropy when the recipe names none.
  void check_tasks(const toml::table& root, const std::string& file) {
    const toml::table* data = root["data"].as_table();
    const SpecBase* data_spec = data ? component_spec(registry_, "data", *data, nullptr) : nullptr;
    const auto task = data_spec ? data_task(root, *data_spec) : std::nullopt;
    if (!task) return;
    auto check = [&](const SpecBase* spec, SourcePos at, const std::string& what,
                     std::vector<std::string> notes = {}) {
      if (!spec || spec->needs_tasks().empty()) return;
      const auto& needs = spec->needs_tasks();
      if (std::find(needs.begin(), needs.end(), task->first) != needs.end()) return;
      std::vector<std::string> wanted;
      for (const auto& t : needs) wanted.push_back(targets_of(t));
      out_.push_back({at,
                      what + " needs " + join(wanted, " or ") + ", but " + task->second +
                          " gives " + targets_of(task->first),
                      std::move(notes)});
    };
    auto kind_pos = [&](const toml::table& t) {
      const toml::node* kind = t.get("kind");
      return pos_of(kind ? *kind : static_cast<const toml::node&>(t), file);
    };
    if (const toml::table* model = root["model"].as_table()) {
      if (const SpecBase* spec = component_spec(registry_, "model", *model, nullptr))
        check(spec, kind_pos(*model), "[model] kind \"" + spec->kind() + "\"");
    }
    if (const toml::table* loss = root["loss"].as_table()) {
      if (const SpecBase* spec = component_spec(registry_, "loss", *loss, nullptr))
        check(spec, kind_pos(*loss), "[loss] kind \"" + spec->kind() + "\"");
    } else if (const ComponentEntry* fallback = registry_.find("loss", "cross_entropy")) {
      check(fallback->spec, pos_of(*data, file),
            "the default loss (cross_entropy, the recipe has no [loss])",
            {"name one, e.g. [loss] kind = \"mse\" for regression targets"});
    }
    if (const toml::array* metrics = root["metrics"].as_array()) {
      for (size_t i = 0; i < metrics->size(); ++i) {
        const toml::table* m = metrics->get(i)->as_table();
        const SpecBase* spec = m ? component_spec(registry_, "metrics", *m, nullptr) : nullptr;
        if (spec) {
          check(spec, kind_pos(*m),
                "[metrics[" + std::to_string(i) + "]] kind \"" + spec->kind() + "\"");
        }
      }
    }
  }

  void all(const toml::table& root, const std::string& file) {
    check_model_inputs(root, file);
    check_tasks(root, file);
    if (const auto* params = root["sweep"]["parameters"].as_table()) {
      const size_t before = out_.size();
      auto space = parse_search_space(*params, file, out_);
      if (out_.size() == before) check_sweep(root, space, registry_, base_dir_, file, out_);
    } else if (root["sweep"].is_table()) {
      check_sweep(root, {}, registry_, base_dir_, file, out_);
    }
    const toml::node* run = root.get("run");
    if (!root["run"]["max_epochs"] && !root["run"]["max_steps"]) {
      out_.push_back({run ? pos_of(*run, file) : SourcePos{file, 0, 0},
                      "the recipe sets neither run.max_epochs nor run.max_steps",
                      {"add e.g. [run] max_epochs = 10"}});
    }
    if (auto name = root["run"]["name"].value<std::string>()) {
      if (auto problem = store::folder_name_problem(*name); !problem.empty()) {
        out_.push_back({pos_of(*root["run"]["name"].node(), file),
                        "'run.name' names the run's folder inside the runs folder, and " +
                            describe(*root["run"]["name"].node()) + " cannot: " + problem,
                        {"use a plain name such as \"baseline\"; 'run.output_dir' chooses where "
                         "runs go"}});
      }
    }
    auto precision = root["fabric"]["precision"].value<std::string>();
    const int gpus = machine_info().cuda_devices;
    auto accelerator = root["fabric"]["accelerator"].value<std::string>();
    // "auto" is what it resolves to on this machine, before the checks that depend on it.
    const std::string device_kind =
        accelerator.value_or("auto") == "auto" ? (gpus > 0 ? "cuda" : "cpu") : *accelerator;
    if (precision && *precision == "16-true" && device_kind == "cpu") {
      out_.push_back({pos_of(*root["fabric"]["precision"].node(), file),
                      "'fabric.precision' = \"16-true\" needs a CUDA device: LibTorch has no fp16 "
                      "CPU training kernels" +
                          std::string(accelerator.value_or("auto") == "auto"
                                          ? " (accelerator \"auto\" is the CPU on this machine)"
                                          : ""),
                      {"use \"bf16-true\" or \"bf16-mixed\" on CPU"}});
    }
    if (accelerator && (*accelerator == "cuda" || *accelerator == "gpu") && gpus == 0) {
      out_.push_back(
          {pos_of(*root["fabric"]["accelerator"].node(), file),
           "'fabric.accelerator' = \"" + *accelerator + "\" but this machine has no CUDA device",
           {"use \"cpu\" or \"auto\""}});
    }
    if (accelerator && *accelerator != "cpu" && gpus > 0) {
      auto wanted = root["fabric"]["devices"].value<int64_t>();
      if (wanted && *wanted > gpus) {
        out_.push_back({pos_of(*root["fabric"]["devices"].node(), file),
                        "'fabric.devices' = " + std::to_string(*wanted) + " but this machine has " +
                            std::to_string(gpus) + " CUDA device(s)",
                        {}});
      }
    }
    if (root["run"]["cuda_graph"].value<bool>().value_or(false)) {
      out_.push_back({pos_of(*root["run"]["cuda_graph"].node(), file),
                      "'run.cuda_graph' = true: capturing the training step in a CUDA graph is "
                      "not supported yet",
                      {"remove the key or set it to false"}});
    }
    auto strategy = root["fabric"]["strategy"].value<std::string>();
    auto devices = root["fabric"]["devices"].value<int64_t>();
    if (strategy && *strategy == "ddp" && devices && *devices < 1) {
      out_.push_back({pos_of(*root["fabric"]["devices"].node(), file),
                      "'fabric.devices' must be >= 1 with strategy \"ddp\"",
                      {}});
    }
  }

 private:
  const Registry& registry_;
  std::string base_dir_;
  std::vector<Diagnostic>& out_;
};

}  // namespace

void check_across_tables(const toml::table& root, const Registry& registry,
                         const std::string& base_dir, const std::string& file,
                         std::vector<Diagnostic>& out) {
  CrossTableRules(registry, base_dir, out).all(root, file);
}

}  // namespace fabric::exp::detail
