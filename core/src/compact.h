// Compact candidate scoring: an 8-bit copy of the item vectors with a per-item error bound.
//
// Ranking a query's candidates reads each candidate's float vector; at recall 0.9 that is
// hundreds of scattered rows and the search waits on memory. Scoring the candidates on
// 8-bit codes first (a quarter of the bytes) gives each a proven lower bound on its exact
// distance; exact float distances are then computed in the order of those bounds, only
// until the next bound cannot beat the n-th best. The answers are those of the full float
// ranking: the same ids, distances and tie order.
//
// Codes share one scale and a per-dimension offset, so a query coded on the same grid
// differs from a code by whole steps: distances between codes are integer sums that every
// kernel (SSE2, AVX2, AVX-512, WASM SIMD128, portable) computes to the same exact value.
#ifndef GROVE_CORE_COMPACT_H
#define GROVE_CORE_COMPACT_H

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "forest.h"
#include "grove/format.h"
#include "grove/storage.h"

namespace grove {
namespace detail {

// Exact integer sums over code rows: q holds query steps (int16), c item codes (0..255),
// n a multiple of 16. Query steps must lie in [kQueryLow, kQueryHigh] (L2, L1) or
// [-kQueryDot, kQueryDot] (dot) so that no 32-bit partial sum can overflow.
struct CodeKernels {
  std::int64_t (*l2)(const std::int16_t* q, const std::uint8_t* c, int n);
  std::int64_t (*l1)(const std::int16_t* q, const std::uint8_t* c, int n);
  std::int64_t (*dot)(const std::int16_t* q, const std::uint8_t* c, int n);
  // dot of one query row with `count` (1..kRowsMax) code rows at once: the query is read once
  // for all of them (a search scores its candidates kRowsMax at a time).
  void (*dot_rows)(const std::int16_t* q, const std::uint8_t* const* c, int count, int n, std::int64_t* out);
  // out[j] = offsets[j] + scale * code[j] (a code decoded; float, the same bits everywhere).
  void (*decode)(const std::uint8_t* code, const float* offsets, float scale, float* out, int f);
  // sum of x[j]^2 in double (an item's squared norm).
  double (*norm2)(const float* x, int f);
  // The grid: lo[j] = min(lo[j], x[j] * factor), hi likewise (NaN values are ignored).
  void (*extend)(const float* x, float factor, float* lo, float* hi, int f);
  // Encoding, f values: code[j] = round((x[j] * factor - offsets[j]) * inverse) within 0..255
  // (float arithmetic, the same bits in every variant)...
  void (*quantize)(const float* x, float factor, const float* offsets, float inverse, std::uint8_t* code, int f);
  // ...and, in double, the sum over j of |d| (l1) or d^2 with d = x[j] * factor - (offsets[j]
  // + step * code[j]): the codes' error, within a relative 1e-12 in every variant.
  double (*error)(const float* x, double factor, const float* offsets, double step, const std::uint8_t* code, int f, bool l1);
  // A search's query on the grid, in double: out[j] = k, the whole number nearest
  // (x[j] * factor - offsets[j]) * inverse (halves up) within [low, high] (the same in every
  // variant); returns the sum of k^2 (whole numbers: exact) and sets *error as error() would
  // for these steps, d = x[j] * factor - (offsets[j] + step * k).
  double (*query_steps)(const float* x, double factor, const float* offsets, double inverse, double step, int low,
                        int high, bool l1, std::int16_t* out, double* error, int f);
  const char* name;
};
constexpr int kQueryLow = -1024, kQueryHigh = 1279, kQueryDot = 2047;
// L2 search scores with dot products and codes its query kQueryFine times finer than the items:
// steps in [kQueryFine * kQueryLow, kQueryFine * kQueryHigh].
constexpr int kQueryFine = 4;
// Kernels add kCodeChunk terms at a time in 32-bit lanes; every step range above keeps such a
// chunk's sum below 2^31.
constexpr int kCodeChunk = 1024;
constexpr bool chunk_fits(long long largest_term) { return largest_term * kCodeChunk < (1LL << 31); }
static_assert(chunk_fits(255LL * kQueryDot) && chunk_fits(255LL * kQueryFine * kQueryHigh) &&
                  chunk_fits(-255LL * kQueryFine * kQueryLow) && chunk_fits(1LL * kQueryHigh * kQueryHigh) &&
                  chunk_fits(1LL * (kQueryLow - 255) * (kQueryLow - 255)),
              "a chunk of code sums would overflow 32 bits");
constexpr int kRowsMax = 8;
const CodeKernels& code_kernels();       // the best for this CPU
const CodeKernels& reference_code_kernels();
int code_kernel_variants(const CodeKernels** out, int max);  // for tests

// A companion image, owned (built here) or borrowed (a mapped or caller-owned file).
class Compact {
 public:
  const CompanionHeader& header() const { return *reinterpret_cast<const CompanionHeader*>(bytes_); }
  const std::uint8_t* bytes() const { return bytes_; }
  std::size_t size() const { return size_; }
  int f() const { return static_cast<int>(header().f); }
  int stride() const { return static_cast<int>(header().stride); }
  float scale() const { return header().scale; }
  const float* offsets() const { return reinterpret_cast<const float*>(bytes_ + layout_.offsets); }
  float error(std::int32_t i) const { return records()[2 * static_cast<std::size_t>(i)]; }
  // The items the copy has codes for: ids from here on were added after it was made, and a
  // search ranks them on their floats (as items without a code).
  std::int32_t coded_items() const { return static_cast<std::int32_t>(header().n_items); }
  // Item i's vector changed after the copy was made (added again after build): from now on
  // it is ranked on its floats. False when the copy cannot be written (a mapped companion).
  bool forget(std::int32_t i);
  // How many items are ranked on floats for want of a code: forgotten, or past coded_items().
  std::int64_t uncoded(std::int32_t n_items) const { return forgotten_ + std::max(0, n_items - coded_items()); }
  float extra(std::int32_t i) const { return records()[2 * static_cast<std::size_t>(i) + 1]; }  // see format.h
  // An item's code row (rows follow the first trees' leaves: see format.h).
  const std::uint8_t* code(std::int32_t i) const {
    return bytes_ + layout_.codes + static_cast<std::size_t>(rows_[static_cast<std::size_t>(i)]) * layout_.stride;
  }

  // The same, for code that reads many: item i's row is code_rows() + stride() *
  // row_numbers()[i], its error records()[2 * i].
  const std::uint8_t* code_rows() const { return bytes_ + layout_.codes; }
  const std::int32_t* row_numbers() const { return rows_.data(); }
  const float* records() const { return reinterpret_cast<const float*>(bytes_ + layout_.records); }

  // The neighbour graph (graph.h) when the companion has one that still holds for the
  // index: item i's neighbours(i)[0 .. graph_degree()), -1 after the last. 0: no graph.
  int graph_degree() const { return graph_in_use_ ? header().graph_degree : 0; }
  const std::int32_t* neighbours(std::int32_t i) const {
    return reinterpret_cast<const std::int32_t*>(bytes_ + layout_.graph) + static_cast<std::size_t>(i) * header().graph_degree;
  }
  // Asks for item i's record and row number to be brought into cache (a walk reads them for
  // every neighbour it meets, scattered).
  void prefetch_item(std::int32_t i) const {
    prefetch(records() + 2 * static_cast<std::size_t>(i), 8);
    prefetch(rows_.data() + i, 4);
  }
  // Items were added after the graph was grown, which it cannot reach: searches stop using it.
  void forget_graph() { graph_in_use_ = false; }
  // This copy with `graph` (n_items x degree ids, from grow_graph) as its graph section,
  // sealed to the forest. Throws OutOfMemory when it cannot be allocated.
  std::unique_ptr<Compact> with_graph(const std::vector<std::int32_t>& graph, int degree, const Forest& forest) const;

  // Encodes every item of a forest. Throws OutOfMemory when the copy cannot be allocated.
  // Encoded before the trees exist (a build scores its splits on the codes), the copy is
  // tied to the finished index by seal(); encoding a built forest seals at once.
  static std::unique_ptr<Compact> encode(const Forest& forest);
  void seal(const Forest& forest);
  // Takes companion bytes for `forest` after O(1) checks (header and sizes);
  // returns null and says why when they do not belong to this index.
  static std::unique_ptr<Compact> adopt(std::unique_ptr<Storage> storage, const Forest& forest,
                                        std::string* why);
  // The full check, once before first use: the fingerprint of every index byte, the
  // checksum of every companion byte after the header, every record possible, the row order
  // (a permutation: then copied, see rows_), and sampled items re-encoded to the same codes
  // and bounds. No code() before it.
  bool verify(const Forest& forest, std::string* why) const;

 private:
  bool records_possible(const Forest& forest, std::string* why) const;
  bool graph_possible(std::string* why) const;
  const std::int32_t* slots() const { return reinterpret_cast<const std::int32_t*>(bytes_ + layout_.slots); }
  void arrange(const Forest& forest);
  void attach(const std::uint8_t* bytes, std::size_t size);

  std::unique_ptr<Storage> storage_;
  const std::uint8_t* bytes_ = nullptr;
  std::size_t size_ = 0;
  CompanionLayout layout_{};
  // Each item's row: the file's slots, copied once checked (by verify(), or when made here).
  // Read from the companion block itself, the table made native queries 35% slower on the
  // development machine (cause not found); a private copy costs 4 bytes an item.
  mutable std::vector<std::int32_t> rows_;
  std::int64_t forgotten_ = 0;
  bool graph_in_use_ = true;
};

// The checksum a companion's header records: of every byte after the header.
std::uint64_t companion_checksum(const std::uint8_t* bytes, std::size_t size);
// The header's own check (CompanionHeader::header_check): of its 60 bytes before that field.
std::uint32_t header_check(const CompanionHeader& header);

// Annoy's files do not record their metric, and euclidean and manhattan nodes look alike; a
// companion does. True (and *other set) when `bytes` is a companion with an intact header
// made for an index of exactly this one's size, dimension and item count but another metric:
// then the index is of that metric (a caller named the wrong one), not a stale companion. A
// damaged header says nothing (the companion is then ignored, as any damaged one).
bool companion_names_other_metric(const std::uint8_t* bytes, std::size_t size, const Forest& forest, Metric* other);

// True for the metrics compact scoring serves (every float metric; hamming is compact already).
bool compact_applies(Metric metric);

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_COMPACT_H
