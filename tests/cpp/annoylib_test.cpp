// Code written against Annoy's C++ API compiles against <grove/annoylib.h> with only its
// include lines changed, and answers as Annoy does: each pattern of Annoy's API, every metric,
// the char** error convention, and one program compiled against both (annoy_user_code.inc).
// Compiled as C++14, the oldest standard the public headers promise.
#include <grove/annoylib.h>
#include <grove/kissrandom.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "test_util.h"

#define ANNOY_USER_PRECISION grove_precision
#include "annoy_user_code.inc"

#ifdef GROVE_HAVE_ANNOY
double annoy_precision(int f, int n, int queries, const char* path);  // annoylib_real.cpp
#endif

namespace {

template <class Distance>
using FloatIndex = AnnoyIndex<int32_t, float, Distance, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy>;

std::string message_of(char* error) {
  std::string text = error ? error : "";
  std::free(error);
  return text;
}

TEST(AnnoyLib, ThreePointsRankAsInAnnoyForEveryFloatMetric) {
  const float items[3][2] = {{2, 2}, {3, 2}, {3, 3}};
  const float query[2] = {4, 4};
  auto ranked = [&](auto&& index) {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(index.add_item(i, items[i]));
    EXPECT_TRUE(index.build(10));
    vector<int32_t> ids;
    vector<float> distances;
    index.get_nns_by_vector(query, 3, -1, &ids, &distances);
    index.get_nns_by_vector(query, 3, -1, &ids, nullptr);  // appended, as Annoy does
    EXPECT_EQ(ids.size(), 6u);
    EXPECT_EQ(distances.size(), 3u);
    return ids;
  };
  EXPECT_EQ(ranked(FloatIndex<Euclidean>(2)), (vector<int32_t>{2, 1, 0, 2, 1, 0}));
  EXPECT_EQ(ranked(FloatIndex<Manhattan>(2)), (vector<int32_t>{2, 1, 0, 2, 1, 0}));
  EXPECT_EQ(ranked(FloatIndex<DotProduct>(2)), (vector<int32_t>{2, 1, 0, 2, 1, 0}));
  FloatIndex<Angular> angular(2);
  const float a[2] = {1, 0}, b[2] = {0, 1};
  angular.add_item(0, a);
  angular.add_item(1, b);
  EXPECT_NEAR(angular.get_distance(0, 1), std::sqrt(2.0f), 1e-6);
  EXPECT_EQ(angular.get_f(), 2);
}

TEST(AnnoyLib, ErrorsComeBackThroughCharStarStar) {
  FloatIndex<Euclidean> index(3);
  const float v[3] = {1, 2, 3};
  char* error = nullptr;
  EXPECT_FALSE(index.save(grove_test::temp_path("annoylib-unbuilt.ann").c_str(), false, &error));
  EXPECT_NE(message_of(error).find("not been built"), std::string::npos);
  error = nullptr;
  EXPECT_FALSE(index.load(grove_test::temp_path("annoylib-missing.ann").c_str(), false, &error));
  EXPECT_NE(message_of(error).find("No such file"), std::string::npos);
  EXPECT_FALSE(index.add_item(-1, v));  // no error pointer: just false
  EXPECT_TRUE(index.add_item(0, v));
  EXPECT_TRUE(index.build(-1));
  error = nullptr;
  EXPECT_FALSE(index.build(2, -1, &error));
  EXPECT_NE(message_of(error).find("already built"), std::string::npos);
  error = nullptr;
  // Annoy accepts an add after build and corrupts its index; Grove puts the item in the trees.
  EXPECT_TRUE(index.add_item(1, v, &error));
  vector<int32_t> ids;
  index.get_nns_by_vector(v, 5, -1, &ids, nullptr);
  EXPECT_EQ(ids.size(), 2u);
  ids.clear();
  index.get_nns_by_item(0, 0, -1, &ids, nullptr);  // n = 0 and search_k = 0: nothing, as Annoy
  index.get_nns_by_item(0, 5, 0, &ids, nullptr);
  EXPECT_TRUE(ids.empty());
  EXPECT_THROW(index.get_nns_by_item(7, 1, -1, &ids, nullptr), grove::Error);  // Annoy: out of bounds
  EXPECT_TRUE(index.unbuild());
  EXPECT_TRUE(index.add_item(1, v));
}

TEST(AnnoyLib, SaveLoadUnloadAndAnnoysFilesBothWays) {
  const std::string path = grove_test::temp_path("annoylib.ann");
  std::vector<std::vector<float>> items = grove_test::random_vectors(500, 8, 3);
  FloatIndex<Angular> index(8);
  index.set_seed(42);
  index.verbose(false);
  for (int i = 0; i < 500; ++i) index.add_item(i, items[static_cast<std::size_t>(i)].data());
  ASSERT_TRUE(index.build(10, 2));
  ASSERT_TRUE(index.save(path.c_str()));
  EXPECT_EQ(index.get_n_items(), 500);
  EXPECT_EQ(index.get_n_trees(), 10);
  vector<int32_t> before;
  vector<float> distances;
  index.get_nns_by_item(3, 10, -1, &before, &distances);
  index.unload();
  EXPECT_EQ(index.get_n_items(), 0);
  ASSERT_TRUE(index.load(path.c_str(), true));
  vector<int32_t> after;
  index.get_nns_by_item(3, 10, -1, &after, nullptr);
  EXPECT_EQ(after, before);
  float v[8];
  index.get_item(3, v);
  for (int z = 0; z < 8; ++z) EXPECT_EQ(v[z], items[3][static_cast<std::size_t>(z)]);
  grove::AnnoyIndex plain(8);  // Annoy's default metric, angular
  plain.load(path);
  std::vector<int32_t> same;
  plain.get_nns_by_item(3, 10, -1, &same);
  EXPECT_EQ(same, std::vector<int32_t>(after.begin(), after.end()));
  // Through Annoy's abstract interface, as code that holds indexes by pointer does.
  AnnoyIndexInterface<int32_t, float>* held = new FloatIndex<Angular>(8);
  EXPECT_TRUE(held->load(path.c_str()));
  EXPECT_EQ(held->get_n_items(), 500);
  delete held;
  std::remove(path.c_str());
  std::remove((path + ".sq8").c_str());
}

TEST(AnnoyLib, HammingTakesAnnoysSixtyFourBitWords) {
  AnnoyIndex<int32_t, uint64_t, Hamming, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> index(2);  // 128 bits
  const uint64_t a[2] = {0xF0F0F0F0F0F0F0F0ULL, 1}, b[2] = {0xF0F0F0F0F0F0F0F1ULL, 3}, c[2] = {0, 0};
  index.add_item(0, a);
  index.add_item(1, b);
  index.add_item(2, c);
  EXPECT_EQ(index.get_distance(0, 1), 2u);
  EXPECT_EQ(index.get_distance(0, 2), 33u);
  uint64_t back[2];
  index.get_item(1, back);
  EXPECT_EQ(back[0], b[0]);
  EXPECT_EQ(back[1], b[1]);
  index.build(5);
  vector<int32_t> ids;
  vector<uint64_t> distances;
  index.get_nns_by_vector(a, 3, -1, &ids, &distances);
  EXPECT_EQ(ids, (vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(distances, (vector<uint64_t>{0, 2, 33}));
}

TEST(AnnoyLib, OnDiskBuildIsTheFileAndSaveHasNothingToWrite) {
  const std::string path = grove_test::temp_path("annoylib-disk.ann");
  FloatIndex<Euclidean> index(2);
  ASSERT_TRUE(index.on_disk_build(path.c_str()));
  const float items[3][2] = {{2, 2}, {3, 2}, {3, 3}};
  for (int i = 0; i < 3; ++i) index.add_item(i, items[i]);
  ASSERT_TRUE(index.build(10));
  const std::string ignored = grove_test::temp_path("annoylib-ignored.ann");
  std::remove(ignored.c_str());
  EXPECT_TRUE(index.save(ignored.c_str()));  // as in Annoy: true, and nothing written there
  struct stat st;
  EXPECT_NE(::stat(ignored.c_str(), &st), 0) << "save() after an on-disk build wrote " << ignored;
  FloatIndex<Euclidean> other(2);
  ASSERT_TRUE(other.load(path.c_str()));
  vector<int32_t> ids;
  const float query[2] = {4, 2};
  other.get_nns_by_vector(query, 3, -1, &ids, nullptr);
  EXPECT_EQ(ids, (vector<int32_t>{1, 2, 0}));
  std::remove(path.c_str());
  std::remove((path + ".sq8").c_str());
}

TEST(AnnoyLib, Kiss32AndKiss64AreAnnoysGenerators) {
  Kiss64Random k64;
  grove::Kiss64 grove_rng;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(k64.kiss(), grove_rng.next());
  Kiss32Random k32(Kiss32Random::default_seed);
  const uint32_t first = k32.kiss();
  k32.set_seed(Kiss32Random::default_seed);
  EXPECT_EQ(k32.kiss(), first);
  for (int i = 0; i < 100; ++i) EXPECT_LT(k32.index(7), 7u);
}

// The same program, compiled against Grove's header and against Annoy's: Grove's recall at
// the default search_k is within a few points of Annoy's (and both find most of the 10 nearest).
TEST(AnnoyLib, AProgramWrittenForAnnoyAnswersAsAnnoyDoes) {
  const std::string path = grove_test::temp_path("precision.tree");
  const double grove = grove_precision(40, 20000, 100, path.c_str());
  EXPECT_GT(grove, 0.5);
  grove::AnnoyIndex saved(40, "angular");
  saved.load(path);  // save("precision.tree") wrote a float index every binding reads
  EXPECT_EQ(saved.get_n_items(), 20000);
  EXPECT_EQ(saved.get_n_trees(), 80);
#ifdef GROVE_HAVE_ANNOY
  const double annoy = annoy_precision(40, 20000, 100, grove_test::temp_path("precision-annoy.tree").c_str());
  std::printf("hit rate of the 10 nearest at search_k -1: Grove %.3f, Annoy %.3f\n", grove, annoy);
  EXPECT_GT(grove, annoy - 0.05) << "Grove " << grove << ", Annoy " << annoy;
  std::remove(grove_test::temp_path("precision-annoy.tree").c_str());
#endif
  std::remove(path.c_str());
  std::remove((path + ".sq8").c_str());
}

}  // namespace
