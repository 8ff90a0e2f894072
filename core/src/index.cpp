// The Index state machine and argument checks. Every check happens before anything
// changes, so a failed call leaves the index as it was.
#include "grove/index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>

#include "batch.h"
#include "changes.h"
#include "compact.h"
#include "compact_cache.h"
#include "graph.h"
#include "forest.h"
#include "metrics.h"
#include "state_lock.h"
#include "grove/random.h"

namespace grove {

namespace {

enum class State { Adding, Built, Loaded };

// Vectors larger than this would make nodes no 32-bit bucket count can address.
constexpr int kMaxDimension = 1 << 24;

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

Metric metric_from(const std::string& name) {
  Metric m;
  if (!parse_metric(name, &m))
    fail(ErrorCode::InvalidArgument,
         "unknown metric '" + name + "': use angular, euclidean, manhattan, dot or hamming");
  return m;
}

int stored_values(int f, Metric metric) {
  if (f <= 0 || f > kMaxDimension)
    fail(ErrorCode::InvalidArgument,
         "dimension f must be between 1 and " + std::to_string(kMaxDimension) + ", got " +
             std::to_string(f));
  return metric == Metric::Hamming ? hamming_words(f) : f;
}

}  // namespace

// Queries hold the index's lock shared, every state change holds it exclusively: a query
// sees the index before a change or after it, never the middle (an unmapped file, a freed
// compact copy). Impl's own functions assume the caller holds it.
using Shared = std::shared_lock<detail::StateLock>;
using Exclusive = std::unique_lock<detail::StateLock>;

struct Index::Impl {
  mutable detail::StateLock lock;
  // Fixed at construction (forest holds them too, but loads reassign forest): read unlocked.
  const int dimension;
  const Metric metric;
  detail::Forest forest;
  State state = State::Adding;
  bool has_build_storage = false;
  // On wasm32 no index can outgrow one allocation, so the default limit is that.
  std::uint64_t memory_limit = std::min(Index::kDefaultMemoryLimit, detail::kMaxAllocation);
  std::uint64_t seed = Kiss64::kDefaultSeed;
  DotLayout dot_layout = DotLayout::Released;  // what the next build writes (dot only)
  bool verbose = false;
  std::function<void(const std::string&)> log;
  // Compact scoring: the copy is made or checked once, by the first query that needs it.
  bool compact_on = true;
  detail::CompactCache compact;
  // Graph search (graph.h): build() grows a graph into the compact copy, queries walk it.
  bool graph_on = true;
  // Draws for the sides and splits of items added after build (changes.h): seeded at build
  // and thaw, so the same changes give the same index.
  Kiss64 change_rng;

  Impl(int f, Metric metric) : dimension(f), metric(metric) {
    forest.f = f;
    forest.layout = make_layout(metric, stored_values(f, metric));
    forest.storage.reset(new MemoryStorage());
  }

  const NodeLayout& layout() const { return forest.layout; }
  std::string describe() const {
    return "f=" + std::to_string(forest.f) + ", metric=" + metric_name(layout().metric);
  }

  void require_queryable() const {
    if (state == State::Adding)
      fail(ErrorCode::WrongState, "the index has no trees yet: call build() or load() first");
  }
  // The size of the index image in Annoy's format (built or loaded only).
  std::size_t image_size() const {
    require_queryable();
    return forest.bytes_for(forest.n_nodes);
  }

  void check_item(std::int32_t item, const char* what) const {
    if (item < 0)
      fail(ErrorCode::OutOfRange, std::string(what) + " " + std::to_string(item) + " is negative");
    if (item >= forest.n_items)
      fail(ErrorCode::OutOfRange, std::string(what) + " " + std::to_string(item) +
                                      " is out of range: the index has " +
                                      std::to_string(forest.n_items) + " items");
  }

  void check_vector(const float* w, const char* what) const {
    if (!w) fail(ErrorCode::InvalidArgument, std::string(what) + " is null");
    const bool bits = layout().metric == Metric::Hamming;
    // One vectorised pass (a query's checks had cost a tenth of a fast 784-d search: perf):
    // the sum of squares in double is finite exactly when every value is (a float's square
    // is far below double's range), and the values are named only when one is wrong.
    const double squares = detail::code_kernels().norm2(w, forest.f);
    bool binary = true;
    if (bits)
      for (int i = 0; i < forest.f; ++i) binary &= w[i] == 0.0f || w[i] == 1.0f;
    if (!std::isfinite(squares) || !binary)
      for (int i = 0; i < forest.f; ++i) {
        if (!std::isfinite(w[i]))
          fail(ErrorCode::InvalidArgument, std::string(what) + " has a non-finite value at index " +
                                               std::to_string(i));
        if (bits && w[i] != 0.0f && w[i] != 1.0f)
          fail(ErrorCode::InvalidArgument, std::string(what) + " value at index " +
                                               std::to_string(i) + " is not 0 or 1 (hamming)");
      }
    if (!bits) check_length(squares, what);
  }

  // Distances are computed in float32, as Annoy computes them: a vector whose length takes
  // them out of float's normal range would give NaN, inf, or every distance alike (an angle
  // from a squared length that underflowed to 0), so it is refused. Angular multiplies two
  // squared lengths and dot two lengths, so both keep within 2^-63..2^63 (or exactly 0);
  // euclidean and manhattan need only the differences of two vectors to stay finite.
  void check_length(double squares, const char* what) const {
    const Metric metric = layout().metric;
    const double high = metric == Metric::Angular || metric == Metric::Dot
                            ? std::ldexp(1.0, 63)
                            : static_cast<double>(std::numeric_limits<float>::max()) / 4;
    const double low = metric == Metric::Angular ? std::ldexp(1.0, -63) : 0;
    if (squares <= high && (squares == 0 || squares >= low)) return;
    char range[96];
    if (low > 0) std::snprintf(range, sizeof range, "0 or from %.2g to %.2g", std::sqrt(low), std::sqrt(high));
    else std::snprintf(range, sizeof range, "at most %.2g", std::sqrt(high));
    char length[32];
    std::snprintf(length, sizeof length, "%.3g", std::sqrt(squares));
    fail(ErrorCode::InvalidArgument, std::string(what) + " has length " + length + ", outside what " +
                                         metric_name(metric) + " distances can use in float32 (" + range + ")");
  }

  void check_query(int n, int search_k) const {
    require_queryable();
    if (n < 1) fail(ErrorCode::InvalidArgument, "n must be at least 1, got " + std::to_string(n));
    if (search_k < 1 && search_k != -1)
      fail(ErrorCode::InvalidArgument,
           "search_k must be -1 (default) or at least 1, got " + std::to_string(search_k));
  }

  // Writes the user's vector into node storage form (hamming: packed bits, LSB first).
  void pack(const float* w, std::uint8_t* out) const {
    if (layout().metric != Metric::Hamming) {
      std::memcpy(out, w, sizeof(float) * forest.f);
      return;
    }
    // A word at a time straight into `out` (no scratch: this runs for every hamming query).
    for (int word = 0; word < layout().f; ++word) {
      std::uint64_t bits = 0;
      for (int j = 64 * word; j < std::min(forest.f, 64 * word + 64); ++j)
        if (w[j] > 0.5f) bits |= std::uint64_t(1) << (j % 64);
      std::memcpy(out + sizeof bits * word, &bits, sizeof bits);
    }
  }

  void unpack(const std::uint8_t* in, float* out) const {
    if (layout().metric != Metric::Hamming) {
      std::memcpy(out, in, sizeof(float) * forest.f);
      return;
    }
    std::vector<std::uint64_t> words(layout().f);
    std::memcpy(words.data(), in, words.size() * sizeof(std::uint64_t));
    for (int j = 0; j < forest.f; ++j) out[j] = (words[j / 64] >> (j % 64)) & 1 ? 1.0f : 0.0f;
  }

  // An item id that is not removed (holes read as zeros, as in Annoy).
  void check_present(std::int32_t item, const char* what) const {
    check_item(item, what);
    if (forest.is_removed(item))
      fail(ErrorCode::OutOfRange, std::string(what) + " " + std::to_string(item) + " was removed");
  }

  void item_vector(std::int32_t item, float* out) const {
    check_present(item, "item");
    unpack(forest.node(item) + layout().vector, out);
  }

  // The companion, made now if there is none yet; null for hamming.
  const detail::Compact* companion() const {
    require_queryable();
    if (!detail::compact_applies(layout().metric)) return nullptr;
    const detail::Compact* made = compact.get(forest, compact_log());
    if (!made) fail(ErrorCode::OutOfMemory, "out of memory: cannot make the compact companion");
    return made;
  }

  void search(const float* w, int n, int search_k, const Filter& filter, std::vector<std::int32_t>* result,
              std::vector<float>* distances) const {
    thread_local std::vector<std::uint8_t> packed;  // reused: no allocation per query
    packed.resize(layout().value_size * layout().f);
    pack(w, packed.data());
    detail::search(forest, compact_on ? compact_for_search() : nullptr, graph_on, packed.data(), n, search_k, &filter,
                   {result, distances});
  }
  // The compact copy, once it is known good; made or verified here on first use.
  const detail::Compact* compact_for_search() const {
    return detail::compact_applies(layout().metric) ? compact.get(forest, compact_log()) : nullptr;
  }
  detail::CompactCache::Log compact_log() const { return verbose ? log : detail::CompactCache::Log(); }
  void drop_compact() { compact.drop(); }
  bool offer_companion(std::unique_ptr<Storage> storage, std::string* why) {
    require_queryable();
    std::string reason;
    if (!detail::compact_applies(layout().metric)) reason = "hamming indexes have no companion";
    std::unique_ptr<detail::Compact> adopted;
    if (reason.empty()) adopted = detail::Compact::adopt(std::move(storage), forest, &reason);
    if (why) *why = reason;
    if (!adopted) return false;
    compact.offer(std::move(adopted));
    return true;
  }

  // Takes an index image: validates it fully before dropping what was there before. A
  // companion that came with it is offered after (optional: one that does not match is
  // ignored), except one that proves the index is of another metric: that is an error.
  void adopt(std::unique_ptr<Storage> storage, std::unique_ptr<Storage> companion = nullptr) {
    const std::size_t size = storage->size();
    if (size == 0) fail(ErrorCode::BadFormat, "the index is empty (0 bytes)");
    const std::size_t align = layout().value_size;
    if (reinterpret_cast<std::uintptr_t>(storage->data()) % align != 0)
      fail(ErrorCode::InvalidArgument,
           "index bytes must be " + std::to_string(align) + "-byte aligned");
    detail::Forest loaded;
    loaded.f = forest.f;
    loaded.annoy_float_order = forest.annoy_float_order;
    loaded.layout = make_layout(layout().metric, layout().f, DotLayout::Released);
    loaded.storage = std::move(storage);
    if (layout().metric == Metric::Dot && is_main_dot(loaded))
      loaded.layout = make_layout(Metric::Dot, layout().f, DotLayout::Main);
    if (size % loaded.layout.node_size != 0)
      fail(ErrorCode::BadFormat,
           "index size " + std::to_string(size) + " bytes is not a multiple of the node size " +
               std::to_string(loaded.layout.node_size) + " for " + describe() +
               ": it was built with another dimension or metric, or is truncated");
    loaded.n_nodes = static_cast<std::int64_t>(size / loaded.layout.node_size);
    // Annoy numbers nodes with 32-bit ints: a larger file cannot be an index.
    if (loaded.n_nodes > std::numeric_limits<std::int32_t>::max())
      fail(ErrorCode::BadFormat, "index has " + std::to_string(loaded.n_nodes) +
                                     " nodes, more than Annoy's 32-bit node numbers can address");
    detail::find_roots(loaded);
    Metric other;
    if (companion && detail::companion_names_other_metric(companion->data(), companion->size(), loaded, &other))
      fail(ErrorCode::BadFormat, "the index is for " + std::string(metric_name(other)) + " (its companion says so), not " +
                                     metric_name(layout().metric));
    drop_compact();
    forest = std::move(loaded);
    state = State::Loaded;
    has_build_storage = false;
    if (companion) offer_companion(std::move(companion), nullptr);
  }

  // Main-branch dot nodes are 8 bytes larger than released ones and mark built items (flag
  // byte 1 at offset 20, where the released layout has a vector value). When the size fits
  // only one layout, that decides; when it fits both, the first item's flag does.
  static bool is_main_dot(const detail::Forest& dot) {
    const std::size_t size = dot.storage->size();
    const NodeLayout main = make_layout(Metric::Dot, dot.layout.f, DotLayout::Main);
    if (size % main.node_size != 0) return false;
    if (size % dot.layout.node_size != 0) return true;
    const std::uint8_t* first = dot.storage->data();
    return detail::n_descendants(first) == 1 && first[main.built] == 1;
  }

  // Changes leave the nodes out of Annoy's layout; anything that reads the image (or makes a
  // companion for it) settles them first. The bytes change, so the compact copy is made again.
  void settle() {
    if (forest.annoy_layout) return;
    detail::settle(forest);
    drop_compact();
  }
  // Runs read() under the shared lock with the nodes settled: settled first under the
  // exclusive lock, and again if another thread changed the index in between.
  template <class Read>
  auto settled(Read read) -> decltype(read()) {
    for (;;) {
      {
        Shared shared(lock);
        if (forest.annoy_layout) return read();
      }
      Exclusive exclusive(lock);
      settle();
    }
  }

  void require_changeable(const char* what) const {
    if (state == State::Loaded)
      fail(ErrorCode::WrongState, std::string("cannot ") + what +
                                      " a loaded index (it is read-only): thaw() makes an in-memory copy that takes changes");
  }

  // Checks an id for remove_item(): an item now in the index.
  void check_removable(std::int32_t item) const {
    check_item(item, "item");
    if (forest.is_removed(item))
      fail(ErrorCode::InvalidArgument, "item " + std::to_string(item) + " was removed already");
    if (detail::n_descendants(forest.node(item)) != 1)
      fail(ErrorCode::InvalidArgument, "item " + std::to_string(item) + " is not in the index (never added)");
  }

  // add_item() on a built index: the item goes into every tree (a new id, a removed one, or
  // a new vector for one already in, which replaces it). Every check comes first.
  void add_after_build(std::int32_t item, const float* w, std::int64_t needed) {
    if (forest.roots.empty())
      fail(ErrorCode::WrongState, "the index was built with no trees (it had no items): unbuild() and build() again");
    const bool replacing = item < forest.n_items && detail::n_descendants(forest.node(item)) == 1;
    try {
      detail::make_item_room(forest, needed);
    } catch (const std::bad_alloc&) {
      fail(ErrorCode::OutOfMemory, "out of memory: item id " + std::to_string(item) + " needs room for " +
                                       std::to_string(needed) + " items");
    }
    if (replacing) detail::remove_from_forest(forest, item);
    write_item(item, w);
    forest.n_items = static_cast<std::int32_t>(needed);
    if (forest.is_removed(item)) forest.removed[static_cast<std::size_t>(item) / 64] &= ~(std::uint64_t(1) << (item % 64));
    if (layout().metric == Metric::Dot) detail::init_dot_item(forest, forest.mutable_node(item));
    keep_compact_for(item);
    try {
      detail::insert_into_trees(forest, item, change_rng);
    } catch (const std::bad_alloc&) {
      fail(ErrorCode::OutOfMemory, "out of memory: item " + std::to_string(item) + " is in only some of the trees");
    }
  }

  // Grows the neighbour graph into the compact copy; returns whether it did (out of memory,
  // or a small index: no graph, and queries use the trees). Cancelled: throws, the copy as it was.
  bool grow_graph(const detail::BuildOptions& options) {
    const detail::Compact* codes = compact_for_search();
    if (!codes || forest.n_items < detail::kGraphMinItems) return false;
    try {
      const std::vector<std::int32_t> graph = detail::grow_graph(forest, *codes, detail::kGraphDegree, options);
      if (graph.empty()) return false;
      compact.install(codes->with_graph(graph, detail::kGraphDegree, forest));
      return true;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::Cancelled) throw;
      return false;
    } catch (const std::bad_alloc&) {
      return false;
    }
  }
  void undo_build() {
    forest.roots.clear();
    forest.n_nodes = forest.n_items;
    forest.item_room = 0;  // items keep their slots; the trees are gone
    forest.annoy_layout = true;
    forest.trees_name_removed = false;
    state = State::Adding;
    drop_compact();
  }

  // The compact copy has no code for an item added after it was made: the search ranks such
  // items on their floats, so the copy stays in use (a new id needs nothing; an id it coded
  // before gets its code marked stale). Once a tenth of the items lack codes it is made again,
  // by the next query.
  void keep_compact_for(std::int32_t item) {
    detail::Compact* codes = compact.in_use();
    if (!codes) return drop_compact();
    codes->forget_graph();  // it cannot reach the item: the trees answer from now on
    if (item < codes->coded_items() && !codes->forget(item)) return drop_compact();
    if (10 * codes->uncoded(forest.n_items) > forest.n_items) drop_compact();
  }

  void write_item(std::int32_t item, const float* w) {
    std::uint8_t* node = forest.mutable_node(item);
    std::memset(node, 0, forest.layout.node_size);
    detail::n_descendants(node) = 1;
    pack(w, node + forest.layout.vector);
    detail::init_item(forest, node);
  }

  void reset_storage() {
    forest.layout = make_layout(layout().metric, layout().f, dot_layout);  // a load may have changed it
    forest.storage.reset(new MemoryStorage());
    forest.n_items = 0;
    forest.n_nodes = 0;
    forest.roots.clear();
    state = State::Adding;
    has_build_storage = false;
    drop_compact();
  }
};

Index::Index(int f, const std::string& metric) : Index(f, metric_from(metric)) {}
Index::Index(int f, Metric metric) : impl_(new Impl(f, metric)) {}
Index::~Index() = default;
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;

// f and the metric never change after construction: no lock.
int Index::get_f() const { return impl_->dimension; }
Metric Index::get_metric() const { return impl_->metric; }
const NodeLayout& Index::get_layout() const {
  Shared lock(impl_->lock);
  return impl_->layout();
}

void Index::add_item(std::int32_t item, const std::vector<float>& w) {
  if (w.size() != static_cast<std::size_t>(get_f()))
    fail(ErrorCode::InvalidArgument, "vector has wrong length: expected " +
                                         std::to_string(get_f()) + ", got " +
                                         std::to_string(w.size()));
  add_item(item, w.data());
}

void Index::add_item(std::int32_t item, const float* w) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  m.require_changeable("add items to");
  if (item < 0)
    fail(ErrorCode::OutOfRange, "item id " + std::to_string(item) + " is negative");
  if (item == std::numeric_limits<std::int32_t>::max())
    fail(ErrorCode::OutOfRange, "item id " + std::to_string(item) + " is too large (max " +
                                    std::to_string(item - 1) + ")");
  m.check_vector(w, "vector");
  detail::Forest& forest = m.forest;
  const std::int64_t needed = std::max<std::int64_t>(forest.n_items, std::int64_t(item) + 1);
  const std::uint64_t bytes = static_cast<std::uint64_t>(needed) * forest.layout.node_size;
  if (!m.has_build_storage && m.memory_limit && bytes > m.memory_limit)
    fail(ErrorCode::OutOfMemory,
         "item id " + std::to_string(item) + " needs " + std::to_string(bytes >> 20) +
             " MiB for the items alone, over the memory limit of " +
             std::to_string(m.memory_limit >> 20) + " MiB: use smaller ids, or raise the limit with set_memory_limit()");
  if (m.state == State::Built) return m.add_after_build(item, w, needed);
  try {
    forest.reserve(needed);
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::OutOfMemory, "out of memory: item id " + std::to_string(item) + " needs " +
                                     std::to_string(needed) + " nodes");
  }
  // Slots past the last item may hold the nodes of trees that unbuild() dropped: the ids
  // skipped on the way to this one become holes (zeros), not those nodes read as items.
  if (item > forest.n_items)
    std::memset(forest.mutable_node(forest.n_items), 0,
                static_cast<std::size_t>(item - forest.n_items) * forest.layout.node_size);
  m.write_item(item, w);
  if (forest.is_removed(item)) forest.removed[static_cast<std::size_t>(item) / 64] &= ~(std::uint64_t(1) << (item % 64));
  forest.n_items = static_cast<std::int32_t>(needed);
  forest.n_nodes = forest.n_items;
}

void Index::remove_item(std::int32_t item) { remove_items(&item, 1); }

void Index::remove_items(const std::int32_t* items, std::size_t count) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  m.require_changeable("remove items from");
  if (!items && count) fail(ErrorCode::InvalidArgument, "item ids are null");
  std::vector<std::uint64_t> listed;
  for (std::size_t k = 0; k < count; ++k) {
    m.check_removable(items[k]);
    listed.resize((static_cast<std::size_t>(m.forest.n_items) + 63) / 64, 0);
    std::uint64_t& word = listed[static_cast<std::size_t>(items[k]) / 64];
    const std::uint64_t bit = std::uint64_t(1) << (items[k] % 64);
    if (word & bit) fail(ErrorCode::InvalidArgument, "item " + std::to_string(items[k]) + " is listed twice");
    word |= bit;
  }
  for (std::size_t k = 0; k < count; ++k) detail::remove_from_forest(m.forest, items[k]);
  // Before build() a removed item is a hole, as an id never added; no tree names it.
  if (m.state == State::Adding) {
    m.forest.trees_name_removed = false;
    m.forest.annoy_layout = true;
  }
}

void Index::thaw() {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  m.require_queryable();
  if (m.state == State::Built) return;
  const std::size_t size = m.image_size();
  std::unique_ptr<MemoryStorage> copy(new MemoryStorage());
  try {
    copy->resize(size);
  } catch (const Error&) {
    fail(ErrorCode::OutOfMemory, "out of memory: thaw() needs a copy of the index (" + std::to_string(size >> 20) + " MiB)");
  }
  std::memcpy(copy->mutable_data(), m.forest.storage->data(), size);
  // The same bytes: the compact copy still matches them.
  bool checked = false;
  std::unique_ptr<detail::Compact> compact = m.compact.take(&checked);
  m.forest.storage = std::move(copy);
  m.compact.restore(std::move(compact), checked);
  m.state = State::Built;
  m.change_rng = Kiss64(m.seed ^ 0x9e3779b97f4a7c15ULL);
}

void Index::build(int n_trees, ParallelFor* parallel, const std::atomic<bool>* stop) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  if (m.state == State::Loaded) fail(ErrorCode::WrongState, "cannot build a loaded index");
  if (m.state == State::Built)
    fail(ErrorCode::WrongState, "the index is already built: call unbuild() to build again");
  if (n_trees == 0 || n_trees < -1)
    fail(ErrorCode::InvalidArgument,
         "n_trees must be -1 (automatic) or at least 1, got " + std::to_string(n_trees));
  detail::BuildOptions options;
  options.n_trees = n_trees;
  options.seed = m.seed;
  options.parallel = parallel;
  options.stop = stop;
  if (m.verbose && m.log) options.log = m.log;
  // Grove's order measures splits on the items' codes (a quarter of the bytes), whether or
  // not queries will use them, so the trees do not depend on set_compact_scoring().
  std::unique_ptr<detail::Compact> codes;
  if (!m.forest.annoy_float_order && detail::compact_applies(m.layout().metric)) {
    m.drop_compact();
    try {
      codes = detail::Compact::encode(m.forest);
    } catch (const Error&) {  // no room for the codes: measure on floats (other trees)
    } catch (const std::bad_alloc&) {
    }
    options.codes = codes.get();
  }
  try {
    detail::build_forest(m.forest, options);
  } catch (...) {
    // Drop the partial trees: the items are as they were.
    m.forest.roots.clear();
    m.forest.n_nodes = m.forest.n_items;
    throw;
  }
  m.change_rng = Kiss64(m.seed ^ 0x9e3779b97f4a7c15ULL);
  // A build into a file leaves the file read-only and published: from here on the index is
  // that file, as after save(), so nothing can rewrite it under the processes mapping it.
  m.state = m.forest.storage->mutable_data() ? State::Built : State::Loaded;
  // The compact copy, now rather than on the first query: the build's codes, if it had them.
  if (!m.compact_on || !detail::compact_applies(m.layout().metric)) return;
  if (codes) {
    codes->seal(m.forest);
    m.compact.install(std::move(codes));
  }
  m.compact_for_search();  // made now (if the build had no codes), not on the first query
  if (!m.graph_on) return;
  try {
    m.grow_graph(options);
  } catch (...) {  // cancelled: undone, as a build cancelled while its trees grew
    if (m.state == State::Built) m.undo_build();
    throw;
  }
}

bool Index::build_graph(ParallelFor* parallel, const std::atomic<bool>* stop) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  m.require_queryable();
  if (!detail::compact_applies(m.layout().metric))
    fail(ErrorCode::InvalidArgument, "hamming indexes have no graph: their codes are their vectors");
  if (!m.compact_on)
    fail(ErrorCode::WrongState, "the graph is walked on the compact codes: call set_compact_scoring(true) first");
  m.settle();  // a later write would settle the nodes and drop a graph grown before
  detail::BuildOptions options;
  options.parallel = parallel;
  options.stop = stop;
  if (m.verbose && m.log) options.log = m.log;
  const bool grown = m.grow_graph(options);  // cancelled: throws, the index as it was
  m.graph_on = true;
  return grown;
}

void Index::unbuild() {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  if (m.state == State::Loaded) fail(ErrorCode::WrongState, "cannot unbuild a loaded index");
  m.undo_build();
}

void Index::unload() {
  Exclusive lock(impl_->lock);
  impl_->reset_storage();
}

void Index::get_nns_by_item(std::int32_t item, int n, int search_k,
                            std::vector<std::int32_t>* result,
                            std::vector<float>* distances, const Filter& filter) const {
  const Impl& m = *impl_;
  Shared lock(m.lock);
  m.check_query(n, search_k);
  m.check_present(item, "item");
  filter.check(m.forest.n_items);
  if (!result) fail(ErrorCode::InvalidArgument, "result vector is null");
  std::vector<float> w(m.forest.f);
  m.item_vector(item, w.data());
  m.search(w.data(), n, search_k, filter, result, distances);
}

void Index::get_nns_by_vector(const float* w, int n, int search_k,
                              std::vector<std::int32_t>* result,
                              std::vector<float>* distances, const Filter& filter) const {
  const Impl& m = *impl_;
  Shared lock(m.lock);
  m.check_query(n, search_k);
  m.check_vector(w, "query vector");
  filter.check(m.forest.n_items);
  if (!result) fail(ErrorCode::InvalidArgument, "result vector is null");
  m.search(w, n, search_k, filter, result, distances);
}

void Index::get_nns_by_vector(const std::vector<float>& w, int n, int search_k,
                              std::vector<std::int32_t>* result,
                              std::vector<float>* distances, const Filter& filter) const {
  if (w.size() != static_cast<std::size_t>(get_f()))
    fail(ErrorCode::InvalidArgument, "query vector has wrong length: expected " +
                                         std::to_string(get_f()) + ", got " +
                                         std::to_string(w.size()));
  get_nns_by_vector(w.data(), n, search_k, result, distances, filter);
}

void Index::get_nns_by_vectors(const float* queries, std::size_t count, int n, int search_k,
                               std::int32_t* ids, float* distances,
                               ParallelFor* parallel, const Filter& filter) const {
  const Impl& m = *impl_;
  Shared lock(m.lock);
  m.check_query(n, search_k);
  filter.check(m.forest.n_items);
  const std::size_t f = static_cast<std::size_t>(m.forest.f);
  detail::check_batch_size(count, f, n);
  for (std::size_t q = 0; q < count; ++q) m.check_vector(queries + q * f, "query vector");
  detail::run_batch(queries, count, f, n, ids, distances, parallel,
                    [&](const float* w, std::vector<std::int32_t>* r, std::vector<float>* d) { m.search(w, n, search_k, filter, r, d); });
}

void Index::get_item_vector(std::int32_t item, float* out) const {
  Shared lock(impl_->lock);
  impl_->item_vector(item, out);
}

std::vector<float> Index::get_item_vector(std::int32_t item) const {
  std::vector<float> out(static_cast<std::size_t>(get_f()));
  get_item_vector(item, out.data());
  return out;
}

float Index::get_distance(std::int32_t i, std::int32_t j) const {
  const Impl& m = *impl_;
  Shared lock(m.lock);
  m.check_present(i, "item");
  m.check_present(j, "item");
  return detail::item_distance(m.forest, i, j);
}

std::int32_t Index::get_n_items() const {
  Shared lock(impl_->lock);
  return impl_->forest.n_items;
}
std::int32_t Index::get_n_trees() const {
  Shared lock(impl_->lock);
  return static_cast<std::int32_t>(impl_->forest.roots.size());
}

void Index::verbose(bool on) {
  Exclusive lock(impl_->lock);
  impl_->verbose = on;
}
void Index::set_log(std::function<void(const std::string&)> sink) {
  Exclusive lock(impl_->lock);
  impl_->log = std::move(sink);
}
void Index::set_seed(std::uint64_t seed) {
  Exclusive lock(impl_->lock);
  impl_->seed = seed;
}
void Index::set_memory_limit(std::uint64_t bytes) {
  Exclusive lock(impl_->lock);
  impl_->memory_limit = bytes;
}

void Index::set_dot_layout(DotLayout dot_layout) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  if (m.layout().metric != Metric::Dot || m.dot_layout == dot_layout) return;
  if (m.state != State::Adding || m.forest.n_items > 0)
    fail(ErrorCode::WrongState, "set the dot layout before add_item(): it fixes the node size");
  m.dot_layout = dot_layout;
  m.forest.layout = make_layout(Metric::Dot, m.layout().f, dot_layout);
}

void Index::set_annoy_float_order(bool on) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  // Items cache values computed in the order they were added with, and unbuild() keeps them:
  // the order may change only while no item is stored (or on a loaded, read-only index).
  if (m.forest.n_items > 0 && m.state != State::Loaded && on != m.forest.annoy_float_order)
    fail(ErrorCode::WrongState, "set the float order before add_item(): items cache values in it");
  m.forest.annoy_float_order = on;
}

// Everything that reads the image settles the changes made since build first (Impl::settled).
std::size_t Index::serialized_size() const {
  return impl_->settled([&] { return impl_->image_size(); });
}

const std::uint8_t* Index::serialized_data() const {
  return impl_->settled([&] {
    impl_->require_queryable();
    return impl_->forest.storage->data();
  });
}

std::vector<std::uint8_t> Index::serialize() const {
  return impl_->settled([&] {
    const std::size_t size = impl_->image_size();
    const std::uint8_t* data = impl_->forest.storage->data();
    return std::vector<std::uint8_t>(data, data + size);
  });
}

void Index::write_image(bool with_companion, const ImageWriter& write) const {
  const Impl& m = *impl_;
  impl_->settled([&] {
    const std::size_t size = m.image_size();
    const detail::Compact* companion = with_companion ? m.companion() : nullptr;
    write(*m.forest.storage, size, companion ? companion->bytes() : nullptr, companion ? companion->size() : 0);
  });
}

bool Index::wants_companion() const {
  Shared lock(impl_->lock);
  return impl_->compact_on && detail::compact_applies(impl_->layout().metric);
}

void Index::deserialize(const std::vector<std::uint8_t>& bytes) {
  deserialize(bytes.data(), bytes.size());
}

void Index::deserialize(const void* data, std::size_t size) {
  std::unique_ptr<MemoryStorage> copy(new MemoryStorage());
  copy->resize(size);
  if (size) std::memcpy(copy->mutable_data(), data, size);
  Exclusive lock(impl_->lock);
  impl_->adopt(std::move(copy));
}

void Index::load_view(const void* data, std::size_t size) {
  if (!data && size) fail(ErrorCode::InvalidArgument, "index bytes are null");
  Exclusive lock(impl_->lock);
  impl_->adopt(std::unique_ptr<Storage>(new BorrowedStorage(data, size)));
}

void Index::load_storage(std::unique_ptr<Storage> storage, std::unique_ptr<Storage> companion) {
  Exclusive lock(impl_->lock);
  impl_->adopt(std::move(storage), std::move(companion));
}

void Index::freeze() {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  m.require_queryable();
  if (m.state == State::Loaded) return;
  m.settle();
  // An empty index (no items) has no image to map, as an empty file cannot be loaded: it
  // stays as built and answers nothing. (adopt() would refuse it, with the storage gone.)
  if (m.image_size() == 0) return;
  // The built image is exactly n_nodes nodes (build() trimmed the storage), so it is
  // validated and adopted like any loaded index; the compact copy still matches it.
  bool checked = false;
  std::unique_ptr<detail::Compact> compact = m.compact.take(&checked);
  m.adopt(std::move(m.forest.storage));
  m.compact.restore(std::move(compact), checked);
}
void Index::set_compact_scoring(bool on) {
  Exclusive lock(impl_->lock);
  impl_->compact_on = on;
}
bool Index::get_compact_scoring() const {
  Shared lock(impl_->lock);
  return impl_->compact_on;
}
void Index::set_graph_search(bool on) {
  Exclusive lock(impl_->lock);
  impl_->graph_on = on;
}
bool Index::get_graph_search() const {
  Shared lock(impl_->lock);
  return impl_->graph_on;
}
const std::uint8_t* Index::companion_data() const {
  return impl_->settled([&] {
    const detail::Compact* companion = impl_->companion();
    return companion ? companion->bytes() : nullptr;
  });
}
std::size_t Index::companion_size() const {
  return impl_->settled([&] {
    const detail::Compact* companion = impl_->companion();
    return companion ? companion->size() : std::size_t(0);
  });
}
std::vector<std::uint8_t> Index::serialize_companion() const {
  return impl_->settled([&] {
    const detail::Compact* companion = impl_->companion();
    if (!companion) return std::vector<std::uint8_t>();
    return std::vector<std::uint8_t>(companion->bytes(), companion->bytes() + companion->size());
  });
}
bool Index::load_companion(std::unique_ptr<Storage> storage, std::string* why) {
  Exclusive lock(impl_->lock);
  return impl_->offer_companion(std::move(storage), why);
}
bool Index::load_companion_view(const void* data, std::size_t size, std::string* why) {
  if (!data && size) fail(ErrorCode::InvalidArgument, "companion bytes are null");
  Exclusive lock(impl_->lock);
  return impl_->offer_companion(std::unique_ptr<Storage>(new BorrowedStorage(data, size)), why);
}
bool Index::deserialize_companion(const void* data, std::size_t size, std::string* why) {
  if (!data && size) fail(ErrorCode::InvalidArgument, "companion bytes are null");
  std::unique_ptr<MemoryStorage> copy(new MemoryStorage());
  copy->resize(size);
  if (size) std::memcpy(copy->mutable_data(), data, size);
  Exclusive lock(impl_->lock);
  return impl_->offer_companion(std::move(copy), why);
}

void Index::set_build_storage(std::unique_ptr<Storage> storage) {
  Impl& m = *impl_;
  Exclusive lock(m.lock);
  if (m.state != State::Adding || m.forest.n_items > 0)
    fail(ErrorCode::WrongState, "on_disk_build() must be called before add_item()");
  m.forest.storage = std::move(storage);
  m.forest.storage->resize(0);
  m.has_build_storage = true;
}

bool Index::is_built() const {
  Shared lock(impl_->lock);
  return impl_->state == State::Built;
}
bool Index::is_loaded() const {
  Shared lock(impl_->lock);
  return impl_->state == State::Loaded;
}
const Storage* Index::storage() const {
  Shared lock(impl_->lock);
  return impl_->forest.storage.get();
}

}  // namespace grove
