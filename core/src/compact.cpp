// Encoding, adopting and checking the compact companion (see compact.h and grove/format.h).
#include "compact.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "grove/error.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

constexpr char kMagic[8] = {'G', 'R', 'O', 'V', 'E', 'S', 'Q', '8'};
constexpr int kSamples = 64;  // items the fingerprint and the spot check read

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

// Items spread evenly over the index, for the fingerprint and the spot check.
std::int32_t sample_item(const Forest& forest, int k) {
  return static_cast<std::int32_t>(static_cast<std::int64_t>(forest.n_items) * k / kSamples);
}

// O(1) in the index size: its length, its first and last bytes (the first items; the roots
// and the upper tree nodes, which any rebuild changes) and sampled items.
std::uint64_t fingerprint(const Forest& forest) {
  const std::uint8_t* data = forest.storage->data();
  const std::size_t size = forest.bytes_for(forest.n_nodes);
  const std::size_t head = std::min<std::size_t>(size, 4096), tail = std::min<std::size_t>(size, 65536);
  std::uint64_t h = hash_bytes(data, head, size);
  h = hash_bytes(data + size - tail, tail, h);
  for (int k = 0; k < kSamples && forest.n_items > 0; ++k)
    h = hash_bytes(forest.node(sample_item(forest, k)), forest.layout.node_size, h);
  return h;
}


// The smallest float >= x (x >= 0 finite), so stored bounds never understate.
float round_up(double x) {
  float r = static_cast<float>(x);
  if (static_cast<double>(r) < x) r = std::nextafter(r, std::numeric_limits<float>::infinity());
  return r;
}

// What one item encodes to: its values (angular: scaled to unit length) in double.
struct ItemValues {
  bool present = false;  // an item, not a hole
  bool exact = false;    // zero or non-finite: scored exactly, never on its code
  double norm = 0;
};
ItemValues item_values(const Forest& forest, std::int32_t i, double* out) {
  ItemValues r;
  const std::uint8_t* node = forest.node(i);
  if (n_descendants(node) != 1) return r;
  r.present = true;
  const int f = forest.layout.f;
  const float* x = reinterpret_cast<const float*>(node + forest.layout.vector);
  double nn = 0;
  for (int j = 0; j < f; ++j) {
    out[j] = x[j];
    nn += out[j] * out[j];
  }
  r.norm = std::sqrt(nn);
  if (!std::isfinite(r.norm)) r.exact = true;
  if (forest.layout.metric == Metric::Angular) {
    if (!(r.norm > 0)) r.exact = true;
    else
      for (int j = 0; j < f; ++j) out[j] /= r.norm;
  }
  return r;
}

// Codes one item on the grid (offsets, scale) and returns its error bound record.
void encode_item(const Forest& forest, std::int32_t i, const float* offsets, float scale, double* values,
                 std::uint8_t* code, float* record) {
  const int f = forest.layout.f;
  const ItemValues item = item_values(forest, i, values);
  record[0] = -1.0f;  // a hole
  record[1] = 0.0f;
  if (!item.present) return;
  if (item.exact) {
    record[0] = std::numeric_limits<float>::infinity();
    return;
  }
  const bool l1 = forest.layout.metric == Metric::Manhattan;
  double error = 0;
  for (int j = 0; j < f; ++j) {
    const double step = std::nearbyint((values[j] - offsets[j]) / scale);
    const int c = static_cast<int>(std::min(255.0, std::max(0.0, step)));
    code[j] = static_cast<std::uint8_t>(c);
    const double d = values[j] - (static_cast<double>(offsets[j]) + static_cast<double>(scale) * c);
    error += l1 ? std::fabs(d) : d * d;
  }
  if (!l1) error = std::sqrt(error);
  // A relative margin for the double arithmetic above, then rounded up to a float.
  record[0] = round_up(error * (1 + 1e-9) + 1e-30);
  record[1] = forest.layout.metric == Metric::Dot ? round_up(item.norm * (1 + 1e-9)) : 0.0f;
}

}  // namespace

std::uint64_t companion_checksum(const std::uint8_t* bytes, std::size_t size) {
  if (size < sizeof(CompanionHeader)) return 0;
  return hash_bytes(bytes + sizeof(CompanionHeader), size - sizeof(CompanionHeader), 0x5137);
}

bool compact_applies(Metric metric) { return metric != Metric::Hamming; }

void Compact::attach(const std::uint8_t* bytes, std::size_t size) {
  bytes_ = bytes;
  size_ = size;
  layout_ = companion_layout(header().f, header().n_items);
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

  // The grid: per-dimension minimum and one scale that fits the widest range in 255 steps.
  std::vector<double> values(static_cast<std::size_t>(f));
  std::vector<double> low(static_cast<std::size_t>(f), std::numeric_limits<double>::infinity());
  std::vector<double> high(static_cast<std::size_t>(f), -std::numeric_limits<double>::infinity());
  for (std::int32_t i = 0; i < n; ++i) {
    const ItemValues item = item_values(forest, i, values.data());
    if (!item.present || item.exact) continue;
    for (int j = 0; j < f; ++j) {
      low[static_cast<std::size_t>(j)] = std::min(low[static_cast<std::size_t>(j)], values[static_cast<std::size_t>(j)]);
      high[static_cast<std::size_t>(j)] = std::max(high[static_cast<std::size_t>(j)], values[static_cast<std::size_t>(j)]);
    }
  }
  float* offsets = reinterpret_cast<float*>(bytes + layout.offsets);
  double widest = 0;
  for (int j = 0; j < f; ++j) {
    const std::size_t z = static_cast<std::size_t>(j);
    if (!(low[z] <= high[z])) low[z] = high[z] = 0;  // no encodable item
    float lo = static_cast<float>(low[z]);
    if (static_cast<double>(lo) > low[z]) lo = std::nextafter(lo, -std::numeric_limits<float>::infinity());
    offsets[j] = lo;
    widest = std::max(widest, high[z] - lo);
  }
  float scale = round_up(widest / 255);
  if (!(scale >= std::numeric_limits<float>::min()) || !std::isfinite(scale)) scale = 1.0f;

  float* records = reinterpret_cast<float*>(bytes + layout.records);
  for (std::int32_t i = 0; i < n; ++i)
    encode_item(forest, i, offsets, scale, values.data(), bytes + layout.codes + static_cast<std::size_t>(i) * layout.stride,
                records + 2 * static_cast<std::size_t>(i));

  CompanionHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kCompanionVersion;
  header.metric = static_cast<std::uint32_t>(forest.layout.metric);
  header.f = static_cast<std::uint32_t>(f);
  header.stride = static_cast<std::uint32_t>(layout.stride);
  header.n_items = static_cast<std::uint64_t>(n);
  header.index_bytes = forest.bytes_for(forest.n_nodes);
  header.fingerprint = fingerprint(forest);
  header.scale = scale;
  std::memcpy(bytes, &header, sizeof header);
  header.checksum = companion_checksum(bytes, static_cast<std::size_t>(layout.total));
  std::memcpy(bytes, &header, sizeof header);

  std::unique_ptr<Compact> compact(new Compact());
  compact->attach(storage->data(), storage->size());
  compact->storage_ = std::move(storage);
  return compact;
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
  if (h.metric != static_cast<std::uint32_t>(forest.layout.metric) ||
      h.f != static_cast<std::uint32_t>(forest.layout.f) ||
      h.n_items != static_cast<std::uint64_t>(forest.n_items))
    return refuse("the companion was made for another index (metric, dimension or item count differ)");
  const CompanionLayout layout = companion_layout(h.f, h.n_items);
  if (h.stride != layout.stride || size != layout.total)
    return refuse("the companion is " + std::to_string(size) + " bytes, expected " + std::to_string(layout.total) +
                  ": truncated or damaged");
  if (h.index_bytes != forest.bytes_for(forest.n_nodes) || h.fingerprint != fingerprint(forest))
    return refuse("the companion is stale: it was made for another version of this index");
  if (!(h.scale >= std::numeric_limits<float>::min()) || !std::isfinite(h.scale))
    return refuse("the companion has an invalid scale");
  std::unique_ptr<Compact> compact(new Compact());
  compact->attach(bytes, size);
  compact->storage_ = std::move(storage);
  return compact;
}

bool Compact::verify(const Forest& forest, std::string* why) const {
  if (companion_checksum(bytes_, size_) != header().checksum) {
    *why = "the companion's checksum does not match: it is damaged";
    return false;
  }
  for (int j = 0; j < f(); ++j)
    if (!std::isfinite(offsets()[j])) {
      *why = "the companion has a non-finite offset";
      return false;
    }
  std::vector<double> values(static_cast<std::size_t>(f()));
  std::vector<std::uint8_t> code(static_cast<std::size_t>(stride()), 0);
  float record[2];
  for (int k = 0; k < kSamples && forest.n_items > 0; ++k) {
    const std::int32_t i = sample_item(forest, k);
    encode_item(forest, i, offsets(), scale(), values.data(), code.data(), record);
    if (std::memcmp(code.data(), this->code(i), static_cast<std::size_t>(f())) != 0 ||
        std::memcmp(record, records() + 2 * static_cast<std::size_t>(i), sizeof record) != 0) {
      *why = "the companion's codes do not match the index's items";
      return false;
    }
  }
  return true;
}

}  // namespace detail
}  // namespace grove
