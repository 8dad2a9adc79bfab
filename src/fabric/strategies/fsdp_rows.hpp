// fsdp's layout of a unit's shards: rows [world, chunk], one per rank, each rank's chunk of every
// parameter side by side; the collectives over rows and the copies between rows and a flat
// parameter.
#pragma once

#include <ATen/ATen.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

namespace fabric::detail {

/// Fills `rows` [world, n] with every rank's `local` [n].
void all_gather_rows(c10d::ProcessGroup& pg, int world, at::Tensor& rows, const at::Tensor& local);
/// Sums `rows` [world, n] over ranks and returns this rank's row. Gloo in LibTorch 1.13 has no
/// reduce-scatter: there an all-reduce (twice the traffic) and the rank's row stand in, and
/// `missing` remembers it.
at::Tensor reduce_scatter_rows(c10d::ProcessGroup& pg, int rank, int world, at::Tensor& rows,
                               bool& missing);
/// [world, chunk] rows (rank-major chunks) -> the first numel elements of the flat parameter.
void copy_rows_to_flat(const at::Tensor& rows, at::Tensor flat);
/// The flat parameter -> [world, chunk] rows, the padding left as it is.
void copy_flat_to_rows(const at::Tensor& flat, at::Tensor rows);

}  // namespace fabric::detail
