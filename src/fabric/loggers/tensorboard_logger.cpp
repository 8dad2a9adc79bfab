#include "fabric/loggers/tensorboard_logger.hpp"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fabric/loggers/crc32c.hpp"

namespace fs = std::filesystem;

namespace fabric {

namespace {
// Protobuf wire format helpers.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_tag(std::string& out, int field, int wire) {
  put_varint(out, uint64_t(field) << 3 | uint64_t(wire));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
template <class T>
void put_fixed(std::string& out, int field, T v) {
  put_tag(out, field, sizeof(T) == 8 ? 1 : 5);
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian, as protobuf
  out.append(buf, sizeof(T));
}
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::string expand_user(const std::string& path) {
  if (path.rfind("~/", 0) == 0) {
    if (const char* home = std::getenv("HOME")) return std::string(home) + path.substr(1);
  }
  return path;
}
}  // namespace

std::string TensorBoardLogger::encode_scalar_event(double wall_time, int64_t step,
                                                   const std::string& tag, float value) {
  std::string v;  // Summary.Value
  put_bytes(v, 1, tag);
  put_fixed<float>(v, 2, value);
  std::string summary;
  put_bytes(summary, 1, v);
  std::string event;
  put_fixed<double>(event, 1, wall_time);
  put_tag(event, 2, 0);
  put_varint(event, uint64_t(step));
  put_bytes(event, 5, summary);
  return event;
}

std::string TensorBoardLogger::frame_record(const std::string& event) {
  std::string out;
  uint64_t len = event.size();
  char len_bytes[8];
  std::memcpy(len_bytes, &len, 8);
  uint32_t len_crc = detail::masked_crc32c(len_bytes, 8);
  uint32_t data_crc = detail::masked_crc32c(event.data(), event.size());
  out.append(len_bytes, 8);
  out.append(reinterpret_cast<const char*>(&len_crc), 4);
  out += event;
  out.append(reinterpret_cast<const char*>(&data_crc), 4);
  return out;
}

TensorBoardLogger::TensorBoardLogger(TensorBoardLoggerOptions options)
    : options_(std::move(options)) {
  options_.root_dir = expand_user(options_.root_dir);
  log_dir_ = detail::versioned_dir(options_.root_dir, options_.name, options_.version, &version_);
  if (!options_.sub_dir.empty()) log_dir_ = (fs::path(log_dir_) / options_.sub_dir).string();
}

TensorBoardLogger::~TensorBoardLogger() {
  if (file_) std::fclose(file_);
}

void TensorBoardLogger::open() {
  if (file_) return;
  std::error_code ec;
  fs::create_directories(log_dir_, ec);
  if (ec) throw Error("cannot create log folder '" + log_dir_ + "': " + ec.message());
  static int counter = 0;
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  event_file_ = (fs::path(log_dir_) /
                 ("events.out.tfevents." + std::to_string(int64_t(now_seconds())) + "." + host +
                  "." + std::to_string(::getpid()) + "." + std::to_string(counter++)))
                    .string();
  file_ = std::fopen(event_file_.c_str(), "wb");
  if (!file_) throw Error("cannot create '" + event_file_ + "': " + std::strerror(errno));
  std::string header;
  put_fixed<double>(header, 1, now_seconds());
  put_bytes(header, 3, "brain.Event:2");
  write_record(header);
  std::fflush(file_);
}

void TensorBoardLogger::write_record(const std::string& event) {
  std::string rec = frame_record(event);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size()) {
    throw Error("cannot write '" + event_file_ + "'");
  }
  if (++queued_ >= options_.max_queue) save();
}

void TensorBoardLogger::log_metrics(const std::map<std::string, double>& metrics,
                                    std::optional<int64_t> step) {
  if (log_rank() != 0) return;
  open();
  int64_t s = step ? *step : auto_step_;
  ++auto_step_;
  double t = now_seconds();
  for (const auto& [k, v] : metrics) {
    write_record(encode_scalar_event(t, s, options_.prefix.empty() ? k : options_.prefix + "-" + k,
                                     float(v)));
  }
}

void TensorBoardLogger::save() {
  if (file_) std::fflush(file_);
  queued_ = 0;
}

void TensorBoardLogger::finalize(const std::string&) {
  save();
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

}  // namespace fabric
