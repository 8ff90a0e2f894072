// Sharded indexes: a manifest and its shard files answer exactly (exhaustive search_k equals
// brute force over all items), and every bad manifest or shard is a named error.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "test_util.h"

using grove::ErrorCode;

namespace {

using grove_test::expect_error;

// Splits items into `n_shards` contiguous shards, saves them and a manifest; returns its path.
std::string write_sharded(const std::string& name, const std::string& metric,
                          const std::vector<std::vector<float>>& items, int n_shards) {
  grove::Manifest m;
  m.f = static_cast<int>(items[0].size());
  grove::parse_metric(metric, &m.metric);
  m.total_items = static_cast<std::int64_t>(items.size());
  const std::size_t per = (items.size() + n_shards - 1) / n_shards;
  for (int s = 0; s < n_shards; ++s) {
    grove::ShardInfo info;
    info.file = name + "-" + std::to_string(s) + ".ann";
    info.first_id = static_cast<std::int64_t>(s * per);
    info.items = static_cast<std::int32_t>(std::min(per, items.size() - s * per));
    info.n_trees = 5;
    info.seed = 100 + s;
    grove::AnnoyIndex shard(m.f, metric);
    shard.set_seed(info.seed);
    for (std::int32_t i = 0; i < info.items; ++i) shard.add_item(i, items[info.first_id + i]);
    shard.build(info.n_trees, 1);
    shard.save(grove_test::temp_path(info.file));
    m.shards.push_back(info);
  }
  const std::string path = grove_test::temp_path(name + ".json");
  grove::save_manifest(path, m);
  return path;
}

class ShardedMetric : public ::testing::TestWithParam<std::string> {};

TEST_P(ShardedMetric, ExhaustiveSearchEqualsBruteForceOverAllItems) {
  const std::string metric = GetParam();
  auto items = grove_test::random_vectors(2000, 8, 51);
  auto queries = grove_test::random_vectors(20, 8, 52);
  const std::string path = write_sharded("sharded-" + metric, metric, items, 4);
  grove::ShardedIndex index = grove::open_sharded(path);
  EXPECT_EQ(index.get_n_items(), 2000);
  EXPECT_EQ(index.get_n_shards(), 4);
  for (const auto& q : queries) {
    std::vector<std::int32_t> ids;
    std::vector<float> dists;
    index.get_nns_by_vector(q.data(), 10, 2000 * 5, &ids, &dists);
    auto truth = grove_test::brute_force(metric, items, q, 10);
    ASSERT_EQ(ids.size(), 10u);
    for (std::size_t r = 0; r < 10; ++r) {
      EXPECT_EQ(ids[r], truth[r].first) << metric << " rank " << r;
      EXPECT_NEAR(dists[r], truth[r].second, 1e-4 * std::max(1.0, std::fabs(truth[r].second)));
    }
  }
  // By item: global ids, the item itself first (not for dot, where a longer vector can win).
  std::vector<std::int32_t> ids;
  index.get_nns_by_item(1234, 5, -1, &ids);
  if (metric != "dot") {
    EXPECT_EQ(ids[0], 1234);
  }
  EXPECT_EQ(index.get_item_vector(1234), items[1234]);
  // Batch equals single queries.
  std::vector<float> flat;
  for (const auto& q : queries) flat.insert(flat.end(), q.begin(), q.end());
  std::vector<std::int32_t> batch(20 * 10);
  index.get_nns_by_vectors(flat.data(), 20, 10, -1, batch.data(), nullptr);
  for (std::size_t q = 0; q < 20; ++q) {
    std::vector<std::int32_t> one;
    index.get_nns_by_vector(queries[q].data(), 10, -1, &one);
    EXPECT_EQ(std::vector<std::int32_t>(batch.begin() + q * 10, batch.begin() + q * 10 + 10), one);
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, ShardedMetric, ::testing::Values("angular", "euclidean", "manhattan", "dot"));

TEST(Sharded, ManifestRoundTrip) {
  grove::Manifest m;
  m.f = 3;
  m.metric = grove::Metric::Dot;
  m.dot_layout = grove::DotLayout::Main;
  m.total_items = 10;
  m.shards.push_back({"a.ann", 4, 0, 3, 18446744073709551615ull});
  m.shards.push_back({"b.ann", 6, 4, 2, 7});
  grove::Manifest back = grove::parse_manifest(grove::manifest_json(m));
  EXPECT_EQ(back.f, 3);
  EXPECT_EQ(back.metric, grove::Metric::Dot);
  EXPECT_EQ(back.dot_layout, grove::DotLayout::Main);
  EXPECT_EQ(back.shards[0].seed, 18446744073709551615ull);
  EXPECT_EQ(back.shards[1].first_id, 4);
  EXPECT_EQ(grove::manifest_json(back), grove::manifest_json(m));
}

TEST(Sharded, BadManifestsAreNamedErrors) {
  const std::string good = R"({"format": "grove-sharded", "version": 1, "f": 3, "metric": "euclidean", "total_items": 10,
    "shards": [{"file": "a.ann", "items": 5, "first_id": 0, "n_trees": 2, "seed": 1},
               {"file": "b.ann", "items": 5, "first_id": 5, "n_trees": 2, "seed": 2}]})";
  EXPECT_NO_THROW(grove::parse_manifest(good));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::pair<std::string, std::string> cases[] = {
      {with("\"first_id\": 5", "\"first_id\": 3"), "overlapping ids"},
      {with("\"version\": 1", "\"version\": 2"), "version 2 is not supported"},
      {with("\"euclidean\"", "\"cosinus\""), "unknown metric"},
      {with("\"b.ann\"", "\"../b.ann\""), "plain file name"},
      {with("\"b.ann\"", "\"a.ann\""), "name the same file"},
      {with("\"total_items\": 10", "\"total_items\": 9"), "go past total_items"},
      {with("\"total_items\": 10", "\"total_items\": 2147483647"), "not the end of the shards' ids (10)"},
      {with("\"f\": 3,", ""), "has no \"f\""},
      {with("\"items\": 5", "\"items\": -5"), "unexpected '-'"},
      {with("\"items\": 5", "\"items\": 5.5"), "not whole"},
      {good.substr(0, good.size() - 3), "expected"},
      {"[]", "must be an object"},
      {"", "unexpected end"},
      {"\xEF\xBB\xBF" + good, "UTF-8 byte order mark"},
      {"\xC3\xA9", "unexpected \\xC3 at byte 0"},
      {std::string(100, '['), "nested too deeply"},
  };
  for (const auto& c : cases)
    expect_error([&] { grove::parse_manifest(c.first); }, ErrorCode::BadFormat, c.second);
}

TEST(Sharded, MissingOrMismatchedShardsAreNamedErrors) {
  auto items = grove_test::random_vectors(300, 4, 53);
  const std::string path = write_sharded("sharded-bad", "euclidean", items, 3);
  // A missing shard file.
  std::remove(grove_test::temp_path("sharded-bad-1.ann").c_str());
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::Io, "sharded-bad-1.ann");
  // A shard of another dimension.
  grove::AnnoyIndex other(5, "euclidean");
  for (int i = 0; i < 100; ++i) other.add_item(i, std::vector<float>(5, static_cast<float>(i)));
  other.build(2, 1);
  other.save(grove_test::temp_path("sharded-bad-1.ann"));
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::BadFormat, "sharded-bad-1.ann");
  // A shard with another item count than the manifest says.
  grove::AnnoyIndex small(4, "euclidean");
  for (int i = 0; i < 50; ++i) small.add_item(i, items[i]);
  small.build(5, 1);
  small.save(grove_test::temp_path("sharded-bad-1.ann"));
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::BadFormat, "has 50 items, the manifest says 100");
  // A shard with another number of trees.
  grove::AnnoyIndex fewer(4, "euclidean");
  for (int i = 0; i < 100; ++i) fewer.add_item(i, items[100 + i]);
  fewer.build(2, 1);
  fewer.save(grove_test::temp_path("sharded-bad-1.ann"));
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::BadFormat, "has 2 trees, the manifest says 5");
  // No manifest at all; an id in no shard.
  expect_error([&] { grove::open_sharded(grove_test::temp_path("none.json")); }, ErrorCode::Io, "none.json");
  write_sharded("sharded-ok", "euclidean", items, 3);
  grove::ShardedIndex index = grove::open_sharded(grove_test::temp_path("sharded-ok.json"));
  expect_error([&] { index.get_item_vector(300); }, ErrorCode::OutOfRange, "in no shard");
  expect_error([&] { index.get_item_vector(-1); }, ErrorCode::OutOfRange, "negative");
}

#ifndef __EMSCRIPTEN__  // emscripten's file layer has no FIFOs and follows links its own way
// Paths that are not shard files: each a named error at once, never a hang.
TEST(Sharded, FifoFolderSymlinkAndMetricAreNamedErrors) {
  auto items = grove_test::random_vectors(200, 4, 57);
  const std::string path = write_sharded("sharded-kinds", "euclidean", items, 2);
  const std::string shard = grove_test::temp_path("sharded-kinds-1.ann");
  const std::string moved = grove_test::temp_path("sharded-kinds-moved.ann");
  // A FIFO as the manifest and as a shard (open() would block until a writer came).
  const std::string fifo = grove_test::temp_path("sharded-kinds.fifo");
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error([&] { grove::open_sharded(fifo); }, ErrorCode::Io, "not a regular file");
  ASSERT_EQ(std::rename(shard.c_str(), moved.c_str()), 0);
  ASSERT_EQ(std::rename(fifo.c_str(), shard.c_str()), 0);
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::Io, "not a regular file");
  grove::AnnoyIndex single(4, "euclidean");
  expect_error([&] { single.load(shard); }, ErrorCode::Io, "not a regular file");
  // A folder as the manifest.
  expect_error([&] { grove::open_sharded(grove_test::temp_path("")); }, ErrorCode::Io, "Is a directory");
  // A symbolic link in the manifest's folder (here to the real shard, but it could lead anywhere).
  std::remove(shard.c_str());
  ASSERT_EQ(::symlink(moved.c_str(), shard.c_str()), 0);
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::Io, "symbolic link");
  std::remove(shard.c_str());
  ASSERT_EQ(std::rename(moved.c_str(), shard.c_str()), 0);
  EXPECT_NO_THROW(grove::open_sharded(path));
  // Euclidean shards under a manifest that says manhattan: the nodes look alike, the
  // companions say which metric they were made for.
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  text.replace(text.find("euclidean"), 9, "manhattan");
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  expect_error([&] { grove::open_sharded(path); }, ErrorCode::BadFormat, "the index is for euclidean (its companion says so), not manhattan");
  // A damaged header proves nothing: a companion whose metric bits were flipped is ignored
  // (made again on the first query), and the index loads.
  const std::string companion = shard + ".sq8";
  std::vector<std::uint8_t> original = grove_test::read_bytes(companion);
  for (int bit = 0; bit < 32; ++bit) {
    std::vector<std::uint8_t> flipped = original;
    flipped[offsetof(grove::CompanionHeader, metric) + static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(1 << (bit % 8));
    {
      std::ofstream out(companion, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(flipped.data()), static_cast<std::streamsize>(flipped.size()));
    }
    grove::AnnoyIndex index(4, "euclidean");
    EXPECT_NO_THROW(index.load(shard)) << "metric bit " << bit;
  }
}
#endif

}  // namespace
