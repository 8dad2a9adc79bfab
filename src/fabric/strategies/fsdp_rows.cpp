#include "fabric/strategies/fsdp_rows.hpp"

#include <string>
#include <vector>

#include "common/log.hpp"

namespace fabric::detail {

void all_gather_rows(c10d::ProcessGroup& pg, int world, at::Tensor& rows, const at::Tensor& local) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world; ++r) out[0].push_back(rows[r]);
  std::vector<at::Tensor> in{local};
  pg.allgather(out, in)->wait();
}

at::Tensor reduce_scatter_rows(c10d::ProcessGroup& pg, int rank, int world, at::Tensor& rows,
                               bool& missing) {
  if (!missing) {
    at::Tensor out = at::empty({rows.size(1)}, rows.options());
    std::vector<at::Tensor> outputs{out};
    std::vector<std::vector<at::Tensor>> inputs(1);
    for (int r = 0; r < world; ++r) inputs[0].push_back(rows[r]);
    try {
      pg.reduce_scatter(outputs, inputs)->wait();
      return out;
    } catch (const c10::Error& e) {
      // Raised before any communication, identically on every rank.
      missing = true;
      info(std::string("fsdp: reduce_scatter is unavailable, all_reduce stands in: ") +
           e.what_without_backtrace());
    }
  }
  std::vector<at::Tensor> io{rows};
  pg.allreduce(io)->wait();
  return rows[rank].clone();
}

void copy_rows_to_flat(const at::Tensor& rows, at::Tensor flat) {
  const int64_t chunk = rows.size(1), numel = flat.numel();
  const int64_t whole = numel / chunk, rest = numel - whole * chunk;
  if (whole > 0)
    flat.narrow(0, 0, whole * chunk).view({whole, chunk}).copy_(rows.narrow(0, 0, whole));
  if (rest > 0) flat.narrow(0, whole * chunk, rest).copy_(rows[whole].narrow(0, 0, rest));
}

void copy_flat_to_rows(const at::Tensor& flat, at::Tensor rows) {
  const int64_t chunk = rows.size(1), numel = flat.numel();
  const int64_t whole = numel / chunk, rest = numel - whole * chunk;
  if (whole > 0)
    rows.narrow(0, 0, whole).copy_(flat.narrow(0, 0, whole * chunk).view({whole, chunk}));
  if (rest > 0) rows[whole].narrow(0, 0, rest).copy_(flat.narrow(0, whole * chunk, rest));
}

}  // namespace fabric::detail
