// Embind bindings: the core Index for JavaScript. Thin by design: numbers and heap pointers
// in, a status code out. Arrays cross through wasm memory that the JS wrapper manages
// (js/api.cjs), and errors never unwind through JS: each call catches and returns -1, and the
// wrapper reads lastErrorCode()/lastErrorMessage() and throws.
#include <emscripten/bind.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "grove/index.h"
#include "grove/sharded.h"

namespace {

using grove::ErrorCode;

int g_error_code = 0;
std::string g_error_message;

template <class Fn>
int guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const grove::Error& e) {
    g_error_code = static_cast<int>(e.code());
    g_error_message = e.what();
  } catch (const std::bad_alloc&) {
    g_error_code = static_cast<int>(ErrorCode::OutOfMemory);
    g_error_message = "out of memory";
  } catch (const std::exception& e) {
    g_error_code = static_cast<int>(ErrorCode::InvalidArgument);
    g_error_message = e.what();
  }
  return -1;
}

template <class T>
T* heap(std::uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

// A malloc'd block handed over by JS, as a storage that frees it. Null (the block freed, the
// error recorded) when even the small storage object cannot be allocated.
std::unique_ptr<grove::Storage> owned_block(std::uintptr_t data, double size) {
  try {
    return std::unique_ptr<grove::Storage>(new grove::MemoryStorage(heap<std::uint8_t>(data), static_cast<std::size_t>(size)));
  } catch (const std::bad_alloc&) {
    std::free(heap<std::uint8_t>(data));
    g_error_code = static_cast<int>(ErrorCode::OutOfMemory);
    g_error_message = "out of memory";
    return nullptr;
  }
}

// The results of a query, copied out to wasm memory the JS wrapper owns (at most `capacity`).
// A query's filter as JS passes it (js/api.cjs): kind 0 none; 1 a bitset of `count` items at
// `data`; 2 `count` int32 ids at `data`. The bytes stay in JS's scratch block for the call.
grove::Filter filter_from(int kind, std::uintptr_t data, int count) {
  if (kind == 1) return grove::Filter::bits(heap<const std::uint8_t>(data), static_cast<std::size_t>(count));
  if (kind == 2) return grove::Filter::ids(heap<const std::int32_t>(data), static_cast<std::size_t>(count));
  return grove::Filter();
}

class QueryResults {
 protected:
  template <class Search>
  int answer(std::uintptr_t ids, std::uintptr_t distances, int capacity, Search&& search) {
    return guarded([&] {
      results_.clear();
      distances_.clear();
      search(&results_, &distances_);
      const int count = std::min<int>(capacity, static_cast<int>(results_.size()));
      for (int r = 0; r < count; ++r) {
        heap<std::int32_t>(ids)[r] = results_[r];
        if (distances) heap<float>(distances)[r] = distances_[r];
      }
      return count;
    });
  }

 private:
  std::vector<std::int32_t> results_;
  std::vector<float> distances_;
};

class WasmIndex : public QueryResults {
 public:
  WasmIndex(int f, const std::string& metric) {
    guarded([&] {
      index_.reset(new grove::Index(f, metric));
      // verbose(true) progress goes to stderr: console.error in a browser, stderr in Node.
      index_->set_log([](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
      return 0;
    });
  }
  bool valid() const { return index_ != nullptr; }

  int addItem(int item, std::uintptr_t vector) {
    return guarded([&] { return index_->add_item(item, heap<const float>(vector)), 0; });
  }
  // ids: `count` int32 item ids in wasm memory.
  int removeItems(std::uintptr_t ids, int count) {
    return guarded([&] { return index_->remove_items(heap<const std::int32_t>(ids), static_cast<std::size_t>(count)), 0; });
  }
  int thaw() { return guarded([&] { return index_->thaw(), 0; }); }
  int build(int n_trees) { return guarded([&] { return index_->build(n_trees), 0; }); }
  int unbuild() { return guarded([&] { return index_->unbuild(), 0; }); }
  int unload() { return guarded([&] { return index_->unload(), 0; }); }
  int freeze() { return guarded([&] { return index_->freeze(), 0; }); }

  // Writes up to n results at ids/distances (capacity given by the caller); returns the count.
  int byItem(int item, int n, int search_k, std::uintptr_t ids, std::uintptr_t distances, int capacity,
             int filter_kind, std::uintptr_t filter, int filter_count) {
    return answer(ids, distances, capacity, [&](std::vector<std::int32_t>* r, std::vector<float>* d) {
      index_->get_nns_by_item(item, n, search_k, r, d, filter_from(filter_kind, filter, filter_count));
    });
  }
  int byVector(std::uintptr_t vector, int n, int search_k, std::uintptr_t ids, std::uintptr_t distances,
               int capacity, int filter_kind, std::uintptr_t filter, int filter_count) {
    return answer(ids, distances, capacity, [&](std::vector<std::int32_t>* r, std::vector<float>* d) {
      index_->get_nns_by_vector(heap<const float>(vector), n, search_k, r, d, filter_from(filter_kind, filter, filter_count));
    });
  }
  int byVectors(std::uintptr_t queries, int count, int n, int search_k, std::uintptr_t ids,
                std::uintptr_t distances, int filter_kind, std::uintptr_t filter, int filter_count) {
    return guarded([&] {
      index_->get_nns_by_vectors(heap<const float>(queries), static_cast<std::size_t>(count), n,
                                 search_k, heap<std::int32_t>(ids), heap<float>(distances), nullptr,
                                 filter_from(filter_kind, filter, filter_count));
      return 0;
    });
  }
  int itemVector(int item, std::uintptr_t out) {
    return guarded([&] { return index_->get_item_vector(item, heap<float>(out)), 0; });
  }
  // The distance goes to `out` (a float slot), as the return value carries the status.
  int distance(int i, int j, std::uintptr_t out) {
    return guarded([&] { return *heap<float>(out) = index_->get_distance(i, j), 0; });
  }
  int nItems() const { return index_->get_n_items(); }
  int nTrees() const { return index_->get_n_trees(); }
  int f() const { return index_->get_f(); }
  bool isBuilt() const { return index_->is_built(); }
  bool isLoaded() const { return index_->is_loaded(); }
  // Setters return a status too: every call that can throw goes through guarded(), so no
  // C++ exception ever reaches JS as a bare WebAssembly.Exception.
  int verbose(bool on) { return guarded([&] { return index_->verbose(on), 0; }); }
  int setAnnoyFloatOrder(bool on) {
    return guarded([&] { return index_->set_annoy_float_order(on), 0; });
  }
  int setSeed(unsigned high, unsigned low) {
    return guarded([&] { return index_->set_seed((static_cast<std::uint64_t>(high) << 32) | low), 0; });
  }
  int setDotLayout(const std::string& name) {
    return guarded([&] {
      grove::DotLayout layout;
      if (!grove::parse_dot_layout(name, &layout))
        throw grove::Error(ErrorCode::InvalidArgument,
                           "dot layout must be 'released' (what every released Annoy reads) or 'main', got '" + name + "'");
      return index_->set_dot_layout(layout), 0;
    });
  }
  std::string dotLayout() const { return grove::dot_layout_name(index_->get_layout().dot_layout); }
  // The limit in bytes, as a double (JS numbers are exact up to 2^53).
  int setMemoryLimit(double bytes) {
    return guarded([&] { return index_->set_memory_limit(static_cast<std::uint64_t>(bytes)), 0; });
  }

  int setCompactScoring(bool on) { return guarded([&] { return index_->set_compact_scoring(on), 0; }); }
  bool compactScoring() const { return index_->get_compact_scoring(); }
  int buildGraph() { return guarded([&] { return index_->build_graph() ? 1 : 0; }); }
  int setGraphSearch(bool on) { return guarded([&] { return index_->set_graph_search(on), 0; }); }
  bool graphSearch() const { return index_->get_graph_search(); }
  bool wantsCompanion() const { return index_->wants_companion(); }
  // The companion's bytes, made now if needed (0 bytes for hamming).
  double companionSize() {
    std::size_t size = 0;
    if (guarded([&] { return size = index_->companion_size(), 0; }) < 0) return -1;
    return static_cast<double>(size);
  }
  std::uintptr_t companionPointer() {
    const std::uint8_t* data = nullptr;
    guarded([&] { return data = index_->companion_data(), 0; });
    return reinterpret_cast<std::uintptr_t>(data);
  }
  // Takes ownership of a malloc'd block holding a companion: 1 if it matches the index, 0 if
  // not (the copy is then made on the first query), -1 on error.
  int adoptCompanion(std::uintptr_t data, double size) {
    std::unique_ptr<grove::Storage> storage = owned_block(data, size);
    if (!storage) return -1;
    return guarded([&] { return index_->load_companion(std::move(storage)) ? 1 : 0; });
  }

  // Serialised bytes live in the index's storage: JS copies them out with one slice.
  double serializedSize() {
    std::size_t size = 0;
    guarded([&] { return size = index_->serialized_size(), 0; });
    return static_cast<double>(size);
  }
  std::uintptr_t dataPointer() {
    const std::uint8_t* data = nullptr;
    guarded([&] { return data = index_->serialized_data(), 0; });
    return reinterpret_cast<std::uintptr_t>(data);
  }

  // Takes ownership of a malloc'd block holding an index (a file read straight into wasm
  // memory, or fetched bytes): validated, then searched in place with no further copy.
  // The block is the index's from here on, also when it is rejected (then it is freed here).
  int adoptBuffer(std::uintptr_t data, double size) {
    std::unique_ptr<grove::Storage> storage = owned_block(data, size);
    if (!storage) return -1;
    return guarded([&] { return index_->load_storage(std::move(storage)), 0; });
  }

 private:
  std::unique_ptr<grove::Index> index_;
};

// A sharded index: the manifest first, then each shard's bytes (adopted, as adoptBuffer), then
// finish() hands them to the core's ShardedIndex, which merges answers.
class WasmSharded : public QueryResults {
 public:
  explicit WasmSharded(const std::string& manifest_json) {
    guarded([&] {
      manifest_.reset(new grove::Manifest(grove::parse_manifest(manifest_json)));
      shards_.resize(manifest_->shards.size());
      return 0;
    });
  }
  bool valid() const { return manifest_ != nullptr; }
  std::string manifest() const { return grove::manifest_json(manifest_ ? *manifest_ : grove::Manifest()); }

  // Takes ownership of a malloc'd block holding shard i (freed here if it is rejected).
  int addShard(int i, std::uintptr_t data, double size) {
    std::unique_ptr<grove::Storage> storage = owned_block(data, size);
    if (!storage) return -1;
    return guarded([&] {
      if (!manifest_ || index_ || i < 0 || static_cast<std::size_t>(i) >= shards_.size())
        throw grove::Error(ErrorCode::WrongState, "shard " + std::to_string(i) + " is not expected here");
      const grove::ShardInfo& info = manifest_->shards[static_cast<std::size_t>(i)];
      std::unique_ptr<grove::Index> shard(new grove::Index(manifest_->f, manifest_->metric));
      try {
        shard->load_storage(std::move(storage));
      } catch (const grove::Error& e) {
        throw grove::Error(e.code(), "shard '" + info.file + "': " + e.what());
      }
      shards_[static_cast<std::size_t>(i)] = std::move(shard);
      return 0;
    });
  }
  int finish() {
    return guarded([&] {
      index_.reset(new grove::ShardedIndex(*manifest_, std::move(shards_)));
      return 0;
    });
  }

  int byItem(int item, int n, int search_k, std::uintptr_t ids, std::uintptr_t distances, int capacity,
             int filter_kind, std::uintptr_t filter, int filter_count) {
    return answer(ids, distances, capacity, [&](std::vector<std::int32_t>* r, std::vector<float>* d) {
      ready().get_nns_by_item(item, n, search_k, r, d, filter_from(filter_kind, filter, filter_count));
    });
  }
  int byVector(std::uintptr_t vector, int n, int search_k, std::uintptr_t ids, std::uintptr_t distances, int capacity,
               int filter_kind, std::uintptr_t filter, int filter_count) {
    return answer(ids, distances, capacity, [&](std::vector<std::int32_t>* r, std::vector<float>* d) {
      ready().get_nns_by_vector(heap<const float>(vector), n, search_k, r, d, filter_from(filter_kind, filter, filter_count));
    });
  }
  int byVectors(std::uintptr_t queries, int count, int n, int search_k, std::uintptr_t ids, std::uintptr_t distances,
                int filter_kind, std::uintptr_t filter, int filter_count) {
    return guarded([&] {
      ready().get_nns_by_vectors(heap<const float>(queries), static_cast<std::size_t>(count), n, search_k,
                                 heap<std::int32_t>(ids), heap<float>(distances), nullptr,
                                 filter_from(filter_kind, filter, filter_count));
      return 0;
    });
  }
  int itemVector(int item, std::uintptr_t out) {
    return guarded([&] { return ready().get_item_vector(item, heap<float>(out)), 0; });
  }
  double nItems() const { return manifest_ ? static_cast<double>(manifest_->total_items) : 0; }
  int nShards() const { return manifest_ ? static_cast<int>(manifest_->shards.size()) : 0; }

 private:
  const grove::ShardedIndex& ready() const {
    if (!index_) throw grove::Error(ErrorCode::WrongState, "the sharded index is not loaded");
    return *index_;
  }

  std::unique_ptr<grove::Manifest> manifest_;
  std::vector<std::unique_ptr<grove::Index>> shards_;
  std::unique_ptr<grove::ShardedIndex> index_;
};

int lastErrorCode() { return g_error_code; }
std::string lastErrorMessage() { return g_error_message; }

}  // namespace

EMSCRIPTEN_BINDINGS(grove) {
  using emscripten::class_;
  using emscripten::function;
  class_<WasmIndex>("RawIndex")
      .constructor<int, std::string>()
      .function("valid", &WasmIndex::valid)
      .function("addItem", &WasmIndex::addItem)
      .function("removeItems", &WasmIndex::removeItems)
      .function("thaw", &WasmIndex::thaw)
      .function("build", &WasmIndex::build)
      .function("unbuild", &WasmIndex::unbuild)
      .function("unload", &WasmIndex::unload)
      .function("freeze", &WasmIndex::freeze)
      .function("byItem", &WasmIndex::byItem)
      .function("byVector", &WasmIndex::byVector)
      .function("byVectors", &WasmIndex::byVectors)
      .function("itemVector", &WasmIndex::itemVector)
      .function("distance", &WasmIndex::distance)
      .function("nItems", &WasmIndex::nItems)
      .function("nTrees", &WasmIndex::nTrees)
      .function("f", &WasmIndex::f)
      .function("isBuilt", &WasmIndex::isBuilt)
      .function("isLoaded", &WasmIndex::isLoaded)
      .function("verbose", &WasmIndex::verbose)
      .function("setSeed", &WasmIndex::setSeed)
      .function("setAnnoyFloatOrder", &WasmIndex::setAnnoyFloatOrder)
      .function("setMemoryLimit", &WasmIndex::setMemoryLimit)
      .function("setDotLayout", &WasmIndex::setDotLayout)
      .function("dotLayout", &WasmIndex::dotLayout)
      .function("serializedSize", &WasmIndex::serializedSize)
      .function("dataPointer", &WasmIndex::dataPointer)
      .function("adoptBuffer", &WasmIndex::adoptBuffer)
      .function("setCompactScoring", &WasmIndex::setCompactScoring)
      .function("compactScoring", &WasmIndex::compactScoring)
      .function("setGraphSearch", &WasmIndex::setGraphSearch)
      .function("graphSearch", &WasmIndex::graphSearch)
      .function("buildGraph", &WasmIndex::buildGraph)
      .function("wantsCompanion", &WasmIndex::wantsCompanion)
      .function("companionSize", &WasmIndex::companionSize)
      .function("companionPointer", &WasmIndex::companionPointer)
      .function("adoptCompanion", &WasmIndex::adoptCompanion);
  class_<WasmSharded>("RawSharded")
      .constructor<std::string>()
      .function("valid", &WasmSharded::valid)
      .function("manifest", &WasmSharded::manifest)
      .function("addShard", &WasmSharded::addShard)
      .function("finish", &WasmSharded::finish)
      .function("byItem", &WasmSharded::byItem)
      .function("byVector", &WasmSharded::byVector)
      .function("byVectors", &WasmSharded::byVectors)
      .function("itemVector", &WasmSharded::itemVector)
      .function("nItems", &WasmSharded::nItems)
      .function("nShards", &WasmSharded::nShards);
  function("lastErrorCode", &lastErrorCode);
  function("lastErrorMessage", &lastErrorMessage);
}
