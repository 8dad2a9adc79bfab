#pragma once
// Python's torch.save writes a model's state_dict() as a collections.OrderedDict (Lightning
// Fabric's checkpoints hold one for every model), which LibTorch's unpickler reads as None. This
// rewrites such pickles, opcode by opcode, into ones LibTorch reads as plain dicts. (LibTorch's
// Unpickler handles OrderedDict in its own code, with no hook to change that.)
#include <optional>
#include <string>
#include <string_view>

namespace fabric {

/// The key under which a rewritten OrderedDict keeps the attribute state Python pickled with it
/// (a state dict's `_metadata`); strip_ordered_dict_state removes it after unpickling.
inline constexpr std::string_view kOrderedDictStateKey = "__fabric_ordered_dict_state__";

/// `pickle` (protocol 2, as torch.save writes) with every `collections.OrderedDict()` made an
/// empty dict (its items are then set as for any dict) and its BUILD state stored as one more
/// item under kOrderedDictStateKey. With `batch_single_items` (LibTorch 1.13, which reads no
/// SETITEM or APPEND: Python writes those for one-item dicts and lists), each SETITEM / APPEND
/// also becomes MARK ... SETITEMS / APPENDS. nullopt when there is nothing to rewrite, or the
/// pickle uses an opcode this reader does not follow (LibTorch's own error then says which).
std::optional<std::string> plain_dicts_for_libtorch(std::string_view pickle,
                                                    bool batch_single_items);

}  // namespace fabric
