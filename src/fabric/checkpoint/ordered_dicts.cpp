#include "fabric/checkpoint/ordered_dicts.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace fabric {

namespace {

// What the rewrite needs to know of a value on the pickle machine's stack.
enum class Kind { Other, EmptyTuple, OrderedDictClass, OrderedDict };

struct Item {
  size_t start;       // offset of the first opcode that built it
  size_t length = 0;  // bytes of that opcode, when one opcode pushed it (GLOBAL, BINGET)
  Kind kind = Kind::Other;
};

struct Mark {
  size_t height, offset;
};

// Replace `length` bytes at `offset` (0 = insert).
struct Edit {
  size_t offset, length;
  std::string with;
};

class Rewriter {
 public:
  Rewriter(std::string_view p, bool batch_single_items) : p_(p), batch_(batch_single_items) {}

  std::optional<std::string> run() {
    while (pos_ < p_.size()) {
      const size_t at = pos_;
      const char op = p_[pos_++];
      if (op == '.') break;  // STOP
      if (!step(op, at)) return std::nullopt;
    }
    if (edits_.empty()) return std::nullopt;
    return apply();
  }

 private:
  // Reads `n` bytes of argument; false past the end.
  bool skip(size_t n) {
    if (p_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  // A length-prefixed argument (`width`-byte little-endian length, then that many bytes).
  bool counted(size_t width) {
    if (p_.size() - pos_ < width) return false;
    size_t n = le_at(pos_, width);
    pos_ += width;
    return skip(n);
  }
  bool line(std::string* out) {
    size_t end = p_.find('\n', pos_);
    if (end == std::string_view::npos) return false;
    if (out) *out = std::string(p_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool pop(Item* out = nullptr) {
    if (stack_.empty()) return false;
    if (out) *out = stack_.back();
    stack_.pop_back();
    return true;
  }
  // Pops `n` items; `first` gets the earliest of them (where their bytes start).
  bool pop_n(int n, Item* first) {
    for (int i = 0; i < n; ++i)
      if (!pop(first)) return false;
    return true;
  }
  // An opcode that turns the top `n` items into one value (a tuple, a tensor, an object).
  bool combine(int n) {
    Item first;
    if (!pop_n(n, &first)) return false;
    stack_.push_back({first.start, 0, Kind::Other});
    return true;
  }
  bool pop_to_mark(size_t* offset = nullptr) {
    if (marks_.empty() || marks_.back().height > stack_.size()) return false;
    stack_.resize(marks_.back().height);
    if (offset) *offset = marks_.back().offset;
    marks_.pop_back();
    return true;
  }
  void push(size_t at, Kind kind = Kind::Other) { stack_.push_back({at, pos_ - at, kind}); }
  bool memo_put(size_t width) {
    if (stack_.empty() || !skip(width)) return false;
    memo_[le_at(pos_ - width, width)] = stack_.back().kind;
    return true;
  }
  bool memo_get(size_t at, size_t width) {
    if (!skip(width)) return false;
    auto it = memo_.find(le_at(pos_ - width, width));
    push(at, it != memo_.end() && it->second == Kind::OrderedDictClass ? Kind::OrderedDictClass
                                                                       : Kind::Other);
    return true;
  }
  uint32_t le_at(size_t offset, size_t n) const {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint32_t(uint8_t(p_[offset + i])) << (8 * i);
    return v;
  }

  // collections.OrderedDict() (a class applied to no arguments) becomes EMPTY_DICT.
  bool reduce(size_t at) {
    Item args, func;
    if (!pop(&args) || !pop(&func)) return false;
    if (func.kind != Kind::OrderedDictClass) {
      stack_.push_back({func.start, 0, Kind::Other});
      return true;
    }
    if (args.kind != Kind::EmptyTuple || func.length == 0) return false;
    edits_.push_back({func.start, func.length, "}"});
    edits_.push_back({args.start, 1, ""});
    edits_.push_back({at, 1, ""});
    stack_.push_back({func.start, 0, Kind::OrderedDict});
    return true;
  }

  // An OrderedDict's BUILD (its __dict__, e.g. _metadata) becomes one more item: MARK and the
  // key go before the state, SETITEMS replaces BUILD (LibTorch 1.13 has no SETITEM).
  bool build(size_t at) {
    Item state;
    if (!pop(&state) || stack_.empty()) return false;
    if (stack_.back().kind != Kind::OrderedDict) return true;  // LibTorch's own objects
    std::string key = "(X";
    const uint32_t n = uint32_t(kOrderedDictStateKey.size());
    for (int i = 0; i < 4; ++i) key += char((n >> (8 * i)) & 0xff);
    key += kOrderedDictStateKey;
    edits_.push_back({state.start, 0, key});
    edits_.push_back({at, 1, "u"});
    return true;
  }

  // APPEND (value) or SETITEM (key, value) as MARK ... APPENDS / SETITEMS, when asked.
  bool single_item(size_t at, int items, const char* batched) {
    Item first;
    if (!pop_n(items, &first)) return false;
    if (batch_) {
      edits_.push_back({first.start, 0, "("});
      edits_.push_back({at, 1, batched});
    }
    return true;
  }

  bool step(char op, size_t at) {
    switch (op) {
      case '\x80':
        return skip(1);  // PROTO
      case '}':
      case ']':
      case 'N':
      case '\x88':
      case '\x89':  // empty dict/list, None, bools
        push(at);
        return true;
      case ')':
        push(at, Kind::EmptyTuple);
        return true;
      case '(':
        marks_.push_back({stack_.size(), at});
        return true;
      case 'K':
      case 'M':
      case 'J':
      case 'G':  // BININT1, BININT2, BININT, BINFLOAT
        if (!skip(op == 'K' ? 1 : op == 'M' ? 2 : op == 'J' ? 4 : 8)) return false;
        push(at);
        return true;
      case '\x8a':
      case 'U':
      case 'C':  // LONG1, SHORT_BINSTRING, SHORT_BINBYTES
        if (!counted(1)) return false;
        push(at);
        return true;
      case 'X':
      case 'T':
      case 'B':  // BINUNICODE, BINSTRING, BINBYTES
        if (!counted(4)) return false;
        push(at);
        return true;
      case 'c': {  // GLOBAL module\nname\n
        std::string module, name;
        if (!line(&module) || !line(&name)) return false;
        push(at, module == "collections" && name == "OrderedDict" ? Kind::OrderedDictClass
                                                                  : Kind::Other);
        return true;
      }
      case 'q':
        return memo_put(1);
      case 'r':
        return memo_put(4);
      case 'h':
        return memo_get(at, 1);
      case 'j':
        return memo_get(at, 4);
      case 't':
      case 'd':
      case 'l': {  // TUPLE, DICT, LIST from the mark
        size_t offset;
        if (!pop_to_mark(&offset)) return false;
        stack_.push_back({offset, 0, Kind::Other});
        return true;
      }
      case '\x85':
        return combine(1);  // TUPLE1
      case '\x86':
        return combine(2);  // TUPLE2
      case '\x87':
        return combine(3);  // TUPLE3
      case 'a':
        return single_item(at, 1, "e");  // APPEND
      case 's':
        return single_item(at, 2, "u");  // SETITEM
      case 'e':
      case 'u':
        return pop_to_mark();  // APPENDS, SETITEMS
      case 'Q':
        return combine(1);  // BINPERSID (the persistent id)
      case '\x81':
        return combine(2);  // NEWOBJ (class, arguments)
      case 'R':
        return reduce(at);
      case 'b':
        return build(at);
      default:
        return false;  // an opcode torch.save does not write at protocol 2
    }
  }

  std::string apply() {
    std::stable_sort(edits_.begin(), edits_.end(), [](const Edit& a, const Edit& b) {
      // Inserts before replacements at the same offset: a state may start with a rewritten class.
      return a.offset != b.offset ? a.offset < b.offset : (a.length == 0) > (b.length == 0);
    });
    std::string out;
    out.reserve(p_.size() + 64 * edits_.size());
    size_t from = 0;
    for (const Edit& e : edits_) {
      out.append(p_.substr(from, e.offset - from));
      out += e.with;
      from = e.offset + e.length;
    }
    out.append(p_.substr(from));
    return out;
  }

  std::string_view p_;
  bool batch_;
  size_t pos_ = 0;
  std::vector<Item> stack_;
  std::vector<Mark> marks_;
  std::unordered_map<uint32_t, Kind> memo_;
  std::vector<Edit> edits_;
};

}  // namespace

std::optional<std::string> plain_dicts_for_libtorch(std::string_view pickle,
                                                    bool batch_single_items) {
  return Rewriter(pickle, batch_single_items).run();
}

}  // namespace fabric
