#include "grove/format.h"

#include "grove/error.h"

namespace grove {

bool parse_metric(const std::string& name, Metric* out) {
  if (name == "angular" || name == "cosine") *out = Metric::Angular;
  else if (name == "euclidean") *out = Metric::Euclidean;
  else if (name == "manhattan") *out = Metric::Manhattan;
  else if (name == "dot") *out = Metric::Dot;
  else if (name == "hamming") *out = Metric::Hamming;
  else return false;
  return true;
}

const char* metric_name(Metric metric) {
  switch (metric) {
    case Metric::Angular: return "angular";
    case Metric::Euclidean: return "euclidean";
    case Metric::Manhattan: return "manhattan";
    case Metric::Dot: return "dot";
    case Metric::Hamming: return "hamming";
  }
  return "unknown";
}

const char* dot_layout_name(DotLayout layout) { return layout == DotLayout::Main ? "main" : "released"; }

bool parse_dot_layout(const std::string& name, DotLayout* out) {
  if (name == "released") *out = DotLayout::Released;
  else if (name == "main") *out = DotLayout::Main;
  else return false;
  return true;
}

// Annoy's files are little-endian with no marker saying so: a big-endian host would misread
// every file silently, so refuse to build there.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Grove reads and writes little-endian index files only");
#endif

NodeLayout make_layout(Metric metric, int words, DotLayout dot_layout) {
  NodeLayout l;
  l.metric = metric;
  l.dot_layout = dot_layout;
  l.f = words;
  l.norm = l.offset_a = l.dot_factor = l.built = -1;
  l.value_size = 4;
  switch (metric) {
    case Metric::Angular:  // n_descendants | children[2] (children[0] = norm on items) | v
      l.children = 4, l.norm = 4, l.vector = 12;
      break;
    case Metric::Euclidean:
    case Metric::Manhattan:  // n_descendants | a | children[2] | v
      l.offset_a = 4, l.children = 8, l.vector = 16;
      break;
    case Metric::Dot:  // n_descendants | children[2] | dot_factor | (norm | built+pad) | v
      l.children = 4, l.dot_factor = 12;
      if (dot_layout == DotLayout::Main) l.norm = 16, l.built = 20, l.vector = 24;
      else l.vector = 16;
      break;
    case Metric::Hamming:  // n_descendants | children[2] | pad | v (uint64 words)
      l.children = 4, l.vector = 16, l.value_size = 8;
      break;
  }
  l.node_size = l.vector + l.value_size * static_cast<std::size_t>(words);
  return l;
}

}  // namespace grove
