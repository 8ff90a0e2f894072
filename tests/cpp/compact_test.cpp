// Compact scoring: the answers with it are exactly those without it (same ids, distances and
// tie order) for every float metric, and the companion that carries the codes is checked
// before it is trusted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>

#include "compact.h"
#include "test_util.h"

namespace {

using grove::Index;

// Vectors that stress the bounds: dimensions of very different ranges, exact duplicates,
// near-duplicates, a zero vector, holes (ids never added) and items far outside the range.
std::vector<std::vector<float>> awkward_vectors(int n, int f, unsigned seed) {
  auto v = grove_test::random_vectors(n, f, seed);
  std::mt19937 rng(seed);
  for (auto& x : v)
    for (int j = 0; j < f; ++j) x[static_cast<std::size_t>(j)] *= (j % 7 == 0 ? 100.0f : j % 5 == 0 ? 0.01f : 1.0f);
  for (int i = 0; i + 1 < n; i += 23) v[static_cast<std::size_t>(i + 1)] = v[static_cast<std::size_t>(i)];  // duplicates
  for (int i = 5; i < n; i += 31) {
    v[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(i - 1)];
    v[static_cast<std::size_t>(i)][static_cast<std::size_t>(rng() % f)] += 1e-4f;  // near duplicates
  }
  std::fill(v[3].begin(), v[3].end(), 0.0f);
  for (float& x : v[7]) x *= 1000.0f;
  return v;
}

// The same answers (ids and distances) from two indexes, for the first `queries` items.
void expect_same_item_answers(const grove::Index& index, const grove::Index& exact, int queries, int n) {
  for (int q = 0; q < queries; ++q) {
    std::vector<std::int32_t> a, b;
    std::vector<float> da, db;
    index.get_nns_by_item(q, n, -1, &a, &da);
    exact.get_nns_by_item(q, n, -1, &b, &db);
    ASSERT_EQ(a, b) << "item " << q;
    ASSERT_EQ(da, db) << "item " << q;
  }
}

struct Case {
  const char* metric;
  bool dot_main;
  bool annoy_order;
};

std::unique_ptr<Index> build(const Case& c, const std::vector<std::vector<float>>& v, int f) {
  std::unique_ptr<Index> index(new Index(f, c.metric));
  if (c.dot_main) index->set_dot_layout(grove::DotLayout::Main);
  index->set_annoy_float_order(c.annoy_order);
  index->set_graph_search(false);  // the trees' candidates, ranked on codes (graph_test walks)
  for (std::size_t i = 0; i < v.size(); ++i)
    if (i % 97 != 50) index->add_item(static_cast<std::int32_t>(i), v[i]);  // a few holes
  index->build(6);
  return index;
}

void expect_same_answers(const Index& index, const std::vector<std::vector<float>>& queries, const Index& exact) {
  for (std::size_t q = 0; q < queries.size(); ++q)
    for (int n : {1, 10, 60})
      for (int search_k : {-1, 300, 100000}) {
        std::vector<std::int32_t> ids_a, ids_b;
        std::vector<float> d_a, d_b;
        index.get_nns_by_vector(queries[q], n, search_k, &ids_a, &d_a);
        exact.get_nns_by_vector(queries[q], n, search_k, &ids_b, &d_b);
        ASSERT_EQ(ids_a, ids_b) << "query " << q << " n=" << n << " search_k=" << search_k;
        ASSERT_EQ(d_a.size(), d_b.size());
        ASSERT_EQ(0, std::memcmp(d_a.data(), d_b.data(), d_a.size() * sizeof(float))) << "query " << q;
      }
}

// A fuzzer over extreme ranges: items and queries from 1e-30 to 1e30, denormals, magnitudes
// mixed within a vector, one huge coordinate. Each vector is either refused with a named
// error (its length takes float32 distances out of range) or accepted, and then compact
// scoring gives exactly the full ranking's answer (ids and distance bits), with no NaN.
std::vector<float> extreme_vector(std::mt19937& rng, int f, int kind) {
  std::normal_distribution<float> gauss;
  std::vector<float> v(static_cast<std::size_t>(f));
  for (float& x : v) x = gauss(rng);
  const float scales[] = {1e-30f, 1e-20f, 1e-10f, 1.0f, 1e5f, 1e10f, 1e20f, 1e30f};
  switch (kind % 6) {
    case 0: for (float& x : v) x *= scales[rng() % 8]; break;                     // mixed magnitudes
    case 1: { const float s = scales[rng() % 8]; for (float& x : v) x *= s; break; }  // one scale
    case 2: for (float& x : v) x *= 1e-40f; break;                                  // denormal
    case 3: v[rng() % v.size()] = 3e38f * (rng() % 2 ? 1 : -1); break;              // one huge value
    case 4: for (float& x : v) x = std::round(x * 3); break;                         // small integers (ties)
    default: break;                                                                  // ordinary
  }
  return v;
}

TEST(CompactExtremes, SameAnswersOrANamedRefusal) {
  std::mt19937 rng(2026);
  int checks = 0, refused = 0;
  for (const char* metric : {"angular", "euclidean", "manhattan", "dot"}) {
    for (int round = 0; round < 12; ++round) {
      const int f = 1 + static_cast<int>(rng() % 24);
      Index on(f, metric), off(f, metric);
      off.set_compact_scoring(false);
      int added = 0;
      for (int i = 0; i < 300; ++i) {
        const std::vector<float> v = extreme_vector(rng, f, round % 3 == 0 ? static_cast<int>(rng()) : round);
        try {
          on.add_item(i, v);
        } catch (const grove::Error& e) {
          ASSERT_EQ(e.code(), grove::ErrorCode::InvalidArgument);
          ASSERT_NE(std::string(e.what()).find("distances can use in float32"), std::string::npos) << e.what();
          ++refused;
          continue;
        }
        off.add_item(i, v);
        ++added;
      }
      if (added == 0) continue;
      on.set_seed(static_cast<std::uint64_t>(round));
      off.set_seed(static_cast<std::uint64_t>(round));
      on.build(4);
      off.build(4);
      for (int q = 0; q < 40; ++q) {
        const std::vector<float> query = extreme_vector(rng, f, static_cast<int>(rng()));
        for (int search_k : {-1, 100000}) {
          std::vector<std::int32_t> ids_on, ids_off;
          std::vector<float> d_on, d_off;
          try {
            on.get_nns_by_vector(query, 10, search_k, &ids_on, &d_on);
          } catch (const grove::Error& e) {
            ASSERT_NE(std::string(e.what()).find("distances can use in float32"), std::string::npos) << e.what();
            ++refused;
            break;
          }
          off.get_nns_by_vector(query, 10, search_k, &ids_off, &d_off);
          ASSERT_EQ(ids_on, ids_off) << metric << " round " << round << " query " << q;
          ASSERT_EQ(0, std::memcmp(d_on.data(), d_off.data(), d_on.size() * sizeof(float)));
          for (float d : d_on) ASSERT_FALSE(std::isnan(d)) << metric << " round " << round;
          ++checks;
        }
      }
    }
  }
  std::printf("extreme ranges: %d comparisons, %d vectors refused\n", checks, refused);
  EXPECT_GT(checks, 1000);
  EXPECT_GT(refused, 0);
}

class CompactTest : public ::testing::TestWithParam<Case> {};

TEST_P(CompactTest, AnswersAreExactlyThoseOfTheFullRanking) {
  const Case c = GetParam();
  const int f = 37;  // not a multiple of 16: the code rows are padded
  auto v = awkward_vectors(1500, f, 11);
  std::unique_ptr<Index> compact = build(c, v, f);
  std::unique_ptr<Index> exact = build(c, v, f);
  exact->set_compact_scoring(false);
  EXPECT_TRUE(compact->get_compact_scoring());
  EXPECT_FALSE(exact->get_compact_scoring());

  auto queries = grove_test::random_vectors(40, f, 5);
  for (int i = 0; i < 40; ++i) queries.push_back(v[static_cast<std::size_t>(i * 37 % v.size())]);  // items: ties at 0
  queries.push_back(std::vector<float>(f, 0.0f));
  queries.push_back(std::vector<float>(f, 1e6f));    // far outside the codes' range
  queries.push_back(std::vector<float>(f, -3e4f));
  expect_same_answers(*compact, queries, *exact);

  // The same once saved and loaded, with the companion and without it (made on first query).
  const std::vector<std::uint8_t> bytes = compact->serialize();
  const std::vector<std::uint8_t> companion = compact->serialize_companion();
  Index loaded(f, c.metric), lazy(f, c.metric);
  loaded.set_annoy_float_order(c.annoy_order);
  lazy.set_annoy_float_order(c.annoy_order);
  loaded.deserialize(bytes);
  EXPECT_TRUE(loaded.deserialize_companion(companion.data(), companion.size()));
  lazy.deserialize(bytes);
  expect_same_answers(loaded, queries, *exact);
  expect_same_answers(lazy, queries, *exact);
  EXPECT_EQ(lazy.serialize_companion(), companion);  // deterministic
}

INSTANTIATE_TEST_SUITE_P(Metrics, CompactTest,
                         ::testing::Values(Case{"angular", false, false}, Case{"euclidean", false, false},
                                           Case{"manhattan", false, false}, Case{"dot", false, false},
                                           Case{"dot", true, false}, Case{"angular", false, true},
                                           Case{"euclidean", false, true}, Case{"dot", false, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.metric) + (info.param.dot_main ? "_main" : "") +
                                  (info.param.annoy_order ? "_annoy_order" : "");
                         });

TEST(CompactKernels, EveryVariantGivesTheReferenceSum) {
  const grove::detail::CodeKernels* variants[8];
  const int count = grove::detail::code_kernel_variants(variants, 8);
  const grove::detail::CodeKernels& ref = grove::detail::reference_code_kernels();
  std::mt19937 rng(3);
  for (int n : {16, 32, 48, 784, 1024, 1040, 3008}) {
    std::vector<std::int16_t> q(static_cast<std::size_t>(n)), qd(static_cast<std::size_t>(n));
    std::vector<std::uint8_t> c(static_cast<std::size_t>(n));
    for (int extreme = 0; extreme < 2; ++extreme) {
      for (int j = 0; j < n; ++j) {
        c[static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(extreme ? 255 : rng() % 256);
        q[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(
            extreme ? grove::detail::kQueryLow : grove::detail::kQueryLow + static_cast<int>(rng() % (grove::detail::kQueryHigh - grove::detail::kQueryLow + 1)));
        qd[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(
            extreme ? grove::detail::kQueryDot : static_cast<int>(rng() % (2 * grove::detail::kQueryDot + 1)) - grove::detail::kQueryDot);
      }
      for (int k = 0; k < count; ++k) {
        SCOPED_TRACE(std::string(variants[k]->name) + " n=" + std::to_string(n));
        EXPECT_EQ(variants[k]->l2(q.data(), c.data(), n), ref.l2(q.data(), c.data(), n));
        EXPECT_EQ(variants[k]->l1(q.data(), c.data(), n), ref.l1(q.data(), c.data(), n));
        EXPECT_EQ(variants[k]->dot(qd.data(), c.data(), n), ref.dot(qd.data(), c.data(), n));
      }
    }
    // dot_rows: the query against each of up to four code rows.
    std::vector<std::vector<std::uint8_t>> code_rows(grove::detail::kRowsMax, c);
    const std::uint8_t* row_pointers[grove::detail::kRowsMax];
    for (int r = 0; r < grove::detail::kRowsMax; ++r) {
      code_rows[static_cast<std::size_t>(r)][static_cast<std::size_t>(r)] = static_cast<std::uint8_t>(40 * r);
      row_pointers[r] = code_rows[static_cast<std::size_t>(r)].data();
    }
    for (int k = 0; k < count; ++k)
      for (int used = 1; used <= grove::detail::kRowsMax; ++used) {
        std::int64_t out[grove::detail::kRowsMax];
        variants[k]->dot_rows(qd.data(), row_pointers, used, n, out);
        for (int r = 0; r < used; ++r) EXPECT_EQ(out[r], ref.dot(qd.data(), row_pointers[r], n)) << variants[k]->name << " n=" << n;
      }
    // The reference against plain 64-bit arithmetic, extremes included (no overflow).
    std::int64_t l2 = 0;
    for (int j = 0; j < n; ++j) l2 += std::int64_t(q[static_cast<std::size_t>(j)] - c[static_cast<std::size_t>(j)]) * (q[static_cast<std::size_t>(j)] - c[static_cast<std::size_t>(j)]);
    EXPECT_EQ(ref.l2(q.data(), c.data(), n), l2);
  }
}

// L2 search codes its query kQueryFine times finer than the items and scores it with the dot
// kernels: at the ends of that range, against codes of 255, every variant's sums are exact.
TEST(CompactKernels, DotSumsAreExactForFineL2QuerySteps) {
  const grove::detail::CodeKernels* variants[8];
  const int count = grove::detail::code_kernel_variants(variants, 8);
  const int ends[2] = {grove::detail::kQueryFine * grove::detail::kQueryHigh,
                       grove::detail::kQueryFine * grove::detail::kQueryLow};
  std::mt19937 rng(5);
  for (int n : {1024, 1040, 3008}) {
    std::vector<std::uint8_t> c(static_cast<std::size_t>(n), 255);
    for (int end : ends)
      for (int random = 0; random < 2; ++random) {
        std::vector<std::int16_t> q(static_cast<std::size_t>(n));
        std::int64_t expected = 0;
        for (int j = 0; j < n; ++j) {
          const int step = random ? ends[1] + static_cast<int>(rng() % static_cast<unsigned>(ends[0] - ends[1] + 1)) : end;
          q[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(step);
          expected += std::int64_t(step) * 255;
        }
        const std::uint8_t* rows[grove::detail::kRowsMax];
        for (const std::uint8_t*& row : rows) row = c.data();
        for (int k = 0; k < count; ++k) {
          SCOPED_TRACE(std::string(variants[k]->name) + " n=" + std::to_string(n));
          EXPECT_EQ(variants[k]->dot(q.data(), c.data(), n), expected);
          std::int64_t out[grove::detail::kRowsMax];
          variants[k]->dot_rows(q.data(), rows, grove::detail::kRowsMax, n, out);
          for (std::int64_t sum : out) EXPECT_EQ(sum, expected);
        }
      }
  }
}

TEST(CompactKernels, EncodingIsTheSameInEveryVariant) {
  const grove::detail::CodeKernels* variants[8];
  const int count = grove::detail::code_kernel_variants(variants, 8);
  const grove::detail::CodeKernels& ref = grove::detail::reference_code_kernels();
  for (int f : {1, 7, 16, 33, 784}) {
    auto x = grove_test::random_vectors(1, f, static_cast<unsigned>(f))[0];
    x[0] = std::nanf("");  // NaN codes as 0, and is ignored by the grid
    if (f > 16) x[3] = 1e30f, x[17] = -1e30f;  // clamped to 255 and 0 (in a vector step)
    std::vector<float> offsets(static_cast<std::size_t>(f), -1.5f);
    for (int k = 0; k < count; ++k) {
      SCOPED_TRACE(std::string(variants[k]->name) + " f=" + std::to_string(f));
      std::vector<std::uint8_t> a(static_cast<std::size_t>(f)), b(static_cast<std::size_t>(f));
      variants[k]->quantize(x.data(), 0.7f, offsets.data(), 80.0f, a.data(), f);
      ref.quantize(x.data(), 0.7f, offsets.data(), 80.0f, b.data(), f);
      EXPECT_EQ(a, b);
      EXPECT_EQ(a[0], 0);
      for (bool l1 : {false, true}) {
        const double e = variants[k]->error(x.data() + 1, 0.7, offsets.data(), 1 / 80.0, a.data() + 1, f - 1, l1);
        const double r = ref.error(x.data() + 1, 0.7, offsets.data(), 1 / 80.0, a.data() + 1, f - 1, l1);
        EXPECT_NEAR(e, r, 1e-12 * std::max(1.0, r));
      }
      std::vector<float> lo(static_cast<std::size_t>(f), 1e9f), hi(static_cast<std::size_t>(f), -1e9f), rlo = lo, rhi = hi;
      variants[k]->extend(x.data(), 2.0f, lo.data(), hi.data(), f);
      ref.extend(x.data(), 2.0f, rlo.data(), rhi.data(), f);
      EXPECT_EQ(lo, rlo);
      EXPECT_EQ(hi, rhi);
      EXPECT_EQ(lo[0], 1e9f);  // the NaN left the grid alone
      std::vector<float> d(static_cast<std::size_t>(f)), rd(static_cast<std::size_t>(f));
      variants[k]->decode(a.data(), offsets.data(), 0.0125f, d.data(), f);
      ref.decode(a.data(), offsets.data(), 0.0125f, rd.data(), f);
      EXPECT_EQ(0, std::memcmp(d.data(), rd.data(), d.size() * sizeof(float)));
    }
  }
}

// A query's steps on the grid: every variant gives the steps a plain loop in double does
// (ties between steps round up, the ends clamp), and its error within 1e-12.
TEST(CompactKernels, QueryStepsAreTheSameInEveryVariant) {
  const grove::detail::CodeKernels* variants[8];
  const int count = grove::detail::code_kernel_variants(variants, 8);
  const int low = grove::detail::kQueryLow * grove::detail::kQueryFine, high = grove::detail::kQueryHigh * grove::detail::kQueryFine;
  for (int f : {1, 7, 8, 9, 16, 33, 100, 784}) {
    auto x = grove_test::random_vectors(1, f, static_cast<unsigned>(f) + 11)[0];
    std::vector<float> offsets(static_cast<std::size_t>(f), -0.25f);
    x[0] = 1e9f;                                // past the top: clamps to high
    if (f > 1) x[1] = -1e9f;                    // past the bottom: low
    if (f > 2) x[2] = -0.25f + 2.5f / 1024;     // exactly half a step over a whole step: rounds up
    const double inverse = 1024, step = 1 / inverse, factor = 1;
    std::vector<std::int16_t> expected(static_cast<std::size_t>(f));
    double squares = 0, expected_error[2] = {0, 0};
    for (int j = 0; j < f; ++j) {
      const double u = x[static_cast<std::size_t>(j)] * factor;
      const double k = std::max<double>(low, std::min<double>(high, std::floor((u - offsets[static_cast<std::size_t>(j)]) * inverse + 0.5)));
      expected[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(k);
      squares += k * k;
      const double d = u - (static_cast<double>(offsets[static_cast<std::size_t>(j)]) + step * k);
      expected_error[0] += d * d;
      expected_error[1] += std::fabs(d);
    }
    EXPECT_EQ(expected[0], high);
    if (f > 1) {
      EXPECT_EQ(expected[1], low);
    }
    if (f > 2) {
      EXPECT_EQ(expected[2], 3);
    }
    for (int k = 0; k < count; ++k)
      for (bool l1 : {false, true}) {
        SCOPED_TRACE(std::string(variants[k]->name) + " f=" + std::to_string(f) + (l1 ? " l1" : " l2"));
        std::vector<std::int16_t> out(static_cast<std::size_t>(f), 7);
        double error = -1;
        EXPECT_EQ(variants[k]->query_steps(x.data(), factor, offsets.data(), inverse, step, low, high, l1, out.data(), &error, f), squares);
        EXPECT_EQ(out, expected);
        EXPECT_NEAR(error, expected_error[l1], 1e-12 * expected_error[l1]);
      }
  }
}

class CompanionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v = grove_test::random_vectors(800, f, 9);
    index.reset(new Index(f, "euclidean"));
    for (std::size_t i = 0; i < v.size(); ++i) index->add_item(static_cast<std::int32_t>(i), v[i]);
    index->build(4);
    bytes = index->serialize();
    companion = index->serialize_companion();
    exact.deserialize(bytes);
    exact.set_compact_scoring(false);
  }
  void expect_exact_answers(const Index& loaded) { expect_same_item_answers(loaded, exact, 30, 10); }
  const int f = 20;
  std::vector<std::vector<float>> v;
  std::unique_ptr<Index> index;
  std::vector<std::uint8_t> bytes, companion;
  Index exact{20, "euclidean"};
};

TEST_F(CompanionTest, SizeIsTheLayoutsAndSmallNextToTheIndex) {
  const grove::CompanionLayout layout = grove::companion_layout(f, 800);
  EXPECT_EQ(companion.size(), layout.total);
  EXPECT_EQ(layout.stride, 32u);
  EXPECT_EQ(index->companion_size(), companion.size());
  EXPECT_EQ(0, std::memcmp(companion.data(), "GROVESQ8", 8));
}

TEST_F(CompanionTest, AnotherIndexsCompanionIsRefusedWithAReason) {
  Index other(f, "euclidean");
  auto w = grove_test::random_vectors(800, f, 10);
  for (std::size_t i = 0; i < w.size(); ++i) other.add_item(static_cast<std::int32_t>(i), w[i]);
  other.build(4);
  const std::vector<std::uint8_t> stale = other.serialize_companion();
  Index loaded(f, "euclidean");
  loaded.deserialize(bytes);
  std::string why;
  EXPECT_FALSE(loaded.deserialize_companion(stale.data(), stale.size(), &why));
  EXPECT_NE(why.find("stale"), std::string::npos) << why;
  expect_exact_answers(loaded);
}

TEST_F(CompanionTest, TruncatedOrForeignBytesAreRefused) {
  Index loaded(f, "euclidean");
  loaded.deserialize(bytes);
  std::string why;
  EXPECT_FALSE(loaded.deserialize_companion(companion.data(), companion.size() - 1, &why));
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  EXPECT_FALSE(loaded.deserialize_companion(companion.data(), 10, &why));
  EXPECT_FALSE(loaded.deserialize_companion(bytes.data(), bytes.size(), &why));
  EXPECT_NE(why.find("magic"), std::string::npos) << why;
  Index manhattan(f, "manhattan");
  manhattan.deserialize(bytes);  // the same node layout: loads as a manhattan index
  EXPECT_FALSE(manhattan.deserialize_companion(companion.data(), companion.size(), &why));
  expect_exact_answers(loaded);
}

TEST_F(CompanionTest, DamagedCodesAreCaughtBeforeFirstUseAndMadeAgain) {
  for (std::size_t at : {companion.size() - 1, companion.size() / 2, std::size_t(70)}) {
    std::vector<std::uint8_t> damaged = companion;
    damaged[at] ^= 0x5a;
    Index loaded(f, "euclidean");
    loaded.deserialize(bytes);
    EXPECT_TRUE(loaded.deserialize_companion(damaged.data(), damaged.size()));  // O(1) checks pass
    expect_exact_answers(loaded);  // the checksum fails on first use: made again, answers exact
    EXPECT_EQ(loaded.serialize_companion(), companion);
  }
}

// The rows follow the first trees' leaves: the slots table is a permutation, and not the
// identity once the index is built.
TEST_F(CompanionTest, RowsAreArrangedByLeaf) {
  const grove::CompanionLayout layout = grove::companion_layout(f, 800);
  std::vector<std::int32_t> slots(800);
  std::memcpy(slots.data(), companion.data() + layout.slots, 4 * slots.size());
  std::vector<std::int32_t> sorted = slots;
  std::sort(sorted.begin(), sorted.end());
  for (std::int32_t i = 0; i < 800; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  std::size_t moved = 0;
  for (std::int32_t i = 0; i < 800; ++i) moved += slots[static_cast<std::size_t>(i)] != i;
  EXPECT_GT(moved, 400u);
}

// Recomputes a companion's checksum and header check after an edit, as a crafted file would.
void recompute_checks(std::vector<std::uint8_t>& bytes) {
  grove::CompanionHeader header;
  std::memcpy(&header, bytes.data(), sizeof header);
  header.checksum = grove::detail::companion_checksum(bytes.data(), bytes.size());
  header.header_check = grove::detail::header_check(header);
  std::memcpy(bytes.data(), &header, sizeof header);
}

// A row table that is not a permutation (here with a checksum that matches it, as a crafted
// file could have) is refused before first use: the copy is made again and answers are exact.
TEST_F(CompanionTest, DamagedRowOrderIsCaughtBeforeFirstUse) {
  const grove::CompanionLayout layout = grove::companion_layout(f, 800);
  std::int32_t first_row;
  std::memcpy(&first_row, companion.data() + layout.slots, 4);
  for (std::int32_t bad : {-1, 800, 0x7fffffff, first_row /* item 0's row, twice */}) {
    std::vector<std::uint8_t> damaged = companion;
    std::memcpy(damaged.data() + layout.slots + 4 * 7, &bad, 4);
    recompute_checks(damaged);
    Index loaded(f, "euclidean");
    loaded.deserialize(bytes);
    EXPECT_TRUE(loaded.deserialize_companion(damaged.data(), damaged.size()));  // O(1) checks pass
    expect_exact_answers(loaded);
    EXPECT_EQ(loaded.serialize_companion(), companion);
  }
}

// A companion is trusted for the exact index it was made from: one changed bit in any item's
// vector (a sampled item or not, first, middle or last) makes it stale before first use.
// Borrowed bytes show which happened: trusted, the index serves the very bytes offered.
TEST_F(CompanionTest, EveryChangedItemByteMakesItStale) {
  Index same(f, "euclidean");
  same.deserialize(bytes);
  ASSERT_TRUE(same.load_companion_view(companion.data(), companion.size()));
  EXPECT_EQ(same.companion_data(), companion.data());  // unchanged: trusted
  const grove::NodeLayout& layout = same.get_layout();
  for (std::int32_t item : {0, 1, 137, 399, 401, 799}) {
    for (std::size_t byte = 0; byte < sizeof(float) * static_cast<std::size_t>(f); byte += 5) {
      std::vector<std::uint8_t> changed = bytes;
      changed[static_cast<std::size_t>(item) * layout.node_size + layout.vector + byte] ^= 0x01;
      Index loaded(f, "euclidean");
      loaded.deserialize(changed);
      ASSERT_TRUE(loaded.load_companion_view(companion.data(), companion.size()));  // O(1) checks pass
      EXPECT_NE(loaded.companion_data(), companion.data()) << "item " << item << " byte " << byte;
    }
  }
}

// Records no encoder writes, in a companion whose checksum was recomputed (as a crafted file
// could have it): each is refused before first use, and the copy is made again.
TEST_F(CompanionTest, ImpossibleRecordsAreRefused) {
  const grove::CompanionLayout layout = grove::companion_layout(f, 800);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::pair<std::size_t, float> edits[] = {
      {2 * 401, nan},             // an item's error NaN: it would vanish from every answer
      {2 * 401, -1.0f},           // an item marked as a hole
      {2 * 401 + 1, 1e30f},       // a sum of squared codes no code can have
      {2 * 401 + 1, nan},
  };
  for (const auto& edit : edits) {
    std::vector<std::uint8_t> crafted = companion;
    std::memcpy(crafted.data() + layout.records + 4 * edit.first, &edit.second, 4);
    recompute_checks(crafted);
    Index loaded(f, "euclidean");
    loaded.deserialize(bytes);
    ASSERT_TRUE(loaded.load_companion_view(crafted.data(), crafted.size()));
    EXPECT_NE(loaded.companion_data(), crafted.data()) << "record float " << edit.first;
    expect_exact_answers(loaded);
  }
}

TEST_F(CompanionTest, HammingHasNone) {
  Index bits(64, "hamming");
  auto w = grove_test::random_vectors(100, 64, 1, true);
  for (std::size_t i = 0; i < w.size(); ++i) bits.add_item(static_cast<std::int32_t>(i), w[i]);
  bits.build(2);
  EXPECT_EQ(bits.companion_size(), 0u);
  std::string why;
  EXPECT_FALSE(bits.deserialize_companion(companion.data(), companion.size(), &why));
  EXPECT_NE(why.find("hamming"), std::string::npos);
}

TEST_F(CompanionTest, NeededBeforeQueriesOnly) {
  Index empty(f, "euclidean");
  EXPECT_THROW(empty.companion_size(), grove::Error);
  EXPECT_THROW(empty.deserialize_companion(companion.data(), companion.size()), grove::Error);
}

}  // namespace

// ---- Companion files (native AnnoyIndex: save writes it, load maps it) ----

namespace files {

using grove::AnnoyIndex;

bool exists(const std::string& path) { return std::ifstream(path).good(); }

std::unique_ptr<AnnoyIndex> built(int f, unsigned seed) {
  std::unique_ptr<AnnoyIndex> index(new AnnoyIndex(f, "angular"));
  auto v = grove_test::random_vectors(600, f, seed);
  for (std::size_t i = 0; i < v.size(); ++i) index->add_item(static_cast<std::int32_t>(i), v[i]);
  index->build(5, 1);
  return index;
}

void expect_answers_of(const AnnoyIndex& index, const std::string& path, int f) {
  AnnoyIndex exact(f, "angular");
  exact.set_compact_scoring(false);
  exact.load(path);
  expect_same_item_answers(index, exact, 40, 15);
}

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(CompanionFile, SaveWritesItAndLoadUsesIt) {
  const std::string path = grove_test::temp_path("companion-save.ann");
  std::remove(grove::companion_path(path).c_str());
  auto index = built(24, 1);
  index->save(path);
  ASSERT_TRUE(exists(grove::companion_path(path)));
  EXPECT_EQ(grove::companion_path(path), path + ".sq8");
  const std::vector<std::uint8_t> on_disk = grove_test::read_bytes(grove::companion_path(path));
  EXPECT_EQ(on_disk, index->serialize_companion());
  AnnoyIndex loaded(24, "angular");
  loaded.load(path);
  expect_answers_of(loaded, path, 24);
  EXPECT_EQ(loaded.serialize_companion(), on_disk);
}

TEST(CompanionFile, StaleDamagedOrMissingCompanionsAreMadeAgain) {
  const std::string path = grove_test::temp_path("companion-stale.ann");
  const std::string other = grove_test::temp_path("companion-other.ann");
  built(24, 1)->save(path);
  built(24, 2)->save(other);
  const std::vector<std::uint8_t> good = grove_test::read_bytes(grove::companion_path(path));
  write(grove::companion_path(path), grove_test::read_bytes(grove::companion_path(other)));  // stale
  {
    AnnoyIndex loaded(24, "angular");
    loaded.load(path);
    expect_answers_of(loaded, path, 24);
  }
  std::vector<std::uint8_t> damaged = good;
  damaged[damaged.size() - 3] ^= 1;
  write(grove::companion_path(path), damaged);
  {
    AnnoyIndex loaded(24, "angular");
    loaded.load(path);
    expect_answers_of(loaded, path, 24);
    EXPECT_EQ(loaded.serialize_companion(), good);
  }
  write(grove::companion_path(path), std::vector<std::uint8_t>(good.begin(), good.begin() + 100));  // truncated
  {
    AnnoyIndex loaded(24, "angular");
    loaded.load(path);
    expect_answers_of(loaded, path, 24);
  }
  std::remove(grove::companion_path(path).c_str());  // missing (an index from Annoy)
  {
    AnnoyIndex loaded(24, "angular");
    loaded.load(path);
    expect_answers_of(loaded, path, 24);
  }
}

TEST(CompanionFile, OffSwitchWritesNoneAndRemovesAStaleOne) {
  const std::string path = grove_test::temp_path("companion-off.ann");
  std::remove(grove::companion_path(path).c_str());
  auto index = built(24, 3);
  index->set_compact_scoring(false);
  index->save(path);
  EXPECT_FALSE(exists(grove::companion_path(path)));
  // An earlier save's companion, beside an index saved over it with compact scoring off.
  auto earlier = built(24, 4);
  earlier->save(path);
  ASSERT_TRUE(exists(grove::companion_path(path)));
  auto later = built(24, 5);
  later->set_compact_scoring(false);
  later->save(path);
  EXPECT_FALSE(exists(grove::companion_path(path)));
}

TEST(CompanionFile, OnDiskBuildWritesIt) {
#ifdef __EMSCRIPTEN__
  GTEST_SKIP() << "emscripten's mmap is a private copy; the wasm package builds in memory (js/)";
#endif
  const std::string path = grove_test::temp_path("companion-ondisk.ann");
  std::remove(grove::companion_path(path).c_str());
  AnnoyIndex index(24, "angular");
  index.on_disk_build(path);
  auto v = grove_test::random_vectors(600, 24, 4);
  for (std::size_t i = 0; i < v.size(); ++i) index.add_item(static_cast<std::int32_t>(i), v[i]);
  index.build(5, 1);
  ASSERT_TRUE(exists(grove::companion_path(path)));
  EXPECT_EQ(grove_test::read_bytes(grove::companion_path(path)), index.serialize_companion());
  expect_answers_of(index, path, 24);
}

}  // namespace files
