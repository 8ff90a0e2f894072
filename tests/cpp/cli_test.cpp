// The CLI's input parsers and the grove command itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <memory>

#include "datasets.h"
#include "test_util.h"

using grove::tools::Matrix;

namespace {

Matrix parse_text(const std::string& s) {
  return grove::tools::parse_text(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string run(const std::string& args, int* status = nullptr) {
  std::string cmd = std::string(GROVE_CLI) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  int rc = pclose(pipe.release());
  if (status) *status = WEXITSTATUS(rc);
  return out;
}

TEST(Datasets, TextFormats) {
  Matrix csv = parse_text("a,b,c\n1,2,3\n4,5,6\n\n");
  EXPECT_EQ(csv.rows, 2u);
  EXPECT_EQ(csv.cols, 3u);
  EXPECT_EQ(csv.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  Matrix tsv = parse_text("1\t2\r\n3\t4\r\n");
  EXPECT_EQ(tsv.values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_THROW(parse_text("1,2\n3\n"), grove::Error);
  EXPECT_THROW(parse_text("1,2\n3,x\n"), grove::Error);
  EXPECT_THROW(parse_text("1,2\n3,inf\n"), grove::Error);
  EXPECT_THROW(parse_text(""), grove::Error);
}

TEST(Datasets, NpyRoundTripAndErrors) {
  Matrix m;
  m.rows = 3, m.cols = 2, m.values = {1, 2, 3, 4, 5, 6};
  const std::string path = grove_test::temp_path("m.npy");
  grove::tools::write_npy(path, m);
  Matrix back = grove::tools::read_matrix(path);
  EXPECT_EQ(back.rows, 3u);
  EXPECT_EQ(back.values, m.values);
  std::vector<std::uint8_t> bytes = grove_test::read_bytes(path);
  EXPECT_THROW(grove::tools::parse_npy(bytes.data(), bytes.size() - 1), grove::Error);  // truncated
  EXPECT_THROW(grove::tools::parse_npy(bytes.data(), 8), grove::Error);
  bytes[1] = 'X';
  EXPECT_THROW(grove::tools::parse_npy(bytes.data(), bytes.size()), grove::Error);
  std::remove(path.c_str());
}

TEST(Datasets, Fvecs) {
  std::vector<std::uint8_t> bytes;
  auto put = [&](const void* p, std::size_t n) {
    bytes.insert(bytes.end(), static_cast<const std::uint8_t*>(p), static_cast<const std::uint8_t*>(p) + n);
  };
  const int32_t d = 2;
  const float row1[2] = {1, 2}, row2[2] = {3, 4};
  put(&d, 4), put(row1, 8), put(&d, 4), put(row2, 8);
  Matrix m = grove::tools::parse_fvecs(bytes.data(), bytes.size());
  EXPECT_EQ(m.rows, 2u);
  EXPECT_EQ(m.values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_THROW(grove::tools::parse_fvecs(bytes.data(), bytes.size() - 2), grove::Error);
  const int32_t huge = 1 << 30;
  std::memcpy(bytes.data(), &huge, 4);
  EXPECT_THROW(grove::tools::parse_fvecs(bytes.data(), bytes.size()), grove::Error);
}

TEST(Cli, BuildQueryInfo) {
  auto items = grove_test::random_vectors(500, 8, 41);
  Matrix m;
  m.rows = 500, m.cols = 8;
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli.npy"), out = grove_test::temp_path("cli.ann");
  grove::tools::write_npy(in, m);

  int status = -1;
  std::string built = run("build --metric euclidean --trees 5 --json " + in + " " + out, &status);
  ASSERT_EQ(status, 0) << built;
  EXPECT_NE(built.find("\"items\":500"), std::string::npos) << built;

  std::string q = run("query " + out + " --metric euclidean --dim 8 --item 7 -k 3 --json", &status);
  ASSERT_EQ(status, 0) << q;
  EXPECT_NE(q.find("\"ids\":[7,"), std::string::npos) << q;

  std::string many = run("query " + out + " --metric euclidean --dim 8 --queries " + in + " --limit 20 --recall", &status);
  ASSERT_EQ(status, 0) << many;
  EXPECT_NE(many.find("20 queries"), std::string::npos) << many;

  std::string info = run("info " + out + " --metric euclidean --dim 8", &status);
  EXPECT_NE(info.find("items: 500"), std::string::npos) << info;
  EXPECT_NE(info.find("trees: 5"), std::string::npos) << info;

  std::string bad = run("query " + out + " --metric angular --dim 9 --item 1", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(bad.find("grove: "), std::string::npos) << bad;
  std::string missing = run("query " + out + " --item 1", &status);
  EXPECT_NE(missing.find("--metric and --dim are required"), std::string::npos) << missing;
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(Cli, CompanionIsWrittenAndOptional) {
  auto items = grove_test::random_vectors(400, 16, 42);
  Matrix m;
  m.rows = 400, m.cols = 16;
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli-sq8.npy"), out = grove_test::temp_path("cli-sq8.ann");
  const std::string plain = grove_test::temp_path("cli-plain.ann");
  grove::tools::write_npy(in, m);
  std::remove((out + ".sq8").c_str());
  std::remove((plain + ".sq8").c_str());
  int status = -1;
  ASSERT_EQ((run("build --metric angular --trees 4 " + in + " " + out, &status), status), 0);
  EXPECT_TRUE(std::ifstream(out + ".sq8").good());
  ASSERT_EQ((run("build --metric angular --trees 4 --no-compact " + in + " " + plain, &status), status), 0);
  EXPECT_FALSE(std::ifstream(plain + ".sq8").good());
  EXPECT_NE(run("info " + out + " --metric angular --dim 16").find("compact companion: " + out + ".sq8"), std::string::npos);
  EXPECT_NE(run("info " + plain + " --metric angular --dim 16").find("compact companion: none"), std::string::npos);

  // The same answers, distances included (timings aside).
  auto answers = [](const std::string& json) { return std::regex_replace(json, std::regex("\"(mean_)?ms\":[0-9.e-]+"), ""); };
  const std::string query = "query " + out + " --metric angular --dim 16 --queries " + in + " --limit 50 --json";
  const std::string with = answers(run(query, &status));
  ASSERT_EQ(status, 0) << with;
  EXPECT_EQ(answers(run(query + " --no-compact", &status)), with);
  EXPECT_EQ(answers(run("query " + plain + " --metric angular --dim 16 --queries " + in + " --limit 50 --json", &status)), with);
  for (const std::string& p : {in, out, out + ".sq8", plain}) std::remove(p.c_str());
}

// build grows a graph into the companion (larger than --no-graph's), and query walks it
// unless told --no-graph: answers that are the exact ranking of what it finds.
TEST(Cli, GraphIsBuiltAndWalked) {
  auto items = grove_test::random_vectors(1500, 8, 43);
  Matrix m;
  m.rows = 1500, m.cols = 8;
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli-graph.npy"), out = grove_test::temp_path("cli-graph.ann");
  const std::string plain = grove_test::temp_path("cli-graph-plain.ann");
  grove::tools::write_npy(in, m);
  int status = -1;
  ASSERT_EQ((run("build --metric euclidean --trees 4 " + in + " " + out, &status), status), 0);
  ASSERT_EQ((run("build --metric euclidean --trees 4 --no-graph " + in + " " + plain, &status), status), 0);
  auto size = [](const std::string& p) { return static_cast<long>(std::ifstream(p, std::ios::binary | std::ios::ate).tellg()); };
  EXPECT_GT(size(out + ".sq8"), size(plain + ".sq8"));
  const std::string walked = run("query " + out + " --metric euclidean --dim 8 --item 7 -k 5 --search-k 200", &status);
  EXPECT_EQ(status, 0) << walked;
  EXPECT_NE(walked.find("7"), std::string::npos) << walked;  // an item is its own nearest
  const std::string trees = run("query " + out + " --metric euclidean --dim 8 --item 7 -k 5 --search-k 200 --no-graph", &status);
  EXPECT_EQ(status, 0) << trees;
  EXPECT_NE(trees.find("7"), std::string::npos) << trees;
  for (const std::string& p : {in, out, out + ".sq8", plain, plain + ".sq8"}) std::remove(p.c_str());
}

// Misspelt options, bad numbers and unwritable outputs fail at once with a named error.
TEST(Cli, ArgumentsAreCheckedBeforeAnyWork) {
  Matrix m;
  m.rows = 20, m.cols = 2;
  for (int i = 0; i < 40; ++i) m.values.push_back(static_cast<float>(i % 7));
  const std::string in = grove_test::temp_path("cli-args.npy"), out = grove_test::temp_path("cli-args.ann");
  grove::tools::write_npy(in, m);
  int status = -1;
  std::string typo = run("build --metirc euclidean " + in + " " + out, &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(typo.find("unknown option '--metirc' for build"), std::string::npos) << typo;
  std::string negative_seed = run("build --seed -1 " + in + " " + out, &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(negative_seed.find("--seed needs a whole number from 0 to 2^64-1"), std::string::npos) << negative_seed;
  std::string big_seed = run("build --quiet --seed 18446744073709551615 --metric euclidean " + in + " " + out, &status);
  EXPECT_EQ(status, 0) << big_seed;
  std::string nowhere = run("build --metric euclidean " + in + " " + grove_test::temp_path("no/such/dir/x.ann"), &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(nowhere.find("does not exist"), std::string::npos) << nowhere;
  EXPECT_EQ(nowhere.find("building"), std::string::npos) << "no work before the check: " << nowhere;
  std::string zero = run("query " + out + " --metric euclidean --dim 2 --queries " + in + " --limit 0 --json", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(zero.find("--limit must be at least 1"), std::string::npos) << zero;
  EXPECT_EQ(zero.find("nan"), std::string::npos) << zero;
  std::string wrong_command_option = run("info " + out + " --metric euclidean --dim 2 --trees 3", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(wrong_command_option.find("unknown option '--trees' for info"), std::string::npos) << wrong_command_option;

  // A leftover temporary file of this target (a build killed with -9) is named.
  const std::string leftover = out + ".building-abc123";
  std::ofstream(leftover) << "x";
  std::string warned = run("build --quiet --metric euclidean " + in + " " + out, &status);
  EXPECT_EQ(status, 0) << warned;
  EXPECT_NE(warned.find("cli-args.ann.building-abc123' is left over"), std::string::npos) << warned;
  std::remove(leftover.c_str());
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(Cli, DotLayoutIsReleasedByDefaultAndMainOnRequest) {
  Matrix m;
  m.rows = 300, m.cols = 4;
  auto items = grove_test::random_vectors(300, 4, 43);
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli-dot.npy"), out = grove_test::temp_path("cli-dot.ann");
  grove::tools::write_npy(in, m);
  int status = -1;
  run("build --quiet --metric dot " + in + " " + out, &status);
  ASSERT_EQ(status, 0);
  std::string info = run("info " + out + " --metric dot --dim 4 --json", &status);
  EXPECT_NE(info.find("\"dot_layout\":\"released\""), std::string::npos) << info;
  run("build --quiet --metric dot --dot-layout main " + in + " " + out, &status);
  ASSERT_EQ(status, 0);
  info = run("info " + out + " --metric dot --dim 4", &status);
  EXPECT_NE(info.find("main-branch layout"), std::string::npos) << info;
  std::string bad = run("build --metric dot --dot-layout 1.17.3 " + in + " " + out, &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(bad.find("--dot-layout is 'released'"), std::string::npos) << bad;
  std::remove(in.c_str());
  std::remove(out.c_str());
}

// Progress lines on a terminal (reading, adding, each tree, writing); none in a pipe.
TEST(Cli, ProgressOnATerminalOnly) {
  Matrix m;
  m.rows = 2000, m.cols = 8;
  auto items = grove_test::random_vectors(2000, 8, 44);
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli-progress.npy"), out = grove_test::temp_path("cli-progress.ann");
  grove::tools::write_npy(in, m);
  int status = -1;
  const std::string build = "build --metric euclidean --trees 3 " + in + " " + out;
  std::string piped = run(build, &status);
  ASSERT_EQ(status, 0) << piped;
  EXPECT_EQ(piped.find("adding items"), std::string::npos) << piped;
  EXPECT_EQ(piped.find("tree 1"), std::string::npos) << piped;
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) to give the CLI a terminal";
  // script(1) runs the command on a pseudo-terminal.
  const std::string cmd = "script -qec '" + std::string(GROVE_CLI) + " " + build + "' /dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string tty;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) tty.append(buf, n);
  for (const char* phase : {"read 2000 vectors", "adding items: 2000 of 2000 (100%)", "tree 3 of 3", "wrote "})
    EXPECT_NE(tty.find(phase), std::string::npos) << phase << " in:\n" << tty;
  std::string quiet_cmd = "script -qec '" + std::string(GROVE_CLI) + " " + build + " --quiet' /dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> quiet_pipe(popen(quiet_cmd.c_str(), "r"), pclose);
  std::string quiet;
  while ((n = fread(buf, 1, sizeof buf, quiet_pipe.get())) > 0) quiet.append(buf, n);
  EXPECT_EQ(quiet.find("adding items"), std::string::npos) << quiet;
  std::remove(in.c_str());
  std::remove(out.c_str());
}

// grove shard writes shards and a manifest; grove query answers from it exactly as one index
// over all items does at an exhaustive search_k, with no --dim/--metric needed.
TEST(Cli, ShardAndQueryTheManifest) {
  Matrix m;
  m.rows = 3000, m.cols = 6;
  auto items = grove_test::random_vectors(3000, 6, 45);
  for (auto& v : items) m.values.insert(m.values.end(), v.begin(), v.end());
  const std::string in = grove_test::temp_path("cli-shard.npy"), dir = grove_test::temp_path("cli-shards");
  grove::tools::write_npy(in, m);
  std::system(("mkdir -p " + dir).c_str());
  int status = -1;
  std::string out = run("shard --shards 3 --metric euclidean --trees 4 " + in + " " + dir, &status);
  ASSERT_EQ(status, 0) << out;
  grove::ShardedIndex sharded = grove::open_sharded(dir + "/index.json");
  EXPECT_EQ(sharded.get_n_shards(), 3);
  std::string q = run("query " + dir + "/index.json --item 2500 -k 5 --search-k 100000 --json", &status);
  ASSERT_EQ(status, 0) << q;
  auto truth = grove_test::brute_force("euclidean", items, items[2500], 5);
  std::string want = "\"ids\":[";
  for (std::size_t r = 0; r < truth.size(); ++r) want += (r ? "," : "") + std::to_string(truth[r].first);
  EXPECT_NE(q.find(want + "]"), std::string::npos) << q << " wants " << want;
  std::string wrong = run("query " + dir + "/index.json --item 1 --metric angular", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(wrong.find("disagrees with the manifest"), std::string::npos) << wrong;
  std::remove(in.c_str());
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
