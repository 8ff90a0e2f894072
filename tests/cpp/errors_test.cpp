// Every bad input gives a grove::Error that names the problem, and leaves the index as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <sys/stat.h>

#include "test_util.h"

using grove::AnnoyIndex;
using grove::ErrorCode;

namespace {

using grove_test::expect_error;

AnnoyIndex small_built(const std::string& metric = "euclidean") {
  AnnoyIndex index(3, metric);
  auto items = grove_test::random_vectors(50, 3, 1);
  for (int i = 0; i < 50; ++i) index.add_item(i, items[i]);
  index.build(3, 1);
  return index;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(Errors, Constructor) {
  expect_error([] { AnnoyIndex(3, "cosinus"); }, ErrorCode::InvalidArgument, "unknown metric 'cosinus'");
  expect_error([] { AnnoyIndex(0, "angular"); }, ErrorCode::InvalidArgument, "dimension f must be between 1");
  expect_error([] { AnnoyIndex(-5, "angular"); }, ErrorCode::InvalidArgument, "got -5");
}

TEST(Errors, AddItem) {
  AnnoyIndex index(3, "angular");
  expect_error([&] { index.add_item(0, std::vector<float>{1, 2}); }, ErrorCode::InvalidArgument,
               "wrong length: expected 3, got 2");
  expect_error([&] { index.add_item(-1, {1, 2, 3}); }, ErrorCode::OutOfRange, "item id -1 is negative");
  expect_error([&] { index.add_item(std::numeric_limits<int32_t>::max(), {1, 2, 3}); }, ErrorCode::OutOfRange,
               "too large");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  expect_error([&] { index.add_item(0, {1, nan, 3}); }, ErrorCode::InvalidArgument, "non-finite value at index 1");
  expect_error([&] { index.add_item(0, {inf, 0, 3}); }, ErrorCode::InvalidArgument, "non-finite value at index 0");
  EXPECT_EQ(index.get_n_items(), 0);  // nothing was stored

  AnnoyIndex bits(3, "hamming");
  expect_error([&] { bits.add_item(0, {1, 0.5f, 0}); }, ErrorCode::InvalidArgument, "not 0 or 1");
}

TEST(Errors, NItemsIsMaxIdPlusOne) {
  AnnoyIndex index(2, "euclidean");
  index.add_item(9, {1, 1});
  index.add_item(3, {1, 1});
  EXPECT_EQ(index.get_n_items(), 10);
}

// As in Annoy (its test_no_items): an index with no items builds, saves and loads, and
// answers every query with nothing.
TEST(Errors, AnIndexWithNoItemsBuildsSavesLoadsAndAnswersNothing) {
  for (const char* metric : {"angular", "euclidean", "manhattan", "dot", "hamming"}) {
    AnnoyIndex empty(3, metric);
    empty.build(10);
    EXPECT_EQ(empty.get_n_items(), 0);
    const std::string path = grove_test::temp_path(std::string("no-items-") + metric + ".ann");
    empty.save(path);
    AnnoyIndex loaded(3, metric);
    loaded.load(path);
    EXPECT_EQ(loaded.get_n_items(), 0) << metric;
    std::vector<int32_t> ids;
    loaded.get_nns_by_vector({1, 0, 1}, 50, -1, &ids);
    EXPECT_TRUE(ids.empty()) << metric;
    empty.get_nns_by_vector({1, 0, 1}, 50, 1000, &ids);
    EXPECT_TRUE(ids.empty()) << metric;
    expect_error([&] { loaded.get_item_vector(0); }, ErrorCode::OutOfRange, "out of range");
  }
}

// build(-1) with no items makes no trees: an index of 0 bytes. freeze() (the wasm on-disk
// build calls it) used to hand its storage to the loader, which refused 0 bytes: the storage
// was gone and the next call read through a null pointer.
TEST(Errors, AnEmptyIndexOfNoTreesSurvivesFreeze) {
  grove::Index empty(3, "euclidean");
  empty.build(-1);
  EXPECT_EQ(empty.get_n_trees(), 0);
  empty.freeze();
  EXPECT_EQ(empty.serialized_size(), 0u);
  EXPECT_TRUE(empty.serialize().empty());
  empty.serialized_data();
  std::vector<int32_t> ids;
  empty.get_nns_by_vector(std::vector<float>{1, 0, 1}, 5, -1, &ids);
  EXPECT_TRUE(ids.empty());
  empty.unbuild();
  empty.add_item(0, std::vector<float>{1, 2, 3});
  empty.build(2);
  EXPECT_EQ(empty.get_n_items(), 1);
}

TEST(Errors, CallOrder) {
  AnnoyIndex empty(3, "angular");
  std::vector<int32_t> ids;
  expect_error([&] { empty.get_nns_by_vector({1, 2, 3}, 1, -1, &ids); }, ErrorCode::WrongState, "call build() or load()");
  expect_error([&] { empty.save(grove_test::temp_path("never.ann")); }, ErrorCode::WrongState, "not been built");

  AnnoyIndex index = small_built();
  index.add_item(60, {1, 2, 3});  // after build: into the trees (changes_test.cpp)
  expect_error([&] { index.build(3); }, ErrorCode::WrongState, "already built");
  expect_error([&] { index.on_disk_build(grove_test::temp_path("x.ann")); }, ErrorCode::WrongState,
               "before add_item()");

  AnnoyIndex adding(3, "angular");
  adding.add_item(0, {1, 2, 3});
  expect_error([&] { adding.on_disk_build(grove_test::temp_path("y.ann")); }, ErrorCode::WrongState,
               "on_disk_build() must be called before add_item()");

  const std::string path = grove_test::temp_path("order.ann");
  index.save(path);
  expect_error([&] { index.add_item(0, {1, 2, 3}); }, ErrorCode::WrongState, "loaded index");
  expect_error([&] { index.build(3); }, ErrorCode::WrongState, "loaded index");
  expect_error([&] { index.unbuild(); }, ErrorCode::WrongState, "loaded index");
  index.unload();
  expect_error([&] { index.get_nns_by_item(0, 1, -1, &ids); }, ErrorCode::WrongState, "call build() or load()");
  index.add_item(0, {1, 2, 3});  // after unload the index is empty and writable again
  std::remove(path.c_str());
}

TEST(Errors, BuildArguments) {
  AnnoyIndex index(3, "angular");
  index.add_item(0, {1, 2, 3});
  expect_error([&] { index.build(0); }, ErrorCode::InvalidArgument, "n_trees must be -1 (automatic) or at least 1, got 0");
  expect_error([&] { index.build(-2); }, ErrorCode::InvalidArgument, "got -2");
  expect_error([&] { index.build(5, 0); }, ErrorCode::InvalidArgument, "n_jobs must be -1");
  expect_error([&] { index.build(5, -3); }, ErrorCode::InvalidArgument, "n_jobs must be -1");
  EXPECT_FALSE(index.is_built());
  index.build(2);  // still usable
}

TEST(Errors, QueryArguments) {
  AnnoyIndex index = small_built();
  std::vector<int32_t> ids;
  expect_error([&] { index.get_nns_by_item(0, 0, -1, &ids); }, ErrorCode::InvalidArgument, "n must be at least 1, got 0");
  expect_error([&] { index.get_nns_by_item(0, -3, -1, &ids); }, ErrorCode::InvalidArgument, "got -3");
  expect_error([&] { index.get_nns_by_item(0, 5, 0, &ids); }, ErrorCode::InvalidArgument, "search_k must be -1");
  expect_error([&] { index.get_nns_by_item(0, 5, -2, &ids); }, ErrorCode::InvalidArgument, "got -2");
  expect_error([&] { index.get_nns_by_item(50, 5, -1, &ids); }, ErrorCode::OutOfRange, "item 50 is out of range: the index has 50 items");
  expect_error([&] { index.get_nns_by_item(-1, 5, -1, &ids); }, ErrorCode::OutOfRange, "item -1 is negative");
  expect_error([&] { index.get_nns_by_vector(std::vector<float>{1}, 5, -1, &ids); }, ErrorCode::InvalidArgument,
               "wrong length: expected 3, got 1");
  expect_error([&] { index.get_nns_by_vector({1, std::nanf(""), 0}, 5, -1, &ids); }, ErrorCode::InvalidArgument,
               "non-finite");
  expect_error([&] { index.get_item_vector(50); }, ErrorCode::OutOfRange, "out of range");
  expect_error([&] { index.get_distance(0, 99); }, ErrorCode::OutOfRange, "item 99");
  EXPECT_TRUE(ids.empty());
  index.get_nns_by_item(0, 5, -1, &ids);  // still usable
  EXPECT_EQ(ids.size(), 5u);
}

TEST(Errors, Files) {
  AnnoyIndex index(3, "euclidean");
  expect_error([&] { index.load(grove_test::temp_path("missing.ann")); }, ErrorCode::Io, "No such file");
  expect_error([&] { index.load(GROVE_TEST_TMP); }, ErrorCode::Io, "Is a directory");
  const std::string empty = grove_test::temp_path("empty.ann");
  write_file(empty, {});
  expect_error([&] { index.load(empty); }, ErrorCode::BadFormat, "empty");

  AnnoyIndex built = small_built();
  std::vector<std::uint8_t> bytes = built.serialize();
  const std::string truncated = grove_test::temp_path("truncated.ann");
  write_file(truncated, std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 7));
  expect_error([&] { index.load(truncated); }, ErrorCode::BadFormat, "not a multiple of the node size 28");

  // Another dimension or metric: the size does not divide, or the roots make no sense.
  AnnoyIndex wrong_dim(4, "euclidean");
  expect_error([&] { wrong_dim.deserialize(bytes); }, ErrorCode::BadFormat, "f=4, metric=euclidean");
  AnnoyIndex wrong_metric(3, "angular");
  expect_error([&] { wrong_metric.deserialize(bytes); }, ErrorCode::BadFormat, "metric=angular");

  expect_error([&] { built.save(grove_test::temp_path("no/such/folder/x.ann")); }, ErrorCode::Io, "cannot create");
  expect_error([&] { built.save(""); }, ErrorCode::Io, "path is empty");
  std::remove(empty.c_str());
  std::remove(truncated.c_str());
}

TEST(Errors, FailedLoadKeepsTheLoadedIndex) {
  AnnoyIndex index = small_built();
  std::vector<int32_t> before, after;
  index.get_nns_by_item(3, 5, -1, &before);
  EXPECT_THROW(index.load(grove_test::temp_path("missing.ann")), grove::Error);
  EXPECT_THROW(index.deserialize(std::vector<std::uint8_t>(5, 0)), grove::Error);
  index.get_nns_by_item(3, 5, -1, &after);
  EXPECT_EQ(before, after);
}

TEST(Errors, SaveOverAFileFailsCleanlyAndKeepsIt) {
  const std::string path = grove_test::temp_path("keep.ann");
  write_file(path, {1, 2, 3});
  AnnoyIndex empty(3, "euclidean");
  EXPECT_THROW(empty.save(path), grove::Error);  // refused before touching the file
  EXPECT_EQ(grove_test::read_bytes(path), (std::vector<std::uint8_t>{1, 2, 3}));
  // A built index whose write fails (the target is a folder) leaves the folder as it was and
  // no temporary file behind.
  const std::string folder = grove_test::temp_path("keep-folder.ann");
  ::mkdir(folder.c_str(), 0755);
  AnnoyIndex built = small_built();
  expect_error([&] { built.save(folder); }, ErrorCode::Io, "Is a directory");
  struct stat st;
  EXPECT_EQ(::stat(folder.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  std::vector<int32_t> ids;
  built.get_nns_by_item(0, 1, -1, &ids);  // still the built index
  EXPECT_EQ(ids, std::vector<int32_t>{0});
  ::rmdir(folder.c_str());
  std::remove(path.c_str());
}

// A file whose nodes point outside the file loads or is rejected, but never crashes.
TEST(Errors, CorruptChildrenAreRejectedOrHarmless) {
  AnnoyIndex built = small_built();
  std::vector<std::uint8_t> bytes = built.serialize();
  const std::size_t s = built.get_layout().node_size;
  // Point the last root's children far outside the file.
  std::vector<std::uint8_t> bad = bytes;
  const int32_t far = 1 << 30;
  std::memcpy(&bad[bad.size() - s + 8], &far, 4);
  AnnoyIndex index(3, "euclidean");
  expect_error([&] { index.deserialize(bad); }, ErrorCode::BadFormat, "points to node");
  // Corrupt an inner node: search skips the bad child.
  std::vector<std::uint8_t> inner = bytes;
  for (std::size_t at = 50 * s; at + s < inner.size() - 3 * s; at += s) std::memcpy(&inner[at + 8], &far, 4);
  index.deserialize(inner);
  std::vector<int32_t> ids;
  std::vector<float> dists;
  index.get_nns_by_vector({0.1f, 0.2f, 0.3f}, 10, -1, &ids, &dists);
  ASSERT_FALSE(ids.empty());  // the intact parts of the trees still find items
  for (std::size_t r = 0; r < ids.size(); ++r) {
    EXPECT_GE(ids[r], 0);
    EXPECT_LT(ids[r], index.get_n_items());
    EXPECT_TRUE(std::isfinite(dists[r]));
    if (r > 0) {
      EXPECT_LE(dists[r - 1], dists[r]);
    }
  }
}

TEST(Errors, MisalignedViewIsRejected) {
  AnnoyIndex built = small_built();
  std::vector<std::uint8_t> bytes = built.serialize();
  std::vector<std::uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  AnnoyIndex index(3, "euclidean");
  expect_error([&] { index.load_view(shifted.data() + 1, bytes.size()); }, ErrorCode::InvalidArgument, "aligned");
  index.deserialize(shifted.data() + 1, bytes.size());  // a copy is aligned
  EXPECT_EQ(index.get_n_items(), 50);
}

// H1: on wasm32 size_t is 32 bits. A sparse id whose nodes need more than 4 GiB used to wrap
// to a small block that later writes overran; every node count now goes through one checked
// size, and the default memory limit is the largest block wasm32 can allocate.
TEST(Errors, NodeBytesThatCannotBeAllocatedAreOutOfMemory) {
  AnnoyIndex big(65536, "euclidean");  // 262,160-byte nodes
  std::vector<float> v(65536, 1.0f);
  if (sizeof(std::size_t) == 4) {
    expect_error([&] { big.add_item(16383, v); }, ErrorCode::OutOfMemory, "over the memory limit");
    big.set_memory_limit(0);  // no limit but the platform's
    expect_error([&] { big.add_item(16383, v); }, ErrorCode::OutOfMemory, "more than this platform can allocate");
  } else {
    expect_error([&] { big.add_item(70000, v); }, ErrorCode::OutOfMemory, "over the memory limit");
  }
  EXPECT_EQ(big.get_n_items(), 0);
  AnnoyIndex other = small_built();  // made after the failures: unharmed
  big.add_item(1, v);
  big.add_item(0, v);
  big.build(1, 1);
  std::vector<std::int32_t> ids;
  other.get_nns_by_item(7, 3, -1, &ids);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 7);
  EXPECT_EQ(big.get_n_items(), 2);
}

// The float order cannot change under stored items, even through build -> set -> unbuild.
TEST(Errors, FloatOrderCannotChangeUnderStoredItems) {
  AnnoyIndex index = small_built();
  expect_error([&] { index.set_annoy_float_order(true); }, ErrorCode::WrongState, "before add_item()");
  index.unbuild();
  expect_error([&] { index.set_annoy_float_order(true); }, ErrorCode::WrongState, "before add_item()");
  index.set_annoy_float_order(false);  // unchanged: fine
}

// A batch whose output cannot be addressed is an error before anything is written.
TEST(Errors, BatchTooLargeToAddressIsOutOfMemory) {
  AnnoyIndex index = small_built();
  std::vector<float> q(3, 0.5f);
  std::vector<std::int32_t> ids(1);
  const std::size_t count = std::numeric_limits<std::size_t>::max() / 8;
  expect_error([&] { index.get_nns_by_vectors(q.data(), count, 16, -1, ids.data(), nullptr, 1); },
               ErrorCode::OutOfMemory, "larger than memory can address");
}

}  // namespace
