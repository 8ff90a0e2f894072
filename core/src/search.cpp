// Searching the forest: one priority queue over all trees, ordered by how far the query is
// from each split; candidates are collected until search_k, then ranked by exact distance.
//
// Every index read here is checked against the node count, so any bytes (a corrupt or
// crafted file) can give wrong answers but never an out-of-bounds read, and a bound on the
// number of nodes visited stops a cyclic node graph from looping forever.
#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>
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

template <class P>
void search_with(const Forest& forest, const void* query, int n, std::int64_t search_k,
                 SearchOutput out) {
  using Priority = typename P::Priority;
  const NodeLayout& layout = forest.layout;
  const int words = layout.f;
  const std::int64_t n_nodes = forest.n_nodes;
  const std::int64_t max_bucket = static_cast<std::int64_t>(layout.max_bucket());

  // The query as a node, so the metric's distance applies unchanged (angular caches its norm).
  std::vector<std::uint8_t> qnode(layout.node_size, 0);
  std::memcpy(qnode.data() + layout.vector, query, layout.value_size * words);
  P::init_item(qnode.data(), words);
  const auto* qvec = P::v(static_cast<const std::uint8_t*>(qnode.data()));

  if (search_k == -1) search_k = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(forest.roots.size());

  std::priority_queue<std::pair<Priority, std::int32_t>> queue;
  for (std::int32_t root : forest.roots) queue.push({start_priority<Priority>(), root});

  std::vector<std::int32_t> candidates;
  // A tree visits each node at most once; more visits than that means a corrupt node graph.
  const std::int64_t max_visits = (n_nodes + 1) * static_cast<std::int64_t>(forest.roots.size() + 1);
  std::int64_t visits = 0;
  while (static_cast<std::int64_t>(candidates.size()) < search_k && !queue.empty() &&
         visits++ < max_visits) {
    const Priority d = queue.top().first;
    const std::int32_t i = queue.top().second;
    queue.pop();
    const std::uint8_t* node = forest.node(i);
    const std::int32_t count = n_descendants(node);
    if (count == 1 && i < forest.n_items) {
      candidates.push_back(i);
    } else if (count <= max_bucket) {
      if (count <= 0) continue;
      const std::int32_t* ids = field<std::int32_t>(node, P::kChildren);
      candidates.insert(candidates.end(), ids, ids + count);
    } else {
      auto margin = P::margin(node, qvec, words);
      const std::int32_t* children = field<std::int32_t>(node, P::kChildren);
      for (int c = 1; c >= 0; --c) {  // children[1] first, as Annoy pushes them
        if (children[c] < 0 || children[c] >= n_nodes) continue;
        queue.push({child_priority(d, margin, c), children[c]});
      }
    }
  }

  // Rank each distinct item once: sort ids, skip repeats, holes and non-items.
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::pair<Priority, std::int32_t>> ranked;
  ranked.reserve(candidates.size());
  std::int32_t last = -1;
  for (std::int32_t j : candidates) {
    if (j == last) continue;
    last = j;
    if (j < 0 || j >= forest.n_items) continue;
    const std::uint8_t* item = forest.node(j);
    if (n_descendants(item) != 1) continue;
    ranked.push_back({P::distance(qnode.data(), item, words), j});
  }
  const std::size_t keep = std::min(static_cast<std::size_t>(n), ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end());
  for (std::size_t r = 0; r < keep; ++r) {
    out.ids->push_back(ranked[r].second);
    if (out.distances) out.distances->push_back(P::reported(ranked[r].first));
  }
}

}  // namespace

void search(const Forest& forest, const void* query, int n, std::int64_t search_k,
            SearchOutput out) {
  with_policy(forest.layout,
              [&](auto policy) { search_with<decltype(policy)>(forest, query, n, search_k, out); });
}

float item_distance(const Forest& forest, std::int32_t i, std::int32_t j) {
  return with_policy(forest.layout, [&](auto policy) -> float {
    using P = decltype(policy);
    return P::reported(P::distance(forest.node(i), forest.node(j), forest.layout.f));
  });
}

void init_item(Forest& forest, std::uint8_t* node) {
  with_policy(forest.layout,
              [&](auto policy) { decltype(policy)::init_item(node, forest.layout.f); });
}

}  // namespace detail
}  // namespace grove
