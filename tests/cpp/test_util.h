// Shared helpers for the C++ tests: seeded data, a brute-force oracle, recall, test data paths.
#ifndef GROVE_TESTS_TEST_UTIL_H
#define GROVE_TESTS_TEST_UTIL_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "grove/grove.h"

namespace grove_test {

inline std::string data_path(const std::string& name) { return std::string(GROVE_TEST_DATA) + "/" + name; }

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

template <class T>
std::vector<T> read_array(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_bytes(path);
  std::vector<T> out(bytes.size() / sizeof(T));
  std::copy(bytes.begin(), bytes.begin() + out.size() * sizeof(T), reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

// Gaussian vectors (hamming: 0/1 values), deterministic for a seed.
inline std::vector<std::vector<float>> random_vectors(int n, int f, unsigned seed, bool bits = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> out(n, std::vector<float>(f));
  for (auto& v : out)
    for (float& x : v) x = bits ? (rng() & 1 ? 1.0f : 0.0f) : normal(rng);
  return out;
}

// Reported distance computed in double, independent of the library.
inline double oracle_distance(const std::string& metric, const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, aa = 0, bb = 0, l2 = 0, l1 = 0, ham = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
    l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    l1 += std::fabs(double(a[i]) - b[i]);
    ham += a[i] != b[i] ? 1 : 0;
  }
  if (metric == "angular") return aa * bb > 0 ? std::sqrt(std::max(0.0, 2 - 2 * dot / std::sqrt(aa * bb))) : std::sqrt(2.0);
  if (metric == "euclidean") return std::sqrt(l2);
  if (metric == "manhattan") return l1;
  if (metric == "dot") return dot;
  return ham;
}

// The exact top k as (id, distance), nearest first; ties go to the smaller id.
inline std::vector<std::pair<std::int32_t, double>> brute_force(const std::string& metric,
                                                                 const std::vector<std::vector<float>>& items,
                                                                 const std::vector<float>& query, int k) {
  std::vector<std::pair<std::int32_t, double>> all;
  for (std::size_t i = 0; i < items.size(); ++i)
    all.push_back({static_cast<std::int32_t>(i), oracle_distance(metric, items[i], query)});
  const bool larger_first = metric == "dot";
  std::sort(all.begin(), all.end(), [&](const std::pair<std::int32_t, double>& x, const std::pair<std::int32_t, double>& y) {
    if (x.second != y.second) return larger_first ? x.second > y.second : x.second < y.second;
    return x.first < y.first;
  });
  all.resize(std::min<std::size_t>(all.size(), k));
  return all;
}

inline double recall(const std::vector<std::int32_t>& got, const std::vector<std::pair<std::int32_t, double>>& truth) {
  std::size_t hit = 0;
  for (const auto& t : truth) hit += std::count(got.begin(), got.end(), t.first) ? 1 : 0;
  return truth.empty() ? 1.0 : double(hit) / truth.size();
}

// Runs fn, expecting a grove::Error of `code` whose message contains `words`.
template <class Fn>
void expect_error(Fn fn, grove::ErrorCode code, const std::string& words) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << words << "'";
  } catch (const grove::Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

// A directory per process: ctest runs the cases of one binary in parallel processes, and
// two cases that write the same name would otherwise race. Made on first use (a forked
// child shares its parent's).
inline const std::string& temp_dir() {
  static const std::string dir = [] {
    const std::string d = std::string(GROVE_TEST_TMP) + "/p" + std::to_string(getpid());
    mkdir(d.c_str(), 0755);
    return d;
  }();
  return dir;
}
inline std::string temp_path(const std::string& name) { return temp_dir() + "/" + name; }

}  // namespace grove_test

#endif
