// One writer process of the concurrency tests: creates `runs` runs (default 1) in the store, one
// after another, each logging `steps` steps of `keys` metrics through the background
// MetricWriter as a training run does, then finishing. Prints each run's id.
//   store_writer STORE STEPS KEYS [RUNS]
#include <cstdlib>
#include <iostream>

#include "store/metric_writer.hpp"
#include "store/run_store.hpp"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) return 2;
  const std::string path = argv[1];
  const int steps = std::atoi(argv[2]), keys = std::atoi(argv[3]);
  const int runs = argc == 5 ? std::atoi(argv[4]) : 1;
  try {
    for (int r = 0; r < runs; ++r) {
      std::string id;
      fabric::store::RunStore store(path);
      fabric::store::NewRun run;
      run.name = "writer";
      run.experiment = "concurrency";
      run.runs_root = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                      "/store-writer-runs";
      run.params = {{"writer.steps", argv[2]}};
      id = store.create_run(run);
      fabric::store::MetricWriter writer(path, id, /*flush_seconds=*/0.01);
      for (int s = 0; s < steps; ++s) {
        for (int k = 0; k < keys; ++k) writer.add({"m" + std::to_string(k), s, 0, double(s), 0.0});
        // Many short transactions, so that the writers really contend for the lock.
        if (s % 20 == 19) writer.flush();
      }
      writer.close();
      store.finish_run(id, fabric::store::Status::Finished, 0);
      std::cout << id << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "store_writer: " << e.what() << "\n";
    return 1;
  }
}
