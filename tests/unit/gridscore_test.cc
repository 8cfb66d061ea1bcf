// Grid scores (sic-method 5.2) on synthetic maps whose truth is known, and the
// pieces they are built from (FFT, autocorrelogram, spline rotation).
#include "sic/gridscore.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

#include "sic/autocorr.h"
#include "sic/fft.h"
#include "sic/spline.h"
#include "tests/unit/synthetic_maps.h"

namespace sic {
namespace {

using testing::HexLattice;
using testing::Noise;
using testing::SquareLattice;
using testing::Unvisit;

TEST(Fft2d, MatchesDirectTransformAndInverts) {
  const int64_t p = 8;
  std::mt19937 gen(1);
  std::normal_distribution<double> normal;
  std::vector<std::complex<double>> x(p * p);
  for (auto& v : x) v = {normal(gen), normal(gen)};
  auto y = x;
  Fft2d fft(p);
  fft.Forward(y.data());
  for (int64_t ky = 0; ky < p; ++ky) {
    for (int64_t kx = 0; kx < p; ++kx) {
      std::complex<double> direct = 0;
      for (int64_t i = 0; i < p; ++i) {
        for (int64_t j = 0; j < p; ++j) {
          direct += x[i * p + j] * std::polar(1.0, -2 * M_PI * static_cast<double>(ky * i + kx * j) / p);
        }
      }
      EXPECT_NEAR(std::abs(direct - y[ky * p + kx]), 0.0, 1e-12);
    }
  }
  fft.Inverse(y.data());
  for (int64_t i = 0; i < p * p; ++i) EXPECT_NEAR(std::abs(y[i] - x[i]), 0.0, 1e-12);
}

// Pearson correlation per lag by brute force, over pairs of bins both valid.
std::vector<double> BruteForceSac(const std::vector<float>& m, int64_t n, bool nan_as_zero) {
  const int64_t w = 2 * n - 1;
  std::vector<double> sac(w * w, 0.0);
  for (int64_t dy = -(n - 1); dy < n; ++dy) {
    for (int64_t dx = -(n - 1); dx < n; ++dx) {
      double c = 0, sa = 0, sb = 0, qa = 0, qb = 0, ab = 0;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          const int64_t i2 = i - dy, j2 = j - dx;
          if (i2 < 0 || i2 >= n || j2 < 0 || j2 >= n) continue;
          double a = m[i * n + j], b = m[i2 * n + j2];
          if (!nan_as_zero && (std::isnan(a) || std::isnan(b))) continue;
          if (std::isnan(a)) a = 0;
          if (std::isnan(b)) b = 0;
          c += 1, sa += a, sb += b, qa += a * a, qb += b * b, ab += a * b;
        }
      }
      const double va = qa / c - sa * sa / (c * c), vb = qb / c - sb * sb / (c * c);
      const double r = (ab / c - sa * sb / (c * c)) / std::sqrt(va * vb);
      sac[(dy + n - 1) * w + dx + n - 1] = std::isfinite(r) && va > 0 && vb > 0 ? r : 0.0;
    }
  }
  return sac;
}

TEST(Autocorrelator, MatchesBruteForcePearsonWithAndWithoutNanBins) {
  const int64_t n = 12;
  auto m = Noise(n, 3);
  for (auto& v : m) v += 2.0f;  // a positive offset, like firing rates
  Unvisit(m, n, 0.15, 4, 3);
  for (bool nan_as_zero : {false, true}) {
    std::vector<double> sac((2 * n - 1) * (2 * n - 1));
    Autocorrelator(n).Compute(m.data(), nan_as_zero, sac.data());
    const auto expected = BruteForceSac(m, n, nan_as_zero);
    for (size_t i = 0; i < sac.size(); ++i) ASSERT_NEAR(sac[i], expected[i], 1e-9) << "lag " << i;
  }
  // The variants differ when bins are missing.
  std::vector<double> a((2 * n - 1) * (2 * n - 1)), b(a.size());
  Autocorrelator(n).Compute(m.data(), false, a.data());
  Autocorrelator(n).Compute(m.data(), true, b.data());
  EXPECT_GT(std::abs(a[(n - 1) * (2 * n - 1) + n] - b[(n - 1) * (2 * n - 1) + n]), 1e-3);
}

TEST(Autocorrelator, TinyValuedRegionsCorrelateLikeLargeOnes) {
  // The same pattern at 1e-9 of the peak rate must not drown in FFT rounding.
  const int64_t n = 16;
  auto m = Noise(n, 5);
  for (int64_t i = 0; i < n * n; ++i) m[i] = (i < n * n / 2) ? 1e-9f * (3 + m[i]) : 50.0f * (3 + m[i]);
  std::vector<double> sac((2 * n - 1) * (2 * n - 1));
  Autocorrelator(n).Compute(m.data(), false, sac.data());
  const auto expected = BruteForceSac(m, n, false);
  for (size_t i = 0; i < sac.size(); ++i) ASSERT_NEAR(sac[i], expected[i], 1e-6) << "lag " << i;
}

TEST(Spline, RotationBy90DegreesIsExactAndSmoothImagesRotate) {
  const int64_t s = 21;
  std::vector<double> img(s * s);
  for (int64_t i = 0; i < s * s; ++i) img[i] = std::sin(0.3 * i) + 0.01 * i;
  const auto r = RotateLikeScipy(img.data(), s, 90);
  // scipy's 90-degree rotation (axes (1, 0)): out[i][j] = in[j][s-1-i].
  for (int64_t i = 0; i < s; ++i) {
    for (int64_t j = 0; j < s; ++j) ASSERT_NEAR(r[i * s + j], img[j * s + (s - 1 - i)], 1e-12);
  }
  // A smooth radial-times-angular pattern rotated by 30 degrees, away from the edges.
  const double c = (s - 1) / 2.0;
  auto f = [&](double y, double x) { return std::exp(-((y - c) * (y - c) + (x - c) * (x - c)) / 30.0) * (x - c); };
  for (int64_t i = 0; i < s; ++i) {
    for (int64_t j = 0; j < s; ++j) img[i * s + j] = f(i, j);
  }
  const auto r30 = RotateLikeScipy(img.data(), s, 30);
  const double a = 30 * M_PI / 180;
  for (int64_t i = 5; i < s - 5; ++i) {
    for (int64_t j = 5; j < s - 5; ++j) {
      const double y = std::cos(a) * (i - c) + std::sin(a) * (j - c) + c;
      const double x = -std::sin(a) * (i - c) + std::cos(a) * (j - c) + c;
      EXPECT_NEAR(r30[i * s + j], f(y, x), 5e-3);
    }
  }
}

TEST(GridScorer, AnnuliAreTheReferenceLinspace) {
  for (int i = 0; i < kNumMasks; ++i) EXPECT_NEAR(GridScorer::MaskOuterFraction(i), 0.4 + i * 0.6 / 9, 1e-15);
}

TEST(GridScorer, HexagonalLatticesScoreAboveOne) {
  const int64_t n = 50;
  const GridScorer scorer(n, false);
  for (double period : {7.0, 10.0, 14.0, 20.0}) {
    for (double orientation : {0.0, 11.0, 23.0, 37.0, 52.0}) {
      const auto m = HexLattice(n, period, orientation, period * 0.3, orientation / 7);
      const GridScores s = scorer.Score(m.data());
      EXPECT_GT(s.score60, 1.0) << "period " << period << " orientation " << orientation;
      EXPECT_GT(s.score60_mean, 1.0) << "period " << period << " orientation " << orientation;
      EXPECT_LT(s.score90, 0.6) << "period " << period << " orientation " << orientation;
    }
  }
}

TEST(GridScorer, SquareLatticesScoreBelowZeroOn60AndHighOn90) {
  const int64_t n = 50;
  const GridScorer scorer(n, false);
  for (double period : {8.0, 12.0, 18.0}) {
    for (double orientation : {0.0, 20.0, 45.0}) {
      const auto m = SquareLattice(n, period, orientation);
      const GridScores s = scorer.Score(m.data());
      EXPECT_LT(s.score60, 0.0) << "period " << period << " orientation " << orientation;
      EXPECT_GT(s.score90, 0.8) << "period " << period << " orientation " << orientation;
    }
  }
}

TEST(GridScorer, NoiseScoresNearZero) {
  const int64_t n = 50;
  const GridScorer scorer(n, false);
  double sum = 0;
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    const auto m = Noise(n, seed);
    const GridScores s = scorer.Score(m.data());
    EXPECT_LT(std::abs(s.score60), 0.3) << "seed " << seed;
    EXPECT_LT(std::abs(s.score90), 0.3) << "seed " << seed;
    sum += s.score60;
  }
  EXPECT_LT(std::abs(sum / 8), 0.15);
}

TEST(GridScorer, UnvisitedBinsStillScoreRight) {
  const int64_t n = 50;
  const GridScorer scorer(n, false);
  for (double period : {8.0, 13.0}) {
    auto m = HexLattice(n, period, 17, 3, 4);
    const double full = scorer.Score(m.data()).score60;
    Unvisit(m, n, 0.12, 7, 12);  // 12% random holes and a 12 x 12 unvisited corner
    const GridScores s = scorer.Score(m.data());
    EXPECT_GT(s.score60, 1.0) << "period " << period;
    EXPECT_NEAR(s.score60, full, 0.15) << "period " << period;
  }
}

TEST(GridScorer, ReferenceQuirkTreatsNanBinsAsZeros) {
  // Setting NaN bins to 0 by hand must give the quirk's scores exactly; the
  // default differs because it leaves those bins out.
  const int64_t n = 30;
  auto m = HexLattice(n, 9, 5);
  for (auto& v : m) v += 1.5f;
  Unvisit(m, n, 0.2, 11, 8);
  auto zeros = m;
  for (auto& v : zeros) v = std::isnan(v) ? 0.0f : v;
  const GridScores quirk = GridScorer(n, true).Score(m.data());
  const GridScores by_hand = GridScorer(n, false).Score(zeros.data());
  const GridScores excluded = GridScorer(n, false).Score(m.data());
  EXPECT_NEAR(quirk.score60, by_hand.score60, 1e-12);
  EXPECT_NEAR(quirk.score90, by_hand.score90, 1e-12);
  EXPECT_GT(std::abs(quirk.score60 - excluded.score60), 1e-3);
}

TEST(GridScorer, ScoresDoNotChangeWhenTheLatticeRotates) {
  const int64_t n = 50;
  const GridScorer scorer(n, false);
  // Exact quarter turns of the map give the same scores to rounding...
  const auto m = HexLattice(n, 11, 8, 2, 5);
  std::vector<float> turned(n * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) turned[i * n + j] = m[j * n + (n - 1 - i)];
  }
  const GridScores a = scorer.Score(m.data()), b = scorer.Score(turned.data());
  EXPECT_NEAR(a.score60, b.score60, 1e-9);
  EXPECT_NEAR(a.score60_mean, b.score60_mean, 1e-9);
  EXPECT_NEAR(a.score90, b.score90, 1e-9);
  // ...and any rotation of the lattice changes them by interpolation error only.
  for (double period : {9.0, 15.0}) {
    const double base = scorer.Score(HexLattice(n, period, 0).data()).score60;
    for (double orientation : {7.0, 19.0, 33.0, 48.0}) {
      EXPECT_NEAR(scorer.Score(HexLattice(n, period, orientation).data()).score60, base, 0.1)
          << "period " << period << " orientation " << orientation;
    }
  }
}

// The scorer gives a constant map 0, as the reference does (the parity the CLI
// test checks); the analysis above it calls such a unit silent and gives it no
// score at all (population_test.cc, SilentUnitsHaveNoScore...).
TEST(GridScorer, ConstantAndEmptyMapsScoreZero) {
  const int64_t n = 20;
  const GridScorer scorer(n, false);
  std::vector<float> flat(n * n, 0.7f), empty(n * n, NAN);
  for (const auto* m : {&flat, &empty}) {
    const GridScores s = scorer.Score(m->data());
    EXPECT_NEAR(s.score60, 0.0, 1e-12);
    EXPECT_NEAR(s.score90, 0.0, 1e-12);
  }
}

}  // namespace
}  // namespace sic
