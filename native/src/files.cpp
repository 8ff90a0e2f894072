// POSIX file handling: read-only mappings, growing build files, atomic writes.
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "grove/error.h"
#include "platform.h"

namespace grove {
namespace native {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::Io, what + " '" + path + "': " + std::strerror(err), err);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Whether the file at `path` is the file (device and inode) that `dev`/`ino` name.
bool same_file(const char* path, dev_t dev, ino_t ino) {
  struct stat st;
  return path && ::stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

class MappedFile : public Storage {
 public:
  MappedFile(void* data, std::size_t size, const struct stat& st)
      : data_(data), size_(size), dev_(st.st_dev), ino_(st.st_ino) {}
  ~MappedFile() override { ::munmap(data_, size_); }
  const std::uint8_t* data() const override { return static_cast<const std::uint8_t*>(data_); }
  std::size_t size() const override { return size_; }
  bool is_file(const char* path) const override { return same_file(path, dev_, ino_); }

 private:
  void* data_;
  std::size_t size_;
  dev_t dev_;
  ino_t ino_;
};


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

// Where a write to `path` lands, decided before anything is written: a symlink's target (the
// link stays, as when Annoy writes through it), and whether that is an existing file of
// another kind (a device, a FIFO), which is written into, never replaced by a rename.
struct WriteTarget {
  std::string path;
  bool regular = true;  // a regular file, or nothing yet
};

WriteTarget write_target(const std::string& path) {
  WriteTarget target{path};
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return target;  // nothing there yet
  if (S_ISLNK(st.st_mode)) {
    std::unique_ptr<char, void (*)(void*)> real(::realpath(path.c_str(), nullptr), &std::free);
    if (!real || ::stat(real.get(), &st) != 0) {  // a dangling link: its target is created
      std::vector<char> link(4096);
      const ssize_t n = ::readlink(path.c_str(), link.data(), link.size() - 1);
      if (n <= 0) return target;
      const std::string to(link.data(), static_cast<std::size_t>(n));
      const std::string::size_type slash = path.rfind('/');
      target.path = to[0] == '/' || slash == std::string::npos ? to : path.substr(0, slash + 1) + to;
      return target;
    }
    target.path = real.get();
  }
  if (S_ISDIR(st.st_mode)) io_error("cannot write", path, EISDIR);
  target.regular = S_ISREG(st.st_mode);
  return target;
}

// Writes all of [data, data + size) to fd; returns 0 or the errno.
int write_all(int fd, const void* data, std::size_t size) {
  const std::uint8_t* p = static_cast<const std::uint8_t*>(data);
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// Gives the file [from, to) real blocks, so a full disk is an error now rather than a
// SIGBUS at the first write through the mapping. Falls back to writing zeros where the file
// system has no fallocate. Returns 0 or an errno.
int reserve_space(int fd, std::size_t from, std::size_t to) {
  const int err = ::posix_fallocate(fd, static_cast<off_t>(from), static_cast<off_t>(to - from));
  if (err != EOPNOTSUPP && err != EINVAL && err != ENOSYS) return err;
  static const char zeros[1 << 16] = {};
  for (std::size_t at = from; at < to;) {
    const std::size_t chunk = std::min(sizeof zeros, to - at);
    const ssize_t n = ::pwrite(fd, zeros, chunk, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    at += static_cast<std::size_t>(n);
  }
  return 0;
}

// The storage of an on-disk build: a temporary file next to the target that grows as nodes
// are added, renamed over the target only once the build is complete. Until then the target
// is untouched; a failed or abandoned build removes the temporary file. Once complete, the
// file is mapped read-only: the index is the published file, as after save().
class BuildFile : public Storage {
 public:
  BuildFile(int fd, std::string tmp_path, std::string path)
      : fd_(fd), tmp_path_(std::move(tmp_path)), path_(std::move(path)) {}
  ~BuildFile() override {
    if (data_) ::munmap(data_, size_);
    ::close(fd_);
    if (!finished_) ::unlink(tmp_path_.c_str());
  }
  const std::uint8_t* data() const override { return data_; }
  std::uint8_t* mutable_data() override { return finished_ ? nullptr : data_; }
  std::size_t size() const override { return size_; }
  bool is_file(const char* path) const override {
    struct stat st;
    return finished_ && ::fstat(fd_, &st) == 0 && same_file(path, st.st_dev, st.st_ino);
  }
  const char* file_path() const override { return finished_ ? path_.c_str() : nullptr; }

  // Every step that can fail comes before the old mapping is dropped, so a failure keeps
  // the old contents and a usable mapping (as Storage promises).
  void resize(std::size_t bytes) override {
    if (bytes == size_) return;
    if (finished_) throw Error(ErrorCode::WrongState, "the on-disk index is complete and read-only");
    if (bytes > size_) {
      const int err = reserve_space(fd_, size_, bytes);
      if (err) {
        ::ftruncate(fd_, static_cast<off_t>(size_));
        io_error("cannot grow the on-disk index to " + std::to_string(bytes) + " bytes in", tmp_path_, err);
      }
    }
#ifdef __EMSCRIPTEN__
    // Emscripten emulates a shared mapping with a copy that reaches the file only on msync or
    // munmap: write the old copy back before the new mapping reads the file.
    if (data_ && ::msync(data_, size_, MS_SYNC) != 0) io_error("cannot sync", tmp_path_, errno);
#endif
    std::uint8_t* mapped = nullptr;
    if (bytes > 0) {
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        if (bytes > size_) ::ftruncate(fd_, static_cast<off_t>(size_));
        io_error("cannot map", tmp_path_, err);
      }
      mapped = static_cast<std::uint8_t*>(p);
    }
    if (data_) ::munmap(data_, size_);
    data_ = mapped;
    size_ = bytes;
    if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) io_error("cannot resize", tmp_path_, errno);
  }

  void finish(std::size_t bytes) override {
    resize(bytes);
    if (data_ && ::msync(data_, size_, MS_SYNC) != 0) io_error("cannot sync", tmp_path_, errno);
    if (::fsync(fd_) != 0) io_error("cannot sync", tmp_path_, errno);
    // Read-only from here on: map the finished file anew before publishing it.
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) io_error("cannot map", tmp_path_, errno);
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      ::munmap(p, size_);
      io_error("cannot rename the build file to", path_, err);
    }
    ::munmap(data_, size_);
    data_ = static_cast<std::uint8_t*>(p);
    finished_ = true;
    sync_folder(path_);
  }

 private:
  int fd_;
  std::string tmp_path_, path_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool finished_ = false;
};

}  // namespace

std::string folder_of(const std::string& path) {
  std::vector<char> copy(path.begin(), path.end());
  copy.push_back('\0');
  return ::dirname(copy.data());
}

// Opens `path` for reading and checks that it is a regular file. O_NONBLOCK: a FIFO (or a
// device) named as an index would otherwise block open() until a writer appears.
Fd open_regular(const std::string& path, bool follow_links, struct stat* st) {
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW);
  Fd fd(::open(path.c_str(), flags));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ELOOP && !follow_links)
      throw Error(ErrorCode::Io, "cannot open '" + path + "': it is a symbolic link, and shards must be files in the manifest's folder", err);
    io_error("cannot open", path, err);
  }
  if (::fstat(fd.get(), st) != 0) io_error("cannot stat", path, errno);
  if (S_ISDIR(st->st_mode)) io_error("cannot load", path, EISDIR);
  if (!S_ISREG(st->st_mode))
    throw Error(ErrorCode::Io, "cannot load '" + path + "': not a regular file (a FIFO, socket or device)");
  return fd;
}

std::unique_ptr<Storage> map_file(const std::string& path, bool prefault, bool follow_links) {
  struct stat st;
  Fd fd = open_regular(path, follow_links, &st);
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
  return std::unique_ptr<Storage>(new MappedFile(p, size, st));
}

std::unique_ptr<Storage> map_file_if_present(const std::string& path, bool prefault, bool follow_links) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || (S_ISLNK(st.st_mode) && !follow_links)) return nullptr;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return nullptr;
  try {
    return map_file(path, prefault, follow_links);
  } catch (const Error&) {
    return nullptr;  // unreadable: treated as absent
  }
}

std::unique_ptr<Storage> create_build_file(const std::string& path) {
  const WriteTarget target = write_target(path);
  // An index built on disk is published by a rename and then mapped: only a regular file can be that.
  if (!target.regular) throw Error(ErrorCode::Io, "cannot build on disk into '" + path + "': it is not a regular file");
  std::string tmp;
  Fd fd(create_temp_next_to(target.path, ".building-", &tmp));
  return std::unique_ptr<Storage>(new BuildFile(fd.release(), tmp, target.path));
}

std::string read_text_file(const std::string& path, const std::string& what) {
  struct stat st;
  Fd fd = open_regular(path, true, &st);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error("cannot read " + what, path, errno);
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

void remove_file_if_present(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) io_error("cannot remove the stale", path, errno);
}

bool write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) throw Error(ErrorCode::Io, "cannot save: the path is empty", ENOENT);
  const WriteTarget target = write_target(path);
  if (!target.regular) {  // a device or FIFO (non-blocking: a FIFO nobody reads fails at once)
    Fd fd(::open(target.path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) io_error("cannot open", path, errno);
    if (const int err = write_all(fd.get(), data, size)) io_error("cannot write", path, err);
    return false;
  }
  std::string tmp_path;
  Fd fd(create_temp_next_to(target.path, ".tmp-", &tmp_path));
  auto fail = [&](const char* what, int err) {
    ::unlink(tmp_path.c_str());
    io_error(what, path, err);
  };
  if (const int err = write_all(fd.get(), data, size)) fail("cannot write", err);
  if (::fsync(fd.get()) != 0) fail("cannot sync", errno);
  if (::close(fd.release()) != 0) fail("cannot close", errno);
  if (::rename(tmp_path.c_str(), target.path.c_str()) != 0) fail("cannot rename the temporary file to", errno);
  sync_folder(target.path);
  return true;
}

}  // namespace native
}  // namespace grove
