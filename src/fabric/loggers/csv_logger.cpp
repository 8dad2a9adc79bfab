#include "fabric/loggers/csv_logger.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/log.hpp"

namespace fs = std::filesystem;

namespace fabric {

namespace {
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}
}  // namespace

CSVLogger::CSVLogger(CSVLoggerOptions options) : options_(std::move(options)) {
  log_dir_ = detail::versioned_dir(options_.root_dir, options_.name, options_.version, &version_);
}

CSVLogger::~CSVLogger() {
  try {
    save();
  } catch (...) {
  }
}

void CSVLogger::prepare_dir() {
  if (prepared_) return;
  prepared_ = true;
  std::error_code ec;
  if (fs::exists(log_dir_) && !fs::is_empty(log_dir_, ec)) {
    warn("Experiment logs directory " + log_dir_ +
         " exists and is not empty. Previous log files in this directory will be deleted when the "
         "new ones are saved!");
    fs::remove(metrics_file(), ec);
  }
  fs::create_directories(log_dir_, ec);
  if (ec) throw Error("cannot create log folder '" + log_dir_ + "': " + ec.message());
}

void CSVLogger::log_metrics(const std::map<std::string, double>& metrics,
                            std::optional<int64_t> step) {
  if (log_rank() != 0) return;
  int64_t s = step ? *step : auto_step_;
  ++auto_step_;
  std::map<std::string, std::string> row;
  for (const auto& [k, v] : metrics) {
    row[options_.prefix.empty() ? k : options_.prefix + "-" + k] = fmt::format("{}", v);
  }
  row["step"] = std::to_string(s);
  pending_.push_back(std::move(row));
  if ((s + 1) % options_.flush_logs_every_n_steps == 0) save();
}

void CSVLogger::save() {
  if (log_rank() != 0 || pending_.empty()) return;
  prepare_dir();
  std::set<std::string> keys = written_keys_;
  for (const auto& row : pending_) {
    for (const auto& [k, v] : row) keys.insert(k);
  }
  const std::string path = metrics_file();
  std::vector<std::map<std::string, std::string>> rows;
  bool rewrite = keys != written_keys_ || !fs::exists(path);
  if (rewrite && fs::exists(path)) {  // re-read the old rows to widen the header
    std::ifstream in(path);
    std::string line;
    std::vector<std::string> header;
    if (std::getline(in, line)) header = split_csv_line(line);
    while (std::getline(in, line)) {
      auto cells = split_csv_line(line);
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
        if (!cells[i].empty()) row[header[i]] = cells[i];
      }
      rows.push_back(std::move(row));
    }
  }
  rows.insert(rows.end(), pending_.begin(), pending_.end());
  std::ofstream out(path, rewrite ? std::ios::trunc : std::ios::app);
  if (!out) throw Error("cannot write '" + path + "'");
  auto write_row = [&](const std::map<std::string, std::string>& row) {
    bool first = true;
    for (const auto& k : keys) {
      if (!first) out << ',';
      first = false;
      auto it = row.find(k);
      if (it != row.end()) out << it->second;
    }
    out << '\n';
  };
  if (rewrite) {
    bool first = true;
    for (const auto& k : keys) out << (first ? "" : ",") << k, first = false;
    out << '\n';
    for (const auto& row : rows) write_row(row);
  } else {
    for (const auto& row : pending_) write_row(row);
  }
  written_keys_ = keys;
  pending_.clear();
}

}  // namespace fabric
