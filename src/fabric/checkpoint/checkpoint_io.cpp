#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/checkpoint/ordered_dicts.hpp"
#include "fabric/checkpoint/zip_integrity.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/version.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.hpp"

namespace fs = std::filesystem;

namespace fabric {

namespace {

// The bytes a PyTorchStreamWriter produces. Its write callback must not throw: the writer's
// destructor finishes the archive through it, and a second exception there (out of memory again)
// would terminate the process. A failed append is remembered and reported by take().
class ZipSink {
 public:
  std::function<size_t(const void*, size_t)> writer() {
    return [this](const void* data, size_t n) -> size_t {
      if (failed_) return n;
      try {
        const char* p = static_cast<const char*>(data);
        bytes_.insert(bytes_.end(), p, p + n);
      } catch (const std::bad_alloc&) {
        failed_ = true;
        std::vector<char>().swap(bytes_);
      }
      return n;
    };
  }
  std::vector<char> take(const std::string& what) {
    if (failed_) throw Error("out of memory while " + what);
    return std::move(bytes_);
  }

 private:
  std::vector<char> bytes_;
  bool failed_ = false;
};

/// `value` with every typed container made plain: LibTorch's pickler writes typed lists through
/// torch.jit._pickle.build_intlist (and friends) and tags containers with restore_type_tag, which
/// Python's torch.load(weights_only=True), the default from PyTorch 2.6, refuses.
c10::IValue untyped(const c10::IValue& v) {
  if (v.isList()) {
    c10::impl::GenericList out(c10::AnyType::get());
    for (const c10::IValue& e : v.toListRef()) out.push_back(untyped(e));
    return out;
  }
  if (v.isGenericDict()) {
    c10::impl::GenericDict out(c10::AnyType::get(), c10::AnyType::get());
    for (const auto& item : v.toGenericDict())
      out.insert(untyped(item.key()), untyped(item.value()));
    return out;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> items;
    for (const auto& e : v.toTupleRef().elements()) items.push_back(untyped(e));
    return c10::ivalue::Tuple::create(std::move(items));
  }
  return v;
}

/// `v` without the kOrderedDictStateKey items plain_dicts_for_libtorch added.
void strip_ordered_dict_state(const c10::IValue& v) {
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    (void)dict.erase(std::string(kOrderedDictStateKey));
    for (const auto& item : dict) strip_ordered_dict_state(item.value());
  } else if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) strip_ordered_dict_state(e);
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) strip_ordered_dict_state(e);
  }
}

/// The archive `bytes` with its data.pkl rewritten by plain_dicts_for_libtorch (the same records
/// otherwise), or nullopt when it needs no rewriting.
std::optional<std::vector<char>> with_plain_dicts(const std::vector<char>& bytes) {
  std::istringstream in(std::string(bytes.data(), bytes.size()));
  caffe2::serialize::PyTorchStreamReader reader(&in);
  auto [pickle, pickle_size] = reader.getRecord("data.pkl");
  auto rewritten = plain_dicts_for_libtorch(
      std::string_view(static_cast<const char*>(pickle.get()), pickle_size),
      /*batch_single_items=*/TORCH_VERSION_MAJOR < 2);
  if (!rewritten) return std::nullopt;
  ZipSink archive;
  caffe2::serialize::PyTorchStreamWriter writer(archive.writer());
  for (const std::string& name : reader.getAllRecords()) {
    // The writer adds its own version, byte order and serialization id.
    if (name == "version" || name == ".data/version" || name == "byteorder" ||
        name == ".data/serialization_id")
      continue;
    if (name == "data.pkl") {
      writer.writeRecord(name, rewritten->data(), rewritten->size());
    } else {
      auto [data, size] = reader.getRecord(name);
      writer.writeRecord(name, data.get(), size);
    }
  }
  writer.writeEndOfFile();
  return archive.take("rewriting a Python checkpoint");
}

}  // namespace

c10::IValue unpickle_torch_save(const std::vector<char>& bytes) {
  if (auto plain = with_plain_dicts(bytes)) {
    c10::IValue value = torch::pickle_load(*plain);
    strip_ordered_dict_state(value);
    return value;
  }
  return torch::pickle_load(bytes);
}

std::vector<char> pickle_for_python(const c10::IValue& value) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t n) { pickled.insert(pickled.end(), bytes, bytes + n); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(untyped(value));
  pickler.stop();
  ZipSink archive;
  caffe2::serialize::PyTorchStreamWriter writer(archive.writer());
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive.take("serializing the checkpoint");
}

void write_checkpoint_file(const std::string& path, const c10::IValue& value) {
  std::vector<char> bytes = pickle_for_python(value);
  atomic_write(path, bytes.data(), bytes.size());
}

c10::IValue read_checkpoint_file(const std::string& path) {
  if (!fs::exists(path)) {
    // A sharded save killed between its two renames leaves the previous checkpoint beside it.
    const std::string aside = path + ".old";
    throw FileNotFoundError("Checkpoint file not found: " + path +
                            (fs::is_directory(aside)
                                 ? "; " + aside +
                                       " is the previous checkpoint, left by a save that was "
                                       "interrupted: rename it to " +
                                       path + " to load it"
                                 : ""));
  }
  if (fs::is_directory(path))
    throw Error("cannot read checkpoint '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ZipCheck zip = check_zip({bytes.data(), bytes.size()});
  if (zip.verdict == ZipCheck::Verdict::NotZip) {
    throw Error("'" + path +
                "' is not a readable checkpoint (expected a torch.save zip archive of a dict): " +
                zip.problem);
  }
  if (!zip.sound())
    throw CheckpointCorruptError("checkpoint '" + path +
                                 "' fails its integrity check: " + zip.problem);
  try {
    return unpickle_torch_save(bytes);
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    if (why.find("Unknown opcode") != std::string::npos) {
      why +=
          " (LibTorch's unpickler reads the opcodes of pickle protocol 2, torch.save's default; "
          "save with that protocol)";
    }
    throw Error(
        "'" + path +
        "' is not a readable checkpoint (expected a torch.save zip archive of a dict): " + why);
  }
}

}  // namespace fabric
