// A training step allocates and frees the same large buffers every step (a batch's activations,
// im2col workspaces of tens of MiB, the optimizer's temporaries). glibc serves blocks above its
// mmap threshold with a fresh mmap whose pages fault in again on every use (6 million page
// faults and a third of the CNN benchmark's step on CPU), and, once that threshold is set by
// hand, gives the top of the heap back to the kernel whenever more than M_TRIM_THRESHOLD (128
// KiB) is free there, so the next step faults it in again (Adam's step on the mlp: 600-950 us
// instead of 250 us, build/tools/bench/bench-optim-step). Keeping both thresholds at 1 GiB lets
// the step reuse its memory. Users who tune malloc themselves keep their settings.
#pragma once

#include <malloc.h>

#include <cstdlib>

namespace fabric {

inline void keep_large_blocks_in_heap() {
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_MMAP_THRESHOLD_") ||
      std::getenv("MALLOC_TRIM_THRESHOLD_")) {
    return;
  }
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace fabric
