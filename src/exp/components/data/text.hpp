// [data] kind = "text": Byte-level language-model windows from a text file.
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TextDataConfig : LoaderParams {
  std::string path;
  int64_t context = 128;
  int64_t stride = 0;
  double test_fraction = 0.1;
};

inline const auto& text_data_spec() {
  static const auto spec = add_loader_params(
      ParamSpec<TextDataConfig>("data", "text",
                                "Byte-level language-model windows from a text file.")
          .gives_task("language_model")
          .gives_sample_rank(1)
          .param(&TextDataConfig::path, "path", "The text file.")
          .required()
          .path()
          .param(&TextDataConfig::context, "context", "Tokens per window.")
          .check(ge(2))
          .param(&TextDataConfig::stride, "stride", "Offset between windows (0: context).")
          .check(ge(0))
          .param(&TextDataConfig::test_fraction, "test_fraction",
                 "Tail of the file kept as the test split.")
          .check(ge(0))
          .check(lt(1)));
  return spec;
}

}  // namespace fabric::exp::components
