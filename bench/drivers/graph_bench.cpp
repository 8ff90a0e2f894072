// Grove's graph search (set_graph_search) against hnswlib (M 16, ef_construction 200) and
// Grove's trees alone, in one process, one thread. Builds alternate (hnswlib, Grove) and the
// median of `rounds` is kept; at each parameter the query passes alternate between the
// systems, and the median q/s of `rounds` passes is kept. Angular runs hnswlib's inner
// product on unit vectors (the same ranking as cosine). Grove is libgrove as shipped.
// Usage: graph_bench metric train.npy test.npy n_queries trees "search_k,..." "ef,..." rounds
// Prints JSON: build seconds, sizes, and per system [{param, recall, qps}].
#include <grove/grove.h>
#include <hnswlib/hnswlib.h>

#include <cstdio>
#include <memory>

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
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s metric train.npy test.npy n_queries trees search_ks efs rounds\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  const bool angular = metric == "angular";
  bench::Matrix train = bench::read_npy(argv[2]), test = bench::read_npy(argv[3]);
  if (angular) bench::normalise(train), bench::normalise(test);
  const std::size_t nq = std::min<std::size_t>(static_cast<std::size_t>(std::atoi(argv[4])), test.rows);
  const int trees = std::atoi(argv[5]), rounds = std::atoi(argv[8]);
  const std::vector<int> search_ks = bench::parse_list(argv[6]), efs = bench::parse_list(argv[7]);
  const int f = static_cast<int>(train.cols);

  std::vector<std::vector<std::int32_t>> want(nq);
  for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, test.row(q), angular, kN);

  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  if (angular) space.reset(new hnswlib::InnerProductSpace(train.cols));
  else space.reset(new hnswlib::L2Space(train.cols));
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::unique_ptr<grove::AnnoyIndex> graph, plain;
  std::vector<double> hnsw_s, grove_s, trees_s;
  for (int r = 0; r < rounds; ++r) {
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
  std::vector<Point> graph_points, tree_points, hnsw_points;
  const std::size_t params = std::max(search_ks.size(), efs.size());
  for (std::size_t p = 0; p < params; ++p)
    for (int r = 0; r < rounds; ++r) {
      if (p < search_ks.size()) {
        measure(graph_points, search_ks[p], grove_query(*graph, search_ks[p]));
        measure(tree_points, search_ks[p], grove_query(*plain, search_ks[p]));
      }
      if (p < efs.size()) {
        hnsw->setEf(static_cast<std::size_t>(efs[p]));
        measure(hnsw_points, efs[p], [&](const float* q) {
          auto result = hnsw->searchKnn(q, kN);
          std::vector<std::int32_t> out;
          while (!result.empty()) out.push_back(static_cast<std::int32_t>(result.top().second)), result.pop();
          return out;
        });
      }
    }
  std::printf("{\"metric\":\"%s\",\"items\":%zu,\"queries\":%zu,\"trees\":%d,\"build_s\":{\"grove_graph\":%.2f,\"grove_trees\":%.2f,\"hnswlib\":%.2f},"
              "\"bytes\":{\"ann\":%zu,\"companion\":%zu},\n\"grove_graph\":%s,\n\"grove_trees\":%s,\n\"hnswlib\":%s}\n",
              metric.c_str(), train.rows, nq, trees, bench::median(grove_s), bench::median(trees_s), hnsw_s.empty() ? 0.0 : bench::median(hnsw_s),
              graph->serialized_size(), graph->companion_size(), points_json(graph_points).c_str(),
              points_json(tree_points).c_str(), points_json(hnsw_points).c_str());
  return 0;
}
