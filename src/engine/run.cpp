#include "engine/run.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/environment.hpp"
#include "engine/trainer.hpp"
#include "engine/trial_pruner.hpp"
#include "exp/recipe/recipe.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/checkpoint/zip_integrity.hpp"
#include "fabric/loggers/csv_logger.hpp"
#include "fabric/loggers/tensorboard_logger.hpp"
#include "fabric/utilities/stop_signal.hpp"
#include "store/metric_writer.hpp"
#include "store/run_store.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

namespace {

Devices devices_of(const toml::table& fabric_table) {
  const auto& node = fabric_table["devices"];
  if (auto i = node.value_exact<int64_t>()) return Devices(int(*i));
  return Devices(node.value_or(std::string("auto")));
}

PrecisionInput precision_of(const toml::table& fabric_table) {
  const auto& node = fabric_table["precision"];
  if (auto i = node.value_exact<int64_t>()) return PrecisionInput(int(*i));
  return PrecisionInput(node.value_or(std::string("32-true")));
}

bool lower_is_better(const std::string& key) {
  for (const char* k : {"loss", "mse", "mae", "perplexity"})
    if (key.find(k) != std::string::npos) return true;
  return false;
}

/// Why the checkpoint at `path` cannot be trusted, or "": its zip records must match their
/// CRC-32 and the file its sha256 as the store recorded it when it was written.
std::string checkpoint_problem(const std::string& path, const std::vector<store::Artifact>& known) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return "cannot be read";
  if (const ZipCheck zip = check_zip(bytes); !zip.sound()) return zip.problem;
  const std::string absolute = fs::absolute(path).string();
  for (const auto& a : known) {
    // The bytes already read: the file is not read a second time to hash it.
    if (a.path == absolute && !a.sha256.empty() && a.sha256 != store::sha256_hex(bytes)) {
      return "its sha256 is not the one recorded when it was written (" + a.sha256.substr(0, 12) +
             "...): the file changed since";
    }
  }
  return "";
}

/// A resume starts only from a sound checkpoint; otherwise the error names the file and the
/// run's other checkpoints that pass the same checks.
void check_resume_point(store::RunStore& store, const std::string& run_id,
                        const std::string& path) {
  const auto known = store.artifacts(run_id);
  const std::string problem = checkpoint_problem(path, known);
  if (problem.empty()) return;
  std::string sound;
  for (const auto& a : known) {
    if (a.kind != "checkpoint" || a.path == fs::absolute(path).string() || !fs::exists(a.path))
      continue;
    if (checkpoint_problem(a.path, known).empty()) sound += "\n  sound: " + a.path;
  }
  throw CheckpointCorruptError(
      "cannot resume run " + run_id + " from " + path + ": " + problem +
      (sound.empty() ? "\nno other checkpoint of this run is sound"
                     : sound + "\ncopy a sound one over checkpoints/last.ckpt to resume from it"));
}

}  // namespace

bool env_rank_zero() {
  // torchrun sets RANK, our launcher LOCAL_RANK (and the user NODE_RANK on other nodes),
  // torchelastic GROUP_RANK, SLURM SLURM_PROCID.
  for (const char* var : {"RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID"}) {
    if (const char* v = std::getenv(var); v && std::string(v) != "0") return false;
  }
  return true;
}

int run_recipe(const RunRequest& request) {
  const std::string store_path =
      request.store.empty() ? store::default_store_path() : request.store;
  const bool rank_zero = env_rank_zero();
  // Children started by the launcher inherit these from rank 0: the same run, folder and seed.
  const char* inherited_id = std::getenv("FABRIC_EXP_RUN_ID");
  std::string run_id = inherited_id ? inherited_id : "";
  std::string run_dir = std::getenv("FABRIC_EXP_RUN_DIR") ? std::getenv("FABRIC_EXP_RUN_DIR") : "";

  // ---- the recipe -------------------------------------------------------------------------------
  std::string recipe_path = request.recipe;
  std::optional<store::RunRecord> resumed;
  std::map<std::string, std::string> tags;  // checked before anything is created
  for (const auto& t : request.tags) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--tag '" + t + "': expected key=value");
    tags[t.substr(0, eq)] = t.substr(eq + 1);
  }
  std::unique_ptr<store::RunStore> store_db;
  if (!request.resume.empty()) {
    if (!fs::exists(store_path)) {
      throw store::StoreError("no run '" + request.resume +
                              "' to resume: there is no run store at '" + store_path + "'");
    }
    if (!request.recipe.empty()) {
      throw UsageError("--resume continues a recorded run with its own recipe; drop '" +
                       request.recipe + "' (or start a new run without --resume)");
    }
    store::RunStore reader(store_path);
    resumed = reader.get(reader.resolve(request.resume));
    if (resumed->status == "finished") {
      throw ValueError("run " + resumed->id + " already finished; `fabric-exp rerun " +
                       resumed->id + "` runs its recipe again");
    }
    run_id = resumed->id;
    run_dir = resumed->run_dir;
    recipe_path = run_dir + "/recipe.toml";
    if (!fs::exists(run_dir + "/checkpoints/last.ckpt")) {
      throw FileNotFoundError("run " + run_id + " has no checkpoint to resume from (" + run_dir +
                              "/checkpoints/last.ckpt)");
    }
    check_resume_point(reader, run_id, run_dir + "/checkpoints/last.ckpt");
  }
  exp::Recipe recipe =
      exp::load_recipe(recipe_path, resumed ? std::vector<std::string>{} : request.overrides);
  // Paths first, while the nodes still know the file that wrote them.
  exp::absolutize_paths(recipe.table, fs::absolute(recipe_path).parent_path().string());
  toml::table resolved = exp::with_defaults(recipe.table);
  // Opened once the recipe is known to be good: a recipe error creates nothing.
  if (rank_zero && !inherited_id) store_db = std::make_unique<store::RunStore>(store_path);
  const toml::table& run_table = *resolved["run"].as_table();
  const toml::table& fabric_table = *resolved["fabric"].as_table();

  // ---- the run: created once, by rank 0, before the launcher starts the other ranks -------------
  int64_t seed = 0;
  if (resumed) {
    seed = resumed->seed;
  } else if (request.seed) {
    seed = *request.seed;
  } else if (auto s = run_table["seed"].value<int64_t>()) {
    seed = *s;
  } else {
    seed = int64_t(std::random_device{}() & 0x7fffffff);
  }
  if (const char* inherited_seed = std::getenv("FABRIC_EXP_SEED"))
    seed = std::atoll(inherited_seed);
  if (rank_zero && !inherited_id) {
    if (resumed) {
      store_db->reopen_run(run_id);
    } else {
      store::NewRun nr;
      nr.name = run_table["name"].value_or(std::string());
      if (nr.name.empty()) nr.name = fs::path(recipe_path).stem().string();
      nr.experiment = run_table["experiment"].value_or(std::string("default"));
      nr.recipe_path = fs::absolute(recipe_path).string();
      nr.recipe_text = recipe.text;
      nr.resolved = exp::to_toml(resolved);
      nr.overrides = request.overrides;
      nr.params = exp::flatten(resolved);
      nr.env = environment_facts();
      nr.seed = seed;
      nr.note = request.note;
      nr.parent = request.parent;
      if (!request.sweep_id.empty()) {
        nr.parent = request.sweep_id;
        nr.name = (request.sweep_name.empty() ? nr.name : request.sweep_name) + "-t" +
                  std::to_string(request.trial);
        nr.tags["sweep"] = request.sweep_id;
        nr.tags["trial"] = std::to_string(request.trial);
      }
      nr.runs_root = run_table["output_dir"].value_or(std::string("runs"));
      auto git = git_state(fs::absolute(recipe_path).parent_path().string());
      nr.git_commit = git.commit;
      nr.git_dirty = git.dirty;
      nr.tags.insert(tags.begin(), tags.end());
      run_id = store_db->create_run(nr);
      run_dir = store_db->get(run_id)->run_dir;
      const std::string text = exp::to_toml(resolved);
      atomic_write(run_dir + "/recipe.toml", text.data(), text.size());
      atomic_write(run_dir + "/recipe.source.toml", recipe.text.data(), recipe.text.size());
    }
    if (!request.sweep_id.empty())
      sweep::SweepStore(*store_db).attach_run(request.sweep_id, request.trial, run_id);
    setenv("FABRIC_EXP_RUN_ID", run_id.c_str(), 1);
    setenv("FABRIC_EXP_RUN_DIR", run_dir.c_str(), 1);
    setenv("FABRIC_EXP_SEED", std::to_string(seed).c_str(), 1);
  }

  std::unique_ptr<store::MetricWriter> writer;
  auto finish = [&](const std::string& status, int code, const std::string& error) {
    if (!store_db) return;
    try {
      if (writer) writer->close();
    } catch (const std::exception& e) {
      std::cerr << "fabric-exp: warning: metrics not written: " << e.what() << "\n";
    }
    store_db->finish_run(run_id, status, code, error);
  };

  try {
    // ---- Fabric
    // ----------------------------------------------------------------------------------
    auto callbacks = build_callbacks(resolved);
    if (!request.sweep_id.empty())
      callbacks.push_back(make_trial_pruner(store_path, request.sweep_id, request.trial));
    FabricOptions options;
    options.accelerator = fabric_table["accelerator"].value_or(std::string("auto"));
    options.strategy = fabric_table["strategy"].value_or(std::string("auto"));
    options.devices = devices_of(fabric_table);
    options.num_nodes = int(fabric_table["num_nodes"].value_or(int64_t(1)));
    options.precision = precision_of(fabric_table);
    options.callbacks.assign(callbacks.begin(), callbacks.end());
    double flush_seconds = 1.0;  // the store logger's
    if (const auto* loggers = resolved["loggers"].as_array()) {
      for (const auto& l : *loggers) {
        const auto* t = l.as_table();
        const std::string kind = (*t)["kind"].value_or(std::string());
        if (kind == "store") {
          flush_seconds = (*t)["flush_seconds"].value_or(1.0);
        } else if (run_dir.empty()) {
          continue;  // a rank that does not know the run's folder yet writes no files anyway
        } else if (kind == "csv") {
          CSVLoggerOptions csv;
          csv.root_dir = run_dir;
          csv.name = "";
          csv.version = std::string("csv");
          csv.flush_logs_every_n_steps = (*t)["flush_logs_every_n_steps"].value_or(int64_t(100));
          options.loggers.push_back(std::make_shared<CSVLogger>(csv));
        } else if (kind == "tensorboard") {
          TensorBoardLoggerOptions tb;
          tb.root_dir = run_dir;
          tb.name = "";
          tb.version = std::string("tensorboard");
          options.loggers.push_back(std::make_shared<TensorBoardLogger>(tb));
        }
      }
    }
    Fabric fabric(options);
    fabric.launch();
    // An external launcher (torchrun) starts every rank itself: rank 0's run id reaches the
    // others here.
    run_dir = fabric.broadcast(run_dir);
    run_id = fabric.broadcast(run_id);
    seed = fabric.broadcast(seed);
    Fabric::seed_everything(seed, /*workers=*/true, /*verbose=*/false);
    install_stop_signal_handlers();

    Reporter reporter(fabric.is_global_zero(), run_dir + "/train.log");
    if (fabric.is_global_zero()) {
      if (store_db) store_db->set_world_size(run_id, fabric.world_size());
      writer = std::make_unique<store::MetricWriter>(store_path, run_id, flush_seconds);
      reporter.line(std::string(resumed ? "resuming" : "run") + " " + run_id + "  " + run_dir +
                    "  (" + fabric.strategy_name() + ", " + std::to_string(fabric.world_size()) +
                    " process" + (fabric.world_size() > 1 ? "es" : "") + ", " +
                    fabric.device().str() + ", seed " + std::to_string(seed) + ")");
    }
    TrainerHooks hooks;
    hooks.interrupted = [] { return stop_signal().load(); };
    hooks.metrics = [&](const std::map<std::string, double>& values, int64_t step, int64_t epoch) {
      if (!writer) return;
      const double now = store::now_seconds();
      for (const auto& [k, v] : values) writer->add({k, step, epoch, v, now});
    };
    hooks.before_checkpoint = [&] {
      if (writer) writer->flush();
    };
    hooks.checkpoint_written = [&](const std::string& path) {
      if (!store_db) return;
      store_db->add_artifact(run_id, fs::absolute(path).string(), "checkpoint");
    };
    hooks.checkpoint_removed = [&](const std::string& path) {
      if (store_db) store_db->remove_artifact(run_id, fs::absolute(path).string());
    };
    Trainer trainer(fabric, resolved, recipe.table, callbacks, run_dir, reporter, hooks);
    FitResult result = trainer.fit(resumed ? run_dir + "/checkpoints/last.ckpt" : "");

    for (const auto& logger : fabric.loggers())
      logger->finalize(result.signal ? "aborted" : "success");
    const int code = result.signal ? 128 + result.signal : 0;
    const std::string status = result.signal ? "killed" : result.pruned ? "pruned" : "finished";
    if (fabric.is_global_zero() && store_db) {
      finish(status, code,
             result.signal   ? std::string("stopped by ") + strsignal(result.signal)
             : result.pruned ? result.stop_reason
                             : "");
      std::vector<Reporter::Row> rows;
      for (const auto& s : store_db->summaries(run_id)) {
        if (s.key == "epoch" || s.key.rfind("lr", 0) == 0) continue;
        const bool low = lower_is_better(s.key);
        rows.push_back({s.key, s.last, low ? s.min : s.max, low ? s.min_step : s.max_step});
      }
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.2f s", result.seconds);
      std::vector<std::pair<std::string, std::string>> facts{
          {"run", run_id + " (" + status + ")"},
          {"steps", std::to_string(result.global_step)},
          {"time", secs},
          {"folder", run_dir}};
      if (!result.last_checkpoint.empty()) facts.emplace_back("checkpoint", result.last_checkpoint);
      if (!result.stop_reason.empty()) facts.emplace_back("stopped", result.stop_reason);
      if (result.signal) {
        facts.emplace_back("resume with", "fabric-exp run --resume " + run_id);
      }
      reporter.summary(rows, facts);
    }
    return code;
  } catch (const exp::RecipeError& e) {
    finish("failed", 2, e.what());
    throw;
  } catch (const std::exception& e) {
    finish("failed", 1, e.what());
    throw;
  }
}

}  // namespace fabric::engine
