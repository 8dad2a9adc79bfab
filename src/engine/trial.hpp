// `fabric-exp sweep trial SWEEP N`: runs trial N of a sweep as a normal run linked to it, and
// records how it ended with the trial. The local controller starts one such process per trial;
// a SLURM job array task is one too.
#pragma once

#include <cstdint>
#include <string>

namespace fabric::engine {

/// A trial whose run was interrupted with a checkpoint continues that run; otherwise a new run
/// of the sweep's base recipe with the trial's parameters starts. Returns run_recipe's status.
int run_trial(const std::string& store_path, const std::string& sweep_ref, int64_t number);

}  // namespace fabric::engine
