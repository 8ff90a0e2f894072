// Growing the neighbour graph (graph.h) from a built forest, in three passes over the items:
//
// 1. Leaves: an item measures the items it shares a leaf with, in every tree (at most
//    kLeafSample of each leaf: Fashion-MNIST's leaves hold up to 786), keeping its kList
//    nearest. The trees put near items together, so these lists start close.
// 2. NN-descent (Dong, Moses and Li, 2011): an item measures its neighbours' neighbours and
//    the items that list it, and keeps the nearest of old and new; each round tries only
//    pairs with a link new since the round before, until the lists settle (kSettled).
// 3. Pruning: an item keeps a neighbour only when no nearer kept one lies closer to it (the
//    rule HNSW and Vamana use: edges that point somewhere new), up to the degree; then each
//    kept edge is added the other way where there is room, so walks can come back.
//
// Each pass computes an item's list from the previous pass's lists only, so threads share
// the items without locks and the graph does not depend on how many there are.
#include "graph.h"

#include <algorithm>
#include <cmath>
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
// NN-descent runs until a round takes in fewer than kSettled new neighbours per item (a
// quarter of a list), kMaxRounds at most. Measured: GloVe's lists settle after 2 rounds
// (48, then 20 per item), Fashion-MNIST's after 4 (40, 35, 33, 19: its leaves hold up to
// 786 items, of which the leaf pass reads kLeafSample, so its first lists are rougher);
// there 4 rounds against 1 take recall at the walk's least width from 0.60 to 0.92.
constexpr int kMaxRounds = 6;
constexpr double kSettled = kList / 4.0;
constexpr std::size_t kBlock = 4096;  // items between looks at the stop flag

// Each item's nearest kList so far, nearest first.
class Lists {
 public:
  explicit Lists(std::size_t n) : ids_(n * kList, -1), dist_(n * kList, 0), fresh_(n * kList, 0), count_(n, 0) {}
  int count(std::size_t u) const { return count_[u]; }
  std::int32_t id(std::size_t u, int k) const { return ids_[u * kList + static_cast<std::size_t>(k)]; }
  float dist(std::size_t u, int k) const { return dist_[u * kList + static_cast<std::size_t>(k)]; }
  // Whether u's k-th entry came in since the last forget_fresh(): its pairs are new to try.
  bool fresh(std::size_t u, int k) const { return fresh_[u * kList + static_cast<std::size_t>(k)] != 0; }
  void forget_fresh() { std::fill(fresh_.begin(), fresh_.end(), std::uint8_t(0)); }
  // Keeps the nearest of u's list and `count` new items (none already listed), as offering
  // them one by one would: ties keep the earlier, listed ones first. The batch is sorted and
  // merged in, rather than each item slid into place (a leaf pass offers hundreds at once).
  // Returns how many of the new items were kept.
  int offer(std::size_t u, const std::int32_t* ids, const float* dists, int count) {
    const std::size_t at = u * kList;
    const int had = count_[u];
    const std::vector<std::pair<float, int>>& order =
        nearest_first(dists, count, had == kList ? dist_[at + kList - 1] : std::numeric_limits<float>::infinity());
    const int offered = static_cast<int>(order.size());
    const int total = std::min(kList, had + offered);
    thread_local Merged merged;
    merged.resize(total);
    int i = 0, j = 0;
    for (int out = 0; out < total; ++out) {
      const std::size_t o = static_cast<std::size_t>(out);
      if (j == offered || (i < had && !(order[static_cast<std::size_t>(j)].first < dist_[at + static_cast<std::size_t>(i)]))) {
        const std::size_t from = at + static_cast<std::size_t>(i++);
        merged.set(o, ids_[from], dist_[from], fresh_[from]);
      } else {
        const std::pair<float, int>& next = order[static_cast<std::size_t>(j++)];
        merged.set(o, ids[next.second], next.first, 1);
      }
    }
    std::copy(merged.ids.begin(), merged.ids.end(), ids_.begin() + static_cast<std::ptrdiff_t>(at));
    std::copy(merged.dist.begin(), merged.dist.end(), dist_.begin() + static_cast<std::ptrdiff_t>(at));
    std::copy(merged.fresh.begin(), merged.fresh.end(), fresh_.begin() + static_cast<std::ptrdiff_t>(at));
    count_[u] = total;
    return j;
  }

 private:
  struct Merged {
    std::vector<std::int32_t> ids;
    std::vector<float> dist;
    std::vector<std::uint8_t> fresh;
    void resize(int n) {
      ids.resize(static_cast<std::size_t>(n));
      dist.resize(static_cast<std::size_t>(n));
      fresh.resize(static_cast<std::size_t>(n));
    }
    void set(std::size_t k, std::int32_t id, float d, std::uint8_t f) {
      ids[k] = id;
      dist[k] = d;
      fresh[k] = f;
    }
  };
  // The offers nearer than `last` (a full list's farthest), the kList nearest of them as
  // (distance, offer number), sorted: by distance, then by offer (a stable order). NaN (a
  // float dot of huge values) counts as farthest.
  static const std::vector<std::pair<float, int>>& nearest_first(const float* dists, int count, float last) {
    thread_local std::vector<std::pair<float, int>> order;
    order.clear();
    for (int k = 0; k < count; ++k) {
      const float d = std::isnan(dists[k]) ? std::numeric_limits<float>::infinity() : dists[k];
      if (last == std::numeric_limits<float>::infinity() || d < last) order.push_back({d, k});
    }
    if (order.size() > static_cast<std::size_t>(kList)) {
      std::nth_element(order.begin(), order.begin() + kList, order.end());
      order.resize(kList);
    }
    std::sort(order.begin(), order.end());
    return order;
  }

  std::vector<std::int32_t> ids_;
  std::vector<float> dist_;
  std::vector<std::uint8_t> fresh_;
  std::vector<int> count_;
};

// Runs fn(order[k]) for every k, shared between threads, a block at a time (the stop flag
// is looked at between blocks).
template <class Fn>
void for_items(const std::vector<std::int32_t>& order, const BuildOptions& options, const Fn& fn) {
  const std::size_t n = order.size();
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    check_stop(options);
    const std::size_t end = std::min(n, begin + kBlock);
    if (options.parallel && options.parallel->workers() > 1)
      options.parallel->run(end - begin, [&](std::size_t a, std::size_t b) {
        for (std::size_t k = begin + a; k < begin + b; ++k) fn(static_cast<std::size_t>(order[k]));
      });
    else
      for (std::size_t k = begin; k < end; ++k) fn(static_cast<std::size_t>(order[k]));
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
  Measure(const Forest& forest, const Compact& codes, FloatDistance floats, const std::vector<std::int64_t>& squares)
      : forest_(forest), codes_(codes), kernels_(code_kernels()), floats_(floats), squares_(squares) {
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
  // to(v) for `count` items at once: on L2 codes as |u|^2 + |v|^2 - 2 u.v, kRowsMax rows a
  // call (u's code read once for all of them), the same integers as to(v) one by one. Rows
  // are scattered: each is fetched kAhead items before it is read (fetching hundreds at
  // once only stalls the core when the fetches outnumber what it can keep in flight).
  void to_many(const std::int32_t* vs, int count, float* out) const {
    constexpr int kAhead = 2 * kRowsMax;
    for (int k = 0; k < std::min(count, kAhead); ++k) prefetch(row(vs[k]), row_bytes());
    auto ahead = [&](int from, int to) {
      for (int k = from + kAhead; k < std::min(count, to + kAhead); ++k) prefetch(row(vs[k]), row_bytes());
    };
    if (!on_codes_ || l1_) {
      for (int k = 0; k < count; ++k) {
        ahead(k, k + 1);
        out[k] = to(vs[k]);
      }
      return;
    }
    const std::uint8_t* rows[kRowsMax];
    std::int64_t sums[kRowsMax];
    const std::int64_t uu = squares_[static_cast<std::size_t>(u_)];
    for (int begin = 0; begin < count; begin += kRowsMax) {
      const int c = std::min(kRowsMax, count - begin);
      ahead(begin, begin + c);
      for (int k = 0; k < c; ++k) rows[k] = codes_.code(vs[begin + k]);
      kernels_.dot_rows(wide_.data(), rows, c, codes_.stride(), sums);
      for (int k = 0; k < c; ++k)
        out[begin + k] = static_cast<float>(uu + squares_[static_cast<std::size_t>(vs[begin + k])] - 2 * sums[k]);
    }
  }
  // Each item's code's squared length (what to_many needs), where distances are on L2 codes:
  // exact, as to(v)'s integers are (the record's extra holds it rounded down to a float).
  static std::vector<std::int64_t> squares_of(const Forest& forest, const Compact& codes) {
    const Metric m = forest.layout.metric;
    if (m == Metric::Dot || m == Metric::Manhattan) return {};
    std::vector<std::int64_t> squares(static_cast<std::size_t>(codes.coded_items()), 0);
    for (std::size_t v = 0; v < squares.size(); ++v) {
      const std::uint8_t* c = codes.code(static_cast<std::int32_t>(v));
      std::int64_t sum = 0;
      for (int j = 0; j < codes.stride(); ++j) sum += static_cast<std::int64_t>(c[j]) * c[j];
      squares[v] = sum;
    }
    return squares;
  }

 private:
  const Forest& forest_;
  const Compact& codes_;
  const CodeKernels& kernels_;
  FloatDistance floats_;
  const std::vector<std::int64_t>& squares_;
  bool on_codes_ = true, l1_ = false;
  std::int32_t u_ = 0;
  std::vector<std::int16_t> wide_;
};

// Not a template (the policy's one use is FloatDistance): one copy of it in a wasm build.
class Grower {
 public:
  Grower(const Forest& forest, const Compact& codes, FloatDistance floats, const BuildOptions& options)
      : forest_(forest), codes_(codes), floats_(floats), options_(options), n_(static_cast<std::size_t>(forest.n_items)),
        lists_(n_), squares_(Measure::squares_of(forest, codes)) {
    live_.resize(n_);
    order_ = memory_order(codes);
    const Measure measure(forest, codes, floats, squares_);
    for (std::size_t u = 0; u < n_; ++u) {
      const std::int32_t i = static_cast<std::int32_t>(u);
      live_[u] = n_descendants(forest.node(i)) == 1 && !forest.is_removed(i) && i < codes.coded_items() && measure.usable(i);
    }
  }

  std::vector<std::int32_t> grow(int degree) {
    from_leaves();
    const double live = static_cast<double>(std::max<std::size_t>(1, std::count(live_.begin(), live_.end(), true)));
    for (int round = 0; round < kMaxRounds; ++round)
      if (static_cast<double>(descend()) < kSettled * live) break;
    return prune(degree);
  }

 private:
  bool live(std::int32_t v) const { return live_[static_cast<std::size_t>(v)]; }
  // Offers u every item in `batch` (scattered rows, measured a few at a time and fetched
  // ahead: see Measure::to_many); returns how many u's list took in.
  int measure(std::size_t u, const std::vector<std::int32_t>& batch) {
    Measure m(forest_, codes_, floats_, squares_);
    m.from(static_cast<std::int32_t>(u));
    thread_local std::vector<float> dists;
    dists.resize(batch.size());
    m.to_many(batch.data(), static_cast<int>(batch.size()), dists.data());
    return lists_.offer(u, batch.data(), dists.data(), static_cast<int>(batch.size()));
  }
  static std::vector<std::int32_t>& batch() {
    thread_local std::vector<std::int32_t> b;
    b.clear();
    return b;
  }

  void from_leaves() {
    const Leaves leaves = collect_leaves(forest_);
    for_items(order_, options_, [&](std::size_t u) {
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

  // One round: each item reads its neighbours' lists and its listers' from the round before,
  // and measures the pairs not tried in an earlier round (one of the two links fresh: came
  // in last round). Returns how many new neighbours the lists took in.
  std::size_t descend() {
    const Lists before = lists_;
    lists_.forget_fresh();
    // listers[u]: items v whose first kHop list u, with whether u is fresh in v's list.
    std::vector<std::int32_t> listers(n_ * kHop, -1);
    std::vector<std::uint8_t> listers_fresh(n_ * kHop, 0);
    std::vector<int> listed(n_, 0);
    for (std::size_t u = 0; u < n_; ++u)
      for (int k = 0; k < std::min(kHop, before.count(u)); ++k) {
        const std::size_t v = static_cast<std::size_t>(before.id(u, k));
        if (listed[v] == kHop) continue;
        const std::size_t at = v * kHop + static_cast<std::size_t>(listed[v]++);
        listers[at] = static_cast<std::int32_t>(u);
        listers_fresh[at] = before.fresh(u, k);
      }
    std::vector<int> taken(n_, 0);
    for_items(order_, options_, [&](std::size_t u) {
      if (!live_[u]) return;
      VisitMarks seen(n_);
      seen.first(static_cast<std::int32_t>(u));
      for (int k = 0; k < before.count(u); ++k) seen.first(before.id(u, k));
      std::vector<std::int32_t>& near = batch();
      // v's list, where the link to v or from v onwards is fresh.
      auto list_of = [&](std::size_t v, bool link_fresh) {
        for (int k = 0; k < std::min(kHop, before.count(v)); ++k) {
          if (!link_fresh && !before.fresh(v, k)) continue;
          const std::int32_t w = before.id(v, k);
          if (seen.first(w)) near.push_back(w);
        }
      };
      for (int k = 0; k < std::min(kHop, before.count(u)); ++k)
        list_of(static_cast<std::size_t>(before.id(u, k)), before.fresh(u, k));
      for (int k = 0; k < listed[u]; ++k) {
        const std::size_t at = u * kHop + static_cast<std::size_t>(k);
        const std::int32_t v = listers[at];
        if (listers_fresh[at] && seen.first(v)) near.push_back(v);
        list_of(static_cast<std::size_t>(v), listers_fresh[at] != 0);
      }
      taken[u] = measure(u, near);
    });
    std::size_t total = 0;
    for (int t : taken) total += static_cast<std::size_t>(t);
    return total;
  }

  std::vector<std::int32_t> prune(int degree) {
    const std::size_t r = static_cast<std::size_t>(degree);
    std::vector<std::int32_t> graph(n_ * r, -1);
    std::vector<int> kept(n_, 0);
    for_items(order_, options_, [&](std::size_t u) {
      std::int32_t* row = &graph[u * r];
      int& c = kept[u];
      Measure m(forest_, codes_, floats_, squares_);
      constexpr int kAhead = 8;  // rows fetched ahead (see to_many)
      const int listed = lists_.count(u);
      for (int k = 0; k < std::min(listed, kAhead); ++k) prefetch(m.row(lists_.id(u, k)), m.row_bytes());
      for (int k = 0; k < listed && c < degree; ++k) {
        if (k + kAhead < listed) prefetch(m.row(lists_.id(u, k + kAhead)), m.row_bytes());
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

  // The items in the order of their code rows (the first trees' leaves: see format.h), the
  // order every pass visits them in: items visited one after another share neighbours, whose
  // rows are then still in cache. Items without a row (added later) come last. Any order
  // gives the same graph: a pass reads only the lists of the pass before.
  std::vector<std::int32_t> memory_order(const Compact& codes) const {
    std::vector<std::int32_t> order(n_);
    for (std::size_t u = 0; u < n_; ++u) order[u] = static_cast<std::int32_t>(u);
    const std::int32_t coded = std::min<std::int32_t>(codes.coded_items(), static_cast<std::int32_t>(n_));
    std::sort(order.begin(), order.begin() + coded,
              [&](std::int32_t a, std::int32_t b) { return codes.code(a) < codes.code(b); });
    return order;
  }

  const Forest& forest_;
  const Compact& codes_;
  FloatDistance floats_;
  const BuildOptions& options_;
  std::size_t n_;
  std::vector<std::int32_t> order_;  // see memory_order
  Lists lists_;
  std::vector<std::int64_t> squares_;  // see Measure::squares_of
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
