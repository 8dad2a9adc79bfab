#include "fabric/checkpoint/checkpoint_io.hpp"
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

#include "fabric/base/error.hpp"

namespace fs = std::filesystem;

namespace fabric {

namespace {

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

}  // namespace

std::vector<char> pickle_for_python(const c10::IValue& value) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t n) { pickled.insert(pickled.end(), bytes, bytes + n); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(untyped(value));
  pickler.stop();
  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t n) {
    const char* p = static_cast<const char*>(bytes);
    archive.insert(archive.end(), p, p + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive;
}

void write_checkpoint_file(const std::string& path, const c10::IValue& value) {
  std::vector<char> bytes = pickle_for_python(value);
  atomic_write(path, bytes.data(), bytes.size());
}

c10::IValue read_checkpoint_file(const std::string& path) {
  if (!fs::exists(path)) throw FileNotFoundError("Checkpoint file not found: " + path);
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
    return torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    if (why.find("Unknown opcode") != std::string::npos) {
      why += " (LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
             std::to_string(TORCH_VERSION_MINOR) +
             " cannot unpickle the APPEND/SETITEM opcodes Python writes for one-element lists and "
             "dicts: "
             "save such values with at least two entries, or use LibTorch >= 2.0)";
    }
    if (why.find("Expected GenericDict but got None") != std::string::npos) {
      why =
          "it holds an OrderedDict (e.g. torch.save(model.state_dict())), which LibTorch's "
          "unpickler "
          "cannot read; save dict(model.state_dict()) instead";
    }
    throw Error(
        "'" + path +
        "' is not a readable checkpoint (expected a torch.save zip archive of a dict): " + why);
  }
}

}  // namespace fabric
