// Regression tests for the outside review's findings (shared/notes/review-2026-11.md):
// state that outlived the storage it described, writable published files, thread creation
// failure, files too large for Annoy's node numbers, crafted files that made queries slow,
// failed growth of an on-disk build, and a full disk under an on-disk build.
#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "platform.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GROVE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GROVE_SANITIZED 1
#endif
#endif

using grove::AnnoyIndex;
using grove::ErrorCode;

namespace {

using grove_test::expect_error;

std::vector<std::string> files_in(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.compare(0, prefix.size(), prefix) == 0) out.push_back(name);
    }
    closedir(d);
  }
  return out;
}

void fill(AnnoyIndex& index, int n, int f, unsigned seed) {
  auto items = grove_test::random_vectors(n, f, seed);
  for (int i = 0; i < n; ++i) index.add_item(i, items[i]);
}

AnnoyIndex built(int n, unsigned seed) {
  AnnoyIndex index(4, "euclidean");
  fill(index, n, 4, seed);
  index.build(3, 1);
  return index;
}

int items_in_file(const std::string& path) {
  AnnoyIndex reader(4, "euclidean");
  reader.load(path);
  return reader.get_n_items();
}

// Runs `body` in a child process (for resource limits that must not touch the test runner);
// the child's exit status is its verdict.
int in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    int status = 1;
    try {
      status = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      status = 99;
    } catch (...) {
      status = 99;
    }
    _exit(status);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// H2: the file an on-disk build was heading for is not "already saved" once the index has
// been unloaded or replaced: save() must write the index the object holds now.
TEST(Safety, SaveAfterUnloadOfAnOnDiskBuildWritesTheNewIndex) {
  const std::string path = grove_test::temp_path("h2-unload.ann");
  built(1, 1).save(path);
  AnnoyIndex index(4, "euclidean");
  index.on_disk_build(path);
  index.unload();
  fill(index, 100, 4, 2);
  index.build(3, 1);
  index.save(path);
  EXPECT_EQ(index.get_n_items(), 100);
  EXPECT_EQ(items_in_file(path), 100);
  std::remove(path.c_str());
}

TEST(Safety, SaveAfterDeserializeOverAnOnDiskBuildWritesTheNewIndex) {
  const std::string path = grove_test::temp_path("h2-deserialize.ann");
  built(1, 1).save(path);
  AnnoyIndex index(4, "euclidean");
  index.on_disk_build(path);
  index.deserialize(built(50, 3).serialize());
  index.save(path);
  EXPECT_EQ(index.get_n_items(), 50);
  EXPECT_EQ(items_in_file(path), 50);
  std::remove(path.c_str());
}

// H3: a finished on-disk build is the published file, read-only from then on.
TEST(Safety, FinishedOnDiskBuildCannotBeRewritten) {
  const std::string path = grove_test::temp_path("h3.ann");
  AnnoyIndex index(4, "euclidean");
  index.on_disk_build(path);
  fill(index, 100, 4, 4);
  index.build(3, 1);
  EXPECT_TRUE(index.is_loaded());
  const std::vector<std::uint8_t> before = grove_test::read_bytes(path);
  expect_error([&] { index.unbuild(); }, ErrorCode::WrongState, "cannot unbuild a loaded index");
  expect_error([&] { index.add_item(0, {1000, 1000, 1000, 1000}); }, ErrorCode::WrongState, "loaded index");
  EXPECT_TRUE(grove_test::read_bytes(path) == before);
  index.save(path);  // the index is that file already: nothing to write, nothing changes
  EXPECT_TRUE(grove_test::read_bytes(path) == before);
  std::vector<std::int32_t> ids;
  index.get_nns_by_item(0, 1, -1, &ids);
  EXPECT_EQ(ids, std::vector<std::int32_t>{0});
  std::remove(path.c_str());
}

// H4: when the system refuses threads, builds carry on with fewer instead of hanging.
TEST(Safety, ThreadPoolFallsBackWhenThreadsAreRefused) {
  int spawned = 0;
  auto refuse_after_four = [&] {
    if (spawned++ == 4) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
  };
  std::unique_ptr<grove::ParallelFor> pool = grove::native::make_thread_pool(8, refuse_after_four);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->workers(), 3);  // the caller and half of the four threads it got (room to work)
  std::vector<int> done(1000, 0);
  pool->run(done.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) done[i] += 1;
  });
  EXPECT_EQ(std::count(done.begin(), done.end(), 1), 1000);
  auto refuse_all = [] { throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again)); };
  EXPECT_EQ(grove::native::make_thread_pool(8, refuse_all), nullptr);  // one thread: no pool
}

#ifndef GROVE_SANITIZED
// H4 end to end: a build asking for 1000 threads under an address-space limit that allows
// only some of their stacks finishes with the same trees.
TEST(Safety, BuildWithThreadsRefusedByTheSystemFinishes) {
  AnnoyIndex reference = built(2000, 5);
  const std::vector<std::uint8_t> expected = reference.serialize();
  const int status = in_child([&] {
    AnnoyIndex index(4, "euclidean");
    fill(index, 2000, 4, 5);
    rlimit limit{};
    getrlimit(RLIMIT_AS, &limit);
    limit.rlim_cur = 400u << 20;  // room for some 8 MiB thread stacks, not 1000
    setrlimit(RLIMIT_AS, &limit);
    index.build(3, 1000);
    return index.serialize() == expected ? 0 : 2;
  });
  EXPECT_EQ(status, 0);
}
#endif

// H5: Annoy numbers nodes with int32, so a file of more nodes is rejected, not read.
TEST(Safety, FileOfMoreThan2To31NodesIsRejected) {
  const std::string path = grove_test::temp_path("h5-sparse.ann");
  const std::int64_t nodes = (std::int64_t(1) << 31) + 3;  // angular f=1: 16-byte nodes, 32 GiB sparse
  {
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, nodes * 16), 0);
    const std::int32_t node[4] = {5, 0, 1, 0};  // n_descendants 5, children 0 and 1
    for (std::int64_t i = nodes - 3; i < nodes; ++i) ASSERT_EQ(::pwrite(fd, node, 16, i * 16), 16);
    ::close(fd);
  }
  AnnoyIndex index(1, "angular");
  expect_error([&] { index.load(path); }, ErrorCode::BadFormat, "32-bit node numbers");
  std::remove(path.c_str());
}

// M1: a crafted file where every node is a split pointing at nodes 0 and 1 made one query
// quadratic in the file's size (minutes and gigabytes at 1 MB). Work is linear now; the
// ctest timeout on this suite turns a regression into a failure.
TEST(Safety, CraftedNodeGraphCostsLinearWork) {
  const int nodes = 1 << 16;  // 1 MiB of angular f=1 nodes
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(nodes) * 16);
  for (int i = 0; i < nodes; ++i) {
    const std::int32_t node[4] = {4, 0, 1, 0};
    std::memcpy(bytes.data() + static_cast<std::size_t>(i) * 16, node, 16);
  }
  AnnoyIndex index(1, "angular");
  index.deserialize(bytes);
  std::vector<std::int32_t> ids;
  index.get_nns_by_vector(std::vector<float>{1.0f}, 10, -1, &ids);
  index.get_nns_by_vector(std::vector<float>{1.0f}, 10, 1 << 30, &ids);
  SUCCEED();
}

#ifndef GROVE_SANITIZED
// M2: growing an on-disk build past the address space fails cleanly, and the build goes on.
TEST(Safety, FailedGrowthOfAnOnDiskBuildKeepsTheIndexUsable) {
  const std::string path = grove_test::temp_path("m2.ann");
  const int status = in_child([&] {
    AnnoyIndex index(1000, "euclidean");  // 4 KB nodes
    index.on_disk_build(path);
    std::vector<float> v(1000, 1.0f);
    index.add_item(0, v);
    rlimit limit{};
    getrlimit(RLIMIT_AS, &limit);
    limit.rlim_cur = 300u << 20;
    setrlimit(RLIMIT_AS, &limit);
    try {
      index.add_item(200000, v);  // 800 MB: the file can grow, the mapping cannot
      return 3;
    } catch (const grove::Error& e) {
      if (e.code() != ErrorCode::Io && e.code() != ErrorCode::OutOfMemory) return 4;
    }
    index.add_item(0, v);  // within the old capacity: this wrote through a null mapping
    index.add_item(1, v);
    index.build(2, 1);
    std::vector<std::int32_t> ids;
    index.get_nns_by_item(0, 2, -1, &ids);
    return ids.size() == 2 ? 0 : 5;
  });
  EXPECT_EQ(status, 0);
  std::remove(path.c_str());
  EXPECT_TRUE(files_in(grove_test::temp_dir(), "m2.ann.building-").empty());
}
#endif

// A small tmpfs of its own (root only; skipped where mounting is not allowed).
class SmallDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = grove_test::temp_path("small-disk");
    ::mkdir(dir_.c_str(), 0755);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=2m") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount(dir_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
  bool mounted_ = false;
};

// M11: an on-disk build that runs out of space is a named Io error (it was SIGBUS), and its
// temporary file is gone, so the disk is not left full.
TEST_F(SmallDisk, OnDiskBuildOnAFullDiskIsAnIoErrorAndLeavesNothing) {
  const std::string path = dir_ + "/index.ann";
  {
    AnnoyIndex index(64, "euclidean");  // 272-byte nodes: 20,000 items need 5 MB
    index.on_disk_build(path);
    auto items = grove_test::random_vectors(20000, 64, 6);
    try {
      for (int i = 0; i < 20000; ++i) index.add_item(i, items[i]);
      index.build(5, 1);
      ADD_FAILURE() << "a 2 MB disk held a 5 MB index";
    } catch (const grove::Error& e) {
      EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(ErrorCode::Io)) << e.what();
      EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(files_in(dir_, "index.ann").empty());
}

TEST_F(SmallDisk, CliBuildOnAFullDiskFailsCleanly) {
  const std::string data = grove_test::temp_path("small-disk-data.csv");
  {
    std::ofstream out(data);
    auto items = grove_test::random_vectors(20000, 64, 7);
    for (auto& v : items)
      for (int c = 0; c < 64; ++c) out << v[c] << (c == 63 ? '\n' : ',');
  }
  const std::string cmd = std::string(GROVE_CLI) + " build --quiet --on-disk --metric euclidean " + data + " " +
                          dir_ + "/cli.ann 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc)) << "killed by a signal";
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  EXPECT_TRUE(files_in(dir_, "cli.ann").empty());
  std::remove(data.c_str());
}

}  // namespace
