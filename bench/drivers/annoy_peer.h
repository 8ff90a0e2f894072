// Spotify's Annoy behind a small interface, so a driver built with other flags (graph_bench,
// -O3 -march=native for hnswlib) can run it in the same process: annoy_peer.cpp is compiled
// with Annoy's own flags (bench/CMakeLists.txt), as its wheels are.
#ifndef GROVE_BENCH_ANNOY_PEER_H
#define GROVE_BENCH_ANNOY_PEER_H

#include <cstdint>
#include <memory>
#include <vector>

namespace bench {

class AnnoyPeer {
 public:
  static std::unique_ptr<AnnoyPeer> make(int f, bool angular);
  virtual ~AnnoyPeer() = default;
  virtual void add_item(std::int32_t id, const float* v) = 0;
  virtual void build(int trees) = 0;  // one thread
  virtual void query(const float* q, int n, int search_k, std::vector<std::int32_t>* ids) const = 0;
};

}  // namespace bench

#endif
