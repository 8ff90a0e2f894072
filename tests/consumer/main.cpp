// Builds a small index with the installed library and checks one query.
#include <grove/grove.h>

#include <cstdio>
#include <vector>

int main() {
  grove::AnnoyIndex index(3, "euclidean");
  index.add_item(0, std::vector<float>{0, 0, 0});
  index.add_item(1, std::vector<float>{1, 1, 1});
  index.add_item(2, std::vector<float>{5, 5, 5});
  index.build(4);
  std::vector<int32_t> ids;
  std::vector<float> distances;
  index.get_nns_by_vector(std::vector<float>{0.9f, 1.1f, 1}, 2, -1, &ids, &distances);
  if (ids.size() != 2 || ids[0] != 1 || ids[1] != 0) {
    std::fprintf(stderr, "consumer: unexpected result\n");
    return 1;
  }
  std::printf("consumer: nearest to (0.9, 1.1, 1) is item %d at %.3f\n", ids[0], distances[0]);
  return 0;
}
