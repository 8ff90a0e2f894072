// POSIX file handling: read-only mappings, growing build files, atomic writes.
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "grove/error.h"
#include "platform.h"

namespace grove {
namespace native {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::Io, what + " '" + path + "': " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

class MappedFile : public Storage {
 public:
  MappedFile(void* data, std::size_t size) : data_(data), size_(size) {}
  ~MappedFile() override { ::munmap(data_, size_); }
  const std::uint8_t* data() const override { return static_cast<const std::uint8_t*>(data_); }
  std::size_t size() const override { return size_; }

 private:
  void* data_;
  std::size_t size_;
};

std::string folder_of(const std::string& path) {
  std::vector<char> copy(path.begin(), path.end());
  copy.push_back('\0');
  return ::dirname(copy.data());
}

// Makes a rename in the folder of `path` durable.
void sync_folder(const std::string& path) {
  Fd dir(::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
}

// Creates a unique temporary file next to `path`; returns its fd and sets *tmp_path.
int create_temp_next_to(const std::string& path, const char* tag, std::string* tmp_path) {
  if (path.empty()) throw Error(ErrorCode::Io, "cannot write the index: the path is empty");
  std::string pattern = path + tag + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) io_error("cannot create", path, errno);
  ::fchmod(fd, 0644);
  *tmp_path = name.data();
  return fd;
}

// The storage of an on-disk build: a temporary file next to the target that grows as nodes
// are added, renamed over the target only once the build is complete. Until then the target
// is untouched; a failed or abandoned build removes the temporary file.
class BuildFile : public Storage {
 public:
  BuildFile(int fd, std::string tmp_path, std::string path)
      : fd_(fd), tmp_path_(std::move(tmp_path)), path_(std::move(path)) {}
  ~BuildFile() override {
    unmap();
    ::close(fd_);
    if (!finished_) ::unlink(tmp_path_.c_str());
  }
  const std::uint8_t* data() const override { return data_; }
  std::uint8_t* mutable_data() override { return data_; }
  std::size_t size() const override { return size_; }

  void resize(std::size_t bytes) override {
    if (bytes == size_) return;
    if (finished_) throw Error(ErrorCode::WrongState, "the on-disk index is complete: unbuild() is not supported for it");
    // Truncating extends with zeros; the mapping is remade over the new length.
    if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) io_error("cannot grow", tmp_path_, errno);
    unmap();
    if (bytes > 0) {
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
      if (p == MAP_FAILED) io_error("cannot map", tmp_path_, errno);
      data_ = static_cast<std::uint8_t*>(p);
    }
    size_ = bytes;
  }

  void finish(std::size_t bytes) override {
    resize(bytes);
    if (data_ && ::msync(data_, size_, MS_SYNC) != 0) io_error("cannot sync", tmp_path_, errno);
    if (::fsync(fd_) != 0) io_error("cannot sync", tmp_path_, errno);
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) io_error("cannot rename the build file to", path_, errno);
    finished_ = true;
    sync_folder(path_);
  }

 private:
  void unmap() {
    if (data_) ::munmap(data_, size_);
    data_ = nullptr;
  }
  int fd_;
  std::string tmp_path_, path_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<Storage> map_file(const std::string& path, bool prefault) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) io_error("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) io_error("cannot stat", path, errno);
  if (S_ISDIR(st.st_mode)) io_error("cannot load", path, EISDIR);
  if (st.st_size == 0)
    throw Error(ErrorCode::BadFormat, "cannot load '" + path + "': the file is empty");
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  int flags = MAP_SHARED;
#ifdef MAP_POPULATE
  if (prefault) flags |= MAP_POPULATE;
#endif
  void* p = ::mmap(nullptr, size, PROT_READ, flags, fd.get(), 0);
  if (p == MAP_FAILED) io_error("cannot map", path, errno);
  ::madvise(p, size, prefault ? MADV_WILLNEED : MADV_RANDOM);
  return std::unique_ptr<Storage>(new MappedFile(p, size));
}

std::unique_ptr<Storage> create_build_file(const std::string& path) {
  std::string tmp;
  Fd fd(create_temp_next_to(path, ".building-", &tmp));
  return std::unique_ptr<Storage>(new BuildFile(fd.release(), tmp, path));
}

void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) throw Error(ErrorCode::Io, "cannot save: the path is empty");
  std::string tmp_path;
  Fd fd(create_temp_next_to(path, ".tmp-", &tmp_path));
  auto fail = [&](const char* what) {
    int err = errno;
    ::unlink(tmp_path.c_str());
    io_error(what, path, err);
  };
  const std::uint8_t* p = static_cast<const std::uint8_t*>(data);
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::write(fd.get(), p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync");
  if (::close(fd.release()) != 0) fail("cannot close");
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) fail("cannot rename the temporary file to");
  sync_folder(path);
}

}  // namespace native
}  // namespace grove
