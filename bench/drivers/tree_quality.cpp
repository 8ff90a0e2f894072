// Tree quality: recall@10 of Grove's default build against Grove's Annoy-order build (Annoy's
// algorithm, Annoy's float order) at each search_k, on one data set and metric, averaged over
// several seeds. Both are ranked exactly (compact scoring changes no answer), so the
// difference is the trees alone. Prints one JSON object.
//   tree_quality metric train.npy|clustered test.npy|- n_queries trees "k1,k2,..." seeds
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "grove/grove.h"
#include "harness.h"

namespace {

// Gaussian clusters of very different spreads around uniform centres: 200 clusters in 64-d,
// spreads from 1e-3 to 1 (log-uniform), so some clusters sit far below one 8-bit code step.
void clustered(bench::Matrix* train, bench::Matrix* test, std::size_t n, std::size_t nq) {
  const std::size_t f = 64, clusters = 200;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1), exponent(-3, 0);
  std::normal_distribution<float> gauss;
  std::vector<float> centres(clusters * f), spread(clusters);
  for (float& c : centres) c = uniform(rng);
  for (float& s : spread) s = std::pow(10.0f, exponent(rng));
  auto fill = [&](bench::Matrix* m, std::size_t rows) {
    m->rows = rows, m->cols = f;
    m->values.resize(rows * f);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t c = rng() % clusters;
      for (std::size_t j = 0; j < f; ++j) m->values[r * f + j] = centres[c * f + j] + spread[c] * gauss(rng);
    }
  };
  fill(train, n);
  fill(test, nq);
}

enum class Kind { Angular, Euclidean, Manhattan };

double distance(Kind kind, const float* a, const float* b, std::size_t f) {
  double d = 0, aa = 0, bb = 0, ab = 0;
  if (kind == Kind::Manhattan)
    for (std::size_t j = 0; j < f; ++j) d += std::fabs(static_cast<double>(a[j]) - b[j]);
  else if (kind == Kind::Euclidean)
    for (std::size_t j = 0; j < f; ++j) d += (static_cast<double>(a[j]) - b[j]) * (static_cast<double>(a[j]) - b[j]);
  else
    for (std::size_t j = 0; j < f; ++j) aa += static_cast<double>(a[j]) * a[j], bb += static_cast<double>(b[j]) * b[j], ab += static_cast<double>(a[j]) * b[j];
  if (kind == Kind::Angular) return aa > 0 && bb > 0 ? 2 - 2 * ab / std::sqrt(aa * bb) : 2;
  return d;
}

// The 10 nearest items of each query, by brute force in double, on all cores.
std::vector<std::int32_t> truth10(const std::string& metric, const bench::Matrix& train, const bench::Matrix& test, std::size_t nq) {
  std::vector<std::int32_t> out(nq * 100, -1);
  const Kind kind = metric == "manhattan" ? Kind::Manhattan : metric == "euclidean" ? Kind::Euclidean : Kind::Angular;
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<std::pair<double, std::int32_t>> all(train.rows);
      for (std::size_t q = t; q < nq; q += threads) {
        for (std::size_t i = 0; i < train.rows; ++i) all[i] = {distance(kind, test.row(q), train.row(i), train.cols), static_cast<std::int32_t>(i)};
        std::partial_sort(all.begin(), all.begin() + 10, all.end());
        for (int k = 0; k < 10; ++k) out[q * 100 + k] = all[k].second;
      }
    });
  for (std::thread& t : pool) t.join();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s metric train.npy|clustered test.npy|- n_queries trees list seeds\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1], train_path = argv[2], test_path = argv[3];
  const std::size_t nq = static_cast<std::size_t>(std::atoi(argv[4]));
  const int trees = std::atoi(argv[5]), seeds = std::atoi(argv[7]);
  const std::vector<int> search = bench::parse_list(argv[6]);
  bench::Matrix train, test;
  if (train_path == "clustered") clustered(&train, &test, 100000, nq);
  else train = bench::read_npy(train_path), test = bench::read_npy(test_path);
  const std::vector<std::int32_t> truth = truth10(metric, train, test, nq);

  std::vector<double> recall[2];
  std::vector<std::vector<double>> per_seed[2];  // [order][k][seed]: for the spread of the difference
  double build_s[2] = {0, 0};
  for (int order = 0; order < 2; ++order) recall[order].assign(search.size(), 0), per_seed[order].resize(search.size());
  for (int seed = 1; seed <= seeds; ++seed)
    for (int order = 0; order < 2; ++order) {  // 0: Grove's default, 1: Annoy's order
      grove::AnnoyIndex index(static_cast<int>(train.cols), metric);
      index.set_annoy_float_order(order == 1);
      index.set_compact_scoring(false);
      index.set_seed(static_cast<std::uint64_t>(seed));
      for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<std::int32_t>(i), train.row(i));
      build_s[order] += bench::seconds([&] { index.build(trees, 1); });
      for (std::size_t k = 0; k < search.size(); ++k) {
        double sum = 0;
        std::vector<std::int32_t> ids;
        for (std::size_t q = 0; q < nq; ++q) {
          ids.clear();
          index.get_nns_by_vector(test.row(q), 10, search[k], &ids);
          sum += bench::recall10(ids, truth, q);
        }
        recall[order][k] += sum / static_cast<double>(nq) / seeds;
        per_seed[order][k].push_back(sum / static_cast<double>(nq));
      }
    }
  std::printf("{\"metric\":\"%s\",\"items\":%zu,\"f\":%zu,\"queries\":%zu,\"trees\":%d,\"seeds\":%d,"
              "\"build_s\":{\"default\":%.3f,\"annoy_order\":%.3f},\"points\":[",
              metric.c_str(), train.rows, train.cols, nq, trees, seeds, build_s[0] / seeds, build_s[1] / seeds);
  for (std::size_t k = 0; k < search.size(); ++k) {
    // Standard error of the mean difference over seeds (each seed's default minus its Annoy order).
    double mean = 0, var = 0;
    for (int i = 0; i < seeds; ++i) mean += (per_seed[0][k][i] - per_seed[1][k][i]) / seeds;
    for (int i = 0; i < seeds; ++i) var += std::pow(per_seed[0][k][i] - per_seed[1][k][i] - mean, 2) / std::max(1, seeds - 1);
    std::printf("%s{\"search_k\":%d,\"default\":%.4f,\"annoy_order\":%.4f,\"difference_se\":%.4f}", k ? "," : "", search[k],
                recall[0][k], recall[1][k], std::sqrt(var / seeds));
  }
  std::printf("]}\n");
  return 0;
}
