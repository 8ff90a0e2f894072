// Shared by the benchmark drivers: data loading, timing, recall, JSON output. Each driver runs
// one system on one metric and prints one JSON object. Usage:
//   DRIVER metric train.npy test.npy truth.i32 n_queries trees "k1,k2,..." out_dir
#ifndef GROVE_BENCH_HARNESS_H
#define GROVE_BENCH_HARNESS_H

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

struct Matrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> values;
  const float* row(std::size_t r) const { return values.data() + r * cols; }
};

// Float32 2-D .npy (as scripts/fashion-mnist.mjs writes them).
inline Matrix read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() < 10) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); std::exit(1); }
  std::size_t header = static_cast<unsigned char>(b[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8);
  std::string h(b.data() + 10, header);
  Matrix m;
  std::sscanf(h.c_str() + h.find("'shape': (") + 10, "%zu, %zu", &m.rows, &m.cols);
  m.values.resize(m.rows * m.cols);
  std::memcpy(m.values.data(), b.data() + 10 + header, m.values.size() * 4);
  return m;
}

inline std::vector<std::int32_t> read_i32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::int32_t> out(b.size() / 4);
  std::memcpy(out.data(), b.data(), out.size() * 4);
  return out;
}

inline double seconds(const std::function<void()>& fn) {
  auto t = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

inline std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) out.push_back(std::atoi(part.c_str()));
  return out;
}

inline std::size_t file_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return static_cast<std::size_t>(in.tellg());
}

struct Args {
  std::string metric, train, test, truth, out_dir;
  int n_queries = 1000, trees = 10;
  std::vector<int> search;
};

inline Args parse(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s metric train.npy test.npy truth.i32 n_queries trees list out_dir\n", argv[0]);
    std::exit(2);
  }
  Args a;
  a.metric = argv[1], a.train = argv[2], a.test = argv[3], a.truth = argv[4];
  a.n_queries = std::atoi(argv[5]), a.trees = std::atoi(argv[6]);
  a.search = parse_list(argv[7]);
  a.out_dir = argv[8];
  return a;
}

// recall@10 of `ids` for query q; truth holds 100 ids per query.
inline double recall10(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& truth, std::size_t q) {
  std::size_t hit = 0;
  for (std::size_t i = 0; i < 10; ++i)
    hit += std::count(ids.begin(), ids.end(), truth[q * 100 + i]) ? 1 : 0;
  return hit / 10.0;
}

struct Point { int param; double qps, recall; };

// Runs all queries (single thread), twice, keeping the faster pass.
inline Point measure(int param, const Matrix& test, std::size_t nq, const std::vector<std::int32_t>& truth,
                     const std::function<void(const float*, std::vector<std::int32_t>*)>& query) {
  std::vector<std::int32_t> ids;
  double best = 1e30, recall_sum = 0;
  for (int pass = 0; pass < 2; ++pass) {
    double t = seconds([&] {
      for (std::size_t q = 0; q < nq; ++q) {
        ids.clear();
        query(test.row(q), &ids);
        if (pass == 0) recall_sum += recall10(ids, truth, q);
      }
    });
    best = std::min(best, t);
  }
  return {param, nq / best, recall_sum / nq};
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Scales every row to unit length (angular as an inner product, as hnswlib takes it).
inline void normalise(Matrix& m) {
  for (std::size_t r = 0; r < m.rows; ++r) {
    float* v = m.values.data() + r * m.cols;
    double n = 0;
    for (std::size_t c = 0; c < m.cols; ++c) n += double(v[c]) * v[c];
    n = std::sqrt(n);
    if (n > 0) for (std::size_t c = 0; c < m.cols; ++c) v[c] = static_cast<float>(v[c] / n);
  }
}

// The k nearest rows to q by double-precision distance (angular: 2 - 2 cos; else euclidean),
// ties to the smaller id; only rows `allowed` says yes to, when it is given.
inline std::vector<std::int32_t> exact_top(const Matrix& train, const float* q, bool angular, std::size_t k,
                                           const std::vector<bool>* allowed = nullptr) {
  std::vector<std::pair<double, std::int32_t>> all;
  double qq = 0;
  for (std::size_t j = 0; j < train.cols; ++j) qq += double(q[j]) * q[j];
  for (std::size_t i = 0; i < train.rows; ++i) {
    if (allowed && !(*allowed)[i]) continue;
    const float* x = train.row(i);
    double d = 0, dot = 0, xx = 0;
    for (std::size_t j = 0; j < train.cols; ++j) {
      const double diff = double(x[j]) - q[j];
      d += diff * diff;
      dot += double(x[j]) * q[j];
      xx += double(x[j]) * x[j];
    }
    if (angular) d = xx * qq > 0 ? 2 - 2 * dot / std::sqrt(xx * qq) : 2;
    all.push_back({d, static_cast<std::int32_t>(i)});
  }
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
  std::vector<std::int32_t> ids;
  for (std::size_t r = 0; r < k; ++r) ids.push_back(all[r].second);
  return ids;
}

// The share of `want` found in `got`.
inline double recall_of(const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& want) {
  std::size_t hit = 0;
  for (std::int32_t id : want) hit += std::count(got.begin(), got.end(), id) ? 1 : 0;
  return want.empty() ? 1.0 : double(hit) / want.size();
}

inline void print_result(const std::string& system, const Args& a, double build1, double build_all,
                         std::size_t bytes, double load, const std::vector<Point>& points,
                         const std::string& param_name) {
  std::printf("{\"system\":\"%s\",\"metric\":\"%s\",\"trees\":%d,\"build_1_thread_s\":%.3f,"
              "\"build_all_threads_s\":%.3f,\"index_bytes\":%zu,\"load_s\":%.6f,\"param\":\"%s\",\"points\":[",
              system.c_str(), a.metric.c_str(), a.trees, build1, build_all, bytes, load, param_name.c_str());
  for (std::size_t i = 0; i < points.size(); ++i)
    std::printf("%s{\"param\":%d,\"qps\":%.1f,\"recall\":%.4f}", i ? "," : "", points[i].param, points[i].qps, points[i].recall);
  std::printf("]}\n");
}

}  // namespace bench

#endif
