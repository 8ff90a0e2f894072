// Spotify's Annoy (annoylib.h from Debian's r-cran-rcppannoy), compiled as its wheels are:
// -O3 -march=native, multi-threaded build policy.
#include "annoylib.h"
#include "kissrandom.h"

#include "harness.h"

template <class Metric>
int run(const bench::Args& a) {
  using Index = AnnoyIndex<int32_t, float, Metric, Kiss64Random, AnnoyIndexMultiThreadedBuildPolicy>;
  bench::Matrix train = bench::read_npy(a.train), test = bench::read_npy(a.test);
  std::vector<std::int32_t> truth = bench::read_i32(a.truth);
  const int f = static_cast<int>(train.cols);
  Index one(f), all(f);
  for (std::size_t i = 0; i < train.rows; ++i) {
    one.add_item(static_cast<int32_t>(i), train.row(i));
    all.add_item(static_cast<int32_t>(i), train.row(i));
  }
  double build1 = bench::seconds([&] { one.build(a.trees, 1); });
  double build_all = bench::seconds([&] { all.build(a.trees, -1); });
  const std::string path = a.out_dir + "/annoy-" + a.metric + ".ann";
  all.save(path.c_str());
  Index index(f);
  double load = bench::seconds([&] { index.load(path.c_str()); });
  std::vector<bench::Point> points;
  for (int k : a.search)
    points.push_back(bench::measure(k, test, a.n_queries, truth, [&](const float* q, std::vector<int32_t>* ids) {
      index.get_nns_by_vector(q, 10, k, ids, nullptr);
    }));
  bench::print_result("annoy", a, build1, build_all, bench::file_size(path), load, points, "search_k");
  return 0;
}

int main(int argc, char** argv) {
  bench::Args a = bench::parse(argc, argv);
  return a.metric == "angular" ? run<Angular>(a) : run<Euclidean>(a);
}
