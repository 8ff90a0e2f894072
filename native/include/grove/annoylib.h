// Annoy's C++ API (its annoylib.h, 1.17) over Grove: code written against Annoy compiles
// unchanged but for its include lines, `#include <grove/annoylib.h>` and
// `#include <grove/kissrandom.h>`, links against grove, and reads and writes the same files.
//
//   using namespace Annoy;
//   AnnoyIndex<int32_t, float, Angular, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> t(f);
//   t.add_item(0, v); t.build(10); t.save("index.ann");
//   t.get_nns_by_item(0, 10, -1, &ids, &distances);
//
// As in Annoy: failures return false and, when `error` is given, set *error to a message the
// caller frees with free(); queries append to the caller's vectors; search_k -1 (or
// (size_t) -1) is n * trees; n = 0 or search_k = 0 answers nothing. Hamming's T is uint64_t
// and f counts 64-bit words. Where Annoy has undefined behaviour Grove is stricter: a query or
// get_item/get_distance with an id out of range throws grove::Error (Annoy reads out of
// bounds), and add_item after build() fails (Annoy accepts it and corrupts the index).
// Values are stored as float32 whatever T is (T = double compiles, as in Annoy, and writes the
// float file every binding reads; Annoy's double nodes are another layout). Errors are not
// also printed to stderr as Annoy prints them. Trees are built in Grove's fast order (the
// same format; set_annoy_float_order(true) on grove_index() for Annoy's bytes exactly).
// Public header: C++14.
#ifndef GROVE_ANNOYLIB_H
#define GROVE_ANNOYLIB_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "grove/grove.h"
#include "grove/kissrandom.h"

namespace Annoy {

// Annoy's header brings these into its namespace, and code written for it relies on them.
using std::vector;
using std::string;

// The metrics, as Annoy names them; name() is Grove's (and Annoy's) metric string.
struct Angular { static const char* name() { return "angular"; } };
struct Euclidean { static const char* name() { return "euclidean"; } };
struct Manhattan { static const char* name() { return "manhattan"; } };
struct DotProduct { static const char* name() { return "dot"; } };
struct Hamming { static const char* name() { return "hamming"; } };

// Build policies: how many threads build() may use.
struct AnnoyIndexSingleThreadedBuildPolicy { static int threads(int) { return 1; } };
struct AnnoyIndexMultiThreadedBuildPolicy { static int threads(int n_threads) { return n_threads; } };

// Annoy's abstract interface (R: the seed type), for code that holds indexes through it.
template <typename S, typename T, typename R = std::uint64_t>
class AnnoyIndexInterface {
 public:
  virtual ~AnnoyIndexInterface() {}
  virtual bool add_item(S item, const T* w, char** error = nullptr) = 0;
  virtual bool build(int q, int n_threads = -1, char** error = nullptr) = 0;
  virtual bool unbuild(char** error = nullptr) = 0;
  virtual bool save(const char* filename, bool prefault = false, char** error = nullptr) = 0;
  virtual void unload() = 0;
  virtual bool load(const char* filename, bool prefault = false, char** error = nullptr) = 0;
  virtual T get_distance(S i, S j) const = 0;
  virtual void get_nns_by_item(S item, std::size_t n, int search_k, vector<S>* result, vector<T>* distances) const = 0;
  virtual void get_nns_by_vector(const T* w, std::size_t n, int search_k, vector<S>* result,
                                 vector<T>* distances) const = 0;
  virtual S get_n_items() const = 0;
  virtual S get_n_trees() const = 0;
  virtual void verbose(bool v) = 0;
  virtual void get_item(S item, T* v) const = 0;
  virtual void set_seed(R q) = 0;
  virtual bool on_disk_build(const char* filename, char** error = nullptr) = 0;
};

namespace detail {

// Sets *error (when given) to a malloc'd copy of the message, as Annoy does.
inline bool failed(char** error, const char* message) {
  if (error) {
    const std::size_t size = std::strlen(message) + 1;
    *error = static_cast<char*>(std::malloc(size));
    if (*error) std::memcpy(*error, message, size);
  }
  return false;
}

// Runs a call that may throw; false (and the message) if it did.
template <class Call>
bool attempt(char** error, Call&& call) {
  try {
    call();
    return true;
  } catch (const std::exception& e) {
    return failed(error, e.what());
  }
}

// Hamming vectors: Annoy's T is a 64-bit word holding 64 bits; Grove's values are 0/1.
template <typename T, bool kBits>
struct Values {
  static int stored(int f) { return f; }
  static void in(const T* w, int f, std::vector<float>* out) {
    out->resize(static_cast<std::size_t>(f));
    for (int z = 0; z < f; ++z) (*out)[static_cast<std::size_t>(z)] = static_cast<float>(w[z]);
  }
  static void out(const std::vector<float>& v, int f, T* w) {
    for (int z = 0; z < f; ++z) w[z] = static_cast<T>(v[static_cast<std::size_t>(z)]);
  }
};
template <typename T>
struct Values<T, true> {
  static int stored(int words) { return 64 * words; }
  static void in(const T* w, int words, std::vector<float>* out) {
    out->assign(static_cast<std::size_t>(64 * words), 0.0f);
    for (int z = 0; z < 64 * words; ++z)
      (*out)[static_cast<std::size_t>(z)] = ((static_cast<std::uint64_t>(w[z / 64]) >> (z % 64)) & 1) ? 1.0f : 0.0f;
  }
  static void out(const std::vector<float>& v, int words, T* w) {
    for (int k = 0; k < words; ++k) {
      std::uint64_t word = 0;
      for (int b = 0; b < 64; ++b)
        if (v[static_cast<std::size_t>(64 * k + b)] != 0) word |= std::uint64_t(1) << b;
      w[k] = static_cast<T>(word);
    }
  }
};

}  // namespace detail

template <typename S, typename T, typename Distance, typename Random, class ThreadedBuildPolicy>
class AnnoyIndex : public AnnoyIndexInterface<S, T, typename Random::seed_type> {
  static constexpr bool kBits = std::is_same<Distance, Hamming>::value;
  using Values = detail::Values<T, kBits>;

 public:
  using R = typename Random::seed_type;

  // f: the dimension (Hamming: the number of 64-bit words).
  explicit AnnoyIndex(int f) : f_(f), index_(Values::stored(f), Distance::name()) {}
  AnnoyIndex(AnnoyIndex&&) = default;
  AnnoyIndex& operator=(AnnoyIndex&&) = default;

  int get_f() const { return f_; }

  bool add_item(S item, const T* w, char** error = nullptr) override {
    return detail::attempt(error, [&] {
      std::vector<float> v;
      Values::in(w, f_, &v);
      index_.add_item(id(item), v.data());
    });
  }
  // Any container indexed by 0 .. f - 1 (Annoy's add_item_impl).
  template <typename W>
  bool add_item_impl(S item, const W& w, char** error = nullptr) {
    std::vector<T> copy(static_cast<std::size_t>(f_));
    for (int z = 0; z < f_; ++z) copy[static_cast<std::size_t>(z)] = w[z];
    return add_item(item, copy.data(), error);
  }
  bool build(int q, int n_threads = -1, char** error = nullptr) override {
    return detail::attempt(error, [&] {
      index_.build(q, ThreadedBuildPolicy::threads(n_threads));
      built_on_disk_ = on_disk_;
    });
  }
  bool unbuild(char** error = nullptr) override {
    return detail::attempt(error, [&] { index_.unbuild(); });
  }
  bool save(const char* filename, bool prefault = false, char** error = nullptr) override {
    // As in Annoy, an index built on disk is that file already: save() has nothing to write.
    if (built_on_disk_) return true;
    return detail::attempt(error, [&] { index_.save(filename ? filename : "", prefault); });
  }
  void unload() override {
    index_.unload();
    on_disk_ = built_on_disk_ = false;
  }
  bool load(const char* filename, bool prefault = false, char** error = nullptr) override {
    return detail::attempt(error, [&] { index_.load(filename ? filename : "", prefault); });
  }
  bool on_disk_build(const char* filename, char** error = nullptr) override {
    return detail::attempt(error, [&] {
      index_.on_disk_build(filename ? filename : "");
      on_disk_ = true;
    });
  }

  T get_distance(S i, S j) const override { return static_cast<T>(index_.get_distance(id(i), id(j))); }
  void get_nns_by_item(S item, std::size_t n, int search_k, vector<S>* result, vector<T>* distances) const override {
    if (nothing_asked(n, search_k)) return;
    std::vector<std::int32_t> ids;
    std::vector<float> d;
    index_.get_nns_by_item(id(item), count(n), search_k, &ids, distances ? &d : nullptr);
    append(ids, d, result, distances);
  }
  void get_nns_by_vector(const T* w, std::size_t n, int search_k, vector<S>* result, vector<T>* distances) const override {
    if (nothing_asked(n, search_k)) return;
    std::vector<float> v;
    Values::in(w, f_, &v);
    std::vector<std::int32_t> ids;
    std::vector<float> d;
    index_.get_nns_by_vector(v.data(), count(n), search_k, &ids, distances ? &d : nullptr);
    append(ids, d, result, distances);
  }
  S get_n_items() const override { return static_cast<S>(index_.get_n_items()); }
  S get_n_trees() const override { return static_cast<S>(index_.get_n_trees()); }
  void verbose(bool v) override { index_.verbose(v); }
  void get_item(S item, T* v) const override {
    Values::out(index_.get_item_vector(id(item)), f_, v);
  }
  void set_seed(R seed) override { index_.set_seed(static_cast<std::uint64_t>(seed)); }

  // The Grove index underneath, for what Annoy's API has no call for (serialize, batches,
  // compact scoring, Annoy's float order).
  grove::AnnoyIndex& grove_index() { return index_; }
  const grove::AnnoyIndex& grove_index() const { return index_; }

 private:
  // Ids are 32-bit in Annoy's files: a wider S must still fit.
  static std::int32_t id(S item) {
    if (static_cast<long long>(item) > std::numeric_limits<std::int32_t>::max() ||
        static_cast<long long>(item) < std::numeric_limits<std::int32_t>::min())
      throw grove::Error(grove::ErrorCode::OutOfRange, "item id " + std::to_string(static_cast<long long>(item)) +
                                                           " does not fit in 32 bits");
    return static_cast<std::int32_t>(item);
  }
  static int count(std::size_t n) {
    return n > static_cast<std::size_t>(std::numeric_limits<int>::max()) ? std::numeric_limits<int>::max()
                                                                         : static_cast<int>(n);
  }
  // Annoy visits nothing for n = 0 or search_k = 0; Grove's own API calls those mistakes.
  static bool nothing_asked(std::size_t n, int search_k) { return n == 0 || search_k == 0; }
  static void append(const std::vector<std::int32_t>& ids, const std::vector<float>& d, vector<S>* result,
                     vector<T>* distances) {
    if (result)
      for (std::int32_t i : ids) result->push_back(static_cast<S>(i));
    if (distances)
      for (float x : d) distances->push_back(static_cast<T>(x));
  }

  int f_;
  grove::AnnoyIndex index_;
  bool on_disk_ = false;        // on_disk_build() was called
  bool built_on_disk_ = false;  // and build() has published the file
};

}  // namespace Annoy

#endif  // GROVE_ANNOYLIB_H
