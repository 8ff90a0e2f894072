// Grove and Annoy side by side in one process, interleaved, so that the noise of a shared
// machine hits both alike: single-thread builds alternate (Annoy, Grove, Annoy, ...) and the
// median of `rounds` is kept; at each search_k the query passes alternate too, and the median
// q/s of `rounds` passes is kept. Annoy's code is this file's (annoylib.h, compiled
// -O3 -march=native as its wheels are); Grove's is libgrove as shipped (no -march flags).
// Usage: side_by_side metric train.npy test.npy truth.i32 n_queries trees "k1,k2,..." out_dir [rounds]
#include <grove/grove.h>

#include "annoylib.h"
#include "kissrandom.h"

#include "harness.h"

namespace {

using bench::median;

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

struct Series {
  std::vector<double> builds;
  std::vector<std::vector<double>> qps;  // per search_k, one entry per round
  std::vector<double> recall;            // per search_k
};

template <class Metric>
int run(const bench::Args& a, int rounds) {
  using Annoy = AnnoyIndex<int32_t, float, Metric, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy>;
  bench::Matrix train = bench::read_npy(a.train), test = bench::read_npy(a.test);
  std::vector<std::int32_t> truth = bench::read_i32(a.truth);
  const int f = static_cast<int>(train.cols);
  const std::size_t nq = static_cast<std::size_t>(a.n_queries);
  const std::string grove_path = a.out_dir + "/grove-" + a.metric + ".ann";
  const std::string annoy_path = a.out_dir + "/annoy-" + a.metric + ".ann";
  Series grove_s, annoy_s;

  // Builds, alternating; the last of each is saved and searched.
  for (int r = 0; r < rounds; ++r) {
    Annoy annoy(f);
    for (std::size_t i = 0; i < train.rows; ++i) annoy.add_item(static_cast<int32_t>(i), train.row(i));
    annoy_s.builds.push_back(bench::seconds([&] { annoy.build(a.trees, 1); }));
    if (r == rounds - 1) annoy.save(annoy_path.c_str());
    grove::AnnoyIndex grove_index(f, a.metric);
    grove_index.set_graph_search(false);  // trees against Annoy's trees (graph_bench: the graph)
    for (std::size_t i = 0; i < train.rows; ++i) grove_index.add_item(static_cast<int32_t>(i), train.row(i));
    grove_s.builds.push_back(bench::seconds([&] { grove_index.build(a.trees, 1); }));
    if (r == rounds - 1) grove_index.save(grove_path);
  }

  Annoy annoy(f);
  annoy.load(annoy_path.c_str());
  grove::AnnoyIndex grove_index(f, a.metric);
  grove_index.load(grove_path);
  std::vector<std::int32_t> ids;
  auto pass = [&](const std::function<void(const float*)>& query, double* recall) {
    double sum = 0;
    const double s = bench::seconds([&] {
      for (std::size_t q = 0; q < nq; ++q) {
        ids.clear();
        query(test.row(q));
        if (recall) sum += bench::recall10(ids, truth, q);
      }
    });
    if (recall) *recall = sum / static_cast<double>(nq);
    return static_cast<double>(nq) / s;
  };
  for (int k : a.search) {
    auto annoy_query = [&](const float* q) { annoy.get_nns_by_vector(q, 10, k, &ids, nullptr); };
    auto grove_query = [&](const float* q) { grove_index.get_nns_by_vector(q, 10, k, &ids, nullptr); };
    double annoy_recall = 0, grove_recall = 0;
    pass(annoy_query, &annoy_recall);  // warm both up (page cache, branch predictors), and take recall
    pass(grove_query, &grove_recall);
    std::vector<double> aq, gq;
    for (int r = 0; r < rounds; ++r) {  // alternate, Annoy first in even rounds, Grove first in odd
      if (r % 2 == 0) {
        aq.push_back(pass(annoy_query, nullptr));
        gq.push_back(pass(grove_query, nullptr));
      } else {
        gq.push_back(pass(grove_query, nullptr));
        aq.push_back(pass(annoy_query, nullptr));
      }
    }
    annoy_s.qps.push_back(aq);
    grove_s.qps.push_back(gq);
    annoy_s.recall.push_back(annoy_recall);
    grove_s.recall.push_back(grove_recall);
  }

  // What a load without the companion costs on its first query (the copy is made then), and
  // what the companion adds to the index (median of `rounds`).
  std::vector<double> lazy;
  std::size_t companion_bytes = 0;
  for (int r = 0; r < rounds; ++r) {
    grove::Index fresh(f, a.metric);
    fresh.load_view(grove_index.serialized_data(), grove_index.serialized_size());
    lazy.push_back(bench::seconds([&] { companion_bytes = fresh.companion_size(); }));
  }

  std::printf("{\"metric\":\"%s\",\"trees\":%d,\"rounds\":%d,\"queries\":%zu", a.metric.c_str(), a.trees, rounds, nq);
  std::printf(",\"companion\":{\"bytes\":%zu,\"make_s\":%.4f,\"make_runs_s\":%s}", companion_bytes, median(lazy),
              json_list(lazy).c_str());
  for (const auto& named : {std::make_pair("grove", &grove_s), std::make_pair("annoy", &annoy_s)}) {
    const Series& s = *named.second;
    const std::string& path = std::string(named.first) == "grove" ? grove_path : annoy_path;
    std::printf(",\"%s\":{\"build_1_thread_s\":%.4f,\"build_runs_s\":%s,\"index_bytes\":%zu,\"points\":[", named.first,
                median(s.builds), json_list(s.builds).c_str(), bench::file_size(path));
    for (std::size_t i = 0; i < a.search.size(); ++i)
      std::printf("%s{\"param\":%d,\"qps\":%.1f,\"recall\":%.4f,\"qps_runs\":%s}", i ? "," : "", a.search[i],
                  median(s.qps[i]), s.recall[i], json_list(s.qps[i]).c_str());
    std::printf("]}");
  }
  std::printf("}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc == 10 ? std::atoi(argv[9]) : 3;
  bench::Args a = bench::parse(argc == 10 ? 9 : argc, argv);
  if (rounds < 1) return 2;
  return a.metric == "angular" ? run<Angular>(a, rounds) : run<Euclidean>(a, rounds);
}
