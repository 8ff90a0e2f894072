// Native platform pieces behind grove::AnnoyIndex: file-backed storages and a thread pool.
#ifndef GROVE_NATIVE_PLATFORM_H
#define GROVE_NATIVE_PLATFORM_H

#include <functional>
#include <memory>
#include <string>

#include "grove/index.h"
#include "grove/parallel.h"
#include "grove/storage.h"

namespace grove {
namespace native {

// The folder part of a path ("." for a bare name), as dirname(3) gives it.
std::string folder_of(const std::string& path);

// A read-only shared mapping of a whole regular file (a FIFO, device or folder is an Io
// error at once). follow_links false: a symbolic link is refused (shards of a manifest).
std::unique_ptr<Storage> map_file(const std::string& path, bool prefault, bool follow_links = true);

// A file that grows as the index is built in it (on-disk build): a temporary file next to
// `path`, renamed to `path` when the build completes and removed if it never does.
// map_file for optional files: null when `path` is missing, empty or unreadable.
std::unique_ptr<Storage> map_file_if_present(const std::string& path, bool prefault, bool follow_links = true);
// The whole of a regular file, as text (what: how errors name it).
std::string read_text_file(const std::string& path, const std::string& what);
// Removes `path`; a missing file is not an error.
void remove_file_if_present(const std::string& path);
std::unique_ptr<Storage> create_build_file(const std::string& path);

// Maps the index file at `path` into `index`, and its companion when one is wanted and
// present (AnnoyIndex::load; shards of a manifest with follow_links false).
void load_index_file(Index& index, const std::string& path, bool prefault, bool follow_links);

// Writes bytes to `path` atomically: temp file in the same folder, fsync, rename (through a
// symlink to its target, the link kept). An existing device or FIFO is written into instead,
// never replaced: then it returns false, as the file cannot be mapped back.
bool write_file_atomic(const std::string& path, const void* data, std::size_t size);

// More threads than this only add overhead (and address space for their stacks).
constexpr int kMaxThreads = 256;

// A ParallelFor on up to `threads` threads (-1: one per core; at most kMaxThreads). When the
// system refuses threads, it has fewer; returns null when it would have one. before_spawn
// runs before each thread is created (tests throw from it to simulate a refusal).
std::unique_ptr<ParallelFor> make_thread_pool(int threads, const std::function<void()>& before_spawn = {});

}  // namespace native
}  // namespace grove

#endif  // GROVE_NATIVE_PLATFORM_H
