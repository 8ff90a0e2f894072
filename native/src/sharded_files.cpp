// Sharded indexes on disk: the manifest and its shard files, memory-mapped.
#include <string>

#include "grove/grove.h"
#include "platform.h"

namespace grove {

ShardedIndex open_sharded(const std::string& manifest_path, bool prefault) {
  const std::string text = native::read_text_file(manifest_path, "the manifest");
  Manifest manifest;
  try {
    manifest = parse_manifest(text);
  } catch (const Error& e) {
    throw Error(e.code(), "'" + manifest_path + "': " + e.what(), e.sys_errno());
  }
  std::vector<std::unique_ptr<Index>> shards;
  const std::string folder = native::folder_of(manifest_path);
  for (const ShardInfo& info : manifest.shards) {
    std::unique_ptr<AnnoyIndex> shard(new AnnoyIndex(manifest.f, manifest.metric));
    const std::string path = folder + "/" + info.file;
    try {
      native::load_index_file(*shard, path, prefault, false);
    } catch (const Error& e) {
      throw Error(e.code(), "shard '" + info.file + "' of '" + manifest_path + "': " + e.what(), e.sys_errno());
    }
    shards.push_back(std::move(shard));
  }
  return ShardedIndex(std::move(manifest), std::move(shards));
}

void save_manifest(const std::string& path, const Manifest& manifest) {
  const std::string text = manifest_json(manifest);
  parse_manifest(text);  // never write what we would refuse to read
  native::write_file_atomic(path, text.data(), text.size());
}

}  // namespace grove
