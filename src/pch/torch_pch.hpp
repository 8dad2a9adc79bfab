// Precompiled for every TU of the targets that name it (meson cpp_pch). Only stable, heavy headers.
// An include guard, not #pragma once: GCC warns about the pragma in a header compiled alone.
#ifndef FABRIC_PCH_TORCH_PCH_HPP
#define FABRIC_PCH_TORCH_PCH_HPP
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

#endif  // FABRIC_PCH_TORCH_PCH_HPP
