// Exact ground truth: the 100 nearest training vectors of each test vector (euclidean, or
// angular = cosine), by brute force in double precision on all cores. Writes int32 ids.
//   truth metric train.npy test.npy n_queries out.i32
#include <cmath>
#include <queue>
#include <thread>

#include "harness.h"

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  const std::string metric = argv[1];
  bench::Matrix train = bench::read_npy(argv[2]), test = bench::read_npy(argv[3]);
  const std::size_t nq = std::min<std::size_t>(std::atoi(argv[4]), test.rows), f = train.cols;
  std::vector<double> norms(train.rows);
  for (std::size_t i = 0; i < train.rows; ++i) {
    double n = 0;
    for (std::size_t c = 0; c < f; ++c) n += double(train.row(i)[c]) * train.row(i)[c];
    norms[i] = std::sqrt(n);
  }
  std::vector<std::int32_t> out(nq * 100, -1);
  auto work = [&](std::size_t begin, std::size_t step) {
    for (std::size_t q = begin; q < nq; q += step) {
      const float* x = test.row(q);
      double qn = 0;
      for (std::size_t c = 0; c < f; ++c) qn += double(x[c]) * x[c];
      qn = std::sqrt(qn);
      std::priority_queue<std::pair<double, std::int32_t>> best;
      for (std::size_t i = 0; i < train.rows; ++i) {
        const float* y = train.row(i);
        double d = 0;
        if (metric == "angular") {
          double dot = 0;
          for (std::size_t c = 0; c < f; ++c) dot += double(x[c]) * y[c];
          d = (qn > 0 && norms[i] > 0) ? 2 - 2 * dot / (qn * norms[i]) : 2;
        } else {
          for (std::size_t c = 0; c < f; ++c) d += (double(x[c]) - y[c]) * (double(x[c]) - y[c]);
        }
        if (best.size() < 100) best.push({d, static_cast<std::int32_t>(i)});
        else if (std::make_pair(d, static_cast<std::int32_t>(i)) < best.top()) best.pop(), best.push({d, static_cast<std::int32_t>(i)});
      }
      // Fewer than 100 training rows: the missing ranks stay -1.
      for (int r = static_cast<int>(best.size()) - 1; r >= 0; --r) out[q * 100 + r] = best.top().second, best.pop();
    }
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t, threads);
  for (auto& th : pool) th.join();
  std::ofstream o(argv[5], std::ios::binary);
  o.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * 4));
}
