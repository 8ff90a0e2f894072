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


// ---------------------------------------------------------------------------------------
// The compact companion ("<index>.sq8"): Grove's own file, written next to an index, never
// read by Annoy. It holds an 8-bit copy of every item vector that search scores candidates
// on before it computes exact float distances (see docs/format.md). Little-endian:
//
//   header    64 bytes (CompanionHeader)
//   offsets   f floats: per-dimension minimum (angular: of the unit vectors), padded to 64
//   records   n_items x {float error, float extra}: the item's distance to its decoded code
//             (L2, or L1 for manhattan) rounded up; error < 0 marks a hole, +infinity an
//             item scored exactly always (zero or non-finite vector). extra: |x| rounded up
//             (dot), the sum of its squared codes rounded down (euclidean, angular), else 0
//   slots     n_items x int32: the code row of each item, a permutation of 0..n_items-1,
//             padded to 64. Rows follow the leaves of the index's first trees, so the
//             candidates of one query (near each other) share memory pages
//   codes     n_items x stride bytes: round((x - offset) / scale), 0..255, zero padded
//   graph     (graph_degree > 0 only) starting on a 64-byte boundary: n_items x graph_degree
//             int32, item i's neighbours nearest first, -1 after the last. A search walks
//             it from the trees' leaves instead of visiting more of the trees (docs/format.md)
struct CompanionHeader {
  char magic[8];               // "GROVESQ8"
  std::uint32_t version;       // kCompanionVersion
  std::uint16_t metric;        // static_cast<uint16_t>(Metric)
  std::uint16_t graph_degree;  // neighbour slots an item in the graph section; 0: no graph
  std::uint32_t f;             // values per vector
  std::uint32_t stride;        // bytes per code row: f rounded up to 16
  std::uint64_t n_items;
  std::uint64_t index_bytes;   // size of the index it was made from
  std::uint64_t fingerprint;   // hash of every index byte (ties the pair together)
  std::uint64_t checksum;      // hash of everything after the header
  float scale;                 // one step of a code
  std::uint32_t header_check;  // hash of the 60 header bytes before it (the checksum skips the header)
};
static_assert(sizeof(CompanionHeader) == 64, "the companion header is 64 bytes");
constexpr std::uint32_t kCompanionVersion = 5;
// The most neighbour slots an item the graph section may have.
constexpr std::uint32_t kMaxGraphDegree = 256;

// Where each part of a companion starts, and its total size, for f values, n items and
// `degree` graph slots an item (0: no graph section).
struct CompanionLayout {
  std::uint64_t stride, offsets, records, slots, codes, graph, total;
};
inline CompanionLayout companion_layout(std::uint64_t f, std::uint64_t n_items, std::uint64_t degree = 0) {
  auto round64 = [](std::uint64_t x) { return (x + 63) / 64 * 64; };
  CompanionLayout l;
  l.stride = (f + 15) / 16 * 16;
  l.offsets = sizeof(CompanionHeader);
  l.records = l.offsets + round64(4 * f);
  l.slots = l.records + round64(8 * n_items);
  l.codes = l.slots + round64(4 * n_items);
  l.total = l.codes + l.stride * n_items;
  l.graph = degree ? round64(l.total) : l.total;
  if (degree) l.total = l.graph + 4 * degree * n_items;
  return l;
}

}  // namespace grove

#endif  // GROVE_FORMAT_H
