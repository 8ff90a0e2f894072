// libFuzzer target: arbitrary bytes as an index (any metric, small dimensions), then queries.
// Any bytes may be rejected with grove::Error or give odd answers, but never a crash, an
// out-of-bounds access (ASan) or undefined behaviour (UBSan).
#include <cstdint>
#include <cstring>
#include <vector>

#include "grove/grove.h"

// The loaded bytes thawed and changed (crafted trees walked by inserts and by the rewrite into
// Annoy's layout): an item added past the end and over a low id, one removed, then written and
// read back, and queried.
static void change(grove::Index& index, const std::vector<float>& query) {
  index.thaw();
  const std::int32_t n = index.get_n_items();
  const bool has_trees = index.get_n_trees() > 0;
  if (has_trees) {
    index.add_item(n + 3, query.data());
    index.add_item(0, query.data());
  }
  if (n > 1) {
    try {
      index.remove_item(n / 2);
    } catch (const grove::Error&) {  // a hole already
    }
  }
  grove::Index copy(index.get_f(), index.get_metric());
  copy.deserialize(index.serialize());
  std::vector<std::int32_t> ids;
  copy.get_nns_by_vector(query.data(), 10, -1, &ids);
  index.get_nns_by_vector(query.data(), 10, -1, &ids);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const char* kMetrics[] = {"angular", "euclidean", "manhattan", "dot", "hamming"};
  const char* metric = kMetrics[data[0] % 5];
  const int f = 1 + data[1] % 32;  // the seed corpus's files use f = 3, 8 and 16 (hamming: 64, 128)
  const int dim = (data[0] % 5 == 4) ? 64 * (1 + data[1] % 2) : f;
  data += 2;
  size -= 2;
  try {
    grove::Index index(dim, metric);
    index.deserialize(data, size);
    std::vector<float> query(static_cast<std::size_t>(dim), 0.0f);
    for (int i = 0; i < dim; ++i) query[i] = (i % 3 == 0) ? 1.0f : 0.0f;
    std::vector<std::int32_t> ids;
    std::vector<float> distances;
    index.get_nns_by_vector(query.data(), 10, -1, &ids, &distances);
    index.get_nns_by_vector(query.data(), 5, 1000, &ids, &distances);
    if (index.get_n_items() > 0) {
      const std::int32_t last = index.get_n_items() - 1;
      index.get_nns_by_item(last, 3, 50, &ids, &distances);
      index.get_distance(0, last);
      index.get_item_vector(last / 2);
    }
    std::vector<std::uint8_t> again = index.serialize();
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) __builtin_trap();
    change(index, query);
  } catch (const grove::Error&) {
  }
  return 0;
}
