// Items added and removed after build() (see changes.h).
#include "changes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "dispatch.h"
#include "grove/error.h"
#include "metrics.h"

namespace grove {
namespace detail {
namespace {

// The side build() gives an item at a split (a coin for margins of exactly 0, as build's).
inline bool side_of(float margin, Kiss64& rng) { return margin != 0 ? margin > 0 : rng.flip(); }
inline bool side_of(bool margin, Kiss64&) { return margin; }

std::int32_t* children_of(Forest& forest, std::int64_t node) {
  return field<std::int32_t>(forest.mutable_node(node), forest.layout.children);
}

bool is_live(const Forest& forest, std::int64_t id) {
  return id >= 0 && id < forest.n_items && n_descendants(forest.node(id)) == 1 &&
         !forest.is_removed(static_cast<std::int32_t>(id));
}

// A bucket's live ids, then `extra` (unless listed already).
std::vector<std::int32_t> bucket_ids(const Forest& forest, std::int64_t node, std::int32_t extra) {
  const std::int32_t count = std::min<std::int32_t>(std::max(n_descendants(forest.node(node)), 0),
                                                    static_cast<std::int32_t>(forest.layout.max_bucket()));
  const std::int32_t* listed = field<std::int32_t>(forest.node(node), forest.layout.children);
  std::vector<std::int32_t> ids;
  for (std::int32_t k = 0; k < count; ++k)
    if (listed[k] != extra && is_live(forest, listed[k])) ids.push_back(listed[k]);
  ids.push_back(extra);
  return ids;
}

// Rewrites the tree nodes after `room` item slots, each tree from its root in post-order
// (an explicit stack: a loaded file's trees may be deep or, crafted, cyclic). Removed ids
// are dropped, each tree names an id once, and subtrees of at most a bucket's worth of items
// become buckets (or the lone item). annoy_tail: a copy of every root after the trees.
class Relayout {
 public:
  Relayout(Forest& forest, std::int64_t room) : forest_(forest), room_(room), k_(static_cast<std::int64_t>(forest.layout.max_bucket())) {}

  void run(bool annoy_tail) {
    std::vector<std::int32_t> roots;
    for (std::int32_t root : forest_.roots) roots.push_back(tree(root));
    // With no more ids than a bucket holds, every tree is one root bucket, and Annoy's loader
    // reads w such trees and their copies as 2w - 1 trees. Written as they are, t trees would
    // come back as 2t - 1, doubling at every save and load; (t + 2) / 2 of them come back as t
    // (t odd, as after a load) or t + 1.
    if (annoy_tail && forest_.n_items <= k_ && roots.size() > 1) {
      const std::size_t kept = (roots.size() + 2) / 2;
      out_.resize(out_.size() - (roots.size() - kept) * forest_.layout.node_size);  // one node a tree
      roots.resize(kept);
    }
    const std::size_t s = forest_.layout.node_size;
    if (annoy_tail)
      for (std::int32_t root : roots) append(out_.data() + static_cast<std::size_t>(root - room_) * s);
    const std::int64_t total = room_ + static_cast<std::int64_t>(out_.size() / s);
    if (total > std::numeric_limits<std::int32_t>::max())
      throw Error(ErrorCode::OutOfMemory, "index too large: Annoy's format numbers nodes with 32-bit ints");
    // Everything above is in out_; the forest changes only once its storage has room.
    forest_.storage->resize(forest_.bytes_for(total));
    std::uint8_t* base = forest_.storage->mutable_data();
    std::memset(base + static_cast<std::size_t>(forest_.n_items) * s, 0,
                static_cast<std::size_t>(room_ - forest_.n_items) * s);
    if (!out_.empty()) std::memcpy(base + static_cast<std::size_t>(room_) * s, out_.data(), out_.size());
    forest_.roots = roots;
    forest_.n_nodes = total;
    forest_.item_room = annoy_tail ? 0 : room_;
    forest_.annoy_layout = annoy_tail;
    forest_.trees_name_removed = false;
  }

 private:
  // A subtree's live items: a few ids still on pool_ (count <= k_), or a node already written.
  struct Sub {
    std::int64_t count = 0;
    std::size_t begin = 0;   // small: its ids are pool_[begin, begin + count)
    std::int32_t node = -1;  // large: the node written for it
  };
  struct Frame {
    std::int32_t node;
    int stage;
  };

  std::int32_t tree(std::int32_t root) {
    pool_.clear();
    seen_.assign((static_cast<std::size_t>(forest_.n_items) + 63) / 64, 0);
    const std::int64_t max_visits = 2 * forest_.n_nodes + 2;
    std::int64_t visits = 0;
    std::vector<Frame> stack{{root, 0}};
    std::vector<Sub> done;
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const std::int32_t x = frame.node;
      if (frame.stage == 2) {
        const Sub right = done.back();
        done.pop_back();
        const Sub left = done.back();
        done.pop_back();
        stack.pop_back();
        done.push_back(join(x, left, right));
        continue;
      }
      if (frame.stage == 1) {
        frame.stage = 2;
        stack.push_back({children(x)[1], 0});
        continue;
      }
      const bool is_root = stack.size() == 1;
      if (x >= forest_.first_tree_node() && x < forest_.n_nodes && ++visits <= max_visits &&
          !is_bucket(x, is_root)) {
        frame.stage = 1;
        stack.push_back({children(x)[0], 0});
        continue;
      }
      stack.pop_back();
      done.push_back(leaf(x, is_root));
    }
    return write_root(done.back());
  }

  bool is_bucket(std::int32_t x, bool is_root) const {
    const std::int32_t count = n_descendants(forest_.node(x));
    return is_root ? forest_.n_items <= k_ : count <= k_;
  }
  const std::int32_t* children(std::int32_t x) const {
    return field<std::int32_t>(forest_.node(x), forest_.layout.children);
  }

  // An item, a bucket, or a node that cannot be read (out of range, slack, a cycle): its ids.
  Sub leaf(std::int32_t x, bool is_root) {
    Sub sub;
    sub.begin = pool_.size();
    if (x >= 0 && x < forest_.n_items) {
      take(x);
    } else if (x >= forest_.first_tree_node() && x < forest_.n_nodes && is_bucket(x, is_root)) {
      const std::int32_t count = std::min<std::int32_t>(std::max(n_descendants(forest_.node(x)), 0), static_cast<std::int32_t>(k_));
      for (std::int32_t k = 0; k < count; ++k) take(children(x)[k]);
    }
    sub.count = static_cast<std::int64_t>(pool_.size() - sub.begin);
    return sub;
  }
  void take(std::int32_t id) {
    if (!is_live(forest_, id)) return;
    std::uint64_t& word = seen_[static_cast<std::size_t>(id) / 64];
    const std::uint64_t bit = std::uint64_t(1) << (id % 64);
    if (word & bit) return;
    word |= bit;
    pool_.push_back(id);
  }

  Sub join(std::int32_t x, const Sub& left, const Sub& right) {
    Sub sub;
    sub.count = left.count + right.count;
    if (sub.count <= k_) {  // both small, their ids side by side on the pool
      sub.begin = left.begin;
      return sub;
    }
    if (left.count == 0) return right;  // a split with one empty side is no split
    if (right.count == 0) return left;
    const std::size_t first_small = left.node < 0 ? left.begin : right.node < 0 ? right.begin : pool_.size();
    const std::int32_t l = write(left), r = write(right);
    pool_.resize(first_small);
    std::vector<std::uint8_t> node(forest_.node(x), forest_.node(x) + forest_.layout.node_size);
    n_descendants(node.data()) = static_cast<std::int32_t>(std::min<std::int64_t>(sub.count, std::numeric_limits<std::int32_t>::max()));
    std::int32_t* c = field<std::int32_t>(node.data(), forest_.layout.children);
    c[0] = l;
    c[1] = r;
    sub.node = append(node.data());
    return sub;
  }

  // The node for a subtree: written already (large), the lone item, or a new bucket.
  std::int32_t write(const Sub& sub) {
    if (sub.node >= 0) return sub.node;
    if (sub.count == 1) return pool_[sub.begin];
    return bucket(sub, static_cast<std::int32_t>(sub.count));
  }
  std::int32_t bucket(const Sub& sub, std::int32_t count) {
    std::vector<std::uint8_t> node(forest_.layout.node_size, 0);
    n_descendants(node.data()) = count;
    if (sub.count)
      std::memcpy(field<std::int32_t>(node.data(), forest_.layout.children), pool_.data() + sub.begin,
                  static_cast<std::size_t>(sub.count) * sizeof(std::int32_t));
    return append(node.data());
  }

  // A root counts every id (n_items), as Annoy's loader expects. With no more ids than a
  // bucket holds it is that bucket; otherwise a split, and a tree left with a bucket's worth
  // of items hangs them under a split with a zero plane (both sides lead to them).
  std::int32_t write_root(const Sub& sub) {
    if (forest_.n_items <= k_) return bucket(sub, forest_.n_items);
    if (sub.node >= 0) {
      n_descendants(out_.data() + static_cast<std::size_t>(sub.node - room_) * forest_.layout.node_size) = forest_.n_items;
      return sub.node;
    }
    const std::int32_t child = sub.count == 1 ? pool_[sub.begin] : bucket(sub, static_cast<std::int32_t>(sub.count));
    std::vector<std::uint8_t> node(forest_.layout.node_size, 0);
    n_descendants(node.data()) = forest_.n_items;
    std::int32_t* c = field<std::int32_t>(node.data(), forest_.layout.children);
    c[0] = c[1] = child;
    return append(node.data());
  }

  std::int32_t append(const std::uint8_t* node) {
    const std::size_t s = forest_.layout.node_size;
    const std::int64_t index = room_ + static_cast<std::int64_t>(out_.size() / s);
    if (index >= std::numeric_limits<std::int32_t>::max())
      throw Error(ErrorCode::OutOfMemory, "index too large: Annoy's format numbers nodes with 32-bit ints");
    out_.insert(out_.end(), node, node + s);
    return static_cast<std::int32_t>(index);
  }

  Forest& forest_;
  const std::int64_t room_, k_;
  std::vector<std::uint8_t> out_;  // the tree nodes, numbered from room_
  std::vector<std::int32_t> pool_;
  std::vector<std::uint64_t> seen_;
};

}  // namespace

void remove_from_forest(Forest& forest, std::int32_t item) {
  std::memset(forest.mutable_node(item), 0, forest.layout.node_size);
  const std::size_t words = (static_cast<std::size_t>(forest.n_items) + 63) / 64;
  if (forest.removed.size() < words) forest.removed.resize(words, 0);
  forest.removed[static_cast<std::size_t>(item) / 64] |= std::uint64_t(1) << (item % 64);
  forest.trees_name_removed = true;
  forest.annoy_layout = false;
}

void make_item_room(Forest& forest, std::int64_t n_items) {
  const std::int64_t first = forest.first_tree_node();
  if (n_items <= first) return;
  Relayout(forest, std::max(n_items, first + first / 2)).run(false);
}

void insert_into_trees(Forest& forest, std::int32_t item, Kiss64& rng) {
  const std::int64_t k = static_cast<std::int64_t>(forest.layout.max_bucket());
  forest.annoy_layout = false;
  with_policy(forest.layout, forest.annoy_float_order, [&](auto policy) {
    using P = decltype(policy);
    for (std::int32_t& root : forest.roots) {
      if (n_descendants(forest.node(root)) <= k) {  // a root bucket (n_items was at most k)
        root = make_subtree(forest, bucket_ids(forest, root, item), true, rng);
        continue;
      }
      n_descendants(forest.mutable_node(root)) = forest.n_items;
      std::int64_t parent = root;
      for (std::int64_t steps = 0; steps <= forest.n_nodes; ++steps) {
        const int side = side_of(P::build_margin(forest.node(parent), forest.node(item), forest.layout.f), rng) ? 1 : 0;
        const std::int32_t child = children_of(forest, parent)[side];
        std::int32_t replacement;
        if (child < forest.first_tree_node() || child >= forest.n_nodes) {  // an item's own node
          std::vector<std::int32_t> ids;
          if (child != item && is_live(forest, child)) ids.push_back(child);
          ids.push_back(item);
          replacement = make_subtree(forest, ids, false, rng);
        } else {
          std::int32_t& count = n_descendants(forest.mutable_node(child));
          if (count > k) {  // a split: one more below it
            if (count < std::numeric_limits<std::int32_t>::max()) ++count;
            parent = child;
            continue;
          }
          std::int32_t* listed = children_of(forest, child);
          const std::int32_t c = std::max(count, 0);
          if (std::find(listed, listed + c, item) != listed + c) break;
          if (c < k) {
            listed[c] = item;
            count = c + 1;
            break;
          }
          replacement = make_subtree(forest, bucket_ids(forest, child, item), false, rng);
          std::memset(forest.mutable_node(child), 0, forest.layout.node_size);  // no longer in the tree
        }
        children_of(forest, parent)[side] = replacement;  // after make_subtree: storage may have moved
        break;
      }
    }
  });
}

void settle(Forest& forest) {
  if (forest.annoy_layout) return;
  Relayout(forest, forest.n_items).run(true);
}

void init_dot_item(Forest& forest, std::uint8_t* node) {
  using Released = DotReleased<ExactMath>;
  using Main = DotMain<ExactMath>;
  const bool main = forest.layout.dot_layout == DotLayout::Main;
  const int f = forest.layout.f;
  auto norm2 = [&](const std::uint8_t* n, std::size_t vector) {
    const float* v = field<float>(n, vector);
    double sum = 0;
    for (int j = 0; j < f; ++j) sum += static_cast<double>(v[j]) * v[j];
    return sum;
  };
  double max2 = 0;  // the largest squared norm, as every item's lifted length records it
  for (std::int32_t i = 0; i < forest.n_items; ++i) {
    const std::uint8_t* other = forest.node(i);
    if (other == node || n_descendants(other) != 1) continue;
    const double df = main ? Main::df(other) : Released::df(other);
    max2 = norm2(other, main ? Main::kVector : Released::kVector) + df * df;
    break;
  }
  const double gap = max2 - norm2(node, main ? Main::kVector : Released::kVector);
  const float df = gap > 0 ? static_cast<float>(std::sqrt(gap)) : 0.0f;
  if (main) {
    Main::df(node) = df;
    *field<float>(node, Main::kNorm) = static_cast<float>(max2);
    *field<std::uint8_t>(node, Main::kBuilt) = 1;
  } else {
    Released::df(node) = df;
  }
}

}  // namespace detail
}  // namespace grove
