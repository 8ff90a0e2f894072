// Queries from between the data: each halfway between two random items (an analogy-like
// mix of two words, a blend of two images), where a graph walk has no item of its own to
// start near. Grove with its graph against the same index's trees (set_graph_search(false)
// before a query), one thread; at each search_k the two alternate, and the median q/s of
// `rounds` passes is kept. Recall@10 against brute force (double precision).
// Usage: between_bench metric train.npy n_queries trees "k1,k2,..." rounds
// Prints one JSON object: per search_k, recall and q/s of both.
#include <grove/grove.h>

#include <random>

#include "harness.h"

namespace {

constexpr int kN = 10;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s metric train.npy n_queries trees search_ks rounds\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  const bool angular = metric == "angular";
  bench::Matrix train = bench::read_npy(argv[2]);
  if (angular) bench::normalise(train);  // as the main benchmark runs angular
  const std::size_t nq = static_cast<std::size_t>(std::atoi(argv[3]));
  const int trees = std::atoi(argv[4]);
  const std::vector<int> search_ks = bench::parse_list(argv[5]);
  const int rounds = std::atoi(argv[6]);
  const std::size_t f = train.cols;

  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, train.rows - 1);
  std::vector<float> queries(nq * f);
  for (std::size_t q = 0; q < nq; ++q) {
    const float* a = train.row(pick(rng));
    const float* b = train.row(pick(rng));
    for (std::size_t j = 0; j < f; ++j) queries[q * f + j] = 0.5f * (a[j] + b[j]);
  }
  std::vector<std::vector<std::int32_t>> want(nq);
  for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, &queries[q * f], angular, kN);

  grove::AnnoyIndex index(static_cast<int>(f), metric);
  for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<std::int32_t>(i), train.row(i));
  index.build(trees, -1);

  // One pass of every query at search_k k, with the graph or the trees: recall and q/s.
  auto pass = [&](bool graph, int k, double* recall) {
    index.set_graph_search(graph);
    double sum = 0;
    const double seconds = bench::seconds([&] {
      for (std::size_t q = 0; q < nq; ++q) {
        std::vector<std::int32_t> ids;
        index.get_nns_by_vector(&queries[q * f], kN, k, &ids, nullptr);
        sum += bench::recall_of(ids, want[q]);
      }
    });
    *recall = sum / static_cast<double>(nq);
    return static_cast<double>(nq) / seconds;
  };

  std::printf("{\"metric\":\"%s\",\"items\":%zu,\"queries\":%zu,\"trees\":%d,\"rounds\":%d,\"points\":[", metric.c_str(),
              train.rows, nq, trees, rounds);
  for (std::size_t ki = 0; ki < search_ks.size(); ++ki) {
    const int k = search_ks[ki];
    std::vector<double> qps_graph, qps_trees;
    double recall_graph = 0, recall_trees = 0;
    for (int r = 0; r < rounds; ++r) {
      qps_graph.push_back(pass(true, k, &recall_graph));
      qps_trees.push_back(pass(false, k, &recall_trees));
    }
    std::printf("%s{\"search_k\":%d,\"graph\":{\"recall\":%.4f,\"qps\":%.1f},\"trees\":{\"recall\":%.4f,\"qps\":%.1f}}",
                ki ? "," : "", k, recall_graph, bench::median(qps_graph), recall_trees, bench::median(qps_trees));
  }
  std::printf("]}\n");
}
