// The public headers compile as C++14 (this file is built with CXX_STANDARD 14), and the
// README's C++ quick start works as written.
#include <grove/grove.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

static_assert(__cplusplus == 201402L, "this test must be compiled as C++14");

TEST(Cxx14, QuickStart) {
  std::vector<float> vec(40, 0.5f), q(40, 0.25f);
  grove::AnnoyIndex index(40, "angular");
  index.add_item(0, vec.data());
  vec[3] = -1;
  index.add_item(1, vec);
  index.build(10);
  const std::string path = std::string(GROVE_TEST_TMP) + "/cxx14.ann";
  index.save(path);
  grove::AnnoyIndex other(40, "angular");
  other.load(path);
  std::vector<int32_t> ids;
  std::vector<float> dists;
  other.get_nns_by_item(0, 10, -1, &ids, &dists);
  other.get_nns_by_vector(q.data(), 10, -1, &ids, &dists);  // appends, as Annoy does
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 0, 1}));
  std::remove(path.c_str());
}
