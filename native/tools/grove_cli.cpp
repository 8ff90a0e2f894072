// grove: build and query Annoy-format indexes from the command line.
//
//   grove build [--metric M] [--trees N] [--jobs J] [--seed S] [--on-disk] [--dot-layout L] [--no-compact] [--no-graph] [--json] IN OUT
//   grove query INDEX --metric M --dim F (--item I | --vector a,b,... | --queries FILE)
//               [-k K] [--search-k S] [--limit N] [--recall] [--no-compact] [--no-graph] [--json]
//   grove info INDEX --metric M --dim F [--json]
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#endif

#include "datasets.h"
#include "grove/grove.h"

namespace {

using grove::AnnoyIndex;
using grove::Error;
using grove::ErrorCode;
using grove::tools::Matrix;
using Clock = std::chrono::steady_clock;

const char* kUsage =
    "usage:\n"
    "  grove build [--metric M] [--trees N] [--jobs J] [--seed S] [--on-disk] [--dot-layout released|main]\n"
    "              [--no-compact] [--no-graph] [--json] [--quiet] IN OUT\n"
    "      IN: .npy (float32/float64/uint8), .fvecs, or CSV/TSV text; one vector per row\n"
    "      also writes OUT.sq8, the compact companion that speeds up queries (--no-compact: not)\n"
    "      --no-graph leaves out the neighbour graph (in OUT.sq8) that queries walk: a quicker build, slower queries\n"
    "  grove query INDEX --metric M --dim F (--item I | --vector a,b,... | --queries FILE)\n"
    "      [-k K] [--search-k S] [--limit N] [--recall] [--no-compact] [--no-graph] [--json]\n"
    "      --no-compact ranks every candidate on its float vector (same answers, slower)\n"
    "      --no-graph searches the trees only, not the neighbour graph an index built without --no-graph has\n"
    "  grove info INDEX --metric M --dim F [--json]\n"
    "  grove shard --shards N [--metric M] [--trees N] [--jobs J] [--seed S] [--json] IN OUTDIR\n"
    "      writes OUTDIR/shard-I.ann and OUTDIR/index.json (a sharded index: query it as INDEX)\n"
    "  INDEX may be a sharded index's index.json: then --metric and --dim are not needed\n"
    "metrics: angular (cosine), euclidean, manhattan, dot, hamming\n";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool has(const std::string& k) const { return options.count(k) > 0; }
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = options.find(k);
    return it == options.end() ? fallback : it->second;
  }
  std::uint64_t unsigned_number(const std::string& k) const {
    const std::string& s = options.at(k);
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end != '\0' || errno == ERANGE)
      throw Error(ErrorCode::InvalidArgument, "--" + k + " needs a whole number from 0 to 2^64-1, got '" + s + "'");
    return v;
  }
  long number(const std::string& k, long fallback) const {
    if (!has(k)) return fallback;
    const std::string& s = options.at(k);
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < INT_MIN || v > INT_MAX)
      throw Error(ErrorCode::InvalidArgument, "--" + k + " needs a whole number, got '" + s + "'");
    return v;
  }
};

// The options each command takes: anything else is an error, so a misspelt option never
// falls back silently to a default.
const std::map<std::string, std::vector<std::string>> kOptions = {
    {"build", {"metric", "trees", "jobs", "seed", "on-disk", "dot-layout", "no-compact", "no-graph", "json", "quiet"}},
    {"query", {"metric", "dim", "item", "vector", "queries", "k", "search-k", "limit", "recall", "no-compact", "no-graph", "json"}},
    {"info", {"metric", "dim", "json"}},
    {"shard", {"metric", "trees", "jobs", "seed", "shards", "dot-layout", "no-compact", "json", "quiet"}},
};

Args parse_args(int argc, char** argv, int start, const std::vector<std::string>& allowed) {
  const std::vector<std::string> flags = {"on-disk", "json", "recall", "quiet", "no-compact", "no-graph"};
  Args args;
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-k") a = "--k";
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string key = a.substr(2);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        throw Error(ErrorCode::InvalidArgument,
                    "unknown option '" + a + "' for " + argv[start - 1] + " (see grove --help)");
      if (args.options.count(key))
        throw Error(ErrorCode::InvalidArgument, "option '" + a + "' is given twice");
      if (std::find(flags.begin(), flags.end(), key) != flags.end()) {
        args.options[key] = "1";
      } else {
        if (i + 1 >= argc) throw Error(ErrorCode::InvalidArgument, a + " needs a value");
        args.options[key] = argv[++i];
      }
    } else if (a.size() > 1 && a[0] == '-' && !std::isdigit(static_cast<unsigned char>(a[1]))) {
      throw Error(ErrorCode::InvalidArgument, "unknown option '" + a + "' (see grove --help)");
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string json_list(const std::vector<int32_t>& v) {
  std::ostringstream o;
  o << '[';
  for (std::size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + "]";
}
std::string json_list(const std::vector<float>& v) {
  std::ostringstream o;
  o.precision(9);
  o << '[';
  for (std::size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + "]";
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Fails before any work when the index could not be written at the end.
void check_output(const std::string& path) {
  const std::string folder = folder_of(path);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(ErrorCode::Io, "cannot write '" + path + "': the folder '" + folder + "' does not exist");
  if (::access(folder.c_str(), W_OK) != 0)
    throw Error(ErrorCode::Io, "cannot write '" + path + "': the folder '" + folder + "' is not writable");
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error(ErrorCode::Io, "cannot write '" + path + "': it is a folder");
}

// A build killed outright (kill -9, power loss) cannot remove its temporary file: name any
// such leftovers of this target, so the user can reclaim the space.
void warn_leftovers(const std::string& path) {
  const std::string folder = folder_of(path);
  const std::string slash = path.find('/') == std::string::npos ? "" : "/";
  const std::string base = slash.empty() ? path : path.substr(path.find_last_of('/') + 1);
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    for (const char* tag : {".building-", ".tmp-"})
      if (name.compare(0, base.size() + std::strlen(tag), base + tag) == 0)
        std::fprintf(stderr, "grove: warning: '%s%s%s' is left over from an interrupted build or save "
                     "of '%s'; delete it to free its space\n",
                     slash.empty() ? "" : folder.c_str(), slash.c_str(), name.c_str(), path.c_str());
  }
  ::closedir(dir);
}

// Progress on a terminal: one line rewritten in place per phase (reading, adding, each tree,
// writing). Silent when stdout or stderr is not a terminal, or with --quiet/--json, so logs
// and pipes get only the result line.
class Progress {
 public:
  explicit Progress(bool on) : on_(on) {}
  bool on() const { return on_; }
  void show(const std::string& line) {
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }
  void done(const std::string& line) {
    if (!on_) return;
    show(line);
    std::fputc('\n', stderr);
  }
  // Every ~1% of `total`, and at the end.
  void count(const char* what, std::size_t done, std::size_t total) {
    if (!on_ || total == 0) return;
    const std::size_t step = std::max<std::size_t>(1, total / 100);
    if (done % step != 0 && done != total) return;
    show(std::string(what) + " " + std::to_string(done) + " of " + std::to_string(total) + " (" +
         std::to_string(done * 100 / total) + "%)");
  }

 private:
  bool on_;
};

#ifdef __EMSCRIPTEN__
// Emscripten's isatty() says yes for every standard stream: ask Node.
EM_JS(int, node_streams_are_terminals, (), { return process.stdout.isTTY && process.stderr.isTTY ? 1 : 0; });
#endif

// Progress lines only when a person watches (both streams are a terminal).
bool on_terminal() {
#ifdef __EMSCRIPTEN__
  return node_streams_are_terminals() != 0;
#else
  return ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO);
#endif
}

int cmd_build(const Args& args) {
  if (args.positional.size() != 2) throw Error(ErrorCode::InvalidArgument, "build needs IN and OUT");
  const std::string metric = args.get("metric", "angular");
  const int trees = static_cast<int>(args.number("trees", 10));
  const int jobs = static_cast<int>(args.number("jobs", -1));
  const bool json = args.has("json");

  const std::string& out = args.positional[1];
  check_output(out);
  warn_leftovers(out);
  std::uint64_t seed = 0;
  if (args.has("seed")) seed = args.unsigned_number("seed");
  grove::DotLayout dot_layout = grove::DotLayout::Released;
  if (args.has("dot-layout") && !grove::parse_dot_layout(args.get("dot-layout"), &dot_layout))
    throw Error(ErrorCode::InvalidArgument, "--dot-layout is 'released' (what every released Annoy reads) or 'main', got '" +
                                                args.get("dot-layout") + "'");

  Progress progress(!args.has("quiet") && !json && on_terminal());
  auto t0 = Clock::now();
  progress.show("reading " + args.positional[0] + "...");
  Matrix data = grove::tools::read_matrix(args.positional[0]);
  const double read_ms = ms_since(t0);
  progress.done("read " + std::to_string(data.rows) + " vectors of " + std::to_string(data.cols) + " values in " +
                std::to_string(static_cast<long>(read_ms)) + " ms");
  AnnoyIndex index(static_cast<int>(data.cols), metric);
  if (args.has("seed")) index.set_seed(seed);
  index.set_dot_layout(dot_layout);
  index.set_compact_scoring(!args.has("no-compact"));
  index.set_graph_search(!args.has("no-graph"));
  if (args.has("on-disk")) index.on_disk_build(args.positional[1]);
  for (std::size_t r = 0; r < data.rows; ++r) {
    index.add_item(static_cast<int32_t>(r), data.row(r));
    progress.count("adding items:", r + 1, data.rows);
  }
  progress.done("added " + std::to_string(data.rows) + " items (" + metric + ")");
  if (progress.on()) {
    // The core reports each finished tree through the log sink: show it on the same line.
    index.set_log([&](const std::string& line) { progress.show("building: " + line); });
    index.verbose(true);
  }
  auto t1 = Clock::now();
  index.build(trees, jobs);
  const double build_ms = ms_since(t1);
  progress.done("built " + std::to_string(index.get_n_trees()) + " trees in " + std::to_string(static_cast<long>(build_ms)) + " ms");
  progress.show("writing " + args.positional[1] + "...");
  index.save(args.positional[1]);
  progress.done("wrote " + args.positional[1]);
  const std::size_t bytes = index.serialized_size();
  if (json) {
    std::printf("{\"items\":%zu,\"dim\":%zu,\"metric\":\"%s\",\"trees\":%d,\"bytes\":%zu,"
                "\"read_ms\":%.1f,\"build_ms\":%.1f}\n",
                data.rows, data.cols, metric.c_str(), index.get_n_trees(), bytes, read_ms, build_ms);
  } else {
    std::printf("built %s: %zu items, %d trees, %zu bytes in %.0f ms (read %.0f ms)\n",
                args.positional[1].c_str(), data.rows, index.get_n_trees(), bytes, build_ms, read_ms);
  }
  return 0;
}

// Splits IN into --shards contiguous shards (rows = global ids), builds and saves each, and
// writes the manifest last, so a failed run leaves no manifest that names missing shards.
int cmd_shard(const Args& args) {
  if (args.positional.size() != 2) throw Error(ErrorCode::InvalidArgument, "shard needs IN and OUTDIR");
  const std::string metric = args.get("metric", "angular");
  const int trees = static_cast<int>(args.number("trees", 10));
  const int jobs = static_cast<int>(args.number("jobs", -1));
  const long n_shards = args.number("shards", 0);
  if (n_shards < 1) throw Error(ErrorCode::InvalidArgument, "--shards must be at least 1");
  const std::string& dir = args.positional[1];
  const std::string manifest_path = dir + "/index.json";
  check_output(manifest_path);
  const std::uint64_t seed = args.has("seed") ? args.unsigned_number("seed") : 1;
  grove::DotLayout dot_layout = grove::DotLayout::Released;
  if (args.has("dot-layout") && !grove::parse_dot_layout(args.get("dot-layout"), &dot_layout))
    throw Error(ErrorCode::InvalidArgument, "--dot-layout is 'released' or 'main', got '" + args.get("dot-layout") + "'");
  Progress progress(!args.has("quiet") && !args.has("json") && on_terminal());
  Matrix data = grove::tools::read_matrix(args.positional[0]);
  if (data.rows < static_cast<std::size_t>(n_shards))
    throw Error(ErrorCode::InvalidArgument, "cannot make " + std::to_string(n_shards) + " shards of " + std::to_string(data.rows) + " rows");
  grove::Manifest manifest;
  manifest.f = static_cast<int>(data.cols);
  if (!grove::parse_metric(metric, &manifest.metric))
    throw Error(ErrorCode::InvalidArgument, "unknown metric '" + metric + "': use angular, euclidean, manhattan, dot or hamming");
  manifest.dot_layout = dot_layout;
  manifest.total_items = static_cast<std::int64_t>(data.rows);
  const std::size_t per = (data.rows + n_shards - 1) / n_shards;
  for (long s = 0; s < n_shards && static_cast<std::size_t>(s) * per < data.rows; ++s) {
    grove::ShardInfo info;
    info.file = "shard-" + std::to_string(s) + ".ann";
    info.first_id = static_cast<std::int64_t>(s * per);
    info.items = static_cast<std::int32_t>(std::min(per, data.rows - s * per));
    info.seed = seed + static_cast<std::uint64_t>(s);
    AnnoyIndex shard(static_cast<int>(data.cols), metric);
    shard.set_seed(info.seed);
    shard.set_dot_layout(dot_layout);
    shard.set_compact_scoring(!args.has("no-compact"));
    for (std::int32_t i = 0; i < info.items; ++i) shard.add_item(i, data.row(static_cast<std::size_t>(info.first_id + i)));
    progress.show("building shard " + std::to_string(s + 1) + " of " + std::to_string(n_shards) + "...");
    shard.build(trees, jobs);
    shard.save(dir + "/" + info.file);
    info.n_trees = shard.get_n_trees();
    manifest.shards.push_back(info);
  }
  grove::save_manifest(manifest_path, manifest);
  progress.done("wrote " + std::to_string(manifest.shards.size()) + " shards and " + manifest_path);
  if (args.has("json"))
    std::printf("{\"manifest\":\"%s\",\"shards\":%zu,\"items\":%zu}\n", manifest_path.c_str(), manifest.shards.size(), data.rows);
  else
    std::printf("sharded %s: %zu items in %zu shards, manifest %s\n", args.positional[0].c_str(), data.rows,
                manifest.shards.size(), manifest_path.c_str());
  return 0;
}

AnnoyIndex open_index(const Args& args) {
  if (args.positional.size() != 1) throw Error(ErrorCode::InvalidArgument, "give one INDEX file");
  if (!args.has("dim") || !args.has("metric"))
    throw Error(ErrorCode::InvalidArgument,
                "--metric and --dim are required: Annoy's files do not record them");
  AnnoyIndex index(static_cast<int>(args.number("dim", 0)), args.get("metric"));
  index.load(args.positional[0]);
  return index;
}

std::vector<float> parse_vector(const std::string& text) {
  Matrix m = grove::tools::parse_text(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  if (m.rows != 1) throw Error(ErrorCode::InvalidArgument, "--vector takes one comma-separated vector");
  return m.values;
}

// Exhaustive search (every item becomes a candidate): the exact top k, for recall.
// What `query` needs of an index: one Annoy-format file, or a sharded index's manifest.
struct Searcher {
  std::unique_ptr<AnnoyIndex> single;
  std::unique_ptr<grove::ShardedIndex> sharded;

  int get_f() const { return single ? single->get_f() : sharded->get_f(); }
  std::vector<float> get_item_vector(int32_t item) const {
    return single ? single->get_item_vector(item) : sharded->get_item_vector(item);
  }
  void set_compact_scoring(bool on) {
    if (single) single->set_compact_scoring(on);
    else sharded->set_compact_scoring(on);
  }
  void set_graph_search(bool on) {
    if (single) single->set_graph_search(on);
    else sharded->set_graph_search(on);
  }
  void get_nns_by_vector(const float* q, int k, int search_k, std::vector<int32_t>* ids, std::vector<float>* dists) const {
    if (single) single->get_nns_by_vector(q, k, search_k, ids, dists);
    else sharded->get_nns_by_vector(q, k, search_k, ids, dists);
  }
  // A search_k that makes every item of every tree (of every shard) a candidate.
  int exhaustive_k() const {
    long long k = 0;
    if (single) k = static_cast<long long>(single->get_n_items()) * std::max(1, single->get_n_trees());
    else
      for (const grove::ShardInfo& s : sharded->manifest().shards)
        k = std::max(k, 2LL * s.items * std::max(1, s.n_trees));  // x2: tiny shards report extra roots
    return static_cast<int>(std::min<long long>(k, INT_MAX));
  }
};

bool is_manifest(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

// INDEX is an .ann file (then --dim and --metric are needed) or a sharded index's manifest
// (.json, which records them; if given, they must agree).
Searcher open_searcher(const Args& args) {
  Searcher s;
  if (args.positional.size() == 1 && is_manifest(args.positional[0])) {
    s.sharded.reset(new grove::ShardedIndex(grove::open_sharded(args.positional[0])));
    const grove::Manifest& m = s.sharded->manifest();
    grove::Metric metric;
    if (args.has("metric") && (!grove::parse_metric(args.get("metric"), &metric) || metric != m.metric))
      throw Error(ErrorCode::InvalidArgument, "--metric " + args.get("metric") + " disagrees with the manifest's " + grove::metric_name(m.metric));
    if (args.has("dim") && args.number("dim", 0) != m.f)
      throw Error(ErrorCode::InvalidArgument, "--dim " + args.get("dim") + " disagrees with the manifest's f=" + std::to_string(m.f));
    return s;
  }
  s.single.reset(new AnnoyIndex(open_index(args)));
  return s;
}

int cmd_query(const Args& args) {
  Searcher index = open_searcher(args);
  if (args.has("no-compact")) index.set_compact_scoring(false);
  if (args.has("no-graph")) index.set_graph_search(false);
  const int k = static_cast<int>(args.number("k", 10));
  const int search_k = static_cast<int>(args.number("search-k", -1));
  const bool json = args.has("json");
  Matrix queries;
  std::vector<std::string> labels;
  if (args.has("item")) {
    const int32_t item = static_cast<int32_t>(args.number("item", 0));
    queries.cols = static_cast<std::size_t>(index.get_f());
    queries.values = index.get_item_vector(item);
    queries.rows = 1;
    labels.push_back("item " + std::to_string(item));
  } else if (args.has("vector")) {
    queries.values = parse_vector(args.get("vector"));
    queries.cols = queries.values.size();
    queries.rows = 1;
    labels.push_back("vector");
  } else if (args.has("queries")) {
    queries = grove::tools::read_matrix(args.get("queries"));
    const long limit = args.number("limit", INT_MAX);
    if (limit < 1) throw Error(ErrorCode::InvalidArgument, "--limit must be at least 1, got " + std::to_string(limit));
    queries.rows = std::min<std::size_t>(queries.rows, static_cast<std::size_t>(limit));
    if (queries.rows == 0) throw Error(ErrorCode::InvalidArgument, "'" + args.get("queries") + "' has no vectors");
    for (std::size_t r = 0; r < queries.rows; ++r) labels.push_back("query " + std::to_string(r));
  } else {
    throw Error(ErrorCode::InvalidArgument, "give --item, --vector or --queries");
  }
  if (queries.cols != static_cast<std::size_t>(index.get_f()))
    throw Error(ErrorCode::InvalidArgument, "query vectors have " + std::to_string(queries.cols) +
                                                " values, the index has f=" + std::to_string(index.get_f()));

  double total_ms = 0, recall_sum = 0;
  std::size_t nearest_right = 0;  // queries whose first result is the true nearest neighbour
  if (json) std::printf("{\"results\":[");
  for (std::size_t r = 0; r < queries.rows; ++r) {
    std::vector<int32_t> ids;
    std::vector<float> dists;
    auto t = Clock::now();
    index.get_nns_by_vector(queries.row(r), k, search_k, &ids, &dists);
    const double ms = ms_since(t);
    total_ms += ms;
    double recall = -1;
    if (args.has("recall")) {
      std::vector<int32_t> exact;
      index.get_nns_by_vector(queries.row(r), k, index.exhaustive_k(), &exact, nullptr);
      std::size_t hit = 0;
      for (int32_t id : ids) hit += std::count(exact.begin(), exact.end(), id) ? 1 : 0;
      recall = exact.empty() ? 1.0 : static_cast<double>(hit) / exact.size();
      if (!exact.empty() && !ids.empty() && ids[0] == exact[0]) ++nearest_right;
      recall_sum += recall;
    }
    if (json) {
      std::printf("%s{\"query\":\"%s\",\"ids\":%s,\"distances\":%s,\"ms\":%.3f", r ? "," : "",
                  labels[r].c_str(), json_list(ids).c_str(), json_list(dists).c_str(), ms);
      if (recall >= 0) std::printf(",\"recall\":%.4f", recall);
      std::printf("}");
    } else {
      std::printf("%s (%.3f ms)%s\n", labels[r].c_str(), ms,
                  recall >= 0 ? (" recall@" + std::to_string(k) + " " + std::to_string(recall)).c_str() : "");
      for (std::size_t i = 0; i < ids.size(); ++i)
        std::printf("  %2zu. id %-8d distance %.6g\n", i + 1, ids[i], dists[i]);
    }
  }
  const double mean_ms = total_ms / static_cast<double>(queries.rows);
  if (json) {
    std::printf("],\"queries\":%zu,\"mean_ms\":%.4f", queries.rows, mean_ms);
    if (args.has("recall"))
      std::printf(",\"recall\":%.4f,\"nearest_right\":%zu", recall_sum / queries.rows, nearest_right);
    std::printf("}\n");
  } else if (queries.rows > 1) {
    std::printf("%zu queries, %.3f ms each", queries.rows, mean_ms);
    if (args.has("recall"))
      std::printf(", mean recall@%d %.4f, true nearest neighbour first in %zu", k,
                  recall_sum / queries.rows, nearest_right);
    std::printf("\n");
  }
  return 0;
}

int cmd_info(const Args& args) {
  AnnoyIndex index = open_index(args);
  const grove::NodeLayout& layout = index.get_layout();
  struct stat st;
  const std::string companion = grove::companion_path(args.positional[0]);
  const long long companion_bytes = ::stat(companion.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  const bool dot = layout.metric == grove::Metric::Dot;
  const std::string dot_layout = dot ? grove::dot_layout_name(layout.dot_layout) : "";
  if (args.has("json")) {
    std::printf("{\"items\":%d,\"trees\":%d,\"dim\":%d,\"metric\":\"%s\",\"node_bytes\":%zu,"
                "\"bytes\":%zu,\"companion_bytes\":%lld%s}\n",
                index.get_n_items(), index.get_n_trees(), index.get_f(),
                grove::metric_name(layout.metric), layout.node_size, index.serialized_size(), companion_bytes,
                dot ? (",\"dot_layout\":\"" + dot_layout + "\"").c_str() : "");
  } else {
    std::printf("items: %d\ntrees: %d\ndimension: %d\nmetric: %s%s\nnode size: %zu bytes\n"
                "file size: %zu bytes\n",
                index.get_n_items(), index.get_n_trees(), index.get_f(),
                grove::metric_name(layout.metric),
                dot_layout == "main" ? " (Annoy's unreleased main-branch layout: released Annoy cannot read it)"
                : dot ? " (the layout every released Annoy reads)" : "",
                layout.node_size, index.serialized_size());
    if (companion_bytes >= 0) std::printf("compact companion: %s, %lld bytes\n", companion.c_str(), companion_bytes);
    else if (layout.metric != grove::Metric::Hamming)
      std::printf("compact companion: none (made in memory on the first query; grove build writes one)\n");
  }
  return 0;
}

}  // namespace

// The whole program; main() below, or the Python package's `grove` console script
// (native/python, built with GROVE_CLI_NO_MAIN), calls it.
int grove_cli_main(int argc, char** argv);
int grove_cli_main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    auto allowed = kOptions.find(command);
    if (allowed == kOptions.end()) {
      std::fprintf(stderr, "grove: unknown command '%s'\n%s", command.c_str(), kUsage);
      return 2;
    }
    Args args = parse_args(argc, argv, 2, allowed->second);
    if (command == "build") return cmd_build(args);
    if (command == "query") return cmd_query(args);
    if (command == "shard") return cmd_shard(args);
    return cmd_info(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grove: %s\n", e.what());
    return 1;
  }
}

#ifndef GROVE_CLI_NO_MAIN
int main(int argc, char** argv) { return grove_cli_main(argc, argv); }
#endif
