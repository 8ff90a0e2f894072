// grove::Filter: which items one query may return (an allow-list). A filtered search keeps
// collecting candidates until it has search_k that pass and n distinct ones (or has run out
// of index), so a filter that keeps 1% of the items still returns n of them, and at an
// exhaustive search_k the answer is brute force over the allowed items.
// Public header: C++14.
#ifndef GROVE_FILTER_H
#define GROVE_FILTER_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace grove {

class Filter {
 public:
  // No filter: every item is allowed.
  Filter();

  // Item i is allowed when bit i % 8 of bits[i / 8] is set (least significant bit first, as
  // a JS Uint8Array or numpy.packbits(bitorder='little') lays it out). n_items must be the
  // index's get_n_items(). The bytes are borrowed: keep them alive and unchanged while the
  // filter is used.
  static Filter bits(const std::uint8_t* bits, std::size_t n_items);
  // The same, from one bool per item (copied).
  static Filter bits(const std::vector<bool>& allowed);
  // These ids are allowed (copied); each must be an item id of the index (0 <= id < n_items).
  static Filter ids(const std::int32_t* ids, std::size_t count);
  static Filter ids(const std::vector<std::int32_t>& ids);
  // allowed(id) says; called for candidates only, from the thread that runs the query (batch
  // queries on several threads call it from each of them).
  static Filter function(std::function<bool(std::int32_t)> allowed);

  bool active() const { return kind_ != Kind::All; }
  bool allows(std::int32_t id) const {
    switch (kind_) {
      case Kind::All:
        return true;
      case Kind::Bits: {
        const std::int64_t i = static_cast<std::int64_t>(id) + first_;
        return i >= 0 && i < limit_ && ((bits_[i >> 3] >> (i & 7)) & 1);
      }
      case Kind::Function:
        return allowed_(static_cast<std::int32_t>(id + first_));
    }
    return false;
  }

  // Throws grove::Error (InvalidArgument) when the filter cannot be meant for an index of
  // n_items items: a bitset of another length, or an id outside [0, n_items).
  void check(std::int64_t n_items) const;

  // The filter as seen by the items [first, first + count) of a larger id space, numbered from
  // 0 (a shard of a sharded index, whose filter names global ids). check() then takes count.
  Filter window(std::int64_t first, std::int64_t count) const;

 private:
  enum class Kind { All, Bits, Function };
  Kind kind_ = Kind::All;
  const std::uint8_t* bits_ = nullptr;
  std::shared_ptr<std::vector<std::uint8_t>> owned_;
  std::function<bool(std::int32_t)> allowed_;
  std::int64_t first_ = 0;    // added to an id before it is looked up
  std::int64_t limit_ = 0;    // ids (after first_) below this may be set
  std::int64_t covers_ = -1;  // n_items the filter must match exactly (-1: any)
  std::int64_t max_id_ = -1;  // the largest id named (ids form), checked against n_items
};

}  // namespace grove

#endif  // GROVE_FILTER_H
