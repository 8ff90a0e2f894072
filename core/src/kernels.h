// Vector kernels: dot product, squared L2 and L1 distance of float vectors.
//
// Two arithmetics:
//  - exact: left-to-right single-precision sums, the order of Annoy's scalar code, so a build
//    reproduces Annoy's files byte for byte (slow: one long dependency chain).
//  - fast: a fixed order that SIMD can follow: element i goes to partial sum i % 32, products
//    are rounded before they are added (no fused multiply-add), and the 32 partials are
//    folded pairwise (j + 16, then + 8, + 4, + 2, + 1). SSE2, AVX, AVX-512 and WASM SIMD128
//    all compute exactly this, so results are the same bits on every machine and in the
//    browser.
#ifndef GROVE_CORE_KERNELS_H
#define GROVE_CORE_KERNELS_H

namespace grove {
namespace detail {

struct Kernels {
  float (*dot)(const float* x, const float* y, int f);
  float (*squared_l2)(const float* x, const float* y, int f);
  float (*l1)(const float* x, const float* y, int f);
  // Like squared_l2 / l1, but may stop early and return a value > bound once the result is
  // sure to exceed `bound`. When the result is <= bound it is exactly squared_l2 / l1.
  float (*squared_l2_bounded)(const float* x, const float* y, int f, float bound);
  float (*l1_bounded)(const float* x, const float* y, int f, float bound);
  // A lower bound helper for angular search: sum of (q[i] - s * y[i])^2, stopping early once
  // it passes `bound`. Not in the fixed order: only ever compared with a safety margin.
  float (*scaled_l2_bounded)(const float* q, const float* y, float s, int f, float bound);
  // dot(x, y) and dot(y, y) in one pass: the same bits as two dot calls.
  float (*dot_and_norm)(const float* x, const float* y, int f, float* yy);
  // dot(x, z) and dot(y, z) in one pass (two_means: a sample against both centres): the same
  // bits as two dot calls, the two sums' latencies overlapped.
  float (*dot_pair)(const float* x, const float* y, const float* z, int f, float* yz);
  // squared_l2(x, z) and squared_l2(y, z) in one pass, likewise (euclidean two_means).
  float (*l2_pair)(const float* x, const float* y, const float* z, int f, float* yz);
  // m[i] = m[i] * keep + x[i] * add, each product rounded (two_means' mean update).
  void (*blend)(float* m, float keep, const float* x, float add, int f);
  // blend, then dot(m, m) of the result: the same bits as the two calls (two_means' centre
  // update and the new centre's cached norm, one pass where a variant fuses them).
  float (*blend_norm)(float* m, float keep, const float* x, float add, int f);
  const char* name;
};

// The fast kernels for this CPU (chosen once, at first use).
const Kernels& fast_kernels();
// The portable reference of the fast order (tests compare every variant with it).
const Kernels& reference_kernels();
// Every fast variant this CPU can run, for tests.
int fast_variants(const Kernels** out, int max);

}  // namespace detail
}  // namespace grove

#endif
