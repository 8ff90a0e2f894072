// Integer kernels over 8-bit code rows (see compact.h). Every variant computes the same exact
// integer, so the choice of variant never changes a result.
//
// Sums are taken in chunks of kChunk elements in 32-bit lanes, then added up in 64 bits: with
// query steps in the ranges compact.h states, no chunk can overflow a 32-bit lane.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "compact.h"

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

constexpr int kChunk = kCodeChunk;  // see compact.h

struct L2 {
  static std::int32_t term(int q, int c) { return (q - c) * (q - c); }
};
struct L1 {
  static std::int32_t term(int q, int c) { return std::abs(q - c); }
};
struct Dot {
  static std::int32_t term(int q, int c) { return q * c; }
};

template <class Op>
std::int64_t reference(const std::int16_t* q, const std::uint8_t* c, int n) {
  std::int64_t total = 0;
  for (int i = 0; i < n; i += kChunk) {
    const int end = i + kChunk < n ? i + kChunk : n;
    std::int32_t sum = 0;
    for (int j = i; j < end; ++j) sum += Op::term(q[j], c[j]);
    total += sum;
  }
  return total;
}

template <std::int64_t (*One)(const std::int16_t*, const std::uint8_t*, int)>
void dot_rows_each(const std::int16_t* q, const std::uint8_t* const* c, int count, int n, std::int64_t* out) {
  for (int k = 0; k < count; ++k) out[k] = One(q, c[k], n);
}

// dot_rows from a kernel for a constant number of rows, Rows::run<N>: eight at a time (the
// usual case), the rest (a node's last few) in fours, twos, ones. With N a constant the
// accumulators are locals kept in registers; indexed by a count known only at run time,
// compilers kept them in memory, a store and a load per step (GCC on AVX2 and AVX-512, the
// engines on wasm).
template <class Rows>
void rows_by_eights(const std::int16_t* q, const std::uint8_t* const* c, int count, int n, std::int64_t* out) {
  int k = 0;
  for (; k + 8 <= count; k += 8) Rows::template run<8>(q, c + k, n, out + k);
  if (k + 4 <= count) Rows::template run<4>(q, c + k, n, out + k), k += 4;
  if (k + 2 <= count) Rows::template run<2>(q, c + k, n, out + k), k += 2;
  if (k < count) Rows::template run<1>(q, c + k, n, out + k);
}

void decode_reference(const std::uint8_t* code, const float* offsets, float scale, float* out, int f) {
  for (int j = 0; j < f; ++j) out[j] = offsets[j] + scale * static_cast<float>(code[j]);
}

double norm2_reference(const float* x, int f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < f; ++j) acc[j % 8] += static_cast<double>(x[j]) * x[j];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void extend_reference(const float* x, float factor, float* lo, float* hi, int f) {
  for (int j = 0; j < f; ++j) {
    const float v = x[j] * factor;
    lo[j] = v < lo[j] ? v : lo[j];
    hi[j] = v > hi[j] ? v : hi[j];
  }
}

void quantize_reference(const float* x, float factor, const float* offsets, float inverse, std::uint8_t* code, int f) {
  for (int j = 0; j < f; ++j) {
    float t = (x[j] * factor - offsets[j]) * inverse;
    t = t > 0.0f ? t : 0.0f;  // NaN too
    t = t < 255.0f ? t : 255.0f;
    code[j] = static_cast<std::uint8_t>(static_cast<int>(t + 0.5f));
  }
}

double error_reference(const float* x, double factor, const float* offsets, double step, const std::uint8_t* code, int f,
                       bool l1) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < f; ++j) {
    const double d = x[j] * factor - (static_cast<double>(offsets[j]) + step * code[j]);
    acc[j % 8] += l1 ? std::fabs(d) : d * d;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double query_steps_reference(const float* x, double factor, const float* offsets, double inverse, double step, int low,
                             int high, bool l1, std::int16_t* out, double* error, int f) {
  double squares = 0, acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < f; ++j) {
    const double u = x[j] * factor;
    const double k = std::max<double>(low, std::min<double>(high, std::floor((u - offsets[j]) * inverse + 0.5)));
    out[j] = static_cast<std::int16_t>(k);
    squares += k * k;
    const double d = u - (static_cast<double>(offsets[j]) + step * k);
    acc[j % 8] += l1 ? std::fabs(d) : d * d;
  }
  *error = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  return squares;
}

#ifdef GROVE_X86

// SSE2: min/max take their second operand when the first is NaN, so a NaN value is ignored.
void extend_sse2(const float* x, float factor, float* lo, float* hi, int f) {
  const __m128 k = _mm_set1_ps(factor);
  int j = 0;
  for (; j + 4 <= f; j += 4) {
    const __m128 v = _mm_mul_ps(_mm_loadu_ps(x + j), k);
    _mm_storeu_ps(lo + j, _mm_min_ps(v, _mm_loadu_ps(lo + j)));
    _mm_storeu_ps(hi + j, _mm_max_ps(v, _mm_loadu_ps(hi + j)));
  }
  extend_reference(x + j, factor, lo + j, hi + j, f - j);
}

// SSE2 encoding, 16 values a step, packed to bytes with saturation (values are 0..255 already).
void quantize_sse2(const float* x, float factor, const float* offsets, float inverse, std::uint8_t* code, int f) {
  const __m128 k = _mm_set1_ps(factor), inv = _mm_set1_ps(inverse), zero = _mm_setzero_ps(),
               top = _mm_set1_ps(255.0f), half = _mm_set1_ps(0.5f);
  auto four = [&](int j) {
    __m128 t = _mm_mul_ps(_mm_sub_ps(_mm_mul_ps(_mm_loadu_ps(x + j), k), _mm_loadu_ps(offsets + j)), inv);
    t = _mm_min_ps(_mm_max_ps(t, zero), top);  // max first: a NaN becomes 0
    return _mm_cvttps_epi32(_mm_add_ps(t, half));
  };
  int j = 0;
  for (; j + 16 <= f; j += 16) {
    const __m128i low = _mm_packs_epi32(four(j), four(j + 4)), high = _mm_packs_epi32(four(j + 8), four(j + 12));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(code + j), _mm_packus_epi16(low, high));
  }
  quantize_reference(x + j, factor, offsets + j, inverse, code + j, f - j);
}

// AVX-512: 16 codes a step, the same steps per value as quantize_sse2 (so the same codes);
// the 16 values, in 0..255 by then, narrowed to bytes in one instruction.
__attribute__((target("avx512f"))) void quantize_avx512(const float* x, float factor, const float* offsets, float inverse,
                                                        std::uint8_t* code, int f) {
  const __m512 k = _mm512_set1_ps(factor), inv = _mm512_set1_ps(inverse), zero = _mm512_setzero_ps(),
               top = _mm512_set1_ps(255.0f), half = _mm512_set1_ps(0.5f);
  int j = 0;
  for (; j + 16 <= f; j += 16) {
    __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(x + j), k), _mm512_loadu_ps(offsets + j)), inv);
    // The maskz forms with every lane set, as in decode_avx512 (GCC 12 warns of the plain ones).
    t = _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, t, zero), top);  // max first: a NaN becomes 0
    const __m512i whole = _mm512_maskz_cvttps_epi32(0xffff, _mm512_add_ps(t, half));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(code + j), _mm512_maskz_cvtusepi32_epi8(0xffff, whole));
  }
  quantize_reference(x + j, factor, offsets + j, inverse, code + j, f - j);
}

// AVX2: 8 codes decoded a step.
__attribute__((target("avx2"))) void decode_avx2(const std::uint8_t* code, const float* offsets, float scale, float* out, int f) {
  const __m256 s = _mm256_set1_ps(scale);
  int j = 0;
  for (; j + 8 <= f; j += 8) {
    std::int64_t packed;
    std::memcpy(&packed, code + j, 8);
    const __m256 c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(packed)));
    _mm256_storeu_ps(out + j, _mm256_add_ps(_mm256_loadu_ps(offsets + j), _mm256_mul_ps(s, c)));
  }
  decode_reference(code + j, offsets + j, scale, out + j, f - j);
}

// AVX-512: 16 codes decoded a step. Besides the width: the float kernels that read a decoded
// sample (two_means) load 16 floats at a time from the same offsets, and a load that spans
// two narrower stores cannot be forwarded from them (perf: two_means' dot product stalled
// on every sample). The same bits as decode_avx2.
__attribute__((target("avx512f"))) void decode_avx512(const std::uint8_t* code, const float* offsets, float scale, float* out, int f) {
  const __m512 s = _mm512_set1_ps(scale);
  int j = 0;
  for (; j + 16 <= f; j += 16) {
    // The maskz forms with every lane set: GCC 12's plain ones warn of an uninitialised value.
    const __m512i wide = _mm512_maskz_cvtepu8_epi32(0xffff, _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + j)));
    const __m512 c = _mm512_maskz_cvtepi32_ps(0xffff, wide);
    _mm512_storeu_ps(out + j, _mm512_add_ps(_mm512_loadu_ps(offsets + j), _mm512_mul_ps(s, c)));
  }
  decode_reference(code + j, offsets + j, scale, out + j, f - j);
}

// AVX2: the squared norm in double, 4 values a step, two chains.
__attribute__((target("avx2"))) double norm2_avx2(const float* x, int f) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  int j = 0;
  for (; j + 8 <= f; j += 8) {
    const __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(x + j)), v1 = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 4));
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(v0, v0));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(v1, v1));
  }
  alignas(32) double lanes[8];
  _mm256_store_pd(lanes, a0);
  _mm256_store_pd(lanes + 4, a1);
  const double total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  return total + norm2_reference(x + j, f - j);
}

// AVX2: the error in double, 4 values a step, two chains.
__attribute__((target("avx2"))) double error_avx2(const float* x, double factor, const float* offsets, double step,
                                                  const std::uint8_t* code, int f, bool l1) {
  const __m256d k = _mm256_set1_pd(factor), s = _mm256_set1_pd(step), sign = _mm256_set1_pd(-0.0);
  __m256d acc[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  int j = 0;
  for (; j + 4 <= f; j += 4) {
    std::int32_t packed;
    std::memcpy(&packed, code + j, 4);
    const __m256d c = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(packed)));
    const __m256d v = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + j)), k);
    const __m256d d = _mm256_sub_pd(v, _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(offsets + j)), _mm256_mul_pd(s, c)));
    __m256d& a = acc[(j / 4) & 1];
    a = _mm256_add_pd(a, l1 ? _mm256_andnot_pd(sign, d) : _mm256_mul_pd(d, d));
  }
  alignas(32) double lanes[8];
  _mm256_store_pd(lanes, acc[0]);
  _mm256_store_pd(lanes + 4, acc[1]);
  const double total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  return total + error_reference(x + j, factor, offsets + j, step, code + j, f - j, l1);
}

// AVX2: 8 steps a loop (lanes j % 8, error()'s chains), rounded with floor (AVX's roundpd).
// The clamp comes before the floor, which gives the same whole number for whole bounds.
__attribute__((target("avx2"))) double query_steps_avx2(const float* x, double factor, const float* offsets, double inverse,
                                                        double step, int low, int high, bool l1, std::int16_t* out,
                                                        double* error, int f) {
  const __m256d k = _mm256_set1_pd(factor), inv = _mm256_set1_pd(inverse), s = _mm256_set1_pd(step),
                half = _mm256_set1_pd(0.5), lo = _mm256_set1_pd(low), hi = _mm256_set1_pd(high),
                sign = _mm256_set1_pd(-0.0);
  __m256d acc[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()}, sq = _mm256_setzero_pd();
  int j = 0;
  for (; j + 8 <= f; j += 8)
    for (int h = 0; h < 2; ++h) {
      const int at = j + 4 * h;
      const __m256d u = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + at)), k);
      const __m256d o = _mm256_cvtps_pd(_mm_loadu_ps(offsets + at));
      __m256d y = _mm256_add_pd(_mm256_mul_pd(_mm256_sub_pd(u, o), inv), half);
      y = _mm256_floor_pd(_mm256_min_pd(_mm256_max_pd(y, lo), hi));
      const __m128i whole = _mm256_cvtpd_epi32(y);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + at), _mm_packs_epi32(whole, whole));
      sq = _mm256_add_pd(sq, _mm256_mul_pd(y, y));
      const __m256d d = _mm256_sub_pd(u, _mm256_add_pd(o, _mm256_mul_pd(s, y)));
      acc[h] = _mm256_add_pd(acc[h], l1 ? _mm256_andnot_pd(sign, d) : _mm256_mul_pd(d, d));
    }
  alignas(32) double lanes[12];
  _mm256_store_pd(lanes, acc[0]);
  _mm256_store_pd(lanes + 4, acc[1]);
  _mm256_store_pd(lanes + 8, sq);
  double rest = 0;
  const double squares = (lanes[8] + lanes[9]) + (lanes[10] + lanes[11]) +
                         query_steps_reference(x + j, factor, offsets + j, inverse, step, low, high, l1, out + j, &rest, f - j);
  // The tail's chains are j % 8 as well (j is a multiple of 8 here).
  *error = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + rest;
  return squares;
}

// SSE2: 16 codes widened by interleaving with zero bytes.
template <class Op>
__m128i sse2_terms(__m128i q, __m128i c);
template <> inline __m128i sse2_terms<L2>(__m128i q, __m128i c) {
  const __m128i d = _mm_sub_epi16(q, c);
  return _mm_madd_epi16(d, d);
}
template <> inline __m128i sse2_terms<L1>(__m128i q, __m128i c) {
  const __m128i d = _mm_sub_epi16(q, c);
  return _mm_madd_epi16(_mm_max_epi16(d, _mm_sub_epi16(_mm_setzero_si128(), d)), _mm_set1_epi16(1));
}
template <> inline __m128i sse2_terms<Dot>(__m128i q, __m128i c) { return _mm_madd_epi16(q, c); }

inline std::int64_t sse2_lanes(__m128i v) {
  alignas(16) std::int32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), v);
  return static_cast<std::int64_t>(lanes[0]) + lanes[1] + lanes[2] + lanes[3];
}

template <class Op>
std::int64_t sse2(const std::int16_t* q, const std::uint8_t* c, int n) {
  std::int64_t total = 0;
  const __m128i zero = _mm_setzero_si128();
  for (int i = 0; i < n; i += kChunk) {
    const int end = i + kChunk < n ? i + kChunk : n;
    __m128i acc = zero;
    for (int j = i; j < end; j += 16) {
      const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j));
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + j));
      const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + j + 8));
      acc = _mm_add_epi32(acc, sse2_terms<Op>(q0, _mm_unpacklo_epi8(codes, zero)));
      acc = _mm_add_epi32(acc, sse2_terms<Op>(q1, _mm_unpackhi_epi8(codes, zero)));
    }
    total += sse2_lanes(acc);
  }
  return total;
}

// AVX2: 16 codes widened to 16-bit lanes at once.
template <class Op>
__attribute__((target("avx2"))) inline __m256i avx2_terms(__m256i q, __m256i c);
template <> __attribute__((target("avx2"))) inline __m256i avx2_terms<L2>(__m256i q, __m256i c) {
  const __m256i d = _mm256_sub_epi16(q, c);
  return _mm256_madd_epi16(d, d);
}
template <> __attribute__((target("avx2"))) inline __m256i avx2_terms<L1>(__m256i q, __m256i c) {
  return _mm256_madd_epi16(_mm256_abs_epi16(_mm256_sub_epi16(q, c)), _mm256_set1_epi16(1));
}
template <> __attribute__((target("avx2"))) inline __m256i avx2_terms<Dot>(__m256i q, __m256i c) {
  return _mm256_madd_epi16(q, c);
}

__attribute__((target("avx2"))) inline std::int64_t avx2_lanes(__m256i v) {
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  std::int64_t total = 0;
  for (std::int32_t x : lanes) total += x;
  return total;
}

template <class Op>
__attribute__((target("avx2"))) std::int64_t avx2(const std::int16_t* q, const std::uint8_t* c, int n) {
  std::int64_t total = 0;
  for (int i = 0; i < n; i += kChunk) {
    const int end = i + kChunk < n ? i + kChunk : n;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0;
    int j = i;
    for (; j + 32 <= end; j += 32) {  // two independent chains
      const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j)));
      const __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j + 16)));
      a0 = _mm256_add_epi32(a0, avx2_terms<Op>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j)), c0));
      a1 = _mm256_add_epi32(a1, avx2_terms<Op>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j + 16)), c1));
    }
    if (j < end) {
      const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j)));
      a0 = _mm256_add_epi32(a0, avx2_terms<Op>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j)), c0));
    }
    total += avx2_lanes(_mm256_add_epi32(a0, a1));
  }
  return total;
}

// out[k] += the sum of acc[k]'s 8 lanes, k = 0..7, all eight at once: horizontal adds of
// pairs of rows, then of fours, then the two halves (avx2_lanes stores each row and adds it
// up one lane at a time).
__attribute__((target("avx2"))) inline void avx2_add_sums8(const __m256i* acc, std::int64_t* out) {
  __m256i pairs[4];  // each half: two lanes' sums of rows 2k and 2k + 1
  for (int k = 0; k < 4; ++k) pairs[k] = _mm256_hadd_epi32(acc[2 * k], acc[2 * k + 1]);
  const __m256i low = _mm256_hadd_epi32(pairs[0], pairs[1]);  // each half: rows 0-3
  const __m256i high = _mm256_hadd_epi32(pairs[2], pairs[3]);  // rows 4-7
  const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(low, high, 0x20), _mm256_permute2x128_si256(low, high, 0x31));
  __m256i* at = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(at, _mm256_add_epi64(_mm256_loadu_si256(at), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(sums))));
  _mm256_storeu_si256(at + 1, _mm256_add_epi64(_mm256_loadu_si256(at + 1), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(sums, 1))));
}

// One query row against N code rows (n a multiple of 16): each 16 query steps are loaded
// once for all rows, and the rows' sums are independent chains, where one row at a time waits
// on its own adds.
struct Avx2Rows {
  template <int N>
  __attribute__((target("avx2"))) static void run(const std::int16_t* q, const std::uint8_t* const* c, int n, std::int64_t* out) {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int i = 0; i < n; i += kChunk) {
      const int end = i + kChunk < n ? i + kChunk : n;
      __m256i acc[N];
      for (int k = 0; k < N; ++k) acc[k] = _mm256_setzero_si256();
      for (int j = i; j < end; j += 16) {
        const __m256i steps = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j));
        for (int k = 0; k < N; ++k)
          acc[k] = _mm256_add_epi32(
              acc[k], _mm256_madd_epi16(steps, _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c[k] + j)))));
      }
      if constexpr (N == 8) avx2_add_sums8(acc, out);
      else for (int k = 0; k < N; ++k) out[k] += avx2_lanes(acc[k]);
    }
  }
};

// The sum of the 16 lanes, halving the width each step (no store, no scalar loop). GCC 12's
// AVX-512 headers build these from an undefined vector, which -Wmaybe-uninitialized flags
// wrongly: the warning is off for these two only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) inline std::int64_t sum_lanes(__m512i v) {
  const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  const __m128i quarter = _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
  const __m128i eighth = _mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(eighth, _mm_shuffle_epi32(eighth, 0xb1)));
}

// out[k] += the sum of acc[k]'s 16 lanes, k = 0..7, all eight at once: pairs of rows
// interleaved and added, then fours, then the 128-bit quarters (about 30 instructions for
// the eight, where one row at a time took 9 each).
__attribute__((target("avx512f"))) inline void add_sums8(const __m512i* acc, std::int64_t* out) {
  __m512i pairs[4];
  for (int k = 0; k < 4; ++k)  // each quarter: [r0 lanes 0+2, r1 0+2, r0 1+3, r1 1+3] of rows 2k, 2k + 1
    pairs[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(acc[2 * k], acc[2 * k + 1]), _mm512_unpackhi_epi32(acc[2 * k], acc[2 * k + 1]));
  // each quarter: the four rows' sums of its lanes, rows 0-3 and 4-7
  const __m512i low = _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[0], pairs[1]), _mm512_unpackhi_epi64(pairs[0], pairs[1]));
  const __m512i high = _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[2], pairs[3]), _mm512_unpackhi_epi64(pairs[2], pairs[3]));
  const __m512i halves = _mm512_add_epi32(_mm512_shuffle_i32x4(low, high, 0x44), _mm512_shuffle_i32x4(low, high, 0xee));
  const __m512i sums = _mm512_add_epi32(_mm512_shuffle_i32x4(halves, halves, 0x88), _mm512_shuffle_i32x4(halves, halves, 0xdd));
  const __m512i wide = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(sums));
  _mm512_storeu_si512(out, _mm512_add_epi64(_mm512_loadu_si512(out), wide));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// AVX-512 (BW): 32 codes a step; with VNNI the multiply-add and the add are one
// instruction. The two are compiled apart so the plain one never carries VNNI code.
#define GROVE_AVX512_STEPS(TARGET, NAME, FUSED)                                                  \
  __attribute__((target(TARGET))) inline __m512i NAME##_l2(__m512i acc, __m512i q, __m512i c) {  \
    const __m512i d = _mm512_sub_epi16(q, c);                                                    \
    return FUSED(acc, d, d);                                                                     \
  }                                                                                              \
  __attribute__((target(TARGET))) inline __m512i NAME##_l1(__m512i acc, __m512i q, __m512i c) {  \
    return FUSED(acc, _mm512_abs_epi16(_mm512_sub_epi16(q, c)), _mm512_set1_epi16(1));           \
  }                                                                                              \
  __attribute__((target(TARGET))) inline __m512i NAME##_dot(__m512i acc, __m512i q, __m512i c) { \
    return FUSED(acc, q, c);                                                                     \
  }                                                                                              \
  template <__m512i (*Step)(__m512i, __m512i, __m512i), class Scalar>                            \
  __attribute__((target(TARGET))) std::int64_t NAME(const std::int16_t* q, const std::uint8_t* c, int n) { \
    std::int64_t total = 0;                                                                      \
    for (int i = 0; i < n; i += kChunk) {                                                        \
      const int end = i + kChunk < n ? i + kChunk : n;                                           \
      __m512i acc = _mm512_setzero_si512();                                                      \
      int j = i;                                                                                 \
      for (; j + 32 <= end; j += 32)                                                             \
        acc = Step(acc, _mm512_loadu_si512(q + j),                                               \
                   _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + j)))); \
      if (j + 16 <= end) { /* 16 left: masked loads, nothing read past the rows */              \
        acc = Step(acc, _mm512_maskz_loadu_epi16(0xffff, q + j),                                 \
                   _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j))))); \
        j += 16;                                                                                 \
      }                                                                                          \
      total += sum_lanes(acc);                                                                   \
      for (; j < end; ++j) total += Scalar::term(q[j], c[j]); /* n is a multiple of 16: none */  \
    }                                                                                            \
    return total;                                                                                \
  }

// One query row against N code rows: each 32 query steps are loaded once for all.
#define GROVE_AVX512_ROWS(TARGET, NAME, FUSED)                                                                  \
  struct NAME {                                                                                                \
    template <int N>                                                                                           \
    __attribute__((target(TARGET))) static void run(const std::int16_t* q, const std::uint8_t* const* c, int n, \
                                                    std::int64_t* out) {                                      \
      for (int k = 0; k < N; ++k) out[k] = 0;                                                                  \
      for (int i = 0; i < n; i += kChunk) {                                                                    \
        const int end = i + kChunk < n ? i + kChunk : n;                                                       \
        __m512i acc[N];                                                                                        \
        for (int k = 0; k < N; ++k) acc[k] = _mm512_setzero_si512();                                           \
        int j = i;                                                                                             \
        for (; j + 32 <= end; j += 32) {                                                                       \
          const __m512i steps = _mm512_loadu_si512(q + j);                                                     \
          for (int k = 0; k < N; ++k)                                                                          \
            acc[k] = FUSED(acc[k], steps, _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c[k] + j)))); \
        }                                                                                                      \
        if (j + 16 <= end) {                                                                                   \
          const __m512i steps = _mm512_maskz_loadu_epi16(0xffff, q + j);                                       \
          for (int k = 0; k < N; ++k)                                                                          \
            acc[k] = FUSED(acc[k], steps,                                                                      \
                           _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c[k] + j))))); \
          j += 16;                                                                                             \
        }                                                                                                      \
        if constexpr (N == 8) add_sums8(acc, out);                                                             \
        else for (int k = 0; k < N; ++k) out[k] += sum_lanes(acc[k]);                                          \
      }                                                                                                        \
    }                                                                                                          \
  };

#define GROVE_MADD_ADD(acc, a, b) _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
#define GROVE_DPWSSD(acc, a, b) _mm512_dpwssd_epi32(acc, a, b)
GROVE_AVX512_STEPS("avx512f,avx512bw", avx512bw, GROVE_MADD_ADD)
GROVE_AVX512_STEPS("avx512f,avx512bw,avx512vnni", avx512vnni, GROVE_DPWSSD)
GROVE_AVX512_ROWS("avx512f,avx512bw", Avx512bwRows, GROVE_MADD_ADD)
GROVE_AVX512_ROWS("avx512f,avx512bw,avx512vnni", Avx512VnniRows, GROVE_DPWSSD)
#undef GROVE_AVX512_ROWS
#undef GROVE_MADD_ADD
#undef GROVE_DPWSSD
#undef GROVE_AVX512_STEPS

#endif  // GROVE_X86

#if defined(__wasm_simd128__)

template <class Op>
v128_t simd128_terms(v128_t q, v128_t c);
template <> inline v128_t simd128_terms<L2>(v128_t q, v128_t c) {
  const v128_t d = wasm_i16x8_sub(q, c);
  return wasm_i32x4_dot_i16x8(d, d);
}
template <> inline v128_t simd128_terms<L1>(v128_t q, v128_t c) {
  return wasm_i32x4_dot_i16x8(wasm_i16x8_abs(wasm_i16x8_sub(q, c)), wasm_i16x8_splat(1));
}
template <> inline v128_t simd128_terms<Dot>(v128_t q, v128_t c) { return wasm_i32x4_dot_i16x8(q, c); }

template <class Op>
std::int64_t simd128(const std::int16_t* q, const std::uint8_t* c, int n) {
  std::int64_t total = 0;
  for (int i = 0; i < n; i += kChunk) {
    const int end = i + kChunk < n ? i + kChunk : n;
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0;
    for (int j = i; j < end; j += 16) {
      a0 = wasm_i32x4_add(a0, simd128_terms<Op>(wasm_v128_load(q + j), wasm_u16x8_load8x8(c + j)));
      a1 = wasm_i32x4_add(a1, simd128_terms<Op>(wasm_v128_load(q + j + 8), wasm_u16x8_load8x8(c + j + 8)));
    }
    const v128_t s = wasm_i32x4_add(a0, a1);
    total += static_cast<std::int64_t>(wasm_i32x4_extract_lane(s, 0)) + wasm_i32x4_extract_lane(s, 1) +
             wasm_i32x4_extract_lane(s, 2) + wasm_i32x4_extract_lane(s, 3);
  }
  return total;
}

inline std::int64_t simd128_lanes(v128_t v) {
  return static_cast<std::int64_t>(wasm_i32x4_extract_lane(v, 0)) + wasm_i32x4_extract_lane(v, 1) +
         wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

// One query row against N code rows, each 8 query steps loaded once.
struct Simd128Rows {
  template <int N>
  static void run(const std::int16_t* q, const std::uint8_t* const* c, int n, std::int64_t* out) {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int i = 0; i < n; i += kChunk) {
      const int end = i + kChunk < n ? i + kChunk : n;
      v128_t acc[N];
      for (int k = 0; k < N; ++k) acc[k] = wasm_i32x4_splat(0);
      for (int j = i; j < end; j += 8) {
        const v128_t steps = wasm_v128_load(q + j);
        for (int k = 0; k < N; ++k) acc[k] = wasm_i32x4_add(acc[k], wasm_i32x4_dot_i16x8(steps, wasm_u16x8_load8x8(c[k] + j)));
      }
      for (int k = 0; k < N; ++k) out[k] += simd128_lanes(acc[k]);
    }
  }
};

#endif

const CodeKernels kReference = {reference<L2>, reference<L1>, reference<Dot>, dot_rows_each<reference<Dot>>, decode_reference, norm2_reference, extend_reference, quantize_reference, error_reference, query_steps_reference, "reference"};
#ifdef GROVE_X86
const CodeKernels kSse2 = {sse2<L2>, sse2<L1>, sse2<Dot>, dot_rows_each<sse2<Dot>>, decode_reference, norm2_reference, extend_sse2, quantize_sse2, error_reference, query_steps_reference, "sse2"};
const CodeKernels kAvx2 = {avx2<L2>, avx2<L1>, avx2<Dot>, rows_by_eights<Avx2Rows>, decode_avx2, norm2_avx2, extend_sse2, quantize_sse2, error_avx2, query_steps_avx2, "avx2"};
const CodeKernels kAvx512 = {avx512bw<avx512bw_l2, L2>, avx512bw<avx512bw_l1, L1>, avx512bw<avx512bw_dot, Dot>,
                             rows_by_eights<Avx512bwRows>, decode_avx512, norm2_avx2, extend_sse2, quantize_avx512, error_avx2, query_steps_avx2, "avx512bw"};
const CodeKernels kVnni = {avx512vnni<avx512vnni_l2, L2>, avx512vnni<avx512vnni_l1, L1>, avx512vnni<avx512vnni_dot, Dot>,
                           rows_by_eights<Avx512VnniRows>, decode_avx512, norm2_avx2, extend_sse2, quantize_avx512, error_avx2, query_steps_avx2, "avx512vnni"};
#endif
#if defined(__wasm_simd128__)
const CodeKernels kSimd128 = {simd128<L2>, simd128<L1>, simd128<Dot>, rows_by_eights<Simd128Rows>, decode_reference, norm2_reference, extend_reference, quantize_reference, error_reference, query_steps_reference, "simd128"};
#endif

#ifdef GROVE_X86
bool has_avx512bw() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
bool has_vnni() { return has_avx512bw() && __builtin_cpu_supports("avx512vnni"); }
#endif

const CodeKernels& choose() {
#ifdef GROVE_X86
  if (has_vnni()) return kVnni;
  if (has_avx512bw()) return kAvx512;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return kAvx2;
  return kSse2;
#elif defined(__wasm_simd128__)
  return kSimd128;
#else
  return kReference;
#endif
}

}  // namespace

const CodeKernels& code_kernels() {
  static const CodeKernels& chosen = choose();
  return chosen;
}

const CodeKernels& reference_code_kernels() { return kReference; }

int code_kernel_variants(const CodeKernels** out, int max) {
  int n = 0;
  auto add = [&](const CodeKernels& k) {
    if (n < max) out[n++] = &k;
  };
  add(kReference);
#ifdef GROVE_X86
  add(kSse2);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) add(kAvx2);
  if (has_avx512bw()) add(kAvx512);
  if (has_vnni()) add(kVnni);
#endif
#if defined(__wasm_simd128__)
  add(kSimd128);
#endif
  return n;
}

}  // namespace detail
}  // namespace grove
