// Searching the forest: one priority queue over all trees, ordered by how far the query is
// from each split; candidates are collected until search_k, then ranked by exact distance.
//
// Every index read here is checked against the node count, so any bytes (a corrupt or
// crafted file) can give wrong answers but never an out-of-bounds read, and a bound on the
// number of nodes visited stops a cyclic node graph from looping forever.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "compact.h"
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

// The distinct items among the candidates. by_votes: those that several trees found first
// (they are likely near: ranking them first tightens the bound early; the order never
// changes a result). Compact scoring orders candidates itself and skips that.
// Holes and non-items are dropped later, by the ranking.
const std::vector<std::int32_t>& distinct(const Forest& forest, const std::vector<std::int32_t>& candidates, bool by_votes) {
  thread_local std::vector<std::uint64_t> seen, twice;
  const std::size_t seen_words = (static_cast<std::size_t>(forest.n_items) + 63) / 64;
  if (seen.size() < seen_words) seen.assign(seen_words, 0);
  if (twice.size() < seen_words) twice.assign(seen_words, 0);
  // Per-thread buffers, reused by every query: no heap allocation once warm.
  thread_local std::vector<std::int32_t> unique, once;
  unique.clear();
  once.clear();
  std::vector<std::int32_t>& first = by_votes ? once : unique;
  // Without a branch on "seen before": a third of the candidates are repeats, in no pattern a
  // branch predictor could learn.
  first.resize(candidates.size());
  std::size_t count = 0;
  for (std::int32_t j : candidates) {
    if (j < 0 || j >= forest.n_items) continue;
    const std::size_t w = static_cast<std::size_t>(j) / 64;
    const std::uint64_t bit = std::uint64_t(1) << (j % 64), word = seen[w];
    twice[w] |= word & bit;
    seen[w] = word | bit;
    first[count] = j;
    count += (word & bit) == 0;
  }
  first.resize(count);
  if (by_votes) {
    // A stable partition by hand (std::stable_partition allocates): found twice first.
    for (std::int32_t j : once)
      if ((twice[static_cast<std::size_t>(j) / 64] >> (j % 64)) & 1) unique.push_back(j);
    for (std::int32_t j : once)
      if (!((twice[static_cast<std::size_t>(j) / 64] >> (j % 64)) & 1)) unique.push_back(j);
  }
  for (std::int32_t j : unique) seen[static_cast<std::size_t>(j) / 64] = twice[static_cast<std::size_t>(j) / 64] = 0;
  return unique;
}

// The n best by (distance, id), in a max-heap with the worst of them on top.
template <class Priority>
class Best {
 public:
  using Entry = std::pair<Priority, std::int32_t>;
  explicit Best(std::size_t n) : n_(n), heap_(buffer()) { heap_.clear(); }
  bool full() const { return heap_.size() == n_; }
  std::size_t capacity() const { return n_; }
  Priority bound() const { return full() ? heap_.front().first : std::numeric_limits<Priority>::max(); }
  // A NaN priority (only from a loaded file's extreme values: inputs are range-checked) is
  // offered as +infinity, the worst: NaN would break the heap's strict weak order.
  void offer(Entry e) {
    if (e.first != e.first) e.first = std::numeric_limits<Priority>::infinity();
    if (!full()) {
      heap_.push_back(e);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (e < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = e;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  template <class Visit>
  void each(Visit visit) const {
    for (const Entry& e : heap_) visit(e);
  }
  template <class Reported>
  void write(SearchOutput out, Reported reported) {
    std::sort_heap(heap_.begin(), heap_.end());
    for (const Entry& e : heap_) {
      out.ids->push_back(e.second);
      if (out.distances) out.distances->push_back(reported(e.first));
    }
  }

 private:
  static std::vector<Entry>& buffer() {
    thread_local std::vector<Entry> b;  // reused: no allocation once warm
    return b;
  }
  std::size_t n_;
  std::vector<Entry>& heap_;
};

// Ranks each distinct candidate on its exact distance, in the order given.
template <class P>
void rank_exact(const Forest& forest, const std::uint8_t* qnode, const std::vector<std::int32_t>& unique,
                Best<typename P::Priority>& best) {
  const int words = forest.layout.f;
  // Whole candidates, far enough ahead that each arrives before it is needed: ranking
  // scattered rows is bound by memory, not arithmetic.
  const std::size_t prefetch_bytes = forest.layout.node_size;
  const std::size_t ahead = kPrefetchAhead;
  for (std::size_t c = 0; c < std::min(ahead, unique.size()); ++c) prefetch(forest.node(unique[c]), prefetch_bytes);
  for (std::size_t c = 0; c < unique.size(); ++c) {
    if (c + ahead < unique.size()) prefetch(forest.node(unique[c + ahead]), prefetch_bytes);
    const std::uint8_t* item = forest.node(unique[c]);
    if (n_descendants(item) != 1) continue;
    best.offer({distance_within<P>(qnode, item, words, best.bound(), forest.layout.node_size, 0), unique[c]});
  }
}

// ---------------------------------------------------------------------------------------
// Compact scoring (see compact.h). Each candidate gets a lower bound on the exact distance
// the ranking would compute for it, from its code and error bound; exact distances are
// then computed in order of those bounds until the next bound is above the n-th best. Every
// skipped candidate's exact distance would have been above it too, so the n best are those
// of the full ranking, ties included.
//
// The bounds hold for the float distances the kernels compute, not just for real numbers: a
// float sum of f terms is within gamma = (f + 64) * 2^-23 of the real one (relative for sums
// of terms >= 0, times the sum of |terms| otherwise), in any summation order.

enum class CodeKind { L2, L1, Dot };

struct CodedQuery {
  bool usable = false;
  CodeKind kind = CodeKind::L2;
  double error = 0;  // |query - its decoded code| (L2 or L1)
  double norm = 0, rest = 0, step = 0, offset_dot = 0;  // dot: |q|, |q - step * code|, step, code . offsets
  double gamma = 0;
  // Rounding below float's normal range is absolute: at most 2^-150 a product or sum, so
  // 2f + 4 of them bound a whole sum's (tie order with denormal products).
  double tiny = 0;
  double squares = 0;  // L2: the sum of the query's squared steps
  double fine = 1;     // steps per item code step (L2: kQueryFine)
};

CodedQuery code_query(const Compact& compact, Metric metric, const float* q, std::int16_t* out) {
  CodedQuery c;
  const int f = compact.f();
  const float* offsets = compact.offsets();
  const double scale = compact.scale();
  c.gamma = (f + 64) * std::ldexp(1.0, -23);
  c.tiny = (2.0 * f + 4) * std::ldexp(1.0, -150);
  std::fill(out, out + compact.stride(), std::int16_t(0));
  const CodeKernels& kernels = code_kernels();
  double norm = kernels.norm2(q, f);
  // Outside the range index.cpp's check_length allows (a loaded file's values), the float
  // distances can overflow or underflow where these bounds would not: rank exactly.
  if (!(norm <= std::ldexp(1.0, 63)) || (metric == Metric::Angular && norm < std::ldexp(1.0, -63))) return c;
  norm = std::sqrt(norm);
  if (metric == Metric::Dot) {
    double largest = 0;
    for (int j = 0; j < f; ++j) largest = std::max(largest, std::fabs(static_cast<double>(q[j])));
    if (!(largest > 0)) return c;  // every inner product is 0: nothing to prune
    c.kind = CodeKind::Dot;
    c.norm = norm;
    c.step = largest / kQueryDot;
    double rest = 0;
    for (int j = 0; j < f; ++j) {
      const double k = std::max<double>(-kQueryDot, std::min<double>(kQueryDot, std::nearbyint(q[j] / c.step)));
      out[j] = static_cast<std::int16_t>(k);
      const double d = q[j] - c.step * k;
      rest += d * d;
      c.offset_dot += k * offsets[j];
    }
    c.rest = std::sqrt(rest) * (1 + 1e-9);
    c.usable = true;
    return c;
  }
  const bool unit = metric == Metric::Angular;
  if (unit && !(norm > 0)) return c;
  c.kind = metric == Metric::Manhattan ? CodeKind::L1 : CodeKind::L2;
  // L2 sums come from dot products, so the query can sit on a finer grid than the items
  // (L1's |q - c| needs the same one): a quarter of the step, a quarter of its error.
  c.fine = c.kind == CodeKind::L2 ? kQueryFine : 1;
  const double step = scale / c.fine;
  const bool l1 = c.kind == CodeKind::L1;
  // Any whole step is a valid code (the error is the query's own), so the nearest is found
  // with a multiply and a floor: no division per value (a 784-d query's coding in one
  // double chain had cost a tenth of a fast search: perf).
  double error = 0;
  c.squares = kernels.query_steps(q, unit ? 1 / norm : 1, offsets, 1 / step, step, kQueryLow * static_cast<int>(c.fine),
                                  kQueryHigh * static_cast<int>(c.fine), l1, out, &error, f);
  c.error = (l1 ? error : std::sqrt(error)) * (1 + 1e-9);
  c.usable = true;
  return c;
}

// A lower bound on the priority the exact ranking computes for an item, in double.
template <CodeKind K>
inline double lower_bound(const CodedQuery& c, bool angular, double scale, double sum, float error, float norm) {
  if (K == CodeKind::L1) {
    const double l = std::max(0.0, scale * sum * (1 - 1e-12) - c.error - error);
    return l * (1 - c.gamma) - c.tiny;
  }
  if (K == CodeKind::L2) {
    const double l = std::max(0.0, scale * std::sqrt(sum) * (1 - 1e-12) - c.error - error);
    if (angular) return l * l - (5 * c.gamma + 1e-6);  // 2 - 2cos, rounded in double
    return l * l * (1 - c.gamma) - c.tiny;
  }
  // Dot: q.x = approx + q.(x - code) + (q - step * qcode).code, and |code| <= |x| + error.
  const double approx = c.step * (c.offset_dot + scale * sum);
  const double slack = c.norm * error + c.rest * (norm + error) + c.gamma * c.norm * norm;
  return -approx - slack - 1e-12 * std::fabs(approx) - c.tiny;
}

// Every distinct candidate's bound, from its code (items without one, added after the copy
// was made included: -infinity, so they are ranked exactly; holes: left out). Candidates are scored kRowsMax at a time, the
// query's steps read once for all of them; L2 sums come as |q|^2 + |c|^2 - 2 q.c, with
// |c|^2 from the item's record (rounded down: the sum, and so the bound, never overstates).
template <CodeKind K>
void score_codes(const Compact& compact, const CodedQuery& coded, bool angular, const std::int16_t* qcode,
                 const std::vector<std::int32_t>& unique, std::vector<std::pair<double, std::int32_t>>& bounds) {
  const CodeKernels& kernels = code_kernels();
  const double scale = compact.scale() / coded.fine;  // one query step
  const int stride = compact.stride();
  std::int32_t batch[kRowsMax];
  const std::uint8_t* rows[kRowsMax];
  int count = 0;
  auto flush = [&] {
    std::int64_t sums[kRowsMax];
    if (K == CodeKind::L1)
      for (int k = 0; k < count; ++k) sums[k] = kernels.l1(qcode, rows[k], stride);
    else
      kernels.dot_rows(qcode, rows, count, stride, sums);
    for (int k = 0; k < count; ++k) {
      const std::int32_t id = batch[k];
      const float extra = compact.extra(id);
      double sum = static_cast<double>(sums[k]);
      // In query steps: |k - fine c|^2 = |k|^2 + fine^2 |c|^2 - 2 fine k.c.
      if (K == CodeKind::L2)
        sum = std::max(0.0, coded.squares + coded.fine * coded.fine * static_cast<double>(extra) - 2 * coded.fine * sum);
      bounds.push_back({lower_bound<K>(coded, angular, scale, sum, compact.error(id), extra), id});
    }
    count = 0;
  };
  const std::size_t ahead = kPrefetchAhead;
  const std::int32_t with_codes = compact.coded_items();
  auto fetch = [&](std::int32_t id) {
    if (id < with_codes) prefetch(compact.code(id), static_cast<std::size_t>(stride));
  };
  for (std::size_t c = 0; c < std::min(ahead, unique.size()); ++c) fetch(unique[c]);
  for (std::size_t c = 0; c < unique.size(); ++c) {
    if (c + ahead < unique.size()) fetch(unique[c + ahead]);
    const std::int32_t id = unique[c];
    const float error = id < with_codes ? compact.error(id) : std::numeric_limits<float>::infinity();
    if (!(error >= 0)) continue;  // a hole
    if (error == std::numeric_limits<float>::infinity()) {
      bounds.push_back({-std::numeric_limits<double>::infinity(), id});
      continue;
    }
    batch[count] = id;
    rows[count] = compact.code(id);
    if (++count == kRowsMax) flush();
  }
  if (count) flush();
}

// Moves the n lowest bounds (any n of them on ties) to the front, in one pass with a heap of
// n: a query has hundreds of candidates and wants ten, where nth_element reorders them all.
inline void select_lowest(std::vector<std::pair<double, std::int32_t>>& bounds, std::size_t n) {
  if (bounds.size() <= n) return;
  thread_local std::vector<std::pair<double, std::size_t>> heap;  // (bound, position), worst on top
  heap.clear();
  for (std::size_t c = 0; c < bounds.size(); ++c) {
    const double b = bounds[c].first;
    if (heap.size() < n) {
      heap.push_back({b, c});
      std::push_heap(heap.begin(), heap.end());
    } else if (b < heap.front().first) {
      std::pop_heap(heap.begin(), heap.end());
      heap.back() = {b, c};
      std::push_heap(heap.begin(), heap.end());
    }
  }
  // Swapping position p to the front may move an entry another chosen position names: take
  // them in ascending order, so every swap moves a front entry not chosen yet.
  std::sort(heap.begin(), heap.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  for (std::size_t k = 0; k < heap.size(); ++k) std::swap(bounds[k], bounds[heap[k].second]);
}

// Brings the first candidates' float rows into cache together, before their distances are
// computed one by one. Natively a prefetch; WebAssembly has none, so there it reads a byte of
// each line in a loop of independent loads (many in flight at once, where the distance loop
// would meet each row's misses in turn).
using BoundIt = std::vector<std::pair<double, std::int32_t>>::const_iterator;
#if defined(__wasm__)
volatile std::uint32_t warm_sink;  // where the loads go, so that they are not optimised away
#endif
inline void warm_rows(const Forest& forest, BoundIt begin, BoundIt end) {
#if defined(__wasm__)
  std::uint32_t sink = 0;
  for (BoundIt it = begin; it != end; ++it) {
    const std::uint8_t* row = forest.node(it->second);
    for (std::size_t at = 0; at < forest.layout.node_size; at += 64) sink += row[at];
  }
  warm_sink = sink;
#else
  for (BoundIt it = begin; it != end; ++it) prefetch(forest.node(it->second), forest.layout.node_size);
#endif
}

// The n best of candidates with lower bounds on their priorities: exact distances in order
// of the bounds, only while a bound can still beat the n-th best. First the n lowest bounds
// (a selection, not a sort), which fills the top n; then, sorted, just the candidates whose
// bound is under the n-th best found so far.
template <class P>
void rank_bounds(const Forest& forest, const std::uint8_t* qnode, std::vector<std::pair<double, std::int32_t>>& bounds,
                 Best<typename P::Priority>& best) {
  using Bound = std::pair<double, std::int32_t>;
  const int words = forest.layout.f;
  auto exact = [&](std::int32_t id) {
    const std::uint8_t* item = forest.node(id);
    if (n_descendants(item) != 1) return;
    best.offer({distance_within<P>(qnode, item, words, best.bound(), forest.layout.node_size, 0), id});
  };
  select_lowest(bounds, best.capacity());
  const std::size_t first = std::min(best.capacity(), bounds.size());
  const auto head = bounds.begin() + static_cast<std::ptrdiff_t>(first);
  warm_rows(forest, bounds.begin(), head);
  for (auto it = bounds.begin(); it != head; ++it) exact(it->second);
  auto open = [&](const Bound& b) { return !best.full() || b.first <= static_cast<double>(best.bound()); };
  const auto rest = std::partition(head, bounds.end(), open);
  std::sort(head, rest);
  // The rest a few at a time, each few warmed together (a bound passed over is read for nothing).
  constexpr std::ptrdiff_t kWarm = 8;
  for (auto it = head; it != rest && open(*it);) {
    const auto end = rest - it > kWarm ? it + kWarm : rest;
    warm_rows(forest, it, end);
    for (; it != end && open(*it); ++it) exact(it->second);
  }
}

template <class P>
void rank_compact(const Forest& forest, const Compact& compact, const CodedQuery& coded, const std::int16_t* qcode,
                  const std::uint8_t* qnode, const std::vector<std::int32_t>& unique, Best<typename P::Priority>& best) {
  thread_local std::vector<std::pair<double, std::int32_t>> bounds;
  bounds.clear();
  const bool angular = forest.layout.metric == Metric::Angular;
  switch (coded.kind) {
    case CodeKind::L2: score_codes<CodeKind::L2>(compact, coded, angular, qcode, unique, bounds); break;
    case CodeKind::L1: score_codes<CodeKind::L1>(compact, coded, angular, qcode, unique, bounds); break;
    case CodeKind::Dot: score_codes<CodeKind::Dot>(compact, coded, angular, qcode, unique, bounds); break;
  }
  rank_bounds<P>(forest, qnode, bounds, best);
}

template <class P>
void rank(const Forest& forest, const Compact* compact, const std::uint8_t* qnode,
          const std::vector<std::int32_t>& candidates, std::size_t n, SearchOutput out) {
  const std::vector<std::int32_t>& unique = distinct(forest, candidates, compact == nullptr);
  Best<typename P::Priority> best(n);
  bool done = false;
  if (compact && unique.size() > n) {
    thread_local std::vector<std::int16_t> qcode;
    qcode.resize(static_cast<std::size_t>(compact->stride()));
    const float* q = reinterpret_cast<const float*>(qnode + forest.layout.vector);
    const CodedQuery coded = code_query(*compact, forest.layout.metric, q, qcode.data());
    if (coded.usable) {
      rank_compact<P>(forest, *compact, coded, qcode.data(), qnode, unique, best);
      done = true;
    }
  }
  if (!done) rank_exact<P>(forest, qnode, unique, best);
  best.write(out, [](typename P::Priority d) { return P::reported(d); });
}

// The candidates a query collects. With a filter, only the allowed ones, counted as distinct
// too: the search goes on until it has search_k allowed candidates and n distinct ones. Items
// removed since build (that the trees still name) are skipped the same way.
template <bool kFiltered>
class Collector;

template <>
class Collector<false> {
 public:
  Collector(std::vector<std::int32_t>& candidates, const Filter*, const Forest&) : candidates_(candidates) {}
  void take(std::int32_t id) { candidates_.push_back(id); }
  void take(const std::int32_t* ids, std::int32_t count) { candidates_.insert(candidates_.end(), ids, ids + count); }
  bool wants_more(std::int64_t search_k, int) const { return static_cast<std::int64_t>(candidates_.size()) < search_k; }

 private:
  std::vector<std::int32_t>& candidates_;
};

template <>
class Collector<true> {
 public:
  Collector(std::vector<std::int32_t>& candidates, const Filter* filter, const Forest& forest)
      : candidates_(candidates), filter_(filter && filter->active() ? filter : nullptr),
        removed_(forest.trees_name_removed ? &forest : nullptr), n_items_(forest.n_items) {
    const std::int32_t n_items = n_items_;
    const std::size_t words = (static_cast<std::size_t>(n_items) + 63) / 64;
    if (seen().size() < words) seen().assign(words, 0);
  }
  ~Collector() {
    for (std::int32_t j : candidates_) seen()[static_cast<std::size_t>(j) / 64] = 0;
  }
  void take(std::int32_t id) {
    // Holes and non-items are not counted: the ranking drops them.
    if (id < 0 || id >= n_items_ || (filter_ && !filter_->allows(id)) || (removed_ && removed_->is_removed(id))) return;
    candidates_.push_back(id);
    std::uint64_t& word = seen()[static_cast<std::size_t>(id) / 64];
    const std::uint64_t bit = std::uint64_t(1) << (id % 64);
    distinct_ += (word & bit) == 0;
    word |= bit;
  }
  void take(const std::int32_t* ids, std::int32_t count) {
    for (std::int32_t k = 0; k < count; ++k) take(ids[k]);
  }
  bool wants_more(std::int64_t search_k, int n) const {
    return static_cast<std::int64_t>(candidates_.size()) < search_k || distinct_ < n;
  }

 private:
  static std::vector<std::uint64_t>& seen() {
    thread_local std::vector<std::uint64_t> words;
    return words;
  }
  std::vector<std::int32_t>& candidates_;
  const Filter* filter_;    // null: every item allowed
  const Forest* removed_;   // non-null: skip the items removed since build (changes.h)
  std::int32_t n_items_;
  int distinct_ = 0;
};

// ---------------------------------------------------------------------------------------
// The graph walk (graph.h). Seeds: the leaves the query falls in (home_leaves). Then best-first:
// the nearest candidate not yet expanded has its neighbours scored on their codes, and the
// walk keeps the `width` nearest so far (Places); it ends when it has expanded all of those.
// Everything it scored is then ranked exactly (rank_bounds).

// The walk keeps search_k / kScoredPerPlace places in its list: it scores several candidates
// for each (a node's new neighbours), so search_k stays roughly what it was, the candidates a
// query scores. A first choice, not tuned: it sets only where on the recall curve a given
// search_k lands.
constexpr std::int64_t kScoredPerPlace = 8;

// The places the walk keeps: search_k / kScoredPerPlace, at least n, and at least
// kLeastWidth: a walk of one or two places (n = 2 at Annoy's default search_k, n x trees) is
// a greedy descent that stops at the first local minimum, and missed an item's own twin.
constexpr std::int64_t kLeastWidth = 10;
inline std::int64_t walk_width(int n, std::int64_t search_k) {
  return std::max<std::int64_t>(std::max<std::int64_t>(n, kLeastWidth), search_k / kScoredPerPlace);
}

// The walk's seeds (home_leaves below): as many as the places the walk keeps, and at least
// kLeastSeeds. A good graph finds its way from a few: on Fashion-MNIST 16 gave the recall of
// 32 and 64 (0.912 at search_k 100), 3-5% faster than 32.
constexpr std::int64_t kLeastSeeds = 16;
// A leaf this small is taken whole (narrow vectors: f + 2 items at most), with the query's
// own item and its twins in it; of a larger one (Fashion-MNIST's hold up to 786 items), only
// what the budget asks for: scoring the rest made a leaf the least any query cost.
constexpr std::int32_t kWholeLeaf = 32;
inline std::int64_t seed_budget(int n, std::int64_t search_k) { return std::max(kLeastSeeds, walk_width(n, search_k)); }

// A lower bound on an item's priority from its code's sum (lower_bound, the kind chosen at
// run time: the walk is not a template).
inline double code_bound(const CodedQuery& coded, bool angular, double scale, double sum, float error, float extra) {
  switch (coded.kind) {
    case CodeKind::L2: return lower_bound<CodeKind::L2>(coded, angular, scale, sum, error, extra);
    case CodeKind::L1: return lower_bound<CodeKind::L1>(coded, angular, scale, sum, error, extra);
    case CodeKind::Dot: break;
  }
  return lower_bound<CodeKind::Dot>(coded, angular, scale, sum, error, extra);
}

// The places the walk keeps: the `width` nearest estimates so far, nearest first, each
// marked once expanded. One sorted array in place of a heap to expand and a heap of the
// best: the next place to expand is the first unmarked one, and a place pushed out of the
// best is gone, where the heaps popped it later only to find it too far. Offers wait in a
// short list and go in together before the next take, sorted, merged in from the back: the
// array's tail moves once per node expanded, not once per neighbour taken in. The order is
// the one inserting each offer in turn would give: by estimate, ties in the order offered
// (a full list keeps what it has, not an equal newcomer).
class Places {
 public:
  void reset(std::size_t width) {
    width_ = width;
    next_ = 0;
    places_.clear();
    places_.reserve(width);
    offers_.clear();
  }
  void offer(double estimate, std::int32_t id) {
    if (places_.size() == width_ && !(estimate < places_.back().estimate)) return;
    offers_.push_back(Place{estimate, id, false});
  }
  // The nearest place not expanded yet, now marked; -1 when every place is.
  std::int32_t take() {
    settle();
    if (next_ == places_.size()) return -1;
    places_[next_].expanded = true;
    return places_[next_++].id;
  }
  // The place take() would give next, if no offer comes first (-1: none).
  std::int32_t peek() {
    settle();
    return next_ == places_.size() ? -1 : places_[next_].id;
  }

 private:
  struct Place {
    double estimate;
    std::int32_t id;
    bool expanded;
  };
  // A type, not a function: std::stable_sort then calls it inline (with a function pointer,
  // libc++'s wasm build called it for every comparison).
  struct Nearer {
    bool operator()(const Place& a, const Place& b) const { return a.estimate < b.estimate; }
  };

  void settle() {
    if (!offers_.empty()) merge_offers();
    while (next_ < places_.size() && places_[next_].expanded) ++next_;
  }
  // Sorts the offers (stable: ties keep their order), then merges them in from the back,
  // dropping what falls past width_.
  void merge_offers() {
    if (offers_.size() > kShortSort)  // the seeds, once a walk
      std::stable_sort(offers_.begin(), offers_.end(), Nearer());
    else  // a node's new neighbours: insertion sort, no allocation
      for (std::size_t k = 1; k < offers_.size(); ++k)
        for (std::size_t j = k; j > 0 && Nearer()(offers_[j], offers_[j - 1]); --j) std::swap(offers_[j], offers_[j - 1]);
    const std::size_t kept = places_.size();
    places_.resize(std::min(kept + offers_.size(), width_));
    std::size_t i = kept, j = offers_.size();  // not merged yet: places_[0, i), offers_[0, j)
    while (j > 0) {
      const Place offer = offers_[--j];
      // After the kept places of equal estimate; those after it move up by the offers left.
      const std::size_t at = after_equals(offer.estimate, i);
      const std::size_t to = at + j + 1;
      if (to < width_) shift(at, std::min(i - at, width_ - to), to);
      i = at;
      if (at + j < width_) {
        places_[at + j] = offer;
        next_ = std::min(next_, at + j);
      }
    }
    offers_.clear();
  }
  // The first of places_[0, end) farther than `estimate` (upper_bound), by a binary search
  // whose steps are conditional moves: the branches of std::upper_bound, taken at random,
  // were most of the merge's time (perf).
  std::size_t after_equals(double estimate, std::size_t end) const {
    if (end == 0) return 0;
    const Place* base = places_.data();
    for (std::size_t n = end; n > 1;) {
      const std::size_t half = n / 2;
      base = estimate < base[half].estimate ? base : base + half;
      n -= half;
    }
    return static_cast<std::size_t>(base - places_.data()) + (estimate < base->estimate ? 0 : 1);
  }
  // Moves places_[from, from + count) up to start at `to`.
  void shift(std::size_t from, std::size_t count, std::size_t to) {
#if defined(__wasm_simd128__)
    // One 16-byte load and store a place: memmove moves 4 bytes a step in WebAssembly, and a
    // copy of the struct two 8-byte halves.
    static_assert(sizeof(Place) == 16, "a place is one v128");
    for (std::size_t k = count; k > 0; --k)
      wasm_v128_store(&places_[to + k - 1], wasm_v128_load(&places_[from + k - 1]));
#elif defined(__wasm__)
    for (std::size_t k = count; k > 0; --k) places_[to + k - 1] = places_[from + k - 1];
#else
    std::memmove(static_cast<void*>(places_.data() + to), places_.data() + from, count * sizeof(Place));
#endif
  }
  static constexpr std::size_t kShortSort = 48;
  std::vector<Place> places_, offers_;
  std::size_t width_ = 0, next_ = 0;  // next_: no unexpanded place before it
};

// Walks the graph from `seeds`, writing every item it scores, with a lower bound on its
// priority, to `visited` (items without a usable code: -infinity, so they are ranked
// exactly); false when the query cannot be coded (a tree search serves it then). The
// caller ranks `visited` exactly by those bounds (rank_bounds): the answer is the exact n
// best of everything the walk saw, not just of the places it kept, so codes too coarse to
// order near neighbours (values far larger than their differences) still give the right
// ones. Not a template: one copy in a wasm build.
bool walk_graph(const Forest& forest, const Compact& compact, const std::uint8_t* qnode, int n, std::int64_t search_k,
                const std::vector<std::int32_t>& seeds, std::vector<std::pair<double, std::int32_t>>& visited,
                CodedQuery& coded) {
  thread_local std::vector<std::int16_t> qcode;
  qcode.resize(static_cast<std::size_t>(compact.stride()));
  const float* q = reinterpret_cast<const float*>(qnode + forest.layout.vector);
  coded = code_query(compact, forest.layout.metric, q, qcode.data());
  if (!coded.usable) return false;
  const CodeKernels& kernels = code_kernels();
  const int stride = compact.stride(), degree = compact.graph_degree();
  const std::int32_t n_items = forest.n_items, with_codes = compact.coded_items();
  const std::size_t width = static_cast<std::size_t>(walk_width(n, search_k));
  const bool angular = forest.layout.metric == Metric::Angular;
  const double scale = compact.scale() / coded.fine;  // one query step
  const std::size_t list_bytes = sizeof(std::int32_t) * static_cast<std::size_t>(degree);

  // Places by estimate: a monotone stand-in for the distance, from the codes.
  thread_local Places places;
  places.reset(width);
  VisitMarks marks(static_cast<std::size_t>(n_items));
  std::int32_t batch[kRowsMax];
  const std::uint8_t* rows[kRowsMax];
  int count = 0;
  auto flush = [&] {
    std::int64_t sums[kRowsMax];
    if (coded.kind == CodeKind::L1)
      for (int k = 0; k < count; ++k) sums[k] = kernels.l1(qcode.data(), rows[k], stride);
    else
      kernels.dot_rows(qcode.data(), rows, count, stride, sums);
    // The bounds written field by field into room made first: a pair built and pushed was
    // stored in halves and read back whole, a stall on every candidate (perf).
    const std::size_t base = visited.size();
    visited.resize(base + static_cast<std::size_t>(count));
    for (int k = 0; k < count; ++k) {
      const std::int32_t id = batch[k];
      const float extra = compact.extra(id);
      double sum = static_cast<double>(sums[k]);  // L1: the code distance
      if (coded.kind == CodeKind::L2)  // |k - fine c|^2, as score_codes
        sum = std::max(0.0, coded.squares + coded.fine * coded.fine * static_cast<double>(extra) - 2 * coded.fine * sum);
      std::pair<double, std::int32_t>& v = visited[base + static_cast<std::size_t>(k)];
      v.first = code_bound(coded, angular, scale, sum, compact.error(id), extra);
      v.second = id;
      places.offer(coded.kind == CodeKind::Dot ? -sum : sum, id);
    }
    count = 0;
  };
  // Items scored exactly always (no usable code) go straight to the ranking; holes nowhere.
  auto visit = [&](std::int32_t id) {
    if (id < 0 || id >= n_items || !marks.first(id)) return;
    const float error = id < with_codes ? compact.error(id) : std::numeric_limits<float>::infinity();
    if (!(error >= 0)) return;
    if (error == std::numeric_limits<float>::infinity()) {
      visited.push_back({-std::numeric_limits<double>::infinity(), id});
      return;
    }
    batch[count] = id;
    rows[count] = compact.code(id);
    if (++count == kRowsMax) flush();
  };
  // A node's neighbours in three passes, each fetching ahead what the next reads: records and
  // row numbers, then the code rows of those not seen yet, then the scores.
  thread_local std::vector<std::int32_t> fresh;
  auto expand = [&](std::int32_t node) {
    const std::int32_t* neighbours = compact.neighbours(node);
    int d = 0;
    for (; d < degree && neighbours[d] >= 0; ++d) {
      if (neighbours[d] >= n_items) continue;
      marks.prefetch(neighbours[d]);
      if (neighbours[d] < with_codes) compact.prefetch_item(neighbours[d]);
    }
    fresh.clear();
    for (int k = 0; k < d; ++k) {
      const std::int32_t id = neighbours[k];
      if (id >= n_items || !marks.first(id)) continue;
      if (id < with_codes && compact.error(id) >= 0 && compact.error(id) != std::numeric_limits<float>::infinity()) {
        prefetch(compact.code(id), static_cast<std::size_t>(stride));
        fresh.push_back(id);
      } else {
        marks.forget(id);
        visit(id);
      }
    }
    for (std::int32_t id : fresh) {
      batch[count] = id;
      rows[count] = compact.code(id);
      if (++count == kRowsMax) flush();
    }
    if (count) flush();
  };

  for (std::int32_t id : seeds) visit(id);
  if (count) flush();
  for (std::int32_t node = places.take(); node >= 0; node = places.take()) {
    const std::int32_t after = places.peek();
    if (after >= 0) prefetch(compact.neighbours(after), list_bytes);
    expand(node);
  }
  return true;
}

// Whether the codes could order the walk's answer: their errors (the query's and those of
// the items found) under kCodeResolution of the n-th distance. Where they are not (values
// far larger than the gaps between them, as items spread over many orders of magnitude
// near a query at the small end), a walk guided by the codes wanders among look-alikes and
// misses nearer items; the trees, which rank every candidate they reach, answer instead.
constexpr double kCodeResolution = 0.5;

template <class P>
bool codes_resolve(const Compact& compact, const CodedQuery& coded, const Best<typename P::Priority>& best) {
  if (coded.kind == CodeKind::Dot || !best.full() || !(static_cast<double>(best.bound()) > 0)) return true;
  double error = 0;
  best.each([&](const typename Best<typename P::Priority>::Entry& e) {
    if (e.second < compact.coded_items()) error = std::max(error, static_cast<double>(compact.error(e.second)));
  });
  const double reach = static_cast<double>(best.bound());  // L2: a squared distance (angular too); L1: a distance
  const double distance = coded.kind == CodeKind::L2 ? std::sqrt(reach) : reach;
  return coded.error + error <= kCodeResolution * distance;
}

// The tree search: candidates from the leaves nearest the query over all trees, best first
// by the margins on the way (Annoy's priority search), until `budget` are collected (and n
// distinct, with a filter or removed items).
template <class P, bool kFiltered, class Value>
void collect_from_trees(const Forest& forest, const Value* qvec, std::int64_t budget, int n, const Filter* filter,
                        std::vector<std::int32_t>& candidates) {
  using Priority = typename P::Priority;
  const int words = forest.layout.f;
  const std::int64_t n_nodes = forest.n_nodes;
  const std::int64_t max_bucket = static_cast<std::int64_t>(forest.layout.max_bucket());
  // A max-heap of (priority, node), as std::priority_queue, in a reused buffer.
  using Entry = std::pair<Priority, std::int32_t>;
  thread_local std::vector<Entry> queue;
  queue.clear();
  for (std::int32_t root : forest.roots) queue.push_back({start_priority<Priority>(), root});
  std::make_heap(queue.begin(), queue.end());

  Collector<kFiltered> collect(candidates, filter, forest);
  // Item nodes are shared by every tree, but each split node and bucket of a valid forest is
  // reached at most once per root that leads to it, and the loader's roots lead to disjoint
  // trees (a duplicate root at most doubles a tree). More visits than that mean a crafted
  // node graph: stop there. Item visits push nothing, so work and queue memory stay linear
  // in the file's size whatever its bytes.
  const std::int64_t max_visits = 2 * n_nodes + static_cast<std::int64_t>(forest.roots.size());
  std::int64_t visits = 0;
  while (collect.wants_more(budget, n) && !queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Priority d = queue.back().first;
    const std::int32_t i = queue.back().second;
    queue.pop_back();
    const std::uint8_t* node = forest.node(i);
    const std::int32_t count = n_descendants(node);
    if (count == 1 && i < forest.n_items) {
      collect.take(i);
      continue;
    }
    if (++visits > max_visits) break;
    if (count <= max_bucket) {
      if (count <= 0) continue;
      collect.take(field<std::int32_t>(node, P::kChildren), count);
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
}

inline int home_child(float margin) { return margin > 0 ? 1 : 0; }
inline int home_child(bool margin) { return margin ? 1 : 0; }

// The walk's seeds: the leaf each tree puts the query in, tree after tree, until `budget`
// are collected (leaves past kWholeLeaf items cut at the budget). One descent of a tree is
// its depth in margins, where the tree search's best-first order over all trees measured
// some 50 splits (784-d: 3 KB each) on Fashion-MNIST before its first leaf, as much memory
// as the walk read.
template <class P, class Value>
void home_leaves(const Forest& forest, const Value* qvec, std::int64_t budget, std::vector<std::int32_t>& candidates) {
  const int words = forest.layout.f;
  const std::int64_t n_nodes = forest.n_nodes;
  const std::int64_t max_bucket = static_cast<std::int64_t>(forest.layout.max_bucket());
  // A valid tree is descended in fewer steps than it has nodes; a crafted one (a cycle) is
  // cut off there, as the tree search's visit budget does.
  std::int64_t steps_left = 2 * n_nodes + static_cast<std::int64_t>(forest.roots.size());
  // Trees in the order they were grown, so that the seeds do not depend on where the index
  // came from: a loaded file lists its roots last tree first (as Annoy's loader finds them),
  // a built index first tree first.
  const std::vector<std::int32_t>& roots = forest.roots;
  const bool last_first = roots.size() > 1 && roots.front() > roots.back();
  for (std::size_t t = 0; t < roots.size(); ++t) {
    if (static_cast<std::int64_t>(candidates.size()) >= budget) return;
    std::int32_t i = roots[last_first ? roots.size() - 1 - t : t];
    while (steps_left-- > 0) {
      const std::uint8_t* node = forest.node(i);
      const std::int32_t count = n_descendants(node);
      if (count == 1 && i < forest.n_items) {
        candidates.push_back(i);
        break;
      }
      if (count <= max_bucket) {
        const std::int32_t* ids = field<std::int32_t>(node, P::kChildren);
        const std::int64_t room = budget - static_cast<std::int64_t>(candidates.size());
        const std::int64_t take = count <= kWholeLeaf ? count : std::min<std::int64_t>(count, room);
        if (take > 0) candidates.insert(candidates.end(), ids, ids + take);
        break;
      }
      const std::int32_t child = field<std::int32_t>(node, P::kChildren)[home_child(P::margin(node, qvec, words))];
      if (child < 0 || child >= n_nodes) break;
      i = child;
    }
  }
}

template <class P, bool kFiltered>
void search_with(const Forest& forest, const Compact* compact, bool graph, const void* query, int n,
                 std::int64_t search_k, const Filter* filter, SearchOutput out) {
  using Priority = typename P::Priority;
  const NodeLayout& layout = forest.layout;
  const int words = layout.f;

  // The query as a node, so the metric's distance applies unchanged (angular caches its norm).
  // Per-thread buffers, reused by every query: no heap allocation once warm.
  thread_local std::vector<std::uint8_t> qnode;
  qnode.assign(layout.node_size + layout.value_size * words, 0);
  std::memcpy(qnode.data() + layout.vector, query, layout.value_size * words);
  P::init_item(qnode.data(), words);
  prepare_query<P>(qnode.data(), layout.node_size, words, 0);
  const auto* qvec = P::v(static_cast<const std::uint8_t*>(qnode.data()));

  if (search_k == -1) search_k = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(forest.roots.size());
  thread_local std::vector<std::int32_t> candidates;
  candidates.clear();

  // The graph, unless the budget covers the whole index (an exhaustive search is the trees'),
  // or a filter asks for some items only (the trees find those; a walk would pass them by).
  if (!kFiltered || !(filter && filter->active())) {
    thread_local std::vector<std::pair<double, std::int32_t>> visited;
    visited.clear();
    CodedQuery coded;
    if (graph && compact && compact->graph_degree() > 0 && search_k < forest.n_items) {
      const std::int64_t seeds = seed_budget(n, search_k);
      home_leaves<P>(forest, qvec, seeds, candidates);
      if (walk_graph(forest, *compact, qnode.data(), n, search_k, candidates, visited, coded)) {
        if (forest.trees_name_removed)
          visited.erase(std::remove_if(visited.begin(), visited.end(),
                                       [&](const std::pair<double, std::int32_t>& v) { return forest.is_removed(v.second); }),
                        visited.end());
        if (visited.size() >= static_cast<std::size_t>(n)) {
          Best<Priority> best(static_cast<std::size_t>(n));
          rank_bounds<P>(forest, qnode.data(), visited, best);
          if (codes_resolve<P>(*compact, coded, best)) return best.write(out, [](Priority d) { return P::reported(d); });
        }
        // too few found (a tiny or split-up graph), or codes too coarse here: the trees answer
      }
      candidates.clear();
    }
  }

  collect_from_trees<P, kFiltered>(forest, qvec, search_k, n, filter, candidates);
  rank<P>(forest, compact, qnode.data(), candidates, static_cast<std::size_t>(n), out);
}

}  // namespace

void search(const Forest& forest, const Compact* compact, bool graph, const void* query, int n, std::int64_t search_k,
            const Filter* filter, SearchOutput out) {
  with_policy(forest.layout, forest.annoy_float_order, [&](auto policy) {
    if ((filter && filter->active()) || forest.trees_name_removed)
      search_with<decltype(policy), true>(forest, compact, graph, query, n, search_k, filter, out);
    else
      search_with<decltype(policy), false>(forest, compact, graph, query, n, search_k, nullptr, out);
  });
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
