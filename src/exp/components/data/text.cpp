// [data] kind = "text": Byte-level language-model windows from a text file.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TextDataConfig {
  std::string path;
  int64_t context = 128;
  int64_t stride = 0;
  double test_fraction = 0.1;
  int64_t batch_size = 64;
  int64_t val_batch_size = 256;
  int64_t workers = 0;
  double val_fraction = 0.0;
};
}  // namespace

ComponentEntry text_data_entry() {
  static const auto spec =
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
          .check(lt(1))
          .param(&TextDataConfig::batch_size, "batch_size", "Training batch size (per process).")
          .check(ge(1))
          .param(&TextDataConfig::val_batch_size, "val_batch_size",
                 "Validation and test batch size.")
          .check(ge(1))
          .param(&TextDataConfig::workers, "workers", "Loader worker threads.")
          .check(ge(0))
          .param(&TextDataConfig::val_fraction, "val_fraction",
                 "Fraction of the training split held out for validation.")
          .check(ge(0))
          .check(lt(1));
  return {"data", "text", &spec};
}

}  // namespace fabric::exp::components
