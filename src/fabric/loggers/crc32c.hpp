// CRC-32C (Castagnoli), as TFRecord framing needs; zlib only has CRC-32.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fabric::detail {

uint32_t crc32c(const void* data, size_t size);
/// TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace fabric::detail
