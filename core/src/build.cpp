// Building the forest: recursive random-projection splits, as Annoy builds them.
//
// The random stream, the order of draws, the smaller-side-first recursion and the float
// order all follow Annoy's single-threaded build, so the same items and seed give the same
// file. Threads never change the result: they only share the margin computation of a large
// split, and the random flips for exact-zero margins are still drawn in item order.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "dispatch.h"
#include "forest.h"
#include "grove/error.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

// Splits smaller than this are not worth handing to other threads.
constexpr std::size_t kParallelSplit = 256;

double imbalance(std::size_t left, std::size_t right) {
  double l = static_cast<float>(left), r = static_cast<float>(right);
  float frac = static_cast<float>(l / (l + r + 1e-9));
  return std::max(frac, 1 - frac);
}

// Annoy numbers nodes with 32-bit ints: an index cannot grow past that.
void require_node_numbers(std::int64_t nodes) {
  if (nodes > std::numeric_limits<std::int32_t>::max())
    throw Error(ErrorCode::OutOfMemory, "index too large: Annoy's format numbers nodes with 32-bit ints");
}

inline bool side_of(float margin, Kiss64& rng) {
  return margin != 0 ? margin > 0 : rng.flip();  // exactly on the plane: a coin decides
}
inline bool side_of(bool margin, Kiss64&) { return margin; }

template <class P>
class TreeBuilder {
 public:
  TreeBuilder(Forest& forest, Kiss64& rng, ParallelFor* parallel)
      : forest_(forest), rng_(rng), parallel_(parallel),
        words_(forest.layout.f), s_(forest.layout.node_size),
        k_(forest.layout.max_bucket()) {}

  std::int32_t make_tree(const std::vector<std::int32_t>& ids, bool is_root) {
    if (ids.size() == 1 && !is_root) return ids[0];  // a lone item is its own subtree
    const bool small_items = static_cast<std::size_t>(forest_.n_items) <= k_;
    if (ids.size() <= k_ && (!is_root || small_items || ids.size() == 1))
      return make_bucket(ids, is_root);

    std::vector<std::uint8_t> split(s_, 0);
    std::vector<std::int32_t> sides[2];
    choose_split(ids, split.data(), sides);

    const int flip = sides[0].size() > sides[1].size() ? 1 : 0;
    n_descendants(split.data()) = is_root ? forest_.n_items : static_cast<std::int32_t>(ids.size());
    std::int32_t* children = field<std::int32_t>(split.data(), P::kChildren);
    for (int side = 0; side < 2; ++side)  // the smaller side first, as Annoy does
      children[side ^ flip] = make_tree(sides[side ^ flip], false);

    std::int32_t id = allocate();
    std::memcpy(forest_.mutable_node(id), split.data(), s_);
    return id;
  }

 private:
  std::int32_t make_bucket(const std::vector<std::int32_t>& ids, bool is_root) {
    std::int32_t id = allocate();
    std::uint8_t* node = forest_.mutable_node(id);
    n_descendants(node) = is_root ? forest_.n_items : static_cast<std::int32_t>(ids.size());
    if (!ids.empty())
      std::memcpy(node + P::kChildren, ids.data(), ids.size() * sizeof(std::int32_t));
    return id;
  }

  // Up to three planes; keeps the first with imbalance < 0.95, or the last one tried. If
  // even that leaves > 99% on one side (duplicates), sides are drawn at random.
  void choose_split(const std::vector<std::int32_t>& ids, std::uint8_t* split,
                    std::vector<std::int32_t>* sides) {
    std::vector<const std::uint8_t*> items;
    items.reserve(ids.size());
    for (std::int32_t id : ids) items.push_back(forest_.node(id));
    for (int attempt = 0; attempt < 3; ++attempt) {
      P::create_split(items, words_, s_, rng_, split);
      assign_sides(ids, items, split, sides);
      if (imbalance(sides[0].size(), sides[1].size()) < 0.95) break;
    }
    while (imbalance(sides[0].size(), sides[1].size()) > 0.99) {
      sides[0].clear();
      sides[1].clear();
      P::zero_plane(split, words_);
      for (std::int32_t id : ids) sides[rng_.flip() ? 1 : 0].push_back(id);
    }
  }

  void assign_sides(const std::vector<std::int32_t>& ids,
                    const std::vector<const std::uint8_t*>& items, const std::uint8_t* split,
                    std::vector<std::int32_t>* sides) {
    using Margin = decltype(P::build_margin(split, items[0], words_));
    sides[0].clear();
    sides[1].clear();
    if (parallel_ && parallel_->workers() > 1 && ids.size() >= kParallelSplit) {
      margins_.resize(ids.size());
      Margin* out = reinterpret_cast<Margin*>(margins_.data());
      static_assert(sizeof(Margin) <= sizeof(float), "margin buffer too small");
      parallel_->run(ids.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) out[i] = P::build_margin(split, items[i], words_);
      });
      for (std::size_t i = 0; i < ids.size(); ++i) sides[side_of(out[i], rng_) ? 1 : 0].push_back(ids[i]);
      return;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      bool side = side_of(P::build_margin(split, items[i], words_), rng_);
      sides[side ? 1 : 0].push_back(ids[i]);
    }
  }

  std::int32_t allocate() {
    require_node_numbers(forest_.n_nodes + 1);
    forest_.reserve(forest_.n_nodes + 1);
    std::int32_t id = static_cast<std::int32_t>(forest_.n_nodes++);
    std::memset(forest_.mutable_node(id), 0, s_);  // reused after unbuild(): start clean
    return id;
  }

  Forest& forest_;
  Kiss64& rng_;
  ParallelFor* parallel_;
  int words_;
  std::size_t s_;
  std::size_t k_;
  std::vector<float> margins_;
};

// Dot: give each item the extra coordinate that lifts all of them to the largest norm. The
// main-branch layout also stores max_norm^2 and a built flag (set after the build).
template <class M, class Dot>
void dot_preprocess(Forest& forest) {
  const int f = forest.layout.f;
  float max_norm = 0;
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    std::uint8_t* n = forest.mutable_node(i);
    if (n_descendants(n) != 1) continue;  // holes stay zero
    float d = M::dot(Dot::v(n), Dot::v(n), f);
    float norm = d < 0 ? 0 : std::sqrt(d);
    Dot::df(n) = norm;
    max_norm = std::max(max_norm, norm);
  }
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    std::uint8_t* n = forest.mutable_node(i);
    if (n_descendants(n) != 1) continue;
    float gap = max_norm * max_norm - Dot::df(n) * Dot::df(n);
    Dot::df(n) = gap < 0 ? 0 : std::sqrt(gap);
    if constexpr (std::is_same<Dot, DotMain<M>>::value) {
      *field<float>(n, Dot::kNorm) = max_norm * max_norm;
      *field<std::uint8_t>(n, Dot::kBuilt) = 0;
    }
  }
}

void dot_postprocess(Forest& forest) {
  using Dot = DotMain<ExactMath>;  // field offsets only
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    std::uint8_t* n = forest.mutable_node(i);
    if (n_descendants(n) == 1) *field<std::uint8_t>(n, Dot::kBuilt) = 1;
  }
}

template <class P>
void build_trees(Forest& forest, const BuildOptions& options) {
  std::vector<std::int32_t> ids;
  for (std::int32_t i = 0; i < forest.n_items; ++i)
    if (n_descendants(forest.node(i)) >= 1) ids.push_back(i);  // skip holes
  Kiss64 rng(options.seed);
  TreeBuilder<P> builder(forest, rng, options.parallel);
  for (int t = 0;; ++t) {
    if (options.n_trees == -1 ? forest.n_nodes >= 2 * static_cast<std::int64_t>(forest.n_items)
                              : t >= options.n_trees)
      break;
    forest.roots.push_back(builder.make_tree(ids, true));
    if (options.log)
      options.log("tree " + std::to_string(t + 1) +
                  (options.n_trees == -1 ? "" : " of " + std::to_string(options.n_trees)) +
                  " built (" + std::to_string(forest.n_nodes) + " nodes so far)");
  }
}

// Room for the trees up front, from a generous estimate (a tree of buckets at least half
// full), so a large index is not reallocated by 1.3x steps while it grows: in wasm32 a
// realloc that cannot extend in place needs the old and the new block at once.
void reserve_for_trees(Forest& forest, int n_trees) {
  const std::int64_t n = forest.n_items;
  const std::int64_t k = std::max<std::int64_t>(2, static_cast<std::int64_t>(forest.layout.max_bucket()));
  const std::int64_t per_tree = 4 * n / k + 2;
  const std::int64_t trees = n_trees == -1 ? 0 : n_trees;
  const std::int64_t nodes = (n_trees == -1 ? 2 * n + per_tree : n + trees * (per_tree + 1));
  forest.reserve_hint(std::min<std::int64_t>(nodes, std::numeric_limits<std::int32_t>::max()));
}

}  // namespace

void build_forest(Forest& forest, const BuildOptions& options) {
  forest.n_nodes = forest.n_items;
  forest.roots.clear();
  const bool dot = forest.layout.metric == Metric::Dot;
  const bool dot_main = dot && forest.layout.dot_layout == DotLayout::Main;
  if (dot_main) {
    if (forest.annoy_float_order) dot_preprocess<ExactMath, DotMain<ExactMath>>(forest);
    else dot_preprocess<FastMath, DotMain<FastMath>>(forest);
  } else if (dot) {
    if (forest.annoy_float_order) dot_preprocess<ExactMath, DotReleased<ExactMath>>(forest);
    else dot_preprocess<FastMath, DotReleased<FastMath>>(forest);
  }
  reserve_for_trees(forest, options.n_trees);
  with_policy(forest.layout, forest.annoy_float_order,
              [&](auto policy) { build_trees<decltype(policy)>(forest, options); });
  // A copy of every root at the end lets a loader find the roots without reading the file.
  const std::int64_t tree_end = forest.n_nodes;
  require_node_numbers(tree_end + static_cast<std::int64_t>(forest.roots.size()));
  forest.reserve(tree_end + static_cast<std::int64_t>(forest.roots.size()));
  for (std::size_t i = 0; i < forest.roots.size(); ++i)
    std::memcpy(forest.mutable_node(tree_end + static_cast<std::int64_t>(i)),
                forest.node(forest.roots[i]), forest.layout.node_size);
  forest.n_nodes = tree_end + static_cast<std::int64_t>(forest.roots.size());
  if (dot_main) dot_postprocess(forest);
  forest.storage->finish(forest.bytes_for(forest.n_nodes));
  if (options.log)
    options.log("index has " + std::to_string(forest.n_nodes) + " nodes in " +
                std::to_string(forest.roots.size()) + " trees");
}

}  // namespace detail
}  // namespace grove
