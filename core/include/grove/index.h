// grove::Index: the portable core of AnnoyIndex. Everything but file and thread handling,
// which the platform layer adds (native: grove::AnnoyIndex in <grove/grove.h>; WASM: js/).
// Public header: C++14.
#ifndef GROVE_INDEX_H
#define GROVE_INDEX_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grove/error.h"
#include "grove/filter.h"
#include "grove/format.h"
#include "grove/parallel.h"
#include "grove/storage.h"

namespace grove {

// Lifecycle: add items -> build -> query; or load -> query. unbuild() goes back to adding,
// unload() to empty. Queries are const and safe from any number of threads at once, and
// safe against state changes on other threads too: each query runs wholly before or wholly
// after a change (load, unload, build, ...), which waits for the queries under way.
class Index {
 public:
  // f: the dimension (hamming: the number of bits). metric: "angular" (or "cosine"),
  // "euclidean", "manhattan", "dot", "hamming".
  Index(int f, const std::string& metric);
  Index(int f, Metric metric);
  virtual ~Index();
  Index(Index&&) noexcept;
  Index& operator=(Index&&) noexcept;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  int get_f() const;
  Metric get_metric() const;
  const NodeLayout& get_layout() const;

  // Stores f values as item `item` (ids are >= 0; storage grows to max(id) + 1 items).
  // Hamming values must be 0 or 1. After build() too (see below).
  void add_item(std::int32_t item, const float* w);
  void add_item(std::int32_t item, const std::vector<float>& w);

  // Changes after build(), in memory (a loaded index, read-only, takes them after thaw()).
  // add_item() on a built index puts the item into every tree: a new id, a removed one
  // again, or a new vector for an id already in (it replaces the old one); the next query
  // finds it. remove_item() takes an item out: no query returns it again, and
  // get_item_vector(), get_distance() and get_nns_by_item() refuse it (OutOfRange). Before
  // build() a removed item is a hole, as an id never added. get_n_items() stays max id + 1,
  // removed items and holes included, as in Annoy. save() and serialize() write an ordinary
  // Annoy file in which removed items are holes. remove_items() checks every id (each an
  // item now in the index, listed once) before it removes any.
  void remove_item(std::int32_t item);
  void remove_items(const std::int32_t* items, std::size_t count);
  // Makes a loaded (read-only) index an in-memory copy that takes changes, as if just built
  // (the file it came from is not touched). A built index is left as it is.
  void thaw();

  // Builds n_trees trees (-1: as many as fit twice the items' memory, as Annoy decides).
  // `parallel` shares large splits between threads; the result does not depend on it.
  // `stop`, when given, is polled as the trees grow (at least every few milliseconds of
  // work): once another thread sets it, build() throws ErrorCode::Cancelled and the index
  // is as before the call, its items kept and unbuilt (how Python's Ctrl-C stops a build).
  void build(int n_trees, ParallelFor* parallel = nullptr, const std::atomic<bool>* stop = nullptr);
  void unbuild();
  void unload();

  // Appends up to n nearest ids (and distances, if asked) to the vectors, nearest first.
  // search_k: candidates to collect, -1 for n * get_n_trees(). filter: only the items it
  // allows are returned, and the search goes on until it has found n of them (or has seen
  // the whole index); search_k then counts allowed candidates (see grove/filter.h).
  void get_nns_by_item(std::int32_t item, int n, int search_k, std::vector<std::int32_t>* result,
                       std::vector<float>* distances = nullptr, const Filter& filter = Filter()) const;
  void get_nns_by_vector(const float* w, int n, int search_k, std::vector<std::int32_t>* result,
                         std::vector<float>* distances = nullptr, const Filter& filter = Filter()) const;
  void get_nns_by_vector(const std::vector<float>& w, int n, int search_k,
                         std::vector<std::int32_t>* result,
                         std::vector<float>* distances = nullptr, const Filter& filter = Filter()) const;
  // Batch: `count` queries of f values each. Writes count * n ids and distances (either may
  // be null); rows with fewer than n results are padded with id -1 and distance NaN. The
  // filter applies to every query (a function filter is called from each thread).
  void get_nns_by_vectors(const float* queries, std::size_t count, int n, int search_k,
                          std::int32_t* ids, float* distances,
                          ParallelFor* parallel = nullptr, const Filter& filter = Filter()) const;

  void get_item_vector(std::int32_t item, float* out) const;
  std::vector<float> get_item_vector(std::int32_t item) const;
  float get_distance(std::int32_t i, std::int32_t j) const;
  std::int32_t get_n_items() const;  // max id + 1, holes included
  std::int32_t get_n_trees() const;

  void verbose(bool on);
  // Where verbose messages go (the platform layer sets stderr or the console).
  void set_log(std::function<void(const std::string&)> sink);
  void set_seed(std::uint64_t seed);
  // Float order of builds and distances. Default (false): Grove's SIMD order, the same bits
  // on every machine and in WASM. true: Annoy's scalar order, so a build writes the same
  // bytes as Annoy built without -march flags (as Debian's R package is); slower.
  void set_annoy_float_order(bool on);
  // The most memory add_item() may grow the index to, so a stray huge id is an error rather
  // than a silent multi-gigabyte allocation. Default 16 GiB (wasm32: just under 2 GiB, the
  // largest block it can allocate); 0 means no limit beyond what the platform can address.
  // Builds into a file (on_disk_build) are not limited.
  void set_memory_limit(std::uint64_t bytes);
  // Dot indexes only (ignored for other metrics), before add_item(): the file layout and split
  // rule to build with. Default DotLayout::Released, which every released Annoy reads;
  // DotLayout::Main for Annoy's unreleased main branch. Loading detects the layout.
  void set_dot_layout(DotLayout dot_layout);
  static constexpr std::uint64_t kDefaultMemoryLimit = std::uint64_t(16) << 30;

  // Compact scoring (float metrics; on by default): queries score candidates on an 8-bit copy
  // of the items first and compute exact distances only where they can change the answer,
  // which stays exactly that of a full float ranking. The copy (about f + 8 bytes an item)
  // is made by build(), read from a companion file (save() writes "<path>.sq8", load() maps
  // it) or made on the first query. Off: every candidate's float vector is ranked.
  void set_compact_scoring(bool on);
  bool get_compact_scoring() const;
  // Graph search (float metrics, with compact scoring; on by default): build() also grows a
  // graph of each item's nearest neighbours from the trees, kept in the companion, and
  // queries walk it from the trees' leaves: on real-valued embeddings several times the
  // queries a second at the same recall, for a longer build (off: the trees' build alone).
  // search_k keeps its meaning (the candidates a query scores); the answer is the exact
  // ranking of the items the walk scored. A loaded companion's graph is walked too. Without
  // a graph (off, an Annoy file or a companion without one, items added since build(), a
  // filter, a search_k of n_items or more, codes too coarse near the query) queries search
  // the trees, as before.
  void set_graph_search(bool on);
  bool get_graph_search() const;
  // Grows the graph for the index as it is, built here or loaded (an Annoy file included),
  // into its compact copy, and turns graph search on; save() (to a loaded index's own path:
  // the companion only) or serialize_companion() then carry it. Float metrics with compact
  // scoring. Returns false, with no graph, for fewer than 1,000 items (their trees are cheap
  // to search) or when there is no memory for it. `stop` as for build() (the index keeps
  // what it had).
  bool build_graph(ParallelFor* parallel = nullptr, const std::atomic<bool>* stop = nullptr);
  // The companion: Grove's own file, never read by Annoy (format in grove/format.h). Made now
  // if the index has none yet; empty for hamming. Valid until the index changes.
  const std::uint8_t* companion_data() const;
  std::size_t companion_size() const;
  std::vector<std::uint8_t> serialize_companion() const;
  // Offers a companion for the loaded or built index. Returns true when its header, size and
  // fingerprint match the index (its checksum and sampled codes are checked before its first
  // use); false, with the reason in *why, when it does not: the copy is then made again on
  // the first query. The storage form takes ownership (the native layer passes an mmap); the
  // view form borrows bytes kept alive until unload(); deserialize_companion copies them.
  bool load_companion(std::unique_ptr<Storage> storage, std::string* why = nullptr);
  // The companion policy of every platform: save() writes a companion (and removes a stale
  // one when it does not), and load() looks for one, exactly when this is true: compact
  // scoring is on and the metric is a float metric.
  bool wants_companion() const;
  bool load_companion_view(const void* data, std::size_t size, std::string* why = nullptr);
  bool deserialize_companion(const void* data, std::size_t size, std::string* why = nullptr);

  // The index in Annoy's file format.
  std::vector<std::uint8_t> serialize() const;
  std::size_t serialized_size() const;
  // The serialize() bytes in place, without a copy: serialized_size() bytes, valid until the
  // index changes.
  const std::uint8_t* serialized_data() const;
  // Loads from bytes (copied), replacing what the index held.
  void deserialize(const std::vector<std::uint8_t>& bytes);
  void deserialize(const void* data, std::size_t size);
  // Loads from bytes the caller owns and keeps alive and unchanged until unload() (no copy).
  void load_view(const void* data, std::size_t size);
  // Makes a built index read-only in place, as if just loaded from the file save() wrote:
  // for platforms that cannot map the saved file (wasm), without a second copy in memory.
  void freeze();
  // Loads from any storage holding an index image (the native layer passes an mmap), and
  // offers `companion` (see load_companion) once the index is in. A companion intact and made
  // for these index bytes under another metric is a BadFormat error, before anything changes:
  // Annoy's files do not record the metric, and euclidean and manhattan nodes look alike.
  void load_storage(std::unique_ptr<Storage> storage, std::unique_ptr<Storage> companion = nullptr);
  // Builds into `storage` instead of memory (on-disk build). Only before add_item().
  void set_build_storage(std::unique_ptr<Storage> storage);

  bool is_built() const;   // built here, in memory or on disk
  bool is_loaded() const;  // loaded from a file or bytes: read-only

 protected:
  const Storage* storage() const;
  // Calls write(storage, index bytes, companion bytes or null, companion size) with the index
  // held still: no state change overlaps it (the platform layer's save() writes files in it).
  using ImageWriter = std::function<void(const Storage& index, std::size_t index_size,
                                         const std::uint8_t* companion, std::size_t companion_size)>;
  void write_image(bool with_companion, const ImageWriter& write) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace grove

#endif  // GROVE_INDEX_H
