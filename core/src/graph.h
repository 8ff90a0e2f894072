// The neighbour graph: each item's nearest others, pruned for direction, grown from the
// trees an index already has. A query descends a tree to a leaf for its first candidates,
// then walks the graph best-first on the compact codes (search.cpp); where a tree search at
// recall 0.9 on word vectors collects thousands of candidates, the walk scores a few hundred.
// The graph is stored in the compact companion (grove/format.h), so it goes wherever the
// codes go.
#ifndef GROVE_CORE_GRAPH_H
#define GROVE_CORE_GRAPH_H

#include <cstdint>
#include <vector>

#include "forest.h"

namespace grove {
namespace detail {

// Neighbour slots an item (the graph section's degree): hnswlib's bottom layer at M 16 has as
// many. Not tuned yet; 128 bytes an item (the companion stays under half the index on GloVe).
constexpr int kGraphDegree = 32;
// Smaller indexes get no graph: searching their trees is cheap already.
constexpr int kGraphMinItems = 1000;

// n_items x degree ids, nearest first, -1 after an item's last neighbour (holes and removed
// items have none and are no one's), measured on `codes` (the forest's compact copy). Uses
// options.parallel and options.stop (Cancelled); the same graph for any number of threads.
// Empty for hamming.
std::vector<std::int32_t> grow_graph(const Forest& forest, const Compact& codes, int degree, const BuildOptions& options);

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_GRAPH_H
