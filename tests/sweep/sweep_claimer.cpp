// One worker process of the claim test: claims trials of a sweep until none is left, ending each
// as finished with its number as its value; prints each number it got.
//   sweep_claimer STORE SWEEP
#include <iostream>

#include "sweep/sweep_store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  using namespace fabric;
  try {
    store::RunStore runs(argv[1]);
    sweep::SweepStore sweeps(runs);
    const std::string id = argv[2];
    while (auto claim = sweeps.claim_trial(id, [](int64_t number,
                                                  const std::vector<sweep::TrialRecord>& trials) {
      return "x = " + std::to_string(number) + "\nseen = " + std::to_string(trials.size());
    })) {
      sweeps.end_trial(id, claim->number, store::Status::Finished, double(claim->number));
      std::cout << claim->number << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sweep_claimer: " << e.what() << "\n";
    return 1;
  }
}
