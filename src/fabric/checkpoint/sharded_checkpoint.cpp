#include "fabric/checkpoint/sharded_checkpoint.hpp"

#include <ATen/ATen.h>

#include <filesystem>

#include "common/error.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"

namespace fs = std::filesystem;

namespace fabric {

namespace {

using Dict = c10::impl::GenericDict;

constexpr const char* kMeta = "meta.pt";

std::string rank_file(const std::string& dir, int64_t rank) {
  return dir + "/rank_" + std::to_string(rank) + ".pt";
}

Dict new_dict() {
  return Dict(c10::StringType::get(), c10::AnyType::get());
}

std::vector<int64_t> full_shape(const at::Tensor& param,
                                const std::vector<std::shared_ptr<StrategyModuleState>>& sharded) {
  for (const auto& s : sharded) {
    if (s->owns_shard(param)) return s->full_shape(param);
  }
  return param.sizes().vec();
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Entries nested in a dict that are models or optimizers would be written from rank 0's shards.
void check_plain(const State& state, const std::string& where) {
  for (const auto& entry : state) {
    const auto kind = entry.value.kind();
    if (kind == StateValue::Kind::Module || kind == StateValue::Kind::Optimizer) {
      throw NotSupportedError("fabric.save with state_dict_type='sharded': '" + where + entry.key +
                              "' is a model or optimizer inside a dict; put it at the top level");
    }
    if (kind == StateValue::Kind::Dict) check_plain(entry.value.dict(), where + entry.key + ".");
  }
}

Dict read_dict(const std::string& path) {
  c10::IValue v = read_checkpoint_file(path);
  if (!v.isGenericDict()) throw Error("'" + path + "' does not hold a dict");
  return v.toGenericDict();
}

// Every rank's chunk of one tensor, back to its full shape; `first` is rank 0's.
at::Tensor unshard(const std::vector<at::Tensor>& chunks, const std::vector<int64_t>& shape,
                   const std::string& what) {
  const int64_t n = numel_of(shape);
  const int64_t chunk = (n + int64_t(chunks.size()) - 1) / int64_t(chunks.size());
  if (chunks.front().sizes().vec() == shape) return chunks.front();  // kept whole on every rank
  for (const auto& c : chunks) {
    if (c.dim() != 1 || c.numel() != chunk) {
      throw Error("sharded checkpoint: " + what + " has a shard of " + std::to_string(c.numel()) +
                  " elements; expected " + std::to_string(chunk));
    }
  }
  return at::cat(chunks).narrow(0, 0, n).view(shape).clone();
}

std::vector<int64_t> as_shape(const c10::IValue& v) {
  std::vector<int64_t> out;
  const auto list = v.toList();
  for (size_t i = 0; i < list.size(); ++i) out.push_back(list.get(i).toInt());
  return out;
}

c10::IValue shape_value(const std::vector<int64_t>& shape) {
  c10::impl::GenericList out(c10::IntType::get());
  for (int64_t d : shape) out.push_back(d);
  return out;
}

Dict consolidate_model(const std::vector<Dict>& files, const std::string& key, const Dict& shapes) {
  Dict out = new_dict();
  for (const auto& item : files.front().at(key).toGenericDict()) {
    const std::string& name = item.key().toStringRef();
    if (!shapes.contains(name)) {  // a buffer: whole on every rank
      out.insert(name, item.value());
      continue;
    }
    std::vector<at::Tensor> chunks;
    for (const auto& f : files) chunks.push_back(f.at(key).toGenericDict().at(name).toTensor());
    out.insert(name, unshard(chunks, as_shape(shapes.at(name)), "'" + key + "." + name + "'"));
  }
  return out;
}

Dict consolidate_optimizer(const std::vector<Dict>& files, const std::string& key,
                           const c10::impl::GenericList& shapes) {
  Dict first = files.front().at(key).toGenericDict();
  if (!first.contains("state")) return first;  // a LibTorch archive: not per parameter
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  for (const auto& item : first.at("state").toGenericDict()) {
    const int64_t index = item.key().toInt();
    const auto shape = as_shape(shapes.get(size_t(index)));
    Dict per_param = new_dict();
    for (const auto& entry : item.value().toGenericDict()) {
      const std::string& name = entry.key().toStringRef();
      if (!entry.value().isTensor() || entry.value().toTensor().dim() == 0) {
        per_param.insert(name, entry.value());  // "step" and options
        continue;
      }
      std::vector<at::Tensor> chunks;
      for (const auto& f : files) {
        chunks.push_back(f.at(key)
                             .toGenericDict()
                             .at("state")
                             .toGenericDict()
                             .at(item.key())
                             .toGenericDict()
                             .at(name)
                             .toTensor());
      }
      per_param.insert(name, unshard(chunks, shape,
                                     "'" + key + "' state " + std::to_string(index) + "." + name));
    }
    state.insert(index, per_param);
  }
  Dict out = first.copy();
  out.insert_or_assign("state", state);
  return out;
}

}  // namespace

bool is_sharded_checkpoint(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / kMeta, ec);
}

void write_sharded_checkpoint(const std::string& path, const State& state, Strategy& strategy,
                              const std::vector<std::shared_ptr<StrategyModuleState>>& sharded) {
  const int rank = strategy.global_rank();
  for (const auto& entry : state) {
    if (entry.value.kind() == StateValue::Kind::Dict)
      check_plain(entry.value.dict(), entry.key + ".");
  }
  // Written next to the target, then swapped in: an interrupted save leaves the old checkpoint.
  const std::string partial = path + ".partial";
  if (rank == 0) {
    fs::remove_all(partial);
    fs::create_directories(partial);
  }
  strategy.barrier();
  Dict mine = new_dict(), shared = new_dict(), index = new_dict();
  for (const auto& entry : state) {
    const StateValue& value = entry.value;
    if (value.kind() == StateValue::Kind::Module) {
      mine.insert(entry.key, value.to_ivalue());
      Dict shapes = new_dict();
      for (const auto& [name, p] : value.module().named_parameters())
        shapes.insert(name, shape_value(full_shape(p, sharded)));
      index.insert(entry.key, shapes);
    } else if (value.kind() == StateValue::Kind::Optimizer) {
      mine.insert(entry.key, value.to_ivalue());
      c10::impl::GenericList shapes(c10::AnyType::get());
      for (auto& group : value.optimizer()->param_groups()) {
        for (const auto& p : group.params()) shapes.push_back(shape_value(full_shape(p, sharded)));
      }
      index.insert(entry.key, shapes);
    } else if (rank == 0) {
      shared.insert(entry.key, value.to_ivalue());
    }
  }
  write_checkpoint_file(rank_file(partial, rank), mine);
  strategy.barrier();
  if (rank == 0) {
    Dict meta = new_dict();
    meta.insert("world_size", int64_t(strategy.world_size()));
    meta.insert("index", index);
    meta.insert("state", shared);
    write_checkpoint_file(partial + "/" + kMeta, meta);
    const std::string old = path + ".old";
    fs::remove_all(old);
    if (fs::exists(path)) fs::rename(path, old);
    fs::rename(partial, path);
    fs::remove_all(old);
  }
  strategy.barrier();
}

bool restore_interrupted_swap(const std::string& path) {
  const std::string old = path + ".old";
  if (fs::exists(path) || !fs::is_directory(old)) return false;
  fs::rename(old, path);
  return true;
}

ShardedRead read_sharded_checkpoint(const std::string& path, int rank, int world,
                                    bool keep_shards) {
  Dict meta = read_dict(path + "/" + kMeta);
  for (const char* key : {"world_size", "index", "state"}) {
    if (!meta.contains(key))
      throw Error("'" + path + "/" + kMeta + "' has no '" + key + "': not a sharded checkpoint");
  }
  const int64_t saved_world = meta.at("world_size").toInt();
  Dict index = meta.at("index").toGenericDict();
  ShardedRead out{meta.at("state").toGenericDict().copy(), false};
  if (keep_shards && saved_world == world) {
    for (const auto& item : read_dict(rank_file(path, rank)))
      out.dict.insert(item.key(), item.value());
    return out;
  }
  std::vector<Dict> files;
  for (int64_t r = 0; r < saved_world; ++r) {
    const std::string file = rank_file(path, r);
    if (!fs::exists(file))
      throw FileNotFoundError("sharded checkpoint '" + path + "' has no " + file + " (saved on " +
                              std::to_string(saved_world) + " processes)");
    files.push_back(read_dict(file));
  }
  for (const auto& item : index) {
    const std::string& key = item.key().toStringRef();
    out.dict.insert(key,
                    item.value().isGenericDict()
                        ? c10::IValue(consolidate_model(files, key, item.value().toGenericDict()))
                        : c10::IValue(consolidate_optimizer(files, key, item.value().toList())));
  }
  out.consolidated = true;
  return out;
}

}  // namespace fabric
