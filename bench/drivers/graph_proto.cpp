// A measured prototype for issue 19 (not part of the library): a neighbour graph grown from
// Grove's trees, searched best-first from a tree seed, against hnswlib (M 16, ef_construction
// 200) in the same process, one thread, angular (unit vectors, as hnswlib's inner product).
//
// Graph: every leaf's pairs give each item its first G nearest; `rounds` of NN-descent (the
// neighbours of each item's neighbours, and its reverse neighbours) refine them; then each
// list is diversified (a candidate is kept only when it is nearer the item than every one
// kept before it, as HNSW's heuristic) to at most R, and reverse edges are added under R.
// Search: descend tree 0 to a leaf for seeds, then best-first with a list of ef, on the float
// vectors or (graph_codes) on 8-bit codes of them, the ef found then ranked on floats.
// Usage: graph_proto train.npy test.npy n_queries G R rounds "ef1,ef2,..." "hnsw_ef1,..."
#include <grove/grove.h>
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>

#include <immintrin.h>

#include "harness.h"

namespace {

constexpr int kN = 10;

// Eight lanes at a time (-march=native: AVX2 and FMA here), as hnswlib's own kernels.
inline float dot(const float* a, const float* b, std::size_t f) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 16 <= f; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  for (; j + 8 <= f; j += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
  acc0 = _mm256_add_ps(acc0, acc1);
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
  float s = _mm_cvtss_f32(s4);
  for (; j < f; ++j) s += a[j] * b[j];
  return s;
#else
  float s = 0;
  for (std::size_t j = 0; j < f; ++j) s += a[j] * b[j];
  return s;
#endif
}

// Fixed-size nearest lists (distance = 1 - dot on unit vectors), worst last.
struct Lists {
  int g;
  std::vector<std::int32_t> ids;
  std::vector<float> dist;
  std::vector<int> count;
  Lists(std::size_t n, int g) : g(g), ids(n * g, -1), dist(n * g, 2.0f), count(n, 0) {}
  bool offer(std::int32_t u, std::int32_t v, float d) {
    std::int32_t* I = &ids[static_cast<std::size_t>(u) * g];
    float* D = &dist[static_cast<std::size_t>(u) * g];
    int& c = count[static_cast<std::size_t>(u)];
    if (c == g && d >= D[g - 1]) return false;
    for (int k = 0; k < c; ++k) if (I[k] == v) return false;
    int at = c < g ? c++ : g - 1;
    while (at > 0 && D[at - 1] > d) {
      D[at] = D[at - 1];
      I[at] = I[at - 1];
      --at;
    }
    D[at] = d;
    I[at] = v;
    return true;
  }
};

struct Graph {
  std::size_t n = 0;
  int r = 0;
  std::vector<std::int32_t> adj;  // n * r, -1 padded
  std::vector<int> degree;
};

// The trees, read back from Annoy's format: split planes and buckets (angular layout).
struct Trees {
  std::vector<std::uint8_t> bytes;
  std::size_t node = 0, f = 0;
  std::int32_t n_items = 0, k = 0;
  std::vector<std::int32_t> roots;
  std::int32_t count(std::int64_t i) const { std::int32_t c; std::memcpy(&c, &bytes[i * node], 4); return c; }
  const std::int32_t* kids(std::int64_t i) const { return reinterpret_cast<const std::int32_t*>(&bytes[i * node + 4]); }
  const float* plane(std::int64_t i) const { return reinterpret_cast<const float*>(&bytes[i * node + 12]); }
};

Trees read_trees(const grove::AnnoyIndex& index, std::size_t f) {
  Trees t;
  t.bytes = index.serialize();
  t.node = 12 + 4 * f;
  t.f = f;
  t.n_items = index.get_n_items();
  t.k = static_cast<std::int32_t>((t.node - 4) / 4);
  const std::int64_t nodes = static_cast<std::int64_t>(t.bytes.size() / t.node);
  for (std::int64_t i = nodes - index.get_n_trees(); i < nodes; ++i) t.roots.push_back(static_cast<std::int32_t>(i));
  return t;
}

template <class Fn>
void each_leaf(const Trees& t, std::int32_t root, Fn fn) {
  std::vector<std::int32_t> stack{root};
  while (!stack.empty()) {
    const std::int32_t i = stack.back();
    stack.pop_back();
    if (i < t.n_items) continue;
    const std::int32_t c = t.count(i);
    if (c <= t.k && i != root) {
      fn(t.kids(i), c);
      continue;
    }
    stack.push_back(t.kids(i)[0]);
    stack.push_back(t.kids(i)[1]);
  }
}

Graph grow(const bench::Matrix& x, const Trees& t, int g, int r, int rounds) {
  const std::size_t n = x.rows, f = x.cols;
  Lists lists(n, g);
  for (std::int32_t root : t.roots)
    each_leaf(t, root, [&](const std::int32_t* ids, std::int32_t c) {
      for (std::int32_t a = 0; a < c; ++a)
        for (std::int32_t b = a + 1; b < c; ++b) {
          const float d = 1 - dot(x.row(ids[a]), x.row(ids[b]), f);
          lists.offer(ids[a], ids[b], d);
          lists.offer(ids[b], ids[a], d);
        }
    });
  for (int round = 0; round < rounds; ++round) {
    // Reverse neighbours (up to g), then every pair among each item's neighbours and reverse neighbours.
    std::vector<std::vector<std::int32_t>> reverse(n);
    for (std::size_t u = 0; u < n; ++u)
      for (int k = 0; k < lists.count[u]; ++k) {
        auto& rv = reverse[static_cast<std::size_t>(lists.ids[u * g + k])];
        if (rv.size() < static_cast<std::size_t>(g)) rv.push_back(static_cast<std::int32_t>(u));
      }
    std::vector<std::int32_t> near;
    for (std::size_t u = 0; u < n; ++u) {
      near.assign(lists.ids.begin() + u * g, lists.ids.begin() + u * g + lists.count[u]);
      near.insert(near.end(), reverse[u].begin(), reverse[u].end());
      for (std::size_t a = 0; a < near.size(); ++a)
        for (std::size_t b = a + 1; b < near.size(); ++b) {
          if (near[a] == near[b]) continue;
          const float d = 1 - dot(x.row(near[a]), x.row(near[b]), f);
          lists.offer(near[a], near[b], d);
          lists.offer(near[b], near[a], d);
        }
    }
  }
  Graph graph;
  graph.n = n;
  graph.r = r;
  graph.adj.assign(n * r, -1);
  graph.degree.assign(n, 0);
  auto add = [&](std::size_t u, std::int32_t v) {
    int& d = graph.degree[u];
    for (int k = 0; k < d; ++k) if (graph.adj[u * r + k] == v) return;
    if (d < r) graph.adj[u * r + d++] = v;
  };
  for (std::size_t u = 0; u < n; ++u) {
    std::vector<std::int32_t> kept;
    for (int k = 0; k < lists.count[u] && static_cast<int>(kept.size()) < r; ++k) {
      const std::int32_t v = lists.ids[u * g + k];
      const float duv = lists.dist[u * g + k];
      bool good = true;
      for (std::int32_t w : kept) good = good && (1 - dot(x.row(v), x.row(w), f)) > duv;
      if (good) kept.push_back(v);
    }
    for (std::int32_t v : kept) add(u, v);
  }
  for (std::size_t u = 0; u < n; ++u)
    for (int k = 0; k < graph.degree[u]; ++k) {
      const std::int32_t v = graph.adj[u * r + k];
      if (v >= 0) add(static_cast<std::size_t>(v), static_cast<std::int32_t>(u));
    }
  return graph;
}

// 8-bit codes of the unit vectors, per dimension (lo + step * code): a quarter of the bytes.
struct Codes {
  std::size_t f = 0;
  std::vector<float> lo, step;
  std::vector<std::uint8_t> codes;
  explicit Codes(const bench::Matrix& x) : f(x.cols), lo(x.cols, 1e30f), step(x.cols, 0), codes(x.rows * x.cols) {
    std::vector<float> hi(f, -1e30f);
    for (std::size_t i = 0; i < x.rows; ++i)
      for (std::size_t j = 0; j < f; ++j) lo[j] = std::min(lo[j], x.row(i)[j]), hi[j] = std::max(hi[j], x.row(i)[j]);
    for (std::size_t j = 0; j < f; ++j) step[j] = (hi[j] - lo[j]) / 255.0f;
    for (std::size_t i = 0; i < x.rows; ++i)
      for (std::size_t j = 0; j < f; ++j)
        codes[i * f + j] = static_cast<std::uint8_t>(std::lround(step[j] > 0 ? (x.row(i)[j] - lo[j]) / step[j] : 0));
  }
  const std::uint8_t* row(std::int32_t i) const { return &codes[static_cast<std::size_t>(i) * f]; }
};

// q . decoded(code) = base + sum_j (q_j step_j) code_j, eight codes at a time.
inline float coded_dot(const float* qs, float base, const std::uint8_t* c, std::size_t f) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 8 <= f; j += 8) {
    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + j))));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(qs + j), v, acc);
  }
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
  float s = _mm_cvtss_f32(s4);
  for (; j < f; ++j) s += qs[j] * c[j];
  return base + s;
#else
  float s = base;
  for (std::size_t j = 0; j < f; ++j) s += qs[j] * c[j];
  return s;
#endif
}

struct Searcher {
  const bench::Matrix& x;
  const Trees& t;
  const Graph& graph;
  std::vector<std::uint32_t> seen;
  std::uint32_t epoch = 0;
  Searcher(const bench::Matrix& x, const Trees& t, const Graph& g) : x(x), t(t), graph(g), seen(x.rows, 0) {}

  const Codes* codes = nullptr;
  std::vector<float> qs;

  // coded: walk the graph on code distances, then rank the ef best on floats.
  std::vector<std::int32_t> search(const float* q, int ef) {
    ++epoch;
    const std::size_t f = x.cols;
    float base = 0;
    if (codes) {
      qs.resize(f);
      for (std::size_t j = 0; j < f; ++j) qs[j] = q[j] * codes->step[j], base += q[j] * codes->lo[j];
    }
    auto distance = [&](std::int32_t v) {
      return codes ? 1 - coded_dot(qs.data(), base, codes->row(v), f) : 1 - dot(x.row(v), q, f);
    };
    using Entry = std::pair<float, std::int32_t>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> frontier;  // nearest first
    std::priority_queue<Entry> best;                                              // worst first
    auto visit = [&](std::int32_t v) {
      if (seen[static_cast<std::size_t>(v)] == epoch) return;
      seen[static_cast<std::size_t>(v)] = epoch;
      const float d = distance(v);
      if (static_cast<int>(best.size()) < ef || d < best.top().first) {
        frontier.push({d, v});
        best.push({d, v});
        if (static_cast<int>(best.size()) > ef) best.pop();
      }
    };
    // Seeds: tree 0's leaf for the query.
    std::int32_t i = t.roots[0];
    while (i >= t.n_items && !(t.count(i) <= t.k && i != t.roots[0])) i = t.kids(i)[dot(t.plane(i), q, f) > 0 ? 1 : 0];
    if (i < t.n_items) visit(i);
    else for (std::int32_t k = 0; k < t.count(i); ++k) visit(t.kids(i)[k]);
    while (!frontier.empty()) {
      const Entry e = frontier.top();
      if (static_cast<int>(best.size()) >= ef && e.first > best.top().first) break;
      frontier.pop();
      const std::int32_t* nb = &graph.adj[static_cast<std::size_t>(e.second) * graph.r];
      for (int k = 0; k < graph.degree[static_cast<std::size_t>(e.second)]; ++k) {
        if (k + 1 < graph.degree[static_cast<std::size_t>(e.second)]) __builtin_prefetch(codes ? static_cast<const void*>(codes->row(nb[k + 1])) : x.row(nb[k + 1]));
        visit(nb[k]);
      }
    }
    std::vector<Entry> out;
    while (!best.empty()) out.push_back(best.top()), best.pop();
    if (codes)
      for (Entry& e : out) e.first = 1 - dot(x.row(e.second), q, f);  // the exact ranking of the ef found
    std::sort(out.begin(), out.end());
    std::vector<std::int32_t> ids;
    for (std::size_t k = 0; k < out.size() && k < static_cast<std::size_t>(kN); ++k) ids.push_back(out[k].second);
    return ids;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s train.npy test.npy n_queries G R rounds efs hnsw_efs\n", argv[0]);
    return 2;
  }
  bench::Matrix train = bench::read_npy(argv[1]), test = bench::read_npy(argv[2]);
  bench::normalise(train);
  bench::normalise(test);
  const std::size_t nq = std::min<std::size_t>(std::atoi(argv[3]), test.rows);
  const int g = std::atoi(argv[4]), r = std::atoi(argv[5]), rounds = std::atoi(argv[6]);
  const std::vector<int> efs = bench::parse_list(argv[7]), hnsw_efs = bench::parse_list(argv[8]);
  const std::size_t f = train.cols;

  std::vector<std::vector<std::int32_t>> want(nq);
  for (std::size_t q = 0; q < nq; ++q) want[q] = bench::exact_top(train, test.row(q), true, kN);

  grove::AnnoyIndex index(static_cast<int>(f), "angular");
  Trees trees;
  Graph graph;
  const double t_trees = bench::seconds([&] {
    for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<std::int32_t>(i), train.row(i));
    index.build(10, 1);
  });
  trees = read_trees(index, f);
  const double t_graph = bench::seconds([&] { graph = grow(train, trees, g, r, rounds); });
  double mean_degree = 0;
  for (int d : graph.degree) mean_degree += d;
  mean_degree /= graph.n;

  hnswlib::InnerProductSpace space(f);
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  const double t_hnsw = bench::seconds([&] {
    hnsw.reset(new hnswlib::HierarchicalNSW<float>(&space, train.rows, 16, 200, 100));
    for (std::size_t i = 0; i < train.rows; ++i) hnsw->addPoint(train.row(i), i);
  });
  std::printf("{\"items\":%zu,\"g\":%d,\"r\":%d,\"rounds\":%d,\"trees_s\":%.2f,\"graph_s\":%.2f,\"hnsw_s\":%.2f,\"mean_degree\":%.1f,\n",
              train.rows, g, r, rounds, t_trees, t_graph, t_hnsw, mean_degree);
  Searcher searcher(train, trees, graph);
  auto run = [&](const char* name, const std::vector<int>& params, auto query) {
    std::printf("\"%s\":[", name);
    for (std::size_t p = 0; p < params.size(); ++p) {
      double best_t = 1e300, sum = 0;
      for (int pass = 0; pass < 3; ++pass) {
        sum = 0;
        const double t = bench::seconds([&] {
          for (std::size_t q = 0; q < nq; ++q) sum += bench::recall_of(query(test.row(q), params[p]), want[q]);
        });
        best_t = std::min(best_t, t);
      }
      std::printf("%s{\"param\":%d,\"recall\":%.4f,\"qps\":%.0f}", p ? "," : "", params[p], sum / nq, nq / best_t);
      std::fflush(stdout);
    }
    std::printf("]");
  };
  run("graph", efs, [&](const float* q, int ef) { return searcher.search(q, ef); });
  std::printf(",\n");
  Codes codes(train);
  Searcher coded(train, trees, graph);
  coded.codes = &codes;
  run("graph_codes", efs, [&](const float* q, int ef) { return coded.search(q, ef); });
  std::printf(",\n");
  run("hnswlib", hnsw_efs, [&](const float* q, int ef) {
    hnsw->setEf(ef);
    auto result = hnsw->searchKnn(q, kN);
    std::vector<std::int32_t> ids;
    while (!result.empty()) ids.push_back(static_cast<std::int32_t>(result.top().second)), result.pop();
    return ids;
  });
  std::printf("}\n");
  return 0;
}
