// hnswlib (Debian's libhnswlib-dev): M=16, ef_construction=200; points are ef values.
// Angular runs as inner product on normalised vectors (the same ranking as cosine).
#include <hnswlib/hnswlib.h>

#include <cmath>
#include <thread>

#include "harness.h"

int main(int argc, char** argv) {
  bench::Args a = bench::parse(argc, argv);
  bench::Matrix train = bench::read_npy(a.train), test = bench::read_npy(a.test);
  std::vector<std::int32_t> truth = bench::read_i32(a.truth);
  const bool angular = a.metric == "angular";
  if (angular) bench::normalise(train), bench::normalise(test);
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  if (angular) space.reset(new hnswlib::InnerProductSpace(train.cols));
  else space.reset(new hnswlib::L2Space(train.cols));

  auto build = [&](int threads) {
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index(new hnswlib::HierarchicalNSW<float>(space.get(), train.rows, 16, 200, 100));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::size_t i = t; i < train.rows; i += threads) index->addPoint(train.row(i), i);
      });
    for (auto& th : pool) th.join();
    return index;
  };
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
  double build1 = bench::seconds([&] { index = build(1); });
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double build_all = bench::seconds([&] { index = build(all); });
  const std::string path = a.out_dir + "/hnswlib-" + a.metric + ".bin";
  index->saveIndex(path);
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> loaded;
  double load = bench::seconds([&] { loaded.reset(new hnswlib::HierarchicalNSW<float>(space.get(), path)); });
  std::vector<bench::Point> points;
  for (int ef : a.search) {
    loaded->setEf(ef);
    points.push_back(bench::measure(ef, test, a.n_queries, truth, [&](const float* q, std::vector<int32_t>* ids) {
      auto result = loaded->searchKnn(q, 10);
      while (!result.empty()) {
        ids->push_back(static_cast<int32_t>(result.top().second));
        result.pop();
      }
    }));
  }
  bench::print_result("hnswlib", a, build1, build_all, bench::file_size(path), load, points, "ef");
}
