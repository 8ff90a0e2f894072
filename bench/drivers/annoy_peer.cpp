// Annoy (annoylib.h from Debian's r-cran-rcppannoy) behind annoy_peer.h, one build thread.
#include "annoy_peer.h"

#include "annoylib.h"
#include "kissrandom.h"

namespace bench {
namespace {

template <class Metric>
class Peer final : public AnnoyPeer {
 public:
  explicit Peer(int f) : index_(f) {}
  void add_item(std::int32_t id, const float* v) override { index_.add_item(id, v); }
  void build(int trees) override { index_.build(trees, 1); }
  void query(const float* q, int n, int search_k, std::vector<std::int32_t>* ids) const override {
    index_.get_nns_by_vector(q, n, search_k, ids, nullptr);
  }

 private:
  using Index = AnnoyIndex<std::int32_t, float, Metric, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy>;
  Index index_;
};

}  // namespace

std::unique_ptr<AnnoyPeer> AnnoyPeer::make(int f, bool angular) {
  if (angular) return std::unique_ptr<AnnoyPeer>(new Peer<Angular>(f));
  return std::unique_ptr<AnnoyPeer>(new Peer<Euclidean>(f));
}

}  // namespace bench
