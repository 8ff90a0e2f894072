// Searching the forest: one priority queue over all trees, ordered by how far the query is
// from each split; candidates are collected until search_k, then ranked by exact distance.
//
// Every index read here is checked against the node count, so any bytes (a corrupt or
// crafted file) can give wrong answers but never an out-of-bounds read, and a bound on the
// number of nodes visited stops a cyclic node graph from looping forever.
#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "dispatch.h"
#include "forest.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

// Roots start above any real priority: +infinity for floats, the largest count for hamming.
template <class T>
T start_priority() {
  return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                              : std::numeric_limits<T>::max();
}

inline float child_priority(float d, float margin, int child) {
  return std::min(d, child == 0 ? -margin : margin);
}
// Hamming: one point lost for each step to the side the query is not on.
inline std::uint64_t child_priority(std::uint64_t d, bool margin, int child) {
  return d - (margin != (child == 1) ? 1 : 0);
}

// Policies with a bounded distance (euclidean, manhattan, angular) can stop computing a
// candidate's distance once it cannot make the top n; the others compute it fully.
template <class P>
auto distance_within(const std::uint8_t* q, const std::uint8_t* x, int words, typename P::Priority bound,
                     std::size_t node_size, int) -> decltype(P::distance_bounded(q, x, words, bound, node_size)) {
  return P::distance_bounded(q, x, words, bound, node_size);
}
template <class P>
typename P::Priority distance_within(const std::uint8_t* q, const std::uint8_t* x, int words,
                                     typename P::Priority, std::size_t, long) {
  return P::distance(q, x, words);
}

// Policies that search faster with extra per-query data (angular: the unit query vector,
// stored right after the query node) prepare it here.
template <class P>
auto prepare_query(std::uint8_t* q, std::size_t node_size, int words, int) -> decltype(P::init_query(q, node_size, words)) {
  P::init_query(q, node_size, words);
}
template <class P>
void prepare_query(std::uint8_t*, std::size_t, int, long) {}

inline void prefetch(const void* p, std::size_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
  const char* c = static_cast<const char*>(p);
  for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(c + at);
#else
  (void)p, (void)bytes;
#endif
}

constexpr std::size_t kPrefetchAhead = 8;

// Ranks each distinct candidate once, in the order the trees produced them (the nearest
// leaves first, so the top n fills with good items early and the bound tightens fast).
// Keeps the n best by (distance, id) in a max-heap; holes and non-items are skipped.
template <class P>
void rank(const Forest& forest, const std::uint8_t* qnode, const std::vector<std::int32_t>& candidates,
          std::size_t n, SearchOutput out, P*) {
  using Priority = typename P::Priority;
  using Entry = std::pair<Priority, std::int32_t>;
  const int words = forest.layout.f;
  // Whole candidates, far enough ahead that each arrives before it is needed: ranking
  // scattered rows is bound by memory, not arithmetic.
  const std::size_t prefetch_bytes = forest.layout.node_size;
  thread_local std::vector<std::uint64_t> seen;
  const std::size_t seen_words = (static_cast<std::size_t>(forest.n_items) + 63) / 64;
  if (seen.size() < seen_words) seen.assign(seen_words, 0);

  // Items that several trees put near the query are likely near: rank them first, so the
  // bound is tight early and the rest can stop early. (Order never changes the result.)
  thread_local std::vector<std::uint64_t> twice;
  if (twice.size() < seen_words) twice.assign(seen_words, 0);
  // Per-thread buffers, reused by every query: no heap allocation once warm.
  thread_local std::vector<std::int32_t> unique, once;
  thread_local std::vector<std::pair<Priority, std::int32_t>> best;
  unique.clear();
  once.clear();
  for (std::int32_t j : candidates) {
    if (j < 0 || j >= forest.n_items) continue;
    const std::size_t w = static_cast<std::size_t>(j) / 64;
    const std::uint64_t bit = std::uint64_t(1) << (j % 64);
    if (seen[w] & bit) {
      twice[w] |= bit;
      continue;
    }
    seen[w] |= bit;
    once.push_back(j);
  }
  // A stable partition by hand (std::stable_partition allocates): found twice first.
  for (std::int32_t j : once)
    if ((twice[static_cast<std::size_t>(j) / 64] >> (j % 64)) & 1) unique.push_back(j);
  for (std::int32_t j : once)
    if (!((twice[static_cast<std::size_t>(j) / 64] >> (j % 64)) & 1)) unique.push_back(j);
  for (std::int32_t j : unique) seen[static_cast<std::size_t>(j) / 64] = twice[static_cast<std::size_t>(j) / 64] = 0;

  best.clear();  // max-heap on (distance, id): the worst of the best n on top
  const std::size_t ahead = kPrefetchAhead;
  for (std::size_t c = 0; c < std::min(ahead, unique.size()); ++c) prefetch(forest.node(unique[c]), prefetch_bytes);
  for (std::size_t c = 0; c < unique.size(); ++c) {
    if (c + ahead < unique.size()) prefetch(forest.node(unique[c + ahead]), prefetch_bytes);
    const std::uint8_t* item = forest.node(unique[c]);
    if (n_descendants(item) != 1) continue;
    const bool full = best.size() == n;
    const Priority bound = full ? best.front().first : std::numeric_limits<Priority>::max();
    const Entry e{distance_within<P>(qnode, item, words, bound, forest.layout.node_size, 0), unique[c]};
    if (!full) {
      best.push_back(e);
      std::push_heap(best.begin(), best.end());
    } else if (e < best.front()) {
      std::pop_heap(best.begin(), best.end());
      best.back() = e;
      std::push_heap(best.begin(), best.end());
    }
  }
  std::sort_heap(best.begin(), best.end());
  for (const Entry& e : best) {
    out.ids->push_back(e.second);
    if (out.distances) out.distances->push_back(P::reported(e.first));
  }
}

template <class P>
void search_with(const Forest& forest, const void* query, int n, std::int64_t search_k,
                 SearchOutput out) {
  using Priority = typename P::Priority;
  const NodeLayout& layout = forest.layout;
  const int words = layout.f;
  const std::int64_t n_nodes = forest.n_nodes;
  const std::int64_t max_bucket = static_cast<std::int64_t>(layout.max_bucket());

  // The query as a node, so the metric's distance applies unchanged (angular caches its norm).
  // Per-thread buffers, reused by every query: no heap allocation once warm.
  thread_local std::vector<std::uint8_t> qnode;
  qnode.assign(layout.node_size + layout.value_size * words, 0);
  std::memcpy(qnode.data() + layout.vector, query, layout.value_size * words);
  P::init_item(qnode.data(), words);
  prepare_query<P>(qnode.data(), layout.node_size, words, 0);
  const auto* qvec = P::v(static_cast<const std::uint8_t*>(qnode.data()));

  if (search_k == -1) search_k = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(forest.roots.size());

  // A max-heap of (priority, node), as std::priority_queue, in a reused buffer.
  using Entry = std::pair<Priority, std::int32_t>;
  thread_local std::vector<Entry> queue;
  queue.clear();
  for (std::int32_t root : forest.roots) queue.push_back({start_priority<Priority>(), root});
  std::make_heap(queue.begin(), queue.end());

  thread_local std::vector<std::int32_t> candidates;
  candidates.clear();
  // Item nodes are shared by every tree, but each split node and bucket of a valid forest is
  // reached at most once per root that leads to it, and the loader's roots lead to disjoint
  // trees (a duplicate root at most doubles a tree). More visits than that mean a crafted
  // node graph: stop there. Item visits push nothing, so work and queue memory stay linear
  // in the file's size whatever its bytes.
  const std::int64_t max_visits = 2 * n_nodes + static_cast<std::int64_t>(forest.roots.size());
  std::int64_t visits = 0;
  while (static_cast<std::int64_t>(candidates.size()) < search_k && !queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Priority d = queue.back().first;
    const std::int32_t i = queue.back().second;
    queue.pop_back();
    const std::uint8_t* node = forest.node(i);
    const std::int32_t count = n_descendants(node);
    if (count == 1 && i < forest.n_items) {
      candidates.push_back(i);
      continue;
    }
    if (++visits > max_visits) break;
    if (count <= max_bucket) {
      if (count <= 0) continue;
      const std::int32_t* ids = field<std::int32_t>(node, P::kChildren);
      candidates.insert(candidates.end(), ids, ids + count);
    } else {
      auto margin = P::margin(node, qvec, words);
      const std::int32_t* children = field<std::int32_t>(node, P::kChildren);
      for (int c = 1; c >= 0; --c) {  // children[1] first, as Annoy pushes them
        if (children[c] < 0 || children[c] >= n_nodes) continue;
        queue.push_back({child_priority(d, margin, c), children[c]});
        std::push_heap(queue.begin(), queue.end());
      }
    }
  }

  rank(forest, qnode.data(), candidates, static_cast<std::size_t>(n), out, static_cast<P*>(nullptr));
}

}  // namespace

void search(const Forest& forest, const void* query, int n, std::int64_t search_k,
            SearchOutput out) {
  with_policy(forest.layout, forest.annoy_float_order,
              [&](auto policy) { search_with<decltype(policy)>(forest, query, n, search_k, out); });
}

float item_distance(const Forest& forest, std::int32_t i, std::int32_t j) {
  return with_policy(forest.layout, forest.annoy_float_order, [&](auto policy) -> float {
    using P = decltype(policy);
    return P::reported(P::distance(forest.node(i), forest.node(j), forest.layout.f));
  });
}

void init_item(Forest& forest, std::uint8_t* node) {
  with_policy(forest.layout, forest.annoy_float_order,
              [&](auto policy) { decltype(policy)::init_item(node, forest.layout.f); });
}

}  // namespace detail
}  // namespace grove
