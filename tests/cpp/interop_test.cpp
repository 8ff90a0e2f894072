// Interop with real Annoy (annoylib.h from Debian's r-cran-rcppannoy, Annoy 1.17.1): indexes
// built by Annoy load in Grove, indexes built by Grove load in Annoy, with the same answers;
// and both write the same bytes for the same items and seed.
#include <gtest/gtest.h>

#include <cstdio>

#include "test_util.h"

#ifdef GROVE_HAVE_ANNOY
#include "annoylib.h"
#include "kissrandom.h"
#endif

namespace {

#ifdef GROVE_HAVE_ANNOY

template <class Metric, class T>
using Annoy = AnnoyIndex<int32_t, T, Metric, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy>;


// Items as Grove takes them (floats; hamming: 0/1 bits) and as Annoy takes them (hamming: words).
std::vector<std::vector<float>> make_items(const std::string& metric, int n, int f, unsigned seed) {
  return grove_test::random_vectors(n, f, seed, metric == "hamming");
}

std::vector<std::uint64_t> pack(const std::vector<float>& bits) {
  std::vector<std::uint64_t> words((bits.size() + 63) / 64, 0);
  for (std::size_t j = 0; j < bits.size(); ++j)
    if (bits[j] > 0.5f) words[j / 64] |= std::uint64_t(1) << (j % 64);
  return words;
}

template <class Metric, class T>
void check_metric(const std::string& metric, bool grove_file_loads_in_annoy) {
  const int f = metric == "hamming" ? 128 : 12;
  const int annoy_f = metric == "hamming" ? 2 : f;
  auto items = make_items(metric, 800, f, 21);
  auto queries = make_items(metric, 20, f, 22);
  const std::string annoy_path = grove_test::temp_path("interop-annoy-" + metric + ".ann");
  const std::string grove_path = grove_test::temp_path("interop-grove-" + metric + ".ann");

  auto annoy_vec = [&](const std::vector<float>& v) {
    std::vector<T> out;
    if (metric == "hamming") {
      for (std::uint64_t w : pack(v)) out.push_back(static_cast<T>(w));
    } else {
      for (float x : v) out.push_back(static_cast<T>(x));
    }
    return out;
  };

  Annoy<Metric, T> annoy(annoy_f);
  for (int i = 0; i < 800; ++i) annoy.add_item(i, annoy_vec(items[i]).data());
  annoy.build(10);
  ASSERT_TRUE(annoy.save(annoy_path.c_str()));

  grove::AnnoyIndex grove_index(f, metric);
  grove_index.set_annoy_float_order(true);  // to compare bytes with Annoy's scalar build
  for (int i = 0; i < 800; ++i) grove_index.add_item(i, items[i]);
  grove_index.build(10, 2);
  grove_index.save(grove_path);

  // Annoy's file in Grove: same neighbours and distances as Annoy gives.
  grove::AnnoyIndex from_annoy(f, metric);
  from_annoy.load(annoy_path);
  EXPECT_EQ(from_annoy.get_n_trees(), annoy.get_n_trees());
  for (const auto& q : queries) {
    for (int search_k : {-1, 50, 5000}) {
      std::vector<int32_t> want, got;
      std::vector<T> want_d;
      std::vector<float> got_d;
      annoy.get_nns_by_vector(annoy_vec(q).data(), 10, search_k, &want, &want_d);
      from_annoy.get_nns_by_vector(q, 10, search_k, &got, &got_d);
      ASSERT_EQ(got, want) << metric << " search_k " << search_k;
      for (std::size_t r = 0; r < got.size(); ++r)
        EXPECT_NEAR(got_d[r], static_cast<float>(want_d[r]), 1e-5 * std::max(1.0, std::fabs(double(want_d[r]))));
    }
  }

  if (grove_file_loads_in_annoy) {
    // Same items, seed and single build stream: the files are the same.
    if (metric != "hamming") {
      EXPECT_TRUE(grove_test::read_bytes(grove_path) == grove_test::read_bytes(annoy_path)) << metric;
    }
    // Grove's file in Annoy: Annoy gives Grove's answers.
    Annoy<Metric, T> from_grove(annoy_f);
    ASSERT_TRUE(from_grove.load(grove_path.c_str()));
    EXPECT_EQ(from_grove.get_n_items(), 800);
    EXPECT_EQ(from_grove.get_n_trees(), 10);
    for (const auto& q : queries) {
      std::vector<int32_t> want, got;
      std::vector<float> want_d;
      std::vector<T> got_d;
      grove_index.get_nns_by_vector(q, 10, -1, &want, &want_d);
      from_grove.get_nns_by_vector(annoy_vec(q).data(), 10, -1, &got, &got_d);
      EXPECT_EQ(got, want) << metric;
    }
    from_grove.unload();
  }
  annoy.unload();
  std::remove(annoy_path.c_str());
  std::remove(grove_path.c_str());
}

TEST(Interop, Angular) { check_metric<Angular, float>("angular", true); }
TEST(Interop, Euclidean) { check_metric<Euclidean, float>("euclidean", true); }
TEST(Interop, Manhattan) { check_metric<Manhattan, float>("manhattan", true); }
TEST(Interop, Hamming) { check_metric<Hamming, std::uint64_t>("hamming", true); }
TEST(Interop, Dot) { check_metric<DotProduct, float>("dot", true); }

// An index Grove builds with its defaults (fast float order; dot: the released layout) loads
// in released Annoy, which then gives the exact neighbours at an exhaustive search_k.
template <class Metric>
void check_default_build_loads(const std::string& metric) {
  const int f = 20;
  auto items = grove_test::random_vectors(1200, f, 31);
  auto queries = grove_test::random_vectors(15, f, 32);
  const std::string path = grove_test::temp_path("interop-default-" + metric + ".ann");
  grove::AnnoyIndex grove_index(f, metric);
  for (int i = 0; i < 1200; ++i) grove_index.add_item(i, items[i]);
  grove_index.build(8);
  grove_index.save(path);
  Annoy<Metric, float> annoy(f);
  ASSERT_TRUE(annoy.load(path.c_str())) << metric;
  EXPECT_EQ(annoy.get_n_items(), 1200);
  EXPECT_EQ(annoy.get_n_trees(), 8);
  for (const auto& q : queries) {
    std::vector<int32_t> exact, got;
    std::vector<float> exact_d, got_d;
    grove_index.get_nns_by_vector(q, 10, 1200 * 8, &exact, &exact_d);
    annoy.get_nns_by_vector(q.data(), 10, 1200 * 8, &got, &got_d);
    EXPECT_EQ(got, exact) << metric;
    for (std::size_t r = 0; r < got.size() && r < exact.size(); ++r)
      EXPECT_NEAR(got_d[r], exact_d[r], 1e-4 * std::max(1.0f, std::fabs(exact_d[r])));
  }
  annoy.unload();
  std::remove(path.c_str());
}

TEST(Interop, DefaultBuildsLoadInReleasedAnnoy) {
  check_default_build_loads<Angular>("angular");
  check_default_build_loads<Euclidean>("euclidean");
  check_default_build_loads<Manhattan>("manhattan");
  check_default_build_loads<DotProduct>("dot");
}

// An index changed after build (half its items added then, a third removed, some of those
// added back) saves as a file released Annoy loads: the same trees, the same exhaustive
// answers as Grove's, and no removed item among them.
template <class Metric>
void check_changed_index_loads(const std::string& metric) {
  const int f = 16, n = 1200;
  auto items = grove_test::random_vectors(n, f, 41);
  auto queries = grove_test::random_vectors(15, f, 42);
  const std::string path = grove_test::temp_path("interop-changed-" + metric + ".ann");
  grove::AnnoyIndex grove_index(f, metric);
  for (int i = 0; i < n / 2; ++i) grove_index.add_item(i, items[i]);
  grove_index.build(8);
  for (int i = n / 2; i < n; ++i) grove_index.add_item(i, items[i]);
  std::vector<bool> removed(n, false);
  for (int i = 0; i < n; i += 3) {
    grove_index.remove_item(i);
    removed[i] = true;
  }
  for (int i = 0; i < 60; i += 6) {
    grove_index.add_item(i, items[i]);
    removed[i] = false;
  }
  grove_index.save(path);
  Annoy<Metric, float> annoy(f);
  ASSERT_TRUE(annoy.load(path.c_str())) << metric;
  EXPECT_EQ(annoy.get_n_items(), n);
  EXPECT_EQ(annoy.get_n_trees(), 8);
  for (const auto& q : queries) {
    std::vector<int32_t> exact, got;
    std::vector<float> exact_d, got_d;
    grove_index.get_nns_by_vector(q, 10, n * 8, &exact, &exact_d);
    annoy.get_nns_by_vector(q.data(), 10, n * 8, &got, &got_d);
    EXPECT_EQ(got, exact) << metric;
    for (int32_t id : got) EXPECT_FALSE(removed[static_cast<std::size_t>(id)]) << metric << ": Annoy returned removed item " << id;
    for (std::size_t r = 0; r < got.size() && r < exact.size(); ++r)
      EXPECT_NEAR(got_d[r], exact_d[r], 1e-4 * std::max(1.0f, std::fabs(exact_d[r])));
  }
  annoy.unload();
  std::remove(path.c_str());
  std::remove(grove::companion_path(path).c_str());
}

TEST(Interop, ChangedIndexesLoadInReleasedAnnoy) {
  check_changed_index_loads<Angular>("angular");
  check_changed_index_loads<Euclidean>("euclidean");
  check_changed_index_loads<Manhattan>("manhattan");
  check_changed_index_loads<DotProduct>("dot");
}

#else

TEST(Interop, RealAnnoy) {
  GTEST_SKIP() << "Annoy's annoylib.h was not found when configuring: install Debian's "
                  "r-cran-rcppannoy (npm test does) and re-run cmake";
}

#endif

}  // namespace
