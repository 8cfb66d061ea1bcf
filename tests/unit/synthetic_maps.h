// Synthetic rate maps whose truth is known, for the analysis tests: ideal
// hexagonal lattices (three plane waves 60 degrees apart), square lattices,
// bands, single fields and noise. Maps are n x n, row = y, column = x.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sic::testing {

// Peaks `period` bins apart, lattice vectors at orientation_deg + k * 60
// (measured from the x axis toward +y), one peak at (phase_y, phase_x).
inline std::vector<float> HexLattice(int64_t n, double period, double orientation_deg, double phase_y = 0,
                                     double phase_x = 0) {
  std::vector<float> m(n * n, 0.0f);
  const double k = 4 * M_PI / (std::sqrt(3.0) * period);
  for (int w = 0; w < 3; ++w) {
    // Wavevectors sit 30 degrees off the lattice vectors.
    const double a = (orientation_deg + 30 + 60 * w) * M_PI / 180.0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        m[i * n + j] += static_cast<float>(
            std::cos(k * (std::cos(a) * (static_cast<double>(j) - phase_x) +
                          std::sin(a) * (static_cast<double>(i) - phase_y))));
      }
    }
  }
  return m;
}

// Two plane waves at 90 degrees: a square lattice with the given period.
inline std::vector<float> SquareLattice(int64_t n, double period, double orientation_deg) {
  std::vector<float> m(n * n, 0.0f);
  const double k = 2 * M_PI / period;
  for (int w = 0; w < 2; ++w) {
    const double a = (orientation_deg + 90 * w) * M_PI / 180.0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        m[i * n + j] += static_cast<float>(std::cos(k * (std::cos(a) * j + std::sin(a) * i)));
      }
    }
  }
  return m;
}

// A sum of plane waves, each {period in bins, direction in degrees}: oblique and
// sheared lattices, or beats of two nearly parallel waves.
struct Wave {
  double period, direction_deg;
};
inline std::vector<float> PlaneWaves(int64_t n, const std::vector<Wave>& waves) {
  std::vector<float> m(n * n, 0.0f);
  for (const Wave& w : waves) {
    const double k = 2 * M_PI / w.period, a = w.direction_deg * M_PI / 180.0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        m[i * n + j] += static_cast<float>(std::cos(k * (std::cos(a) * j + std::sin(a) * i)));
      }
    }
  }
  return m;
}

// One plane wave: a band cell with stripes `period` bins apart.
inline std::vector<float> Band(int64_t n, double period, double direction_deg) {
  std::vector<float> m(n * n);
  const double k = 2 * M_PI / period, a = direction_deg * M_PI / 180.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      m[i * n + j] = static_cast<float>(1 + std::cos(k * (std::cos(a) * j + std::sin(a) * i)));
    }
  }
  return m;
}

// One Gaussian field of width sigma bins.
inline std::vector<float> Blob(int64_t n, double cy, double cx, double sigma) {
  std::vector<float> m(n * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      m[i * n + j] = static_cast<float>(std::exp(-((i - cy) * (i - cy) + (j - cx) * (j - cx)) / (2 * sigma * sigma)));
    }
  }
  return m;
}

inline std::vector<float> Noise(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> m(n * n);
  for (auto& v : m) v = normal(gen);
  return m;
}

// Marks a random fraction of bins, plus a rectangular block, as unvisited.
inline void Unvisit(std::vector<float>& m, int64_t n, double fraction, uint32_t seed, int64_t block = 0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto& v : m) {
    if (u(gen) < fraction) v = NAN;
  }
  for (int64_t i = 0; i < block; ++i) {
    for (int64_t j = 0; j < block; ++j) m[(n - 1 - i) * n + j] = NAN;
  }
}

// Difference of two orientations modulo 60 degrees, in [0, 30].
inline double OrientationError(double a, double b) {
  double d = std::fmod(std::abs(a - b), 60.0);
  return d > 30.0 ? 60.0 - d : d;
}

}  // namespace sic::testing
