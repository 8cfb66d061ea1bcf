#include "sic/rng.h"

namespace sic {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t Rng::Mix(uint64_t seed, uint64_t stream, uint64_t index) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ stream) ^ index);
}

double Rng::Normal(double mean, double std) {
  // Box-Muller; one of the pair is dropped to keep the stream position simple.
  const double u1 = 1.0 - Uniform();  // (0, 1]
  const double u2 = Uniform();
  return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t Rng::Below(uint64_t n) {
  if (n == 0) return engine_();  // 2^64 values: every draw is unbiased as it is
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the biased tail
  uint64_t x;
  do x = engine_(); while (x >= limit);
  return x % n;
}

std::vector<int64_t> Rng::Permutation(int64_t n) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[Below(static_cast<uint64_t>(i) + 1)]);
  return p;
}

}  // namespace sic
