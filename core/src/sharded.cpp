// ShardedIndex: each query goes to every shard, and the answers are merged exactly by
// (distance, id) in the metric's order, with local ids turned into global ones.
#include "grove/sharded.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "batch.h"
#include "grove/error.h"

namespace grove {

struct ShardedIndex::Impl {
  Manifest manifest;
  std::vector<std::unique_ptr<Index>> shards;

  // Dot reports the inner product, largest first; every other metric a distance, smallest first.
  bool larger_first() const { return manifest.metric == Metric::Dot; }

  // The shard and local id of a global id.
  std::pair<std::size_t, std::int32_t> locate(std::int32_t item) const {
    if (item < 0) throw Error(ErrorCode::OutOfRange, "item " + std::to_string(item) + " is negative");
    for (std::size_t s = 0; s < shards.size(); ++s) {
      const ShardInfo& info = manifest.shards[s];
      if (item >= info.first_id && item < info.first_id + info.items)
        return {s, static_cast<std::int32_t>(item - info.first_id)};
    }
    throw Error(ErrorCode::OutOfRange, "item " + std::to_string(item) + " is in no shard of this index (" +
                                           std::to_string(manifest.total_items) + " items)");
  }

  // filter: over global ids, checked against total_items; each shard sees its window of it.
  void search(const float* w, int n, int search_k, const Filter& filter, std::vector<std::int32_t>* ids,
              std::vector<float>* distances) const {
    if (!ids) throw Error(ErrorCode::InvalidArgument, "result vector is null");
    filter.check(manifest.total_items);
    std::vector<std::pair<float, std::int32_t>> all;
    std::vector<std::int32_t> local;
    std::vector<float> dist;
    for (std::size_t s = 0; s < shards.size(); ++s) {
      local.clear();
      dist.clear();
      const std::int64_t first = manifest.shards[s].first_id;
      shards[s]->get_nns_by_vector(w, n, search_k, &local, &dist, filter.window(first, manifest.shards[s].items));
      for (std::size_t r = 0; r < local.size(); ++r)
        all.emplace_back(dist[r], static_cast<std::int32_t>(first + local[r]));
    }
    const bool desc = larger_first();
    std::sort(all.begin(), all.end(), [desc](const std::pair<float, std::int32_t>& a, const std::pair<float, std::int32_t>& b) {
      if (a.first != b.first) return desc ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
    const std::size_t keep = std::min(all.size(), static_cast<std::size_t>(n));
    for (std::size_t r = 0; r < keep; ++r) {
      ids->push_back(all[r].second);
      if (distances) distances->push_back(all[r].first);
    }
  }
};

ShardedIndex::ShardedIndex(Manifest manifest, std::vector<std::unique_ptr<Index>> shards) : impl_(new Impl()) {
  if (shards.size() != manifest.shards.size())
    throw Error(ErrorCode::InvalidArgument, std::to_string(shards.size()) + " shards given for a manifest of " +
                                                std::to_string(manifest.shards.size()));
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const ShardInfo& info = manifest.shards[s];
    const std::string where = "shard " + std::to_string(s) + " ('" + info.file + "')";
    if (!shards[s]) throw Error(ErrorCode::InvalidArgument, where + " is missing");
    if (shards[s]->get_f() != manifest.f || shards[s]->get_metric() != manifest.metric)
      throw Error(ErrorCode::BadFormat, where + " is not an index for f=" + std::to_string(manifest.f) + ", metric=" +
                                            metric_name(manifest.metric));
    if (!shards[s]->is_built() && !shards[s]->is_loaded())
      throw Error(ErrorCode::WrongState, where + " has no trees: build or load it first");
    if (shards[s]->get_n_trees() != info.n_trees)
      throw Error(ErrorCode::BadFormat, where + " has " + std::to_string(shards[s]->get_n_trees()) +
                                            " trees, the manifest says " + std::to_string(info.n_trees));
    if (shards[s]->get_n_items() != info.items)
      throw Error(ErrorCode::BadFormat, where + " has " + std::to_string(shards[s]->get_n_items()) +
                                            " items, the manifest says " + std::to_string(info.items));
  }
  impl_->manifest = std::move(manifest);
  impl_->shards = std::move(shards);
}

ShardedIndex::~ShardedIndex() = default;
ShardedIndex::ShardedIndex(ShardedIndex&&) noexcept = default;
ShardedIndex& ShardedIndex::operator=(ShardedIndex&&) noexcept = default;

const Manifest& ShardedIndex::manifest() const { return impl_->manifest; }
int ShardedIndex::get_f() const { return impl_->manifest.f; }
Metric ShardedIndex::get_metric() const { return impl_->manifest.metric; }
std::int64_t ShardedIndex::get_n_items() const { return impl_->manifest.total_items; }
std::int32_t ShardedIndex::get_n_shards() const { return static_cast<std::int32_t>(impl_->shards.size()); }
void ShardedIndex::set_compact_scoring(bool on) {
  for (auto& shard : impl_->shards) shard->set_compact_scoring(on);
}

void ShardedIndex::set_graph_search(bool on) {
  for (auto& shard : impl_->shards) shard->set_graph_search(on);
}

void ShardedIndex::get_nns_by_vector(const float* w, int n, int search_k, std::vector<std::int32_t>* ids,
                                     std::vector<float>* distances, const Filter& filter) const {
  impl_->search(w, n, search_k, filter, ids, distances);
}

void ShardedIndex::get_nns_by_item(std::int32_t item, int n, int search_k, std::vector<std::int32_t>* ids,
                                   std::vector<float>* distances, const Filter& filter) const {
  const std::vector<float> w = get_item_vector(item);
  impl_->search(w.data(), n, search_k, filter, ids, distances);
}

void ShardedIndex::get_nns_by_vectors(const float* queries, std::size_t count, int n, int search_k,
                                      std::int32_t* ids, float* distances, ParallelFor* parallel,
                                      const Filter& filter) const {
  filter.check(impl_->manifest.total_items);
  if (n < 1) throw Error(ErrorCode::InvalidArgument, "n must be at least 1, got " + std::to_string(n));
  const std::size_t f = static_cast<std::size_t>(impl_->manifest.f);
  detail::check_batch_size(count, f, n);
  detail::run_batch(queries, count, f, n, ids, distances, parallel,
                    [&](const float* w, std::vector<std::int32_t>* r, std::vector<float>* d) { impl_->search(w, n, search_k, filter, r, d); });
}

void ShardedIndex::get_item_vector(std::int32_t item, float* out) const {
  const auto where = impl_->locate(item);
  impl_->shards[where.first]->get_item_vector(where.second, out);
}

std::vector<float> ShardedIndex::get_item_vector(std::int32_t item) const {
  std::vector<float> out(static_cast<std::size_t>(impl_->manifest.f));
  get_item_vector(item, out.data());
  return out;
}

}  // namespace grove
