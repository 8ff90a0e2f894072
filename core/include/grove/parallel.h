// How the core runs work in parallel without owning threads: the platform layer passes a
// ParallelFor (native: a thread pool); without one, everything runs on the caller's thread.
#ifndef GROVE_PARALLEL_H
#define GROVE_PARALLEL_H

#include <cstddef>
#include <functional>

namespace grove {

class ParallelFor {
 public:
  virtual ~ParallelFor() {}
  virtual int workers() const = 0;
  // Calls fn(begin, end) over disjoint chunks covering [0, n); returns when all are done.
  virtual void run(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) = 0;
};

}  // namespace grove

#endif  // GROVE_PARALLEL_H
