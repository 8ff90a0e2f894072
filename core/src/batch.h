// Batch queries, shared by Index and ShardedIndex: the size check and the loop that writes
// count x n results, padded with id -1 and distance NaN where a query found fewer than n.
#ifndef GROVE_CORE_BATCH_H
#define GROVE_CORE_BATCH_H

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "grove/error.h"
#include "grove/parallel.h"

namespace grove {
namespace detail {

// A batch whose queries or output cannot be addressed is an error before anything is read.
inline void check_batch_size(std::size_t count, std::size_t f, int n) {
  const std::size_t widest = std::max(f, static_cast<std::size_t>(n));
  if (count > std::numeric_limits<std::size_t>::max() / sizeof(float) / widest)
    throw Error(ErrorCode::OutOfMemory, "batch of " + std::to_string(count) + " queries with n=" +
                                            std::to_string(n) + " is larger than memory can address");
}

// search(query, &ids, &distances) answers one query; queries are split between threads when
// `parallel` has more than one. ids or distances may be null.
template <class Search>
void run_batch(const float* queries, std::size_t count, std::size_t f, int n, std::int32_t* ids, float* distances,
               ParallelFor* parallel, const Search& search) {
  auto run = [&](std::size_t begin, std::size_t end) {
    std::vector<std::int32_t> row_ids;
    std::vector<float> row_dists;
    for (std::size_t q = begin; q < end; ++q) {
      row_ids.clear();
      row_dists.clear();
      search(queries + q * f, &row_ids, &row_dists);
      for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
        const bool found = r < row_ids.size();
        if (ids) ids[q * n + r] = found ? row_ids[r] : -1;
        if (distances) distances[q * n + r] = found ? row_dists[r] : std::numeric_limits<float>::quiet_NaN();
      }
    }
  };
  if (parallel && parallel->workers() > 1 && count > 1) parallel->run(count, run);
  else run(0, count);
}

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_BATCH_H
