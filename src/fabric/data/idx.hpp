// Reader for the IDX format of MNIST / Fashion-MNIST, gzipped or not.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace fabric::data {

/// The file's array as a tensor of its dtype and dims (uint8 images: [N, 28, 28]). Throws
/// FileNotFoundError, or fabric::Error naming the file for a bad header or truncated data.
at::Tensor read_idx(const std::string& path);

}  // namespace fabric::data
