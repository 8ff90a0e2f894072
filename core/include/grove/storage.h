// Where an index keeps its nodes: the core reads and writes bytes only through this interface,
// so it never touches files, mappings or the OS. Platform layers supply other storages
// (a memory-mapped file, a growing file for on-disk builds, a wasm heap block).
#ifndef GROVE_STORAGE_H
#define GROVE_STORAGE_H

#include <cstddef>
#include <cstdint>

namespace grove {

class Storage {
 public:
  virtual ~Storage() {}
  virtual const std::uint8_t* data() const = 0;
  virtual std::size_t size() const = 0;
  // Writable storages return their bytes; read-only ones return nullptr.
  virtual std::uint8_t* mutable_data() { return nullptr; }
  // Grows or shrinks to `bytes`; new bytes are zero. Throws grove::Error (OutOfMemory or Io)
  // and keeps the old contents when it cannot. Read-only storages throw WrongState.
  virtual void resize(std::size_t bytes);
  // Called once a build is complete with the exact size of the index; a file-backed storage
  // truncates, flushes and becomes read-only here (mutable_data() then returns nullptr, and
  // the index treats itself as loaded from that file).
  virtual void finish(std::size_t bytes) { resize(bytes); }
  // True when these bytes are the current contents of the file at `path` (a mapping of that
  // very file), so saving to `path` has nothing to write. Memory storages: false.
  virtual bool is_file(const char* path) const {
    (void)path;
    return false;
  }
  // The path of the file these bytes now are (a completed on-disk build), or null.
  virtual const char* file_path() const { return nullptr; }
};

// Heap memory owned by the storage (the default while adding items and building).
class MemoryStorage : public Storage {
 public:
  MemoryStorage() {}
  // Takes ownership of a block from std::malloc (freed with std::free).
  MemoryStorage(std::uint8_t* malloced, std::size_t size) : data_(malloced), size_(size) {}
  ~MemoryStorage() override;
  MemoryStorage(const MemoryStorage&) = delete;
  MemoryStorage& operator=(const MemoryStorage&) = delete;

  const std::uint8_t* data() const override { return data_; }
  std::uint8_t* mutable_data() override { return data_; }
  std::size_t size() const override { return size_; }
  void resize(std::size_t bytes) override;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// A read-only view of bytes the caller owns and keeps alive (no copy).
class BorrowedStorage : public Storage {
 public:
  BorrowedStorage(const void* data, std::size_t size)
      : data_(static_cast<const std::uint8_t*>(data)), size_(size) {}
  const std::uint8_t* data() const override { return data_; }
  std::size_t size() const override { return size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

}  // namespace grove

#endif  // GROVE_STORAGE_H
