// Rng: a seeded generator whose stream is a pure function of (seed, stream, index),
// so micro-batch k of a run can be regenerated anywhere (on resume, on another
// worker, on a GPU) without saving generator state. Draws are computed from
// std::mt19937_64's fully specified output, not from std:: distributions, whose
// results differ between standard libraries.
//
// Not thread-safe; give each thread its own Rng.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sic {

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t index) : engine_(Mix(seed, stream, index)) {}

  uint64_t Bits() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  double Normal(double mean, double std);
  double Rayleigh(double scale) { return scale * std::sqrt(-2.0 * std::log1p(-Uniform())); }
  // Uniform integer in [0, n), without modulo bias. n == 0 stands for 2^64:
  // every 64-bit value (so Below(span + 1) is right even for span = 2^64 - 1).
  uint64_t Below(uint64_t n);
  // A uniformly random permutation of 0..n-1 (Fisher-Yates).
  std::vector<int64_t> Permutation(int64_t n);

 private:
  static uint64_t Mix(uint64_t seed, uint64_t stream, uint64_t index);
  std::mt19937_64 engine_;
};

// Streams: one per kind of randomness, so that changing how much of one is drawn
// never shifts another.
enum RngStream : uint64_t {
  kVelocityStream = 1,
  kPermutationStream = 2,
  kEvalWalkStream = 3,
};

}  // namespace sic
