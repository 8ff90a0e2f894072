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

bool wants_companion(const Index& index) {
  return index.get_compact_scoring() && index.get_metric() != Metric::Hamming;
}

// Written after the index, atomically: a crash in between leaves the old companion, which
// no longer matches the index and is ignored on load.
void write_companion(const Index& index, const std::string& index_path) {
  if (!wants_companion(index)) return;
  native::write_file_atomic(companion_path(index_path), index.companion_data(), index.companion_size());
}

}  // namespace

AnnoyIndex::AnnoyIndex(int f, const std::string& metric) : Index(f, metric) {
  set_log(log_to_stderr);
}
AnnoyIndex::AnnoyIndex(int f, Metric metric) : Index(f, metric) { set_log(log_to_stderr); }

void AnnoyIndex::build(int n_trees, int n_jobs) {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  Index::build(n_trees, pool.get());
  if (const char* path = storage()->file_path()) write_companion(*this, path);  // on-disk build
}

void AnnoyIndex::save(const std::string& path, bool prefault) {
  if (!is_built() && !is_loaded())
    throw Error(ErrorCode::WrongState, "cannot save an index that has not been built");
  if (path.empty()) throw Error(ErrorCode::Io, "cannot save: the path is empty");
  // An index mapped from `path` itself (loaded, or built on disk there) is already saved.
  if (!storage()->is_file(path.c_str()))
    native::write_file_atomic(path, storage()->data(), serialized_size());
  write_companion(*this, path);
  // As in Annoy, the saved file becomes the index (read-only, shared through the page cache).
  load(path, prefault);
}

void AnnoyIndex::load(const std::string& path, bool prefault) {
  load_storage(native::map_file(path, prefault));
  if (!wants_companion(*this)) return;
  // Optional: missing, unreadable or not matching, it is made again on the first query.
  if (std::unique_ptr<Storage> companion = native::map_file_if_present(companion_path(path), prefault))
    load_companion(std::move(companion));
}

std::string companion_path(const std::string& index_path) { return index_path + ".sq8"; }

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
