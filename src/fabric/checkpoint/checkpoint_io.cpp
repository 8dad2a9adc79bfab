#include "fabric/checkpoint/checkpoint_io.hpp"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/version.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fabric/error.hpp"

namespace fs = std::filesystem;

namespace fabric {

void write_checkpoint_file(const std::string& path, const c10::IValue& value) {
  std::vector<char> bytes = torch::pickle_save(value);
  atomic_write(path, bytes.data(), bytes.size());
}

c10::IValue read_checkpoint_file(const std::string& path) {
  if (!fs::exists(path)) throw FileNotFoundError("Checkpoint file not found: " + path);
  if (fs::is_directory(path))
    throw Error("cannot read checkpoint '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
