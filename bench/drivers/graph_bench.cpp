// Grove as built by default (trees and graph) against hnswlib (M 16, ef_construction 200),
// Annoy and Grove's trees alone (set_graph_search(false)), in one process, one thread.
// Builds alternate and the median of `rounds` is kept; at each parameter the query passes
// alternate between the systems, the order turning each round, and the median q/s of
// `rounds` passes is kept. Angular runs hnswlib's inner product on unit vectors (the same
// ranking as cosine); every system gets those unit vectors. Grove is libgrove as shipped;
// hnswlib is compiled -O3 -march=native, Annoy with its wheels' flags (annoy_peer.cpp).
// Usage: graph_bench metric train.npy test.npy n_queries trees "search_k,..." "ef,..." rounds ["annoy search_k,..."]
// (without the last list, Annoy is left out). Prints JSON: build seconds, sizes, and per
// system [{param, recall, qps}].
#include <grove/grove.h>
#include <hnswlib/hnswlib.h>

#include <cstdio>
#include <memory>

#include "annoy_peer.h"
#include "harness.h"

namespace {

constexpr int kN = 10;

struct Point {
  int param;
  double recall;
  std::vector<double> qps;
};

std::string points_json(const std::vector<Point>& points) {
  std::string s = "[";
  for (std::size_t p = 0; p < points.size(); ++p) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s{\"param\":%d,\"recall\":%.4f,\"qps\":%.0f}", p ? "," : "", points[p].param,
                  points[p].recall, bench::median(points[p].qps));
    s += buf;
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9 && argc != 10) {
    std::fprintf(stderr, "usage: %s metric train.npy test.npy n_queries trees search_ks efs rounds [annoy_search_ks]\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  const bool angular = metric == "angular";
  bench::Matrix train = bench::read_npy(argv[2]), test = bench::read_npy(argv[3]);
  if (angular) bench::normalise(train), bench::normalise(test);
  const std::size_t nq = std::min<std::size_t>(static_cast<std::size_t>(std::atoi(argv[4])), test.rows);
  const int trees = std::atoi(argv[5]), rounds = std::atoi(argv[8]);
  const std::vector<int> search_ks = bench::parse_list(argv[6]), efs = bench::parse_list(argv[7]);
  const std::vector<int> annoy_ks = argc == 10 ? bench::parse_list(argv[9]) : std::vector<int>();
  const int f = static_cast<int>(train.cols);

  std::vector<std::vector<std::int32_t>> want(nq);
  for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, test.row(q), angular, kN);

  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  if (angular) space.reset(new hnswlib::InnerProductSpace(train.cols));
  else space.reset(new hnswlib::L2Space(train.cols));
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::unique_ptr<grove::AnnoyIndex> graph, plain;
  std::unique_ptr<bench::AnnoyPeer> annoy;
  std::vector<double> hnsw_s, grove_s, trees_s, annoy_s;
  for (int r = 0; r < rounds; ++r) {
    if (!annoy_ks.empty()) {
      annoy = bench::AnnoyPeer::make(f, angular);
      for (std::size_t i = 0; i < train.rows; ++i) annoy->add_item(static_cast<std::int32_t>(i), train.row(i));
      annoy_s.push_back(bench::seconds([&] { annoy->build(trees); }));
    }
    if (!efs.empty()) hnsw_s.push_back(bench::seconds([&] {
      hnsw.reset(new hnswlib::HierarchicalNSW<float>(space.get(), train.rows, 16, 200, 100));
      for (std::size_t i = 0; i < train.rows; ++i) hnsw->addPoint(train.row(i), i);
    }));
    for (int with_graph = 0; with_graph < 2; ++with_graph) {
      std::unique_ptr<grove::AnnoyIndex> index(new grove::AnnoyIndex(f, metric));
      index->set_graph_search(with_graph == 1);
      for (std::size_t i = 0; i < train.rows; ++i) index->add_item(static_cast<std::int32_t>(i), train.row(i));
      (with_graph ? grove_s : trees_s).push_back(bench::seconds([&] { index->build(trees, 1); }));
      (with_graph ? graph : plain) = std::move(index);
    }
  }

  auto measure = [&](std::vector<Point>& points, int param, const std::function<std::vector<std::int32_t>(const float*)>& query) {
    if (points.empty() || points.back().param != param) points.push_back({param, 0, {}});
    double sum = 0;
    const double t = bench::seconds([&] {
      for (std::size_t q = 0; q < nq; ++q) sum += bench::recall_of(query(test.row(q)), want[q]);
    });
    points.back().recall = sum / nq;
    points.back().qps.push_back(nq / t);
  };
  std::vector<std::int32_t> ids;
  auto grove_query = [&](const grove::AnnoyIndex& index, int search_k) {
    return [&, search_k](const float* q) {
      ids.clear();
      index.get_nns_by_vector(q, kN, search_k, &ids);
      return ids;
    };
  };
  std::vector<Point> graph_points, tree_points, hnsw_points, annoy_points;
  auto hnsw_query = [&](const float* q) {
    auto result = hnsw->searchKnn(q, kN);
    std::vector<std::int32_t> out;
    while (!result.empty()) out.push_back(static_cast<std::int32_t>(result.top().second)), result.pop();
    return out;
  };
  const std::size_t params = std::max({search_ks.size(), efs.size(), annoy_ks.size()});
  for (std::size_t p = 0; p < params; ++p)
    for (int r = 0; r < rounds; ++r) {
      // The systems measured at this parameter, their order turned by one each round.
      std::vector<std::function<void()>> passes;
      if (p < search_ks.size()) {
        passes.push_back([&, p] { measure(graph_points, search_ks[p], grove_query(*graph, search_ks[p])); });
        passes.push_back([&, p] { measure(tree_points, search_ks[p], grove_query(*plain, search_ks[p])); });
      }
      if (p < efs.size())
        passes.push_back([&, p] {
          hnsw->setEf(static_cast<std::size_t>(efs[p]));
          measure(hnsw_points, efs[p], hnsw_query);
        });
      if (p < annoy_ks.size())
        passes.push_back([&, p] {
          measure(annoy_points, annoy_ks[p], [&](const float* q) {
            ids.clear();
            annoy->query(q, kN, annoy_ks[p], &ids);
            return ids;
          });
        });
      for (std::size_t i = 0; i < passes.size(); ++i) passes[(i + static_cast<std::size_t>(r)) % passes.size()]();
    }
  std::printf("{\"metric\":\"%s\",\"items\":%zu,\"queries\":%zu,\"trees\":%d,\"build_s\":{\"grove_graph\":%.2f,\"grove_trees\":%.2f,\"hnswlib\":%.2f,\"annoy\":%.2f},"
              "\"bytes\":{\"ann\":%zu,\"companion\":%zu},\n\"grove_graph\":%s,\n\"grove_trees\":%s,\n\"hnswlib\":%s,\n\"annoy\":%s}\n",
              metric.c_str(), train.rows, nq, trees, bench::median(grove_s), bench::median(trees_s), hnsw_s.empty() ? 0.0 : bench::median(hnsw_s),
              annoy_s.empty() ? 0.0 : bench::median(annoy_s), graph->serialized_size(), graph->companion_size(),
              points_json(graph_points).c_str(), points_json(tree_points).c_str(), points_json(hnsw_points).c_str(),
              points_json(annoy_points).c_str());
  return 0;
}
