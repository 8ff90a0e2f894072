// Calls fn with the metric policy (a tag value) that matches a node layout and float order,
// so the hot loops are compiled once per metric and arithmetic.
#ifndef GROVE_CORE_DISPATCH_H
#define GROVE_CORE_DISPATCH_H

#include "grove/error.h"
#include "grove/format.h"
#include "metrics.h"

namespace grove {
namespace detail {

template <class M, class Fn>
auto with_math(const NodeLayout& layout, Fn&& fn) -> decltype(fn(Angular<M>{})) {
  switch (layout.metric) {
    case Metric::Angular: return fn(Angular<M>{});
    case Metric::Euclidean: return fn(Euclidean<M>{});
    case Metric::Manhattan: return fn(Manhattan<M>{});
    case Metric::Hamming: return fn(Hamming{});
    case Metric::Dot:
      if (layout.dot_layout == DotLayout::Main) return fn(DotMain<M>{});
      return fn(DotReleased<M>{});
  }
  throw Error(ErrorCode::InvalidArgument, "unknown metric");
}

// annoy_order: Annoy's scalar float order (byte-identical builds) instead of the fast one.
template <class Fn>
auto with_policy(const NodeLayout& layout, bool annoy_order, Fn&& fn) -> decltype(fn(Angular<FastMath>{})) {
  if (annoy_order) return with_math<ExactMath>(layout, fn);
  return with_math<FastMath>(layout, fn);
}

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_DISPATCH_H
