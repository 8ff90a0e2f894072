#include "forest.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "grove/error.h"
#include "metrics.h"

namespace grove {
namespace detail {

std::size_t Forest::bytes_for(std::int64_t n) const {
  const std::uint64_t limit = kMaxAllocation / layout.node_size;
  if (n < 0 || static_cast<std::uint64_t>(n) > limit)
    throw Error(ErrorCode::OutOfMemory,
                "out of memory: " + std::to_string(n) + " nodes of " + std::to_string(layout.node_size) +
                    " bytes are more than this platform can allocate in one block (" +
                    std::to_string(kMaxAllocation >> 20) + " MiB)");
  return static_cast<std::size_t>(n) * layout.node_size;
}

void Forest::reserve(std::int64_t n) {
  if (n <= capacity()) return;
  const std::size_t needed = bytes_for(n);  // throws before any growth when n cannot fit
  const std::int64_t grown = static_cast<std::int64_t>((capacity() + 1) * 1.3);
  const std::int64_t most = static_cast<std::int64_t>(kMaxAllocation / layout.node_size);
  storage->resize(std::max(needed, bytes_for(std::min(grown, most))));
}

void Forest::reserve_hint(std::int64_t n) {
  if (n <= capacity()) return;
  try {
    storage->resize(bytes_for(n));
  } catch (const Error&) {
  }
}

namespace {

std::int32_t first_child(const Forest& forest, std::int64_t i) {
  std::int32_t c;
  std::memcpy(&c, forest.node(i) + forest.layout.children, sizeof c);
  return c;
}

[[noreturn]] void bad_format(const Forest& forest, const std::string& why) {
  throw Error(ErrorCode::BadFormat,
              "not an index for f=" + std::to_string(forest.f) + ", metric=" +
                  metric_name(forest.layout.metric) + " (" + why +
                  "): open it with the f and metric it was built with");
}

}  // namespace

void find_roots(Forest& forest) {
  const std::int64_t n_nodes = forest.n_nodes;
  const std::int32_t m = n_descendants(forest.node(n_nodes - 1));
  if (m < 0 || m > n_nodes)
    bad_format(forest, "the last node claims " + std::to_string(m) + " items but the file has " +
               std::to_string(n_nodes) + " nodes");
  forest.roots.clear();
  for (std::int64_t i = n_nodes - 1; i >= 0 && n_descendants(forest.node(i)) == m; --i)
    forest.roots.push_back(static_cast<std::int32_t>(i));
  // The copies of the roots sit at the end; the node just before them is usually the
  // original of the last root. Annoy drops it when its first child matches; so do we, so
  // both find the same trees.
  if (forest.roots.size() > 1 &&
      first_child(forest, forest.roots.front()) == first_child(forest, forest.roots.back()))
    forest.roots.pop_back();
  forest.n_items = m;

  // Cheap checks on the roots; search checks every other node as it goes.
  const std::int64_t max_bucket = static_cast<std::int64_t>(forest.layout.max_bucket());
  for (std::int32_t root : forest.roots) {
    if (m <= max_bucket) continue;  // a bucket: its ids are checked when read
    const std::uint8_t* node = forest.node(root);
    for (int c = 0; c < 2; ++c) {
      std::int32_t child;
      std::memcpy(&child, node + forest.layout.children + 4 * c, sizeof child);
      if (child < 0 || child >= n_nodes)
        bad_format(forest, "root " + std::to_string(root) + " points to node " + std::to_string(child) +
                   " of " + std::to_string(n_nodes));
    }
  }
}

}  // namespace detail
}  // namespace grove
