#include "fabric/strategies/strategy.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace fabric {

ReduceOp parse_reduce_op(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  if (name == "sum") return ReduceOp::Sum;
  if (name == "mean" || name == "avg") return ReduceOp::Mean;
  if (name == "max") return ReduceOp::Max;
  if (name == "min") return ReduceOp::Min;
  if (name == "product" || name == "prod") return ReduceOp::Product;
  throw ValueError("Unsupported reduce_op '" + raw +
                   "'. Use one of: sum, mean, max, min, product.");
}

std::string to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return "sum";
    case ReduceOp::Mean:
      return "mean";
    case ReduceOp::Max:
      return "max";
    case ReduceOp::Min:
      return "min";
    case ReduceOp::Product:
      return "product";
  }
  return "?";
}

}  // namespace fabric
