// Changes after build(): add_item() on a built index, remove_item(), thaw(). Each is checked
// against brute force over the items in the index at that moment, for every metric, before
// and after the image is written (settled into Annoy's layout) and read back.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "grove/grove.h"
#include "test_util.h"

namespace {

using grove::ErrorCode;
using grove_test::expect_error;

const char* const kMetrics[] = {"angular", "euclidean", "manhattan", "dot", "hamming"};

// Clustered real values: a few hundred centres, items spread around them at different scales.
std::vector<std::vector<float>> clustered(int n, int f, unsigned seed, bool bits) {
  if (bits) return grove_test::random_vectors(n, f, seed, true);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  auto centres = grove_test::random_vectors(50, f, seed + 1);
  std::vector<std::vector<float>> out(n, std::vector<float>(f));
  for (int i = 0; i < n; ++i) {
    const auto& c = centres[static_cast<std::size_t>(rng() % centres.size())];
    const float spread = i % 3 == 0 ? 0.05f : 0.5f;
    for (int j = 0; j < f; ++j) out[i][j] = 3 * c[j] + spread * normal(rng);
  }
  return out;
}

// The items now in the index: id -> vector.
using Live = std::map<std::int32_t, std::vector<float>>;

// Exhaustive queries answer exactly brute force over `live` (ids, distances up to rounding).
void expect_exact(const grove::Index& index, const std::string& metric, const Live& live,
                  const std::vector<std::vector<float>>& queries, const std::string& where) {
  std::vector<std::vector<float>> items;
  std::vector<std::int32_t> ids;
  for (const auto& entry : live) {
    ids.push_back(entry.first);
    items.push_back(entry.second);
  }
  const int exhaustive = index.get_n_items() * std::max(1, index.get_n_trees()) * 2 + 1000;
  for (const auto& q : queries) {
    std::vector<std::int32_t> got;
    std::vector<float> distances;
    index.get_nns_by_vector(q, 10, exhaustive, &got, &distances);
    const auto truth = grove_test::brute_force(metric, items, q, 10);
    ASSERT_EQ(got.size(), truth.size()) << where;
    for (std::size_t r = 0; r < got.size(); ++r) {
      ASSERT_TRUE(live.count(got[r])) << where << ": returned " << got[r] << ", not in the index";
      const double want = truth[r].second;
      EXPECT_NEAR(distances[r], want, 1e-3 * std::max(1.0, std::fabs(want))) << where << " rank " << r;
      // Ties may order differently; the distance says the rank is right.
      if (got[r] != ids[static_cast<std::size_t>(truth[r].first)]) {
        EXPECT_NEAR(grove_test::oracle_distance(metric, live.at(got[r]), q), want, 1e-3 * std::max(1.0, std::fabs(want)))
            << where;
      }
    }
  }
}

std::unique_ptr<grove::Index> reloaded(const grove::Index& index) {
  std::unique_ptr<grove::Index> copy(new grove::Index(index.get_f(), index.get_metric()));
  copy->deserialize(index.serialize());
  return copy;
}

TEST(Changes, AddAndRemoveAfterBuildMatchBruteForceForEveryMetric) {
  for (const std::string metric : kMetrics) {
    const bool bits = metric == "hamming";
    const int f = bits ? 70 : 16;
    auto items = clustered(1500, f, 7, bits);
    auto queries = clustered(12, f, 8, bits);
    grove::Index index(f, metric);
    Live live;
    for (int i = 0; i < 700; ++i) {
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    index.build(6);
    // New ids (past the end, so the trees move), with a gap left as a hole.
    for (int i = 700; i < 1500; ++i) {
      if (i == 900) continue;
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    // A third removed, one replaced, some removed and added again.
    std::mt19937 rng(3);
    for (int i = 0; i < 1500; ++i) {
      if (i == 900 || rng() % 3) continue;
      index.remove_item(i);
      live.erase(i);
    }
    for (int i = 0; i < 60; i += 3)
      if (!live.count(i)) {
        index.add_item(i, items[i]);
        live[i] = items[i];
      }
    const std::int32_t replaced = live.begin()->first;
    index.add_item(replaced, items[1]);
    live[replaced] = items[1];
    EXPECT_EQ(index.get_n_items(), 1500) << metric;
    expect_exact(index, metric, live, queries, metric + " in memory");
    auto copy = reloaded(index);
    expect_exact(*copy, metric, live, queries, metric + " written and read back");
    expect_exact(index, metric, live, queries, metric + " after writing");
    EXPECT_EQ(copy->serialize(), index.serialize()) << metric;
    // Unbuilt and built again: the removed items stay out.
    index.unbuild();
    index.build(4);
    expect_exact(index, metric, live, queries, metric + " rebuilt");
  }
}

TEST(Changes, RemovedItemsAreNeverReturnedAndSaySo) {
  const int f = 12;
  auto items = clustered(3000, f, 11, false);
  grove::AnnoyIndex index(f, "euclidean");
  for (int i = 0; i < 3000; ++i) index.add_item(i, items[i]);
  index.build(10);
  std::vector<std::int32_t> removed;
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i)
    if (rng() % 3 == 0) removed.push_back(i);
  index.remove_items(removed.data(), removed.size());
  std::set<std::int32_t> gone(removed.begin(), removed.end());
  auto check = [&](const grove::Index& idx, const std::string& where) {
    for (int q = 0; q < 3000; q += 37) {
      for (int search_k : {-1, 100, 3000}) {
        std::vector<std::int32_t> got;
        idx.get_nns_by_vector(items[q], 10, search_k, &got);
        EXPECT_EQ(got.size(), 10u) << where << ": a search finds n live items";
        for (std::int32_t id : got) EXPECT_FALSE(gone.count(id)) << where << ": returned removed item " << id;
      }
    }
    expect_error([&] { idx.get_item_vector(removed[0]); }, ErrorCode::OutOfRange, "was removed");
    expect_error([&] { idx.get_distance(removed[0], 1); }, ErrorCode::OutOfRange, "was removed");
    std::vector<std::int32_t> out;
    expect_error([&] { idx.get_nns_by_item(removed[0], 5, -1, &out); }, ErrorCode::OutOfRange, "was removed");
  };
  check(index, "in memory");
  const std::string path = grove_test::temp_path("changes-removed.ann");
  index.save(path);  // loaded from the file from here on
  EXPECT_TRUE(index.is_loaded());
  for (int q = 0; q < 3000; q += 37) {
    std::vector<std::int32_t> got;
    index.get_nns_by_vector(items[q], 10, -1, &got);
    for (std::int32_t id : got) EXPECT_FALSE(gone.count(id)) << "saved file returned removed item " << id;
  }
  // In the saved file removed items are holes: zeros, as Annoy reads ids never added.
  EXPECT_EQ(index.get_item_vector(removed[0]), std::vector<float>(f, 0.0f));
  EXPECT_EQ(index.get_n_items(), 3000);

  // A loaded index is read-only, and says how to get a copy that takes changes.
  expect_error([&] { index.remove_item(1); }, ErrorCode::WrongState, "thaw()");
  expect_error([&] { index.add_item(1, items[1]); }, ErrorCode::WrongState, "thaw()");
  const auto before = index.serialize();
  index.thaw();
  EXPECT_TRUE(index.is_built());
  EXPECT_EQ(index.serialize(), before) << "thaw() keeps the bytes";
  // Added back after the reload: found again.
  for (std::int32_t id : removed) index.add_item(id, items[id]);
  for (int q = 0; q < 3000; q += 101) {
    std::vector<std::int32_t> got;
    std::vector<float> distances;
    index.get_nns_by_vector(items[q], 1, -1, &got, &distances);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NEAR(distances[0], 0.0f, 1e-4) << "item " << q << " is found again";
  }
  std::remove(path.c_str());
  std::remove(grove::companion_path(path).c_str());
}

TEST(Changes, BadChangesAreNamedErrorsAndChangeNothing) {
  const int f = 8;
  auto items = clustered(200, f, 2, false);
  grove::Index index(f, "angular");
  for (int i = 0; i < 200; ++i) index.add_item(i, items[i]);
  index.build(4);
  index.remove_item(7);
  const auto before = index.serialize();
  expect_error([&] { index.remove_item(7); }, ErrorCode::InvalidArgument, "removed already");
  expect_error([&] { index.remove_item(200); }, ErrorCode::OutOfRange, "out of range");
  expect_error([&] { index.remove_item(-1); }, ErrorCode::OutOfRange, "negative");
  const std::int32_t twice[] = {3, 4, 3};
  expect_error([&] { index.remove_items(twice, 3); }, ErrorCode::InvalidArgument, "listed twice");
  const std::int32_t one_bad[] = {3, 4, 7};
  expect_error([&] { index.remove_items(one_bad, 3); }, ErrorCode::InvalidArgument, "removed already");
  expect_error([&] { index.remove_items(nullptr, 2); }, ErrorCode::InvalidArgument, "null");
  std::vector<float> bad(f, 0.0f);
  bad[2] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { index.add_item(300, bad.data()); }, ErrorCode::InvalidArgument, "non-finite");
  expect_error([&] { index.add_item(-4, items[0]); }, ErrorCode::OutOfRange, "negative");
  EXPECT_EQ(index.serialize(), before) << "a refused change changes nothing";
  EXPECT_EQ(index.get_item_vector(3), items[3]);

  // Before build a removed item is a hole; and an empty index built takes no items.
  grove::Index fresh(f, "euclidean");
  fresh.add_item(0, items[0]);
  fresh.add_item(1, items[1]);
  fresh.remove_item(0);
  expect_error([&] { fresh.remove_item(0); }, ErrorCode::InvalidArgument, "removed already");
  fresh.build(2);
  std::vector<std::int32_t> got;
  fresh.get_nns_by_vector(items[0], 5, -1, &got);
  EXPECT_EQ(got, std::vector<std::int32_t>{1});
  grove::Index empty(f, "euclidean");
  empty.build(-1);
  expect_error([&] { empty.add_item(0, items[0]); }, ErrorCode::WrongState, "no trees");
  grove::Index hole(f, "euclidean");
  hole.add_item(2, items[2]);
  expect_error([&] { hole.remove_item(1); }, ErrorCode::InvalidArgument, "never added");
}

// Adds between queries keep the compact copy in use: items it has no code for (new ids, ids
// that were holes, a replaced vector) are ranked on their floats, and answers stay exact.
TEST(Changes, AnswersStayExactAsItemsAreAddedBetweenQueries) {
  for (const std::string metric : {"euclidean", "angular", "manhattan", "dot"}) {
    const int f = 12;
    auto items = clustered(1100, f, 31, false);
    auto queries = clustered(6, f, 32, false);
    grove::Index index(f, metric);
    Live live;
    for (int i = 0; i < 1000; ++i) {
      if (i >= 10 && i < 20) continue;  // holes, filled after build
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    index.build(5);
    expect_exact(index, metric, live, queries, metric + " built");
    for (int i = 10; i < 20; ++i) {
      index.add_item(i, items[i]);
      live[i] = items[i];
      std::vector<std::int32_t> got;
      std::vector<float> distances;
      index.get_nns_by_vector(items[i], 1, -1, &got, &distances);
      ASSERT_EQ(got.size(), 1u);
      if (metric != "dot") {
        EXPECT_NEAR(distances[0], 0.0f, 1e-3) << metric << ": item " << i << " is found as soon as it is added";
      }
    }
    index.add_item(5, items[1050]);  // a new vector for an id the copy has a code for
    live[5] = items[1050];
    for (int i = 1000; i < 1040; ++i) {
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    expect_exact(index, metric, live, queries, metric + " after adds between queries");
    queries.push_back(items[1050]);
    expect_exact(index, metric, live, queries, metric + " the replaced item");
  }
}

// An index of fewer items than a bucket holds: every tree is the same bucket, and Annoy's
// loader counts the trees of such a file as 2n - 1. Changing, saving and loading it again and
// again must not multiply its trees.
TEST(Changes, TinyIndexesKeepTheirTreesThroughChangesAndReloads) {
  const int f = 8;
  auto items = clustered(20, f, 41, false);
  grove::Index index(f, "euclidean");
  for (int i = 0; i < 5; ++i) index.add_item(i, items[i]);
  index.build(10);
  std::int32_t trees = 0;
  for (int round = 0; round < 6; ++round) {
    index.add_item(5 + round, items[5 + round]);
    index.remove_item(round);
    auto copy = reloaded(index);
    if (round > 0) {
      EXPECT_EQ(copy->get_n_trees(), trees) << "round " << round;
    }
    trees = copy->get_n_trees();
    EXPECT_LE(trees, 19);  // a fresh build of 10 trees over 5 items loads as 19, as in Annoy
    index.deserialize(copy->serialize());
    index.thaw();
    std::vector<std::int32_t> got;
    index.get_nns_by_vector(items[5 + round], 3, -1, &got);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0], 5 + round);
  }
}

TEST(Changes, SmallIndexesGrowPastABucketAndShrinkBack) {
  // A bucket's worth of items makes every root a bucket; adds turn them into splits, and
  // removals down to a few items leave a split with a zero plane over them.
  for (const std::string metric : {"euclidean", "angular", "hamming"}) {
    const bool bits = metric == "hamming";
    const int f = bits ? 64 : 4;
    auto items = clustered(400, f, 4, bits);
    auto queries = clustered(5, f, 9, bits);
    grove::Index index(f, metric);
    Live live;
    for (int i = 0; i < 3; ++i) {
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    index.build(3);
    for (int i = 3; i < 400; ++i) {
      index.add_item(i, items[i]);
      live[i] = items[i];
    }
    expect_exact(index, metric, live, queries, metric + " grown");
    expect_exact(*reloaded(index), metric, live, queries, metric + " grown, read back");
    for (int i = 0; i < 398; ++i) {
      index.remove_item(i);
      live.erase(i);
    }
    expect_exact(index, metric, live, queries, metric + " shrunk");
    auto copy = reloaded(index);
    expect_exact(*copy, metric, live, queries, metric + " shrunk, read back");
    EXPECT_EQ(copy->get_n_trees(), 3) << metric;
  }
}

// unbuild() drops the trees but their nodes stay in memory past the items: ids added past the
// end afterwards leave holes that read as zeros and are never returned, as ids never added.
TEST(Changes, HolesAfterUnbuildAreZeros) {
  grove::Index index(4, "euclidean");
  for (int i = 0; i < 100; ++i) index.add_item(i, std::vector<float>{float(i), 0, 0, 0});
  index.build(5);
  index.unbuild();
  index.add_item(150, std::vector<float>{1000, 0, 0, 0});
  index.build(5);
  EXPECT_EQ(index.get_item_vector(120), std::vector<float>(4, 0.0f));
  for (float x : {0.0f, 50.0f, 120.0f, 900.0f}) {
    std::vector<std::int32_t> got;
    index.get_nns_by_vector(std::vector<float>{x, 0, 0, 0}, 20, 100000, &got);
    for (std::int32_t id : got) EXPECT_TRUE(id < 100 || id == 150) << "returned hole " << id;
  }
}

// Build on half, add the other half: recall at each search_k within 0.02 of a fresh build
// (Gaussian data here; GloVe and Fashion-MNIST are measured by bench/changes.mjs).
TEST(Changes, AddingHalfAfterBuildKeepsRecall) {
  const int f = 24, n = 8000;
  auto items = grove_test::random_vectors(n, f, 21);
  auto queries = grove_test::random_vectors(100, f, 22);
  grove::Index fresh(f, "angular"), grown(f, "angular");
  for (int i = 0; i < n; ++i) fresh.add_item(i, items[i]);
  for (int i = 0; i < n / 2; ++i) grown.add_item(i, items[i]);
  fresh.build(10);
  grown.build(10);
  for (int i = n / 2; i < n; ++i) grown.add_item(i, items[i]);
  fresh.set_graph_search(false);  // the trees against the trees: adds set the graph aside
  for (int search_k : {100, 300, 1000, 3000}) {
    double fresh_recall = 0, grown_recall = 0;
    for (const auto& q : queries) {
      const auto truth = grove_test::brute_force("angular", items, q, 10);
      std::vector<std::int32_t> a, b;
      fresh.get_nns_by_vector(q, 10, search_k, &a);
      grown.get_nns_by_vector(q, 10, search_k, &b);
      fresh_recall += grove_test::recall(a, truth) / queries.size();
      grown_recall += grove_test::recall(b, truth) / queries.size();
    }
    EXPECT_GT(grown_recall, fresh_recall - 0.02) << "search_k " << search_k << ": fresh " << fresh_recall;
  }
}

}  // namespace
