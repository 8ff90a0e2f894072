// Grove native: build (1 thread and all), save, load (mmap), queries at each search_k.
#include <grove/grove.h>

#include "harness.h"

int main(int argc, char** argv) {
  bench::Args a = bench::parse(argc, argv);
  bench::Matrix train = bench::read_npy(a.train), test = bench::read_npy(a.test);
  std::vector<std::int32_t> truth = bench::read_i32(a.truth);
  const int f = static_cast<int>(train.cols);
  auto fill = [&](grove::AnnoyIndex& index) {
    for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<int32_t>(i), train.row(i));
  };
  grove::AnnoyIndex one(f, a.metric), all(f, a.metric);
  // The trees alone, as the tables built on this driver compare (graph_bench measures the graph).
  one.set_graph_search(false);
  all.set_graph_search(false);
  fill(one);
  fill(all);
  double build1 = bench::seconds([&] { one.build(a.trees, 1); });
  double build_all = bench::seconds([&] { all.build(a.trees, -1); });
  const std::string path = a.out_dir + "/grove-" + a.metric + ".ann";
  all.save(path);
  grove::AnnoyIndex index(f, a.metric);
  double load = bench::seconds([&] { index.load(path); });
  std::vector<bench::Point> points;
  for (int k : a.search)
    points.push_back(bench::measure(k, test, a.n_queries, truth, [&](const float* q, std::vector<int32_t>* ids) {
      index.get_nns_by_vector(q, 10, k, ids, nullptr);
    }));
  bench::print_result("grove", a, build1, build_all, bench::file_size(path), load, points, "search_k");
}
