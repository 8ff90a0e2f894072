// Adding after build against building on everything: the first half of the items built
// (`trees` trees), the second half added one by one after build(), against a fresh build of
// all of them; recall@10 against brute force at each search_k, and q/s of both (one thread,
// alternating, the median of `rounds` passes). Also times the adds.
// Then the grown index, saved, is loaded by Annoy (Debian's header): its answers to the first
// queries at an exhaustive search_k are compared with Grove's.
// Usage: changes_bench metric train.npy test.npy n_queries trees "k1,k2,..." rounds out_dir
// Prints one JSON object.
#include <grove/grove.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "annoylib.h"
#include "kissrandom.h"

#include "harness.h"

namespace {

constexpr int kN = 10;

// Annoy loads the file Grove saved: how many queries (at an exhaustive search_k) get the same ids.
template <class Distance>
std::string annoy_on(const grove::AnnoyIndex& grown, const std::string& path, const bench::Matrix& test, std::size_t nq) {
  AnnoyIndex<std::int32_t, float, Distance, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> annoy(grown.get_f());
  if (!annoy.load(path.c_str())) return "{\"loaded\":false}";
  const int exhaustive = grown.get_n_items() * grown.get_n_trees();
  std::size_t same = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    std::vector<std::int32_t> a, g;
    annoy.get_nns_by_vector(test.row(q), kN, exhaustive, &a, nullptr);
    grown.get_nns_by_vector(test.row(q), kN, exhaustive, &g);
    same += a == g;
  }
  char out[160];
  std::snprintf(out, sizeof out, "{\"loaded\":true,\"items\":%d,\"trees\":%d,\"queries\":%zu,\"same\":%zu}",
                static_cast<int>(annoy.get_n_items()), static_cast<int>(annoy.get_n_trees()), nq, same);
  return out;
}

std::string annoy_agrees(const std::string& metric, const grove::AnnoyIndex& grown, const std::string& path,
                         const bench::Matrix& test, std::size_t nq) {
  return metric == "angular" ? annoy_on<Angular>(grown, path, test, nq) : annoy_on<Euclidean>(grown, path, test, nq);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s metric train.npy test.npy n_queries trees search_ks rounds out_dir\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  bench::Matrix train = bench::read_npy(argv[2]), test = bench::read_npy(argv[3]);
  const std::size_t nq = std::min<std::size_t>(std::atoi(argv[4]), test.rows);
  const int trees = std::atoi(argv[5]);
  const std::vector<int> search_ks = bench::parse_list(argv[6]);
  const int rounds = std::atoi(argv[7]);
  const int f = static_cast<int>(train.cols);
  const auto n = static_cast<std::int32_t>(train.rows);

  grove::AnnoyIndex fresh(f, metric), grown(f, metric);
  fresh.set_graph_search(false);  // the trees against the trees: adds set a graph aside
  grown.set_graph_search(false);
  const double build_all = bench::seconds([&] {
    for (std::int32_t i = 0; i < n; ++i) fresh.add_item(i, train.row(static_cast<std::size_t>(i)));
    fresh.build(trees, 1);
  });
  const double build_half = bench::seconds([&] {
    for (std::int32_t i = 0; i < n / 2; ++i) grown.add_item(i, train.row(static_cast<std::size_t>(i)));
    grown.build(trees, 1);
  });
  const double add_half = bench::seconds([&] {
    for (std::int32_t i = n / 2; i < n; ++i) grown.add_item(i, train.row(static_cast<std::size_t>(i)));
  });
  // The first query after adds makes the compact copy again: outside the timings.
  std::vector<std::int32_t> warm;
  grown.get_nns_by_vector(test.row(0), kN, -1, &warm);
  const double settle = bench::seconds([&] { (void)grown.serialized_size(); });
  grown.get_nns_by_vector(test.row(0), kN, -1, &warm);

  std::vector<std::vector<std::int32_t>> want(nq);
  for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, test.row(q), metric == "angular", kN);

  std::printf("{\"metric\":\"%s\",\"items\":%d,\"queries\":%zu,\"trees\":%d,\"rounds\":%d,"
              "\"build_all_s\":%.3f,\"build_half_s\":%.3f,\"add_half_s\":%.3f,\"settle_s\":%.3f,\"points\":[",
              metric.c_str(), n, nq, trees, rounds, build_all, build_half, add_half, settle);
  for (std::size_t ki = 0; ki < search_ks.size(); ++ki) {
    const int k = search_ks[ki];
    std::vector<double> qps[2];
    double recall[2] = {0, 0};
    for (int r = 0; r < rounds; ++r) {
      for (int which = 0; which < 2; ++which) {
        const grove::AnnoyIndex& index = which ? grown : fresh;
        double sum = 0;
        const double t = bench::seconds([&] {
          for (std::size_t q = 0; q < nq; ++q) {
            std::vector<std::int32_t> ids;
            index.get_nns_by_vector(test.row(q), kN, k, &ids);
            sum += bench::recall_of(ids, want[q]);
          }
        });
        qps[which].push_back(nq / t);
        recall[which] = sum / nq;
      }
    }
    std::printf("%s{\"search_k\":%d,\"fresh\":{\"recall\":%.4f,\"qps\":%.1f},\"grown\":{\"recall\":%.4f,\"qps\":%.1f}}",
                ki ? "," : "", k, recall[0], bench::median(qps[0]), recall[1], bench::median(qps[1]));
    std::fflush(stdout);
  }
  std::printf("],\"annoy\":");
  const std::string path = std::string(argv[8]) + "/changes-grown-" + metric + ".ann";
  grown.save(path);
  std::printf("%s}\n", annoy_agrees(metric, grown, path, test, std::min<std::size_t>(nq, 100)).c_str());
  std::remove(path.c_str());
  std::remove(grove::companion_path(path).c_str());
  return 0;
}
