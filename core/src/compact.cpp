// Encoding, adopting and checking the compact companion (see compact.h and grove/format.h).
#include "compact.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>

#include "grove/error.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

constexpr char kMagic[8] = {'G', 'R', 'O', 'V', 'E', 'S', 'Q', '8'};
constexpr int kSamples = 64;  // items the spot check re-encodes

// A fast 64-bit hash of bytes (four independent multiply-rotate lanes, then mixed): to tell
// a stale or damaged file, not to resist an adversary.
std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}
std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n, std::uint64_t seed) {
  const std::uint64_t m1 = 0x9e3779b185ebca87ULL, m2 = 0xc2b2ae3d27d4eb4fULL;
  std::uint64_t h[4] = {seed + m1, seed ^ m2, seed - m1, ~seed};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      h[k] = rotl(h[k] ^ (w * m2), 31) * m1;
    }
  std::uint64_t tail = 0;
  for (std::size_t j = 0; i + j < n; ++j) tail |= std::uint64_t(p[i + j]) << (8 * (j % 8));
  return mix(h[0] ^ rotl(h[1], 17) ^ rotl(h[2], 29) ^ rotl(h[3], 43) ^ mix(tail ^ n));
}

// Items spread evenly over the index, for the spot check.
std::int32_t sample_item(const Forest& forest, int k) {
  return static_cast<std::int32_t>(static_cast<std::int64_t>(forest.n_items) * k / kSamples);
}

// Every byte of the index (its items and its trees), with its length: a companion is
// trusted only for the exact index it was made from. O(index size), so computed once per
// companion, by verify() (before first use, off the load path) and by seal().
std::uint64_t fingerprint(const Forest& forest) {
  const std::size_t size = forest.bytes_for(forest.n_nodes);
  return hash_bytes(forest.storage->data(), size, size);
}

// The smallest float >= x (x >= 0 finite), so stored bounds never understate.
float round_up(double x) {
  float r = static_cast<float>(x);
  if (static_cast<double>(r) < x) r = std::nextafter(r, std::numeric_limits<float>::infinity());
  return r;
}

// The largest float <= x (x >= 0 finite): a sum of squares that never overstates.
float round_down(double x) {
  float r = static_cast<float>(x);
  if (static_cast<double>(r) > x) r = std::nextafter(r, 0.0f);
  return r;
}

// One item's values as coded: as stored, or (angular) scaled to unit length. Returns the
// factor (1, or 1/|x| in double), or 0 when the item is to be scored exactly always (a zero
// or non-finite vector); *norm gets |x|.
double item_scale(const float* x, int f, bool unit, double* norm) {
  const double squares = code_kernels().norm2(x, f);
  *norm = std::sqrt(squares);
  // Beyond the lengths index.cpp accepts (a loaded file's values), float distances can
  // overflow or underflow where the codes' bounds would not: such items are ranked exactly.
  if (!(squares <= std::ldexp(1.0, 63)) || (unit && squares < std::ldexp(1.0, -63))) return 0;
  if (!unit) return 1;
  return *norm > 0 ? 1 / *norm : 0;
}

const float* item_vector(const Forest& forest, std::int32_t i) {
  const std::uint8_t* node = forest.node(i);
  if (n_descendants(node) != 1) return nullptr;  // a hole
  return reinterpret_cast<const float*>(node + forest.layout.vector);
}

// The order of the code rows: by leaf in the first kArrangeTrees trees, then by id (stable
// counting sorts, last key first). A query's candidates come from the leaves near it, so
// they share rows' memory pages, and a wasm build (which cannot prefetch) waits on far
// fewer pages per query.
constexpr std::size_t kArrangeTrees = 10;
std::vector<std::int32_t> row_order(const Forest& forest) {
  // Roots by node number: a loaded index lists them in another order than the build did.
  std::vector<std::int32_t> roots(forest.roots.begin(), forest.roots.end());
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  std::vector<std::int32_t> order(static_cast<std::size_t>(forest.n_items)), sorted(order.size()), leaf, counts;
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int32_t>(i);
  for (std::size_t t = std::min(kArrangeTrees, roots.size()); t-- > 0;) {
    const std::int32_t leaves = leaf_numbers(forest, roots[t], leaf);
    counts.assign(static_cast<std::size_t>(leaves) + 1, 0);
    for (std::int32_t id : order) ++counts[static_cast<std::size_t>(leaf[static_cast<std::size_t>(id)]) + 1];
    for (std::size_t k = 1; k < counts.size(); ++k) counts[k] += counts[k - 1];
    for (std::int32_t id : order) sorted[static_cast<std::size_t>(counts[static_cast<std::size_t>(leaf[static_cast<std::size_t>(id)])]++)] = id;
    order.swap(sorted);
  }
  return order;
}

// Codes one item on the grid (offsets, scale) and writes its record {error bound, extra}
// (see grove/format.h).
// The error is computed in double, from the code actually chosen (any code is correct; the
// nearest is merely the tightest), so the bound holds whatever the rounding above.
void encode_item(const Forest& forest, std::int32_t i, const float* offsets, float scale, std::uint8_t* code,
                 float* record) {
  const int f = forest.layout.f;
  record[0] = -1.0f;  // a hole
  record[1] = 0.0f;
  const float* x = item_vector(forest, i);
  if (!x) return;
  // The norm is needed to scale (angular) and to bound (dot) only: others skip the pass.
  double norm = 0, factor = 1;
  if (forest.layout.metric == Metric::Angular || forest.layout.metric == Metric::Dot)
    factor = item_scale(x, f, forest.layout.metric == Metric::Angular, &norm);
  if (factor == 0) {
    record[0] = std::numeric_limits<float>::infinity();
    return;
  }
  const bool l1 = forest.layout.metric == Metric::Manhattan;
  // Codes in float (the nearest code up to rounding is as good as any), then the error of the
  // codes chosen, in double.
  const CodeKernels& kernels = code_kernels();
  kernels.quantize(x, static_cast<float>(factor), offsets, 1.0f / scale, code, f);
  double error = kernels.error(x, factor, offsets, scale, code, f, l1);
  if (!l1) error = std::sqrt(error);
  if (!std::isfinite(error)) {  // values too large to code: always scored exactly
    record[0] = std::numeric_limits<float>::infinity();
    return;
  }
  // A relative margin for the double arithmetic above, then rounded up to a float.
  record[0] = round_up(error * (1 + 1e-9) + 1e-30);
  if (forest.layout.metric == Metric::Dot) {
    record[1] = round_up(norm * (1 + 1e-9));
  } else if (!l1) {  // sum of squared codes, for L2 scoring as |q|^2 + |c|^2 - 2 q.c
    std::int64_t squares = 0;
    for (int j = 0; j < f; ++j) squares += std::int64_t(code[j]) * code[j];
    record[1] = round_down(static_cast<double>(squares));
  }
}

// The grid: per-dimension minimum, and one scale that fits the widest range in 255 steps.
float make_grid(const Forest& forest, float* offsets) {
  const int f = forest.layout.f;
  const bool unit = forest.layout.metric == Metric::Angular;
  std::vector<float> low(static_cast<std::size_t>(f), std::numeric_limits<float>::infinity());
  std::vector<float> high(static_cast<std::size_t>(f), -std::numeric_limits<float>::infinity());
  const CodeKernels& kernels = code_kernels();
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    const float* x = item_vector(forest, i);
    if (!x) continue;
    double norm = 0;
    const double factor = unit ? item_scale(x, f, true, &norm) : 1;
    if (factor == 0) continue;
    kernels.extend(x, static_cast<float>(factor), low.data(), high.data(), f);
  }
  // Any grid gives correct bounds (errors are measured on the codes chosen); a grid that
  // spans the values gives tight ones.
  double widest = 0;
  for (int j = 0; j < f; ++j) {
    const std::size_t z = static_cast<std::size_t>(j);
    if (!(low[z] <= high[z]) || !std::isfinite(low[z]) || !std::isfinite(high[z])) low[z] = high[z] = 0;
    offsets[j] = low[z];
    widest = std::max(widest, static_cast<double>(high[z]) - low[z]);
  }
  const float scale = round_up(widest / 255);
  return scale >= std::numeric_limits<float>::min() && std::isfinite(scale) ? scale : 1.0f;
}

}  // namespace

std::int32_t leaf_numbers(const Forest& forest, std::int32_t root, std::vector<std::int32_t>& leaf) {
  const std::int32_t n = forest.n_items;
  leaf.assign(static_cast<std::size_t>(n), -1);
  const std::int64_t max_bucket = static_cast<std::int64_t>(forest.layout.max_bucket());
  std::vector<std::int32_t> stack{root};
  std::int32_t next = 0;
  for (std::int64_t visits = 0; !stack.empty() && visits <= 2 * forest.n_nodes; ++visits) {
    const std::int32_t i = stack.back();
    stack.pop_back();
    if (i < 0 || i >= forest.n_nodes) continue;
    const std::uint8_t* node = forest.node(i);
    const std::int32_t count = n_descendants(node);
    const std::int32_t* ids = reinterpret_cast<const std::int32_t*>(node + forest.layout.children);
    if (count == 1 && i < n) {
      leaf[static_cast<std::size_t>(i)] = next++;
    } else if (count <= max_bucket) {
      for (std::int32_t k = 0; k < std::max(count, 0); ++k)
        if (ids[k] >= 0 && ids[k] < n) leaf[static_cast<std::size_t>(ids[k])] = next;
      ++next;
    } else {
      stack.push_back(ids[1]);
      stack.push_back(ids[0]);
    }
  }
  for (std::int32_t& l : leaf)
    if (l < 0) l = next;
  return next + 1;
}

std::uint64_t companion_checksum(const std::uint8_t* bytes, std::size_t size) {
  if (size < sizeof(CompanionHeader)) return 0;
  return hash_bytes(bytes + sizeof(CompanionHeader), size - sizeof(CompanionHeader), 0x5137);
}

std::uint32_t header_check(const CompanionHeader& header) {
  std::uint8_t bytes[sizeof header];
  std::memcpy(bytes, &header, sizeof header);
  return static_cast<std::uint32_t>(hash_bytes(bytes, offsetof(CompanionHeader, header_check), 0x4844));
}

bool companion_names_other_metric(const std::uint8_t* bytes, std::size_t size, const Forest& forest, Metric* other) {
  CompanionHeader h;
  if (size < sizeof h) return false;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kCompanionVersion || h.header_check != header_check(h))
    return false;
  if (h.metric == static_cast<std::uint16_t>(forest.layout.metric) || h.metric > static_cast<std::uint16_t>(Metric::Hamming) ||
      h.f != static_cast<std::uint32_t>(forest.layout.f) || h.n_items != static_cast<std::uint64_t>(forest.n_items) ||
      h.index_bytes != forest.bytes_for(forest.n_nodes))
    return false;
  *other = static_cast<Metric>(h.metric);
  return true;
}

bool compact_applies(Metric metric) { return metric != Metric::Hamming; }

bool Compact::forget(std::int32_t i) {
  std::uint8_t* bytes = storage_ ? storage_->mutable_data() : nullptr;
  if (bytes != bytes_ || !bytes || i < 0 || i >= coded_items()) return false;
  reinterpret_cast<float*>(bytes + layout_.records)[2 * static_cast<std::size_t>(i)] = std::numeric_limits<float>::infinity();
  ++forgotten_;
  return true;
}

void Compact::attach(const std::uint8_t* bytes, std::size_t size) {
  bytes_ = bytes;
  size_ = size;
  layout_ = companion_layout(header().f, header().n_items, header().graph_degree);
}

std::unique_ptr<Compact> Compact::encode(const Forest& forest) {
  const int f = forest.layout.f;
  const std::int32_t n = forest.n_items;
  const CompanionLayout layout = companion_layout(static_cast<std::uint64_t>(f), static_cast<std::uint64_t>(n));
  if (layout.total > kMaxAllocation)
    throw Error(ErrorCode::OutOfMemory, "the compact copy (" + std::to_string(layout.total >> 20) +
                                            " MiB) is larger than this platform can allocate");
  std::unique_ptr<MemoryStorage> storage(new MemoryStorage());
  storage->resize(static_cast<std::size_t>(layout.total));  // zeroed: padding stays 0
  std::uint8_t* bytes = storage->mutable_data();
  float* offsets = reinterpret_cast<float*>(bytes + layout.offsets);
  const float scale = make_grid(forest, offsets);
  float* records = reinterpret_cast<float*>(bytes + layout.records);
  std::int32_t* slots = reinterpret_cast<std::int32_t*>(bytes + layout.slots);
  for (std::int32_t i = 0; i < n; ++i) {
    slots[i] = i;  // rows in item order until seal() arranges them
    encode_item(forest, i, offsets, scale, bytes + layout.codes + static_cast<std::size_t>(i) * layout.stride,
                records + 2 * static_cast<std::size_t>(i));
  }

  CompanionHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kCompanionVersion;
  header.metric = static_cast<std::uint16_t>(forest.layout.metric);
  header.graph_degree = 0;
  header.f = static_cast<std::uint32_t>(f);
  header.stride = static_cast<std::uint32_t>(layout.stride);
  header.n_items = static_cast<std::uint64_t>(n);
  header.scale = scale;
  header.header_check = header_check(header);
  std::memcpy(bytes, &header, sizeof header);

  std::unique_ptr<Compact> compact(new Compact());
  compact->attach(storage->data(), storage->size());
  compact->storage_ = std::move(storage);
  compact->rows_.assign(slots, slots + n);
  if (forest.n_nodes > forest.n_items) compact->seal(forest);  // built: tie it to the index now
  return compact;
}

std::unique_ptr<Compact> Compact::with_graph(const std::vector<std::int32_t>& graph, int degree, const Forest& forest) const {
  const std::uint64_t n = header().n_items;
  const CompanionLayout layout = companion_layout(header().f, n, static_cast<std::uint64_t>(degree));
  if (degree <= 0 || static_cast<std::uint32_t>(degree) > kMaxGraphDegree || graph.size() != n * static_cast<std::uint64_t>(degree))
    throw Error(ErrorCode::InvalidArgument, "a graph of " + std::to_string(graph.size()) + " slots does not fit " +
                                                std::to_string(n) + " items of degree " + std::to_string(degree));
  if (layout.total > kMaxAllocation)
    throw Error(ErrorCode::OutOfMemory, "the compact copy with its graph (" + std::to_string(layout.total >> 20) +
                                            " MiB) is larger than this platform can allocate");
  std::unique_ptr<MemoryStorage> storage(new MemoryStorage());
  storage->resize(static_cast<std::size_t>(layout.total));  // zeroed: padding stays 0
  std::uint8_t* bytes = storage->mutable_data();
  const std::size_t codes_end = static_cast<std::size_t>(layout_.codes + layout_.stride * n);
  std::memcpy(bytes, bytes_, codes_end);
  std::memcpy(bytes + layout.graph, graph.data(), graph.size() * sizeof(std::int32_t));
  CompanionHeader h = header();
  h.graph_degree = static_cast<std::uint16_t>(degree);
  std::memcpy(bytes, &h, sizeof h);
  std::unique_ptr<Compact> copy(new Compact());
  copy->attach(storage->data(), storage->size());
  copy->storage_ = std::move(storage);
  copy->rows_ = rows_;
  copy->forgotten_ = forgotten_;
  copy->seal(forest);
  return copy;
}

void Compact::seal(const Forest& forest) {
  arrange(forest);
  std::uint8_t* bytes = storage_->mutable_data();
  CompanionHeader header;
  std::memcpy(&header, bytes, sizeof header);
  header.index_bytes = forest.bytes_for(forest.n_nodes);
  header.fingerprint = fingerprint(forest);
  header.checksum = companion_checksum(bytes, size_);
  header.header_check = header_check(header);
  std::memcpy(bytes, &header, sizeof header);
}

// Moves the rows (in item order until now) into row_order(), in place: each cycle of the
// permutation is followed with one spare row, so no second copy of the codes is needed.
void Compact::arrange(const Forest& forest) {
  const std::vector<std::int32_t> order = row_order(forest);  // order[row] = item
  std::uint8_t* codes = storage_->mutable_data() + layout_.codes;
  std::int32_t* slots = reinterpret_cast<std::int32_t*>(storage_->mutable_data() + layout_.slots);
  const std::size_t stride = static_cast<std::size_t>(layout_.stride), n = order.size();
  for (std::size_t i = 0; i < n; ++i)
    if (slots[i] != static_cast<std::int32_t>(i)) return;  // arranged already
  std::vector<std::uint8_t> spare(stride);
  std::vector<bool> done(n, false);
  for (std::size_t start = 0; start < n; ++start) {
    if (done[start]) continue;
    std::memcpy(spare.data(), codes + start * stride, stride);
    std::size_t row = start;
    for (;;) {
      done[row] = true;
      const std::size_t from = static_cast<std::size_t>(order[row]);
      if (from == start) {
        std::memcpy(codes + row * stride, spare.data(), stride);
        break;
      }
      // The rows a cycle visits are scattered: fetch the next steps' rows ahead.
      const std::size_t later = static_cast<std::size_t>(order[from]);
      prefetch(codes + static_cast<std::size_t>(order[later]) * stride, stride);
      std::memcpy(codes + row * stride, codes + from * stride, stride);
      row = from;
    }
  }
  for (std::size_t row = 0; row < n; ++row) slots[order[row]] = static_cast<std::int32_t>(row);
  rows_.assign(slots, slots + n);
}

std::unique_ptr<Compact> Compact::adopt(std::unique_ptr<Storage> storage, const Forest& forest,
                                        std::string* why) {
  const std::size_t size = storage->size();
  const std::uint8_t* bytes = storage->data();
  auto refuse = [&](const std::string& reason) {
    *why = reason;
    return std::unique_ptr<Compact>();
  };
  if (size < sizeof(CompanionHeader)) return refuse("the companion is truncated (" + std::to_string(size) + " bytes)");
  if (reinterpret_cast<std::uintptr_t>(bytes) % 4 != 0) return refuse("the companion bytes are not 4-byte aligned");
  CompanionHeader h;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return refuse("not a Grove companion (bad magic)");
  if (h.version != kCompanionVersion)
    return refuse("companion version " + std::to_string(h.version) + " is not supported");
  if (h.header_check != header_check(h)) return refuse("the companion's header is damaged");
  if (h.metric != static_cast<std::uint16_t>(forest.layout.metric) ||
      h.f != static_cast<std::uint32_t>(forest.layout.f) ||
      h.n_items != static_cast<std::uint64_t>(forest.n_items))
    return refuse("the companion was made for another index (metric, dimension or item count differ)");
  if (h.graph_degree > kMaxGraphDegree)
    return refuse("the companion's graph degree " + std::to_string(h.graph_degree) + " is over " +
                  std::to_string(kMaxGraphDegree) + ": it is damaged");
  const CompanionLayout layout = companion_layout(h.f, h.n_items, h.graph_degree);
  if (h.stride != layout.stride || size != layout.total)
    return refuse("the companion is " + std::to_string(size) + " bytes, expected " + std::to_string(layout.total) +
                  ": truncated or damaged");
  if (h.index_bytes != forest.bytes_for(forest.n_nodes))
    return refuse("the companion is stale: it was made for another version of this index");
  if (!(h.scale >= std::numeric_limits<float>::min()) || !std::isfinite(h.scale))
    return refuse("the companion has an invalid scale");
  std::unique_ptr<Compact> compact(new Compact());
  compact->attach(bytes, size);
  compact->storage_ = std::move(storage);
  return compact;
}

bool Compact::verify(const Forest& forest, std::string* why) const {
  if (header().fingerprint != fingerprint(forest)) {
    *why = "the companion is stale: it was made for another version of this index";
    return false;
  }
  if (companion_checksum(bytes_, size_) != header().checksum) {
    *why = "the companion's checksum does not match: it is damaged";
    return false;
  }
  if (!records_possible(forest, why)) return false;
  const std::size_t n = static_cast<std::size_t>(header().n_items);
  std::vector<bool> taken(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t row = slots()[i];
    if (row < 0 || static_cast<std::size_t>(row) >= n || taken[static_cast<std::size_t>(row)]) {
      *why = "the companion's row order is damaged";
      return false;
    }
    taken[static_cast<std::size_t>(row)] = true;
  }
  rows_.assign(slots(), slots() + n);
  for (int j = 0; j < f(); ++j)
    if (!std::isfinite(offsets()[j])) {
      *why = "the companion has a non-finite offset";
      return false;
    }
  if (!graph_possible(why)) return false;
  std::vector<std::uint8_t> code(static_cast<std::size_t>(stride()), 0);
  float record[2];
  for (int k = 0; k < kSamples && forest.n_items > 0; ++k) {
    const std::int32_t i = sample_item(forest, k);
    encode_item(forest, i, offsets(), scale(), code.data(), record);
    if (std::memcmp(code.data(), this->code(i), static_cast<std::size_t>(f())) != 0 ||
        std::memcmp(record, records() + 2 * static_cast<std::size_t>(i), sizeof record) != 0) {
      *why = "the companion's codes do not match the index's items";
      return false;
    }
  }
  return true;
}

// A graph whose slots name no item (a crafted file whose checksum was recomputed) would send
// a search out of bounds: every slot must be an item id or -1.
bool Compact::graph_possible(std::string* why) const {
  const std::uint64_t slots = header().n_items * header().graph_degree;
  const std::int32_t n = coded_items();
  const std::int32_t* graph = reinterpret_cast<const std::int32_t*>(bytes_ + layout_.graph);
  for (std::uint64_t k = 0; k < slots; ++k)
    if (graph[k] < -1 || graph[k] >= n) {
      *why = "the companion's graph names item " + std::to_string(graph[k]) + ", which is not in the index: it is damaged";
      return false;
    }
  return true;
}

// Records no encoder writes (a crafted or damaged file whose checksum was recomputed): a hole
// where the index has an item or the reverse, a NaN or negative error on an item (which would
// drop it from every answer), an L2 sum of squared codes above 255^2 f, a dot norm that is
// not a finite length.
bool Compact::records_possible(const Forest& forest, std::string* why) const {
  const Metric metric = forest.layout.metric;
  const double most_squares = 255.0 * 255.0 * f();
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    const bool hole = n_descendants(forest.node(i)) != 1;
    const float e = error(i), x = extra(i);
    bool ok = hole ? e < 0 : e >= 0;  // NaN fails both
    if (ok && !hole) {
      if (metric == Metric::Dot) ok = x >= 0 && std::isfinite(x);
      else if (metric != Metric::Manhattan) ok = x >= 0 && x <= most_squares;
    }
    if (!ok) {
      *why = "the companion's record for item " + std::to_string(i) + " is impossible: it is damaged";
      return false;
    }
  }
  return true;
}

}  // namespace detail
}  // namespace grove
