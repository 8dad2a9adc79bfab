// Precompiled for every TU of the targets that name it (meson cpp_pch). Only stable, heavy headers.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize.h>
#include <map>
#include <memory>
#include <string>
#include <vector>
