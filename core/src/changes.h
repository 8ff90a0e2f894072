// Changing a built index in memory: items added and removed after build().
//
// Removing an item turns its node into a hole (zeros, as Annoy writes an id never added) and
// sets its bit in forest.removed; searches skip removed ids as they collect, so they still
// find n live items. The trees keep naming a removed id until settle() drops it.
//
// Adding an item descends every tree by its split planes (the side build() would give it) to
// a bucket and appends the id there; a bucket that outgrows its node is split by build()'s
// own rule (make_subtree). An id past the item slots first moves the tree nodes up, making
// half again as many slots, so a run of adds moves them O(log n) times.
//
// Between changes the nodes need not be in Annoy's order (item slots to spare, replaced
// buckets, roots without copies). settle() rewrites them in it before anything reads the
// image: the items, each tree in post-order with its root last, a copy of every root; removed
// ids are dropped from the buckets, and a split left with no more items than a bucket holds
// becomes that bucket, as build() would have made it.
#ifndef GROVE_CORE_CHANGES_H
#define GROVE_CORE_CHANGES_H

#include <cstdint>

#include "forest.h"
#include "grove/random.h"

namespace grove {
namespace detail {

// Makes the item's node a hole and marks it removed (the caller has checked it is an item).
void remove_from_forest(Forest& forest, std::int32_t item);

// Room for item ids below `n_items` before the first tree node (moves the trees if needed).
// Throws OutOfMemory (the forest unchanged) when the room cannot be allocated.
void make_item_room(Forest& forest, std::int64_t n_items);

// Puts item `item` into every tree. Its node is written and forest.n_items counts it.
void insert_into_trees(Forest& forest, std::int32_t item, Kiss64& rng);

// Rewrites the nodes in Annoy's layout (see above); a no-op when they are in it already.
void settle(Forest& forest);

// Sets the new item's dot-product fields from the items built before it (dot only): the extra
// coordinate that lifts it to the index's largest norm (0 when its norm is larger).
void init_dot_item(Forest& forest, std::uint8_t* node);

}  // namespace detail
}  // namespace grove

#endif  // GROVE_CORE_CHANGES_H
