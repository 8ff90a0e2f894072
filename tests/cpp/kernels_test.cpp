// Every SIMD variant of the fast kernels gives the same bits as the portable reference, for
// every length (so results do not depend on the machine, or on native vs WASM).
#include <gtest/gtest.h>

#include <cstring>

#include "kernels.h"
#include "test_util.h"

namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Kernels, EveryVariantMatchesTheReferenceBitForBit) {
  const grove::detail::Kernels* variants[8];
  const int n = grove::detail::fast_variants(variants, 8);
  const grove::detail::Kernels& ref = grove::detail::reference_kernels();
  ASSERT_GE(n, 1);
  for (int f = 1; f <= 300; f += (f < 70 ? 1 : 23)) {
    auto v = grove_test::random_vectors(2, f, static_cast<unsigned>(f));
    for (int k = 0; k < n; ++k) {
      SCOPED_TRACE(std::string(variants[k]->name) + " f=" + std::to_string(f));
      EXPECT_TRUE(same_bits(variants[k]->dot(v[0].data(), v[1].data(), f), ref.dot(v[0].data(), v[1].data(), f)));
      EXPECT_TRUE(same_bits(variants[k]->squared_l2(v[0].data(), v[1].data(), f), ref.squared_l2(v[0].data(), v[1].data(), f)));
      EXPECT_TRUE(same_bits(variants[k]->l1(v[0].data(), v[1].data(), f), ref.l1(v[0].data(), v[1].data(), f)));
      float yy = 0;
      const float xy = variants[k]->dot_and_norm(v[0].data(), v[1].data(), f, &yy);
      EXPECT_TRUE(same_bits(xy, ref.dot(v[0].data(), v[1].data(), f)));
      EXPECT_TRUE(same_bits(yy, ref.dot(v[1].data(), v[1].data(), f)));
      float yz = 0;
      const float xz = variants[k]->dot_pair(v[0].data(), v[1].data(), v[0].data() + f / 2, f - f / 2, &yz);
      EXPECT_TRUE(same_bits(xz, ref.dot(v[0].data(), v[0].data() + f / 2, f - f / 2)));
      EXPECT_TRUE(same_bits(yz, ref.dot(v[1].data(), v[0].data() + f / 2, f - f / 2)));
      const float xz2 = variants[k]->l2_pair(v[0].data(), v[1].data(), v[0].data() + f / 2, f - f / 2, &yz);
      EXPECT_TRUE(same_bits(xz2, ref.squared_l2(v[0].data(), v[0].data() + f / 2, f - f / 2)));
      EXPECT_TRUE(same_bits(yz, ref.squared_l2(v[1].data(), v[0].data() + f / 2, f - f / 2)));
      // The bounded distances are exact whenever they come in under the bound.
      const float l2 = ref.squared_l2(v[0].data(), v[1].data(), f);
      EXPECT_TRUE(same_bits(variants[k]->squared_l2_bounded(v[0].data(), v[1].data(), f, l2), l2));
      EXPECT_GT(variants[k]->squared_l2_bounded(v[0].data(), v[1].data(), f, l2 * 0.5f), l2 * 0.5f);
      std::vector<float> a = v[0], b = v[0];
      variants[k]->blend(a.data(), 0.75f, v[1].data(), 0.3f, f);
      ref.blend(b.data(), 0.75f, v[1].data(), 0.3f, f);
      for (int i = 0; i < f; ++i) EXPECT_TRUE(same_bits(a[static_cast<std::size_t>(i)], b[static_cast<std::size_t>(i)]));
      std::vector<float> c = v[0];
      const float norm = variants[k]->blend_norm(c.data(), 0.75f, v[1].data(), 0.3f, f);
      EXPECT_TRUE(c == b);
      EXPECT_TRUE(same_bits(norm, ref.dot(b.data(), b.data(), f)));
    }
  }
}

TEST(Kernels, CloseToDoublePrecision) {
  auto v = grove_test::random_vectors(2, 1000, 77);
  double dot = 0;
  for (int i = 0; i < 1000; ++i) dot += double(v[0][i]) * v[1][i];
  EXPECT_NEAR(grove::detail::fast_kernels().dot(v[0].data(), v[1].data(), 1000), dot, 1e-3);
}

}  // namespace
