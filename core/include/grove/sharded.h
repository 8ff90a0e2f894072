// Sharded indexes: one ordinary Annoy-format file per shard, described by a small JSON
// manifest, searched together with answers merged exactly by (distance, id).
//
// The manifest (format version 1), next to its shard files:
//   {"format": "grove-sharded", "version": 1, "f": 128, "metric": "euclidean",
//    "dot_layout": "released",                          (dot only; optional)
//    "total_items": 1000000,
//    "shards": [{"file": "shard-0.ann", "items": 250000, "first_id": 0,
//                "n_trees": 10, "seed": 1}, ...]}
// A shard holds global ids first_id .. first_id + items - 1 as its local ids 0 .. items - 1.
// File names are plain names in the manifest's folder (no '/', no '..'), so a manifest from
// elsewhere can only name files beside it.
//
// search_k is spent per shard: each shard collects search_k candidates (-1: n x its trees),
// so a query costs about shards x search_k distances, and with a search_k that visits every
// item of every shard the answer equals an exhaustive search over all items.
// Public header: C++14.
#ifndef GROVE_SHARDED_H
#define GROVE_SHARDED_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "grove/format.h"
#include "grove/index.h"
#include "grove/parallel.h"

namespace grove {

struct ShardInfo {
  std::string file;
  std::int32_t items = 0;
  std::int64_t first_id = 0;
  std::int32_t n_trees = 0;
  std::uint64_t seed = 0;
};

struct Manifest {
  int version = 1;
  int f = 0;
  Metric metric = Metric::Angular;
  DotLayout dot_layout = DotLayout::Released;
  std::int64_t total_items = 0;
  std::vector<ShardInfo> shards;
};

// Parses and fully validates a manifest: throws grove::Error (BadFormat) naming the problem.
Manifest parse_manifest(const std::string& json);
// The manifest as JSON text (parse_manifest(manifest_json(m)) gives m back).
std::string manifest_json(const Manifest& manifest);

class ShardedIndex {
 public:
  // shards[i] holds manifest.shards[i], loaded (or built); checked against the manifest.
  ShardedIndex(Manifest manifest, std::vector<std::unique_ptr<Index>> shards);
  ~ShardedIndex();
  ShardedIndex(ShardedIndex&&) noexcept;
  ShardedIndex& operator=(ShardedIndex&&) noexcept;

  const Manifest& manifest() const;
  int get_f() const;
  Metric get_metric() const;
  std::int64_t get_n_items() const;  // the manifest's total_items
  std::int32_t get_n_shards() const;
  // Compact scoring in every shard (see Index::set_compact_scoring).
  void set_compact_scoring(bool on);
  // Graph search in every shard (see Index::set_graph_search): each walks its own graph.
  void set_graph_search(bool on);

  // Up to n nearest items over all shards, nearest first, with global ids; ties by id. The
  // filter names global ids (a bitset covers get_n_items()).
  void get_nns_by_vector(const float* w, int n, int search_k, std::vector<std::int32_t>* ids,
                         std::vector<float>* distances = nullptr, const Filter& filter = Filter()) const;
  void get_nns_by_item(std::int32_t item, int n, int search_k, std::vector<std::int32_t>* ids,
                       std::vector<float>* distances = nullptr, const Filter& filter = Filter()) const;
  // As Index::get_nns_by_vectors: count x n results, padded with id -1 and distance NaN.
  void get_nns_by_vectors(const float* queries, std::size_t count, int n, int search_k,
                          std::int32_t* ids, float* distances, ParallelFor* parallel = nullptr,
                          const Filter& filter = Filter()) const;
  void get_item_vector(std::int32_t item, float* out) const;
  std::vector<float> get_item_vector(std::int32_t item) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace grove

#endif  // GROVE_SHARDED_H
