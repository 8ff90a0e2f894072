// Growing the neighbour graph (graph.h) from a built forest, in three passes over the items:
//
// 1. Leaves: an item measures the items it shares a leaf with, in every tree (at most
//    kLeafSample of each leaf: Fashion-MNIST's leaves hold up to 786), keeping its kList
//    nearest. The trees put near items together, so these lists start close.
// 2. NN-descent (Dong, Moses and Li, 2011): an item measures its neighbours' neighbours and
//    the items that list it, and keeps the nearest of old and new; kRounds rounds.
// 3. Pruning: an item keeps a neighbour only when no nearer kept one lies closer to it (the
//    rule HNSW and Vamana use: edges that point somewhere new), up to the degree; then each
//    kept edge is added the other way where there is room, so walks can come back.
//
// Each pass computes an item's list from the previous pass's lists only, so threads share
// the items without locks and the graph does not depend on how many there are.
#include "graph.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "compact.h"
#include "dispatch.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

constexpr int kList = 96;        // nearest kept per item while growing
constexpr int kLeafSample = 60;  // co-leaf items an item measures per tree
constexpr int kHop = 16;         // neighbours (and listers) whose lists an item reads per round
constexpr int kRounds = 1;
constexpr std::size_t kBlock = 4096;  // items between looks at the stop flag

// Each item's nearest kList so far, nearest first.
class Lists {
 public:
  explicit Lists(std::size_t n) : ids_(n * kList, -1), dist_(n * kList, 0), count_(n, 0) {}
  int count(std::size_t u) const { return count_[u]; }
  std::int32_t id(std::size_t u, int k) const { return ids_[u * kList + static_cast<std::size_t>(k)]; }
  float dist(std::size_t u, int k) const { return dist_[u * kList + static_cast<std::size_t>(k)]; }
  bool has(std::size_t u, std::int32_t v) const {
    const std::int32_t* ids = &ids_[u * kList];
    return std::find(ids, ids + count_[u], v) != ids + count_[u];
  }
  // Keeps v if it is among u's nearest (ties: the earlier offer stays first). v must be new.
  void offer(std::size_t u, std::int32_t v, float d) {
    std::int32_t* ids = &ids_[u * kList];
    float* dist = &dist_[u * kList];
    int& c = count_[u];
    if (c == kList && !(d < dist[kList - 1])) return;
    int at = c < kList ? c++ : kList - 1;
    for (; at > 0 && dist[at - 1] > d; --at) {
      dist[at] = dist[at - 1];
      ids[at] = ids[at - 1];
    }
    dist[at] = d;
    ids[at] = v;
  }

 private:
  std::vector<std::int32_t> ids_;
  std::vector<float> dist_;
  std::vector<int> count_;
};

// Runs fn(u) for every item, shared between threads, a block at a time (the stop flag is
// looked at between blocks).
template <class Fn>
void for_items(std::size_t n, const BuildOptions& options, const Fn& fn) {
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    check_stop(options);
    const std::size_t end = std::min(n, begin + kBlock);
    if (options.parallel && options.parallel->workers() > 1)
      options.parallel->run(end - begin, [&](std::size_t a, std::size_t b) {
        for (std::size_t u = begin + a; u < begin + b; ++u) fn(u);
      });
    else
      for (std::size_t u = begin; u < end; ++u) fn(u);
  }
}

// Every tree's leaves: members of leaf l of tree t are ids[start[t][l] .. start[t][l + 1]),
// in id order; leaf[t][u] is u's leaf (or the unreached number, the last) and at[t][u] its
// place among the members.
struct Leaves {
  std::vector<std::vector<std::int32_t>> leaf, start, ids, at;
};

Leaves collect_leaves(const Forest& forest) {
  std::vector<std::int32_t> roots(forest.roots.begin(), forest.roots.end());
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  const std::size_t n = static_cast<std::size_t>(forest.n_items);
  Leaves l;
  for (std::int32_t root : roots) {
    std::vector<std::int32_t> leaf, start, ids(n), at(n);
    const std::int32_t numbers = leaf_numbers(forest, root, leaf);
    start.assign(static_cast<std::size_t>(numbers) + 1, 0);
    for (std::int32_t x : leaf) ++start[static_cast<std::size_t>(x) + 1];
    for (std::size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
    std::vector<std::int32_t> next(start.begin(), start.end() - 1);
    for (std::size_t u = 0; u < n; ++u) {
      const std::int32_t slot = next[static_cast<std::size_t>(leaf[u])]++;
      ids[static_cast<std::size_t>(slot)] = static_cast<std::int32_t>(u);
      at[u] = slot - start[static_cast<std::size_t>(leaf[u])];
    }
    l.leaf.push_back(std::move(leaf));
    l.start.push_back(std::move(start));
    l.ids.push_back(std::move(ids));
    l.at.push_back(std::move(at));
  }
  return l;
}

// Distances between items for growing: on the 8-bit codes where they measure the metric's
// distance (euclidean, manhattan and angular, whose codes are of the unit vectors: a row is
// a quarter of a float vector's bytes, and rows are stored in leaf order, so co-leaf items
// are near in memory too); on the float vectors for dot. Items without a usable code (zero or
// huge vectors, always ranked exactly) are left out of the graph: the trees still find them.
// The float distance of items (dot), as the metric's policy computes it while building.
using FloatDistance = float (*)(const std::uint8_t*, const std::uint8_t*, int);

class Measure {
 public:
  Measure(const Forest& forest, const Compact& codes, FloatDistance floats)
      : forest_(forest), codes_(codes), kernels_(code_kernels()), floats_(floats) {
    const Metric m = forest.layout.metric;
    on_codes_ = m != Metric::Dot;
    l1_ = m == Metric::Manhattan;
  }
  bool usable(std::int32_t v) const {
    const float e = codes_.error(v);
    return e >= 0 && e != std::numeric_limits<float>::infinity();
  }
  const void* row(std::int32_t v) const {
    return on_codes_ ? static_cast<const void*>(codes_.code(v)) : static_cast<const void*>(forest_.node(v));
  }
  std::size_t row_bytes() const { return on_codes_ ? static_cast<std::size_t>(codes_.stride()) : forest_.layout.node_size; }
  // From `u` (set once, reused for many v: its code widened to the kernels' query steps).
  void from(std::int32_t u) {
    u_ = u;
    if (!on_codes_) return;
    wide_.resize(static_cast<std::size_t>(codes_.stride()));
    const std::uint8_t* c = codes_.code(u);
    for (std::size_t j = 0; j < wide_.size(); ++j) wide_[j] = c[j];
  }
  float to(std::int32_t v) const {
    if (!on_codes_) return floats_(forest_.node(u_), forest_.node(v), forest_.layout.f);
    const int n = codes_.stride();
    return static_cast<float>(l1_ ? kernels_.l1(wide_.data(), codes_.code(v), n) : kernels_.l2(wide_.data(), codes_.code(v), n));
  }

 private:
  const Forest& forest_;
  const Compact& codes_;
  const CodeKernels& kernels_;
  FloatDistance floats_;
  bool on_codes_ = true, l1_ = false;
  std::int32_t u_ = 0;
  std::vector<std::int16_t> wide_;
};

// Not a template (the policy's one use is FloatDistance): one copy of it in a wasm build.
class Grower {
 public:
  Grower(const Forest& forest, const Compact& codes, FloatDistance floats, const BuildOptions& options)
      : forest_(forest), codes_(codes), floats_(floats), options_(options), n_(static_cast<std::size_t>(forest.n_items)),
        lists_(n_) {
    live_.resize(n_);
    const Measure measure(forest, codes, floats);
    for (std::size_t u = 0; u < n_; ++u) {
      const std::int32_t i = static_cast<std::int32_t>(u);
      live_[u] = n_descendants(forest.node(i)) == 1 && !forest.is_removed(i) && i < codes.coded_items() && measure.usable(i);
    }
  }

  std::vector<std::int32_t> grow(int degree) {
    from_leaves();
    for (int round = 0; round < kRounds; ++round) descend();
    return prune(degree);
  }

 private:
  bool live(std::int32_t v) const { return live_[static_cast<std::size_t>(v)]; }
  // Offers u every item in `batch`, their rows fetched together first: the items are
  // scattered, and measuring them one by one would wait on each row's cache misses in turn.
  void measure(std::size_t u, const std::vector<std::int32_t>& batch) {
    Measure m(forest_, codes_, floats_);
    m.from(static_cast<std::int32_t>(u));
    for (std::int32_t v : batch) prefetch(m.row(v), m.row_bytes());
    for (std::int32_t v : batch) lists_.offer(u, v, m.to(v));
  }
  static std::vector<std::int32_t>& batch() {
    thread_local std::vector<std::int32_t> b;
    b.clear();
    return b;
  }

  void from_leaves() {
    const Leaves leaves = collect_leaves(forest_);
    for_items(n_, options_, [&](std::size_t u) {
      if (!live_[u]) return;
      VisitMarks seen(n_);
      seen.first(static_cast<std::int32_t>(u));
      std::vector<std::int32_t>& near = batch();
      for (std::size_t t = 0; t < leaves.leaf.size(); ++t) {
        const std::size_t l = static_cast<std::size_t>(leaves.leaf[t][u]);
        if (l + 2 >= leaves.start[t].size()) continue;  // not reached by this tree
        const std::int32_t begin = leaves.start[t][l], size = leaves.start[t][l + 1] - begin;
        // A window of the leaf around u: all of a small leaf, kLeafSample of a large one.
        const std::int32_t take = std::min(size, kLeafSample);
        const std::int32_t first = size == take ? 0 : leaves.at[t][u] + size - take / 2;
        for (std::int32_t k = 0; k < take; ++k) {
          const std::int32_t v = leaves.ids[t][static_cast<std::size_t>(begin + (first + k) % size)];
          if (live(v) && seen.first(v)) near.push_back(v);
        }
      }
      measure(u, near);
    });
  }

  // One round: each item reads its neighbours' lists and its listers' from the round before.
  void descend() {
    const Lists before = lists_;
    std::vector<std::int32_t> listers(n_ * kHop, -1);
    std::vector<int> listed(n_, 0);
    for (std::size_t u = 0; u < n_; ++u)
      for (int k = 0; k < std::min(kHop, before.count(u)); ++k) {
        const std::size_t v = static_cast<std::size_t>(before.id(u, k));
        if (listed[v] < kHop) listers[v * kHop + static_cast<std::size_t>(listed[v]++)] = static_cast<std::int32_t>(u);
      }
    for_items(n_, options_, [&](std::size_t u) {
      if (!live_[u]) return;
      VisitMarks seen(n_);
      seen.first(static_cast<std::int32_t>(u));
      for (int k = 0; k < before.count(u); ++k) seen.first(before.id(u, k));
      std::vector<std::int32_t>& near = batch();
      auto list_of = [&](std::size_t v) {
        for (int k = 0; k < std::min(kHop, before.count(v)); ++k) {
          const std::int32_t w = before.id(v, k);
          if (seen.first(w)) near.push_back(w);
        }
      };
      for (int k = 0; k < std::min(kHop, before.count(u)); ++k) list_of(static_cast<std::size_t>(before.id(u, k)));
      for (int k = 0; k < listed[u]; ++k) {
        const std::int32_t v = listers[u * kHop + static_cast<std::size_t>(k)];
        if (seen.first(v)) near.push_back(v);
        list_of(static_cast<std::size_t>(v));
      }
      measure(u, near);
    });
  }

  std::vector<std::int32_t> prune(int degree) {
    const std::size_t r = static_cast<std::size_t>(degree);
    std::vector<std::int32_t> graph(n_ * r, -1);
    std::vector<int> kept(n_, 0);
    for_items(n_, options_, [&](std::size_t u) {
      std::int32_t* row = &graph[u * r];
      int& c = kept[u];
      Measure m(forest_, codes_, floats_);
      for (int k = 0; k < lists_.count(u); ++k) prefetch(m.row(lists_.id(u, k)), m.row_bytes());
      for (int k = 0; k < lists_.count(u) && c < degree; ++k) {
        const std::int32_t v = lists_.id(u, k);
        const float duv = lists_.dist(u, k);
        m.from(v);
        bool new_direction = true;
        for (int j = 0; j < c && new_direction; ++j) new_direction = m.to(row[j]) > duv;
        if (new_direction) row[c++] = v;
      }
    });
    // Each edge the other way, where the far end has room (in item order: one graph for any
    // number of threads).
    std::vector<int> degree_now(kept);
    for (std::size_t u = 0; u < n_; ++u)
      for (int k = 0; k < kept[u]; ++k) {
        const std::size_t v = static_cast<std::size_t>(graph[u * r + static_cast<std::size_t>(k)]);
        std::int32_t* row = &graph[v * r];
        int& d = degree_now[v];
        if (d < degree && std::find(row, row + d, static_cast<std::int32_t>(u)) == row + d) row[d++] = static_cast<std::int32_t>(u);
      }
    return graph;
  }

  const Forest& forest_;
  const Compact& codes_;
  FloatDistance floats_;
  const BuildOptions& options_;
  std::size_t n_;
  Lists lists_;
  std::vector<bool> live_;
};

}  // namespace

std::vector<std::int32_t> grow_graph(const Forest& forest, const Compact& codes, int degree, const BuildOptions& options) {
  const FloatDistance floats = with_policy(forest.layout, forest.annoy_float_order, [](auto policy) -> FloatDistance {
    using P = decltype(policy);
    if constexpr (std::is_same<typename P::Priority, float>::value) return &P::build_distance;
    else return nullptr;  // hamming: no graph (its codes are its vectors)
  });
  if (!floats) return std::vector<std::int32_t>();
  return Grower(forest, codes, floats, options).grow(degree);
}

}  // namespace detail
}  // namespace grove
