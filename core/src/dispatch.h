// Calls fn with the metric policy (a tag value) that matches a node layout, so the hot loops
// are compiled once per metric.
#ifndef GROVE_CORE_DISPATCH_H
#define GROVE_CORE_DISPATCH_H

#include "grove/error.h"
#include "grove/format.h"
#include "metrics.h"

namespace grove {
namespace detail {

template <class Fn>
auto with_policy(const NodeLayout& layout, Fn&& fn) -> decltype(fn(Angular{})) {
  switch (layout.metric) {
    case Metric::Angular: return fn(Angular{});
    case Metric::Euclidean: return fn(Euclidean{});
    case Metric::Manhattan: return fn(Manhattan{});
    case Metric::Hamming: return fn(Hamming{});
    case Metric::Dot:
      if (layout.dot_layout == DotLayout::Legacy) return fn(DotLegacy{});
      return fn(Dot{});
  }
  throw Error(ErrorCode::InvalidArgument, "unknown metric");
}

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_DISPATCH_H
