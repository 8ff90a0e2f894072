// Annoy's index file format: the one place that knows node sizes and field offsets.
//
// A file is n_nodes nodes of node_size bytes each, little-endian, no header. Items come
// first (node number = item id), then every tree's nodes, then a copy of each root. See
// docs/format.md for the full description. Public header: C++14.
#ifndef GROVE_FORMAT_H
#define GROVE_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace grove {

enum class Metric { Angular, Euclidean, Manhattan, Dot, Hamming };

// The two dot layouts. Released: what every released Annoy (up to 1.17.3, the latest on
// PyPI, and Debian/R's 1.17.1) reads and writes, 16 + 4f bytes per node; Grove's default.
// Main: Annoy's unreleased main branch (after 1.17.3) added a norm and a built flag, 24 + 4f
// bytes, and changed the split rule. Both are read (told apart on load); either is written.
enum class DotLayout { Released, Main };

// Parses "angular" (or "cosine"), "euclidean", "manhattan", "dot", "hamming".
// Returns false for anything else.
bool parse_metric(const std::string& name, Metric* out);
const char* metric_name(Metric metric);
// "released" or "main"; parse_dot_layout returns false for anything else.
const char* dot_layout_name(DotLayout layout);
bool parse_dot_layout(const std::string& name, DotLayout* out);

// Byte offsets of a node's fields for one metric. -1 marks a field the layout lacks.
struct NodeLayout {
  Metric metric;
  DotLayout dot_layout;
  int f;                   // dimension: floats, or 64-bit words for hamming
  std::size_t node_size;   // bytes per node
  std::size_t children;    // offset of children[2] (and of a leaf bucket's ids)
  std::size_t vector;      // offset of v[f]
  int norm;                // angular: cached |v|^2 (shares bytes with children[0]); dot: max_norm^2
  int offset_a;            // euclidean/manhattan: the split plane's offset
  int dot_factor;          // dot: the extra coordinate of the XBox transform
  int built;               // dot (main layout): 1 on item nodes once built
  std::size_t value_size;  // 4 (float) or 8 (uint64 words)
  // Largest number of item ids a leaf bucket holds: they fill the node from `children` on.
  std::size_t max_bucket() const { return (node_size - children) / 4; }
};

// The layout for `words` values per vector (hamming: 64-bit words, otherwise floats).
NodeLayout make_layout(Metric metric, int words, DotLayout dot_layout = DotLayout::Released);

// Hamming vectors are given as f bits; they are stored in ceil(f / 64) words.
inline int hamming_words(int bits) { return (bits + 63) / 64; }

}  // namespace grove

#endif  // GROVE_FORMAT_H
