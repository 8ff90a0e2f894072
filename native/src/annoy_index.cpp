#include <cerrno>
#include <cstdio>
#include <cstring>
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

void AnnoyIndex::build(int n_trees, int n_jobs, const std::atomic<bool>* stop) {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  Index::build(n_trees, pool.get(), stop);
  if (const char* path = storage()->file_path()) write_files(path);  // on-disk build
}

bool AnnoyIndex::build_graph(int n_jobs, const std::atomic<bool>* stop) {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  return Index::build_graph(pool.get(), stop);
}

// The index (unless it is mapped from `path` itself: loaded, or built on disk there), then
// its companion or, when none is wanted, the removal of a stale one. Each write is atomic;
// a crash in between leaves an old companion, which no longer matches and is ignored.
void AnnoyIndex::write_files(const std::string& path) const {
  const bool companion = wants_companion();
  write_image(companion, [&](const Storage& index, std::size_t size, const std::uint8_t* extra, std::size_t extra_size) {
    // A device or FIFO at `path` takes the bytes, but no companion: nothing can load from it.
    if (!index.is_file(path.c_str()) && !native::write_file_atomic(path, index.data(), size)) return;
    if (companion) native::write_file_atomic(companion_path(path), extra, extra_size);
    else native::remove_file_if_present(companion_path(path));
  });
}

void AnnoyIndex::save(const std::string& path, bool prefault) {
  if (path.empty()) throw Error(ErrorCode::Io, "cannot save: the path is empty", ENOENT);
  if (!is_built() && !is_loaded())
    throw Error(ErrorCode::WrongState, "cannot save an index that has not been built");
  write_files(path);
  // As in Annoy, the saved file becomes the index (read-only, shared through the page cache).
  load(path, prefault);
}

void AnnoyIndex::load(const std::string& path, bool prefault) { native::load_index_file(*this, path, prefault, true); }

namespace native {
void load_index_file(Index& index, const std::string& path, bool prefault, bool follow_links) {
  std::unique_ptr<Storage> file = map_file(path, prefault, follow_links);
  // Optional: missing, unreadable or not matching, it is made again on the first query.
  std::unique_ptr<Storage> companion;
  if (index.wants_companion()) companion = map_file_if_present(companion_path(path), prefault, follow_links);
  try {
    index.load_storage(std::move(file), std::move(companion));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::BadFormat) throw;
    throw Error(ErrorCode::BadFormat, "'" + path + "': " + e.what());
  }
}
}  // namespace native

std::string companion_path(const std::string& index_path) { return index_path + ".sq8"; }

void AnnoyIndex::on_disk_build(const std::string& path) {
  // The core checks the call order; if it refuses, the new build file is removed with it.
  set_build_storage(native::create_build_file(path));
}

void AnnoyIndex::get_nns_by_vectors(const float* queries, std::size_t count, int n,
                                    int search_k, std::int32_t* ids, float* distances,
                                    int n_jobs, const Filter& filter) const {
  check_jobs(n_jobs);
  std::unique_ptr<ParallelFor> pool = native::make_thread_pool(n_jobs);
  Index::get_nns_by_vectors(queries, count, n, search_k, ids, distances, pool.get(), filter);
}

}  // namespace grove
