// Building the forest: random-projection splits, as Annoy builds them, two ways.
//
// TreeBuilder (Annoy's float order, and hamming): one tree at a time, recursively, with
// Annoy's random stream, order of draws, smaller-side-first recursion and float order, so the
// same items and seed give the same file as Annoy.
// LevelBuilder (Grove's default order, float metrics): trees in batches, a level at a time
// (then each subtree that fits in cache on its own), splits measured on the items' 8-bit
// codes (see compact.h): fewer, smaller passes over memory.
// Either way threads never change the result: they share the margin computations (and in
// LevelBuilder take whole subtrees, each node with its own random stream), and the random
// flips for exact-zero margins are drawn in item order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "compact.h"
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

// A split's plane on the code grid (see compact.h): the normal n in integer steps of t, so
// that n . x, for an item coded as offsets + scale * code, is close to
// t * (qn . offsets) + t * scale * (qn . code), an exact integer sum over a quarter of the
// bytes. Close is enough here: a margin only picks a side, and an item within rounding of
// the plane is as well placed on either. Items without a code get the float margin.
class CodedPlane {
 public:
  CodedPlane() = default;
  CodedPlane(const Compact& codes, const float* normal) : codes_(&codes), steps_(static_cast<std::size_t>(codes.stride()), 0) {
    double largest = 0;
    for (int j = 0; j < codes.f(); ++j) largest = std::max(largest, std::fabs(static_cast<double>(normal[j])));
    if (!(largest > 0) || !std::isfinite(largest)) return;
    const double t = largest / kQueryDot;
    double offset_dot = 0, norm2 = 0, rounding2 = 0;
    for (int j = 0; j < codes.f(); ++j) {
      const double k = std::nearbyint(normal[j] / t);
      steps_[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(k);
      offset_dot += k * codes.offsets()[j];
      norm2 += static_cast<double>(normal[j]) * normal[j];
      rounding2 += (normal[j] - t * k) * (normal[j] - t * k);
    }
    base_ = t * offset_dot;
    unit_ = t * codes.scale();
    normal_l2_ = std::sqrt(norm2);
    normal_max_ = largest;
    rounding_l2_ = std::sqrt(rounding2);
    usable_ = true;
  }
  bool usable() const { return usable_; }
  // How far the coded dot (from_sum) can be from normal . item: the item's code error times
  // the normal (L2; manhattan's error is L1, so times its largest value), plus the normal's
  // rounding to steps times the decoded item's length, plus float rounding. A margin within
  // this of 0 may have the wrong sign on the codes.
  double slack(float error, float decoded_norm, bool l1, double magnitude) const {
    return item_slack(error, decoded_norm, l1) + 1e-5 * (std::fabs(base_) + magnitude);
  }
  // A margin size beyond which slack() is smaller for every item whose error and decoded
  // length are at most `error` and `decoded_norm`, with `rest` (see judge_margin) added to
  // the coded dot: slack()'s own terms at those bounds, each rounded up, and its part that
  // grows with the margin (1e-5 of it, in float) moved to this side.
  double sure_beyond(float error, float decoded_norm, bool l1, float rest) const {
    const double fixed = item_slack(error, decoded_norm, l1) + 1e-5 * (std::fabs(base_) + 1.001 * std::fabs(rest));
    return fixed * (1 + 1e-9) / (1 - 1.001e-5);
  }
  bool has_code(std::int32_t id) const { return codes_->error(id) < std::numeric_limits<float>::infinity(); }
  // normal . item, from the item's code (or from the integer sum steps . code).
  float dot(std::int32_t id) const { return from_sum(code_kernels().dot(steps_.data(), codes_->code(id), codes_->stride())); }
  float from_sum(std::int64_t sum) const { return static_cast<float>(base_ + unit_ * static_cast<double>(sum)); }
  const std::int16_t* steps() const { return steps_.data(); }

 private:
  // slack()'s terms for the item's code error and decoded length (monotone in both).
  double item_slack(float error, float decoded_norm, bool l1) const {
    const double code_part = (l1 ? normal_max_ : normal_l2_) * error;
    const double grid_part = rounding_l2_ * decoded_norm;
    return (code_part + grid_part) * (1 + 1e-3);
  }

  const Compact* codes_ = nullptr;
  std::vector<std::int16_t> steps_;
  double base_ = 0, unit_ = 0;
  double normal_l2_ = 0, normal_max_ = 0, rounding_l2_ = 0;
  bool usable_ = false;
};

template <class P>
class TreeBuilder {
 public:
  TreeBuilder(Forest& forest, Kiss64& rng, const BuildOptions& options)
      : forest_(forest), rng_(rng), options_(options), parallel_(options.parallel),
        words_(forest.layout.f), s_(forest.layout.node_size),
        k_(forest.layout.max_bucket()) {}

  std::int32_t make_tree(const std::vector<std::int32_t>& ids, bool is_root) {
    if (ids.size() == 1 && !is_root) return ids[0];  // a lone item is its own subtree
    check_stop(options_);
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
      if constexpr (std::is_same<P, Hamming>::value) P::create_split(items, words_, s_, rng_, split);
      else create_split<P, 1>(NodeList{items, P::kVector}, words_, s_, rng_, split);  // Annoy's rule
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
    margins_.resize(ids.size());
    Margin* out = reinterpret_cast<Margin*>(margins_.data());
    static_assert(sizeof(Margin) <= sizeof(float), "margin buffer too small");
    // Float rows a few items ahead, as the split's items are scattered.
    auto run = [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < std::min(end, begin + kPrefetchAhead); ++i) prefetch(items[i], s_);
      for (std::size_t i = begin; i < end; ++i) {
        if (i + kPrefetchAhead < end) prefetch(items[i + kPrefetchAhead], s_);
        out[i] = P::build_margin(split, items[i], words_);
      }
    };
    if (parallel_ && parallel_->workers() > 1 && ids.size() >= kParallelSplit) parallel_->run(ids.size(), run);
    else run(0, ids.size());
    // The coin flips for margins of exactly 0 are drawn in item order, whatever the threads.
    for (std::size_t i = 0; i < ids.size(); ++i) sides[side_of(out[i], rng_) ? 1 : 0].push_back(ids[i]);
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
  const BuildOptions& options_;
  ParallelFor* parallel_;
  int words_;
  std::size_t s_;
  std::size_t k_;
  std::vector<float> margins_;
};

// Where a build with codes reads an item: its code row, code error and decoded length, and its
// float node. Either from the codes, by id, or, while a subtree whose rows fit in cache grows,
// from a packed copy of its items' (then ids are local to the subtree, 0 .. m-1): every level
// under it then reads them from cache, where by id each row, record and length was a
// scattered read over the whole index (the levels under a few thousand items had each cost
// about as much as the first, which streams).
class ItemRows {
 public:
  ItemRows(const Forest& forest, const Compact& codes)
      : forest_(forest), codes_(codes), stride_(static_cast<std::size_t>(codes.stride())) {
    rows_by_id_ = rows_by_id(codes, forest.n_items, &ordered_rows_);
    unpack();
  }
  // Another reader of the same items, with packed copies of its own, that reads the decoded
  // lengths `rows` measured (a worker growing subtrees beside others).
  struct SharedLengths {};
  ItemRows(const ItemRows& rows, SharedLengths)
      : forest_(rows.forest_), codes_(rows.codes_), stride_(rows.stride_), rows_by_id_(rows.rows_by_id_),
        norms_by_id_(rows.norms_by_id_), all_coded_by_id_(rows.all_coded_by_id_), largest_error_(rows.largest_error_),
        largest_norm_(rows.largest_norm_) {
    unpack();
  }
  // A copy would read through the other's packed rows.
  ItemRows(const ItemRows&) = delete;
  ItemRows& operator=(const ItemRows&) = delete;
  const Forest& forest() const { return forest_; }
  const Compact& codes() const { return codes_; }
  std::size_t stride() const { return stride_; }

  // Both ways read through the same pointers (a test of packed_ in each of these had cost a
  // sixth of the build, in the levels that do not pack), and rows are in id order both ways.
  const std::uint8_t* code(std::int32_t id) const { return code_rows_ + stride_ * static_cast<std::size_t>(id); }
  float error(std::int32_t id) const { return records_[2 * static_cast<std::size_t>(id)]; }
  // Without the item's record when every item of this view has a code.
  bool coded(std::int32_t id) const { return all_coded_ || has_code(id); }
  // Whether every item of this view has a code (measure_norms finds out; until then, false).
  bool all_coded() const { return all_coded_; }
  float decoded_norm(std::int32_t id) const { return norm_of_[id]; }
  // The largest error and decoded length of a coded item (measure_norms).
  float largest_error() const { return largest_error_; }
  float largest_norm() const { return largest_norm_; }
  const std::uint8_t* node(std::int32_t id) const { return forest_.node(global(id)); }
  std::int32_t global(std::int32_t id) const { return packed_ ? globals_[static_cast<std::size_t>(id)] : id; }
  void prefetch_code(std::int32_t id) const { prefetch(code(id), stride_); }
  void prefetch_record(std::int32_t id) const { prefetch(records_ + 2 * static_cast<std::size_t>(id), 8); }
  void prefetch_norm(std::int32_t id) const { prefetch(norm_of_ + id, sizeof(float)); }

  // Each coded item's decoded length (rounded up), for CodedPlane::slack, and the largest
  // error and length, and whether every item has a code: once per build.
  void measure_norms(const std::vector<std::int32_t>& ids, ParallelFor* parallel) {
    norms_.assign(static_cast<std::size_t>(forest_.n_items), 0.0f);
    norm_of_ = norms_by_id_ = norms_.data();
    const int f = codes_.f();
    auto run = [&](std::size_t begin, std::size_t end) {
      std::vector<float> v(static_cast<std::size_t>(f));
      for (std::size_t k = begin; k < end; ++k) {
        const std::int32_t id = ids[k];
        if (!has_code(id)) continue;
        code_kernels().decode(codes_.code(id), codes_.offsets(), codes_.scale(), v.data(), f);
        norms_[static_cast<std::size_t>(id)] = static_cast<float>(std::sqrt(code_kernels().norm2(v.data(), f)) * (1 + 1e-6));
      }
    };
    if (parallel && parallel->workers() > 1) parallel->run(ids.size(), run);
    else run(0, ids.size());
    all_coded_by_id_ = true;
    for (std::int32_t id : ids) {
      all_coded_by_id_ = all_coded_by_id_ && has_code(id);
      if (!has_code(id)) continue;
      largest_error_ = std::max(largest_error_, error(id));
      largest_norm_ = std::max(largest_norm_, norms_[static_cast<std::size_t>(id)]);
    }
    all_coded_ = all_coded_by_id_;  // the view by id (unpacked) learns it too
  }

  // From now on, ids k = 0 .. ids.size() - 1 read item ids[k] (global ids), from a copy.
  void pack(const std::vector<std::int32_t>& ids) {
    unpack();
    globals_ = ids;
    rows_.resize(stride_ * ids.size());
    records_copy_.resize(2 * ids.size());
    local_norms_.resize(ids.size());
    // Rows scattered over the whole index, fetched a few items ahead.
    bool all_coded = true;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const std::int32_t id = ids[k];
      if (k + kPrefetchAhead < ids.size()) {
        const std::int32_t later = ids[k + kPrefetchAhead];
        prefetch_record(later);
        prefetch_code(later);
        prefetch(norm_of_ + later, sizeof(float));
      }
      records_copy_[2 * k] = error(id);
      all_coded = all_coded && coded(id);
      local_norms_[k] = decoded_norm(id);
      std::memcpy(&rows_[stride_ * k], code(id), stride_);
    }
    packed_ = true;
    all_coded_ = all_coded;
    code_rows_ = rows_.data();
    records_ = records_copy_.data();
    norm_of_ = local_norms_.data();
  }
  void unpack() {
    packed_ = false;
    all_coded_ = all_coded_by_id_;
    code_rows_ = rows_by_id_;
    records_ = codes_.records();
    norm_of_ = norms_by_id_;
  }

 private:
  // From the item's record: a code's error is finite, an item without one has infinity.
  bool has_code(std::int32_t id) const { return error(id) < std::numeric_limits<float>::infinity(); }
  // The codes' rows in id order: their own, as a build's fresh codes are (Compact::encode),
  // or else a copy put in that order into `copy`.
  static const std::uint8_t* rows_by_id(const Compact& codes, std::int32_t n, std::vector<std::uint8_t>* copy) {
    const std::int32_t* rows = codes.row_numbers();
    bool in_order = true;
    for (std::int32_t id = 0; id < n && in_order; ++id) in_order = rows[id] == id;
    if (in_order) return codes.code_rows();
    const std::size_t stride = static_cast<std::size_t>(codes.stride());
    copy->resize(stride * static_cast<std::size_t>(n));
    for (std::int32_t id = 0; id < n; ++id) std::memcpy(copy->data() + stride * static_cast<std::size_t>(id), codes.code(id), stride);
    return copy->data();
  }

  const Forest& forest_;
  const Compact& codes_;
  std::size_t stride_;
  std::vector<std::uint8_t> ordered_rows_;  // see rows_by_id
  const std::uint8_t* rows_by_id_ = nullptr;
  std::vector<float> norms_;  // by global id (measure_norms)
  const float* norms_by_id_ = nullptr;  // norms_, or those of the ItemRows this one shares them with
  bool all_coded_by_id_ = false;  // every item measure_norms saw has a code
  float largest_error_ = 0, largest_norm_ = 0;
  bool packed_ = false, all_coded_ = false;
  const std::uint8_t* code_rows_ = nullptr;
  const float* records_ = nullptr;  // error, and a second float unused here, by id
  const float* norm_of_ = nullptr;
  // The packed copy, by local id: global ids, code rows, records, lengths.
  std::vector<std::int32_t> globals_;
  std::vector<std::uint8_t> rows_;
  std::vector<float> records_copy_, local_norms_;
};

// The items of a split as two_means reads them in a build with codes: each sample decoded
// from its code (a quarter of the bytes of its float vector) into a scratch node, with the
// node's own header (dot factor) and, for angular, the decoded vector's norm. Items without
// a code are read as they are.
template <class P>
class DecodedItems {
 public:
  // scratch: room for two_means' batch, a node of slot_bytes each.
  DecodedItems(const ItemRows& rows, const std::vector<std::int32_t>& ids, std::uint8_t* scratch, std::size_t slot_bytes)
      : rows_(rows), ids_(ids), scratch_(scratch), slot_bytes_(slot_bytes) {}
  std::size_t size() const { return ids_.size(); }
  const std::uint8_t* node(std::size_t k, int slot) const {
    const std::int32_t id = ids_[k];
    if (!rows_.coded(id)) return rows_.node(id);  // no code
    std::uint8_t* scratch = scratch_ + slot_bytes_ * static_cast<std::size_t>(slot);
    // Only dot items carry anything in their header that two_means reads (the dot factor):
    // other metrics leave the real node untouched, one scattered read less per sample.
    const std::size_t header = rows_.forest().layout.vector;
    if (dot) std::memcpy(scratch, rows_.node(id), header);
    const Compact& codes = rows_.codes();
    float* v = reinterpret_cast<float*>(scratch + header);
    code_kernels().decode(rows_.code(id), codes.offsets(), codes.scale(), v, codes.f());
    // Angular codes are of unit vectors: the cached norm is 1 (within the code's error, which
    // only nudges a sample's weight in two_means), and not worth a pass over the vector.
    if (std::is_same<P, Angular<FastMath>>::value) *field<float>(scratch, Angular<FastMath>::kNorm) = 1.0f;
    else P::init_item(scratch, codes.f());
    return scratch;
  }
  // Stage 0: the code row (and a dot item's header); 1: its record (unless every item has a
  // code: then it is not read); 2: its id.
  void prefetch(std::size_t k, int, int stage) const {
    if (stage == 2) return detail::prefetch(&ids_[k], sizeof ids_[k]);
    if (stage == 1) return rows_.all_coded() ? void() : rows_.prefetch_record(ids_[k]);
    rows_.prefetch_code(ids_[k]);
    if (dot) detail::prefetch(rows_.node(ids_[k]), rows_.forest().layout.vector);
  }

 private:
  const ItemRows& rows_;
  const std::vector<std::int32_t>& ids_;
  std::uint8_t* scratch_;
  std::size_t slot_bytes_;
  const bool dot = rows_.forest().layout.metric == Metric::Dot;
};

// Grows several trees at once, a level at a time (Grove's fast order, with codes): each level
// measures every splitting node's items on their codes (a quarter of the bytes of their
// float vectors), the threads sharing all the level's nodes of all the batch's trees; then
// each node whose code rows fit in cache grows its subtree alone, from a packed copy of them,
// the threads taking whole subtrees.
// Each node draws from its own random stream (seeded from its tree's number, then from its
// parent's seed and side), so a tree depends neither on the batch it grew in, nor on the
// number of threads, nor on the order its nodes are grown in.
// Splits follow TreeBuilder's rule: three planes at most, then random sides for duplicates.
template <class P>
class LevelBuilder {
  struct Pending;  // a node while it grows (below)

 public:
  LevelBuilder(Forest& forest, const BuildOptions& options, const std::vector<std::int32_t>& ids)
      : forest_(forest), codes_(*options.codes), options_(options), parallel_(options.parallel), ids_(ids), seed_(options.seed),
        words_(forest.layout.f), s_(forest.layout.node_size), k_(forest.layout.max_bucket()), rows_(forest, codes_) {
    rows_.measure_norms(ids_, parallel_);
    ids_sorted_ = std::is_sorted(ids_.begin(), ids_.end());
  }
  // A worker's builder for grow_alone: `main`'s items and decoded lengths, its own nodes and
  // buffers, one thread.
  struct Worker {};
  LevelBuilder(const LevelBuilder& main, Worker)
      : forest_(main.forest_), codes_(main.codes_), options_(main.options_), parallel_(nullptr), ids_(main.ids_), ids_sorted_(main.ids_sorted_), seed_(main.seed_),
        words_(main.words_), s_(main.s_), k_(main.k_), rows_(main.rows_, ItemRows::SharedLengths{}) {}

  // Grows trees first .. first + count - 1 (their roots' pending nodes kept in order, for
  // write_tree): large nodes a level at a time across all the batch's trees; a node whose code
  // rows fit in cache (kLocalBytes), once met, grows its whole subtree before the next, so its
  // rows are read from cache at every level below (at random over all items, the levels under
  // a few thousand items each had cost twice the first, streamed, level).
  void grow(int first, int count) {
    pending_.clear();
    // Room for the nodes a tree usually has (GloVe: about 3 per k items; random sides for
    // duplicates make more), so that growing pending_ seldom copies it all into fresh pages.
    pending_.reserve(static_cast<std::size_t>(count) * (4 * ids_.size() / k_ + 16));
    trees_ = count;
    std::vector<int> frontier;
    for (int t = 0; t < count; ++t) frontier.push_back(add_pending(t, ids_, true, false, tree_seed(first + t)));
    roots_ = frontier;
    std::vector<int> small;
    while (!frontier.empty()) {
      std::vector<int> large;
      for (int idx : frontier) (fits_cache(pending_[static_cast<std::size_t>(idx)]) ? small : large).push_back(idx);
      check_stop(options_);
      frontier = grow_level(large, true);
    }
    grow_subtrees(small);
  }
  // The subtrees under `small`, each alone (grow_subtree); with threads, each worker grows
  // whole subtrees into nodes of its own, spliced in here afterwards in order: a subtree
  // depends only on its root (its items and its random stream), so the trees are the same
  // for any number of threads.
  void grow_subtrees(const std::vector<int>& small) {
    if (!parallel_ || parallel_->workers() < 2 || small.size() < 2) {
      for (int idx : small) grow_subtree(idx);
      return;
    }
    std::vector<std::vector<Pending>> grown(small.size());
    parallel_->run(small.size(), [&](std::size_t begin, std::size_t end) {
      LevelBuilder worker(*this, Worker{});
      for (std::size_t k = begin; k < end; ++k)
        grown[k] = worker.grow_alone(std::move(pending_[static_cast<std::size_t>(small[k])]));
    });
    for (std::size_t k = 0; k < small.size(); ++k) splice(small[k], grown[k]);
  }
  // Grows `root`'s whole subtree here; returns its nodes, the root first.
  std::vector<Pending> grow_alone(Pending root) {
    pending_.clear();
    pending_.push_back(std::move(root));
    grow_subtree(0);
    return std::move(pending_);
  }
  // Puts a subtree grown alone (root first) in place of pending node idx.
  void splice(int idx, std::vector<Pending>& nodes) {
    const int offset = static_cast<int>(pending_.size()) - 1;  // nodes[k], k >= 1, goes to offset + k
    for (Pending& p : nodes)
      for (int& c : p.child)
        if (c >= 0) c += offset;
    pending_[static_cast<std::size_t>(idx)] = std::move(nodes[0]);
    for (std::size_t k = 1; k < nodes.size(); ++k) pending_.push_back(std::move(nodes[k]));
  }
  // Grows node idx's whole subtree on a packed copy of its items' rows (see ItemRows).
  void grow_subtree(int idx) {
    {
      Pending& p = pending_[static_cast<std::size_t>(idx)];
      rows_.pack(p.ids);
      for (std::size_t k = 0; k < p.ids.size(); ++k) p.ids[k] = static_cast<std::int32_t>(k);
    }
    std::vector<int> level{idx};
    while (!level.empty()) {
      check_stop(options_);
      level = grow_level(level, false);
    }
    to_global(idx);
    rows_.unpack();
  }
  // The leaves under idx back to global ids.
  void to_global(int idx) {
    Pending& p = pending_[static_cast<std::size_t>(idx)];
    if (p.child[0] < 0) {
      for (std::int32_t& id : p.ids) id = rows_.global(id);
      return;
    }
    to_global(p.child[0]);
    to_global(p.child[1]);
  }

  // Writes tree `t` of the batch into the forest (children before parents, the smaller side
  // first, as Annoy orders nodes) and returns its root's node number.
  std::int32_t write_tree(int t) { return write(roots_[static_cast<std::size_t>(t)]); }

 private:
  struct Pending {
    int tree;
    bool root;
    // The node's own random stream (its seed from its parent's and its side): trees do not
    // depend on the order nodes are grown in.
    std::uint64_t seed;
    Kiss64 rng;
    // Split on the float vectors, not the codes: the codes could not tell this node's items
    // apart (so neither can they its children's).
    bool exact = false;
    std::vector<std::int32_t> ids;
    std::vector<std::uint8_t> split;  // the plane, once the node splits
    CodedPlane coded;                 // the plane on the code grid, while it splits
    // While it is measured: margins larger than this are Sure (see quick_margin).
    double sure = std::numeric_limits<double>::infinity();
    int child[2] = {-1, -1};          // pending nodes of the two sides
  };

  static std::uint64_t mix(std::uint64_t seed, std::uint64_t k) {
    std::uint64_t h = seed + 0x9e3779b97f4a7c15ULL * (k + 1);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
  }
  std::uint64_t tree_seed(int t) const { return mix(seed_, static_cast<std::uint64_t>(t)); }

  // Of code rows: well inside a shared L3 (GloVe 340k, one thread: 1 MB 2.20 s, 4 MB 2.08 s, 16 MB 2.17 s).
  static constexpr std::size_t kLocalBytes = std::size_t(4) << 20;
  // Wide rows stay a level at a time to the end, measured item by item (see measure_level):
  // packed, a few hundred of them to a subtree, they built Fashion-MNIST 10-40% slower.
  bool fits_cache(const Pending& p) const {
    const std::size_t stride = static_cast<std::size_t>(codes_.stride());
    return stride <= kNodeOrderRow && p.ids.size() * stride <= kLocalBytes;
  }

  int add_pending(int tree, std::vector<std::int32_t> ids, bool root, bool exact, std::uint64_t seed) {
    Pending p;
    p.tree = tree;
    p.root = root;
    p.exact = exact;
    p.seed = seed;
    p.rng = Kiss64(seed);
    p.ids = std::move(ids);
    pending_.push_back(std::move(p));
    return static_cast<int>(pending_.size()) - 1;
  }

  // Samples two_means scores at a time (see two_means; 1 is Annoy's rule).
  static constexpr int kSplitBatch = 4;

  bool is_leaf(const Pending& p) const {
    if (p.ids.size() == 1 && !p.root) return true;
    const bool small_items = static_cast<std::size_t>(forest_.n_items) <= k_;
    return p.ids.size() <= k_ && (!p.root || small_items || p.ids.size() == 1);
  }

  // One level of the nodes in `frontier`; returns the next. across_trees: the nodes are many
  // trees' (wide rows may then be measured item by item).
  std::vector<int> grow_level(const std::vector<int>& frontier, bool across_trees) {
    std::vector<int> splitting;
    for (int idx : frontier) {
      Pending& p = pending_[static_cast<std::size_t>(idx)];
      if (is_leaf(p)) continue;
      p.split.assign(s_, 0);
      new_plane(p);
      splitting.push_back(idx);
    }
    if (splitting.empty()) return {};
    measure_level(splitting, across_trees);
    std::vector<int> next;
    for (std::size_t k = 0; k < splitting.size(); ++k) {
      const int idx = splitting[k];
      split_node(idx, level_start_[k]);
      const Pending& p = pending_[static_cast<std::size_t>(idx)];
      next.push_back(p.child[0]);
      next.push_back(p.child[1]);
    }
    return next;
  }

  void new_plane(Pending& p) {
    Kiss64& rng = p.rng;
    if (p.exact) {
      std::vector<const std::uint8_t*> items;
      items.reserve(p.ids.size());
      for (std::int32_t id : p.ids) items.push_back(rows_.node(id));
      create_split<P, kSplitBatch>(NodeList{items, P::kVector}, words_, s_, rng, p.split.data());
      return;
    }
    const std::size_t slot = s_ + sizeof(float) * static_cast<std::size_t>(words_);
    scratch_.assign(kSplitBatch * slot, 0);
    create_split<P, kSplitBatch>(DecodedItems<P>(rows_, p.ids, scratch_.data(), slot), words_, s_, rng, p.split.data());
  }

  // The plane a node's margins are measured against: on the code grid, unless it splits on
  // floats (then an unusable CodedPlane, and every margin is the float one).
  CodedPlane plane_for(const Pending& p) const {
    return p.exact ? CodedPlane() : CodedPlane(codes_, P::v(p.split.data()));
  }

  // What the codes tell of a margin. Sure: its sign is certain (beyond the slack). Kept:
  // within the slack, but beyond kKeptBeyond of it, where the codes' sign is kept. Floats:
  // nearer the plane; the float margin decides. Kept and Floats both count as uncertain in
  // split_node's test of whether the codes can tell a node's items apart.
  // The slack is the worst case, a code's whole error along the plane's normal; the part of
  // the error that does lie along it is far smaller. Measured on GloVe 100k (10 trees),
  // among margins within half the slack, the share whose float sign differs from the codes':
  // 40% below 0.05 of the slack, 11% at 0.10-0.15, 1.1% at 0.20-0.25, 0.2% at 0.25-0.30,
  // 0.04% at 0.30-0.35, none above 0.40 (35k-50k margins a band, euclidean and angular).
  // So beyond a quarter of the slack the codes' sign is kept: about 130 of a build's 11M
  // margins take the other side than the floats would give them, each an item within 0.4
  // of its slack of the plane, where either side serves a search as well; and half the
  // float reads are saved (each a scattered row: with those at under half the slack they
  // had been a tenth of a 340k GloVe build).
  static constexpr double kKeptBeyond = 0.25;
  enum class Coded { Sure, Kept, Floats };
  // judge_margin's verdict without its loads and slack where the margin is beyond p.sure,
  // the slack's bound over all items (most margins are): the same verdict either way.
  Coded quick_margin(const CodedPlane& coded, const Pending& p, std::int32_t id, std::int64_t sum, float* out) const {
    return beyond_sure(coded, p, sum, out) ? Coded::Sure : judge_margin(coded, p, id, sum, out);
  }
  // The bound quick_margin uses for p's plane (none for dot, whose rest is the item's own).
  double sure_beyond(const Pending& p) const {
    if (P::kRestReadsItem || !p.coded.usable()) return std::numeric_limits<double>::infinity();
    return p.coded.sure_beyond(rows_.largest_error(), rows_.largest_norm(), l1_, P::margin_rest(p.split.data(), nullptr));
  }
  Coded judge_margin(const CodedPlane& coded, const Pending& p, std::int32_t id, std::int64_t sum, float* out) const {
    const float rest = P::margin_rest(p.split.data(), P::kRestReadsItem ? rows_.node(id) : nullptr);
    const float coded_margin = coded.from_sum(sum) + rest;
    const double slack = coded.slack(rows_.error(id), rows_.decoded_norm(id), l1_,
                                     std::fabs(coded_margin) + std::fabs(rest));
    *out = coded_margin;
    const double size = std::fabs(static_cast<double>(coded_margin));
    return size > slack ? Coded::Sure : size > kKeptBeyond * slack ? Coded::Kept : Coded::Floats;
  }

  // Item id's margin against node idx's plane: from its code where the codes can tell, else
  // on floats.
  float margin(int idx, std::int32_t id) const {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    const CodedPlane& coded = p.coded;
    if (coded.usable() && rows_.coded(id)) {
      float m;
      if (judge_margin(coded, p, id, code_kernels().dot(coded.steps(), rows_.code(id), codes_.stride()), &m) != Coded::Floats) return m;
    }
    return P::build_margin(p.split.data(), rows_.node(id), words_);
  }

  // Every splitting node's margins, into the level's arrays (by node, in each node's item
  // order), in one of two orders. Narrow rows (GloVe's 100 bytes), a node at a time: its
  // plane stays in cache while its items' code rows stream past; item by item, each item met
  // the planes of ten scattered nodes, and that was most of the time (a 100k GloVe build
  // 0.66 s against 0.57 s node by node). Wide rows (Fashion-MNIST's 784), item by item: each
  // row is read once for all trees, where node by node read it once per tree (0.43 s
  // against 0.51 s), while the level spans many trees (not inside one packed subtree).
  // Either way the same margins, so the same trees.
  static constexpr int kNodeOrderRow = 256;  // bytes of code row
  void measure_level(const std::vector<int>& splitting, bool across_trees) {
    for (int idx : splitting) {
      Pending& p = pending_[static_cast<std::size_t>(idx)];
      p.coded = plane_for(p);
      p.sure = sure_beyond(p);
    }
    std::vector<std::size_t>& starts = level_start_;  // each node's first position
    starts.assign(splitting.size() + 1, 0);
    for (std::size_t k = 0; k < splitting.size(); ++k)
      starts[k + 1] = starts[k] + pending_[static_cast<std::size_t>(splitting[k])].ids.size();
    margins_.resize(starts.back());
    uncertain_.resize(starts.back());
    if (across_trees && codes_.stride() > kNodeOrderRow) return measure_by_item(splitting);
    if (across_trees && ids_sorted_) return measure_by_blocks(splitting);
    auto run = [&](std::size_t begin, std::size_t end) {
      std::size_t k = static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin()) - 1;
      for (; k < splitting.size() && starts[k] < end; ++k)
        measure_node(splitting[k], starts[k], std::max(begin, starts[k]) - starts[k], std::min(end, starts[k + 1]) - starts[k]);
      float_margins(unsure_list());
    };
    if (parallel_ && parallel_->workers() > 1) parallel_->run(starts.back(), run);
    else run(0, starts.back());
  }

  // measure_level across trees for narrow rows: node by node within each block of
  // kBlockItems ids, so a block's code rows are read from memory once for all the level's
  // nodes (of every tree) that hold some of them, and from cache by the rest; node by node
  // over all ids, each level had read every row once per tree (GloVe 340k: 30 ns a margin in
  // the levels above the packed subtrees, 17 inside them). The same margins in the same
  // places (each node's ids are in increasing order: the build's, kept by every split).
  static constexpr std::int32_t kBlockItems = 4096;  // of 112-byte rows: well inside L2
  void measure_by_blocks(const std::vector<int>& splitting) {
    const std::vector<std::size_t>& starts = level_start_;
    auto run = [&](std::size_t first_block, std::size_t end_block) {
      for (std::size_t b = first_block; b < end_block; ++b) {
        const std::int32_t lo = static_cast<std::int32_t>(b) * kBlockItems, hi = lo + kBlockItems;
        for (std::size_t k = 0; k < splitting.size(); ++k) {
          const std::vector<std::int32_t>& ids = pending_[static_cast<std::size_t>(splitting[k])].ids;
          const std::size_t from = static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), lo) - ids.begin());
          const std::size_t to = static_cast<std::size_t>(std::lower_bound(ids.begin() + from, ids.end(), hi) - ids.begin());
          if (from < to) measure_node(splitting[k], starts[k], from, to);
        }
      }
      float_margins(unsure_list());
    };
    const std::size_t blocks = static_cast<std::size_t>(forest_.n_items) / kBlockItems + 1;
    if (parallel_ && parallel_->workers() > 1) parallel_->run(blocks, run);
    else run(0, blocks);
  }

  // measure_level item by item, in id order: each item's row against the planes of the nodes
  // it is in (one a tree), kRowsMax planes at a time; margins the codes cannot place are
  // measured on floats after each few hundred, their rows fetched ahead.
  void measure_by_item(const std::vector<int>& splitting) {
    const std::size_t n = static_cast<std::size_t>(forest_.n_items), trees = static_cast<std::size_t>(trees_);
    node_at_.assign(trees * n, -1);
    position_at_.resize(trees * n);
    for (std::size_t k = 0; k < splitting.size(); ++k) {
      const Pending& p = pending_[static_cast<std::size_t>(splitting[k])];
      const std::size_t base = static_cast<std::size_t>(p.tree) * n;
      for (std::size_t i = 0; i < p.ids.size(); ++i) {
        node_at_[base + static_cast<std::size_t>(p.ids[i])] = splitting[k];
        position_at_[base + static_cast<std::size_t>(p.ids[i])] = level_start_[k] + i;
      }
    }
    const CodeKernels& kernels = code_kernels();
    auto run = [&](std::size_t begin, std::size_t end) {
      thread_local std::vector<Unsure> unsure;
      unsure.clear();
      const std::int16_t* steps[kRowsMax];
      std::size_t where[kRowsMax];
      int node[kRowsMax];
      for (std::size_t i = begin; i < end; ++i) {
        if (i + kPrefetchAhead < end) prefetch(codes_.code(ids_[i + kPrefetchAhead]), static_cast<std::size_t>(codes_.stride()));
        const std::int32_t id = ids_[i];
        const std::uint8_t* code = codes_.code(id);
        const bool coded = codes_.error(id) < std::numeric_limits<float>::infinity();
        int count = 0;
        auto flush = [&] {
          std::int64_t sums[kRowsMax];
          for (int k = 0; k < count; ++k) sums[k] = kernels.dot(steps[k], code, codes_.stride());
          for (int k = 0; k < count; ++k) {
            const Pending& p = pending_[static_cast<std::size_t>(node[k])];
            const Coded judged = quick_margin(p.coded, p, id, sums[k], &margins_[where[k]]);
            uncertain_[where[k]] = judged != Coded::Sure;
            if (judged == Coded::Floats) unsure.push_back({where[k], id, node[k]});
          }
          count = 0;
        };
        for (std::size_t t = 0; t < trees; ++t) {
          const std::size_t at = t * n + static_cast<std::size_t>(id);
          const int idx = node_at_[at];
          if (idx < 0) continue;
          const CodedPlane& plane = pending_[static_cast<std::size_t>(idx)].coded;
          if (!plane.usable() || !coded) {
            margins_[position_at_[at]] = margin(idx, id);
            uncertain_[position_at_[at]] = !plane.usable();  // as measure_node
            continue;
          }
          steps[count] = plane.steps();
          where[count] = position_at_[at];
          node[count] = idx;
          if (++count == kRowsMax) flush();
        }
        if (count) flush();
        if (unsure.size() >= 256) float_margins(unsure);
      }
      float_margins(unsure);
    };
    if (parallel_ && parallel_->workers() > 1) parallel_->run(ids_.size(), run);
    else run(0, ids_.size());
  }

  // Margins of items [from, to) of node idx, against its plane, into the level's arrays
  // from position base (its items' in their order: written and read in sequence). Those the
  // codes cannot place are left in unsure_list(), for the caller to measure on floats
  // (float_margins) once it has measured all its nodes.
  void measure_node(int idx, std::size_t base, std::size_t from, std::size_t to) {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    if (p.coded.usable() && rows_.all_coded()) return measure_coded(idx, base, from, to);
    measure_mixed(idx, base, from, to);
  }
  // measure_node where the plane is on the grid and every item has a code (nearly always), in
  // three passes over each kMeasureChunk items, each a short loop: the integer sums (eight
  // rows a kernel call), the coded margins (beyond_sure), then those within p.sure judged
  // (judge_margins). One loop that did all three for each batch of eight had cost twice its
  // kernel's time.
  static constexpr std::size_t kMeasureChunk = 2048;
  void measure_coded(int idx, std::size_t base, std::size_t from, std::size_t to) {
    for (std::size_t at = from; at < to; at += kMeasureChunk) measure_chunk(idx, base, at, std::min(to, at + kMeasureChunk));
  }
  void measure_chunk(int idx, std::size_t base, std::size_t from, std::size_t to) {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    const CodedPlane& plane = p.coded;
    const CodeKernels& kernels = code_kernels();
    const std::size_t count = to - from;
    const std::int32_t* ids = p.ids.data() + from;
    std::int64_t sums[kMeasureChunk];
    thread_local std::vector<Unjudged> unjudged(kMeasureChunk);
    const std::uint8_t* rows[kRowsMax];
    for (std::size_t i = 0; i < std::min(kPrefetchAhead, count); ++i) rows_.prefetch_code(ids[i]);
    for (std::size_t i = 0; i < count; i += kRowsMax) {
      const std::size_t n = std::min<std::size_t>(kRowsMax, count - i);
      for (std::size_t k = 0; k < n; ++k) {
        if (i + k + kPrefetchAhead < count) rows_.prefetch_code(ids[i + k + kPrefetchAhead]);
        rows[k] = rows_.code(ids[i + k]);
      }
      kernels.dot_rows(plane.steps(), rows, static_cast<int>(n), codes_.stride(), sums + i);
    }
    float* margins = margins_.data() + base + from;
    std::memset(uncertain_.data() + base + from, 0, count);
    // Each margin is written to the list and kept if it is not beyond p.sure: no branch on it.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count; ++i) {
      unjudged[kept] = {base + from + i, ids[i], sums[i]};
      kept += !beyond_sure(plane, p, sums[i], &margins[i]);
    }
    judge_margins(idx, unjudged.data(), kept, unsure_list());
  }
  // measure_node where some items have no code or the plane is not on the grid.
  void measure_mixed(int idx, std::size_t base, std::size_t from, std::size_t to) {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    const CodedPlane& plane = p.coded;
    const CodeKernels& kernels = code_kernels();
    const std::int32_t* ids = p.ids.data();
    float* margins = margins_.data();
    std::uint8_t* uncertain = uncertain_.data();
    const bool all_coded = rows_.all_coded();
    std::size_t batch[kRowsMax];  // positions in the node
    const std::uint8_t* rows[kRowsMax];
    int count = 0;
    // Margins within p.sure, judged on their items' errors and lengths after the rest
    // (judge_margins).
    thread_local std::vector<Unjudged> unjudged;
    unjudged.clear();
    // All of a batch's margins are computed before any is stored: the compiler cannot tell a
    // byte store from a write to the plane's or the rows' fields, and reloaded them all after
    // each one.
    auto flush = [&] {
      std::int64_t sums[kRowsMax];
      kernels.dot_rows(plane.steps(), rows, count, codes_.stride(), sums);
      float got[kRowsMax];
      bool sure[kRowsMax];
      for (int k = 0; k < count; ++k) sure[k] = beyond_sure(plane, p, sums[k], &got[k]);
      for (int k = 0; k < count; ++k) {
        const std::size_t at = base + batch[k];
        margins[at] = got[k];
        uncertain[at] = 0;
        if (!sure[k]) unjudged.push_back({at, ids[batch[k]], sums[k]});
      }
      count = 0;
    };
    constexpr std::size_t kAhead = kPrefetchAhead;
    for (std::size_t i = from; i < to; ++i) {
      if (!all_coded && i + 2 * kAhead < to) rows_.prefetch_record(ids[i + 2 * kAhead]);
      if (i + kAhead < to) rows_.prefetch_code(ids[i + kAhead]);
      const std::int32_t id = ids[i];
      if (!plane.usable() || !rows_.coded(id)) {
        margins[base + i] = margin(idx, id);
        // No plane on the grid (the decoded samples were all alike): the codes cannot
        // tell these items apart at all.
        uncertain[base + i] = !plane.usable();
        continue;
      }
      batch[count] = i;
      rows[count] = rows_.code(id);
      if (++count == kRowsMax) flush();
    }
    if (count) flush();
    judge_margins(idx, unjudged.data(), unjudged.size(), unsure_list());
    unjudged.clear();
  }

  // quick_margin's first test alone: whether the coded margin (into *out) is beyond p.sure.
  bool beyond_sure(const CodedPlane& coded, const Pending& p, std::int64_t sum, float* out) const {
    *out = 0;
    if (P::kRestReadsItem) return false;
    *out = coded.from_sum(sum) + P::margin_rest(p.split.data(), nullptr);
    return std::fabs(static_cast<double>(*out)) > p.sure;
  }
  struct Unsure {
    std::size_t at;  // position in the level's arrays
    std::int32_t id;
    int node;
  };
  // This thread's margins left for the floats (measure_node): a level's (or a block's) are
  // measured together once all its nodes are (or every kFloatsBatch, so the list stays
  // small), their float rows fetched ahead along the whole list rather than afresh at each
  // node.
  static constexpr std::size_t kFloatsBatch = 4096;
  static std::vector<Unsure>& unsure_list() {
    thread_local std::vector<Unsure> unsure;
    return unsure;
  }
  struct Unjudged {
    std::size_t at;  // position in the level's arrays
    std::int32_t id;
    std::int64_t sum;
  };
  // Node idx's margins that measure_node found within p.sure, judged on their items' code
  // errors and decoded lengths (fetched ahead); those the codes cannot place go to `unsure`.
  // Most margins are beyond p.sure, so only these few items' records and lengths are read
  // (outside a packed subtree, each is a scattered read).
  void judge_margins(int idx, const Unjudged* unjudged, std::size_t count, std::vector<Unsure>& unsure) {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    auto fetch = [&](std::int32_t id) {
      rows_.prefetch_record(id);
      rows_.prefetch_norm(id);
      if (P::kRestReadsItem) prefetch(rows_.node(id), forest_.layout.vector);
    };
    for (std::size_t k = 0; k < std::min(kPrefetchAhead, count); ++k) fetch(unjudged[k].id);
    // Each is written to `unsure` and kept there if it needs the floats: the verdicts are
    // a coin toss to the processor, and a branch on them had cost a third of this loop.
    const std::size_t old = unsure.size();
    unsure.resize(old + count);
    Unsure* out = unsure.data() + old;
    std::size_t kept = 0;
    for (std::size_t k = 0; k < count; ++k) {
      if (k + kPrefetchAhead < count) fetch(unjudged[k + kPrefetchAhead].id);
      const Unjudged& u = unjudged[k];
      const Coded judged = judge_margin(p.coded, p, u.id, u.sum, &margins_[u.at]);
      uncertain_[u.at] = judged != Coded::Sure;
      out[kept] = {u.at, u.id, idx};
      kept += judged == Coded::Floats;
    }
    unsure.resize(old + kept);
    if (unsure.size() >= kFloatsBatch) float_margins(unsure);
  }

  // Margins the codes could not place (measure_node, measure_by_item), measured on floats
  // together, each float row fetched ahead: met one by one, scattered, these reads had been a
  // sixth of a GloVe build. Empties the list.
  void float_margins(std::vector<Unsure>& unsure) {
    const std::size_t row_bytes = forest_.layout.vector + sizeof(float) * static_cast<std::size_t>(words_);
    for (std::size_t k = 0; k < std::min(kPrefetchAhead, unsure.size()); ++k) prefetch(rows_.node(unsure[k].id), row_bytes);
    for (std::size_t k = 0; k < unsure.size(); ++k) {
      if (k + kPrefetchAhead < unsure.size()) prefetch(rows_.node(unsure[k + kPrefetchAhead].id), row_bytes);
      const Unsure& u = unsure[k];
      margins_[u.at] = P::build_margin(pending_[static_cast<std::size_t>(u.node)].split.data(), rows_.node(u.id), words_);
    }
    unsure.clear();
  }

  // p's items to their sides by their margins (in p's item order; a coin for an exact zero,
  // drawn in item order): the sides first, counted, then each side, of its own size, filled.
  // Each id is written to both sides and kept by one: a branch on the side (GCC makes one of
  // a choice between two pointers too) was a coin toss the processor lost half the time, on
  // every item at every level.
  void sides_from_margins(Pending& p, const float* margins, std::vector<std::int32_t> (&sides)[2]) {
    const std::size_t count = p.ids.size();
    side_.resize(count);
    std::uint8_t* sides_of = side_.data();  // not through side_: a byte store could change it
    std::size_t right = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const float m = margins[i];
      std::uint8_t side = m > 0;
      if (m == 0) side = side_of(m, p.rng);
      sides_of[i] = side;
      right += side;
    }
    // One more than each side holds: the last item's id also lands past the other side's end.
    sides[0].resize(count - right + 1);
    sides[1].resize(right + 1);
    std::int32_t* left = sides[0].data();
    std::int32_t* rest = sides[1].data();
    std::size_t on_left = 0, on_right = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t side = sides_of[i];
      left[on_left] = p.ids[i];
      rest[on_right] = p.ids[i];
      on_left += side ^ 1;
      on_right += side;
    }
    sides[0].pop_back();
    sides[1].pop_back();
  }
  // Node idx's items to their sides of its (new) plane, their margins measured as a level's
  // are (measure_node: eight rows at a time, where one by one each was a kernel call of its
  // own) into the node's part of the level's arrays (from base), which split_node has read.
  void sides_from_plane(int idx, std::size_t base, std::vector<std::int32_t> (&sides)[2]) {
    Pending& p = pending_[static_cast<std::size_t>(idx)];
    p.coded = plane_for(p);
    p.sure = sure_beyond(p);
    measure_node(idx, base, 0, p.ids.size());
    float_margins(unsure_list());
    sides_from_margins(p, margins_.data() + base, sides);
  }

  // Sides from the level's margins (coin flips for exact zeros, in item order); a plane that
  // leaves >= 95% on one side is replaced (up to three in all), and if even that leaves > 99%
  // (duplicates), sides are drawn at random. A node whose items the codes cannot tell apart
  // (a quarter or more of its margins too close to call on them) splits on floats instead,
  // from its plane on: as Annoy's order would, where 8-bit codes are too coarse (points
  // crowded near the origin of a wide range, a tight cluster, the deep levels of real data).
  // base: the node's first position in the level's arrays.
  void split_node(int idx, std::size_t base) {
    Pending& p = pending_[static_cast<std::size_t>(idx)];
    Kiss64& rng = p.rng;
    std::vector<std::int32_t> sides[2];
    std::size_t uncertain = 0;
    for (std::size_t i = 0; i < p.ids.size(); ++i) uncertain += uncertain_[base + i];
    if (!p.exact && 4 * uncertain >= p.ids.size()) {
      p.exact = true;
      new_plane(p);
      sides_from_plane(idx, base, sides);
    } else {
      sides_from_margins(p, margins_.data() + base, sides);
    }
    for (int attempt = 1; attempt < 3 && imbalance(sides[0].size(), sides[1].size()) >= 0.95; ++attempt) {
      new_plane(p);
      sides_from_plane(idx, base, sides);
    }
    while (imbalance(sides[0].size(), sides[1].size()) > 0.99) {
      sides[0].clear();
      sides[1].clear();
      P::zero_plane(p.split.data(), words_);
      for (std::int32_t id : p.ids) sides[rng.flip() ? 1 : 0].push_back(id);
    }
    const int tree = p.tree;
    const bool exact = p.exact;
    const std::uint64_t seed = p.seed;
    std::vector<std::int32_t>().swap(p.ids);  // the sides hold them now
    p.coded = CodedPlane();
    const int left = add_pending(tree, std::move(sides[0]), false, exact, mix(seed, 0));
    const int right = add_pending(tree, std::move(sides[1]), false, exact, mix(seed, 1));
    pending_[static_cast<std::size_t>(idx)].child[0] = left;  // add_pending may have moved pending_
    pending_[static_cast<std::size_t>(idx)].child[1] = right;
  }

  std::int32_t write(int idx) {
    Pending& p = pending_[static_cast<std::size_t>(idx)];
    const std::int32_t descendants = p.root ? forest_.n_items : static_cast<std::int32_t>(p.ids.size());
    if (p.child[0] < 0) {  // a leaf
      if (p.ids.size() == 1 && !p.root) return p.ids[0];  // a lone item is its own subtree
      const std::int32_t id = allocate();
      std::uint8_t* node = forest_.mutable_node(id);
      n_descendants(node) = descendants;
      if (!p.ids.empty()) std::memcpy(node + P::kChildren, p.ids.data(), p.ids.size() * sizeof(std::int32_t));
      return id;
    }
    const std::size_t size0 = subtree_size(p.child[0]), size1 = subtree_size(p.child[1]);
    const int flip = size0 > size1 ? 1 : 0;
    std::int32_t children[2];
    for (int side = 0; side < 2; ++side)  // the smaller side first, as Annoy does
      children[side ^ flip] = write(pending_[static_cast<std::size_t>(idx)].child[side ^ flip]);
    Pending& q = pending_[static_cast<std::size_t>(idx)];
    n_descendants(q.split.data()) = q.root ? forest_.n_items : static_cast<std::int32_t>(subtree_size(idx));
    std::memcpy(q.split.data() + P::kChildren, children, sizeof children);
    const std::int32_t id = allocate();
    std::memcpy(forest_.mutable_node(id), q.split.data(), s_);
    return id;
  }

  std::size_t subtree_size(int idx) const {
    const Pending& p = pending_[static_cast<std::size_t>(idx)];
    if (p.child[0] < 0) return p.ids.size();
    return subtree_size(p.child[0]) + subtree_size(p.child[1]);
  }

  std::int32_t allocate() {
    require_node_numbers(forest_.n_nodes + 1);
    forest_.reserve(forest_.n_nodes + 1);
    const std::int32_t id = static_cast<std::int32_t>(forest_.n_nodes++);
    std::memset(forest_.mutable_node(id), 0, s_);
    return id;
  }

  Forest& forest_;
  const Compact& codes_;
  const BuildOptions& options_;
  ParallelFor* parallel_;
  const std::vector<std::int32_t>& ids_;
  bool ids_sorted_ = false;  // so every node's are (measure_by_blocks)
  std::uint64_t seed_;
  int words_;
  std::size_t s_, k_;
  std::vector<Pending> pending_;
  std::vector<int> roots_;
  int trees_ = 0;  // in this batch
  // This level's, per splitting node (from level_start_) and item in the node's order: the
  // item's margin, and whether it needed the floats.
  std::vector<std::size_t> level_start_;
  std::vector<float> margins_;
  std::vector<std::uint8_t> uncertain_;
  // Item by item (measure_by_item), per tree and item: the node it is in, and its position.
  std::vector<int> node_at_;
  std::vector<std::size_t> position_at_;
  const bool l1_ = forest_.layout.metric == Metric::Manhattan;
  std::vector<std::uint8_t> scratch_;  // two_means' decoded samples
  std::vector<std::uint8_t> side_;     // sides_from_margins' sides, by item
  ItemRows rows_;
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

void log_tree(const Forest& forest, const BuildOptions& options, int t) {
  if (options.log)
    options.log("tree " + std::to_string(t + 1) +
                (options.n_trees == -1 ? "" : " of " + std::to_string(options.n_trees)) +
                " built (" + std::to_string(forest.n_nodes) + " nodes so far)");
}

bool enough_trees(const Forest& forest, const BuildOptions& options, int t) {
  return options.n_trees == -1 ? forest.n_nodes >= 2 * static_cast<std::int64_t>(forest.n_items) : t >= options.n_trees;
}

// Trees grown in batches a level at a time (LevelBuilder). A batch's per-item bookkeeping is
// at most 17 bytes per item and tree (a margin and a flag, and with wide rows the node and
// position: see measure_level), kept under 256 MiB; with n_trees = -1, trees are written one by
// one until Annoy's rule stops, so extra trees of the last batch are dropped unwritten.
template <class P>
void build_levels(Forest& forest, const BuildOptions& options, const std::vector<std::int32_t>& ids) {
  LevelBuilder<P> builder(forest, options, ids);
  const std::int64_t per_tree = 17 * static_cast<std::int64_t>(std::max<std::int32_t>(forest.n_items, 1));
  const int most = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(64, (std::int64_t(256) << 20) / per_tree)));
  int t = 0;
  while (!enough_trees(forest, options, t)) {
    int batch = options.n_trees == -1 ? (t == 0 ? 1 : most) : std::min(most, options.n_trees - t);
    if (options.n_trees == -1 && t > 0) {  // about as many as Annoy's rule will take
      const std::int64_t per = std::max<std::int64_t>(1, (forest.n_nodes - forest.n_items) / t);
      const std::int64_t left = (2 * static_cast<std::int64_t>(forest.n_items) - forest.n_nodes + per - 1) / per;
      batch = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(most, left)));
    }
    builder.grow(t, batch);
    for (int b = 0; b < batch && !enough_trees(forest, options, t); ++b, ++t) {
      forest.roots.push_back(builder.write_tree(b));
      log_tree(forest, options, t);
    }
  }
}

template <class P>
void build_trees(Forest& forest, const BuildOptions& options) {
  std::vector<std::int32_t> ids;
  for (std::int32_t i = 0; i < forest.n_items; ++i)
    if (n_descendants(forest.node(i)) >= 1) ids.push_back(i);  // skip holes
  // Grove's order only (Annoy's float order and hamming grow tree by tree): a wasm build
  // compiled the level builder for Annoy's order too, 60 KB it never ran.
  if constexpr (FastOrder<P>::value) {
    if (options.codes) return build_levels<P>(forest, options, ids);
  }
  Kiss64 rng(options.seed);
  TreeBuilder<P> builder(forest, rng, options);
  for (int t = 0;; ++t) {
    if (enough_trees(forest, options, t)) break;
    forest.roots.push_back(builder.make_tree(ids, true));
    log_tree(forest, options, t);
  }
}

// Room for the trees up front, from a generous estimate (a tree of buckets at least half
// full), so a large index is not reallocated by 1.3x steps while it grows: in wasm32 a
// realloc that cannot extend in place needs the old and the new block at once. At most
// kReservedTrees trees' worth: the room is zeroed before the first tree grows, and for
// thousands of trees that took seconds that Ctrl-C could not stop (the rest grows as needed).
constexpr std::int64_t kReservedTrees = 128;
void reserve_for_trees(Forest& forest, int n_trees) {
  const std::int64_t n = forest.n_items;
  const std::int64_t k = std::max<std::int64_t>(2, static_cast<std::int64_t>(forest.layout.max_bucket()));
  const std::int64_t per_tree = 4 * n / k + 2;
  const std::int64_t trees = n_trees == -1 ? 0 : std::min<std::int64_t>(n_trees, kReservedTrees);
  const std::int64_t nodes = (n_trees == -1 ? 2 * n + per_tree : n + trees * (per_tree + 1));
  forest.reserve_hint(std::min<std::int64_t>(nodes, std::numeric_limits<std::int32_t>::max()));
}

}  // namespace

std::int32_t make_subtree(Forest& forest, const std::vector<std::int32_t>& ids, bool is_root, Kiss64& rng) {
  const BuildOptions options;
  return with_policy(forest.layout, forest.annoy_float_order, [&](auto policy) {
    TreeBuilder<decltype(policy)> builder(forest, rng, options);
    return builder.make_tree(ids, is_root);
  });
}

void check_stop(const BuildOptions& options) {
  if (options.stop && options.stop->load(std::memory_order_relaxed))
    throw Error(ErrorCode::Cancelled, "build cancelled: the index is unbuilt, with its items");
}

void build_forest(Forest& forest, const BuildOptions& options) {
  forest.n_nodes = forest.n_items;
  forest.roots.clear();
  forest.item_room = 0;
  forest.annoy_layout = true;
  forest.trees_name_removed = false;
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
