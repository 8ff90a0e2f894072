// One memory-mapped index queried from many threads and from two processes at once gives the
// same answers as single-threaded queries.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "test_util.h"

namespace {

constexpr int kF = 16;
constexpr int kQueries = 10000;  // per thread: 8 x 10,000 queries

std::string build_file() {
  const std::string path = grove_test::temp_path("concurrency.ann");
  grove::AnnoyIndex index(kF, "angular");
  auto items = grove_test::random_vectors(5000, kF, 31);
  for (int i = 0; i < 5000; ++i) index.add_item(i, items[i]);
  index.build(10);
  index.save(path);
  return path;
}

// All answers for the fixed queries, flattened.
std::vector<int32_t> answer_all(const grove::AnnoyIndex& index, const std::vector<std::vector<float>>& queries,
                                std::size_t begin, std::size_t end) {
  std::vector<int32_t> out;
  for (std::size_t q = begin; q < end; ++q) index.get_nns_by_vector(queries[q], 10, -1, &out);
  return out;
}

TEST(Concurrency, EightThreadsAgreeWithOne) {
  const std::string path = build_file();
  grove::AnnoyIndex index(kF, "angular");
  index.load(path);
  auto queries = grove_test::random_vectors(kQueries, kF, 32);
  const std::vector<int32_t> expected = answer_all(index, queries, 0, kQueries);

  std::vector<std::vector<int32_t>> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] { results[t] = answer_all(index, queries, 0, kQueries); });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(results[t], expected) << "thread " << t;
  std::remove(path.c_str());
}

// Without a companion file, the compact copy is made by whichever query comes first while
// the others wait: once, and with the answers of the exact ranking.
TEST(Concurrency, FirstQueriesMakeTheCompactCopyOnce) {
  const std::string path = build_file();
  std::remove(grove::companion_path(path).c_str());
  grove::AnnoyIndex exact(kF, "angular");
  exact.set_compact_scoring(false);
  exact.load(path);
  auto queries = grove_test::random_vectors(2000, kF, 33);
  const std::vector<int32_t> expected = answer_all(exact, queries, 0, queries.size());
  grove::AnnoyIndex index(kF, "angular");
  index.load(path);
  std::vector<std::vector<int32_t>> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] { results[t] = answer_all(index, queries, 0, queries.size()); });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(results[t], expected) << "thread " << t;
  std::remove(path.c_str());
}

TEST(Concurrency, TwoProcessesShareOneMappedFile) {
  const std::string path = build_file();
  auto queries = grove_test::random_vectors(kQueries, kF, 33);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the second process: map the file itself and send its answers back
    close(fds[0]);
    grove::AnnoyIndex index(kF, "angular");
    index.load(path);
    std::vector<int32_t> answers = answer_all(index, queries, 0, kQueries);
    const char* p = reinterpret_cast<const char*>(answers.data());
    std::size_t left = answers.size() * sizeof(int32_t);
    while (left > 0) {
      ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(1);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  grove::AnnoyIndex index(kF, "angular");
  index.load(path);
  std::vector<int32_t> mine = answer_all(index, queries, 0, kQueries);
  std::vector<int32_t> theirs(mine.size());
  char* p = reinterpret_cast<char*>(theirs.data());
  std::size_t left = theirs.size() * sizeof(int32_t);
  while (left > 0) {
    ssize_t n = read(fds[0], p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(theirs, mine);
  std::remove(path.c_str());
}

// Queries on three threads while the main thread loads, unloads, deserializes, builds and
// unbuilds the same index object: no crash (ASan and TSan run this), and each answer is the
// whole answer of one of the two indexes the object holds in turn, or a WrongState error.
TEST(Concurrency, QueriesDuringStateChanges) {
  constexpr int kItems = 1500;
  auto items_a = grove_test::random_vectors(kItems, kF, 41), items_b = grove_test::random_vectors(kItems, kF, 42);
  auto make = [&](const std::vector<std::vector<float>>& items, const std::string& path) {
    grove::AnnoyIndex index(kF, "angular");
    for (int i = 0; i < kItems; ++i) index.add_item(i, items[i]);
    index.build(5, 1);
    index.save(path);
  };
  const std::string path_a = grove_test::temp_path("concurrency-a.ann"), path_b = grove_test::temp_path("concurrency-b.ann");
  make(items_a, path_a);
  make(items_b, path_b);
  grove::AnnoyIndex a(kF, "angular"), b(kF, "angular");
  a.load(path_a);
  b.load(path_b);
  const std::vector<std::uint8_t> bytes_b = b.serialize();
  auto queries = grove_test::random_vectors(50, kF, 43);
  // Bytes alone have no companion, so no graph: the trees' answers.
  grove::AnnoyIndex b_trees(kF, "angular");
  b_trees.deserialize(bytes_b);
  std::vector<std::vector<int32_t>> expect_a, expect_b, expect_b_trees;
  for (const auto& q : queries) {
    expect_a.emplace_back();
    expect_b.emplace_back();
    expect_b_trees.emplace_back();
    a.get_nns_by_vector(q, 10, -1, &expect_a.back());
    b.get_nns_by_vector(q, 10, -1, &expect_b.back());
    b_trees.get_nns_by_vector(q, 10, -1, &expect_b_trees.back());
  }

  grove::AnnoyIndex index(kF, "angular");
  index.load(path_a);
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, refused{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t k = static_cast<std::size_t>(t); !stop.load(); k = (k + 1) % queries.size()) {
        std::vector<int32_t> ids;
        try {
          index.get_nns_by_vector(queries[k], 10, -1, &ids);
          index.get_item_vector(static_cast<std::int32_t>(k));
        } catch (const grove::Error& e) {
          // Between unload() and the next load, or while items are being added again.
          if (e.code() == grove::ErrorCode::WrongState || e.code() == grove::ErrorCode::OutOfRange) ++refused;
          else ++wrong;
          continue;
        }
        if (ids == expect_a[k] || ids == expect_b[k] || ids == expect_b_trees[k]) ++answered;
        else ++wrong;
      }
    });
  for (int round = 0; round < 12; ++round) {
    index.unload();
    index.load(round % 2 ? path_b : path_a);
    index.deserialize(bytes_b);
    index.unload();
    for (int i = 0; i < kItems; ++i) index.add_item(i, items_a[i]);
    index.build(5, 1);  // the same items and seed as path_a: the same trees
    index.unbuild();
    index.build(5, 1);
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(answered.load(), 0);
  std::printf("answered %d, refused %d\n", answered.load(), refused.load());
  for (const std::string& p : {path_a, path_b}) {
    std::remove(p.c_str());
    std::remove(grove::companion_path(p).c_str());
  }
}

// Queries and serialize() on other threads while items are added and removed after build:
// every answer is whole (n ids of items the index has held), and once the changes stop no
// removed item is ever returned.
TEST(Concurrency, QueriesDuringAddsAndRemoves) {
  auto items = grove_test::random_vectors(3000, kF, 51);
  auto queries = grove_test::random_vectors(40, kF, 52);
  grove::AnnoyIndex index(kF, "euclidean");
  for (int i = 0; i < 2000; ++i) index.add_item(i, items[i]);
  index.build(5, 1);
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t k = static_cast<std::size_t>(t); !stop.load(); k = (k + 1) % queries.size()) {
        std::vector<int32_t> ids;
        index.get_nns_by_vector(queries[k], 10, -1, &ids);
        bool whole = ids.size() == 10;
        for (int32_t id : ids) whole = whole && id >= 0 && id < 3000;
        if (whole) ++answered;
        else ++wrong;
      }
    });
  threads.emplace_back([&] {
    while (!stop.load()) {
      const std::vector<std::uint8_t> bytes = index.serialize();
      if (bytes.empty()) ++wrong;
    }
  });
  for (int i = 2000; i < 3000; ++i) {
    index.add_item(i, items[i]);
    if (i % 5 == 0) index.remove_item(i - 2000);
  }
  // On a loaded machine the adds can end before a query thread is first scheduled: let one
  // answer come (the queries go on until stop, so this ends).
  while (answered.load() == 0 && wrong.load() == 0) std::this_thread::yield();
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(answered.load(), 0);
  for (const auto& q : queries) {
    std::vector<int32_t> ids;
    index.get_nns_by_vector(q, 10, -1, &ids);
    for (int32_t id : ids) EXPECT_FALSE(id < 1000 && id % 5 == 0) << "removed item " << id;
  }
}

// A stop flag set from another thread cancels a build in either order: Cancelled, and the
// index is as before the call (items kept, unbuilt), so the next build works.
TEST(Concurrency, StopFlagCancelsABuildAndKeepsTheItems) {
  for (bool annoy_order : {false, true}) {
    grove::AnnoyIndex index(kF, "euclidean");
    index.set_annoy_float_order(annoy_order);
    auto items = grove_test::random_vectors(3000, kF, 41);
    for (int i = 0; i < 3000; ++i) index.add_item(i, items[i]);
    std::atomic<bool> stop{true};  // set before the build: it stops at its first node
    grove_test::expect_error([&] { index.build(10, 2, &stop); }, grove::ErrorCode::Cancelled, "cancelled");
    stop = false;
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      stop = true;
    });
    try {
      index.build(2000, 2, &stop);  // seconds of work, far more than 20 ms
      ADD_FAILURE() << "the build was not cancelled";
    } catch (const grove::Error& e) {
      EXPECT_EQ(e.code(), grove::ErrorCode::Cancelled) << e.what();
    }
    stopper.join();
    EXPECT_EQ(index.get_n_trees(), 0);
    EXPECT_FALSE(index.is_built());
    index.build(3);
    std::vector<int32_t> ids;
    index.get_nns_by_item(5, 1, -1, &ids);
    EXPECT_EQ(ids, std::vector<int32_t>{5});
    EXPECT_EQ(index.get_n_items(), 3000);
  }
}

}  // namespace
