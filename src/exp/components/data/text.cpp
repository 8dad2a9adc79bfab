// [data] kind = "text": Byte-level language-model windows from a text file.
#include "exp/components/data/loader_params.hpp"
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TextDataConfig : LoaderParams {
  std::string path;
  int64_t context = 128;
  int64_t stride = 0;
  double test_fraction = 0.1;
};
}  // namespace

ComponentEntry text_data_entry() {
  static const auto spec = add_loader_params(
      ParamSpec<TextDataConfig>("data", "text",
                                "Byte-level language-model windows from a text file.")
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
  return {"data", "text", &spec};
}

}  // namespace fabric::exp::components
