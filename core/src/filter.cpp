// grove::Filter (see grove/filter.h): a bitset over item ids, borrowed or owned, or a function.
#include "grove/filter.h"

#include <algorithm>
#include <string>
#include <utility>

#include "grove/error.h"

namespace grove {

Filter::Filter() = default;

Filter Filter::bits(const std::uint8_t* bits, std::size_t n_items) {
  if (!bits && n_items > 0) throw Error(ErrorCode::InvalidArgument, "filter bitset is null");
  Filter f;
  f.kind_ = Kind::Bits;
  f.bits_ = bits;
  f.limit_ = static_cast<std::int64_t>(n_items);
  f.covers_ = static_cast<std::int64_t>(n_items);
  return f;
}

Filter Filter::bits(const std::vector<bool>& allowed) {
  auto owned = std::make_shared<std::vector<std::uint8_t>>((allowed.size() + 7) / 8, 0);
  for (std::size_t i = 0; i < allowed.size(); ++i)
    if (allowed[i]) (*owned)[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  Filter f = bits(owned->data(), allowed.size());
  f.owned_ = std::move(owned);
  return f;
}

Filter Filter::ids(const std::int32_t* ids, std::size_t count) {
  if (!ids && count > 0) throw Error(ErrorCode::InvalidArgument, "filter ids are null");
  std::int32_t max_id = -1;
  for (std::size_t k = 0; k < count; ++k) {
    if (ids[k] < 0) throw Error(ErrorCode::OutOfRange, "filter id " + std::to_string(ids[k]) + " is negative");
    max_id = std::max(max_id, ids[k]);
  }
  const std::size_t n = static_cast<std::size_t>(max_id) + 1;
  auto owned = std::make_shared<std::vector<std::uint8_t>>((n + 7) / 8, 0);
  for (std::size_t k = 0; k < count; ++k)
    (*owned)[static_cast<std::size_t>(ids[k]) / 8] |= static_cast<std::uint8_t>(1u << (ids[k] % 8));
  Filter f = bits(owned->data(), n);
  f.owned_ = std::move(owned);
  f.covers_ = -1;  // a list need not name the last items
  f.max_id_ = max_id;
  return f;
}

Filter Filter::ids(const std::vector<std::int32_t>& list) { return ids(list.data(), list.size()); }

Filter Filter::function(std::function<bool(std::int32_t)> allowed) {
  if (!allowed) throw Error(ErrorCode::InvalidArgument, "filter function is empty");
  Filter f;
  f.kind_ = Kind::Function;
  f.allowed_ = std::move(allowed);
  return f;
}

void Filter::check(std::int64_t n_items) const {
  if (covers_ >= 0 && covers_ != n_items)
    throw Error(ErrorCode::InvalidArgument, "filter bitset has " + std::to_string(covers_) +
                                                " items, the index has " + std::to_string(n_items));
  if (max_id_ >= n_items)
    throw Error(ErrorCode::OutOfRange, "filter allows id " + std::to_string(max_id_) + ", but the index has " +
                                           std::to_string(n_items) + " items (ids 0 to " +
                                           std::to_string(n_items - 1) + ")");
}

Filter Filter::window(std::int64_t first, std::int64_t count) const {
  Filter f = *this;
  if (kind_ == Kind::All) return f;
  f.first_ += first;
  f.covers_ = count;
  f.max_id_ = -1;  // checked against the whole id space
  return f;
}

}  // namespace grove
