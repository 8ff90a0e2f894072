// Kiss64: the seedable generator Annoy uses, so the same seed and items build the same trees
// (and the same file bytes) as Annoy does.
#ifndef GROVE_RANDOM_H
#define GROVE_RANDOM_H

#include <cstdint>

namespace grove {

class Kiss64 {
 public:
  static constexpr std::uint64_t kDefaultSeed = 1234567890987654321ULL;

  explicit Kiss64(std::uint64_t seed = kDefaultSeed) : x_(seed) {}

  std::uint64_t next() {
    z_ = 6906969069ULL * z_ + 1234567ULL;  // linear congruential part
    y_ ^= y_ << 13;                          // xorshift part
    y_ ^= y_ >> 17;
    y_ ^= y_ << 43;
    std::uint64_t t = (x_ << 58) + c_;       // multiply-with-carry part
    c_ = x_ >> 6;
    x_ += t;
    c_ += (x_ < t) ? 1 : 0;
    return x_ + y_ + z_;
  }
  bool flip() { return (next() & 1) != 0; }
  std::uint64_t index(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t x_;
  std::uint64_t y_ = 362436362436362436ULL;
  std::uint64_t z_ = 1066149217761810ULL;
  std::uint64_t c_ = 123456123456123456ULL;
};

}  // namespace grove

#endif  // GROVE_RANDOM_H
