#include <cstdio>
#include <string>

#include "grove/grove.h"
#include "platform.h"

namespace grove {
namespace {

void check_jobs(int n_jobs) {
  if (n_jobs == 0 || n_jobs < -1)
    throw Error(ErrorCode::InvalidArgument,
                "n_jobs must be -1 (all cores) or at least 1, got " + std::to_string(n_jobs));
}

void log_to_stderr(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

}  // namespace

AnnoyIndex::AnnoyIndex(int f, const std::string& metric) : Index(f, metric) {
  set_log(log_to_stderr);
}
AnnoyIndex::AnnoyIndex(int f, Metric metric) : Index(f, metric) { set_log(log_to_stderr); }

void AnnoyIndex::build(int n_trees, int n_jobs) {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  Index::build(n_trees, pool.get());
}

void AnnoyIndex::save(const std::string& path, bool prefault) {
  if (!is_built() && !is_loaded())
    throw Error(ErrorCode::WrongState, "cannot save an index that has not been built");
  if (path.empty()) throw Error(ErrorCode::Io, "cannot save: the path is empty");
  // An index mapped from `path` itself (loaded, or built on disk there) is already saved.
  if (!storage()->is_file(path.c_str()))
    native::write_file_atomic(path, storage()->data(), serialized_size());
  // As in Annoy, the saved file becomes the index (read-only, shared through the page cache).
  load(path, prefault);
}

void AnnoyIndex::load(const std::string& path, bool prefault) {
  load_storage(native::map_file(path, prefault));
}

void AnnoyIndex::on_disk_build(const std::string& path) {
  // The core checks the call order; if it refuses, the new build file is removed with it.
  set_build_storage(native::create_build_file(path));
}

void AnnoyIndex::get_nns_by_vectors(const float* queries, std::size_t count, int n,
                                    int search_k, std::int32_t* ids, float* distances,
                                    int n_jobs) const {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  Index::get_nns_by_vectors(queries, count, n, search_k, ids, distances, pool.get());
}

}  // namespace grove
