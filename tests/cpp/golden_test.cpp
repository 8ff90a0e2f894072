// Indexes written by real Annoy (tests/data/annoy, see its README) load in Grove with the
// same neighbours and distances, and Grove rebuilds the same files from the same items.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "test_util.h"

using grove_test::data_path;
using json = nlohmann::json;

namespace {

struct Golden {
  std::string name;    // results file stem, e.g. "angular" or "dot-main/dot"
  std::string metric;
  bool byte_identical;  // Annoy's file has no uninitialised bytes we must mask
  grove::DotLayout dot_layout = grove::DotLayout::Released;
};

json load_json(const std::string& path) {
  std::ifstream in(data_path(path));
  return json::parse(in);
}

// Hamming vectors are stored as raw words; Grove takes bits (bit j = bit j%64 of word j/64).
std::vector<float> words_to_bits(const std::uint64_t* words, int n_words) {
  std::vector<float> bits(64 * n_words);
  for (int j = 0; j < 64 * n_words; ++j) bits[j] = (words[j / 64] >> (j % 64)) & 1 ? 1.0f : 0.0f;
  return bits;
}

struct Fixture {
  json spec;
  int f = 0;
  std::vector<std::vector<float>> items, queries;
};

Fixture read_fixture(const Golden& g) {
  Fixture fx;
  fx.spec = load_json(g.name + ".json");
  const std::string stem = g.name;
  const int f = fx.spec["f"];
  if (g.metric == "hamming") {
    fx.f = 64 * f;
    auto words = grove_test::read_array<std::uint64_t>(data_path(stem + ".items.u64"));
    for (std::size_t i = 0; i < words.size(); i += f) fx.items.push_back(words_to_bits(&words[i], f));
    auto qwords = grove_test::read_array<std::uint64_t>(data_path(stem + ".queries.u64"));
    for (std::size_t i = 0; i < qwords.size(); i += f) fx.queries.push_back(words_to_bits(&qwords[i], f));
  } else {
    fx.f = f;
    auto vals = grove_test::read_array<float>(data_path(stem + ".items.f32"));
    for (std::size_t i = 0; i < vals.size(); i += f) fx.items.emplace_back(vals.begin() + i, vals.begin() + i + f);
    auto q = grove_test::read_array<float>(data_path(stem + ".queries.f32"));
    for (std::size_t i = 0; i < q.size(); i += f) fx.queries.emplace_back(q.begin() + i, q.begin() + i + f);
  }
  return fx;
}

void expect_same(const json& expected, const std::vector<int32_t>& ids, const std::vector<float>& dists,
                 const std::string& what) {
  std::vector<int32_t> want_ids = expected["ids"].get<std::vector<int32_t>>();
  std::vector<double> want_d = expected["distances"].get<std::vector<double>>();
  ASSERT_EQ(ids, want_ids) << what;
  ASSERT_EQ(dists.size(), want_d.size()) << what;
  for (std::size_t i = 0; i < dists.size(); ++i)
    EXPECT_NEAR(dists[i], want_d[i], 1e-5 * std::max(1.0, std::fabs(want_d[i]))) << what << " rank " << i;
}

bool close(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b, std::size_t at) {
  float x, y;
  std::memcpy(&x, &a[at], 4);
  std::memcpy(&y, &b[at], 4);
  return std::fabs(x - y) <= 1e-5f * std::max(1.0f, std::fabs(x));
}

// Dot nodes (current layout): n_descendants | children[2] | dot_factor | norm | built | v.
bool same_dot_node(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b, bool split) {
  int32_t count;
  std::memcpy(&count, a.data(), 4);
  if (!split && count != 1) return a == b;  // a leaf bucket: its ids must match exactly
  if (std::memcmp(a.data(), b.data(), 12) != 0) return false;
  if (!close(a, b, 12)) return false;
  if (!split && (!close(a, b, 16) || a[20] != b[20])) return false;  // items: norm, built flag
  for (std::size_t at = 24; at < a.size(); at += 4)
    if (split ? !close(a, b, at) : std::memcmp(&a[at], &b[at], 4) != 0) return false;
  return true;
}

class GoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenTest, LoadsWithAnnoysResults) {
  const Golden& g = GetParam();
  Fixture fx = read_fixture(g);
  grove::AnnoyIndex index(fx.f, g.metric);
  index.load(data_path(g.name + ".ann"));
  EXPECT_EQ(index.get_n_items(), fx.spec["loaded"]["n_items"].get<int>());
  EXPECT_EQ(index.get_n_trees(), fx.spec["loaded"]["n_trees"].get<int>());
  EXPECT_EQ(index.serialized_size(), fx.spec["loaded"]["file_bytes"].get<std::size_t>());

  const int k = fx.spec["k"];
  for (const json& q : fx.spec["by_item"]) {
    for (auto it = q["annoy"].begin(); it != q["annoy"].end(); ++it) {
      std::vector<int32_t> ids;
      std::vector<float> dists;
      index.get_nns_by_item(q["item"], k, std::stoi(it.key()), &ids, &dists);
      expect_same(it.value(), ids, dists, "item " + q["item"].dump() + " search_k " + it.key());
    }
  }
  for (const json& q : fx.spec["by_vector"]) {
    const std::vector<float>& v = fx.queries.at(q["query"].get<std::size_t>());
    for (auto it = q["annoy"].begin(); it != q["annoy"].end(); ++it) {
      std::vector<int32_t> ids;
      std::vector<float> dists;
      index.get_nns_by_vector(v, k, std::stoi(it.key()), &ids, &dists);
      expect_same(it.value(), ids, dists, "vector " + q["query"].dump() + " search_k " + it.key());
    }
    std::vector<int32_t> exhaustive;
    index.get_nns_by_vector(v, k, 100000, &exhaustive);
    EXPECT_EQ(exhaustive, q["exact"]["ids"].get<std::vector<int32_t>>());
  }
  for (const json& d : fx.spec["get_distance"])
    EXPECT_NEAR(index.get_distance(d[0], d[1]), d[2].get<double>(), 1e-5 * std::max(1.0, std::fabs(d[2].get<double>())));
  for (std::size_t i = 0; i < fx.items.size(); ++i)
    ASSERT_EQ(index.get_item_vector(static_cast<int32_t>(i)), fx.items[i]) << "item " << i;
}

// Grove builds the same trees as Annoy from the same items and seed, so the file matches
// byte for byte, except the bytes Annoy leaves uninitialised (hamming and dot split nodes),
// which Grove writes as zeros.
TEST_P(GoldenTest, RebuildGivesAnnoysFile) {
  const Golden& g = GetParam();
  Fixture fx = read_fixture(g);
  grove::AnnoyIndex index(fx.f, g.metric);
  index.set_annoy_float_order(true);
  index.set_dot_layout(g.dot_layout);
  for (std::size_t i = 0; i < fx.items.size(); ++i) index.add_item(static_cast<int32_t>(i), fx.items[i]);
  index.build(fx.spec["n_trees_requested"].get<int>(), 1);
  std::vector<std::uint8_t> ours = index.serialize();
  std::vector<std::uint8_t> annoy = grove_test::read_bytes(data_path(g.name + ".ann"));
  ASSERT_EQ(ours.size(), annoy.size());
  if (g.byte_identical) {
    EXPECT_TRUE(ours == annoy);
    return;
  }
  const grove::NodeLayout& layout = index.get_layout();
  const std::size_t s = layout.node_size;
  std::size_t differing_nodes = 0;
  for (std::size_t at = 0; at < ours.size(); at += s) {
    int32_t count;
    std::memcpy(&count, &ours[at], 4);
    const bool split = count > static_cast<int32_t>(layout.max_bucket());
    std::vector<std::uint8_t> a(ours.begin() + at, ours.begin() + at + s), b(annoy.begin() + at, annoy.begin() + at + s);
    if (split && g.metric == "hamming") {  // only n_descendants, children and v[0] are set
      std::fill(a.begin() + 12, a.begin() + 16, 0), std::fill(b.begin() + 12, b.begin() + 16, 0);
      std::fill(a.begin() + 24, a.end(), 0), std::fill(b.begin() + 24, b.end(), 0);
    }
    if (g.metric == "dot") {
      // Annoy leaves norm and built unset on split nodes, and squares some floats in double
      // precision, so planes can differ in the last bits: compare the tree structure exactly
      // and the floats to 1e-5.
      differing_nodes += same_dot_node(a, b, split) ? 0 : 1;
      continue;
    }
    differing_nodes += a != b ? 1 : 0;
  }
  EXPECT_EQ(differing_nodes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Annoy, GoldenTest,
                         ::testing::Values(Golden{"angular", "angular", true}, Golden{"euclidean", "euclidean", true},
                                           Golden{"manhattan", "manhattan", true}, Golden{"hamming", "hamming", false},
                                           Golden{"dot", "dot", true},
                                           Golden{"dot-main/dot", "dot", false, grove::DotLayout::Main}),
                         [](const ::testing::TestParamInfo<Golden>& info) {
                           std::string n = info.param.name;
                           return n == "dot-main/dot" ? std::string("dot_main") : n;
                         });

// Files of both dot layouts are told apart on load, whatever the index was set to build.
TEST(GoldenDotLayouts, BothLayoutsLoadWhateverTheBuildSetting) {
  for (grove::DotLayout build_setting : {grove::DotLayout::Released, grove::DotLayout::Main}) {
    grove::AnnoyIndex released(16, "dot"), main(16, "dot");
    released.set_dot_layout(build_setting);
    main.set_dot_layout(build_setting);
    released.load(data_path("dot.ann"));
    main.load(data_path("dot-main/dot.ann"));
    EXPECT_EQ(released.get_layout().dot_layout, grove::DotLayout::Released);
    EXPECT_EQ(main.get_layout().dot_layout, grove::DotLayout::Main);
    main.unload();  // back to what the index builds
    EXPECT_EQ(main.get_layout().dot_layout, build_setting);
  }
}

// Released-layout dot files (what every Annoy release writes) answer as that Annoy did.
TEST(GoldenReleasedDot, LoadsWithAnnoysResults) {
  json spec = load_json("dot.json");
  grove::AnnoyIndex index(spec["f"], "dot");
  index.load(data_path("dot.ann"));
  EXPECT_EQ(index.get_layout().dot_layout, grove::DotLayout::Released);
  EXPECT_EQ(index.get_n_items(), 1000);
  EXPECT_EQ(index.get_n_trees(), 10);
  for (const json& q : spec["by_item"])
    for (auto it = q["annoy"].begin(); it != q["annoy"].end(); ++it) {
      std::vector<int32_t> ids;
      std::vector<float> dists;
      index.get_nns_by_item(q["item"], spec["k"], std::stoi(it.key()), &ids, &dists);
      expect_same(it.value(), ids, dists, "item " + q["item"].dump() + " search_k " + it.key());
    }
}

// Odd indexes: empty, one item, tiny, holes, duplicates, automatic tree count, old norms.
TEST(GoldenEdgeCases, LoadWithAnnoysCountsAndResults) {
  json cases = load_json("edge-cases.json");
  for (const json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    grove::AnnoyIndex index(c["f"], c["metric"].get<std::string>());
    index.load(data_path(c["file"]));
    EXPECT_EQ(index.get_n_items(), c["loaded"]["n_items"].get<int>());
    EXPECT_EQ(index.get_n_trees(), c["loaded"]["n_trees"].get<int>());
    if (!c.contains("queries")) continue;
    for (const json& q : c["queries"]) {
      std::vector<float> v;
      if (q.contains("vector")) v = q["vector"].get<std::vector<float>>();
      else v = index.get_item_vector(q["item"]);
      for (auto it = q["annoy"].begin(); it != q["annoy"].end(); ++it) {
        std::vector<int32_t> ids;
        std::vector<float> dists;
        index.get_nns_by_vector(v, q.value("k", 10), std::stoi(it.key()), &ids, &dists);
        expect_same(it.value(), ids, dists, "search_k " + it.key());
      }
    }
  }
}

}  // namespace
