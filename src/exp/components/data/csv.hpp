// [data] kind = "csv": Numeric feature columns and a target column from a CSV file.
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CsvDataConfig : LoaderParams {
  std::string path;
  std::string target;
  bool header = true;
  std::string delimiter = ",";
  std::string task = "classification";
  double test_fraction = 0.0;
};

inline const auto& csv_data_spec() {
  static const auto spec = add_loader_params(
      ParamSpec<CsvDataConfig>("data", "csv",
                               "Numeric feature columns and a target column from a CSV file.")
          .gives_sample_rank(1)
          .param(&CsvDataConfig::path, "path", "The CSV file.")
          .required()
          .path()
          .param(&CsvDataConfig::target, "target",
                 "Name (with a header) or 0-based index of the target column.")
          .required()
          .param(&CsvDataConfig::header, "header", "The first row names the columns.")
          .param(&CsvDataConfig::delimiter, "delimiter", "Field separator.")
          .param(&CsvDataConfig::task, "task", "Integer class targets or float regression targets.")
          .choices({"classification", "regression"})
          .task()
          .param(&CsvDataConfig::test_fraction, "test_fraction",
                 "Fraction held out as the test split.")
          .check(ge(0))
          .check(lt(1)));
  return spec;
}

}  // namespace fabric::exp::components
