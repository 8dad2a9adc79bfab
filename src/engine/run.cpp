#include "engine/run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "common/stop_signal.hpp"
#include "engine/environment.hpp"
#include "engine/loggers.hpp"
#include "engine/model.hpp"
#include "engine/trainer.hpp"
#include "engine/trial_pruner.hpp"
#include "exp/components/fabric/fabric.hpp"
#include "exp/components/run/run.hpp"
#include "exp/recipe/recipe.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/checkpoint/sharded_checkpoint.hpp"
#include "fabric/checkpoint/zip_integrity.hpp"
#include "fabric/loggers/store_logger.hpp"
#include "store/metric_writer.hpp"
#include "store/run_store.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

namespace {

/// Why the checkpoint at `path` cannot be trusted, or "": its zip records must match their
/// CRC-32 and the file its sha256 as the store recorded it when it was written. A sharded
/// checkpoint is a folder: each of its files is checked, and the folder's manifest digest.
std::string checkpoint_problem(const std::string& path, const std::vector<store::Artifact>& known) {
  const std::string absolute = fs::absolute(path).string();
  const store::Artifact* recorded = nullptr;
  for (const auto& a : known) {
    if (a.path == absolute && !a.sha256.empty()) recorded = &a;
  }
  std::string digest;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (const ZipCheck zip = check_zip(bytes); !zip.sound())
        return e.path().filename().string() + ": " + zip.problem;
    }
    if (recorded) digest = store::sha256_folder(path);
  } else {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return "cannot be read";
    if (const ZipCheck zip = check_zip(bytes); !zip.sound()) return zip.problem;
    // The bytes already read: the file is not read a second time to hash it.
    if (recorded) digest = store::sha256_hex(bytes);
  }
  if (recorded && digest != recorded->sha256) {
    return "its sha256 is not the one recorded when it was written (" +
           recorded->sha256.substr(0, 12) + "...): the file changed since";
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

namespace {

/// One `fabric-exp run`, as the steps it takes: read the request, load the recipe, create the
/// run, launch Fabric, train, record how it ended.
class RunSession {
 public:
  explicit RunSession(const RunRequest& request)
      : request_(request),
        store_path_(request.store.empty() ? store::default_store_path() : request.store),
        rank_zero_(env_rank_zero()),
        // Children started by the launcher inherit these from rank 0: the same run, folder, seed.
        inherited_(std::getenv("FABRIC_EXP_RUN_ID") != nullptr),
        run_id_(inherited_ ? std::getenv("FABRIC_EXP_RUN_ID") : ""),
        run_dir_(std::getenv("FABRIC_EXP_RUN_DIR") ? std::getenv("FABRIC_EXP_RUN_DIR") : "") {}

  int run() {
    read_tags();
    if (!request_.resume.empty()) open_resumed();
    load_recipe();
    choose_seed();
    if (creates_run()) {
      create_run();
      // The heartbeat starts with the run: launching the other ranks or loading data takes
      // longer than the two periods after which other processes take a silent run for dead.
      writer_ = std::make_shared<store::MetricWriter>(store_, run_id_);
    }
    try {
      return train();
    } catch (const exp::RecipeError& e) {
      finish(store::Status::Failed, 2, e.what());
      throw;
    } catch (const std::exception& e) {
      finish(store::Status::Failed, 1, e.what());
      throw;
    }
  }

 private:
  /// Rank 0 of a run not started by another process's launcher creates and records the run.
  bool creates_run() const { return rank_zero_ && !inherited_; }

  /// --tag key=value, checked before anything is created.
  void read_tags() {
    for (const auto& t : request_.tags) {
      const auto eq = t.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("--tag '" + t + "': expected key=value");
      tags_[t.substr(0, eq)] = t.substr(eq + 1);
    }
  }

  /// --resume: the run, its recipe and a sound checkpoint to continue from.
  void open_resumed() {
    if (!store::is_store_url(store_path_) && !fs::exists(store_path_)) {
      throw store::StoreError("no run '" + request_.resume +
                              "' to resume: there is no run store at '" + store_path_ + "'");
    }
    if (!request_.recipe.empty()) {
      throw UsageError("--resume continues a recorded run with its own recipe; drop '" +
                       request_.recipe + "' (or start a new run without --resume)");
    }
    store::RunStore reader(store_path_);
    resumed_ = reader.get(reader.resolve(request_.resume));
    if (resumed_->status == store::Status::Finished) {
      throw ValueError("run " + resumed_->id + " already finished; `fabric-exp rerun " +
                       resumed_->id + "` runs its recipe again");
    }
    run_id_ = resumed_->id;
    run_dir_ = resumed_->run_dir;
    if (rank_zero_) restore_interrupted_swap(resume_point());
    if (fs::exists(resume_point())) {
      check_resume_point(reader, run_id_, resume_point());
      resume_from_ = resume_point();
      return;
    }
    // A checkpoint the store recorded and that is gone was removed by someone: not a start over.
    for (const auto& a : reader.artifacts(run_id_)) {
      if (a.path == fs::absolute(resume_point()).string()) {
        throw FileNotFoundError("cannot resume run " + run_id_ + ": its checkpoint " +
                                resume_point() + " was recorded but is gone");
      }
    }
    // Stopped before its first checkpoint (Lightning's ckpt_path="last" without one): the run
    // trains again from the start (resume_from_ stays ""), with its seed, so it ends as an
    // uninterrupted run would.
  }

  std::string resume_point() const { return run_dir_ + "/checkpoints/last.ckpt"; }
  std::string recipe_path() const { return resumed_ ? run_dir_ + "/recipe.toml" : request_.recipe; }

  void load_recipe() {
    recipe_ =
        exp::load_recipe(recipe_path(), resumed_ ? std::vector<std::string>{} : request_.overrides);
    // Paths first, while the nodes still know the file that wrote them.
    exp::absolutize_paths(recipe_.table, fs::absolute(recipe_path()).parent_path().string());
    resolved_ = exp::with_defaults(recipe_.table);
    run_ = exp::run_spec().parse(*resolved_["run"].as_table());
    fabric_ = exp::fabric_spec().parse(*resolved_["fabric"].as_table());
    // Opened once the recipe is known to be good: a recipe error creates nothing.
    if (creates_run()) store_ = std::make_shared<store::SharedRunStore>(store_path_);
  }

  /// The resumed run's seed, --seed (rerun), run.seed, or a fresh one; ranks inherit rank 0's.
  void choose_seed() {
    if (resumed_) {
      seed_ = resumed_->seed;
    } else if (request_.seed) {
      seed_ = *request_.seed;
    } else if (run_.seed) {
      seed_ = *run_.seed;
    } else {
      seed_ = int64_t(std::random_device{}() & 0x7fffffff);
    }
    if (const char* inherited_seed = std::getenv("FABRIC_EXP_SEED"))
      seed_ = std::atoll(inherited_seed);
  }

  store::NewRun new_run() const {
    store::NewRun nr;
    nr.name = run_.name.empty() ? fs::path(recipe_path()).stem().string() : run_.name;
    nr.experiment = run_.experiment;
    nr.recipe_path = fs::absolute(recipe_path()).string();
    nr.recipe_text = recipe_.text;
    nr.resolved = exp::to_toml(resolved_);
    nr.overrides = request_.overrides;
    nr.params = exp::flatten(resolved_);
    nr.env = environment_facts();
    nr.seed = seed_;
    nr.note = request_.note;
    nr.parent = request_.parent;
    if (!request_.sweep_id.empty()) {
      nr.parent = request_.sweep_id;
      nr.name = (request_.sweep_name.empty() ? nr.name : request_.sweep_name) + "-t" +
                std::to_string(request_.trial);
      nr.tags["sweep"] = request_.sweep_id;
      nr.tags["trial"] = std::to_string(request_.trial);
    }
    nr.runs_root = run_.output_dir;
    auto git = git_state(fs::absolute(recipe_path()).parent_path().string());
    nr.git_commit = git.commit;
    nr.git_dirty = git.dirty;
    nr.tags.insert(tags_.begin(), tags_.end());
    return nr;
  }

  /// The store row and the run's folder, once, by rank 0, before the launcher starts the other
  /// ranks (which find them in the environment).
  void create_run() {
    store_->with([&](store::RunStore& s) {
      if (resumed_) {
        s.reopen_run(run_id_);
      } else {
        run_id_ = s.create_run(new_run());
        run_dir_ = s.get(run_id_)->run_dir;
      }
      if (!request_.sweep_id.empty())
        sweep::SweepStore(s).attach_run(request_.sweep_id, request_.trial, run_id_);
    });
    if (!resumed_) {
      const std::string text = exp::to_toml(resolved_);
      atomic_write(run_dir_ + "/recipe.toml", text.data(), text.size());
      atomic_write(run_dir_ + "/recipe.source.toml", recipe_.text.data(), recipe_.text.size());
    }
    setenv("FABRIC_EXP_RUN_ID", run_id_.c_str(), 1);
    setenv("FABRIC_EXP_RUN_DIR", run_dir_.c_str(), 1);
    setenv("FABRIC_EXP_SEED", std::to_string(seed_).c_str(), 1);
  }

  FabricOptions fabric_options(const std::vector<std::shared_ptr<EngineCallback>>& callbacks) {
    FabricOptions options;
    options.accelerator = fabric_.accelerator;
    options.strategy = fabric_.strategy;
    options.devices = fabric_.devices.integer ? Devices(int(*fabric_.devices.integer))
                                              : Devices(fabric_.devices.text);
    options.num_nodes = int(fabric_.num_nodes);
    options.precision = fabric_.precision.integer ? PrecisionInput(int(*fabric_.precision.integer))
                                                  : PrecisionInput(fabric_.precision.text);
    options.fsdp.sharding_strategy = fabric_.fsdp.sharding_strategy;
    options.fsdp.state_dict_type = fabric_.fsdp.state_dict_type;  // sharded: last.ckpt is a folder
    if (fabric_.fsdp.unit == "block") {  // the model's blocks, known once it is built
      options.fsdp.auto_wrap_policy = [units = sharding_units_](const std::string&,
                                                                const torch::nn::Module& m) {
        return units->count(&m) > 0;
      };
    }
    options.callbacks.assign(callbacks.begin(), callbacks.end());
    loggers_.run_dir = run_dir_;  // "" on a rank that does not know it yet: it writes no files
    loggers_.store = store_;
    loggers_.run_id = run_id_;
    loggers_.writer = writer_;  // null on the ranks that do not record
    bool recorded = false;
    for (const auto& logger : build_each<LoggerFamily>(
             resolved_, [&](const std::string&) -> LoggerContext& { return loggers_; })) {
      if (!logger) continue;
      recorded = recorded || dynamic_cast<StoreLogger*>(logger.get()) != nullptr;
      options.loggers.push_back(logger);
    }
    // The run store records every run: a recipe's [[loggers]] kind = "store" entry tunes it.
    if (!recorded && writer_)
      options.loggers.push_back(std::make_shared<StoreLogger>(store_, run_id_, writer_));
    return options;
  }

  /// What the trainer reports back besides its metrics (those reach the store through the
  /// StoreLogger): checkpoints as artifacts.
  TrainerHooks hooks() {
    TrainerHooks hooks;
    hooks.interrupted = [] { return stop_signal().load(); };
    hooks.before_checkpoint = [this](const std::string& path) {
      // The file is about to be replaced: a kill between the rename and the new record must
      // not leave the old digest to refuse the new, sound file (its zip CRCs are still checked).
      if (store_)
        store_->with(
            [&](store::RunStore& s) { s.remove_artifact(run_id_, fs::absolute(path).string()); });
    };
    hooks.checkpoint_written = [this](const std::string& path) {
      if (store_)
        store_->with([&](store::RunStore& s) {
          s.add_artifact(run_id_, fs::absolute(path).string(), "checkpoint");
        });
    };
    hooks.checkpoint_removed = [this](const std::string& path) {
      if (store_)
        store_->with(
            [&](store::RunStore& s) { s.remove_artifact(run_id_, fs::absolute(path).string()); });
    };
    hooks.model_built = [units = sharding_units_](const NetImpl& model) {
      auto blocks = model.sharding_blocks();
      units->clear();
      units->insert(blocks.begin(), blocks.end());
    };
    return hooks;
  }

  int train() {
    auto callbacks = build_callbacks(resolved_);
    if (!request_.sweep_id.empty())
      callbacks.push_back(make_trial_pruner(store_, request_.sweep_id, request_.trial));
    Fabric fabric(fabric_options(callbacks));
    fabric.launch();
    // An external launcher (torchrun) starts every rank itself: rank 0's run id reaches the
    // others here.
    run_dir_ = fabric.broadcast(run_dir_);
    run_id_ = fabric.broadcast(run_id_);
    seed_ = fabric.broadcast(seed_);
    // Rank 0 decided where a resume starts (it may have put back a checkpoint folder).
    resume_from_ = fabric.broadcast(resume_from_);
    Fabric::seed_everything(seed_, /*workers=*/true, /*verbose=*/false);
    install_stop_signal_handlers();

    Reporter reporter(fabric.is_global_zero(), run_dir_ + "/train.log");
    if (fabric.is_global_zero()) {
      if (store_)
        store_->with([&](store::RunStore& s) { s.set_world_size(run_id_, fabric.world_size()); });
      reporter.line(std::string(resumed_ ? "resuming" : "run") + " " + run_id_ + "  " + run_dir_ +
                    "  (" + fabric.strategy_name() + ", " + std::to_string(fabric.world_size()) +
                    " process" + (fabric.world_size() > 1 ? "es" : "") + ", " +
                    fabric.device().str() + ", seed " + std::to_string(seed_) + ")");
    }
    Trainer trainer(fabric, resolved_, recipe_.table, callbacks, run_dir_, reporter, hooks());
    if (resumed_ && resume_from_.empty() && fabric.is_global_zero()) {
      reporter.line("run " + run_id_ + " stopped before its first checkpoint (" + resume_point() +
                    "): it trains again from the start");
    }
    FitResult result = trainer.fit(resume_from_);

    for (const auto& logger : fabric.loggers())
      logger->finalize(result.signal ? "aborted" : "success");
    const int code = result.signal ? 128 + result.signal : 0;
    const store::Status status = result.signal   ? store::Status::Killed
                                 : result.pruned ? store::Status::Pruned
                                                 : store::Status::Finished;
    if (fabric.is_global_zero() && store_) {
      finish(status, code,
             result.signal   ? std::string("stopped by ") + strsignal(result.signal)
             : result.pruned ? result.stop_reason
                             : "");
      summarize(reporter, result, status);
    }
    return code;
  }

  /// Metrics written, the run's row closed with its status (rank 0).
  void finish(store::Status status, int code, const std::string& error) {
    if (!store_) return;
    try {
      if (writer_) writer_->close();
    } catch (const std::exception& e) {
      std::cerr << "fabric-exp: warning: metrics not written: " << e.what() << "\n";
    }
    store_->with([&](store::RunStore& s) { s.finish_run(run_id_, status, code, error); });
  }

  /// The final table: each metric's last and best value, and how the run ended.
  void summarize(Reporter& reporter, const FitResult& result, store::Status status) {
    std::vector<Reporter::Row> rows;
    std::string system;  // the sys/ figures: a line, not rows with a "best"
    const auto summaries = store_->with([&](store::RunStore& s) { return s.summaries(run_id_); });
    for (const auto& s : summaries) {
      if (s.key == "epoch" || s.key.rfind("lr", 0) == 0) continue;
      if (s.key.rfind("sys/", 0) == 0) {
        system += (system.empty() ? "" : ", ") + s.key.substr(4) + " " +
                  fmt::format("{:.4g}", s.last) + " (max " + fmt::format("{:.4g}", s.max) + ")";
        continue;
      }
      const auto declared = result.lower_is_better.find(s.key);
      const bool low = declared != result.lower_is_better.end() && declared->second;
      rows.push_back({s.key, s.last, low ? s.min : s.max, low ? s.min_step : s.max_step});
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f s", result.seconds);
    std::vector<std::pair<std::string, std::string>> facts{
        {"run", run_id_ + " (" + status_name(status) + ")"},
        {"steps", std::to_string(result.global_step)},
        {"time", secs},
        {"folder", run_dir_}};
    if (!system.empty()) facts.emplace_back("system", system);
    if (!result.last_checkpoint.empty()) facts.emplace_back("checkpoint", result.last_checkpoint);
    if (!result.stop_reason.empty()) facts.emplace_back("stopped", result.stop_reason);
    if (result.signal) facts.emplace_back("resume with", "fabric-exp run --resume " + run_id_);
    reporter.summary(rows, facts);
  }

  const RunRequest& request_;
  const std::string store_path_;
  const bool rank_zero_, inherited_;
  std::string run_id_, run_dir_;
  std::map<std::string, std::string> tags_;
  std::optional<store::RunRecord> resumed_;
  std::string resume_from_;  // the checkpoint a resumed run continues from ("": the start)
  std::shared_ptr<store::SharedRunStore> store_;  // one connection: this thread, the writer's
  exp::Recipe recipe_{};
  toml::table resolved_;
  exp::RunConfig run_{};
  exp::FabricConfig fabric_{};
  /// [fabric.fsdp] unit = "block": the built model's blocks, which the fsdp policy picks.
  std::shared_ptr<std::set<const torch::nn::Module*>> sharding_units_ =
      std::make_shared<std::set<const torch::nn::Module*>>();
  int64_t seed_ = 0;
  LoggerContext loggers_{};
  std::shared_ptr<store::MetricWriter> writer_;
};

}  // namespace

int run_recipe(const RunRequest& request) {
  return RunSession(request).run();
}

}  // namespace fabric::engine
