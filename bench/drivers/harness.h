// Shared by the benchmark drivers: data loading, timing, exact neighbours, recall.
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

// recall@10 of `ids` for query q; truth holds 100 ids per query.
inline double recall10(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& truth, std::size_t q) {
  std::size_t hit = 0;
  for (std::size_t i = 0; i < 10; ++i)
    hit += std::count(ids.begin(), ids.end(), truth[q * 100 + i]) ? 1 : 0;
  return hit / 10.0;
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

}  // namespace bench

#endif
