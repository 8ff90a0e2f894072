// The fast kernels (see kernels.h for the summation order) and their dispatch.
#include "kernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define GROVE_X86 1
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace grove {
namespace detail {
namespace {

constexpr int kLanes = 32;

// Folds the 32 partial sums pairwise: the last step of every variant.
inline float fold(float* p) {
  for (int width = 16; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j) p[j] = p[j] + p[j + width];
  return p[0];
}

struct Dot {
  static float term(float x, float y) { return x * y; }
};
struct L2 {
  static float term(float x, float y) {
    float d = x - y;
    return d * d;
  }
};
struct L1 {
  static float term(float x, float y) { return std::fabs(x - y); }
};

// Portable version: also what compilers see for targets without a SIMD variant below.
template <class Op>
float reference(const float* x, const float* y, int f) {
  float p[kLanes] = {};
  for (int i = 0; i < f; ++i) p[i % kLanes] = p[i % kLanes] + Op::term(x[i], y[i]);
  return fold(p);
}

// Adds the elements past the last full block of `block` lanes into their partial sums.
template <class Op>
float finish(float* p, const float* x, const float* y, int from, int f) {
  for (int i = from; i < f; ++i) p[i % kLanes] = p[i % kLanes] + Op::term(x[i], y[i]);
  return fold(p);
}

// Variants without an early exit ignore the bound.
template <float (*Full)(const float*, const float*, int)>
float unbounded(const float* x, const float* y, int f, float) {
  return Full(x, y, f);
}

// Portable: blocks of 64 elements with a check after each.
float scaled_l2_reference(const float* q, const float* y, float s, int f, float bound) {
  float total = 0;
  for (int i = 0; i < f;) {
    const int end = i + 64 < f ? i + 64 : f;
    float block = 0;
    for (; i < end; ++i) {
      float d = q[i] - s * y[i];
      block += d * d;
    }
    total += block;
    if (total > bound) return total;
  }
  return total;
}

void blend_reference(float* m, float keep, const float* x, float add, int f) {
  for (int i = 0; i < f; ++i) m[i] = m[i] * keep + x[i] * add;
}

template <float (*Sum)(const float*, const float*, int)>
float pair_sums(const float* x, const float* y, const float* z, int f, float* yz) {
  *yz = Sum(y, z, f);
  return Sum(x, z, f);
}

template <void (*Blend)(float*, float, const float*, float, int), float (*Dot)(const float*, const float*, int)>
float blend_then_norm(float* m, float keep, const float* x, float add, int f) {
  Blend(m, keep, x, add, f);
  return Dot(m, m, f);
}

// dot(x, y) and |y|^2: the pair with z = y.
template <float (*Pair)(const float*, const float*, const float*, int, float*)>
float dot_and_norm(const float* x, const float* y, int f, float* yy) {
  return Pair(x, y, y, f, yy);
}

#ifdef GROVE_X86

// SSE2 (every x86-64): 8 accumulators of 4 lanes.
template <class Op>
__m128 sse_term(__m128 a, __m128 b);
template <> inline __m128 sse_term<Dot>(__m128 a, __m128 b) { return _mm_mul_ps(a, b); }
template <> inline __m128 sse_term<L2>(__m128 a, __m128 b) {
  __m128 d = _mm_sub_ps(a, b);
  return _mm_mul_ps(d, d);
}
template <> inline __m128 sse_term<L1>(__m128 a, __m128 b) {
  return _mm_andnot_ps(_mm_set1_ps(-0.0f), _mm_sub_ps(a, b));
}

template <class Op>
float sse(const float* x, const float* y, int f) {
  __m128 acc[8];
  for (auto& a : acc) a = _mm_setzero_ps();
  int i = 0;
  for (; i + kLanes <= f; i += kLanes)
    for (int k = 0; k < 8; ++k)
      acc[k] = _mm_add_ps(acc[k], sse_term<Op>(_mm_loadu_ps(x + i + 4 * k), _mm_loadu_ps(y + i + 4 * k)));
  for (; i + 4 <= f; i += 4) {  // whole groups of 4 still map onto one accumulator
    int k = (i % kLanes) / 4;
    acc[k] = _mm_add_ps(acc[k], sse_term<Op>(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
  }
  alignas(16) float p[kLanes];
  for (int k = 0; k < 8; ++k) _mm_store_ps(p + 4 * k, acc[k]);
  return finish<Op>(p, x, y, i, f);
}

// AVX: 4 accumulators of 8 lanes.
template <class Op>
__attribute__((target("avx"))) inline __m256 avx_term(__m256 a, __m256 b);
template <> __attribute__((target("avx"))) inline __m256 avx_term<Dot>(__m256 a, __m256 b) {
  return _mm256_mul_ps(a, b);
}
template <> __attribute__((target("avx"))) inline __m256 avx_term<L2>(__m256 a, __m256 b) {
  __m256 d = _mm256_sub_ps(a, b);
  return _mm256_mul_ps(d, d);
}
template <> __attribute__((target("avx"))) inline __m256 avx_term<L1>(__m256 a, __m256 b) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(a, b));
}

// fold()'s last three steps in registers, from its 8 sums after width 8: + 4, + 2, + 1.
__attribute__((target("avx"))) inline float fold_eight(__m256 s8) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

// fold(), in registers: lanes 0-7, 8-15, 16-23, 24-31 in a0..a3, halved and added pairwise,
// the same adds in the same order (a fold through memory waits on the stores just made).
__attribute__((target("avx"))) inline float avx_fold(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  return fold_eight(_mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3)));
}

// t into accumulator (i % kLanes) / 8, each chosen by name: through an array of pointers to
// them, all four had lived on the stack, each add waiting on a store (as in avx512_finish).
__attribute__((target("avx"))) inline void avx_add_at(int i, __m256 t, __m256& a0, __m256& a1, __m256& a2, __m256& a3) {
  const int which = (i % kLanes) / 8;
  if (which == 0) a0 = _mm256_add_ps(a0, t);
  else if (which == 1) a1 = _mm256_add_ps(a1, t);
  else if (which == 2) a2 = _mm256_add_ps(a2, t);
  else a3 = _mm256_add_ps(a3, t);
}

// kBounded: every 128 elements, fold the partial sums in the final fold's order and stop once
// they pass `bound` (valid for sums of terms >= 0: see avx512_sum).
template <class Op, bool kBounded = false>
__attribute__((target("avx"))) float avx_sum(const float* x, const float* y, int f, float bound = 0) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int i = 0;
  while (i + kLanes <= f) {
    const int block_end = (!kBounded || i + 128 > f) ? f - (f - i) % kLanes : i + 128;
    for (; i < block_end; i += kLanes) {
      a0 = _mm256_add_ps(a0, avx_term<Op>(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
      a1 = _mm256_add_ps(a1, avx_term<Op>(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
      a2 = _mm256_add_ps(a2, avx_term<Op>(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16)));
      a3 = _mm256_add_ps(a3, avx_term<Op>(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24)));
    }
    if (kBounded && i + kLanes <= f) {
      const float partial = avx_fold(a0, a1, a2, a3);
      if (partial > bound) return partial;
    }
  }
  for (; i + 8 <= f; i += 8)  // whole groups of 8 still map onto one accumulator
    avx_add_at(i, avx_term<Op>(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)), a0, a1, a2, a3);
  if (i < f) {  // the last f - i (< 8) into their lanes, of one accumulator
    // Lanes past the end load 0 and add a term of +0, which leaves them as they were: a
    // partial sum is never -0 (it starts at +0, and round-to-nearest gives -0 only for -0 + -0).
    static const std::int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m256i tail = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - (f - i)));
    avx_add_at(i, avx_term<Op>(_mm256_maskload_ps(x + i, tail), _mm256_maskload_ps(y + i, tail)), a0, a1, a2, a3);
  }
  return avx_fold(a0, a1, a2, a3);
}

// AVX-512: 2 accumulators of 16 lanes.
template <class Op>
__attribute__((target("avx512f"))) inline __m512 avx512_term(__m512 a, __m512 b);
template <> __attribute__((target("avx512f"))) inline __m512 avx512_term<Dot>(__m512 a, __m512 b) {
  return _mm512_mul_ps(a, b);
}
template <> __attribute__((target("avx512f"))) inline __m512 avx512_term<L2>(__m512 a, __m512 b) {
  __m512 d = _mm512_sub_ps(a, b);
  return _mm512_mul_ps(d, d);
}
template <> __attribute__((target("avx512f"))) inline __m512 avx512_term<L1>(__m512 a, __m512 b) {
  return _mm512_abs_ps(_mm512_sub_ps(a, b));
}

// fold(), in registers: the 32 partial sums a0 (lanes 0-15) and a1 (16-31) halved and
// added pairwise, the same adds in the same order. A fold through memory made each step wait
// on stores just made (perf: a third of two_means' dot products).
__attribute__((target("avx512f"))) inline float avx512_fold(__m512 a0, __m512 a1) {
  const __m512 s16 = _mm512_add_ps(a0, a1);
  // Halves by the maskz extract, every lane set: GCC 12's plain one (and the cast, made of it)
  // warns of an uninitialised value.
  const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, _mm512_castps_pd(s16), 0));
  const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, _mm512_castps_pd(s16), 1));
  return fold_eight(_mm256_add_ps(lo, hi));
}

// finish() and fold() in registers: the last f - i (< 16) elements added into their lanes
// (i % 32 is 0 or 16: one accumulator holds them all), then the fold.
template <class Op>
__attribute__((target("avx512f"))) inline float avx512_finish(__m512 a0, __m512 a1, const float* x, const float* y, int i, int f) {
  if (i < f) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (f - i)) - 1);
    const __m512 t = avx512_term<Op>(_mm512_maskz_loadu_ps(tail, x + i), _mm512_maskz_loadu_ps(tail, y + i));
    // Each accumulator by name: through a reference to either, GCC kept both on the stack,
    // and every step of the sums waited on a store (perf: a third of two_means' dot pairs).
    if (i % kLanes == 0) a0 = _mm512_mask_add_ps(a0, tail, a0, t);
    else a1 = _mm512_mask_add_ps(a1, tail, a1, t);
  }
  return avx512_fold(a0, a1);
}

// kBounded: every 128 elements the partial sums are folded in exactly the final fold's order.
// For terms >= 0 rounding is monotone, so once that fold passes the bound, the final result
// would too, and the call returns early with a value > bound.
template <class Op, bool kBounded = false>
__attribute__((target("avx512f"))) float avx512_sum(const float* x, const float* y, int f, float bound = 0) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  int i = 0;
  while (i + kLanes <= f) {
    const int block_end = (!kBounded || i + 128 > f) ? f - (f - i) % kLanes : i + 128;
    for (; i < block_end; i += kLanes) {
      a0 = _mm512_add_ps(a0, avx512_term<Op>(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
      a1 = _mm512_add_ps(a1, avx512_term<Op>(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16)));
    }
    if (kBounded && i + kLanes <= f) {
      const float partial = avx512_fold(a0, a1);
      if (partial > bound) return partial;
    }
  }
  if (i + 16 <= f) {  // i % 32 == 0 here: the next 16 belong to the first accumulator
    a0 = _mm512_add_ps(a0, avx512_term<Op>(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    i += 16;
  }
  return avx512_finish<Op>(a0, a1, x, y, i, f);
}

__attribute__((target("avx512f"))) inline float sum16(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}

__attribute__((target("avx512f"))) float avx512_scaled_l2_bounded(const float* q, const float* y, float s, int f, float bound) {
  const __m512 scale = _mm512_set1_ps(s);
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  int i = 0;
  while (i + 32 <= f) {
    const int end = (i + 128 <= f) ? i + 128 : f - (f - i) % 32;
    for (; i < end; i += 32) {
      __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_mul_ps(scale, _mm512_loadu_ps(y + i)));
      __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), _mm512_mul_ps(scale, _mm512_loadu_ps(y + i + 16)));
      a0 = _mm512_add_ps(a0, _mm512_mul_ps(d0, d0));
      a1 = _mm512_add_ps(a1, _mm512_mul_ps(d1, d1));
    }
    const float partial = sum16(_mm512_add_ps(a0, a1));
    if (partial > bound) return partial;
  }
  float total = sum16(_mm512_add_ps(a0, a1));
  for (; i < f; ++i) {
    float d = q[i] - s * y[i];
    total += d * d;
  }
  return total;
}

// avx512<Op> twice over, interleaved: the same steps, so the same bits.
template <class Op>
__attribute__((target("avx512f"))) float avx512_pair(const float* x, const float* y, const float* z, int f, float* yz) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
  int i = 0;
  for (; i + kLanes <= f; i += kLanes) {
    const __m512 z0 = _mm512_loadu_ps(z + i), z1 = _mm512_loadu_ps(z + i + 16);
    a0 = _mm512_add_ps(a0, avx512_term<Op>(_mm512_loadu_ps(x + i), z0));
    a1 = _mm512_add_ps(a1, avx512_term<Op>(_mm512_loadu_ps(x + i + 16), z1));
    b0 = _mm512_add_ps(b0, avx512_term<Op>(_mm512_loadu_ps(y + i), z0));
    b1 = _mm512_add_ps(b1, avx512_term<Op>(_mm512_loadu_ps(y + i + 16), z1));
  }
  if (i + 16 <= f) {
    const __m512 z0 = _mm512_loadu_ps(z + i);
    a0 = _mm512_add_ps(a0, avx512_term<Op>(_mm512_loadu_ps(x + i), z0));
    b0 = _mm512_add_ps(b0, avx512_term<Op>(_mm512_loadu_ps(y + i), z0));
    i += 16;
  }
  *yz = avx512_finish<Op>(b0, b1, y, z, i, f);
  return avx512_finish<Op>(a0, a1, x, z, i, f);
}
__attribute__((target("avx512f"))) float avx512_dot_pair(const float* x, const float* y, const float* z, int f, float* yz) {
  return avx512_pair<Dot>(x, y, z, f, yz);
}

__attribute__((target("avx"))) void blend_avx(float* m, float keep, const float* x, float add, int f) {
  const __m256 k = _mm256_set1_ps(keep), a = _mm256_set1_ps(add);
  int i = 0;
  for (; i + 8 <= f; i += 8)
    _mm256_storeu_ps(m + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), k), _mm256_mul_ps(_mm256_loadu_ps(x + i), a)));
  blend_reference(m + i, keep, x + i, add, f - i);
}

// 16 floats a step, as the AVX-512 kernels that read the centre next load it (a wider load
// from narrower stores is not forwarded: see decode_avx512). The same bits as blend_avx.
__attribute__((target("avx512f"))) void blend_avx512(float* m, float keep, const float* x, float add, int f) {
  const __m512 k = _mm512_set1_ps(keep), a = _mm512_set1_ps(add);
  int i = 0;
  for (; i + 16 <= f; i += 16)
    _mm512_storeu_ps(m + i, _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), k), _mm512_mul_ps(_mm512_loadu_ps(x + i), a)));
  blend_reference(m + i, keep, x + i, add, f - i);
}

// m[i .. i + 15] blended (blend_avx512's step), stored; returns their squares.
__attribute__((target("avx512f"))) inline __m512 blend16_squares(float* m, __m512 k, const float* x, __m512 a, int i) {
  const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), k), _mm512_mul_ps(_mm512_loadu_ps(x + i), a));
  _mm512_storeu_ps(m + i, v);
  return _mm512_mul_ps(v, v);
}

// blend_avx512 and avx512<Dot>(m, m) in one pass: each 16 new values squared into the
// accumulator avx512_sum gives them (element i to partial i % 32), the tail masked as there.
// A call less and no reload of the centre in each two_means step (its dependency chain).
__attribute__((target("avx512f"))) float blend_norm_avx512(float* m, float keep, const float* x, float add, int f) {
  const __m512 k = _mm512_set1_ps(keep), a = _mm512_set1_ps(add);
  // 32 a step, each half into its accumulator by name (a reference to either had put both
  // on the stack, each step waiting on a store).
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  int i = 0;
  for (; i + kLanes <= f; i += kLanes) {
    a0 = _mm512_add_ps(a0, blend16_squares(m, k, x, a, i));
    a1 = _mm512_add_ps(a1, blend16_squares(m, k, x, a, i + 16));
  }
  if (i + 16 <= f) {
    a0 = _mm512_add_ps(a0, blend16_squares(m, k, x, a, i));
    i += 16;
  }
  if (i < f) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (f - i)) - 1);
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(tail, m + i), k),
                                   _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + i), a));
    _mm512_mask_storeu_ps(m + i, tail, v);
    if (i % kLanes == 0) a0 = _mm512_mask_add_ps(a0, tail, a0, _mm512_mul_ps(v, v));
    else a1 = _mm512_mask_add_ps(a1, tail, a1, _mm512_mul_ps(v, v));
  }
  return avx512_fold(a0, a1);
}

template <class Op>
float avx(const float* x, const float* y, int f) { return avx_sum<Op>(x, y, f); }
template <class Op>
float avx512(const float* x, const float* y, int f) { return avx512_sum<Op>(x, y, f); }

#endif  // GROVE_X86

#if defined(__wasm_simd128__)

template <class Op>
v128_t wasm_term(v128_t a, v128_t b);
template <> inline v128_t wasm_term<Dot>(v128_t a, v128_t b) { return wasm_f32x4_mul(a, b); }
template <> inline v128_t wasm_term<L2>(v128_t a, v128_t b) {
  v128_t d = wasm_f32x4_sub(a, b);
  return wasm_f32x4_mul(d, d);
}
template <> inline v128_t wasm_term<L1>(v128_t a, v128_t b) { return wasm_f32x4_abs(wasm_f32x4_sub(a, b)); }

// finish() and fold() in registers, for 8 accumulators of 4 lanes: the last f - i (< 4)
// terms go into their lanes of one accumulator (the others get +0, which leaves them as they
// were: a partial sum is never -0), then the fold's adds in its order. Through memory, each
// step of the fold waited on the stores just made.
// Every accumulator is named by a constant index (the last terms are added to each, +0 to
// all but theirs): one index unknown at compile time, acc[(i % kLanes) / 4], had put the
// whole array in linear memory, each add of the tail a load and a store.
template <class Op>
inline float simd128_finish(v128_t* acc, const float* x, const float* y, int i, int f) {
  if (i < f) {
    const int r = f - i;
    const float t0 = Op::term(x[i], y[i]), t1 = r > 1 ? Op::term(x[i + 1], y[i + 1]) : 0.0f,
                t2 = r > 2 ? Op::term(x[i + 2], y[i + 2]) : 0.0f;
    const v128_t t = wasm_f32x4_make(t0, t1, t2, 0.0f), zero = wasm_f32x4_splat(0.0f);
    const int which = (i % kLanes) / 4;
    for (int k = 0; k < 8; ++k) acc[k] = wasm_f32x4_add(acc[k], k == which ? t : zero);
  }
  v128_t s16[4];
  for (int k = 0; k < 4; ++k) s16[k] = wasm_f32x4_add(acc[k], acc[k + 4]);
  const v128_t s4 = wasm_f32x4_add(wasm_f32x4_add(s16[0], s16[2]), wasm_f32x4_add(s16[1], s16[3]));
  return (wasm_f32x4_extract_lane(s4, 0) + wasm_f32x4_extract_lane(s4, 2)) +
         (wasm_f32x4_extract_lane(s4, 1) + wasm_f32x4_extract_lane(s4, 3));
}

// The whole groups of 4 left after the last full block (i a multiple of kLanes): group k
// into accumulator k, k a constant here (see simd128_finish).
template <class Op, int K = 0>
inline void simd128_groups(v128_t* acc, const float* x, const float* y, int groups) {
  if constexpr (K < 8) {
    if (K < groups) {
      acc[K] = wasm_f32x4_add(acc[K], wasm_term<Op>(wasm_v128_load(x + 4 * K), wasm_v128_load(y + 4 * K)));
      simd128_groups<Op, K + 1>(acc, x, y, groups);
    }
  }
}

// WASM SIMD128: 8 accumulators of 4 lanes, as SSE2. kBounded: as avx512_sum; the check folds
// acc[k] + acc[k + 4], then + 2, + 1, then the four lanes pairwise.
template <class Op, bool kBounded = false>
float simd128_sum(const float* x, const float* y, int f, float bound = 0) {
  v128_t acc[8];
  for (auto& a : acc) a = wasm_f32x4_splat(0.0f);
  int i = 0;
  while (i + kLanes <= f) {
    const int block_end = (!kBounded || i + 128 > f) ? f - (f - i) % kLanes : i + 128;
    for (; i < block_end; i += kLanes)
      for (int k = 0; k < 8; ++k)
        acc[k] = wasm_f32x4_add(acc[k], wasm_term<Op>(wasm_v128_load(x + i + 4 * k), wasm_v128_load(y + i + 4 * k)));
    if (kBounded && i + kLanes <= f) {
      const float partial = simd128_finish<Op>(acc, x, y, i, i);  // the fold alone
      if (partial > bound) return partial;
    }
  }
  simd128_groups<Op>(acc, x + i, y + i, (f - i) / 4);
  i += (f - i) / 4 * 4;
  return simd128_finish<Op>(acc, x, y, i, f);
}

template <class Op>
float simd128(const float* x, const float* y, int f) { return simd128_sum<Op>(x, y, f); }

// dot(x, y) and dot(y, y) in one pass, each in simd128_sum's order (the same bits).
float simd128_dot_and_norm(const float* x, const float* y, int f, float* yy) {
  v128_t a[8], n[8];
  for (int k = 0; k < 8; ++k) a[k] = n[k] = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + kLanes <= f; i += kLanes)
    for (int k = 0; k < 8; ++k) {
      const v128_t yv = wasm_v128_load(y + i + 4 * k);
      a[k] = wasm_f32x4_add(a[k], wasm_f32x4_mul(wasm_v128_load(x + i + 4 * k), yv));
      n[k] = wasm_f32x4_add(n[k], wasm_f32x4_mul(yv, yv));
    }
  simd128_groups<Dot>(a, x + i, y + i, (f - i) / 4);
  simd128_groups<Dot>(n, y + i, y + i, (f - i) / 4);
  i += (f - i) / 4 * 4;
  *yy = simd128_finish<Dot>(n, y, y, i, f);
  return simd128_finish<Dot>(a, x, y, i, f);
}

void simd128_blend(float* m, float keep, const float* x, float add, int f) {
  const v128_t k = wasm_f32x4_splat(keep), a = wasm_f32x4_splat(add);
  int i = 0;
  for (; i + 4 <= f; i += 4)
    wasm_v128_store(m + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), k), wasm_f32x4_mul(wasm_v128_load(x + i), a)));
  blend_reference(m + i, keep, x + i, add, f - i);
}

// The angular search bound (see kernels.h): blocks of 128 elements, a check after each.
float simd128_scaled_l2_bounded(const float* q, const float* y, float s, int f, float bound) {
  const v128_t scale = wasm_f32x4_splat(s);
  v128_t acc[4];
  for (auto& a : acc) a = wasm_f32x4_splat(0.0f);
  auto total = [&] {
    const v128_t t = wasm_f32x4_add(wasm_f32x4_add(acc[0], acc[1]), wasm_f32x4_add(acc[2], acc[3]));
    return (wasm_f32x4_extract_lane(t, 0) + wasm_f32x4_extract_lane(t, 1)) +
           (wasm_f32x4_extract_lane(t, 2) + wasm_f32x4_extract_lane(t, 3));
  };
  int i = 0;
  while (i + 16 <= f) {
    const int end = (i + 128 <= f) ? i + 128 : f - (f - i) % 16;
    for (; i < end; i += 16)
      for (int k = 0; k < 4; ++k) {
        const v128_t d = wasm_f32x4_sub(wasm_v128_load(q + i + 4 * k), wasm_f32x4_mul(scale, wasm_v128_load(y + i + 4 * k)));
        acc[k] = wasm_f32x4_add(acc[k], wasm_f32x4_mul(d, d));
      }
    const float partial = total();
    if (partial > bound) return partial;
  }
  float sum = total();
  for (; i < f; ++i) {
    const float d = q[i] - s * y[i];
    sum += d * d;
  }
  return sum;
}

#endif

// Each table: dot, squared_l2, l1, their bounded forms, the angular bound helper, dot+norm,
// the dot pair, the l2 pair, the blend and the blend with its norm.
const Kernels kReference = {reference<Dot>, reference<L2>, reference<L1>, unbounded<reference<L2>>,
                            unbounded<reference<L1>>, scaled_l2_reference, dot_and_norm<pair_sums<reference<Dot>>>, pair_sums<reference<Dot>>, pair_sums<reference<L2>>, blend_reference, blend_then_norm<blend_reference, reference<Dot>>, "reference"};
#ifdef GROVE_X86
const Kernels kSse2 = {sse<Dot>, sse<L2>, sse<L1>, unbounded<sse<L2>>, unbounded<sse<L1>>,
                       scaled_l2_reference, dot_and_norm<pair_sums<sse<Dot>>>, pair_sums<sse<Dot>>, pair_sums<sse<L2>>, blend_reference, blend_then_norm<blend_reference, sse<Dot>>, "sse2"};
const Kernels kAvx = {avx<Dot>, avx<L2>, avx<L1>, avx_sum<L2, true>, avx_sum<L1, true>,
                      scaled_l2_reference, dot_and_norm<pair_sums<avx<Dot>>>, pair_sums<avx<Dot>>, pair_sums<avx<L2>>, blend_avx, blend_then_norm<blend_avx, avx<Dot>>, "avx"};
const Kernels kAvx512 = {avx512<Dot>, avx512<L2>, avx512<L1>, avx512_sum<L2, true>, avx512_sum<L1, true>,
                         avx512_scaled_l2_bounded, dot_and_norm<avx512_dot_pair>, avx512_dot_pair, avx512_pair<L2>, blend_avx512, blend_norm_avx512, "avx512"};
#endif
#if defined(__wasm_simd128__)
const Kernels kSimd128 = {simd128<Dot>, simd128<L2>, simd128<L1>, simd128_sum<L2, true>, simd128_sum<L1, true>,
                          simd128_scaled_l2_bounded, simd128_dot_and_norm, pair_sums<simd128<Dot>>, pair_sums<simd128<L2>>, simd128_blend, blend_then_norm<simd128_blend, simd128<Dot>>, "simd128"};
#endif

const Kernels& choose() {
#ifdef GROVE_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return kAvx512;
  if (__builtin_cpu_supports("avx")) return kAvx;
  return kSse2;
#elif defined(__wasm_simd128__)
  return kSimd128;
#else
  return kReference;
#endif
}

}  // namespace

const Kernels& fast_kernels() {
  static const Kernels& chosen = choose();
  return chosen;
}

const Kernels& reference_kernels() { return kReference; }

int fast_variants(const Kernels** out, int max) {
  int n = 0;
  auto add = [&](const Kernels& k) {
    if (n < max) out[n++] = &k;
  };
  add(kReference);
#ifdef GROVE_X86
  add(kSse2);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx")) add(kAvx);
  if (__builtin_cpu_supports("avx512f")) add(kAvx512);
#endif
#if defined(__wasm_simd128__)
  add(kSimd128);
#endif
  return n;
}

}  // namespace detail
}  // namespace grove
