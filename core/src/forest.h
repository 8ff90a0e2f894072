// The node array and what describes it: shared by the index, the builder and the searcher.
#ifndef GROVE_CORE_FOREST_H
#define GROVE_CORE_FOREST_H

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grove/filter.h"
#include "grove/format.h"
#include "grove/parallel.h"
#include "grove/random.h"
#include "grove/storage.h"

namespace grove {
namespace detail {

// Asks for `bytes` at p to be brought into cache: rows read in a scattered order (candidates,
// items of a split) are bound by memory, so each is requested kPrefetchAhead rows early.
inline void prefetch(const void* p, std::size_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
  const char* c = static_cast<const char*>(p);
  for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(c + at);
#else
  (void)p, (void)bytes;
#endif
}
constexpr std::size_t kPrefetchAhead = 8;

// Which items one walk over them has met (the graph's growth, per item; its search, per
// query): marks per thread, reused, one epoch a walk, cleared when the epoch wraps. A walk
// makes one on entry; walks on one thread do not nest.
class VisitMarks {
 public:
  explicit VisitMarks(std::size_t n_items) {
    std::vector<std::uint32_t>& all = marks();
    if (all.size() < n_items) all.assign(n_items, 0);
    if (++epoch() == 0) {  // wrapped: clear, and start again at 1
      std::fill(all.begin(), all.end(), 0u);
      epoch() = 1;
    }
    // Kept here: first() runs for every item a walk meets, and a thread-local lookup each
    // time showed in its profile.
    marks_ = all.data();
    epoch_ = epoch();
  }
  // True the first time item v is met in this walk.
  bool first(std::int32_t v) {
    std::uint32_t& m = marks_[static_cast<std::size_t>(v)];
    if (m == epoch_) return false;
    m = epoch_;
    return true;
  }
  void forget(std::int32_t v) { marks_[static_cast<std::size_t>(v)] = 0; }
  // Asks for item v's mark to be brought into cache (a walk meets items scattered).
  void prefetch(std::int32_t v) const { grove::detail::prefetch(marks_ + v, sizeof(std::uint32_t)); }

 private:
  static std::vector<std::uint32_t>& marks() {
    thread_local std::vector<std::uint32_t> m;
    return m;
  }
  static std::uint32_t& epoch() {
    thread_local std::uint32_t e = 0;
    return e;
  }
  std::uint32_t* marks_ = nullptr;
  std::uint32_t epoch_ = 0;
};

struct Forest {
  NodeLayout layout;
  int f = 0;  // the user's dimension (bits for hamming); layout.f counts stored values
  std::unique_ptr<Storage> storage;
  std::int32_t n_items = 0;
  std::int64_t n_nodes = 0;  // items + tree nodes (+ root copies once built)
  std::vector<std::int32_t> roots;
  // Annoy's scalar float order instead of Grove's fast SIMD order (see kernels.h).
  bool annoy_float_order = false;
  // Changes after build (changes.h). Items removed since: bit i of removed[i / 64] (empty
  // when none); while trees still name some (trees_name_removed), searches skip them as
  // they collect. item_room: the node slots kept for items before the first tree node (0:
  // exactly n_items, as in Annoy's files). annoy_layout: false once a change has left nodes
  // out of Annoy's order; settle() restores it before the image is read.
  std::vector<std::uint64_t> removed;
  bool trees_name_removed = false;
  std::int64_t item_room = 0;
  bool annoy_layout = true;
  bool is_removed(std::int32_t i) const {
    const std::size_t w = static_cast<std::size_t>(i) / 64;
    return w < removed.size() && ((removed[w] >> (i % 64)) & 1);
  }
  std::int64_t first_tree_node() const { return item_room > n_items ? item_room : n_items; }

  const std::uint8_t* node(std::int64_t i) const {
    return storage->data() + static_cast<std::size_t>(i) * layout.node_size;
  }
  std::uint8_t* mutable_node(std::int64_t i) {
    return storage->mutable_data() + static_cast<std::size_t>(i) * layout.node_size;
  }
  std::int64_t capacity() const {
    return storage ? static_cast<std::int64_t>(storage->size() / layout.node_size) : 0;
  }
  // Bytes of `n` nodes. Every size computed from a node count goes through here: on wasm32
  // size_t is 32 bits, and an unchecked product would wrap to a small, undersized block.
  // Throws OutOfMemory when the size cannot be allocated on this platform.
  std::size_t bytes_for(std::int64_t n) const;
  // Makes room for `n` nodes, growing by 1.3x so appends stay amortised O(1).
  void reserve(std::int64_t n);
  // Makes room for exactly `n` nodes if there is less; a hint, so a failure is ignored
  // (growth on demand still happens).
  void reserve_hint(std::int64_t n);
};

class Compact;

struct BuildOptions {
  int n_trees = -1;  // -1: until the nodes reach twice the items (Annoy's rule)
  std::uint64_t seed = 0;
  // Codes of the items (Grove's fast order only): splits measure items' sides on them, a
  // quarter of the bytes of the float vectors. Null: on the float vectors, as Annoy does.
  const Compact* codes = nullptr;
  ParallelFor* parallel = nullptr;
  std::function<void(const std::string&)> log;  // progress; empty when not verbose
  const std::atomic<bool>* stop = nullptr;      // set by another thread: cancel the build
};

// Throws ErrorCode::Cancelled once options.stop is set (the builders call it per node or level).
void check_stop(const BuildOptions& options);

// Appends the trees and the root copies to `forest` (items must be in place).
void build_forest(Forest& forest, const BuildOptions& options);

// One subtree over `ids` by build()'s split rule (Annoy's, on the float vectors, drawing from
// rng), its nodes appended to the forest; returns its node (a lone id, not a root, is its
// own subtree). A bucket that outgrows its node after build() is split so (changes.cpp).
std::int32_t make_subtree(Forest& forest, const std::vector<std::int32_t>& ids, bool is_root, Kiss64& rng);

// The largest single block this platform can allocate. On wasm32 (emcc 3.1.6, Debian's) that
// is just under 2 GiB: dlmalloc refuses larger blocks, and emmalloc returns blocks that wrap
// past the 4 GiB address space (measured), so it is not an option.
constexpr std::uint64_t kMaxAllocation =
    sizeof(std::size_t) == 4 ? (std::uint64_t(2) << 30) - (std::uint64_t(64) << 10)
                             : std::uint64_t(1) << 62;

// Annoy's root scan on load (the trailing run of nodes whose n_descendants equals the
// last node's). Sets roots and n_items; throws grove::Error when the bytes cannot be an index.
void find_roots(Forest& forest);

// Each item's leaf in the tree at `root`, leaves numbered depth first; items the tree does not
// reach get the number after the last leaf. Returns how many numbers there are. The walk is
// bounded like search's, so a damaged node graph cannot loop.
std::int32_t leaf_numbers(const Forest& forest, std::int32_t root, std::vector<std::int32_t>& leaf);

struct SearchOutput {
  std::vector<std::int32_t>* ids;
  std::vector<float>* distances;  // may be null
};

// Queries with the vector `query` (layout.f values; hamming: packed words). With `compact`
// (its codes of these items), candidates are scored on codes first; results are the same.
// graph: walk compact's neighbour graph (graph.h) for the candidates, when it has one.
// filter: null or inactive for none; else only the items it allows are collected (see
// grove/filter.h), and the search goes on until n distinct ones are found.
void search(const Forest& forest, const Compact* compact, bool graph, const void* query, int n, std::int64_t search_k,
            const Filter* filter, SearchOutput out);

// Internal distance between two stored items, in the reported form.
float item_distance(const Forest& forest, std::int32_t i, std::int32_t j);

// Caches per-item data (angular norm) after the vector has been written.
void init_item(Forest& forest, std::uint8_t* node);

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_FOREST_H
