// Filtered search (grove::Filter): at an exhaustive search_k the answer is exactly the full
// ranking restricted to the allowed items, for every metric, every form of filter and every
// kind of data; a selective filter still returns n items; bad filters are named errors.
#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

using grove::ErrorCode;
using grove::Filter;
using grove_test::expect_error;

namespace {

// Gaussian values, small integers (many duplicate vectors and tied distances), tiny and
// huge magnitudes, and tight clusters.
std::vector<std::vector<float>> data(const std::string& kind, int n, int f, unsigned seed, bool bits) {
  auto items = grove_test::random_vectors(n, f, seed, bits);
  if (bits) return items;
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < items.size(); ++i)
    for (float& x : items[i]) {
      if (kind == "integers") x = static_cast<float>(rng() % 4);
      if (kind == "tiny") x *= 1e-6f;
      if (kind == "huge") x *= 1e6f;
      if (kind == "clustered") x = static_cast<float>(i % 5) * 10.0f + x * 0.01f;
    }
  return items;
}

// Item i allowed with probability `keep`, as a bitset, and the same as a list of ids.
std::vector<bool> allow(int n, double keep, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<bool> allowed(n);
  for (int i = 0; i < n; ++i) allowed[i] = std::uniform_real_distribution<double>(0, 1)(rng) < keep;
  return allowed;
}

// The unfiltered exhaustive ranking of every item, kept where allowed, first n.
void expected(const grove::AnnoyIndex& index, const std::vector<float>& q, const std::vector<bool>& allowed, int n,
              std::vector<std::int32_t>* ids, std::vector<float>* dists) {
  std::vector<std::int32_t> all;
  std::vector<float> all_d;
  const int items = index.get_n_items();
  index.get_nns_by_vector(q, items, items * index.get_n_trees(), &all, &all_d);
  for (std::size_t r = 0; r < all.size() && static_cast<int>(ids->size()) < n; ++r)
    if (allowed[all[r]]) {
      ids->push_back(all[r]);
      dists->push_back(all_d[r]);
    }
}

class FilterMetric : public ::testing::TestWithParam<std::string> {
 protected:
  bool bits() const { return GetParam() == "hamming"; }
};

TEST_P(FilterMetric, ExhaustiveFilteredSearchIsTheFullRankingOfTheAllowedItems) {
  const int n = 600, f = bits() ? 64 : 10, trees = 6;
  for (const std::string kind : {"gaussian", "integers", "tiny", "huge", "clustered"}) {
    if (bits() && kind != "gaussian") continue;
    auto items = data(kind, n, f, 7, bits());
    grove::AnnoyIndex index(f, GetParam());
    for (int i = 0; i < n; ++i) index.add_item(i, items[i]);
    index.build(trees, 1);
    auto queries = data(kind, 8, f, 8, bits());
    for (double keep : {0.01, 0.1, 0.5}) {
      const std::vector<bool> allowed = allow(n, keep, 9);
      std::vector<std::int32_t> list;
      for (int i = 0; i < n; ++i)
        if (allowed[i]) list.push_back(i);
      std::vector<std::uint8_t> packed((n + 7) / 8);
      for (int i = 0; i < n; ++i)
        if (allowed[i]) packed[i / 8] |= 1u << (i % 8);
      const Filter forms[] = {Filter::bits(allowed), Filter::bits(packed.data(), n), Filter::ids(list),
                              Filter::function([&](std::int32_t i) { return allowed[i] == true; })};
      for (const auto& q : queries) {
        std::vector<std::int32_t> want;
        std::vector<float> want_d;
        expected(index, q, allowed, 10, &want, &want_d);
        for (const Filter& filter : forms) {
          std::vector<std::int32_t> got;
          std::vector<float> got_d;
          index.get_nns_by_vector(q, 10, n * trees, &got, &got_d, filter);
          ASSERT_EQ(got, want) << kind << " keep " << keep;
          ASSERT_EQ(got_d, want_d) << kind << " keep " << keep;
        }
      }
      // By item, and in a batch (on two threads), the same.
      std::vector<std::int32_t> got, want;
      std::vector<float> got_d, want_d;
      index.get_nns_by_item(3, 5, n * trees, &got, &got_d, forms[2]);
      expected(index, items[3], allowed, 5, &want, &want_d);
      EXPECT_EQ(got, want) << kind;
      std::vector<float> flat;
      for (const auto& q : queries) flat.insert(flat.end(), q.begin(), q.end());
      std::vector<std::int32_t> batch(queries.size() * 10);
      std::vector<float> batch_d(queries.size() * 10);
      index.get_nns_by_vectors(flat.data(), queries.size(), 10, n * trees, batch.data(), batch_d.data(), 2, forms[0]);
      for (std::size_t k = 0; k < queries.size(); ++k) {
        std::vector<std::int32_t> one;
        std::vector<float> one_d;
        index.get_nns_by_vector(queries[k], 10, n * trees, &one, &one_d, forms[0]);
        one.resize(10, -1);
        EXPECT_EQ(std::vector<std::int32_t>(batch.begin() + k * 10, batch.begin() + k * 10 + 10), one);
      }
    }
  }
}

TEST_P(FilterMetric, ASelectiveFilterStillReturnsNAtTheDefaultSearchK) {
  const int n = 5000, f = bits() ? 64 : 16;
  auto items = grove_test::random_vectors(n, f, 11, bits());
  grove::AnnoyIndex index(f, GetParam());
  for (int i = 0; i < n; ++i) index.add_item(i, items[i]);
  index.build(10, 1);
  const std::vector<bool> allowed = allow(n, 0.01, 12);  // about 50 items
  auto queries = grove_test::random_vectors(20, f, 13, bits());
  for (const auto& q : queries) {
    // search_k = n: the trees find the same allowed items again and again, and the search
    // goes on until it has n distinct ones.
    for (int search_k : {-1, 10}) {
      std::vector<std::int32_t> got;
      index.get_nns_by_vector(q, 10, search_k, &got, nullptr, Filter::bits(allowed));
      ASSERT_EQ(got.size(), 10u) << "search_k " << search_k;
      for (std::int32_t id : got) EXPECT_TRUE(allowed[id]) << id;
      EXPECT_EQ(std::set<std::int32_t>(got.begin(), got.end()).size(), 10u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, FilterMetric,
                         ::testing::Values("angular", "euclidean", "manhattan", "dot", "hamming"));

TEST(Filter, AFilterThatAllowsNothingAnswersNothing) {
  grove::AnnoyIndex index(3, "euclidean");
  for (int i = 0; i < 50; ++i) index.add_item(i, std::vector<float>{float(i), 0, 0});
  index.build(3, 1);
  std::vector<std::int32_t> got;
  index.get_nns_by_vector(std::vector<float>{1, 0, 0}, 5, -1, &got, nullptr, Filter::bits(std::vector<bool>(50)));
  EXPECT_TRUE(got.empty());
  index.get_nns_by_vector(std::vector<float>{1, 0, 0}, 5, -1, &got, nullptr, Filter::ids({}));
  EXPECT_TRUE(got.empty());
}

TEST(Filter, BadFiltersAreNamedErrors) {
  grove::AnnoyIndex index(3, "euclidean");
  for (int i = 0; i < 50; ++i) index.add_item(i, std::vector<float>{float(i), 0, 0});
  index.build(3, 1);
  std::vector<std::int32_t> got;
  const std::vector<float> q{1, 0, 0};
  expect_error([&] { index.get_nns_by_vector(q, 5, -1, &got, nullptr, Filter::bits(std::vector<bool>(49))); },
               ErrorCode::InvalidArgument, "filter bitset has 49 items, the index has 50");
  expect_error([&] { index.get_nns_by_vector(q, 5, -1, &got, nullptr, Filter::ids({3, 50})); }, ErrorCode::OutOfRange,
               "filter allows id 50, but the index has 50 items (ids 0 to 49)");
  expect_error([&] { Filter::ids({3, -1}); }, ErrorCode::OutOfRange, "filter id -1 is negative");
  expect_error([&] { Filter::function(nullptr); }, ErrorCode::InvalidArgument, "filter function is empty");
  expect_error([&] { Filter::bits(nullptr, 4); }, ErrorCode::InvalidArgument, "filter bitset is null");
  std::vector<std::int32_t> ids(10);
  expect_error([&] { index.get_nns_by_vectors(q.data(), 1, 10, -1, ids.data(), nullptr, 1, Filter::bits(std::vector<bool>(51))); },
               ErrorCode::InvalidArgument, "filter bitset has 51 items");
  // A function that throws: its error reaches the caller, and the index answers on.
  expect_error([&] {
    index.get_nns_by_vector(q, 5, -1, &got, nullptr,
                            Filter::function([](std::int32_t) -> bool { throw grove::Error(ErrorCode::InvalidArgument, "no thanks"); }));
  }, ErrorCode::InvalidArgument, "no thanks");
  got.clear();
  index.get_nns_by_vector(q, 5, -1, &got, nullptr, Filter::ids({1, 2, 3}));
  EXPECT_EQ(got, (std::vector<std::int32_t>{1, 2, 3}));
}

TEST(Filter, ShardedFiltersNameGlobalIds) {
  const int n = 900, f = 6;
  auto items = grove_test::random_vectors(n, f, 21);
  grove::Manifest m;
  m.f = f;
  m.metric = grove::Metric::Euclidean;
  m.total_items = n;
  std::vector<std::unique_ptr<grove::Index>> shards;
  grove::AnnoyIndex whole(f, "euclidean");
  for (int i = 0; i < n; ++i) whole.add_item(i, items[i]);
  whole.build(4, 1);
  for (int s = 0; s < 3; ++s) {  // 300 items each: 300 is not a multiple of 8, so a window starts mid-byte
    grove::ShardInfo info;
    info.file = "s" + std::to_string(s) + ".ann";
    info.first_id = s * 300;
    info.items = 300;
    info.n_trees = 4;
    info.seed = 1;
    std::unique_ptr<grove::AnnoyIndex> shard(new grove::AnnoyIndex(f, "euclidean"));
    for (int i = 0; i < 300; ++i) shard->add_item(i, items[info.first_id + i]);
    shard->build(4, 1);
    shards.push_back(std::move(shard));
    m.shards.push_back(info);
  }
  grove::ShardedIndex sharded(m, std::move(shards));
  const std::vector<bool> allowed = allow(n, 0.05, 22);
  auto queries = grove_test::random_vectors(10, f, 23);
  for (const auto& q : queries) {
    std::vector<std::int32_t> got, want;
    std::vector<float> got_d, want_d;
    sharded.get_nns_by_vector(q.data(), 10, n * 4, &got, &got_d, Filter::bits(allowed));
    expected(whole, q, allowed, 10, &want, &want_d);
    EXPECT_EQ(got, want);
  }
  std::vector<std::int32_t> got;
  expect_error([&] { sharded.get_nns_by_vector(queries[0].data(), 5, -1, &got, nullptr, Filter::ids({900})); },
               ErrorCode::OutOfRange, "filter allows id 900, but the index has 900 items");
}

}  // namespace
