// Period and orientation (sic-method 5.3), the Fourier check that tells grids
// from bands (section 9), and field counts (5.2 step 8), on synthetic maps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sic/fields.h"
#include "sic/fourier.h"
#include "sic/gridscore.h"
#include "sic/lattice.h"
#include "tests/unit/synthetic_maps.h"

namespace sic {
namespace {

using testing::Band;
using testing::Blob;
using testing::HexLattice;
using testing::Noise;
using testing::OrientationError;
using testing::PlaneWaves;
using testing::SquareLattice;
using testing::Unvisit;

Lattice LatticeOf(const std::vector<float>& m, int64_t n) {
  std::vector<double> sac;
  GridScorer(n, false).Score(m.data(), &sac);
  return FindLattice(sac.data(), n);
}

TEST(FindLattice, PeriodWithin3PercentAndOrientationWithin3Degrees) {
  const int64_t n = 50;
  for (double period : {6.0, 8.5, 12.0, 17.0, 22.0}) {
    for (double orientation : {0.0, 9.0, 21.0, 34.0, 47.0, 58.0}) {
      for (double phase : {0.0, 0.37}) {
        const auto m = HexLattice(n, period, orientation, phase * period, 2 * phase * period);
        const Lattice l = LatticeOf(m, n);
        ASSERT_TRUE(l.found) << "period " << period << " orientation " << orientation;
        EXPECT_NEAR(l.period, period, 0.03 * period) << "orientation " << orientation;
        EXPECT_LT(OrientationError(l.orientation_deg, orientation), 3.0) << "period " << period;
        EXPECT_GE(l.orientation_deg, 0.0);
        EXPECT_LT(l.orientation_deg, 60.0);
      }
    }
  }
}

TEST(FindLattice, UnvisitedBinsKeepThePeriod) {
  const int64_t n = 50;
  auto m = HexLattice(n, 11, 26, 4, 1);
  Unvisit(m, n, 0.1, 3, 10);
  const Lattice l = LatticeOf(m, n);
  ASSERT_TRUE(l.found);
  EXPECT_NEAR(l.period, 11.0, 0.33);
  EXPECT_LT(OrientationError(l.orientation_deg, 26), 3.0);
}

TEST(FindLattice, NoRingForBlobsBandsSquaresOrNoise) {
  const int64_t n = 50;
  EXPECT_FALSE(LatticeOf(Blob(n, 20, 28, 5), n).found);
  EXPECT_FALSE(LatticeOf(Band(n, 10, 30), n).found);
  EXPECT_FALSE(LatticeOf(SquareLattice(n, 10, 15), n).found);
  for (uint32_t seed = 1; seed <= 4; ++seed) EXPECT_FALSE(LatticeOf(Noise(n, seed), n).found) << seed;
}

TEST(Fourier, TellsGridsFromBandsAndSquares) {
  const int64_t n = 50;
  const FourierAnalyzer f(n);
  for (double period : {7.0, 11.0, 16.0}) {
    const FourierPattern hex = f.Analyze(HexLattice(n, period, 12).data());
    EXPECT_EQ(hex.pattern, "grid") << period;
    ASSERT_EQ(hex.n_wavevectors, 3) << period;
    for (const auto& k : hex.wavevectors) {
      // |k| = 2 / (sqrt(3) period) for a hexagonal lattice.
      EXPECT_NEAR(2.0 / (std::sqrt(3.0) * k.norm()), period, 0.05 * period);
    }
    const FourierPattern band = f.Analyze(Band(n, period, 40).data());
    EXPECT_EQ(band.pattern, "band") << period;
    EXPECT_EQ(band.n_wavevectors, 1) << period;
    ASSERT_FALSE(band.wavevectors.empty());
    EXPECT_NEAR(1.0 / band.wavevectors[0].norm(), period, 0.05 * period);
    const FourierPattern square = f.Analyze(SquareLattice(n, period, 10).data());
    EXPECT_EQ(square.pattern, "square") << period;
  }
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    EXPECT_NE(f.Analyze(Noise(n, seed).data()).pattern, "grid") << seed;
    EXPECT_EQ(f.Analyze(Noise(n, seed).data()).pattern, "none") << seed;
  }
  EXPECT_NE(f.Analyze(Blob(n, 25, 25, 6).data()).pattern, "grid");
}

// Sheared lattices, as the CPU runs grow them (docs/science-cpu-history.md), were called
// "band" when no partner fell in the 60, 120 or 90 degree windows.
TEST(Fourier, CallsOtherTwoDimensionalLatticesObliqueAndKeepsBandsBands) {
  const int64_t n = 50;
  const FourierAnalyzer f(n);
  for (double period : {7.0, 11.0}) {
    // A rhombic lattice: two waves of one period 40 degrees apart.
    const FourierPattern rhombus = f.Analyze(PlaneWaves(n, {{period, 15}, {period, 55}}).data());
    EXPECT_EQ(rhombus.pattern, "oblique") << period;
    ASSERT_EQ(rhombus.n_wavevectors, 2) << period;
    EXPECT_NEAR(std::abs(rhombus.wavevectors[1].angle_deg() - rhombus.wavevectors[0].angle_deg()), 40.0, 3.0);
    // A sheared hexagon: k1, k2 40 degrees apart and k2 - k1, whose norm (0.68 |k1|)
    // is outside the hexagon's window although it lies near 120 degrees.
    const double shear = period / (2 * std::sin(20 * M_PI / 180));
    EXPECT_EQ(f.Analyze(PlaneWaves(n, {{period, 0}, {period, 40}, {shear, 110}}).data()).pattern, "oblique") << period;
    // Unequal norms at 70 degrees (a lattice stretched along one axis).
    EXPECT_EQ(f.Analyze(PlaneWaves(n, {{period, 10}, {1.35 * period, 80}}).data()).pattern, "oblique") << period;
    // Still a band: two waves 15 degrees apart (a modulated band), a rectified
    // band (collinear harmonics) and a band with a weak wave across it.
    EXPECT_EQ(f.Analyze(PlaneWaves(n, {{period, 30}, {period, 45}}).data()).pattern, "band") << period;
    auto rectified = PlaneWaves(n, {{period, 25}});
    for (float& v : rectified) v = std::max(v, 0.0f);
    EXPECT_EQ(f.Analyze(rectified.data()).pattern, "band") << period;
    auto faint = PlaneWaves(n, {{period, 25}});
    const auto across = PlaneWaves(n, {{period, 75}});
    for (int64_t i = 0; i < n * n; ++i) faint[i] += 0.3f * across[i];  // 9% of k1's power
    EXPECT_EQ(f.Analyze(faint.data()).pattern, "band") << period;
    // Lattices of a named shape keep their name.
    EXPECT_EQ(f.Analyze(HexLattice(n, period, 7).data()).pattern, "grid") << period;
    EXPECT_EQ(f.Analyze(SquareLattice(n, period, 20).data()).pattern, "square") << period;
  }
}

TEST(Fields, CountsBumpsNotBlobs) {
  const int64_t n = 50;
  EXPECT_EQ(CountFields(Blob(n, 20, 30, 5).data(), n), 1);
  auto two = Blob(n, 10, 10, 3);
  const auto other = Blob(n, 38, 35, 3);
  for (int64_t i = 0; i < n * n; ++i) two[i] += other[i];
  EXPECT_EQ(CountFields(two.data(), n), 2);
  // A hexagonal lattice of period 10 in 50 x 50 bins has about
  // area / (sqrt(3)/2 period^2) = 29 fields (some cut by the walls).
  const int64_t fields = CountFields(HexLattice(n, 10, 0, 5, 5).data(), n);
  EXPECT_GT(fields, 20);
  EXPECT_LT(fields, 40);
  std::vector<float> empty(n * n, NAN);
  EXPECT_EQ(CountFields(empty.data(), n), 0);
}

}  // namespace
}  // namespace sic
