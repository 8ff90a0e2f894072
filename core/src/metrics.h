// Each metric's math, in one place: distances, split planes and margins over raw node bytes.
//
// The float loops run left to right in single precision, the order Annoy's scalar build uses,
// so a Grove build gives the same splits (and file bytes) as Annoy's for the same seed.
// The core is compiled with -ffp-contract=off for the same reason.
#ifndef GROVE_CORE_METRICS_H
#define GROVE_CORE_METRICS_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "forest.h"
#include "grove/random.h"
#include "kernels.h"

namespace grove {
namespace detail {

inline std::int32_t& n_descendants(std::uint8_t* node) {
  return *reinterpret_cast<std::int32_t*>(node);
}
inline std::int32_t n_descendants(const std::uint8_t* node) {
  return *reinterpret_cast<const std::int32_t*>(node);
}
template <class T>
inline T* field(std::uint8_t* node, std::size_t offset) {
  return reinterpret_cast<T*>(node + offset);
}
template <class T>
inline const T* field(const std::uint8_t* node, std::size_t offset) {
  return reinterpret_cast<const T*>(node + offset);
}

// Annoy's scalar float order: left-to-right sums (see kernels.h).
struct ExactMath {
  static float dot(const float* x, const float* y, int f) {
    float sum = 0;
    for (int i = 0; i < f; ++i) sum += x[i] * y[i];
    return sum;
  }
  static float dot_pair(const float* x, const float* y, const float* z, int f, float* yz) {
    *yz = dot(y, z, f);
    return dot(x, z, f);
  }
  static float l2_pair(const float* x, const float* y, const float* z, int f, float* yz) {
    *yz = squared_l2(y, z, f);
    return squared_l2(x, z, f);
  }
  static float squared_l2(const float* x, const float* y, int f) {
    float sum = 0;
    for (int i = 0; i < f; ++i) {
      float d = x[i] - y[i];
      sum += d * d;
    }
    return sum;
  }
  static float l1(const float* x, const float* y, int f) {
    float sum = 0;
    for (int i = 0; i < f; ++i) sum += std::fabs(x[i] - y[i]);
    return sum;
  }
  static float squared_l2_bounded(const float* x, const float* y, int f, float) { return squared_l2(x, y, f); }
  static float l1_bounded(const float* x, const float* y, int f, float) { return l1(x, y, f); }
  static float dot_and_norm(const float* x, const float* y, int f, float* yy) {
    *yy = dot(y, y, f);
    return dot(x, y, f);
  }
  static constexpr bool kEarlyExit = false;
  static float scaled_l2_bounded(const float*, const float*, float, int, float) { return 0; }
};

// Grove's SIMD order, the same bits on every machine (see kernels.h).
struct FastMath {
  static float dot(const float* x, const float* y, int f) { return fast_kernels().dot(x, y, f); }
  static float squared_l2(const float* x, const float* y, int f) { return fast_kernels().squared_l2(x, y, f); }
  static float l1(const float* x, const float* y, int f) { return fast_kernels().l1(x, y, f); }
  static float squared_l2_bounded(const float* x, const float* y, int f, float bound) {
    return fast_kernels().squared_l2_bounded(x, y, f, bound);
  }
  static float l1_bounded(const float* x, const float* y, int f, float bound) {
    return fast_kernels().l1_bounded(x, y, f, bound);
  }
  static float dot_and_norm(const float* x, const float* y, int f, float* yy) {
    return fast_kernels().dot_and_norm(x, y, f, yy);
  }
  static float dot_pair(const float* x, const float* y, const float* z, int f, float* yz) {
    return fast_kernels().dot_pair(x, y, z, f, yz);
  }
  static float l2_pair(const float* x, const float* y, const float* z, int f, float* yz) {
    return fast_kernels().l2_pair(x, y, z, f, yz);
  }
  static constexpr bool kEarlyExit = true;
  static float scaled_l2_bounded(const float* q, const float* y, float s, int f, float bound) {
    return fast_kernels().scaled_l2_bounded(q, y, s, f, bound);
  }
};

// Scales v to unit length (does nothing to a zero vector).
template <class M>
inline void normalize(float* v, int f) {
  float norm = std::sqrt(M::dot(v, v, f));
  if (norm > 0)
    for (int i = 0; i < f; ++i) v[i] /= norm;
}

// Distance on the angular scale, 2 - 2cos, from squared norms and the dot product. The
// double arithmetic mirrors Annoy's so rankings agree to the last bit.
inline float angular_from(float pp, float qq, float pq) {
  float ppqq = pp * qq;
  if (ppqq > 0) return static_cast<float>(2.0 - 2.0 * pq / std::sqrt(ppqq));
  return 2.0f;  // a zero vector is orthogonal to everything
}

// ---------------------------------------------------------------------------------------
// Float metrics. Each policy gives the node offsets and these hooks:
//   init_item(node, f)                 cache what queries need after v is written
//   distance(x, y, f)                  internal distance used to rank (query side)
//   reported(d)                        the value users see
//   margin(split, query, f)            signed side of a query vector at a split
//   build_margin(split, item, f)       the same for an item node while building
//   plane_between(p, q, f, out)        the split plane between two 2-means centres
//                                      (create_split below; hamming has its own create_split)
// ---------------------------------------------------------------------------------------

// The items a split is chosen from, as two_means reads them: item k's node, and a hint
// that item k will be read soon. This one: the nodes themselves (float vectors).
struct NodeList {
  const std::vector<const std::uint8_t*>& items;
  std::size_t vector_offset;
  std::size_t size() const { return items.size(); }
  const std::uint8_t* node(std::size_t k, int) const { return items[k]; }
  // Stage 0: the node; 1: nothing; 2: its pointer (see two_means).
  void prefetch(std::size_t k, int f, int stage) const;
};

// A sample's build distances to both centres: in one pass where the policy offers it.
template <class P>
auto build_distances(const std::uint8_t* p, const std::uint8_t* q, const std::uint8_t* x, int f, float* dp, float* dq,
                     int) -> decltype(P::build_distances(p, q, x, f, dp, dq)) {
  P::build_distances(p, q, x, f, dp, dq);
}
template <class P>
void build_distances(const std::uint8_t* p, const std::uint8_t* q, const std::uint8_t* x, int f, float* dp, float* dq,
                     long) {
  *dp = P::build_distance(p, x, f);
  *dq = P::build_distance(q, x, f);
}

// two_means: approximate 2-means on a random sample, giving the two centres of a split.
// Policy hooks used: copy_for_split, cosine, prepare_centre, build_distance, weight,
// update_mean. p and q are scratch nodes of node_size bytes. Items: NodeList, or anything
// with the same calls (a build reads decoded codes instead: see build.cpp); node(k, slot)
// may reuse its slot's memory, so kBatch slots are live at once.
// kBatch 1 is Annoy's rule: 200 samples, each scored against the centres as the previous
// one left them, a chain of 200 dependent steps. Grove's default rule (kBatch 4) scores four
// samples at a time against the centres (and counts) as the four found them, then moves the
// centres by each in turn, so their scoring runs side by side; and it takes a sample per item
// of the node (at least 50, at most 200), where 200 from a node of 120 repeat many. Batches
// of 8 made measurably worse trees (GloVe recall -0.015 at search_k 1000); 4 did not (see the
// tree-quality benchmark).
template <class P, int kBatch, class Items>
void two_means(const Items& items, int f, Kiss64& rng, std::uint8_t* p, std::uint8_t* q) {
  const std::size_t count = items.size();
  std::size_t i = rng.index(count);
  std::size_t j = rng.index(count - 1);
  j += (j >= i) ? 1 : 0;  // i and j differ
  P::copy_for_split(p, items.node(i, 0), f);
  P::copy_for_split(q, items.node(j, 0), f);
  P::prepare_centre(p, f);
  P::prepare_centre(q, f);
  constexpr int kMaxSteps = 200, kMinSteps = 50;
  const int steps = kBatch == 1 ? kMaxSteps : static_cast<int>(std::min<std::size_t>(kMaxSteps, std::max<std::size_t>(kMinSteps, count)));
  // The samples are drawn first (the same draws in the same order), so each can be fetched
  // from memory before it is used: samples are scattered, and reaching one can take a chain
  // of loads (with codes: its id, then its row number and record, then its row), each
  // fetched a stage earlier than the next (perf: 40% of two_means waited on the first two,
  // which one prefetch of the row, itself a load of them, could not hide).
  constexpr int kStages = 3, kAhead = 8;
  std::size_t picks[kMaxSteps];
  for (int step = 0; step < steps; ++step) picks[step] = rng.index(count);
  for (int stage = kStages - 1; stage >= 0; --stage)
    for (int step = 0; step < std::min(steps, (stage + 1) * kAhead); ++step) items.prefetch(picks[step], f, stage);
  int ic = 1, jc = 1;
  for (int start = 0; start < steps; start += kBatch) {
    const int size = std::min(kBatch, steps - start);
    const std::uint8_t* x[kBatch];
    float di[kBatch], dj[kBatch];
    for (int b = 0; b < size; ++b) {
      const int step = start + b;
      for (int stage = 0; stage < kStages; ++stage)
        if (step + (stage + 1) * kAhead < steps) items.prefetch(picks[step + (stage + 1) * kAhead], f, stage);
      x[b] = items.node(picks[step], b);
      build_distances<P>(p, q, x[b], f, &di[b], &dj[b], 0);
      di[b] *= ic;
      dj[b] *= jc;
    }
    for (int b = 0; b < size; ++b) {
      const float w = P::weight(x[b], f);
      if (!(w > 0)) continue;
      if (di[b] < dj[b]) {
        P::update_mean(p, x[b], w, ic, f);
        P::refresh_centre(p, f);
        ++ic;
      } else if (dj[b] < di[b]) {
        P::update_mean(q, x[b], w, jc, f);
        P::refresh_centre(q, f);
        ++jc;
      }
    }
  }
}

// A node's header and vector (f floats), into cache ahead of use.
inline void NodeList::prefetch(std::size_t k, int f, int stage) const {
  if (stage == 0) detail::prefetch(items[k], vector_offset + sizeof(float) * static_cast<std::size_t>(f));
  if (stage == 2) detail::prefetch(&items[k], sizeof items[k]);
}

// A float metric's split for `items` (a NodeList, or decoded codes in a build): two 2-means
// centres (kBatch: see two_means), then the policy's plane between them. s: node size; the
// plane goes into `out`.
template <class P, int kBatch, class Items>
void create_split(const Items& items, int f, std::size_t s, Kiss64& rng, std::uint8_t* out) {
  std::vector<std::uint8_t> p(s, 0), q(s, 0);
  two_means<P, kBatch>(items, f, rng, p.data(), q.data());
  P::plane_between(p.data(), q.data(), f, out);
}

// Moves a centre towards x (weighted 1/w) as the (c+1)-th point of its cluster. Annoy's
// order divides twice per element; the fast order multiplies by precomputed factors (no
// division in the loop), the same bits on every machine.
inline float mean_keep(int c) { return static_cast<float>(c) / static_cast<float>(c + 1); }
inline float mean_add(float w, int c) { return 1.0f / (w * static_cast<float>(c + 1)); }
template <class M>
inline void mean_step(float* mean, const float* x, float w, int c, int f) {
  if (std::is_same<M, ExactMath>::value) {
    for (int z = 0; z < f; ++z) mean[z] = (mean[z] * c + x[z] / w) / (c + 1);
    return;
  }
  fast_kernels().blend(mean, mean_keep(c), x, mean_add(w, c), f);
}

template <class M>
struct Angular {
  using Priority = float;
  static constexpr std::size_t kChildren = 4, kVector = 12, kNorm = 4;
  static const float* v(const std::uint8_t* n) { return field<float>(n, kVector); }
  static float* v(std::uint8_t* n) { return field<float>(n, kVector); }
  static float norm(const std::uint8_t* n) { return *field<float>(n, kNorm); }
  // |n|^2: the cached norm, where 0 means "not cached" (files before Annoy 1.11.2).
  static float cached_norm(const std::uint8_t* n, int f) { return norm(n) != 0 ? norm(n) : M::dot(v(n), v(n), f); }

  static void init_item(std::uint8_t* n, int f) { *field<float>(n, kNorm) = M::dot(v(n), v(n), f); }
  static float distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    if (!std::is_same<M, ExactMath>::value) {
      // Norms in the same float order as the dot product, so an item is exactly 0 from
      // itself whatever order wrote the cached norms.
      float qq;
      const float pq = M::dot_and_norm(v(x), v(y), f, &qq);
      return angular_from(M::dot(v(x), v(x), f), qq, pq);
    }
    // Annoy's way: the cached norms.
    return angular_from(cached_norm(x, f), cached_norm(y, f), M::dot(v(x), v(y), f));
  }
  // Building: items and centres cached their norms in this build's own float order.
  static float build_distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return angular_from(cached_norm(x, f), cached_norm(y, f), M::dot(v(x), v(y), f));
  }
  // build_distance(p, x) and build_distance(q, x), with both dot products in one pass.
  static void build_distances(const std::uint8_t* p, const std::uint8_t* q, const std::uint8_t* x, int f, float* dp,
                              float* dq) {
    const float xx = cached_norm(x, f);
    float qx;
    const float px = M::dot_pair(v(p), v(q), v(x), f, &qx);
    *dp = angular_from(cached_norm(p, f), xx, px);
    *dq = angular_from(cached_norm(q, f), xx, qx);
  }
  // Search. The query node is followed by the unit query vector (see init_query). For
  // angular, 2 - 2cos is the squared distance between unit vectors, and partial sums of it
  // only grow: a candidate whose partial sum passes the bound (with a margin for rounding
  // and for the cached norm's float order) cannot be among the best n, and is dropped
  // early. Every other candidate gets its exact distance, in this same float order.
  static void init_query(std::uint8_t* query, std::size_t node_size, int f) {
    float* unit = field<float>(query, node_size);
    const float n = std::sqrt(norm(query));
    for (int z = 0; z < f; ++z) unit[z] = n > 0 ? v(query)[z] / n : 0.0f;
  }
  static float distance_bounded(const std::uint8_t* query, const std::uint8_t* y, int f, float bound,
                                std::size_t node_size) {
    if (std::is_same<M, ExactMath>::value) return distance(query, y, f);
    if (M::kEarlyExit && bound < 2.0f && norm(query) > 0 && norm(y) > 0) {
      const float safe = bound * 1.001f + 1e-4f;
      const float lower = M::scaled_l2_bounded(field<float>(query, node_size), v(y), 1.0f / std::sqrt(norm(y)), f, safe);
      if (lower > safe) return lower;  // > bound: never kept
    }
    float qq;
    const float pq = M::dot_and_norm(v(query), v(y), f, &qq);
    return angular_from(norm(query), qq, pq);
  }
  static float reported(float d) { return std::sqrt(std::max(d, 0.0f)); }
  static float margin(const std::uint8_t* split, const float* q, int f) {
    return M::dot(v(split), q, f);
  }
  static float build_margin(const std::uint8_t* split, const std::uint8_t* item, int f) {
    return margin(split, v(item), f);
  }
  // build_margin minus the split's normal . the item's vector (what codes stand in for);
  // kRestReadsItem: whether that reads the item's node (else it may be null).
  static float margin_rest(const std::uint8_t*, const std::uint8_t*) { return 0; }
  static constexpr bool kRestReadsItem = false;

  static void copy_for_split(std::uint8_t* dst, const std::uint8_t* src, int f) {
    std::memcpy(v(dst), v(src), sizeof(float) * f);
  }
  static void prepare_centre(std::uint8_t* c, int f) {
    normalize<M>(v(c), f);
    init_item(c, f);
  }
  // The fast order's update_mean caches the norm itself (blend_norm: the same bits).
  static void refresh_centre(std::uint8_t* c, int f) {
    if (std::is_same<M, ExactMath>::value) init_item(c, f);
  }
  // |x|: items cached |x|^2 in this build's float order (init_item), so no second pass.
  static float weight(const std::uint8_t* x, int f) { return std::sqrt(cached_norm(x, f)); }
  static void update_mean(std::uint8_t* mean, const std::uint8_t* x, float w, int c, int f) {
    if (std::is_same<M, ExactMath>::value) return mean_step<M>(v(mean), v(x), w, c, f);
    *field<float>(mean, kNorm) = fast_kernels().blend_norm(v(mean), mean_keep(c), v(x), mean_add(w, c), f);
  }
  // The split plane between two 2-means centres p and q (see create_split).
  static void plane_between(const std::uint8_t* p, const std::uint8_t* q, int f, std::uint8_t* out) {
    for (int z = 0; z < f; ++z) v(out)[z] = v(p)[z] - v(q)[z];
    normalize<M>(v(out), f);
  }
  static void zero_plane(std::uint8_t* split, int f) { std::fill(v(split), v(split) + f, 0.0f); }
};

// Euclidean and Manhattan share the node layout and the split rule (a plane with offset a,
// normal from the two L2-normalised centres); only the distance differs.
template <bool kL1, class M>
struct Minkowski {
  using Priority = float;
  static constexpr std::size_t kOffsetA = 4, kChildren = 8, kVector = 16;
  static const float* v(const std::uint8_t* n) { return field<float>(n, kVector); }
  static float* v(std::uint8_t* n) { return field<float>(n, kVector); }
  static float a(const std::uint8_t* n) { return *field<float>(n, kOffsetA); }

  static void init_item(std::uint8_t*, int) {}
  static float distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return kL1 ? M::l1(v(x), v(y), f) : M::squared_l2(v(x), v(y), f);
  }
  // Exact when <= bound; may stop early with any value > bound (see kernels.h).
  static float distance_bounded(const std::uint8_t* x, const std::uint8_t* y, int f, float bound,
                                std::size_t /*node_size*/) {
    return kL1 ? M::l1_bounded(v(x), v(y), f, bound) : M::squared_l2_bounded(v(x), v(y), f, bound);
  }
  static float build_distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return distance(x, y, f);
  }
  // build_distance(p, x) and build_distance(q, x), euclidean's in one pass.
  static void build_distances(const std::uint8_t* p, const std::uint8_t* q, const std::uint8_t* x, int f, float* dp,
                              float* dq) {
    if (kL1) {
      *dp = build_distance(p, x, f);
      *dq = build_distance(q, x, f);
      return;
    }
    *dp = M::l2_pair(v(p), v(q), v(x), f, dq);
  }
  static float reported(float d) { return kL1 ? std::max(d, 0.0f) : std::sqrt(std::max(d, 0.0f)); }
  static float margin(const std::uint8_t* split, const float* q, int f) {
    return a(split) + M::dot(v(split), q, f);
  }
  static float build_margin(const std::uint8_t* split, const std::uint8_t* item, int f) {
    return margin(split, v(item), f);
  }
  static float margin_rest(const std::uint8_t* split, const std::uint8_t*) { return a(split); }
  static constexpr bool kRestReadsItem = false;

  static void copy_for_split(std::uint8_t* dst, const std::uint8_t* src, int f) {
    std::memcpy(v(dst), v(src), sizeof(float) * f);
  }
  static void prepare_centre(std::uint8_t*, int) {}
  static void refresh_centre(std::uint8_t*, int) {}
  static float weight(const std::uint8_t*, int) { return 1.0f; }
  static void update_mean(std::uint8_t* mean, const std::uint8_t* x, float w, int c, int f) {
    mean_step<M>(v(mean), v(x), w, c, f);
  }
  // The split plane between two 2-means centres p and q (see create_split).
  static void plane_between(const std::uint8_t* p, const std::uint8_t* q, int f, std::uint8_t* out) {
    const float* pv = v(p);
    const float* qv = v(q);
    float* n = v(out);
    for (int z = 0; z < f; ++z) n[z] = pv[z] - qv[z];
    normalize<M>(n, f);
    float offset = 0;  // the plane passes through the midpoint of the two centres
    for (int z = 0; z < f; ++z) offset += -n[z] * (pv[z] + qv[z]) / 2;
    *field<float>(out, kOffsetA) = offset;
  }
  static void zero_plane(std::uint8_t* split, int f) { std::fill(v(split), v(split) + f, 0.0f); }
};
// Whether a policy computes in the fast order (FastMath), not Annoy's.
template <class P>
struct FastOrder : std::false_type {};
template <template <class> class Policy>
struct FastOrder<Policy<FastMath>> : std::true_type {};
template <bool kL1>
struct FastOrder<Minkowski<kL1, FastMath>> : std::true_type {};

template <class M>
using Euclidean = Minkowski<false, M>;
template <class M>
using Manhattan = Minkowski<true, M>;

// Inner product, reduced to angular search by giving every item an extra coordinate
// (dot_factor) so all augmented items have the same norm (Bachrach et al. 2014).
// Queries rank by the raw inner product. Annoy's main-branch layout and split rule (after
// 1.17.3, unreleased): the margin uses each side's own extra coordinate.
template <class M>
struct DotMain {
  using Priority = float;
  static constexpr std::size_t kChildren = 4, kDotFactor = 12, kNorm = 16, kBuilt = 20,
                               kVector = 24;
  static const float* v(const std::uint8_t* n) { return field<float>(n, kVector); }
  static float* v(std::uint8_t* n) { return field<float>(n, kVector); }
  static float df(const std::uint8_t* n) { return *field<float>(n, kDotFactor); }
  static float& df(std::uint8_t* n) { return *field<float>(n, kDotFactor); }

  static void init_item(std::uint8_t*, int) {}
  static float distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return -M::dot(v(x), v(y), f);
  }
  static float reported(float d) { return -d; }
  static float margin(const std::uint8_t* split, const float* q, int f) {
    return M::dot(v(split), q, f);  // a query's extra coordinate is 0
  }
  static float build_margin(const std::uint8_t* split, const std::uint8_t* item, int f) {
    return M::dot(v(split), v(item), f) + df(split) * df(item);
  }
  static float margin_rest(const std::uint8_t* split, const std::uint8_t* item) { return df(split) * df(item); }
  static constexpr bool kRestReadsItem = true;
  // While building: angular distance between augmented vectors.
  static float augmented_norm2(const std::uint8_t* n, int f) {
    return M::dot(v(n), v(n), f) + df(n) * df(n);
  }
  static float build_distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return angular_from(augmented_norm2(x, f), augmented_norm2(y, f),
                        M::dot(v(x), v(y), f) + df(x) * df(y));
  }

  static void copy_for_split(std::uint8_t* dst, const std::uint8_t* src, int f) {
    std::memcpy(v(dst), v(src), sizeof(float) * f);
    df(dst) = df(src);
  }
  static void normalize_augmented(std::uint8_t* n, int f) {
    float norm = std::sqrt(augmented_norm2(n, f));
    if (norm > 0) {
      for (int z = 0; z < f; ++z) v(n)[z] /= norm;
      df(n) /= norm;
    }
  }
  static void prepare_centre(std::uint8_t* c, int f) { normalize_augmented(c, f); }
  static void refresh_centre(std::uint8_t*, int) {}
  static float weight(const std::uint8_t* x, int f) { return std::sqrt(augmented_norm2(x, f)); }
  static void update_mean(std::uint8_t* mean, const std::uint8_t* x, float w, int c, int f) {
    mean_step<M>(v(mean), v(x), w, c, f);
    if (std::is_same<M, ExactMath>::value) {
      df(mean) = (df(mean) * c + df(x) / w) / (c + 1);
    } else {
      df(mean) = df(mean) * (static_cast<float>(c) / static_cast<float>(c + 1)) + df(x) * (1.0f / (w * static_cast<float>(c + 1)));
    }
  }
  // The split plane between two 2-means centres p and q (see create_split).
  static void plane_between(const std::uint8_t* p, const std::uint8_t* q, int f, std::uint8_t* out) {
    for (int z = 0; z < f; ++z) v(out)[z] = v(p)[z] - v(q)[z];
    df(out) = df(p) - df(q);
    normalize_augmented(out, f);
  }
  static void zero_plane(std::uint8_t* split, int f) { std::fill(v(split), v(split) + f, 0.0f); }
};

// Dot as every released Annoy (up to 1.17.3) builds and searches it, 16 + 4f bytes per node.
// Its rule, kept exactly so files and answers match: two_means ranks by the raw inner
// product and moves only v (the centres keep the dot_factor they were copied with), and the
// margin adds the split's dot_factor squared, for items and queries alike.
template <class M>
struct DotReleased {
  using Priority = float;
  static constexpr std::size_t kChildren = 4, kDotFactor = 12, kVector = 16;
  static const float* v(const std::uint8_t* n) { return field<float>(n, kVector); }
  static float* v(std::uint8_t* n) { return field<float>(n, kVector); }
  static float df(const std::uint8_t* n) { return *field<float>(n, kDotFactor); }
  static float& df(std::uint8_t* n) { return *field<float>(n, kDotFactor); }

  static void init_item(std::uint8_t*, int) {}
  static float distance(const std::uint8_t* x, const std::uint8_t* y, int f) {
    return -M::dot(v(x), v(y), f);
  }
  static float reported(float d) { return -d; }
  static float margin(const std::uint8_t* split, const float* q, int f) {
    return M::dot(v(split), q, f) + df(split) * df(split);
  }
  static float build_margin(const std::uint8_t* split, const std::uint8_t* item, int f) {
    return margin(split, v(item), f);
  }
  static float margin_rest(const std::uint8_t* split, const std::uint8_t*) { return df(split) * df(split); }
  static constexpr bool kRestReadsItem = false;

  static float build_distance(const std::uint8_t* x, const std::uint8_t* y, int f) { return distance(x, y, f); }
  static void copy_for_split(std::uint8_t* dst, const std::uint8_t* src, int f) {
    std::memcpy(v(dst), v(src), sizeof(float) * f);
    df(dst) = df(src);
  }
  // Scales (v, dot_factor) to unit length; Annoy sums the squares in double here.
  static void normalize_augmented(std::uint8_t* n, int f) {
    const float norm = static_cast<float>(
        std::sqrt(static_cast<double>(M::dot(v(n), v(n), f)) + static_cast<double>(df(n)) * df(n)));
    if (norm > 0) {
      for (int z = 0; z < f; ++z) v(n)[z] /= norm;
      df(n) /= norm;
    }
  }
  static void prepare_centre(std::uint8_t* c, int f) { normalize_augmented(c, f); }
  static void refresh_centre(std::uint8_t*, int) {}
  static float weight(const std::uint8_t* x, int f) { return std::sqrt(M::dot(v(x), v(x), f)); }
  static void update_mean(std::uint8_t* mean, const std::uint8_t* x, float w, int c, int f) {
    mean_step<M>(v(mean), v(x), w, c, f);
  }
  // The split plane between two 2-means centres p and q (see create_split).
  static void plane_between(const std::uint8_t* p, const std::uint8_t* q, int f, std::uint8_t* out) {
    for (int z = 0; z < f; ++z) v(out)[z] = v(p)[z] - v(q)[z];
    df(out) = df(p) - df(q);
    normalize_augmented(out, f);
  }
  static void zero_plane(std::uint8_t* split, int f) { std::fill(v(split), v(split) + f, 0.0f); }
};

// Hamming: vectors are bit strings packed in 64-bit words; a split tests one bit.
struct Hamming {
  using Priority = std::uint64_t;
  static constexpr std::size_t kChildren = 4, kVector = 16;
  static const std::uint64_t* v(const std::uint8_t* n) { return field<std::uint64_t>(n, kVector); }
  static std::uint64_t* v(std::uint8_t* n) { return field<std::uint64_t>(n, kVector); }

  static void init_item(std::uint8_t*, int) {}
  static std::uint64_t distance(const std::uint8_t* x, const std::uint8_t* y, int words) {
    std::uint64_t d = 0;
    for (int i = 0; i < words; ++i) d += popcount(v(x)[i] ^ v(y)[i]);
    return d;
  }
  static float reported(std::uint64_t d) { return static_cast<float>(d); }
  // Bit b counts from the most significant bit of word b / 64, as Annoy numbers them.
  static bool bit(const std::uint64_t* words, std::uint64_t b) {
    return (words[b / 64] >> (63 - b % 64)) & 1;
  }
  static bool margin(const std::uint8_t* split, const std::uint64_t* q, int words) {
    const std::uint64_t b = v(split)[0];
    return b < static_cast<std::uint64_t>(words) * 64 && bit(q, b);  // a corrupt bit index reads as 0
  }
  static bool build_margin(const std::uint8_t* split, const std::uint8_t* item, int words) {
    return margin(split, v(item), words);
  }
  // Tries 20 random bits, then scans, for a bit that some but not all items have set.
  static void create_split(const std::vector<const std::uint8_t*>& items, int words,
                           std::size_t, Kiss64& rng, std::uint8_t* out) {
    const std::uint64_t dim = static_cast<std::uint64_t>(words) * 64;
    auto splits = [&](std::uint64_t b) {
      std::size_t set = 0;
      for (const std::uint8_t* item : items) set += bit(v(item), b) ? 1 : 0;
      return set > 0 && set < items.size();
    };
    for (int attempt = 0; attempt < 20; ++attempt) {
      v(out)[0] = rng.index(dim);
      if (splits(v(out)[0])) return;
    }
    for (std::uint64_t b = 0; b < dim; ++b) {
      v(out)[0] = b;
      if (splits(b)) return;
    }
  }
  static void zero_plane(std::uint8_t* split, int) { v(split)[0] = 0; }

  static int popcount(std::uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    int c = 0;
    for (; x; x &= x - 1) ++c;
    return c;
#endif
  }
};

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_METRICS_H
