// Builds only: Grove's trees alone (set_graph_search(false), as graph_bench's "trees alone")
// against Annoy, one thread, in one process. Each round builds both, the order turning each
// round, so drift on a shared machine hits both alike; a round's ratio is Grove's time over
// Annoy's in that round, and the medians of `rounds` are kept. Angular gets unit vectors, as
// in graph_bench. Annoy is annoy_peer.cpp, compiled with its wheels' flags.
// Usage: build_bench metric train.npy trees rounds. Prints JSON.
#include <grove/grove.h>

#include <cstdio>
#include <memory>
#include <string>

#include "annoy_peer.h"
#include "harness.h"

namespace {

std::string list_json(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s metric train.npy trees rounds\n", argv[0]);
    return 2;
  }
  const std::string metric = argv[1];
  const bool angular = metric == "angular";
  bench::Matrix train = bench::read_npy(argv[2]);
  if (angular) bench::normalise(train);
  const int trees = std::atoi(argv[3]), rounds = std::atoi(argv[4]);
  const int f = static_cast<int>(train.cols);

  auto annoy_build = [&] {
    std::unique_ptr<bench::AnnoyPeer> annoy = bench::AnnoyPeer::make(f, angular);
    for (std::size_t i = 0; i < train.rows; ++i) annoy->add_item(static_cast<std::int32_t>(i), train.row(i));
    return bench::seconds([&] { annoy->build(trees); });
  };
  auto grove_build = [&] {
    grove::AnnoyIndex index(f, metric);
    index.set_graph_search(false);
    for (std::size_t i = 0; i < train.rows; ++i) index.add_item(static_cast<std::int32_t>(i), train.row(i));
    return bench::seconds([&] { index.build(trees, 1); });
  };
  std::vector<double> annoy_s, grove_s, ratio;
  for (int r = 0; r < rounds; ++r) {
    double a, g;
    if (r % 2 == 0) a = annoy_build(), g = grove_build();
    else g = grove_build(), a = annoy_build();
    annoy_s.push_back(a);
    grove_s.push_back(g);
    ratio.push_back(g / a);
    std::fprintf(stderr, "  round %d: Annoy %.2f s, Grove %.2f s (%.2fx)\n", r + 1, a, g, g / a);
  }
  std::printf("{\"metric\":\"%s\",\"items\":%zu,\"trees\":%d,\"rounds\":%d,\"annoy_s\":%s,\"grove_s\":%s,\"ratio\":%s,"
              "\"median\":{\"annoy_s\":%.3f,\"grove_s\":%.3f,\"ratio\":%.3f}}\n",
              metric.c_str(), train.rows, trees, rounds, list_json(annoy_s).c_str(), list_json(grove_s).c_str(),
              list_json(ratio).c_str(), bench::median(annoy_s), bench::median(grove_s), bench::median(ratio));
  return 0;
}
