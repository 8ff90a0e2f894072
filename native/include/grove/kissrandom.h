// Annoy's random generators (its kissrandom.h) for code written against Annoy: Kiss32Random
// and Kiss64Random, in namespace Annoy, with Annoy's seeds and calls. Grove builds from its
// own Kiss64 (grove/random.h) whichever one a program names: the type only fixes the seed
// type that set_seed() takes. Public header: C++14.
#ifndef GROVE_KISSRANDOM_H
#define GROVE_KISSRANDOM_H

#include <cstddef>
#include <cstdint>

#include "grove/random.h"

namespace Annoy {

// 32-bit KISS (Marsaglia): a multiply-with-carry, a xorshift and a congruential generator.
struct Kiss32Random {
  using seed_type = std::uint32_t;
  static const seed_type default_seed = 123456789;

  explicit Kiss32Random(seed_type seed = default_seed) { set_seed(seed); }
  void set_seed(seed_type seed) {
    x_ = seed;
    y_ = 362436000;
    z_ = 521288629;
    c_ = 7654321;
  }
  std::uint32_t kiss() {
    x_ = 69069 * x_ + 12345;
    y_ ^= y_ << 5;
    y_ ^= y_ >> 7;
    y_ ^= y_ << 22;
    const std::uint64_t t = 698769069ULL * z_ + c_;
    c_ = static_cast<std::uint32_t>(t >> 32);
    z_ = static_cast<std::uint32_t>(t);
    return x_ + y_ + z_;
  }
  int flip() { return kiss() & 1; }
  std::size_t index(std::size_t n) { return kiss() % n; }

 private:
  std::uint32_t x_, y_, z_, c_;
};

// 64-bit KISS, the one Annoy's Python, R, Go and Lua bindings use (and Grove's builds).
struct Kiss64Random {
  using seed_type = std::uint64_t;
  static const seed_type default_seed = grove::Kiss64::kDefaultSeed;

  explicit Kiss64Random(seed_type seed = default_seed) : rng_(seed) {}
  void set_seed(seed_type seed) { rng_ = grove::Kiss64(seed); }
  std::uint64_t kiss() { return rng_.next(); }
  int flip() { return rng_.flip() ? 1 : 0; }
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(rng_.index(n)); }

 private:
  grove::Kiss64 rng_;
};

}  // namespace Annoy

#endif  // GROVE_KISSRANDOM_H
