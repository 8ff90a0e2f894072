// Nothing the user already had is lost: saves are atomic even when the process dies midway,
// failed or abandoned builds leave no index-looking file, and a failed call changes nothing.
#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "test_util.h"

namespace {

std::vector<std::string> files_starting_with(const std::string& prefix) {
  std::vector<std::string> out;
  const std::string dir = grove_test::temp_dir();
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) == 0) out.push_back(name);
  }
  closedir(d);
  return out;
}

grove::AnnoyIndex small_index() {
  grove::AnnoyIndex index(4, "euclidean");
  auto items = grove_test::random_vectors(100, 4, 3);
  for (int i = 0; i < 100; ++i) index.add_item(i, items[i]);
  index.build(5);
  return index;
}

// A child process saves a large index over an existing file and is killed midway: the old
// file must be intact (the new one is only ever renamed into place when complete).
TEST(Durability, KilledSaveLeavesTheOldFileIntact) {
  const std::string path = grove_test::temp_path("killed-save.ann");
  grove::AnnoyIndex old = small_index();
  old.save(path);
  const std::vector<std::uint8_t> before = grove_test::read_bytes(path);
  for (const std::string& f : files_starting_with("killed-save.ann.tmp-")) std::remove(grove_test::temp_path(f).c_str());

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    grove::AnnoyIndex big(256, "euclidean");  // about 400 MB of nodes: the write takes a while
    std::vector<float> v(256, 0.5f);
    for (int i = 0; i < 400000; ++i) {
      v[i % 256] = static_cast<float>(i);
      big.add_item(i, v);
    }
    big.build(1, 1);
    big.save(path);
    _exit(0);
  }
  // Wait until the child has started writing its temporary file, then kill it.
  bool writing = false;
  for (int i = 0; i < 6000 && !writing; ++i) {
    for (const std::string& f : files_starting_with("killed-save.ann.tmp-")) {
      struct stat st;
      if (stat(grove_test::temp_path(f).c_str(), &st) == 0 && st.st_size > 0) writing = true;
    }
    if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(writing) << "the child never started writing";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(grove_test::read_bytes(path) == before);
  grove::AnnoyIndex reopened(4, "euclidean");
  reopened.load(path);
  EXPECT_EQ(reopened.get_n_items(), 100);
  for (const std::string& f : files_starting_with("killed-save.ann.tmp-")) std::remove(grove_test::temp_path(f).c_str());
  std::remove(path.c_str());
}

// An on-disk build that is abandoned or fails leaves the target as it was and no temp file.
TEST(Durability, AbandonedOnDiskBuildLeavesNothing) {
  const std::string path = grove_test::temp_path("abandoned.ann");
  grove::AnnoyIndex old = small_index();
  old.save(path);
  const std::vector<std::uint8_t> before = grove_test::read_bytes(path);
  {
    grove::AnnoyIndex building(4, "euclidean");
    building.on_disk_build(path);
    building.add_item(0, {1, 2, 3, 4});
    building.add_item(1, {4, 3, 2, 1});
    EXPECT_THROW(building.build(0), grove::Error);  // fails before writing anything
  }  // destroyed without a successful build
  EXPECT_TRUE(grove_test::read_bytes(path) == before);
  EXPECT_TRUE(files_starting_with("abandoned.ann.building-").empty());

  grove::AnnoyIndex done(4, "euclidean");
  done.on_disk_build(path);
  done.add_item(0, {1, 2, 3, 4});
  done.add_item(1, {4, 3, 2, 1});
  done.build(2);
  EXPECT_TRUE(grove_test::read_bytes(path) == done.serialize());
  EXPECT_TRUE(files_starting_with("abandoned.ann.building-").empty());
  std::remove(path.c_str());
}

TEST(Durability, LoadReplacesALoadedIndexOnlyWhenValid) {
  const std::string a = grove_test::temp_path("replace-a.ann"), b = grove_test::temp_path("replace-b.ann");
  grove::AnnoyIndex first = small_index();
  first.save(a);
  grove::AnnoyIndex second(4, "euclidean");
  second.add_item(0, {9, 9, 9, 9});
  second.build(1);
  second.save(b);
  grove::AnnoyIndex index(4, "euclidean");
  index.load(a);
  EXPECT_EQ(index.get_n_items(), 100);
  index.load(b);  // replaces
  EXPECT_EQ(index.get_n_items(), 1);
  EXPECT_THROW(index.load(grove_test::temp_path("none.ann")), grove::Error);
  EXPECT_EQ(index.get_n_items(), 1);  // kept
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(Durability, MemoryLimitStopsHugeIds) {
  grove::AnnoyIndex index(3, "angular");
  try {
    index.add_item(2000000000, {1, 2, 3});
    ADD_FAILURE() << "no error";
  } catch (const grove::Error& e) {
    EXPECT_EQ(e.code(), grove::ErrorCode::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("over the memory limit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(index.get_n_items(), 0);
  index.set_memory_limit(1 << 20);
  EXPECT_THROW(index.add_item(100000, {1, 2, 3}), grove::Error);
  index.add_item(1000, {1, 2, 3});
  EXPECT_EQ(index.get_n_items(), 1001);
}

// save() never replaces what is at the path with a rename unless it is a regular file: a
// device or FIFO is written into (Annoy's test saves to /dev/full and wants ENOSPC), a symlink
// keeps pointing where it did, and a folder is a named error.
TEST(Durability, SaveWritesIntoDevicesAndThroughLinksAndNeverReplacesThem) {
  grove::AnnoyIndex index = small_index();
  struct stat st;
  grove_test::expect_error([&] { index.save("/dev/full"); }, grove::ErrorCode::Io, "No space left on device");
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/full was replaced";
  EXPECT_NE(::lstat("/dev/full.sq8", &st), 0);
  // A FIFO nobody reads: an error at once, not a hang, and the FIFO stays.
  const std::string fifo = grove_test::temp_path("save-target.fifo");
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  grove_test::expect_error([&] { index.save(fifo); }, grove::ErrorCode::Io, "save-target.fifo");
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  grove_test::expect_error([&] { grove::AnnoyIndex(4, "euclidean").on_disk_build(fifo); }, grove::ErrorCode::Io,
                           "not a regular file");
  std::remove(fifo.c_str());
  grove_test::expect_error([&] { index.save(grove_test::temp_dir()); }, grove::ErrorCode::Io, "Is a directory");
  EXPECT_EQ(index.get_n_items(), 100);  // still built and answering
  std::vector<std::int32_t> nearest;
  index.get_nns_by_item(0, 1, -1, &nearest);
  EXPECT_EQ(nearest, std::vector<std::int32_t>{0});
  // Through a symlink, dangling at first: the target is written, the link kept.
  const std::string link = grove_test::temp_path("save-target-link.ann"), real = grove_test::temp_path("save-target-real.ann");
  std::remove(link.c_str());
  std::remove(real.c_str());
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  for (int round = 0; round < 2; ++round) {
    index.save(link);
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << "round " << round;
    ASSERT_EQ(::stat(real.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
  }
  grove::AnnoyIndex loaded(4, "euclidean");
  loaded.load(real);
  EXPECT_EQ(loaded.get_n_items(), 100);
  for (const std::string& p : {link, real, link + ".sq8"}) std::remove(p.c_str());
}

}  // namespace
