#include "grove/storage.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "grove/error.h"

namespace grove {

void Storage::resize(std::size_t) {
  throw Error(ErrorCode::WrongState, "this index is read-only (loaded); unload() it first");
}

MemoryStorage::~MemoryStorage() { std::free(data_); }

void MemoryStorage::resize(std::size_t bytes) {
  if (bytes == size_) return;
  if (!data_ && bytes > 0) {  // a fresh block: calloc hands out zeroed pages without a pass over them
    data_ = static_cast<std::uint8_t*>(std::calloc(bytes, 1));
    if (!data_)
      throw Error(ErrorCode::OutOfMemory, "out of memory: could not allocate " + std::to_string(bytes) + " bytes");
    size_ = bytes;
    return;
  }
  void* grown = std::realloc(data_, bytes == 0 ? 1 : bytes);
  if (!grown)  // realloc keeps the old block: nothing is lost
    throw Error(ErrorCode::OutOfMemory,
                "out of memory: could not allocate " + std::to_string(bytes) + " bytes");
  data_ = static_cast<std::uint8_t*>(grown);
  if (bytes > size_) std::memset(data_ + size_, 0, bytes - size_);
  size_ = bytes;
}

}  // namespace grove
