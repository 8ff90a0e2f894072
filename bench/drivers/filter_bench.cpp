// Filtered search against the way an unfiltered library is used: ask for m * n / selectivity
// neighbours (m = 1, 2, 4) with a search_k scaled alike, then discard the rejected items. One
// process, one thread; at each parameter the two alternate, and the median q/s of `rounds`
// passes is kept. Recall@n is against brute force over the allowed items (double precision).
// Usage: filter_bench metric train.npy test.npy n_queries trees "s1,s2,..." "k1,k2,..." rounds
// Prints one JSON object: per selectivity, per search_k, recall and q/s of both.
#include <grove/grove.h>

#include <cmath>
#include <random>

#include "harness.h"

namespace {

constexpr int kN = 10;

std::vector<double> parse_doubles(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) out.push_back(std::atof(part.c_str()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s metric train.npy test.npy n_queries trees selectivities search_ks rounds\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  bench::Matrix train = bench::read_npy(argv[2]), test = bench::read_npy(argv[3]);
  const std::size_t nq = std::min<std::size_t>(std::atoi(argv[4]), test.rows);
  const int trees = std::atoi(argv[5]);
  const std::vector<double> selectivities = parse_doubles(argv[6]);
  const std::vector<int> search_ks = bench::parse_list(argv[7]);
  const int rounds = std::atoi(argv[8]);
  const int f = static_cast<int>(train.cols);
  const auto n_items = static_cast<std::int32_t>(train.rows);

  grove::AnnoyIndex index(f, metric);
  index.set_graph_search(false);  // filtered searches use the trees; unfiltered ones here too
  for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<std::int32_t>(i), train.row(i));
  index.build(trees, -1);

  std::printf("{\"metric\":\"%s\",\"items\":%d,\"queries\":%zu,\"trees\":%d,\"rounds\":%d,\"selectivities\":[",
              metric.c_str(), n_items, nq, trees, rounds);
  for (std::size_t si = 0; si < selectivities.size(); ++si) {
    const double s = selectivities[si];
    std::mt19937 rng(1234);
    std::vector<bool> allowed(train.rows);
    for (std::size_t i = 0; i < train.rows; ++i) allowed[i] = std::uniform_real_distribution<double>(0, 1)(rng) < s;
    const grove::Filter filter = grove::Filter::bits(allowed);
    std::vector<std::vector<std::int32_t>> want(nq);
    for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, test.row(q), metric == "angular", kN, &allowed);
    // The unfiltered way: m * n / s results (m = 1, 2, 4: more, as the allowed ones among the
    // first n / s are often fewer than n), search_k scaled alike, the rejected ones dropped.
    const int factors[] = {1, 2, 4};
    std::printf("%s{\"selectivity\":%g,\"points\":[", si ? "," : "", s);
    for (std::size_t ki = 0; ki < search_ks.size(); ++ki) {
      const int k = search_ks[ki];
      std::vector<double> qps_filtered;
      std::vector<std::vector<double>> qps_post(3);
      double recall_filtered = 0, recall_post[3] = {0, 0, 0};
      int wide[3];
      std::int64_t wide_k[3];
      for (int m = 0; m < 3; ++m) {
        wide[m] = static_cast<int>(std::min<double>(n_items, std::ceil(factors[m] * kN / s)));
        wide_k[m] = std::min<std::int64_t>(std::int64_t(factors[m] * k / s), std::int64_t(n_items) * trees);
      }
      for (int r = 0; r < rounds; ++r) {
        double sum = 0;
        const double t_f = bench::seconds([&] {
          for (std::size_t q = 0; q < nq; ++q) {
            std::vector<std::int32_t> ids;
            index.get_nns_by_vector(test.row(q), kN, k, &ids, nullptr, filter);
            sum += bench::recall_of(ids, want[q]);
          }
        });
        qps_filtered.push_back(nq / t_f);
        recall_filtered = sum / nq;
        for (int m = 0; m < 3; ++m) {
          sum = 0;
          const double t_p = bench::seconds([&] {
            for (std::size_t q = 0; q < nq; ++q) {
              std::vector<std::int32_t> ids, kept;
              index.get_nns_by_vector(test.row(q), wide[m], static_cast<int>(wide_k[m]), &ids);
              for (std::int32_t id : ids)
                if (allowed[id] && kept.size() < static_cast<std::size_t>(kN)) kept.push_back(id);
              sum += bench::recall_of(kept, want[q]);
            }
          });
          qps_post[m].push_back(nq / t_p);
          recall_post[m] = sum / nq;
        }
      }
      std::printf("%s{\"search_k\":%d,\"filtered\":{\"recall\":%.4f,\"qps\":%.1f},\"post_filter\":[", ki ? "," : "", k,
                  recall_filtered, bench::median(qps_filtered));
      for (int m = 0; m < 3; ++m)
        std::printf("%s{\"n\":%d,\"search_k\":%lld,\"recall\":%.4f,\"qps\":%.1f}", m ? "," : "", wide[m],
                    static_cast<long long>(wide_k[m]), recall_post[m], bench::median(qps_post[m]));
      std::printf("]}");
      std::fflush(stdout);
    }
    std::printf("]}");
  }
  std::printf("]}\n");
  return 0;
}
