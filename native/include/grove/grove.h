// Grove: approximate nearest neighbours in Annoy's file format.
// The native AnnoyIndex: the portable core plus memory-mapped files and threads.
// Public header: C++14.
#ifndef GROVE_GROVE_H
#define GROVE_GROVE_H

#include <string>

#include "grove/error.h"
#include "grove/format.h"
#include "grove/index.h"
#include "grove/sharded.h"

namespace grove {

// File and thread handling live in the storages and pools this class hands the core, so
// every state change the core makes (unload, deserialize, load_view) also resets them.
class AnnoyIndex final : public Index {
 public:
  AnnoyIndex(int f, const std::string& metric);
  AnnoyIndex(int f, Metric metric);
  // Angular, Annoy's default metric (Python warns that it will go; C++ code written as
  // `Index t(f)` from Annoy's docs compiles as it is).
  explicit AnnoyIndex(int f) : AnnoyIndex(f, Metric::Angular) {}

  // n_jobs threads share the work (-1: all cores); the trees are the same for any n_jobs.
  // `stop`: see Index::build (set from another thread, it cancels the build).
  void build(int n_trees, int n_jobs = -1, const std::atomic<bool>* stop = nullptr);
  // The graph for a built or loaded index (see Index::build_graph), on n_jobs threads.
  bool build_graph(int n_jobs = -1, const std::atomic<bool>* stop = nullptr);

  // Writes the index to a temporary file next to `path`, syncs it and renames it over
  // `path`, so a crash never leaves a half-written index. Then the index is loaded from
  // `path` (read-only), as Annoy does. With compact scoring on (the default, float metrics)
  // the compact companion is written the same way to companion_path(path); with it off, a
  // companion left there by an earlier save is removed.
  void save(const std::string& path, bool prefault = false);
  // Memory-maps `path` read-only, shared between every process that maps it. prefault
  // reads it all in now rather than on first use. The companion at companion_path(path) is
  // mapped too when it is there and matches the index; otherwise the first query makes it.
  void load(const std::string& path, bool prefault = false);
  // Builds straight into `path` (for data larger than memory): call before add_item().
  // After build() the file is the index, mapped read-only as after save() or load(); save()
  // is not needed, and unbuild()/add_item() are refused so the published file never changes.
  // build() also writes the companion next to it.
  void on_disk_build(const std::string& path);

  // Batch queries on n_jobs threads (-1: all cores); see Index::get_nns_by_vectors.
  void get_nns_by_vectors(const float* queries, std::size_t count, int n, int search_k,
                          std::int32_t* ids, float* distances, int n_jobs = -1,
                          const Filter& filter = Filter()) const;

 private:
  void write_files(const std::string& path) const;
};

// Where save() writes, and load() looks for, an index's compact companion: "<path>.sq8".
std::string companion_path(const std::string& index_path);

// Opens a sharded index: reads and validates the manifest at `manifest_path`, then maps each
// shard file named in it from the manifest's folder (read-only, as load()). Errors name the
// manifest or the shard.
ShardedIndex open_sharded(const std::string& manifest_path, bool prefault = false);

// Writes a manifest atomically (temporary file, fsync, rename), so readers see the old
// manifest or the new one, never half of one.
void save_manifest(const std::string& path, const Manifest& manifest);

}  // namespace grove

#endif  // GROVE_GROVE_H
