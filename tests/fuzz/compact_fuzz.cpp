// libFuzzer target: companion files. Any bytes offered as a companion may be refused, or
// give wrong answers if crafted, but never a crash, an out-of-bounds access or undefined
// behaviour. Input: [metric][mode][payload]. Mode 0 XORs the payload into a valid companion
// of a fixed index (at the offset in its first two bytes) and fixes the checksum, so the
// fuzzer reaches search with damaged codes, bounds and neighbour graph (the fixture has one);
// mode 1 offers the payload as it is.
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "compact.h"
#include "grove/grove.h"

namespace {

struct Fixture {
  std::vector<std::uint8_t> index, companion;
};

const Fixture& fixture(int metric) {
  static const char* kMetrics[] = {"angular", "euclidean", "manhattan", "dot"};
  static Fixture made[4];
  Fixture& fx = made[metric];
  if (fx.index.empty()) {
    grove::Index index(8, kMetrics[metric]);
    index.set_graph_search(true);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    for (int i = 0; i < 1200; ++i) {  // enough for a graph (kGraphMinItems)
      std::vector<float> v(8);
      for (float& x : v) x = normal(rng);
      index.add_item(i, v);
    }
    index.build(3);
    fx.index = index.serialize();
    fx.companion = index.serialize_companion();
  }
  return fx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const char* kMetrics[] = {"angular", "euclidean", "manhattan", "dot"};
  const int metric = data[0] % 4;
  const bool raw = data[1] & 1;
  data += 2;
  size -= 2;
  const Fixture& fx = fixture(metric);
  std::vector<std::uint8_t> companion;
  if (raw) {
    companion.assign(data, data + size);
  } else {
    companion = fx.companion;
    if (size >= 2) {
      const std::size_t at = (std::size_t(data[0]) | std::size_t(data[1]) << 8) * 7 % companion.size();
      for (std::size_t i = 2; i < size && at + i - 2 < companion.size(); ++i) companion[at + i - 2] ^= data[i];
    }
    grove::CompanionHeader header;
    std::memcpy(&header, companion.data(), sizeof header);
    header.checksum = grove::detail::companion_checksum(companion.data(), companion.size());
    std::memcpy(companion.data(), &header, sizeof header);
  }
  try {
    grove::Index index(8, kMetrics[metric]);
    index.set_graph_search(true);
    index.deserialize(fx.index);
    std::string why;
    index.deserialize_companion(companion.data(), companion.size(), &why);
    std::vector<float> query(8);
    for (int i = 0; i < 8; ++i) query[static_cast<std::size_t>(i)] = (i % 3 == 0) ? 1.0f : -0.5f;
    std::vector<std::int32_t> ids;
    std::vector<float> distances;
    index.get_nns_by_vector(query.data(), 10, -1, &ids, &distances);
    index.get_nns_by_vector(query.data(), 50, 800, &ids, &distances);
    index.get_nns_by_vector(query.data(), 50, 2000, &ids, &distances);
    index.get_nns_by_item(1199, 5, 100, &ids, &distances);
  } catch (const grove::Error&) {
  }
  return 0;
}
