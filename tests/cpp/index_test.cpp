// Behaviour of the whole AnnoyIndex, per metric, against a brute-force oracle.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <tuple>

#include "test_util.h"

using grove_test::brute_force;
using grove_test::random_vectors;

namespace {

class MetricTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool bits() const { return GetParam() == "hamming"; }
  grove::AnnoyIndex make(int f, const std::vector<std::vector<float>>& items, int trees, int jobs = 1) const {
    grove::AnnoyIndex index(f, GetParam());
    for (std::size_t i = 0; i < items.size(); ++i) index.add_item(static_cast<int32_t>(i), items[i]);
    index.build(trees, jobs);
    return index;
  }
};

// With search_k covering every item in every tree, the search is exhaustive: the answer is
// the exact top k, with the oracle's distances.
TEST_P(MetricTest, ExhaustiveSearchIsExact) {
  const int f = bits() ? 70 : 12;
  auto items = random_vectors(500, f, 1, bits());
  auto queries = random_vectors(30, f, 2, bits());
  grove::AnnoyIndex index = make(f, items, 5);
  for (const auto& q : queries) {
    std::vector<int32_t> ids;
    std::vector<float> dists;
    index.get_nns_by_vector(q, 10, 500 * 5, &ids, &dists);
    auto truth = brute_force(GetParam(), items, q, 10);
    ASSERT_EQ(ids.size(), 10u);
    for (int r = 0; r < 10; ++r) {
      // Ties in distance may order differently only when the oracle's double values tie.
      EXPECT_NEAR(dists[r], truth[r].second, 1e-4 * std::max(1.0, std::fabs(truth[r].second)));
      EXPECT_NEAR(dists[r], grove_test::oracle_distance(GetParam(), items[ids[r]], q),
                  1e-4 * std::max(1.0, std::fabs(truth[r].second)));
    }
  }
}

TEST_P(MetricTest, ByItemFindsItselfFirstAndDistancesMatchOracle) {
  const int f = bits() ? 64 : 8;
  auto items = random_vectors(300, f, 3, bits());
  grove::AnnoyIndex index = make(f, items, 10);
  for (int32_t i = 0; i < 300; i += 7) {
    std::vector<int32_t> ids;
    std::vector<float> dists;
    index.get_nns_by_item(i, 5, -1, &ids, &dists);
    ASSERT_FALSE(ids.empty());
    if (GetParam() != "dot") {
      EXPECT_EQ(ids[0], i);
      EXPECT_NEAR(dists[0], 0.0f, 1e-3);  // angular: sqrt of a tiny rounding error
    }
    for (std::size_t r = 0; r < ids.size(); ++r) {
      const double want = grove_test::oracle_distance(GetParam(), items[i], items[ids[r]]);
      EXPECT_NEAR(dists[r], want, 1e-3 * std::max(1.0, std::fabs(want)));
    }
    for (int32_t j = 0; j < 300; j += 31)
      EXPECT_NEAR(index.get_distance(i, j), grove_test::oracle_distance(GetParam(), items[i], items[j]),
                  1e-3 * std::max(1.0, std::fabs(grove_test::oracle_distance(GetParam(), items[i], items[j]))));
  }
}

TEST_P(MetricTest, ResultsSortedNearestFirst) {
  const int f = bits() ? 64 : 10;
  auto items = random_vectors(1000, f, 4, bits());
  grove::AnnoyIndex index = make(f, items, 10);
  std::vector<int32_t> ids;
  std::vector<float> dists;
  index.get_nns_by_vector(random_vectors(1, f, 5, bits())[0], 50, -1, &ids, &dists);
  for (std::size_t r = 1; r < dists.size(); ++r) {
    if (GetParam() == "dot") {
      EXPECT_GE(dists[r - 1], dists[r]);
    } else {
      EXPECT_LE(dists[r - 1], dists[r]);
    }
  }
  EXPECT_EQ(std::set<int32_t>(ids.begin(), ids.end()).size(), ids.size());  // no duplicates
}

// recall@10 on 10k random vectors with enough trees and search_k.
TEST_P(MetricTest, RecallOn10kVectors) {
  const int f = bits() ? 128 : 20;
  auto items = random_vectors(10000, f, 6, bits());
  auto queries = random_vectors(100, f, 7, bits());
  grove::AnnoyIndex index = make(f, items, 20, -1);
  double total = 0;
  for (const auto& q : queries) {
    std::vector<int32_t> ids;
    std::vector<float> dists;
    index.get_nns_by_vector(q, 10, 20000, &ids, &dists);
    auto truth = brute_force(GetParam(), items, q, 10);
    if (bits()) {
      // Many items tie at the 10th distance: count results no farther than the true 10th.
      std::size_t good = 0;
      for (float d : dists) good += d <= truth.back().second ? 1 : 0;
      total += good / 10.0;
    } else {
      total += grove_test::recall(ids, truth);
    }
  }
  EXPECT_GE(total / queries.size(), 0.95) << GetParam();
}

TEST_P(MetricTest, SameSeedSameIndexAnyThreadCount) {
  const int f = bits() ? 64 : 16;
  auto items = random_vectors(3000, f, 8, bits());
  grove::AnnoyIndex a(f, GetParam()), b(f, GetParam()), c(f, GetParam());
  for (auto* index : {&a, &b, &c}) {
    index->set_seed(42);
    for (std::size_t i = 0; i < items.size(); ++i) index->add_item(static_cast<int32_t>(i), items[i]);
  }
  a.build(8, 1);
  b.build(8, 2);
  c.build(8, 4);
  EXPECT_TRUE(a.serialize() == b.serialize());
  EXPECT_TRUE(a.serialize() == c.serialize());

  grove::AnnoyIndex other_seed(f, GetParam());
  other_seed.set_seed(43);
  for (std::size_t i = 0; i < items.size(); ++i) other_seed.add_item(static_cast<int32_t>(i), items[i]);
  other_seed.build(8, 1);
  EXPECT_FALSE(a.serialize() == other_seed.serialize());
}

// Enough items that their code rows (128 bytes each) pass the 4 MB a subtree grows alone
// in: the first levels grow across the trees, then threads take whole subtrees. The same
// trees and codes whatever the number of threads (the graph is off: only the trees here).
TEST(LevelBuild, TreesGrownAsSubtreesOnThreadsAreTheSameForAnyThreadCount) {
  const int f = 128;
  const auto items = random_vectors(36000, f, 17);
  for (const char* metric : {"angular", "euclidean"}) {
    std::vector<std::uint8_t> bytes[2];
    for (int jobs : {1, 2}) {
      grove::AnnoyIndex index(f, metric);
      index.set_seed(7);
      index.set_graph_search(false);
      for (std::size_t i = 0; i < items.size(); ++i) index.add_item(static_cast<int32_t>(i), items[i]);
      index.build(3, jobs);
      bytes[jobs - 1] = index.serialize();
    }
    EXPECT_TRUE(bytes[0] == bytes[1]) << metric;
  }
}

TEST_P(MetricTest, SaveLoadAndSerializeGiveSameResults) {
  const int f = bits() ? 64 : 16;
  auto items = random_vectors(2000, f, 9, bits());
  grove::AnnoyIndex built = make(f, items, 10);
  const std::vector<std::uint8_t> bytes = built.serialize();
  const std::string path = grove_test::temp_path("saveload-" + GetParam() + ".ann");
  grove::AnnoyIndex saved = make(f, items, 10);
  saved.save(path);
  EXPECT_TRUE(saved.is_loaded());

  grove::AnnoyIndex loaded(f, GetParam());
  loaded.load(path, true);
  grove::AnnoyIndex copied(f, GetParam());
  copied.deserialize(bytes);
  grove::AnnoyIndex viewed(f, GetParam());
  viewed.load_view(bytes.data(), bytes.size());
  EXPECT_TRUE(grove_test::read_bytes(path) == bytes);

  for (auto* index : {&loaded, &copied, &viewed, &saved}) {
    EXPECT_EQ(index->get_n_items(), 2000);
    EXPECT_EQ(index->get_n_trees(), 10);
  }
  // The saved index has its companion, and with it the graph built() walks; bytes alone
  // are Annoy's file, searched by the trees (built with graph search off answers the same).
  for (const auto& q : random_vectors(20, f, 10, bits())) {
    std::vector<int32_t> want, want_trees, got;
    std::vector<float> want_d, want_trees_d, got_d;
    built.get_nns_by_vector(q, 10, -1, &want, &want_d);
    built.set_graph_search(false);
    built.get_nns_by_vector(q, 10, -1, &want_trees, &want_trees_d);
    built.set_graph_search(true);
    for (auto* index : {&loaded, &copied, &viewed, &saved}) {
      const bool trees = index == &copied || index == &viewed;
      SCOPED_TRACE(index == &loaded ? "loaded" : index == &copied ? "copied" : index == &viewed ? "viewed" : "saved");
      got.clear();
      got_d.clear();
      index->get_nns_by_vector(q, 10, -1, &got, &got_d);
      EXPECT_EQ(got, trees ? want_trees : want);
      EXPECT_EQ(got_d, trees ? want_trees_d : want_d);
    }
  }
  for (int32_t i = 0; i < 2000; i += 97) EXPECT_EQ(loaded.get_item_vector(i), items[i]);
  std::remove(path.c_str());
}

TEST_P(MetricTest, OnDiskBuildWritesTheSameFile) {
#ifdef __EMSCRIPTEN__
  GTEST_SKIP() << "emscripten's mmap is a private copy; the wasm package builds in memory (js/)";
#endif
  const int f = bits() ? 64 : 8;
  auto items = random_vectors(1500, f, 11, bits());
  grove::AnnoyIndex memory = make(f, items, 6);
  const std::string path = grove_test::temp_path("ondisk-" + GetParam() + ".ann");
  grove::AnnoyIndex disk(f, GetParam());
  disk.on_disk_build(path);
  for (std::size_t i = 0; i < items.size(); ++i) disk.add_item(static_cast<int32_t>(i), items[i]);
  disk.build(6, 1);
  EXPECT_TRUE(grove_test::read_bytes(path) == memory.serialize());  // no save() needed
  std::vector<int32_t> a, b;
  memory.get_nns_by_item(5, 10, -1, &a);
  disk.get_nns_by_item(5, 10, -1, &b);
  EXPECT_EQ(a, b);
  grove::AnnoyIndex reopened(f, GetParam());
  reopened.load(path);
  std::vector<int32_t> c;
  reopened.get_nns_by_item(5, 10, -1, &c);
  EXPECT_EQ(a, c);
  std::remove(path.c_str());
}

TEST_P(MetricTest, BatchQueriesMatchSingleQueries) {
  const int f = bits() ? 64 : 8;
  auto items = random_vectors(1000, f, 12, bits());
  auto queries = random_vectors(25, f, 13, bits());
  grove::AnnoyIndex index = make(f, items, 5);
  std::vector<float> flat;
  for (const auto& q : queries) flat.insert(flat.end(), q.begin(), q.end());
  std::vector<int32_t> ids(25 * 10);
  std::vector<float> dists(25 * 10);
  index.get_nns_by_vectors(flat.data(), 25, 10, -1, ids.data(), dists.data(), 2);
  for (std::size_t q = 0; q < queries.size(); ++q) {
    std::vector<int32_t> want;
    std::vector<float> want_d;
    index.get_nns_by_vector(queries[q], 10, -1, &want, &want_d);
    EXPECT_EQ(std::vector<int32_t>(ids.begin() + q * 10, ids.begin() + q * 10 + want.size()), want);
    EXPECT_EQ(std::vector<float>(dists.begin() + q * 10, dists.begin() + q * 10 + want_d.size()), want_d);
  }
  // Rows with fewer than n results are padded with id -1 and distance NaN.
  std::vector<int32_t> wide(2 * 1500);
  std::vector<float> wide_d(2 * 1500);
  index.get_nns_by_vectors(flat.data(), 2, 1500, -1, wide.data(), wide_d.data(), 1);
  for (int row = 0; row < 2; ++row) {
    std::vector<int32_t> want;
    index.get_nns_by_vector(queries[row], 1500, -1, &want);
    ASSERT_LT(want.size(), 1500u);
    for (std::size_t r = want.size(); r < 1500; ++r) {
      EXPECT_EQ(wide[row * 1500 + r], -1);
      EXPECT_TRUE(std::isnan(wide_d[row * 1500 + r]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, MetricTest,
                         ::testing::Values("angular", "euclidean", "manhattan", "dot", "hamming"));

TEST(Index, HolesAreNeverReturnedAndCountInNItems) {
  grove::AnnoyIndex index(4, "euclidean");
  auto items = random_vectors(300, 4, 14);
  for (int i = 0; i < 300; ++i) index.add_item(i * 3 + 1, items[i]);  // ids 1, 4, 7, ...
  EXPECT_EQ(index.get_n_items(), 299 * 3 + 2);
  index.build(10, 1);
  for (int32_t i = 1; i < 900; i += 30) {
    std::vector<int32_t> ids;
    index.get_nns_by_item(i, 50, 100000, &ids);
    EXPECT_EQ(ids.size(), 50u);
    for (int32_t id : ids) EXPECT_EQ(id % 3, 1) << "hole " << id << " returned";
  }
  EXPECT_EQ(index.get_item_vector(0), std::vector<float>(4, 0.0f));  // a hole reads as zeros
}

TEST(Index, SingleFarIdIsFound) {
  grove::AnnoyIndex index(3, "angular");
  index.add_item(100000, {1, 0, 0});
  index.add_item(100001, {0, 1, 0});
  index.build(20, 1);
  std::vector<int32_t> ids;
  index.get_nns_by_vector({1, 0.1f, 0}, 10, -1, &ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{100000, 100001}));
}

TEST(Index, AutomaticTreeCountFollowsAnnoysRule) {
  // Annoy builds trees until the nodes reach twice the items; how many that takes depends on
  // the leaf packing, so check the rule itself rather than a count.
  auto items = random_vectors(1000, 16, 15);
  grove::AnnoyIndex index(16, "angular");
  for (int i = 0; i < 1000; ++i) index.add_item(i, items[i]);
  index.build(-1, 1);
  EXPECT_GE(index.get_n_trees(), 2);
  EXPECT_GE(index.serialized_size() / index.get_layout().node_size, 2000u);
}

TEST(Index, UnbuildThenAddAndRebuild) {
  grove::AnnoyIndex index(2, "euclidean");
  index.add_item(0, {0, 0});
  index.add_item(1, {1, 1});
  index.build(2, 1);
  index.unbuild();
  index.add_item(2, {0.1f, 0.1f});
  index.build(2, 1);
  std::vector<int32_t> ids;
  index.get_nns_by_vector({0.09f, 0.09f}, 1, -1, &ids);
  EXPECT_EQ(ids, std::vector<int32_t>{2});
}

TEST(Index, CosineIsAnAliasForAngular) {
  grove::AnnoyIndex index(3, "cosine");
  EXPECT_EQ(index.get_metric(), grove::Metric::Angular);
}

TEST(Index, AngularKnownDistances) {
  // Cases from Annoy's own tests: parallel vectors are 0 apart, opposite ones 2, zero sqrt(2).
  grove::AnnoyIndex index(2, "angular");
  index.add_item(0, {1000, 0});
  index.add_item(1, {10, 0});
  index.add_item(2, {-3, 0});
  index.add_item(3, {0, 0});
  EXPECT_FLOAT_EQ(index.get_distance(0, 1), 0.0f);
  EXPECT_FLOAT_EQ(index.get_distance(0, 2), 2.0f);
  EXPECT_FLOAT_EQ(index.get_distance(0, 3), std::sqrt(2.0f));
}

TEST(Index, DotReturnsLargestInnerProductFirst) {
  grove::AnnoyIndex index(2, "dot");
  index.add_item(0, {2, 2});
  index.add_item(1, {3, 2});
  index.add_item(2, {3, 3});
  index.build(10, 1);
  std::vector<int32_t> ids;
  std::vector<float> dists;
  index.get_nns_by_vector({4, 2}, 3, -1, &ids, &dists);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 1, 0}));
  EXPECT_EQ(dists, (std::vector<float>{18, 16, 12}));
}

TEST(Index, MoveKeepsTheIndex) {
  grove::AnnoyIndex a(2, "euclidean");
  a.add_item(0, {0, 0});
  a.add_item(1, {5, 5});
  a.build(1, 1);
  grove::AnnoyIndex b = std::move(a);
  std::vector<int32_t> ids;
  b.get_nns_by_vector({4, 4}, 1, -1, &ids);
  EXPECT_EQ(ids, std::vector<int32_t>{1});
}

}  // namespace

namespace {

// Annoy's own precision test (test_precision_1 / _10 of its euclidean and manhattan suites):
// 10,000 points on random rays, point j at distance j from the origin (f = 10), 10 trees,
// and the origin as the query; the points nearest it must be found at the default search_k.
// The data span 0..10,000 while the answers sit within 10 of the origin, far below one step
// of an 8-bit code: Grove's default build must split such nodes as well as Annoy's does.
class PrecisionTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(PrecisionTest, AnnoysPrecisionTestWithDefaults) {
  const std::string metric = std::get<0>(GetParam());
  const int n = std::get<1>(GetParam());
  constexpr int kF = 10, kPoints = 10000, kRounds = 3;
  std::mt19937 rng(1234);
  std::normal_distribution<float> gauss;
  int found = 0;
  for (int round = 0; round < kRounds; ++round) {
    grove::AnnoyIndex index(kF, metric);
    index.set_seed(static_cast<std::uint64_t>(round + 1));
    for (int j = 0; j < kPoints; ++j) {
      std::vector<float> p(kF);
      double norm = 0;
      for (float& x : p) {
        x = gauss(rng);
        norm += static_cast<double>(x) * x;
      }
      const float length = metric == "manhattan" ? 1.0f : static_cast<float>(std::sqrt(norm));
      if (metric == "manhattan") {
        double l1 = 0;
        for (float x : p) l1 += std::fabs(x);
        for (float& x : p) x = static_cast<float>(x / l1 * j);
      } else {
        for (float& x : p) x = x / length * static_cast<float>(j);
      }
      index.add_item(j, p);
    }
    index.build(10, 1);
    std::vector<std::int32_t> ids;
    index.get_nns_by_vector(std::vector<float>(kF, 0.0f), n, -1, &ids);
    for (std::int32_t id : ids) found += id < n;
  }
  const double precision = static_cast<double>(found) / (n * kRounds);
  EXPECT_GE(precision, 0.98) << metric << " n=" << n;
}

INSTANTIATE_TEST_SUITE_P(Annoy, PrecisionTest,
                         ::testing::Combine(::testing::Values("euclidean", "manhattan"), ::testing::Values(1, 10)));

}  // namespace
